-- Product page views (each one an add-to-cart) per product.
select
    {{ product_name('page_url_path') }} as product,
    count(*)                            as cnt
from {{ ref('transitions') }}
where starts_with(page_url_path, '/product_')
group by all
order by cnt desc, product
