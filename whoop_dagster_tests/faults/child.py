"""What the fault suite runs in other processes: ``python -m whoop_dagster_tests.faults.child COMMAND``.

The first line of stdin is a JSON object of arguments (secrets never go on the command
line). Everything logs at DEBUG to stderr, which the parent scans for secrets.

Commands:

``rotate``
    Another process sharing the token file refreshes the WHOOP tokens (a rotation the
    running asset did not make).
``materialize-until-killed``
    Materialize every raw asset for a partition range, and SIGKILL this process inside the
    ``raw.cycle`` write, after its delete and before its insert.
``materialize``
    Materialize the raw assets ``selection`` for a partition range (the fault campaign's runs
    in another process: killed from outside, or next to another run); with ``victim``, SIGKILL
    this process between that table's delete and insert.
``downstream``
    Build every dbt model and ML asset on the DuckDB file (the steps after the raw loads);
    with ``victim``, SIGKILL this process inside that ML table's write (the stock pandas IO
    manager's delete has run, its insert not). The parent kills it inside dbt by itself.
``hold-lock``
    Open the DuckDB file (``read_only`` or not) and hold it until stdin closes.

Only what a command needs is imported (``rotate`` must not pay for importing Dagster).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

READY = "ready"


def rotate(spec: dict[str, Any]) -> None:
    from whoop_dagster.whoop_api.auth import OAuthApp, TokenManager
    from whoop_dagster.whoop_api.token_store import FileTokenStore

    store = FileTokenStore(spec["token_store_path"])
    app = OAuthApp(
        client_id=spec["client_id"],
        client_secret=spec["client_secret"],
        redirect_uri=spec["redirect_uri"],
        oauth_base_url=spec["oauth_base_url"],
    )
    stored = store.load()
    if stored is None:
        raise SystemExit("no tokens stored")
    manager = TokenManager(app, store)
    manager.force_refresh(stored.access_token)  # the stored pair is "stale" to us: rotate it
    print(json.dumps({"rotated": manager.refresh_count}), flush=True)


def materialize_until_killed(spec: dict[str, Any]) -> None:
    _materialize({**spec, "selection": ["group:whoop_raw"]})
    raise SystemExit("the run was not killed")


def materialize(spec: dict[str, Any]) -> None:
    success = _materialize(spec)
    print(json.dumps({"success": success}), flush=True)
    raise SystemExit(0 if success else 1)


def _materialize(spec: dict[str, Any]) -> bool:
    import dagster as dg

    from whoop_dagster.defs.raw.assets import build_raw_assets
    from whoop_dagster.resources import WhoopApiResource
    from whoop_dagster.warehouse.duckdb import DuckDBWarehouse
    from whoop_dagster_tests.support.whoop import frozen_partitions_def

    class DiesBetweenDeleteAndInsert(DuckDBWarehouse):
        """Writes like the real warehouse, but the process dies inside the ``victim`` table's transaction."""

        victim: str | None = None
        marker: str | None = None

        def _insert_frame(self, cursor: Any, table: Any, frame: Any) -> int:
            if table.name == self.victim:
                # The slice's delete has run in this transaction: record what is left, then die.
                left = cursor.execute(f"SELECT count(*) FROM {self.qualified(table)}").fetchone()[0]
                if self.marker:
                    Path(self.marker).write_text(json.dumps({"rows_left": left, "rows_to_insert": len(frame)}))
                os.kill(os.getpid(), signal.SIGKILL)
            return super()._insert_frame(cursor, table, frame)

    warehouse = DiesBetweenDeleteAndInsert(
        path=spec["duckdb_path"],
        victim=spec.get("victim"),
        marker=spec.get("marker"),
        lock_timeout_seconds=spec.get("lock_timeout_seconds", 600.0),
    )
    selection = spec["selection"]
    result = dg.materialize(
        build_raw_assets(frozen_partitions_def(), "duckdb"),
        resources={"whoop": WhoopApiResource(**spec["whoop"]), "warehouse": warehouse},
        selection=selection
        if selection == ["group:whoop_raw"]
        else [dg.AssetKey.from_user_string(k) for k in selection],
        tags=spec["tags"],
        raise_on_error=False,
    )
    return result.success


def downstream(spec: dict[str, Any]) -> None:
    os.environ.update(WHOOP_DEPLOYMENT="local", WHOOP_DUCKDB_PATH=spec["duckdb_path"])
    import dagster as dg

    from whoop_dagster.defs.dbt.definitions import build_dbt_definitions
    from whoop_dagster.defs.ml.definitions import build_ml_definitions
    from whoop_dagster.resources import WAREHOUSE_IO_MANAGER_KEY
    from whoop_dagster.warehouse.duckdb import DuckDBWarehouse
    from whoop_dagster.warehouse.duckdb_io_manager import DuckDBWarehouseIOManager
    from whoop_dagster.warehouse.duckdb_pandas_handler import WholeTableReplacingTypeHandler

    victim, marker = spec.get("victim"), spec.get("marker")

    class DiesInsideTheWrite(WholeTableReplacingTypeHandler):
        """The project's handler, but the process dies when it is about to write the ``victim`` table."""

        def handle_output(self, context: Any, table_slice: Any, obj: Any, connection: Any) -> Any:
            if table_slice.table == victim:
                qualified = f"{table_slice.schema}.{table_slice.table}"
                present = connection.execute(
                    "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                    [table_slice.schema, table_slice.table],
                ).fetchone()[0]
                left = connection.execute(f"select count(*) from {qualified}").fetchone()[0] if present else None
                Path(str(marker)).write_text(json.dumps({"rows_left": left, "rows_to_insert": len(obj)}))
                os.kill(os.getpid(), signal.SIGKILL)
            return super().handle_output(context, table_slice, obj, connection)

    class KillableIOManager(DuckDBWarehouseIOManager):
        @staticmethod
        def type_handlers() -> list[Any]:
            return [DiesInsideTheWrite()]

    warehouse = DuckDBWarehouse(path=spec["duckdb_path"])
    dbt = build_dbt_definitions("local")
    ml = build_ml_definitions(warehouse)
    result = dg.materialize(
        [*(dbt.assets or []), *(ml.assets or [])],
        resources={
            **(dbt.resources or {}),
            "warehouse": warehouse,
            WAREHOUSE_IO_MANAGER_KEY: KillableIOManager(database=spec["duckdb_path"]),
        },
        raise_on_error=False,
    )
    print(json.dumps({"success": result.success}), flush=True)
    raise SystemExit(0 if result.success else 1)


def hold_lock(spec: dict[str, Any]) -> None:
    import duckdb

    connection = duckdb.connect(spec["duckdb_path"], read_only=spec["read_only"])
    try:
        connection.execute("SELECT count(*) FROM raw.cycle").fetchone()
        print(READY, flush=True)
        sys.stdin.read()  # until the parent closes our stdin
    finally:
        connection.close()


COMMANDS = {
    "rotate": rotate,
    "materialize-until-killed": materialize_until_killed,
    "materialize": materialize,
    "downstream": downstream,
    "hold-lock": hold_lock,
}


def main() -> None:
    logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, format="%(name)s %(levelname)s %(message)s")
    command = COMMANDS[sys.argv[1]]
    command(json.loads(sys.stdin.readline()))


if __name__ == "__main__":
    main()
