-- Products bought per campaign, medium and hour of day.
select
    c.utm_campaign,
    c.utm_medium,
    {{ hour_of('p.event_timestamp') }} as date_part,
    sum(p.product_count)               as sm
from {{ ref('purchases') }} p
join {{ ref('conversion') }} c using (session_id)
group by all
order by all
