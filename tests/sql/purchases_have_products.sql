-- Every confirmation follows at least one product view since the previous one.
select * from {{ ref('purchases') }} where product_count < 1
