-- Product page views (= added to cart) per product.
select
    {{ product_name('page_url_path') }} as product,
    count(*)                            as cnt
from {{ ref('transitions') }}
where page_url_path like '/product\_%' escape '\'
group by 1
