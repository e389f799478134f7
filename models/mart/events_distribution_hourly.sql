-- Page views per event kind, hour of day and device/browser segment.
select
    k.event_kind,
    {{ hour_of('t.event_timestamp') }} as date_part,
    d.os_name,
    d.device_type,
    t.browser_name,
    count(*)                            as cnt
from {{ ref('transitions') }} t
join {{ ref('devices') }} d using (session_id)
join {{ ref('page_kinds') }} k
    on t.page_url_path like k.path_pattern escape '\'
group by all
order by all
