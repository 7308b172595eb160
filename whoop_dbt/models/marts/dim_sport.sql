{#-
    One row per sport (by normalised name): every sport of the catalog seed plus any sport a
    workout names that the catalog does not know yet (category 'other'), so that every
    workout finds its sport.
-#}
with catalog as (
    select
        {{ whoop_dbt.sport_key('sport_name') }} as sport_key,
        sport_id,
        sport_name,
        sport_category
    from {{ ref('sport_catalog') }}
),

seen as (
    select
        sport_key,
        max(sport_id) as sport_id,
        max(sport_name) as sport_name
    from {{ ref('stg_workout') }}
    where sport_key is not null
    group by sport_key
)

select
    catalog.sport_key,
    catalog.sport_id,
    catalog.sport_name,
    catalog.sport_category,
    true as is_in_catalog
from catalog

union all

select
    seen.sport_key,
    seen.sport_id,
    seen.sport_name,
    'other' as sport_category,
    false as is_in_catalog
from seen
where seen.sport_key not in (select sport_key from catalog)
