{#
    Shared pieces of the staging models.

    latest_raw_rows(source_name, key_columns): the raw rows to (re)build, one per record key:
      - on an incremental build only rows extracted since the newest row already staged
        (minus `staging_lookback_hours`), else every raw row;
      - of several versions of a record the one with the latest `updated_at` wins, then the
        latest `_extracted_at`.
    The caller selects typed columns from the CTE it returns.
#}
{% macro latest_raw_rows(source_table, key_columns, order_by='updated_at desc, _extracted_at desc') -%}
    select *
    from (
        select
            raw_rows.*,
            row_number() over (
                partition by {{ key_columns | join(', ') }}
                order by {{ order_by }}
            ) as _version_rank
        from {{ source_table }} as raw_rows
        {% if is_incremental() %}
        {#- An empty target (first loads were empty) reads everything: max() is null there. #}
        where _extracted_at >= (
            select coalesce(
                {{ dbt.dateadd('hour', -1 * var('staging_lookback_hours'), 'max(_extracted_at)') }},
                cast('1900-01-01' as {{ dbt.type_timestamp() }})
            )
            from {{ this }}
        )
        {% endif %}
    ) as ranked
    where _version_rank = 1
{%- endmacro %}

{#
    Post-hook of the incremental staging models: drop staged records whose raw rows are gone
    (WHOOP deletes records; a partition re-load then no longer holds them). Keeps an
    incremental build equal to a full refresh.
#}
{% macro delete_vanished_records(key_column, source_table, source_key_column=none) -%}
    delete from {{ this }}
    where {{ key_column }} not in (
        select {{ source_key_column or key_column }}
        from {{ source_table }}
        where {{ source_key_column or key_column }} is not null
    )
{%- endmacro %}
