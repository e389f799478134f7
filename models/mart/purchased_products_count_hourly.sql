{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='date_part',
          batch_from={'purchases': 'event_timestamp'}) }}
-- Products bought per hour: one row per calendar hour with a purchase.
select
    date_trunc('hour', event_timestamp) as date_part,
    sum(product_count)                  as cnt
from {{ ref('purchases') }}
group by all
order by date_part
