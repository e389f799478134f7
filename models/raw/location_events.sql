-- One row per page view: the page, where the visitor came from, the campaign.
select
    event_id::uuid           as event_id,
    page_url::varchar        as page_url,
    page_url_path::varchar   as page_url_path,
    referer_url::varchar     as referer_url,
    referer_medium::varchar  as referer_medium,
    utm_medium::varchar      as utm_medium,
    utm_source::varchar      as utm_source,
    utm_content::varchar     as utm_content,
    utm_campaign::varchar    as utm_campaign
from {{ landed_file() }}
