{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='event_timestamp',
          batch_from={'location_events': {'via': 'browser_events', 'on': 'event_id'}}) }}
-- Every page view with its page, in the order the session saw them.
select
    b.click_id as session_id,
    b.event_id,
    l.page_url,
    l.page_url_path,
    b.browser_name,
    b.event_timestamp
from {{ ref('browser_events') }} b
join {{ ref('location_events') }} l using (event_id)
