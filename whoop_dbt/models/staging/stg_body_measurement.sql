{#- Replaced whole on every load like the profile: a plain table; history in snp_user. -#}
{{ config(materialized='table') }}

with latest as (
    {{ whoop_dbt.latest_raw_rows(source('raw', 'body_measurement'), ['user_id'], order_by='_extracted_at desc') }}
),

typed as (
    select
        user_id,
        {{ whoop_dbt.json_number('payload', 'height_meter') }} as height_meters,
        {{ whoop_dbt.json_number('payload', 'weight_kilogram') }} as weight_kilograms,
        {{ whoop_dbt.json_number('payload', 'max_heart_rate') }} as max_heart_rate,
        _extracted_at
    from latest
)

select
    user_id,
    height_meters,
    weight_kilograms,
    max_heart_rate,
    weight_kilograms / nullif(height_meters * height_meters, 0) as body_mass_index,
    _extracted_at
from typed
