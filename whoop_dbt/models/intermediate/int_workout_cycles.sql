{#-
    Each workout with the cycle it happened in: the member's cycle whose span holds the
    workout's start (the current cycle, still without an end, holds everything after its start).
-#}
with workouts as (
    select * from {{ ref('stg_workout') }}
),

cycles as (
    select * from {{ ref('stg_cycle') }}
),

matched as (
    select
        workouts.workout_id,
        cycles.cycle_id,
        cycles.cycle_date,
        row_number() over (
            partition by workouts.workout_id
            order by cycles.start_at_utc desc
        ) as match_rank
    from workouts
    inner join cycles
        on workouts.user_id = cycles.user_id
        and workouts.start_at_utc >= cycles.start_at_utc
        and (cycles.end_at_utc is null or workouts.start_at_utc < cycles.end_at_utc)
)

select
    workouts.workout_id,
    workouts.user_id,
    matched.cycle_id,
    coalesce(matched.cycle_date, workouts.start_date_local) as date_day
from workouts
left join matched
    on workouts.workout_id = matched.workout_id
    and matched.match_rank = 1
