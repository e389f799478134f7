{# The landed JSONL files of one dimension, read in place. #}
{% macro landed(dim) -%}
read_json('{{ var("landing_path") }}/{{ dim }}/*.jsonl', format = 'newline_delimited')
{%- endmacro %}

{# The product name of a `/product_<name>` page path. #}
{% macro product_name(path_column) -%}
substr({{ path_column }}, strpos({{ path_column }}, '_') + 1)
{%- endmacro %}
