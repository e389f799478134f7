{# The landed JSONL files of one dimension, read in place. #}
{% macro landed(dim) -%}
{%- set path = var("landing_path") -%}
{%- if not (path.startswith("/") or "://" in path) -%}{%- set path = project_root ~ "/" ~ path -%}{%- endif -%}
read_json('{{ path }}/{{ dim }}/*.jsonl', format = 'newline_delimited')
{%- endmacro %}

{# The product name of a `/product_<name>` page path. #}
{% macro product_name(path_column) -%}
substr({{ path_column }}, strpos({{ path_column }}, '_') + 1)
{%- endmacro %}
