"""The dbt area: the ``whoop_dbt`` project as dagster-dbt assets, its tests as checks, freshness and automation."""
