-- One row per page view with the session's location (the same for every event of a session).
select
    click_id::uuid            as click_id,
    geo_latitude::varchar     as geo_latitude,
    geo_longitude::varchar    as geo_longitude,
    geo_country::varchar      as geo_country,
    geo_timezone::varchar     as geo_timezone,
    geo_region_name::varchar  as geo_region_name,
    ip_address::varchar       as ip_address
from {{ landed_file() }}
