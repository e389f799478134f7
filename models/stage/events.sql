-- Distinct page views with their session (click_id) and browser.
select distinct
    click_id as session_id,
    event_id,
    event_timestamp,
    browser_name
from {{ ref('browser_events') }}
