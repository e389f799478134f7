{{ config(materialized='incremental', incremental_strategy='microbatch', unique_key='session_id',
          batch_from={'browser_events': 'click_id'}) }}
-- The browser of each session.
select distinct
    click_id as session_id,
    browser_name,
    browser_user_agent,
    browser_language
from {{ ref('browser_events') }}
