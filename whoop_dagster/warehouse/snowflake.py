"""The deployed warehouse: Snowflake through ``dagster-snowflake``, imported only when a connection opens.

Identifiers are quoted upper case, so dbt's unquoted lower-case names resolve and ``end`` stays usable.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from whoop_dagster.warehouse.base import WarehouseResource

if TYPE_CHECKING:
    from dagster_snowflake import SnowflakeResource
    from snowflake.connector import SnowflakeConnection


class SnowflakeWarehouse(WarehouseResource):
    """A Snowflake database, reached through a ``dagster_snowflake.SnowflakeResource`` made per connection.

    The fields are ``SnowflakeResource``'s (secrets as ``dg.EnvVar``, resolved at run time).
    Leave ``autocommit`` unset or ``False``: writes here own their transactions.
    """

    account: str
    user: str
    database: str
    password: str | None = None
    private_key: str | None = None
    private_key_password: str | None = None
    role: str | None = None
    warehouse: str | None = None
    autocommit: bool | None = None
    #: Passed to ``snowflake.connector.connect`` (``host``/``port``/``protocol`` for fakesnow in CI).
    additional_snowflake_connection_args: dict[str, Any] | None = None
    paramstyle: str = "pyformat"

    def snowflake_resource(self) -> SnowflakeResource:
        """dagster-snowflake's resource with these settings (imports dagster-snowflake on first use)."""
        from dagster_snowflake import SnowflakeResource

        # Every field but the base class's (paramstyle) is a SnowflakeResource setting.
        names = type(self).model_fields.keys() - WarehouseResource.model_fields.keys()
        settings = {name: getattr(self, name) for name in names}
        return SnowflakeResource(**{name: value for name, value in settings.items() if value is not None})

    @property
    def kind(self) -> str:
        return "snowflake"

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[SnowflakeConnection]:
        # SnowflakeResource.get_connection() neither rolls back nor closes when the
        # caller's block raises; do both here so a failed write leaves nothing open.
        manager = self.snowflake_resource().get_connection()
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

    def dbapi_connection(self, read_only: bool = False) -> SnowflakeConnection:
        # Snowflake has no file lock: readers and writers never block each other's connect.
        return self.snowflake_resource().get_connection().__enter__()

    def quote(self, identifier: str) -> str:
        return f'"{identifier.upper()}"'
