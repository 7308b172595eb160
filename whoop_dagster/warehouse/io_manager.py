"""An IO manager that stores an asset's DataFrame as a whole table, replaced in one transaction.

Used for the ML tables (``ml.recovery_forecast``, ``ml.recovery_anomalies``). Why not the
stock pandas IO managers: the DuckDB one drops and recreates without a transaction, and the
Snowflake one (``write_pandas``: a stage, ``PUT``, ``INFER_SCHEMA``, ``COPY``) cannot be
exercised against the fakesnow server the tests use. This one goes through the project's
:class:`~whoop_dagster.warehouse.base.WarehouseResource`, the same tested path as the raw
layer: DuckDB locally, Snowflake in deployments, readers see the old table or the new one.

The table is ``<first part of the asset key>.<last part>`` and its columns and portable SQL
types come from the asset's ``dagster/column_schema`` metadata, so what the UI documents is
what the warehouse holds.
"""

# No `from __future__ import annotations`: Dagster reads the resource attribute's type at class creation.
from typing import TYPE_CHECKING, Any

import dagster as dg

from whoop_dagster.warehouse.base import TableSpec, WarehouseResource

if TYPE_CHECKING:
    import pandas as pd

#: ``TableColumn.type`` in the column schemas → SQL type that DuckDB and Snowflake both accept.
SQL_TYPES: dict[str, str] = {
    "int": "BIGINT",
    "float": "DOUBLE",
    "date": "DATE",
    "bool": "BOOLEAN",
    "string": "VARCHAR",
}


def table_spec_for(asset_key: dg.AssetKey, metadata: dict[str, Any]) -> TableSpec:
    """The table an asset is stored in, from its key and its ``dagster/column_schema`` metadata."""
    schema = metadata.get("dagster/column_schema")
    if schema is None:
        raise dg.DagsterInvariantViolationError(
            f"asset {asset_key.to_user_string()} has no dagster/column_schema metadata: its table cannot be typed"
        )
    table_schema = schema.schema if isinstance(schema, dg.TableSchemaMetadataValue) else schema
    try:
        columns = tuple((column.name, SQL_TYPES[column.type]) for column in table_schema.columns)
    except KeyError as err:
        raise dg.DagsterInvariantViolationError(
            f"asset {asset_key.to_user_string()}: column type {err.args[0]!r} has no SQL type "
            f"(known: {sorted(SQL_TYPES)})"
        ) from err
    return TableSpec(schema=asset_key.path[0], name=asset_key.path[-1], columns=columns)


class WarehouseTableIOManager(dg.ConfigurableIOManager):
    """Whole-table DataFrames in the deployment's warehouse, replaced atomically."""

    warehouse: WarehouseResource

    def handle_output(self, context: dg.OutputContext, obj: "pd.DataFrame") -> None:
        table = table_spec_for(context.asset_key, dict(context.definition_metadata or {}))
        missing = [name for name in table.column_names if name not in obj.columns]
        if missing:
            raise dg.DagsterInvariantViolationError(
                f"{context.asset_key.to_user_string()}: the DataFrame lacks the documented column(s) {missing}"
            )
        rows = self.warehouse.replace_slice(table, obj[list(table.column_names)], window=None)
        context.log.debug("replaced %s.%s with %d rows", table.schema, table.name, rows)

    def load_input(self, context: dg.InputContext) -> "pd.DataFrame":
        table = table_spec_for(context.asset_key, dict(context.upstream_output.definition_metadata or {}))
        columns = ", ".join(self.warehouse.quote(name) for name in table.column_names)
        return self.warehouse.read_frame(f"select {columns} from {self.warehouse.qualified(table)}")
