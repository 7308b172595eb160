{#- The member's current profile and body measurements, one row per member: what snp_user tracks over time. -#}
with profiles as (
    select * from {{ ref('stg_user_profile') }}
),

bodies as (
    select * from {{ ref('stg_body_measurement') }}
)

select
    profiles.user_id,
    profiles.email,
    profiles.first_name,
    profiles.last_name,
    profiles.full_name,
    bodies.height_meters,
    bodies.weight_kilograms,
    bodies.max_heart_rate,
    bodies.body_mass_index
from profiles
left join bodies
    on profiles.user_id = bodies.user_id
