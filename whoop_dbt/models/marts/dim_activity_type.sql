{#-
    One row per activity type: every sport of the catalog, with a coarse category for reports,
    plus every sport a workout names that the catalog does not know (category 'unknown', with
    the id and name the API gave), so that every workout finds its activity type.
-#}
with catalog as (
    select
        {{ whoop_dbt.sport_key('sport_name') }} as activity_type_key,
        sport_id,
        sport_name,
        sport_category
    from {{ ref('sport_catalog') }}
),

unknown_types as (
    select
        activity_type_key,
        max(sport_id) as sport_id,
        coalesce(max(sport_name), 'unknown') as sport_name
    from {{ ref('int_workout_activity_types') }}
    where not is_known_activity
    group by activity_type_key
)

select
    activity_type_key,
    sport_id,
    sport_name as activity_name,
    case
        when sport_category in ('endurance', 'water', 'winter', 'racket_sport', 'combat') then 'cardio'
        when sport_category = 'strength' then 'strength'
        when sport_category = 'team_sport' then 'team_sport'
        when sport_category in ('mind_body', 'recovery') then 'mind_body'
        else 'other'
    end as activity_category,
    sport_category,
    true as is_known
from catalog

union all

select
    activity_type_key,
    sport_id,
    sport_name as activity_name,
    'unknown' as activity_category,
    cast(null as {{ dbt.type_string() }}) as sport_category,
    false as is_known
from unknown_types
