{#-
    A gap-free calendar per member: one row per member and day from their first to their last
    physiological day, with that day's primary cycle (nulls on days without data). Rolling
    windows over these rows are windows over calendar days, whatever days are missing.
-#}
with days as (
    select * from {{ ref('int_cycle_days') }}
    where is_primary_cycle_of_day
),

members as (
    select
        user_id,
        min(date_day) as first_day,
        max(date_day) as last_day
    from days
    group by user_id
),

spine as (
    {{ whoop_dbt.date_spine(var('date_spine_start'), var('date_spine_end')) }}
),

member_days as (
    select
        members.user_id,
        spine.date_day
    from members
    inner join spine
        on spine.date_day between members.first_day and members.last_day
)

select
    member_days.user_id,
    member_days.date_day,
    {{ whoop_dbt.season_of('member_days.date_day') }} as season,
    {{ whoop_dbt.season_year_of('member_days.date_day') }} as season_year,
    days.cycle_id,
    days.cycle_id is not null as has_cycle,
    case when days.recovery_is_scored then days.recovery_score end as recovery_score,
    case when days.recovery_is_scored then days.hrv_rmssd_milli end as hrv_rmssd_milli,
    case when days.recovery_is_scored then days.resting_heart_rate end as resting_heart_rate,
    case when days.cycle_is_scored and not days.is_current_cycle then days.day_strain end as day_strain,
    days.main_sleep_minutes as sleep_minutes
from member_days
left join days
    on member_days.user_id = days.user_id
    and member_days.date_day = days.date_day
