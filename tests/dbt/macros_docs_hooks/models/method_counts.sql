{%- set methods = payment_methods() -%}
select
{%- for m in methods %}
    {{ count_method(m) }} as {{ m }}_payments,
{%- endfor %}
    {{ methods | length }} as methods
from {{ ref('payments') }}
