{#- A sleep's stages and awake time add up to no more than its time in bed (one minute of rounding allowed). -#}
{{ config(severity='warn') }}

select sleep_id, in_bed_minutes, awake_minutes, total_sleep_minutes
from {{ ref('stg_sleep') }}
where is_scored
  and total_sleep_minutes + awake_minutes > in_bed_minutes + 1
