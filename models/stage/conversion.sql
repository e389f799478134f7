{{ config(materialized='incremental', incremental_strategy='microbatch', unique_key='session_id',
          batch_from={'browser_events': 'click_id',
                      'location_events': {'via': 'browser_events', 'on': 'event_id'}}) }}
-- First-touch attribution: the referer and campaign of each session's first page view.
select
    session_id,
    first(page_url order by event_timestamp, event_id)       as landing_page_url,
    first(referer_url order by event_timestamp, event_id)    as referer_url,
    first(referer_medium order by event_timestamp, event_id) as referer_medium,
    first(utm_medium order by event_timestamp, event_id)     as utm_medium,
    first(utm_source order by event_timestamp, event_id)     as utm_source,
    first(utm_content order by event_timestamp, event_id)    as utm_content,
    first(utm_campaign order by event_timestamp, event_id)   as utm_campaign
from (
    select b.click_id as session_id, b.event_id, b.event_timestamp, l.*
    exclude (event_id)
    from {{ ref('browser_events') }} b
    join {{ ref('location_events') }} l using (event_id)
)
group by session_id
