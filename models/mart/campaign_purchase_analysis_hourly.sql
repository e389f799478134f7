{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='date_part',
          batch_from={'purchases': 'event_timestamp',
                      'conversion': {'via': 'purchases', 'on': 'session_id'}}) }}
-- Products bought per campaign, medium and hour.
select
    c.utm_campaign,
    c.utm_medium,
    date_trunc('hour', p.event_timestamp) as date_part,
    sum(p.product_count)                  as sm
from {{ ref('purchases') }} p
join {{ ref('conversion') }} c using (session_id)
group by all
order by all
