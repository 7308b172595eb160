{#- One row per sleep, naps included (flagged), on the physiological day of its cycle. -#}
with sleeps as (
    select * from {{ ref('stg_sleep') }}
),

cycles as (
    select cycle_id, cycle_date from {{ ref('stg_cycle') }}
),

history as (
    select * from {{ ref('int_loaded_history') }}
)

select
    sleeps.sleep_id,
    sleeps.user_id,
    sleeps.cycle_id,
    coalesce(cycles.cycle_date, sleeps.wake_date_local) as date_day,
    coalesce(sleeps.start_at_utc < history.history_start_at_utc, true) as is_before_loaded_history,
    sleeps.is_nap,
    sleeps.score_state,
    sleeps.is_scored,
    sleeps.start_at_local,
    sleeps.end_at_local,
    sleeps.in_bed_minutes,
    sleeps.awake_minutes,
    sleeps.no_data_minutes,
    sleeps.light_sleep_minutes,
    sleeps.slow_wave_sleep_minutes,
    sleeps.rem_sleep_minutes,
    sleeps.total_sleep_minutes,
    sleeps.total_sleep_minutes / 60.0 as total_sleep_hours,
    sleeps.sleep_efficiency_pct,
    sleeps.sleep_performance_pct,
    sleeps.sleep_consistency_pct,
    sleeps.respiratory_rate,
    sleeps.sleep_cycle_count,
    sleeps.disturbance_count,
    sleeps.sleep_need_total_minutes as sleep_need_minutes,
    sleeps.sleep_need_from_debt_minutes as sleep_debt_minutes,
    sleeps.total_sleep_minutes - sleeps.sleep_need_total_minutes as sleep_balance_minutes,
    sleeps.updated_at
from sleeps
left join cycles
    on sleeps.cycle_id = cycles.cycle_id
left join history
    on sleeps.user_id = history.user_id
