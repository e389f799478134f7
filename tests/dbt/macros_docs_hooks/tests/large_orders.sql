{{ config(severity='warn', schema='checks', alias='orders_over_50') }}
-- Orders over 50 units: worth a look, not a failure.
select order_id, total from {{ ref('order_totals') }} where total > 50
