-- One row per page view, as landed from the source bucket.
select
    cast(event_id as uuid)             as event_id,
    cast(event_timestamp as timestamp) as event_timestamp,
    event_type,
    cast(click_id as uuid)             as click_id,
    browser_name,
    browser_user_agent,
    browser_language
from {{ landed('browser_events') }}
