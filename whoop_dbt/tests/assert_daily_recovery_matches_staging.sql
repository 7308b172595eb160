{#-
    Nothing is lost or altered between staging and the mart: every scored recovery of a day's
    primary cycle is in fact_daily_recovery with the same score.
-#}
{{ config(meta={'dagster': {'ref': {'name': 'fact_daily_recovery'}}}) }}

select recoveries.cycle_id, recoveries.recovery_score, facts.recovery_score as fact_recovery_score
from {{ ref('stg_recovery') }} as recoveries
inner join {{ ref('int_cycle_days') }} as days
    on recoveries.cycle_id = days.cycle_id
    and days.is_primary_cycle_of_day
left join {{ ref('fact_daily_recovery') }} as facts
    on recoveries.cycle_id = facts.cycle_id
where recoveries.is_scored
  and (facts.cycle_id is null or facts.recovery_score <> recoveries.recovery_score)
