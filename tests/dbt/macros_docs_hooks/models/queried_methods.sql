-- depends_on: {{ ref('order_totals') }}
{# The payment methods as the data has them, asked of the warehouse while
    the model renders: dbt's own run_query example. It reads a model the
    same run built before it (order_totals) as well as the seed. -#}
{%- set methods_query -%}
select distinct method from {{ ref('payments') }} order by 1
{%- endset -%}
{%- set results = run_query(methods_query) -%}
{%- if execute -%}
    {%- set methods = results.columns[0].values() -%}
    {%- set by_name = results.columns['method'].values() | join('|') -%}
    {%- set biggest = run_query('select max(total) as top, count(*) as n, date \'2024-03-01\' as d from ' ~ ref('order_totals')) -%}
    {%- set top = biggest.rows[0]['top'] -%}
    {%- set orders = biggest.rows[0][1] -%}
    {%- set day = biggest.columns['d'].values()[0] -%}
{%- else -%}
    {%- set methods, by_name, top, orders, day = [], '', 0, 0, none -%}
{%- endif -%}
select
    order_id,
{%- for m in methods %}
    sum(case when method = '{{ m }}' then amount_cents else 0 end) as {{ m }}_cents,
{%- endfor %}
    '{{ by_name }}' as methods,
    {{ top }} as top_total,
    {{ orders }} as orders,
    '{{ day.strftime("%d.%m.%Y") if day else "" }}' as asked_on
from {{ ref('payments') }}
group by order_id
