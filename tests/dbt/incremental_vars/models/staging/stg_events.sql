select
    id as event_id,
    user_id,
    event_type,
    occurred_at,
    cast(occurred_at as date) as event_date,
    amount,
    '{{ var("currency") }}' as currency
from {{ ref('events') }}
where not is_test
