{#-
    One row per member and physiological day that has a recovery record (the primary cycle of
    the day). Unscored recoveries (PENDING_SCORE, UNSCORABLE) are kept with null measures.
-#}
with days as (
    select * from {{ ref('int_cycle_days') }}
    where is_primary_cycle_of_day and has_recovery
)

select
    user_id,
    date_day,
    cycle_id,
    recovery_sleep_id as sleep_id,
    recovery_score_state as score_state,
    recovery_is_scored as is_scored,
    is_user_calibrating,
    recovery_score,
    case
        when recovery_score is null then null
        when recovery_score >= 67 then 'green'
        when recovery_score >= 34 then 'yellow'
        else 'red'
    end as recovery_zone,
    hrv_rmssd_milli,
    resting_heart_rate,
    spo2_pct,
    skin_temp_celsius,
    respiratory_rate,
    sleep_performance_pct,
    recovery_updated_at as updated_at
from days
