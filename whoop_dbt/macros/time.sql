{#
    Time helpers. WHOOP timestamps are UTC ISO 8601 with milliseconds ('2022-04-24T11:25:44.774Z');
    the warehouse keeps them as naive UTC timestamps. Local time is UTC plus the record's
    `timezone_offset` ('+hh:mm', '-hh:mm' or 'Z').
#}

{% macro utc_timestamp(text_expression) -%}
    cast(replace(replace({{ text_expression }}, 'Z', ''), 'T', ' ') as {{ dbt.type_timestamp() }})
{%- endmacro %}

{# The offset in minutes east of UTC: '+05:30' → 330, '-04:00' → -240, 'Z' → 0; null when absent. #}
{% macro utc_offset_minutes(offset_expression) -%}
    case
        when {{ offset_expression }} is null then null
        when upper({{ offset_expression }}) = 'Z' then 0
        else
            (case when substr({{ offset_expression }}, 1, 1) = '-' then -1 else 1 end)
            * (
                cast(substr({{ offset_expression }}, 2, 2) as {{ dbt.type_int() }}) * 60
                + cast(substr({{ offset_expression }}, 5, 2) as {{ dbt.type_int() }})
            )
    end
{%- endmacro %}

{% macro to_local(utc_expression, offset_minutes_expression) -%}
    {{ dbt.dateadd('minute', 'coalesce(' ~ offset_minutes_expression ~ ', 0)', utc_expression) }}
{%- endmacro %}

{#
    The physiological day of a cycle: a cycle starts when the member falls asleep and is
    attributed to the local calendar date twelve hours later, i.e. the day they wake into
    (asleep at 23:10 on Monday → Tuesday; asleep at 00:40 on Tuesday → Tuesday).
#}
{% macro physiological_date(local_start_expression) -%}
    cast({{ dbt.dateadd('hour', 12, local_start_expression) }} as date)
{%- endmacro %}

{% macro milli_to_minutes(expression) -%}
    (({{ expression }}) / 60000.0)
{%- endmacro %}

{% macro kilojoules_to_kilocalories(expression) -%}
    (({{ expression }}) / 4.184)
{%- endmacro %}

{# Duration in minutes between two timestamps, to the second. #}
{% macro minutes_between(start_expression, end_expression) -%}
    ({{ dbt.datediff(start_expression, end_expression, 'second') }} / 60.0)
{%- endmacro %}
