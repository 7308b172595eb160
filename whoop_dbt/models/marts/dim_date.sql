{#- One row per calendar day from var('date_spine_start') to var('date_spine_end'). -#}
with spine as (
    {{ whoop_dbt.date_spine(var('date_spine_start'), var('date_spine_end')) }}
),

parts as (
    select
        date_day,
        cast({{ whoop_dbt.date_part_number('year', 'date_day') }} as {{ dbt.type_int() }}) as year_number,
        cast({{ whoop_dbt.date_part_number('quarter', 'date_day') }} as {{ dbt.type_int() }}) as quarter_number,
        cast({{ whoop_dbt.date_part_number('month', 'date_day') }} as {{ dbt.type_int() }}) as month_number,
        cast({{ whoop_dbt.date_part_number('day', 'date_day') }} as {{ dbt.type_int() }}) as day_of_month,
        {{ whoop_dbt.iso_day_of_week('date_day') }} as day_of_week,
        {{ whoop_dbt.iso_week_start('date_day') }} as week_start_date,
        {{ whoop_dbt.iso_week_number('date_day') }} as iso_week_number,
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start_date,
        cast({{ dbt.date_trunc('quarter', 'date_day') }} as date) as quarter_start_date,
        {{ dbt.datediff(dbt.date_trunc('year', 'date_day'), 'date_day', 'day') }} + 1 as day_of_year,
        {{ dbt.datediff("cast('2019-12-30' as date)", 'date_day', 'day') }} as days_since_block_epoch
    from spine
)

select
    date_day,
    year_number * 10000 + month_number * 100 + day_of_month as date_key,
    year_number,
    quarter_number,
    month_number,
    case month_number
        when 1 then 'January' when 2 then 'February' when 3 then 'March' when 4 then 'April'
        when 5 then 'May' when 6 then 'June' when 7 then 'July' when 8 then 'August'
        when 9 then 'September' when 10 then 'October' when 11 then 'November' else 'December'
    end as month_name,
    day_of_month,
    day_of_year,
    day_of_week,
    case day_of_week
        when 1 then 'Monday' when 2 then 'Tuesday' when 3 then 'Wednesday' when 4 then 'Thursday'
        when 5 then 'Friday' when 6 then 'Saturday' else 'Sunday'
    end as day_name,
    day_of_week in (6, 7) as is_weekend,
    iso_week_number,
    week_start_date,
    month_start_date,
    quarter_start_date,
    {{ whoop_dbt.season_of('date_day') }} as season,
    {{ whoop_dbt.season_year_of('date_day') }} as season_year,
    cast(floor(days_since_block_epoch / 28) as {{ dbt.type_int() }}) + 1 as training_block_number,
    cast(floor(mod(days_since_block_epoch, 28) / 7) as {{ dbt.type_int() }}) + 1 as training_block_week,
    floor(mod(days_since_block_epoch, 28) / 7) = 3 as is_deload_week
from parts
