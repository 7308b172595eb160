{#- One row per workout, on the physiological day of the cycle it happened in. -#}
with workouts as (
    select * from {{ ref('stg_workout') }}
),

workout_cycles as (
    select * from {{ ref('int_workout_cycles') }}
),

activity_types as (
    select workout_id, activity_type_key from {{ ref('int_workout_activity_types') }}
)

select
    workouts.workout_id,
    workouts.user_id,
    workout_cycles.cycle_id,
    workout_cycles.date_day,
    workout_cycles.is_before_loaded_history,
    workouts.sport_key,
    activity_types.activity_type_key,
    workouts.sport_id,
    workouts.sport_name,
    workouts.score_state,
    workouts.is_scored,
    workouts.start_at_local,
    workouts.end_at_local,
    workouts.duration_minutes,
    workouts.strain,
    workouts.average_heart_rate,
    workouts.max_heart_rate,
    workouts.kilojoules,
    workouts.kilocalories,
    workouts.percent_recorded,
    workouts.distance_meters,
    workouts.altitude_gain_meters,
    workouts.altitude_change_meters,
    workouts.zone_zero_minutes,
    workouts.zone_one_minutes,
    workouts.zone_two_minutes,
    workouts.zone_three_minutes,
    workouts.zone_four_minutes,
    workouts.zone_five_minutes,
    workouts.zone_four_minutes + workouts.zone_five_minutes as high_intensity_minutes,
    workouts.updated_at
from workouts
inner join workout_cycles
    on workouts.workout_id = workout_cycles.workout_id
inner join activity_types
    on workouts.workout_id = activity_types.workout_id
