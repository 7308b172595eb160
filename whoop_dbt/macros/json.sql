{#
    Reading fields of the raw `payload` (the API record as JSON text).

    `path` is a dotted path inside the record, e.g. 'score.stage_summary.total_in_bed_time_milli'.
    A key that is absent (the API omits optional fields, and `score` unless SCORED) reads as null.
    The typed variants cast that text; they never turn an absent value into 0.
#}

{% macro json_text(column, path) -%}
    {{ return(adapter.dispatch('json_text', 'whoop_dbt')(column, path)) }}
{%- endmacro %}

{% macro default__json_text(column, path) -%}
    json_extract_string({{ column }}, '$.{{ path }}')
{%- endmacro %}

{% macro duckdb__json_text(column, path) -%}
    json_extract_string({{ column }}, '$.{{ path }}')
{%- endmacro %}

{% macro snowflake__json_text(column, path) -%}
    json_extract_path_text({{ column }}, '{{ path }}')
{%- endmacro %}

{% macro json_number(column, path) -%}
    cast({{ whoop_dbt.json_text(column, path) }} as double)
{%- endmacro %}

{% macro json_integer(column, path) -%}
    cast({{ whoop_dbt.json_text(column, path) }} as {{ dbt.type_bigint() }})
{%- endmacro %}

{% macro json_boolean(column, path) -%}
    cast({{ whoop_dbt.json_text(column, path) }} as {{ dbt.type_boolean() }})
{%- endmacro %}

{% macro json_timestamp(column, path) -%}
    {{ whoop_dbt.utc_timestamp(whoop_dbt.json_text(column, path)) }}
{%- endmacro %}
