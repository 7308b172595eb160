{#
    Schemas are exactly `staging`, `intermediate`, `marts` and `metrics` in every target:
    a node's configured schema is used as it is, not prefixed with the target schema.
    Branch deployments are isolated by their own database (SNOWFLAKE_DATABASE), not by
    schema names, so the SQL that users and the ML layer write never changes.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
