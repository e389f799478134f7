{%- set methods = payment_methods() -%}
{%- set as_of = modules.datetime.datetime(2024, 1, 2, 3, 4, 5) -%}
select
{%- for m in methods %}
    {{ count_method(m) }} as {{ m }}_payments,
{%- endfor %}
    {{ methods | length }} as {{ adapter.quote("methods") }},
    '{{ as_of.strftime("%Y-%m-%d %H:%M") }}' as as_of,
    '{{ as_of }}' as as_of_text,
    '{{ modules.datetime.date(2024, 2, 29) }}' as leap_day,
    {{ modules.datetime.timedelta(hours=36).days }} as whole_days,
    '{{ modules.datetime.datetime.strptime("2024-07-15", "%Y-%m-%d").isoformat() }}' as parsed
from {{ ref('payments') }}
