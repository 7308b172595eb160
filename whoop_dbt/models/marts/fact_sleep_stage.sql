{#-
    One row per scored sleep and stage: minutes in light, slow-wave, REM sleep and awake.
    Unscored sleeps (PENDING_SCORE, UNSCORABLE) have no stage summary and are absent, not zero.
-#}
with sleeps as (
    select * from {{ ref('fact_sleep') }}
    where is_scored
),

stages as (
    {%- for key, column in [
        ('light', 'light_sleep_minutes'),
        ('slow_wave', 'slow_wave_sleep_minutes'),
        ('rem', 'rem_sleep_minutes'),
        ('awake', 'awake_minutes'),
    ] %}
    select
        sleep_id,
        user_id,
        cycle_id,
        date_day,
        is_nap,
        cast('{{ key }}' as {{ dbt.type_string() }}) as sleep_stage_key,
        {{ column }} as stage_minutes,
        in_bed_minutes
    from sleeps
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
)

select
    sleep_id,
    sleep_stage_key,
    user_id,
    cycle_id,
    date_day,
    is_nap,
    stage_minutes,
    case when in_bed_minutes > 0 then 100.0 * stage_minutes / in_bed_minutes end as share_of_time_in_bed_pct
from stages
where stage_minutes is not null
