{# The product name of a `/product_<name>` page path: what follows the first `_`. #}
{% macro product_name(path_column) -%}
substr({{ path_column }}, strpos({{ path_column }}, '_') + 1)
{%- endmacro %}
