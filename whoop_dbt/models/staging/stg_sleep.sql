{{
    config(
        unique_key='sleep_id',
        post_hook=["{{ whoop_dbt.delete_vanished_records('sleep_id', source('raw', 'sleep'), 'id') }}"],
    )
}}

with latest as (
    {{ whoop_dbt.latest_raw_rows(source('raw', 'sleep'), ['id']) }}
),

typed as (
    select
        id as sleep_id,
        {{ whoop_dbt.json_integer('payload', 'cycle_id') }} as cycle_id,
        {{ whoop_dbt.json_integer('payload', 'v1_id') }} as v1_id,
        user_id,
        score_state,
        score_state = 'SCORED' as is_scored,
        {{ whoop_dbt.json_boolean('payload', 'nap') }} as is_nap,
        {{ whoop_dbt.json_timestamp('payload', 'start') }} as start_at_utc,
        {{ whoop_dbt.json_timestamp('payload', 'end') }} as end_at_utc,
        {{ whoop_dbt.json_text('payload', 'timezone_offset') }} as timezone_offset,
        {{ whoop_dbt.json_number('payload', 'score.stage_summary.total_in_bed_time_milli') }} as in_bed_milli,
        {{ whoop_dbt.json_number('payload', 'score.stage_summary.total_awake_time_milli') }} as awake_milli,
        {{ whoop_dbt.json_number('payload', 'score.stage_summary.total_no_data_time_milli') }} as no_data_milli,
        {{ whoop_dbt.json_number('payload', 'score.stage_summary.total_light_sleep_time_milli') }} as light_milli,
        {{ whoop_dbt.json_number('payload', 'score.stage_summary.total_slow_wave_sleep_time_milli') }} as slow_wave_milli,
        {{ whoop_dbt.json_number('payload', 'score.stage_summary.total_rem_sleep_time_milli') }} as rem_milli,
        {{ whoop_dbt.json_integer('payload', 'score.stage_summary.sleep_cycle_count') }} as sleep_cycle_count,
        {{ whoop_dbt.json_integer('payload', 'score.stage_summary.disturbance_count') }} as disturbance_count,
        {{ whoop_dbt.json_number('payload', 'score.sleep_needed.baseline_milli') }} as need_baseline_milli,
        {{ whoop_dbt.json_number('payload', 'score.sleep_needed.need_from_sleep_debt_milli') }} as need_from_debt_milli,
        {{ whoop_dbt.json_number('payload', 'score.sleep_needed.need_from_recent_strain_milli') }} as need_from_strain_milli,
        {{ whoop_dbt.json_number('payload', 'score.sleep_needed.need_from_recent_nap_milli') }} as need_from_nap_milli,
        {{ whoop_dbt.json_number('payload', 'score.respiratory_rate') }} as respiratory_rate,
        {{ whoop_dbt.json_number('payload', 'score.sleep_performance_percentage') }} as sleep_performance_pct,
        {{ whoop_dbt.json_number('payload', 'score.sleep_consistency_percentage') }} as sleep_consistency_pct,
        {{ whoop_dbt.json_number('payload', 'score.sleep_efficiency_percentage') }} as sleep_efficiency_pct,
        created_at,
        updated_at,
        _partition_date,
        _extracted_at
    from latest
),

localized as (
    select
        *,
        {{ whoop_dbt.utc_offset_minutes('timezone_offset') }} as utc_offset_minutes
    from typed
)

select
    sleep_id,
    cycle_id,
    v1_id,
    user_id,
    score_state,
    is_scored,
    is_nap,
    start_at_utc,
    end_at_utc,
    timezone_offset,
    utc_offset_minutes,
    {{ whoop_dbt.to_local('start_at_utc', 'utc_offset_minutes') }} as start_at_local,
    {{ whoop_dbt.to_local('end_at_utc', 'utc_offset_minutes') }} as end_at_local,
    cast({{ whoop_dbt.to_local('start_at_utc', 'utc_offset_minutes') }} as date) as start_date_local,
    cast({{ whoop_dbt.to_local('end_at_utc', 'utc_offset_minutes') }} as date) as wake_date_local,
    {{ whoop_dbt.milli_to_minutes('in_bed_milli') }} as in_bed_minutes,
    {{ whoop_dbt.milli_to_minutes('awake_milli') }} as awake_minutes,
    {{ whoop_dbt.milli_to_minutes('no_data_milli') }} as no_data_minutes,
    {{ whoop_dbt.milli_to_minutes('light_milli') }} as light_sleep_minutes,
    {{ whoop_dbt.milli_to_minutes('slow_wave_milli') }} as slow_wave_sleep_minutes,
    {{ whoop_dbt.milli_to_minutes('rem_milli') }} as rem_sleep_minutes,
    {{ whoop_dbt.milli_to_minutes('light_milli + slow_wave_milli + rem_milli') }} as total_sleep_minutes,
    sleep_cycle_count,
    disturbance_count,
    {{ whoop_dbt.milli_to_minutes('need_baseline_milli') }} as sleep_need_baseline_minutes,
    {{ whoop_dbt.milli_to_minutes('need_from_debt_milli') }} as sleep_need_from_debt_minutes,
    {{ whoop_dbt.milli_to_minutes('need_from_strain_milli') }} as sleep_need_from_strain_minutes,
    {{ whoop_dbt.milli_to_minutes('need_from_nap_milli') }} as sleep_need_from_nap_minutes,
    {{ whoop_dbt.milli_to_minutes('need_baseline_milli + need_from_debt_milli + need_from_strain_milli + need_from_nap_milli') }}
        as sleep_need_total_minutes,
    respiratory_rate,
    sleep_performance_pct,
    sleep_consistency_pct,
    sleep_efficiency_pct,
    created_at,
    updated_at,
    _partition_date,
    _extracted_at
from localized
