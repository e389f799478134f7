-- Geo fields of each page view; constant within a session (click_id).
select
    cast(click_id as uuid)           as click_id,
    cast(geo_latitude as double)     as geo_latitude,
    cast(geo_longitude as double)    as geo_longitude,
    geo_country,
    geo_timezone,
    geo_region_name,
    ip_address
from {{ landed('geo_events') }}
