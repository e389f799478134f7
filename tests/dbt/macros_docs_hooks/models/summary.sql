select
    '{{ target.name }}' as target_name,
    '{{ this.identifier }}' as relation,
    count(*) as orders,
    sum(total) as total
from {{ ref('order_totals') }}
