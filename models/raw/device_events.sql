-- One row per page view with the session's device (the same for every event of a session).
select
    click_id::uuid           as click_id,
    os::varchar              as os,
    os_name::varchar         as os_name,
    os_timezone::varchar     as os_timezone,
    device_type::varchar     as device_type,
    device_is_mobile::boolean as device_is_mobile,
    user_custom_id::varchar  as user_custom_id,
    user_domain_id::uuid     as user_domain_id
from {{ landed_file() }}
