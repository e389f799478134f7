{# Cents to a rounded amount: dbt's classic macro with a default argument. #}
{% macro cents_to_units(column, scale=2) -%}
    round({{ column }} / 100, {{ scale }})
{%- endmacro %}

{# One amount column per payment method. #}
{% macro amount_per_method(methods) -%}
    {%- for m in methods %}
    {{ cents_to_units("sum(case when method = '" ~ m ~ "' then amount_cents else 0 end)") }} as {{ m }}_amount,
    {%- endfor %}
{%- endmacro %}

{# A list from a macro, as dbt projects write it: return(). #}
{% macro payment_methods() %}
  {%- if execute and flags.FULL_REFRESH is sameas none -%}
    {{ exceptions.raise_compiler_error("flags.FULL_REFRESH is never none") }}
  {%- endif -%}
  {{ return(['bank', 'card', 'voucher']) }}
{% endmacro %}

{# Dispatched as dbt dispatches for DuckDB: duckdb__ before default__. #}
{% macro count_method(method) %}
  {{- return(adapter.dispatch('count_method')(method)) -}}
{% endmacro %}
{% macro default__count_method(method) %}count(*) filter (where method = '{{ method }}'){% endmacro %}
{% macro duckdb__count_method(method) %}sum(case when method = '{{ method }}' then 1 else 0 end){% endmacro %}

{# Lists and dicts built in place, the way dbt packages write them. #}
{% macro method_columns(methods, skip=[]) %}
  {%- set columns = [] -%}
  {%- set labels = {'bank': 'transfer'} -%}
  {%- for m in methods if m not in skip -%}
    {%- do columns.append(m) -%}
  {%- endfor -%}
  {%- do columns.extend(['all']) -%}
  {%- do labels.update({'card': 'plastic', 'voucher': 'gift'}) -%}
  {%- do labels.setdefault('all', 'any') -%}
  {%- set dropped = labels.pop('voucher') -%}
  {{ return({'columns': columns, 'labels': labels, 'dropped': dropped}) }}
{% endmacro %}
