"""The deployed warehouse: Snowflake through ``dagster-snowflake``.

Imported only by branch and prod deployments (the Snowflake libraries take
seconds to import). Identifiers are created quoted in upper case so that the
unquoted lower-case names used everywhere else (dbt included) resolve to them,
and ``end`` — a reserved word — stays usable.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dagster_snowflake import SnowflakeResource

from whoop_dagster.warehouse.base import WarehouseResource


class SnowflakeWarehouse(WarehouseResource):
    """A Snowflake database reached through a :class:`dagster_snowflake.SnowflakeResource`.

    Configure the nested resource with ``autocommit=False``: writes here own
    their transactions.
    """

    snowflake: SnowflakeResource
    paramstyle: str = "pyformat"

    @property
    def kind(self) -> str:
        return "snowflake"

    @contextmanager
    def connect(self) -> Iterator[Any]:
        # SnowflakeResource.get_connection() neither rolls back nor closes when the
        # caller's block raises; do both here so a failed write leaves nothing open.
        manager = self.snowflake.get_connection()
        connection = manager.__enter__()
        try:
            yield connection
        except BaseException:
            try:
                connection.rollback()
            finally:
                connection.close()
            raise
        manager.__exit__(None, None, None)  # commits (autocommit off) and closes

    def dbapi_connection(self) -> Any:
        return self.snowflake.get_connection().__enter__()

    def quote(self, identifier: str) -> str:
        return f'"{identifier.upper()}"'
