{{ config(materialized='incremental', unique_key='event_date') }}

select
    event_date,
    count(*) as purchases,
    sum(amount) as revenue
from {{ ref('stg_events') }}
where event_type = 'purchase'
  and amount >= {{ var('min_amount') }}
{% if is_incremental() %}
  and event_date >= (select max(event_date) from {{ this }})
{% endif %}
group by event_date
