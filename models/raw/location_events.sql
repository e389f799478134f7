-- Page and attribution fields of each page view.
select
    cast(event_id as uuid) as event_id,
    page_url,
    page_url_path,
    referer_url,
    referer_medium,
    utm_medium,
    utm_source,
    utm_content,
    utm_campaign
from {{ landed('location_events') }}
