"""Warehouse access: DuckDB locally, Snowflake in deployments, one interface.

Only :mod:`whoop_dagster.warehouse.base` is imported eagerly; the DuckDB and
Snowflake modules are imported by the deployment that uses them, so a local
code location never pays for Snowflake's heavy imports.
"""

from whoop_dagster.warehouse.base import SliceWindow, TableSpec, WarehouseError, WarehouseResource

__all__ = ["SliceWindow", "TableSpec", "WarehouseError", "WarehouseResource"]
