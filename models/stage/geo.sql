{{ config(materialized='incremental', incremental_strategy='microbatch', unique_key='session_id',
          batch_from={'geo_events': 'click_id'}) }}
-- Where each session came from.
select distinct
    click_id as session_id,
    geo_latitude,
    geo_longitude,
    geo_country,
    geo_timezone,
    geo_region_name,
    ip_address
from {{ ref('geo_events') }}
