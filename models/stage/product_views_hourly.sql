{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='date_part',
          batch_from={'transitions': 'event_timestamp'}) }}
-- Product page views (each one an add-to-cart) per product and hour: what
-- top_performing_products sums, so that all-time mart reads hours, not
-- every page view ever.
select
    {{ product_name('page_url_path') }} as product,
    date_trunc('hour', event_timestamp) as date_part,
    count(*)                            as cnt
from {{ ref('transitions') }}
where starts_with(page_url_path, '/product_')
group by all
