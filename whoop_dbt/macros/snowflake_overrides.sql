{#
    Snowflake: scratch tables of dbt unit tests as TRANSIENT instead of TEMPORARY tables.

    dbt's `unit` materialization creates a throw-away table named `<db>.<schema>.<test>__dbt_tmp`
    with create_table_as(temporary=True) and drops it at the end. fakesnow (the Snowflake
    stand-in of the `ci` target) cannot create a *temporary* table under a database-qualified
    name, while a transient one works on both it and real Snowflake, so the very same SQL runs
    in CI and in production. The difference on real Snowflake is immaterial here: the table is
    empty (`where false limit 0`), lives for one test and is dropped by dbt afterwards.

    Nothing else in this project asks for temporary tables: the staging increments use
    `merge`, whose scratch relation on Snowflake is a view.
#}
{% macro snowflake__create_table_temporary_sql(relation, compiled_code) -%}
    {{ return(snowflake__create_table_transient_sql(relation, compiled_code)) }}
{%- endmacro %}
