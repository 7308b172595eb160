{{
    config(
        unique_key='workout_id',
        post_hook=["{{ whoop_dbt.delete_vanished_records('workout_id', source('raw', 'workout'), 'id') }}"],
    )
}}

with latest as (
    {{ whoop_dbt.latest_raw_rows(source('raw', 'workout'), ['id']) }}
),

typed as (
    select
        id as workout_id,
        {{ whoop_dbt.json_integer('payload', 'v1_id') }} as v1_id,
        user_id,
        {{ whoop_dbt.json_integer('payload', 'sport_id') }} as sport_id,
        {{ whoop_dbt.json_text('payload', 'sport_name') }} as sport_name,
        score_state,
        score_state = 'SCORED' as is_scored,
        {{ whoop_dbt.json_timestamp('payload', 'start') }} as start_at_utc,
        {{ whoop_dbt.json_timestamp('payload', 'end') }} as end_at_utc,
        {{ whoop_dbt.json_text('payload', 'timezone_offset') }} as timezone_offset,
        {{ whoop_dbt.json_number('payload', 'score.strain') }} as strain,
        {{ whoop_dbt.json_number('payload', 'score.average_heart_rate') }} as average_heart_rate,
        {{ whoop_dbt.json_number('payload', 'score.max_heart_rate') }} as max_heart_rate,
        {{ whoop_dbt.json_number('payload', 'score.kilojoule') }} as kilojoules,
        {{ whoop_dbt.json_number('payload', 'score.percent_recorded') }} as percent_recorded,
        {{ whoop_dbt.json_number('payload', 'score.distance_meter') }} as distance_meters,
        {{ whoop_dbt.json_number('payload', 'score.altitude_gain_meter') }} as altitude_gain_meters,
        {{ whoop_dbt.json_number('payload', 'score.altitude_change_meter') }} as altitude_change_meters,
        {%- for zone in ['zero', 'one', 'two', 'three', 'four', 'five'] %}
        {{ whoop_dbt.json_number('payload', 'score.zone_durations.zone_' ~ zone ~ '_milli') }} as zone_{{ zone }}_milli,
        {%- endfor %}
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
    workout_id,
    v1_id,
    user_id,
    sport_id,
    sport_name,
    {{ whoop_dbt.sport_key('sport_name') }} as sport_key,
    score_state,
    is_scored,
    start_at_utc,
    end_at_utc,
    timezone_offset,
    utc_offset_minutes,
    {{ whoop_dbt.to_local('start_at_utc', 'utc_offset_minutes') }} as start_at_local,
    {{ whoop_dbt.to_local('end_at_utc', 'utc_offset_minutes') }} as end_at_local,
    cast({{ whoop_dbt.to_local('start_at_utc', 'utc_offset_minutes') }} as date) as start_date_local,
    {{ whoop_dbt.minutes_between('start_at_utc', 'end_at_utc') }} as duration_minutes,
    strain,
    average_heart_rate,
    max_heart_rate,
    kilojoules,
    {{ whoop_dbt.kilojoules_to_kilocalories('kilojoules') }} as kilocalories,
    percent_recorded,
    distance_meters,
    altitude_gain_meters,
    altitude_change_meters,
    {%- for zone in ['zero', 'one', 'two', 'three', 'four', 'five'] %}
    {{ whoop_dbt.milli_to_minutes('zone_' ~ zone ~ '_milli') }} as zone_{{ zone }}_minutes,
    {%- endfor %}
    created_at,
    updated_at,
    _partition_date,
    _extracted_at
from localized
