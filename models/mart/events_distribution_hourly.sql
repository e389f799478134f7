{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='date_part',
          batch_from={'transitions': 'event_timestamp',
                      'devices': {'via': 'transitions', 'on': 'session_id'}}) }}
-- Page views per event kind, hour and device/browser segment. A page of no
-- known kind is still counted, with event NULL.
select
    k.event_kind                          as event,
    date_trunc('hour', t.event_timestamp) as date_part,
    d.os_name,
    d.device_type,
    t.browser_name,
    count(*)                              as cnt
from {{ ref('transitions') }} t
join {{ ref('devices') }} d using (session_id)
left join {{ ref('page_kinds') }} k
    on t.page_url_path like k.path_pattern escape '\'
group by all
order by all
