{{
    config(
        unique_key='cycle_id',
        post_hook=["{{ whoop_dbt.delete_vanished_records('cycle_id', source('raw', 'recovery')) }}"],
    )
}}

{#- A recovery belongs to exactly one cycle (it is read through /v2/cycle/{id}/recovery). -#}
with latest as (
    {{ whoop_dbt.latest_raw_rows(source('raw', 'recovery'), ['cycle_id']) }}
)

select
    cycle_id,
    sleep_id,
    user_id,
    score_state,
    score_state = 'SCORED' as is_scored,
    {{ whoop_dbt.json_boolean('payload', 'score.user_calibrating') }} as is_user_calibrating,
    {{ whoop_dbt.json_number('payload', 'score.recovery_score') }} as recovery_score,
    {{ whoop_dbt.json_number('payload', 'score.resting_heart_rate') }} as resting_heart_rate,
    {{ whoop_dbt.json_number('payload', 'score.hrv_rmssd_milli') }} as hrv_rmssd_milli,
    {{ whoop_dbt.json_number('payload', 'score.spo2_percentage') }} as spo2_pct,
    {{ whoop_dbt.json_number('payload', 'score.skin_temp_celsius') }} as skin_temp_celsius,
    created_at,
    updated_at,
    _partition_date,
    _extracted_at
from latest
