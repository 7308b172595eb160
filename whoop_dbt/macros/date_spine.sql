{#
    One row per day from `start_date` to `end_date` (inclusive, 'YYYY-MM-DD' strings), column
    `date_day`. Portable: a cross join of digit rows numbers up to 100,000 days, turned into
    dates with dbt.dateadd (no generator functions, which differ between warehouses).
#}
{% macro date_spine(start_date, end_date) -%}
    with digits as (
        select 0 as digit union all select 1 union all select 2 union all select 3
        union all select 4 union all select 5 union all select 6 union all select 7
        union all select 8 union all select 9
    ),

    day_numbers as (
        select
            ten_thousands.digit * 10000 + thousands.digit * 1000 + hundreds.digit * 100
            + tens.digit * 10 + ones.digit as day_number
        from digits as ten_thousands
        cross join digits as thousands
        cross join digits as hundreds
        cross join digits as tens
        cross join digits as ones
    )

    select cast({{ dbt.dateadd('day', 'day_number', "cast('" ~ start_date ~ "' as date)") }} as date) as date_day
    from day_numbers
    where day_number <= {{ dbt.datediff("cast('" ~ start_date ~ "' as date)", "cast('" ~ end_date ~ "' as date)", 'day') }}
{%- endmacro %}

{#
    ISO day of week (Monday = 1 … Sunday = 7), computed from the distance to a known Monday
    so that no session setting (Snowflake's WEEK_START) can change it.
#}
{% macro iso_day_of_week(date_expression) -%}
    (mod({{ dbt.datediff("cast('1999-12-27' as date)", date_expression, 'day') }}, 7) + 1)
{%- endmacro %}

{# The Monday that starts the ISO week of a date. #}
{% macro iso_week_start(date_expression) -%}
    cast({{ dbt.dateadd('day', '1 - ' ~ whoop_dbt.iso_day_of_week(date_expression), date_expression) }} as date)
{%- endmacro %}

{# ISO 8601 week number (1–53): the week of the year that holds the week's Thursday. #}
{% macro iso_week_number(date_expression) -%}
    {%- set thursday = dbt.dateadd('day', 3, whoop_dbt.iso_week_start(date_expression)) -%}
    (cast(floor({{ dbt.datediff(dbt.date_trunc('year', thursday), thursday, 'day') }} / 7) as {{ dbt.type_int() }}) + 1)
{%- endmacro %}

{#
    Meteorological seasons of the northern hemisphere: winter = Dec–Feb, spring = Mar–May,
    summer = Jun–Aug, autumn = Sep–Nov. `season_year` is the year the season began in
    (December 2024 and February 2025 are both winter 2024).
#}
{% macro season_of(date_expression) -%}
    case
        when {{ whoop_dbt.date_part_number('month', date_expression) }} in (12, 1, 2) then 'winter'
        when {{ whoop_dbt.date_part_number('month', date_expression) }} in (3, 4, 5) then 'spring'
        when {{ whoop_dbt.date_part_number('month', date_expression) }} in (6, 7, 8) then 'summer'
        else 'autumn'
    end
{%- endmacro %}

{% macro season_year_of(date_expression) -%}
    cast(
        {{ whoop_dbt.date_part_number('year', date_expression) }}
        - case when {{ whoop_dbt.date_part_number('month', date_expression) }} in (1, 2) then 1 else 0 end
    as {{ dbt.type_int() }})
{%- endmacro %}

{# A numeric part of a date (year, quarter, month, day): standard `extract`, same on both warehouses. #}
{% macro date_part_number(datepart, date_expression) -%}
    extract({{ datepart }} from {{ date_expression }})
{%- endmacro %}
