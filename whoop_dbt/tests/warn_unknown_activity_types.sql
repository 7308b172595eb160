{#-
    Reports every activity type the sport catalog does not know, with the id and name the API
    gave and how many workouts use it. Warn only: the workouts are kept (category 'unknown');
    add the sport to seeds/sport_catalog.csv to categorise them.
-#}
{{ config(severity='warn') }}

select
    activity_types.activity_type_key,
    activity_types.sport_id,
    activity_types.activity_name
from {{ ref('dim_activity_type') }} as activity_types
where activity_types.activity_category = 'unknown'
