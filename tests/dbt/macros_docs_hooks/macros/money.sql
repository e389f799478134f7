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
