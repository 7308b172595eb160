{#-
    Records before the loaded history (int_loaded_history) can only come from the first loaded
    days: at most 48 hours before the member's first loaded cycle starts (a day on which no
    cycle starts, when sleep onsets straddle UTC midnight, then the next) or, for a member
    without any loaded cycle yet, within 48 hours of their newest such record. Older ones mean
    cycles are missing at the start of the history (e.g. their first partitions failed to
    load), which the flag must not hide. Warn: the records are kept either way.
-#}
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'int_workout_cycles'}}}) }}

with early_records as (
    select workouts.workout_id as record_id, workouts.user_id, workouts.start_at_utc
    from {{ ref('stg_workout') }} as workouts
    inner join {{ ref('int_workout_cycles') }} as workout_cycles
        on workouts.workout_id = workout_cycles.workout_id
    where workout_cycles.is_before_loaded_history
    union all
    select sleeps.sleep_id as record_id, sleeps.user_id, sleeps.start_at_utc
    from {{ ref('stg_sleep') }} as sleeps
    inner join {{ ref('fact_sleep') }} as facts
        on sleeps.sleep_id = facts.sleep_id
    where facts.is_before_loaded_history
),

referenced as (
    select
        early_records.*,
        coalesce(
            history.history_start_at_utc,
            max(early_records.start_at_utc) over (partition by early_records.user_id)
        ) as reference_at_utc
    from early_records
    left join {{ ref('int_loaded_history') }} as history
        on early_records.user_id = history.user_id
)

select record_id, user_id, start_at_utc, reference_at_utc
from referenced
where start_at_utc < {{ dbt.dateadd('hour', -48, 'reference_at_utc') }}
