{#- No workout is dropped on its way to the mart: not for an unknown sport, nor for a missing cycle. -#}
{{ config(meta={'dagster': {'ref': {'name': 'fact_workout'}}}) }}

select workouts.workout_id, workouts.sport_id, workouts.sport_name
from {{ ref('stg_workout') }} as workouts
left join {{ ref('fact_workout') }} as facts
    on workouts.workout_id = facts.workout_id
where facts.workout_id is null
