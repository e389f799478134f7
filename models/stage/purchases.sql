{{ config(materialized='incremental', incremental_strategy='microbatch', unique_key='session_id') }}
-- One row per /confirmation view. A product page view means "added to cart";
-- a confirmation buys the products viewed since the session's previous one.
with numbered as (
    select
        session_id,
        event_id,
        event_timestamp,
        page_url_path,
        -- confirmations so far in the session, this view included
        count(*) filter (where page_url_path = '/confirmation') over (
            partition by session_id
            order by event_timestamp, event_id
            rows between unbounded preceding and current row
        ) as confirmations
    from {{ ref('transitions') }}
),

confirmations as (
    select session_id, event_id, event_timestamp, confirmations as purchase_number
    from numbered
    where page_url_path = '/confirmation'
),

-- a product view belongs to the next confirmation after it
products as (
    select session_id, confirmations + 1 as purchase_number, count(*) as product_count
    from numbered
    where starts_with(page_url_path, '/product_')
    group by all
)

select
    c.session_id,
    c.event_id,
    c.event_timestamp,
    coalesce(p.product_count, 0) as product_count
from confirmations c
left join products p using (session_id, purchase_number)
