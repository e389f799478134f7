select
    {{ dbt.listagg('method', "', '", 'order by method') }} as methods,
    {{ dbt.listagg('method', "'|'", 'order by amount_cents desc', 2) }} as top_two,
    {{ dbt.any_value('order_id') }} is not null as any_order,
    {{ dbt.bool_or('amount_cents > 5000') }} as has_large
from {{ ref('payments') }}
{{ dbt.except() }}
select 'none', 'none', false, false
