-- depends_on: {{ ref('payments') }}
{# dbt's older form: a named statement block, its result loaded after. -#}
{%- call statement('largest', fetch_result=True) -%}
    select max(amount_cents) as largest, count(*) as payments
    from {{ ref('payments') }}
{%- endcall -%}
{%- if execute -%}
    {%- set result = load_result('largest') -%}
    {%- set largest = result['data'][0][0] -%}
    {%- set payments = result.table.rows[0]['payments'] -%}
    {%- set names = result.table.column_names | join(',') -%}
{%- else -%}
    {%- set largest, payments, names = 0, 0, '' -%}
{%- endif -%}
select
    {{ largest }} as largest_cents,
    {{ payments }} as payments,
    '{{ names }}' as columns_seen
{%- if execute %}
{%- for row in run_query("select method, count(*) as n from " ~ ref('payments') ~ " group by all order by 1").rows %}
union all select {{ row['n'] }}, {{ row[1] }}, '{{ row.method }}'
{%- endfor %}
{%- endif %}
