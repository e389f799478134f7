{# A list and a dict built in place across a loop and a macro call. #}
{%- set built = method_columns(payment_methods(), skip=['voucher']) -%}
{%- set parts = [] -%}
{%- for c in built['columns'] -%}
  {%- do parts.append("'" ~ c ~ "' as m" ~ loop.index) -%}
{%- endfor -%}
{%- do parts.insert(0, "'" ~ built['dropped'] ~ "' as dropped") -%}
{%- set removed = parts.pop() -%}
select
    {{ parts | join(',\n    ') }},
    {{ parts | length }} as n_parts,
    '{{ built["labels"].keys() | join("|") }}' as label_keys,
    '{{ built["labels"]["bank"] }}' as bank_label,
    '{{ built["labels"] | length }}' as n_labels
