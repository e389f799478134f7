{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='event_timestamp') }}
-- Distinct page views; the session is the source's click_id.
select distinct
    click_id as session_id,
    event_id,
    event_timestamp,
    browser_name
from {{ ref('browser_events') }}
