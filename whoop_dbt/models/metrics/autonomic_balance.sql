{#-
    HRV / resting-heart-rate ratio against the member's own baseline: the mean ratio of the
    60 days before (at least 14 measured). An index above 100 leans parasympathetic (rested),
    below 100 sympathetic (stressed); ±10 % counts as balanced.
-#}
with days as (
    select
        *,
        hrv_rmssd_milli / nullif(resting_heart_rate, 0) as hrv_rhr_ratio
    from {{ ref('int_user_days') }}
),

baselines as (
    select
        user_id,
        date_day,
        hrv_rmssd_milli,
        resting_heart_rate,
        hrv_rhr_ratio,
        avg(hrv_rhr_ratio) over (
            partition by user_id order by date_day rows between 60 preceding and 1 preceding
        ) as baseline_ratio_60d,
        count(hrv_rhr_ratio) over (
            partition by user_id order by date_day rows between 60 preceding and 1 preceding
        ) as baseline_observations
    from days
),

indexed as (
    select
        *,
        case
            when baseline_observations >= 14 then 100.0 * hrv_rhr_ratio / nullif(baseline_ratio_60d, 0)
        end as balance_index
    from baselines
    where hrv_rhr_ratio is not null
)

select
    user_id,
    date_day,
    hrv_rmssd_milli,
    resting_heart_rate,
    hrv_rhr_ratio,
    baseline_ratio_60d,
    baseline_observations,
    balance_index,
    case
        when balance_index is null then 'insufficient_data'
        when balance_index > 110 then 'parasympathetic'
        when balance_index < 90 then 'sympathetic'
        else 'balanced'
    end as balance_state
from indexed
