{#-
    Readiness from the autonomic markers against the strain actually taken.

    Readiness compares the day's HRV and resting heart rate with the member's trailing 30-day
    baseline (the 30 days before, at least 7 of them measured): z = (hrv z-score) − (RHR
    z-score), clamped to ±3, mapped to 0–100 %. The strain the day "affords" is
    6 + 12 × readiness (6 when depleted, 18 when fully ready, on WHOOP's 0–21 scale). The gap
    is the strain taken minus that target: positive = pushing beyond readiness.
-#}
with days as (
    select * from {{ ref('int_user_days') }}
),

baselines as (
    select
        user_id,
        date_day,
        hrv_rmssd_milli,
        resting_heart_rate,
        day_strain,
        avg(hrv_rmssd_milli) over (
            partition by user_id order by date_day rows between 30 preceding and 1 preceding
        ) as hrv_baseline_30d,
        stddev_samp(hrv_rmssd_milli) over (
            partition by user_id order by date_day rows between 30 preceding and 1 preceding
        ) as hrv_stddev_30d,
        avg(resting_heart_rate) over (
            partition by user_id order by date_day rows between 30 preceding and 1 preceding
        ) as rhr_baseline_30d,
        stddev_samp(resting_heart_rate) over (
            partition by user_id order by date_day rows between 30 preceding and 1 preceding
        ) as rhr_stddev_30d,
        count(hrv_rmssd_milli) over (
            partition by user_id order by date_day rows between 30 preceding and 1 preceding
        ) as baseline_observations
    from days
),

scored as (
    select
        *,
        (hrv_rmssd_milli - hrv_baseline_30d) / nullif(hrv_stddev_30d, 0) as hrv_z_score,
        (resting_heart_rate - rhr_baseline_30d) / nullif(rhr_stddev_30d, 0) as rhr_z_score
    from baselines
    where hrv_rmssd_milli is not null
      and baseline_observations >= 7
),

readiness as (
    select
        *,
        50.0 + 50.0 * (
            case
                when hrv_z_score - rhr_z_score > 3 then 3.0
                when hrv_z_score - rhr_z_score < -3 then -3.0
                else hrv_z_score - rhr_z_score
            end
        ) / 3.0 as readiness_pct
    from scored
)

select
    user_id,
    date_day,
    hrv_rmssd_milli,
    resting_heart_rate,
    hrv_baseline_30d,
    rhr_baseline_30d,
    hrv_z_score,
    rhr_z_score,
    readiness_pct,
    6.0 + 12.0 * readiness_pct / 100.0 as target_strain,
    day_strain,
    day_strain - (6.0 + 12.0 * readiness_pct / 100.0) as readiness_gap,
    case
        when day_strain is null or readiness_pct is null then null
        when day_strain - (6.0 + 12.0 * readiness_pct / 100.0) > 3 then 'overreaching'
        when day_strain - (6.0 + 12.0 * readiness_pct / 100.0) < -3 then 'under_using'
        else 'aligned'
    end as gap_label
from readiness
