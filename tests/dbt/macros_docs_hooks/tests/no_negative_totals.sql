{{ config(store_failures_as='view') }}
select * from {{ ref('order_totals') }} where total < 0
