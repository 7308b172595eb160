{#-
    Each workout with its activity type. Workouts before 2025-09-01 carry `sport_id` and
    `sport_name`, later ones only `sport_name`, so the key is the normalised sport name:
    a name the catalog knows maps to its catalog entry; else a `sport_id` the catalog knows
    (a sport WHOOP renamed); else the workout's own name (or `sport_id_<id>`, or
    `unspecified`) becomes an unknown activity type. Every workout gets a key: none is dropped.
-#}
with workouts as (
    select workout_id, user_id, sport_id, sport_name, sport_key
    from {{ ref('stg_workout') }}
),

catalog as (
    select
        sport_id,
        {{ whoop_dbt.sport_key('sport_name') }} as sport_key
    from {{ ref('sport_catalog') }}
)

select
    workouts.workout_id,
    workouts.user_id,
    workouts.sport_id,
    workouts.sport_name,
    coalesce(
        by_name.sport_key,
        by_id.sport_key,
        workouts.sport_key,
        {{ dbt.concat(["'sport_id_'", dbt.safe_cast('workouts.sport_id', dbt.type_string())]) }},
        'unspecified'
    ) as activity_type_key,
    coalesce(by_name.sport_key, by_id.sport_key) is not null as is_known_activity
from workouts
left join catalog as by_name
    on workouts.sport_key = by_name.sport_key
left join catalog as by_id
    on workouts.sport_id = by_id.sport_id
