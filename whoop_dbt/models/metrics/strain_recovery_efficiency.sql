{#-
    How well a member recovers from the strain they take: each day's strain against the next
    day's recovery, and against the member's mean next-day recovery after days in the same
    strain band (light < 10, moderate < 14, strenuous < 18, all_out ≥ 18 on WHOOP's 0–21 scale).
-#}
with days as (
    select * from {{ ref('int_user_days') }}
),

paired as (
    select
        user_id,
        date_day,
        day_strain,
        lead(recovery_score) over (partition by user_id order by date_day) as next_day_recovery_score
    from days
),

banded as (
    select
        *,
        case
            when day_strain >= 18 then 'all_out'
            when day_strain >= 14 then 'strenuous'
            when day_strain >= 10 then 'moderate'
            else 'light'
        end as strain_band
    from paired
    where day_strain is not null
      and next_day_recovery_score is not null
)

select
    user_id,
    date_day,
    day_strain,
    strain_band,
    next_day_recovery_score,
    next_day_recovery_score / nullif(day_strain, 0) as recovery_per_strain_point,
    avg(next_day_recovery_score) over (partition by user_id, strain_band) as band_mean_next_day_recovery,
    next_day_recovery_score
        - avg(next_day_recovery_score) over (partition by user_id, strain_band) as recovery_vs_band_mean
from banded
