-- One row per page view, appended from each landed hourly file exactly once.
select
    event_id::uuid              as event_id,
    event_timestamp::timestamp  as event_timestamp,
    event_type::varchar         as event_type,
    click_id::uuid              as click_id,
    browser_name::varchar       as browser_name,
    browser_user_agent::varchar as browser_user_agent,
    browser_language::varchar   as browser_language
from {{ landed_file() }}
