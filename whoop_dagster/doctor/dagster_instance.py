"""Check 7: the Dagster instance — its pools (one DuckDB writer at a time), its event log and its sensors' status."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg

from whoop_dagster import environment
from whoop_dagster.defs.pools import WAREHOUSE_POOL
from whoop_dagster.doctor.report import CheckResult, failed, passed
from whoop_dagster.instance_storage import KeptConnectionSqliteEventLogStorage, open_instance

CHECK = "Dagster instance"
#: Where Dagster's own SQLite event logs live (the default one and the consolidated one).
DAGSTER_SQLITE_EVENT_LOGS = "dagster._core.storage.event_log.sqlite."
MAKE_HOME = "run `make home` (copies config/dagster.yaml into DAGSTER_HOME)"


def pool_limit(instance: dg.DagsterInstance, pool: str) -> int | None:
    """The slot limit of ``pool``: set for the pool itself, else the instance's default; None = unlimited."""
    for limit in instance.event_log_storage.get_pool_limits():
        if limit.name == pool:
            return int(limit.limit)
    return instance.get_concurrency_config().pool_config.default_pool_limit


def event_log_note(instance: dg.DagsterInstance, home: Path) -> str:
    """The instance's event log storage, and what to change when it is Dagster's per-event SQLite one.

    ``make home`` and ``whoop-dagster demo`` copy ``config/dagster.yaml`` only into a DAGSTER_HOME
    without one (a user's own settings are never overwritten), so a home made before the project
    named its event log storage keeps Dagster's default: it works, but stores each event through a
    connection opened for it. Postgres or another chosen storage is reported as it is.
    """
    storage = instance.event_log_storage
    if isinstance(storage, KeptConnectionSqliteEventLogStorage):
        return "event log: SQLite, connections kept open"
    name = type(storage).__name__
    if type(storage).__module__.startswith(DAGSTER_SQLITE_EVENT_LOGS):
        return (
            f"event log: Dagster's {name}, which opens a connection per event: copy the `event_log_storage` "
            f"block of config/dagster.yaml into {home}/dagster.yaml to store per-partition events several "
            "times faster (benchmarks/RESULTS.md §11)"
        )
    return f"event log: {name}"


def sensor_statuses(instance: dg.DagsterInstance, defs: dg.Definitions) -> dict[str, str]:
    """Each sensor of the definitions: ``running`` or ``stopped``, as set in the instance or by default."""
    stored: dict[str, Any] = {}
    for state in instance.all_instigator_state():
        stored[state.instigator_name] = state.status
    statuses = {}
    for sensor in defs.sensors or []:
        state = stored.get(sensor.name)
        value = getattr(state, "value", None)
        if value in ("RUNNING", "STOPPED"):
            statuses[sensor.name] = value.lower()
        else:  # never toggled (or declared in code): the default decides
            statuses[sensor.name] = "running" if sensor.default_status == dg.DefaultSensorStatus.RUNNING else "stopped"
    return statuses


def check_instance(defs: dg.Definitions | None = None) -> CheckResult:
    """DAGSTER_HOME holds an instance; the warehouse pool allows one writer locally; the sensors' status."""
    deployment = environment.current_deployment()
    home = environment.dagster_home()
    if not (home / "dagster.yaml").is_file():
        if deployment.uses_snowflake:
            return passed(
                CHECK, f"{deployment.value}: no local instance at {home}; Dagster+ holds the pools and sensors"
            )
        return failed(CHECK, "instance_missing", f"no dagster.yaml in DAGSTER_HOME {home}", MAKE_HOME)
    if defs is None:
        from whoop_dagster.definitions import defs
    try:
        instance = open_instance(home)
    except Exception as err:
        return failed(CHECK, "instance_unreadable", f"{home}: {type(err).__name__}: {err}", MAKE_HOME)
    with instance:
        limit = pool_limit(instance, WAREHOUSE_POOL)
        sensors = sensor_statuses(instance, defs)
        heartbeats = instance.get_daemon_heartbeats()
        event_log = event_log_note(instance, home)
    if limit is None and not deployment.uses_snowflake:
        return failed(
            CHECK,
            "pool_unlimited",
            f"{home}: pool {WAREHOUSE_POOL} has no limit, so parallel steps would fight for the DuckDB file",
            MAKE_HOME,
        )
    running = sorted(name for name, status in sensors.items() if status == "running")
    stopped = sorted(name for name, status in sensors.items() if status == "stopped")
    daemon = "a daemon is running" if heartbeats else "no daemon running (sensors tick under `make dev`)"
    return passed(
        CHECK,
        f"{home}: pool {WAREHOUSE_POOL} limit {limit}; sensors running: {', '.join(running) or 'none'}; "
        f"stopped: {', '.join(stopped) or 'none'}; {daemon}; {event_log}",
    )
