{#-
    Recovery trend per member and day: the day's score against the previous day and the
    trailing 3-, 7- and 14-day means (calendar windows ending on the day; days without a
    scored recovery are skipped inside a window, not counted as zero).
-#}
with days as (
    select * from {{ ref('int_user_days') }}
),

windows as (
    select
        user_id,
        date_day,
        recovery_score,
        lag(recovery_score) over (partition by user_id order by date_day) as previous_day_recovery_score,
        avg(recovery_score) over (
            partition by user_id order by date_day rows between 2 preceding and current row
        ) as recovery_avg_3d,
        avg(recovery_score) over (
            partition by user_id order by date_day rows between 6 preceding and current row
        ) as recovery_avg_7d,
        avg(recovery_score) over (
            partition by user_id order by date_day rows between 13 preceding and current row
        ) as recovery_avg_14d,
        count(recovery_score) over (
            partition by user_id order by date_day rows between 13 preceding and current row
        ) as observations_14d
    from days
)

select
    user_id,
    date_day,
    recovery_score,
    recovery_score - previous_day_recovery_score as recovery_change_1d,
    recovery_avg_3d,
    recovery_avg_7d,
    recovery_avg_14d,
    observations_14d,
    recovery_avg_3d - recovery_avg_14d as momentum_3d_vs_14d,
    case
        when observations_14d < 7 then 'insufficient_data'
        when recovery_avg_3d - recovery_avg_14d >= 5 then 'improving'
        when recovery_avg_3d - recovery_avg_14d <= -5 then 'declining'
        else 'stable'
    end as trend
from windows
where recovery_score is not null
