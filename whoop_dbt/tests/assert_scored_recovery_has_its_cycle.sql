{#-
    Every scored recovery has its cycle in stg_cycle. Warn only: the raw endpoints load
    independently, so a recovery can briefly arrive before its cycle's partition does.
-#}
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'stg_recovery'}}}) }}

select recoveries.cycle_id, recoveries.sleep_id
from {{ ref('stg_recovery') }} as recoveries
left join {{ ref('stg_cycle') }} as cycles
    on recoveries.cycle_id = cycles.cycle_id
where recoveries.is_scored
  and cycles.cycle_id is null
