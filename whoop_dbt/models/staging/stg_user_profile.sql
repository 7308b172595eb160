{#-
    The raw table is replaced whole on every load (one row per member), so this model is a
    plain table rebuilt each time; the history of changes lives in the snapshot snp_user.
-#}
{{ config(materialized='table') }}

with latest as (
    {{ whoop_dbt.latest_raw_rows(source('raw', 'user_profile'), ['user_id'], order_by='_extracted_at desc') }}
)

select
    user_id,
    {{ whoop_dbt.json_text('payload', 'email') }} as email,
    {{ whoop_dbt.json_text('payload', 'first_name') }} as first_name,
    {{ whoop_dbt.json_text('payload', 'last_name') }} as last_name,
    trim(
        coalesce({{ whoop_dbt.json_text('payload', 'first_name') }}, '')
        || ' '
        || coalesce({{ whoop_dbt.json_text('payload', 'last_name') }}, '')
    ) as full_name,
    _extracted_at
from latest
