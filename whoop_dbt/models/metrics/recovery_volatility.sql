{#-
    Day-to-day variability of recovery and HRV: sample standard deviations over the trailing
    7 and 30 calendar days (at least 3 and 10 scored days respectively, else null).
-#}
with days as (
    select * from {{ ref('int_user_days') }}
),

windows as (
    select
        user_id,
        date_day,
        recovery_score,
        stddev_samp(recovery_score) over (
            partition by user_id order by date_day rows between 6 preceding and current row
        ) as recovery_stddev_7d_raw,
        stddev_samp(recovery_score) over (
            partition by user_id order by date_day rows between 29 preceding and current row
        ) as recovery_stddev_30d_raw,
        stddev_samp(hrv_rmssd_milli) over (
            partition by user_id order by date_day rows between 6 preceding and current row
        ) as hrv_stddev_7d_raw,
        stddev_samp(hrv_rmssd_milli) over (
            partition by user_id order by date_day rows between 29 preceding and current row
        ) as hrv_stddev_30d_raw,
        count(recovery_score) over (
            partition by user_id order by date_day rows between 6 preceding and current row
        ) as observations_7d,
        count(recovery_score) over (
            partition by user_id order by date_day rows between 29 preceding and current row
        ) as observations_30d
    from days
),

guarded as (
    select
        user_id,
        date_day,
        recovery_score,
        case when observations_7d >= 3 then recovery_stddev_7d_raw end as recovery_stddev_7d,
        case when observations_30d >= 10 then recovery_stddev_30d_raw end as recovery_stddev_30d,
        case when observations_7d >= 3 then hrv_stddev_7d_raw end as hrv_stddev_7d,
        case when observations_30d >= 10 then hrv_stddev_30d_raw end as hrv_stddev_30d,
        observations_7d,
        observations_30d
    from windows
    where recovery_score is not null
)

select
    *,
    case
        when recovery_stddev_7d is null then 'insufficient_data'
        when recovery_stddev_7d < 10 then 'stable'
        when recovery_stddev_7d < 20 then 'variable'
        else 'volatile'
    end as volatility_label
from guarded
