{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='date_part',
          batch_from={'purchases': 'event_timestamp',
                      'conversion': {'via': 'purchases', 'on': 'session_id'}}) }}
-- Products bought per traffic source and hour.
select
    c.utm_source,
    date_trunc('hour', p.event_timestamp) as date_part,
    sum(p.product_count)                  as sm
from {{ ref('purchases') }} p
join {{ ref('conversion') }} c using (session_id)
group by all
order by all
