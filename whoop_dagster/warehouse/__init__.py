"""Warehouse access behind one interface: DuckDB locally, Snowflake in deployments (imported only there)."""

from whoop_dagster.warehouse.base import SliceWindow, TableSpec, WarehouseError, WarehouseResource

__all__ = ["SliceWindow", "TableSpec", "WarehouseError", "WarehouseResource"]
