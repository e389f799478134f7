-- Device fields of each page view; constant within a session (click_id).
select
    cast(click_id as uuid)          as click_id,
    os,
    os_name,
    os_timezone,
    device_type,
    cast(device_is_mobile as boolean) as device_is_mobile,
    user_custom_id,
    user_domain_id
from {{ landed('device_events') }}
