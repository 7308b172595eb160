"""Running the dbt CLI and reading the warehouse in the dbt tests."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import threading
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from whoop_dagster.defs.dbt.project import SOURCE_DBT_PROJECT_DIR
from whoop_dagster_tests.support.environ import environment_variables

#: The tables every comparison reads: the models users and the ML layer consume.
COMPARED_MODELS: tuple[str, ...] = (
    "staging.stg_cycle",
    "staging.stg_sleep",
    "staging.stg_recovery",
    "staging.stg_workout",
    "marts.dim_sport",
    "marts.fact_daily_recovery",
    "marts.fact_daily_strain",
    "marts.fact_sleep",
    "marts.fact_workout",
    "marts.dim_sleep_stage",
    "marts.fact_sleep_stage",
    "marts.dim_activity_type",
    "metrics.recovery_momentum",
    "metrics.strain_recovery_efficiency",
    "metrics.training_readiness_gap",
    "metrics.recovery_volatility",
    "metrics.autonomic_balance",
    "metrics.seasonal_adaptation",
)

#: Columns that record *when* something was loaded, not what the data says.
LOAD_TIME_COLUMNS = frozenset({"_extracted_at", "_partition_date"})


class DbtFailedError(AssertionError):
    """A dbt command exited non-zero; the message holds the end of its output."""


#: dbt's parse of whoop_dbt, per target and the settings that shape it, for this process's later
#: commands. A parse costs about 3 s of CPU and dbt cannot reuse a saved one across DuckDB
#: files (its parse state hashes the profile's connection settings, the file's path among them),
#: so every test build parsed the whole project; the parsed manifest itself does not depend on
#: the path (the catalog is named after the file, always ``whoop.duckdb``).
_PARSED: dict[tuple[str, tuple[tuple[str, str], ...]], Any] = {}

#: Of a DuckDB run's settings, the one the parsed manifest does not depend on (see above).
_PATH_SETTING = "WHOOP_DUCKDB_PATH"

#: dbt's state (its flags, adapters, the settings in ``os.environ``) is the process's: one command
#: at a time. Callers that want builds in parallel use processes.
_ONE_AT_A_TIME = threading.Lock()


def run_dbt(
    args: Sequence[str], *, target: str, target_path: Path, env: Mapping[str, str], check: bool = True
) -> subprocess.CompletedProcess[str]:
    """``dbt <args>`` against whoop_dbt for ``target``, artefacts in ``target_path``.

    Real dbt in this process, through its Python API (``dbtRunner``: the same command line, the
    same dbt-core and adapter as the ``dbt`` executable), with ``env`` set for the command.
    ``dbt parse`` always parses; other commands reuse this process's parse of the project (the
    documented ``dbtRunner(manifest=...)``), which spares each test build dbt's start-up and a full
    parse (about 5 s of CPU of a 12 s build). The tests of what users run (the ``dbt`` and
    ``dagster-dbt`` executables, the project's dbt step) still start real processes.
    """
    settings = {"DBT_LOG_PATH": str(target_path), **env}
    options = [
        "--project-dir",
        str(SOURCE_DBT_PROJECT_DIR),
        "--profiles-dir",
        str(SOURCE_DBT_PROJECT_DIR),
        "--target",
        target,
        "--target-path",
        str(target_path),
    ]
    path = env.get(_PATH_SETTING)
    key = (target, tuple(sorted((k, v) for k, v in env.items() if k != _PATH_SETTING)))
    reusable = path is None or Path(path).name == "whoop.duckdb"
    with _ONE_AT_A_TIME:
        manifest = None
        if args[0] != "parse" and reusable:
            if key not in _PARSED:
                parse = _invoke(["parse", *options], settings)
                if parse.returncode != 0:
                    return _checked(parse, ["parse"], check)
                _PARSED[key] = parse.manifest
            manifest = _PARSED[key]
        run = _invoke([*args, *options], settings, manifest)
        if args[0] == "parse" and run.manifest is not None and reusable:
            _PARSED[key] = run.manifest
    return _checked(run, args, check)


class _DbtRun(subprocess.CompletedProcess[str]):
    """A dbt command's exit code and output, as from the CLI; ``manifest`` is what a ``dbt parse`` parsed."""

    manifest: Any = None


def _checked(run: _DbtRun, args: Sequence[str], check: bool) -> _DbtRun:
    if check and run.returncode != 0:
        raise DbtFailedError(f"`dbt {' '.join(args)}` failed ({run.returncode}):\n{run.stdout[-8000:]}")
    return run


def _invoke(command: list[str], settings: Mapping[str, str], manifest: Any = None) -> _DbtRun:
    """One dbt command in this process: its exit code (as the CLI's: 1 for failed nodes, 2 for an error) and output."""
    from dbt.cli.main import dbtRunner
    from dbt_common.events.event_manager_client import cleanup_event_logger

    output = io.StringIO()
    with environment_variables(settings), contextlib.redirect_stdout(output):
        try:
            result = dbtRunner(manifest=manifest).invoke(command)
        finally:
            _release_duckdb()
            # As dbt's own test fixtures do: its loggers (this output, the target's dbt.log) are
            # process-wide and would otherwise receive whatever dbt code in this process logs next.
            cleanup_event_logger()
    returncode = 0 if result.success else 2 if result.exception is not None else 1
    if result.exception is not None:
        output.write(f"\n{type(result.exception).__name__}: {result.exception}\n")
    run = _DbtRun(["dbt", *command], returncode, output.getvalue(), "")
    if command[0] == "parse" and result.success:
        run.manifest = result.result
    return run


def _release_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open after a command (its class-level environment).

    Left open, this process would hold the file's lock: no other process could then write it, nor
    open it while this one writes.
    """
    import sys

    connections = sys.modules.get("dbt.adapters.duckdb.connections")
    manager = getattr(connections, "DuckDBConnectionManager", None)
    if manager is not None and manager._ENV is not None:
        environment, manager._ENV = manager._ENV, None
        environment.close()


def run_results(target_path: Path) -> dict[str, str]:
    """unique_id → status of the last dbt command that wrote ``target_path``."""
    results = json.loads((target_path / "run_results.json").read_text())
    return {result["unique_id"]: result["status"] for result in results["results"]}


def _normalised_value(value: Any) -> Any:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (datetime, date, pd.Timestamp, np.datetime64)):
        return pd.Timestamp(value).isoformat()
    if isinstance(value, (int, float, Decimal, np.number)):
        return round(float(value), 6)
    return str(value)


def normalise(frame: pd.DataFrame, drop: frozenset[str] = frozenset()) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """A table in a warehouse-independent form: sorted lower-case column names and sorted rows of
    plain values (numbers as floats rounded to 6 places, dates and timestamps as ISO text)."""
    columns = sorted(c.lower() for c in frame.columns if c.lower() not in drop)
    by_lower = {c.lower(): c for c in frame.columns}
    rows = [
        tuple(_normalised_value(value) for value in row)
        for row in frame[[by_lower[c] for c in columns]].astype(object).itertuples(index=False, name=None)
    ]
    rows.sort(key=lambda row: tuple((value is None, value if value is not None else 0) for value in row))
    return tuple(columns), rows


def read_duckdb_tables(path: Path, tables: Sequence[str] = COMPARED_MODELS) -> dict[str, pd.DataFrame]:
    """The given tables of a DuckDB file (read-only)."""
    import duckdb

    with duckdb.connect(str(path), read_only=True) as connection:
        return {table: connection.sql(f"select * from {table}").df() for table in tables}


def read_snowflake_tables(connection: Any, tables: Sequence[str] = COMPARED_MODELS) -> dict[str, pd.DataFrame]:
    """The given tables through the Snowflake connector.

    fakesnow sends a NULL ``TIMESTAMP_NTZ`` back as 1970-01-01 (the value *stored* is NULL: SQL
    sees it as null), so timestamp columns are read together with an ``IS NULL`` flag and
    masked here; only the read-back is corrected, never the data.
    """
    frames = {}
    for table in tables:
        schema, name = table.split(".")
        cursor = connection.cursor()
        cursor.execute(
            "select column_name, data_type from information_schema.columns "
            f"where lower(table_schema) = '{schema}' and lower(table_name) = '{name}'"
        )
        timestamp_columns = [
            column.lower() for column, data_type in cursor.fetchall() if "TIMESTAMP" in data_type.upper()
        ]
        null_flags = "".join(f", {column} is null as {column}__is_null" for column in timestamp_columns)
        frame = cursor.execute(f"select *{null_flags} from {table}").fetch_pandas_all().rename(columns=str.lower)
        for column in timestamp_columns:
            frame[column] = frame[column].astype(object).where(~frame.pop(f"{column}__is_null").astype(bool), None)
        frames[table] = frame
    return frames
