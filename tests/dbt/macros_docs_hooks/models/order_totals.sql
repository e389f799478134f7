{%- set methods = var('methods', ['bank', 'card', 'voucher']) -%}
{% do log("pivoting " ~ methods | length ~ " methods", info=true) %}
select
    order_id,
    {{- amount_per_method(methods) }}
    {{ cents_to_units('sum(amount_cents)', scale=1) }} as total
from {{ ref('payments') }}
group by order_id
