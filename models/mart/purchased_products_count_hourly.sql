-- Products bought per hour of day.
select
    {{ hour_of('event_timestamp') }} as date_part,
    sum(product_count)               as sm
from {{ ref('purchases') }}
group by all
order by date_part
