-- Products bought per device type, traffic source and operating system.
select
    d.device_type,
    c.utm_source,
    d.os_name,
    sum(p.product_count) as products
from {{ ref('purchases') }} p
join {{ ref('devices') }} d using (session_id)
join {{ ref('conversion') }} c using (session_id)
group by all
order by all
