{%- set kinds = ['purchase', 'refund', 'view'] -%}
select
    user_id,
    {%- for kind in kinds %}
    count(*) filter (where event_type = '{{ kind }}') as {{ kind }}_count,
    {%- endfor %}
    min(occurred_at) as first_seen,
    max(amount) as largest_amount
from {{ ref('user_events') }} e
left join {{ ref('stg_events') }} s using (event_id, user_id, event_type, occurred_at)
group by user_id
