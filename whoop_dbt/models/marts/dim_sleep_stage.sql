{#- The stages WHOOP reports for every scored sleep: a fixed list, one row each. -#}
{%- set stages = [
    ('light', 'Light sleep', true, 1, 'Light (N1/N2) sleep: most of the night; the body relaxes and heart rate falls.'),
    ('slow_wave', 'Slow-wave (deep) sleep', true, 2, 'Slow-wave (N3, deep) sleep: physical repair, most of it early in the night.'),
    ('rem', 'REM sleep', true, 3, 'Rapid-eye-movement sleep: dreaming, memory and learning; longer towards morning.'),
    ('awake', 'Awake', false, 4, 'Time awake in bed between falling asleep and getting up.'),
] -%}

{% for key, name, is_asleep, order, description in stages %}
select
    cast('{{ key }}' as {{ dbt.type_string() }}) as sleep_stage_key,
    cast('{{ name }}' as {{ dbt.type_string() }}) as stage_name,
    {{ is_asleep }} as is_asleep,
    {{ order }} as display_order,
    cast('{{ description }}' as {{ dbt.type_string() }}) as description
{% if not loop.last %}union all{% endif %}
{% endfor %}
