{#- Member history, SCD type 2: one row per member and version, from the snapshot snp_user. -#}
with versions as (
    select * from {{ ref('snp_user') }}
)

select
    dbt_scd_id as user_version_key,
    user_id,
    email,
    first_name,
    last_name,
    full_name,
    height_meters,
    weight_kilograms,
    max_heart_rate,
    body_mass_index,
    dbt_valid_from as valid_from,
    dbt_valid_to as valid_to,
    dbt_valid_to is null as is_current
from versions
