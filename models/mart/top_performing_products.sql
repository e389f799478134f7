-- Product page views (each one an add-to-cart) per product, summed from
-- the hourly counts in stage.
select
    product,
    sum(cnt)::bigint as cnt
from {{ ref('product_views_hourly') }}
group by all
order by cnt desc, product
