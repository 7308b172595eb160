{{
    config(
        unique_key='cycle_id',
        post_hook=["{{ whoop_dbt.delete_vanished_records('cycle_id', source('raw', 'cycle'), 'id') }}"],
    )
}}

with latest as (
    {{ whoop_dbt.latest_raw_rows(source('raw', 'cycle'), ['id']) }}
),

typed as (
    select
        id as cycle_id,
        user_id,
        score_state,
        score_state = 'SCORED' as is_scored,
        {{ whoop_dbt.json_timestamp('payload', 'start') }} as start_at_utc,
        {{ whoop_dbt.json_timestamp('payload', 'end') }} as end_at_utc,
        {{ whoop_dbt.json_text('payload', 'timezone_offset') }} as timezone_offset,
        {{ whoop_dbt.json_number('payload', 'score.strain') }} as day_strain,
        {{ whoop_dbt.json_number('payload', 'score.kilojoule') }} as kilojoules,
        {{ whoop_dbt.json_number('payload', 'score.average_heart_rate') }} as average_heart_rate,
        {{ whoop_dbt.json_number('payload', 'score.max_heart_rate') }} as max_heart_rate,
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
    cycle_id,
    user_id,
    score_state,
    is_scored,
    end_at_utc is null as is_current,
    start_at_utc,
    end_at_utc,
    timezone_offset,
    utc_offset_minutes,
    {{ whoop_dbt.to_local('start_at_utc', 'utc_offset_minutes') }} as start_at_local,
    {{ whoop_dbt.to_local('end_at_utc', 'utc_offset_minutes') }} as end_at_local,
    cast({{ whoop_dbt.to_local('start_at_utc', 'utc_offset_minutes') }} as date) as start_date_local,
    {{ whoop_dbt.physiological_date(whoop_dbt.to_local('start_at_utc', 'utc_offset_minutes')) }} as cycle_date,
    {{ whoop_dbt.minutes_between('start_at_utc', 'end_at_utc') }} as duration_minutes,
    day_strain,
    kilojoules,
    {{ whoop_dbt.kilojoules_to_kilocalories('kilojoules') }} as kilocalories,
    average_heart_rate,
    max_heart_rate,
    created_at,
    updated_at,
    _partition_date,
    _extracted_at
from localized
