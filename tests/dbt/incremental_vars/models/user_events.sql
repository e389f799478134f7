{{ config(materialized='incremental') }}

select event_id, user_id, event_type, occurred_at
from {{ ref('stg_events') }}
{% if is_incremental() %}
where event_id > (select coalesce(max(event_id), 0) from {{ this }})
{% endif %}
