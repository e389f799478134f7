-- Products bought per hour, for the sales dashboard.
select
    date_trunc('hour', event_timestamp) as date_part,
    sum(product_count)                  as sm
from {{ ref('purchases') }}
group by 1
