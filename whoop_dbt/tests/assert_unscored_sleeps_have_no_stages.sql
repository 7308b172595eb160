{#- Unscored sleeps are absent from fact_sleep_stage (no stage summary), never present as zeros. -#}
{{ config(meta={'dagster': {'ref': {'name': 'fact_sleep_stage'}}}) }}

select stages.sleep_id, stages.sleep_stage_key, sleeps.score_state
from {{ ref('fact_sleep_stage') }} as stages
inner join {{ ref('fact_sleep') }} as sleeps
    on stages.sleep_id = sleeps.sleep_id
where not sleeps.is_scored
