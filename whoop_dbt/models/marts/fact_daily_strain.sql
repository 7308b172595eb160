{#- One row per member and physiological day (its primary cycle), with the day's workouts. -#}
with days as (
    select * from {{ ref('int_cycle_days') }}
    where is_primary_cycle_of_day
)

select
    user_id,
    date_day,
    cycle_id,
    cycle_score_state as score_state,
    cycle_is_scored as is_scored,
    is_current_cycle,
    cycle_start_at_local,
    cycle_end_at_local,
    cycle_duration_minutes,
    day_strain,
    case
        when day_strain is null then null
        when day_strain >= 18 then 'all_out'
        when day_strain >= 14 then 'strenuous'
        when day_strain >= 10 then 'moderate'
        else 'light'
    end as strain_category,
    kilojoules,
    kilocalories,
    average_heart_rate,
    max_heart_rate,
    workout_count,
    workout_minutes,
    workout_kilocalories,
    max_workout_strain,
    cycle_updated_at as updated_at
from days
