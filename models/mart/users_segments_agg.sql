-- Distinct users per operating system, device type and traffic source.
select
    d.os_name,
    d.device_type,
    c.utm_source,
    count(distinct d.user_custom_id) as users
from {{ ref('devices') }} d
join {{ ref('conversion') }} c using (session_id)
group by all
order by all
