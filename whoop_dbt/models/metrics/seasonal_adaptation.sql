{#-
    Recovery by season: one row per member, season year and season (meteorological, northern
    hemisphere), with the season's means and their difference from the member's all-time means.
-#}
with days as (
    select * from {{ ref('int_user_days') }}
),

personal as (
    select
        user_id,
        avg(recovery_score) as personal_recovery_mean,
        avg(hrv_rmssd_milli) as personal_hrv_mean
    from days
    group by user_id
),

seasons as (
    select
        user_id,
        season_year,
        season,
        min(date_day) as first_day,
        max(date_day) as last_day,
        count(recovery_score) as days_observed,
        avg(recovery_score) as avg_recovery_score,
        avg(hrv_rmssd_milli) as avg_hrv_rmssd_milli,
        avg(resting_heart_rate) as avg_resting_heart_rate,
        avg(day_strain) as avg_day_strain,
        avg(sleep_minutes) / 60.0 as avg_sleep_hours
    from days
    group by user_id, season_year, season
)

select
    seasons.user_id,
    seasons.season_year,
    seasons.season,
    seasons.first_day,
    seasons.last_day,
    seasons.days_observed,
    seasons.avg_recovery_score,
    seasons.avg_hrv_rmssd_milli,
    seasons.avg_resting_heart_rate,
    seasons.avg_day_strain,
    seasons.avg_sleep_hours,
    seasons.avg_recovery_score - personal.personal_recovery_mean as recovery_vs_personal_mean,
    seasons.avg_hrv_rmssd_milli - personal.personal_hrv_mean as hrv_vs_personal_mean
from seasons
inner join personal
    on seasons.user_id = personal.user_id
