{#-
    One row per cycle: the physiological day, joined with its main sleep, its recovery, its
    naps and its workouts. A cycle's main sleep is the sleep its recovery was scored from,
    else its longest non-nap sleep. When two cycles of a member fall on the same physiological
    day (rare: two long sleeps within 24 hours), the later one is that day's primary cycle.
-#}
with cycles as (
    select * from {{ ref('stg_cycle') }}
),

recoveries as (
    select * from {{ ref('stg_recovery') }}
),

sleeps as (
    select * from {{ ref('stg_sleep') }}
),

workout_cycles as (
    select * from {{ ref('int_workout_cycles') }}
),

workouts as (
    select * from {{ ref('stg_workout') }}
),

ranked_main_sleeps as (
    select
        sleeps.*,
        row_number() over (
            partition by sleeps.cycle_id
            order by
                case when sleeps.sleep_id = recoveries.sleep_id then 0 else 1 end,
                coalesce(sleeps.in_bed_minutes, 0) desc,
                sleeps.start_at_utc
        ) as sleep_rank
    from sleeps
    left join recoveries
        on sleeps.cycle_id = recoveries.cycle_id
    where not sleeps.is_nap
),

main_sleeps as (
    select * from ranked_main_sleeps where sleep_rank = 1
),

naps as (
    select
        cycle_id,
        count(*) as nap_count,
        sum(total_sleep_minutes) as nap_sleep_minutes
    from sleeps
    where is_nap
    group by cycle_id
),

workouts_per_cycle as (
    select
        workout_cycles.cycle_id,
        count(*) as workout_count,
        sum(workouts.duration_minutes) as workout_minutes,
        sum(workouts.kilocalories) as workout_kilocalories,
        max(workouts.strain) as max_workout_strain
    from workout_cycles
    inner join workouts
        on workout_cycles.workout_id = workouts.workout_id
    where workout_cycles.cycle_id is not null
    group by workout_cycles.cycle_id
),

joined as (
    select
        cycles.cycle_id,
        cycles.user_id,
        cycles.cycle_date as date_day,
        cycles.score_state as cycle_score_state,
        cycles.is_scored as cycle_is_scored,
        cycles.is_current as is_current_cycle,
        cycles.start_at_local as cycle_start_at_local,
        cycles.end_at_local as cycle_end_at_local,
        cycles.duration_minutes as cycle_duration_minutes,
        cycles.day_strain,
        cycles.kilojoules,
        cycles.kilocalories,
        cycles.average_heart_rate,
        cycles.max_heart_rate,
        main_sleeps.sleep_id as main_sleep_id,
        main_sleeps.total_sleep_minutes as main_sleep_minutes,
        main_sleeps.respiratory_rate,
        main_sleeps.sleep_performance_pct,
        recoveries.sleep_id as recovery_sleep_id,
        recoveries.score_state as recovery_score_state,
        recoveries.is_scored as recovery_is_scored,
        recoveries.is_user_calibrating,
        recoveries.recovery_score,
        recoveries.hrv_rmssd_milli,
        recoveries.resting_heart_rate,
        recoveries.spo2_pct,
        recoveries.skin_temp_celsius,
        recoveries.updated_at as recovery_updated_at,
        recoveries.cycle_id is not null as has_recovery,
        coalesce(naps.nap_count, 0) as nap_count,
        coalesce(naps.nap_sleep_minutes, 0) as nap_sleep_minutes,
        coalesce(workouts_per_cycle.workout_count, 0) as workout_count,
        coalesce(workouts_per_cycle.workout_minutes, 0) as workout_minutes,
        coalesce(workouts_per_cycle.workout_kilocalories, 0) as workout_kilocalories,
        workouts_per_cycle.max_workout_strain,
        row_number() over (
            partition by cycles.user_id, cycles.cycle_date
            order by cycles.start_at_utc desc
        ) as day_rank,
        cycles.updated_at as cycle_updated_at
    from cycles
    left join main_sleeps
        on cycles.cycle_id = main_sleeps.cycle_id
    left join recoveries
        on cycles.cycle_id = recoveries.cycle_id
    left join naps
        on cycles.cycle_id = naps.cycle_id
    left join workouts_per_cycle
        on cycles.cycle_id = workouts_per_cycle.cycle_id
)

select
    cycle_id,
    user_id,
    date_day,
    day_rank = 1 as is_primary_cycle_of_day,
    cycle_score_state,
    cycle_is_scored,
    is_current_cycle,
    cycle_start_at_local,
    cycle_end_at_local,
    cycle_duration_minutes,
    day_strain,
    kilojoules,
    kilocalories,
    average_heart_rate,
    max_heart_rate,
    main_sleep_id,
    main_sleep_minutes,
    respiratory_rate,
    sleep_performance_pct,
    has_recovery,
    recovery_sleep_id,
    recovery_score_state,
    recovery_is_scored,
    is_user_calibrating,
    recovery_score,
    hrv_rmssd_milli,
    resting_heart_rate,
    spo2_pct,
    skin_temp_celsius,
    nap_count,
    nap_sleep_minutes,
    workout_count,
    workout_minutes,
    workout_kilocalories,
    max_workout_strain,
    cycle_updated_at,
    recovery_updated_at
from joined
