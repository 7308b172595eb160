"""Check 5: the warehouse — it connects, its schemas exist, and this role can write to them."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from whoop_dagster import environment
from whoop_dagster.doctor.report import CheckResult, failed, passed

if TYPE_CHECKING:
    from whoop_dagster.warehouse.snowflake import SnowflakeWarehouse

CHECK = "warehouse"
#: The schemas the pipeline writes: raw loads, the dbt layers, the ML outputs.
EXPECTED_SCHEMAS = ("raw", "staging", "intermediate", "marts", "metrics", "ml")
PROBE_TABLE = "whoop_doctor_probe"
#: Seconds the Snowflake connector may spend logging in before the check calls the warehouse unreachable.
SNOWFLAKE_LOGIN_TIMEOUT_S = 20
#: How long the local check waits for a pipeline step to release the DuckDB file before calling it locked.
LOCK_WAIT_SECONDS = 30.0
RUN_FIRST = "run `make run` (or the pipeline) once: it creates the schemas"
GRANTS = "grant the role USAGE and CREATE TABLE on the database's schemas (deploy/snowflake_setup.sql)"


def snowflake_warehouse(deployment: environment.Deployment) -> SnowflakeWarehouse:
    """The pipeline's Snowflake warehouse resource, settings resolved, with a bounded login time."""
    from whoop_dagster.resources import build_warehouse

    warehouse = build_warehouse(deployment).process_config_and_initialize()
    extra = {"login_timeout": SNOWFLAKE_LOGIN_TIMEOUT_S, **(warehouse.additional_snowflake_connection_args or {})}
    return warehouse.model_copy(update={"additional_snowflake_connection_args": extra})


def check_warehouse(warehouse: SnowflakeWarehouse | None = None) -> CheckResult:
    """Connect as the pipeline does, list the schemas, and create (and drop) a probe table in each."""
    deployment = environment.current_deployment()
    if deployment.uses_snowflake:
        return _check_snowflake(warehouse)
    return _check_duckdb()


def missing_schemas(found: Iterable[str]) -> list[str]:
    present = {name.lower() for name in found}
    return [schema for schema in EXPECTED_SCHEMAS if schema not in present]


def _check_duckdb() -> CheckResult:
    import duckdb

    path = environment.duckdb_path()
    if not path.is_file():
        return failed(CHECK, "warehouse_missing", f"no DuckDB file at {path}", RUN_FIRST)
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    pause = 0.1
    while True:
        try:
            connection = duckdb.connect(str(path))  # read-write, as the pipeline opens it
            break
        except duckdb.Error as err:
            if "lock" not in str(err).lower():
                return failed(CHECK, "warehouse_unreachable", f"cannot open {path}: {err}", "check WHOOP_DUCKDB_PATH")
            if time.monotonic() + pause > deadline:
                return failed(
                    CHECK,
                    "warehouse_locked",
                    f"{path} is still locked by another process after {LOCK_WAIT_SECONDS:.0f} s: {err}",
                    "wait for the running pipeline step, or close the SQL client that holds the file",
                )
            time.sleep(pause)  # a pipeline step holds it: DuckDB has one writer at a time
            pause = min(pause * 2, 2.0)
    try:
        schemas = [
            row[0] for row in connection.execute("SELECT schema_name FROM information_schema.schemata").fetchall()
        ]
        missing = missing_schemas(schemas)
        if missing:
            return failed(CHECK, "schemas_missing", f"{path}: no schema {', '.join(missing)}", RUN_FIRST)
        # A write in a transaction that is rolled back: proves the file takes writes, leaves nothing behind.
        connection.execute("BEGIN")
        try:
            for schema in EXPECTED_SCHEMAS:
                connection.execute(f"CREATE TABLE {schema}.{PROBE_TABLE} (ok INTEGER)")
                connection.execute(f"INSERT INTO {schema}.{PROBE_TABLE} VALUES (1)")
        except duckdb.Error as err:
            return failed(CHECK, "warehouse_read_only", f"{path} does not take writes: {err}", f"make {path} writable")
        finally:
            connection.execute("ROLLBACK")
    finally:
        connection.close()
    return passed(CHECK, f"DuckDB {path}: schemas {', '.join(EXPECTED_SCHEMAS)} present; writes accepted")


def _check_snowflake(warehouse: SnowflakeWarehouse | None) -> CheckResult:
    try:
        warehouse = warehouse or snowflake_warehouse(environment.current_deployment())
        database = warehouse.database
    except Exception as err:
        return failed(CHECK, "warehouse_settings", f"{type(err).__name__}: {err}", "fix the SNOWFLAKE_* settings")
    role = warehouse.role or "the user's default role"
    try:
        manager = warehouse.connect()
        connection = manager.__enter__()
    except Exception as err:
        return failed(
            CHECK,
            "warehouse_unreachable",
            f"cannot connect to Snowflake database {database} ({type(err).__name__}: {_first_line(err)})",
            "check SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER and the password or key, and the network",
        )
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT schema_name FROM information_schema.schemata")
        missing = missing_schemas(row[0] for row in cursor.fetchall())
        if missing:
            return failed(CHECK, "schemas_missing", f"database {database}: no schema {', '.join(missing)}", RUN_FIRST)
        refused = []
        probe = f"{PROBE_TABLE}_{secrets.token_hex(4)}"
        for schema in EXPECTED_SCHEMAS:
            # A short-lived table of its own (created, written, dropped): it needs exactly the
            # privileges the pipeline's writes need (CREATE TABLE, INSERT) in each schema.
            try:
                cursor.execute(f"CREATE TABLE {schema}.{probe} (ok INTEGER)")
                try:
                    cursor.execute(f"INSERT INTO {schema}.{probe} VALUES (1)")
                finally:
                    cursor.execute(f"DROP TABLE IF EXISTS {schema}.{probe}")
            except Exception as err:
                refused.append(f"{schema} ({_first_line(err)})")
        if refused:
            return failed(
                CHECK,
                "warehouse_read_only",
                f"{role} cannot write to database {database}: {'; '.join(refused)}",
                GRANTS,
            )
    finally:
        manager.__exit__(None, None, None)
    return passed(
        CHECK,
        f"Snowflake database {database} as {role}: schemas {', '.join(EXPECTED_SCHEMAS)} present; writes accepted",
    )


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:300] if text else type(err).__name__
