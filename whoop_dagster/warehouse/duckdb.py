"""The local warehouse: one DuckDB file.

DuckDB allows a single writer per file, so every asset that writes here runs
in the ``warehouse_writer`` pool (limit 1) — see ``definitions.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from whoop_dagster.warehouse.base import TableSpec, WarehouseResource

if TYPE_CHECKING:
    import pandas as pd


class DuckDBWarehouse(WarehouseResource):
    """The DuckDB file at ``path`` (created with its folder on first use)."""

    path: str

    @property
    def kind(self) -> str:
        return "duckdb"

    def dbapi_connection(self) -> Any:
        import duckdb

        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        return duckdb.connect(self.path)

    def quote(self, identifier: str) -> str:
        # DuckDB identifiers are case-insensitive, quoted or not.
        return f'"{identifier}"'

    def _insert_frame(self, cursor: Any, table: TableSpec, frame: pd.DataFrame) -> int:
        # Let DuckDB scan the DataFrame directly: one statement, typed, fast.
        if frame.empty:
            return 0
        columns = ", ".join(self.quote(name) for name in table.column_names)
        # The registration lives as long as the cursor (closed right after the write); no
        # unregister here, which would mask the real error inside an aborted transaction.
        cursor.register("incoming_rows", frame.loc[:, list(table.column_names)])
        cursor.execute(f"INSERT INTO {self.qualified(table)} ({columns}) SELECT {columns} FROM incoming_rows")
        return len(frame)
