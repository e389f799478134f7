-- One row per /confirmation view: products viewed since the previous one.
with views as (
    select
        session_id,
        event_timestamp,
        page_url_path,
        count(*) filter (where page_url_path = '/confirmation') over (
            partition by session_id order by event_timestamp
            rows between unbounded preceding and 1 preceding
        ) as basket
    from {{ ref('transitions') }}
)
select
    c.session_id,
    c.event_timestamp,
    count(p.page_url_path) as product_count
from views c
left join views p
    on p.session_id = c.session_id
   and p.basket = c.basket
   and p.page_url_path like '/product\_%' escape '\'
   and p.event_timestamp < c.event_timestamp
where c.page_url_path = '/confirmation'
group by c.session_id, c.event_timestamp
