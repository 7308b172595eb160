{# A sport's join key: its name in lower case, words joined by '_' ('Hiking/Rucking' → 'hiking_rucking'). #}
{% macro sport_key(name_expression) -%}
    replace(replace(replace(replace(replace(lower(trim({{ name_expression }})), ' & ', '_'), '/', '_'), '-', '_'), ' ', '_'), '&', '_')
{%- endmacro %}
