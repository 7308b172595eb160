{#-
    Each workout with the cycle it happened in: the member's cycle whose span holds the
    workout's start (the current cycle, still without an end, holds everything after its start).
    A workout that starts before the member's first loaded cycle (or whose member has no loaded
    cycle yet) belongs to a cycle outside the loaded history (see int_loaded_history): it keeps
    a null cycle and is flagged.
-#}
with workouts as (
    select * from {{ ref('stg_workout') }}
),

cycles as (
    select * from {{ ref('stg_cycle') }}
),

history as (
    select * from {{ ref('int_loaded_history') }}
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
    coalesce(matched.cycle_date, workouts.start_date_local) as date_day,
    coalesce(workouts.start_at_utc < history.history_start_at_utc, true) as is_before_loaded_history
from workouts
left join matched
    on workouts.workout_id = matched.workout_id
    and matched.match_rank = 1
left join history
    on workouts.user_id = history.user_id
