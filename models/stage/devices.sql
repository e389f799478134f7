{{ config(materialized='incremental', incremental_strategy='microbatch', unique_key='session_id',
          batch_from={'device_events': 'click_id'}) }}
-- The device and user of each session.
select distinct
    click_id as session_id,
    os_name,
    os_timezone,
    device_type,
    user_custom_id,
    user_domain_id
from {{ ref('device_events') }}
