"""What the benchmarks run in child processes: ``python benchmarks/workloads.py <workload> ...``.

Each workload is the project's own code (or dlt's) doing one thing against the API
and warehouse its environment names, and writes a JSON report to ``--out``: phase
start/end times (so the parent can slice the emulator's request log) and what the
run observed. The parent measures the process; nothing here times itself for the
results.

Workloads:
  backfill        the raw collections (and/or the two single objects) for a partition
                  range in one run, in-process, on an in-memory Dagster instance (or, with
                  --instance persistent, the one $DAGSTER_HOME/dagster.yaml configures)
  sensor-session  the four cursor sensors: first tick, idle tick, emulator clock
                  advanced, tick after new records, then the runs that tick requested
  dlt-load        the four collections into DuckDB with dlt's REST API source
  load-probe      import the code location and list the heavy modules it loaded
  run-steps       step timings of the newest run in $DAGSTER_HOME
  ml-script       the ML and analysis fits as a plain Python script (no Dagster run): read
                  the marts, backtest and fit both forecasts, score anomalies, test the
                  recovery drivers, write the tables with DuckDB
  dbt-step        the dbt step alone (every model and test) as the main job runs it, on the
                  persistent instance in $DAGSTER_HOME or an in-memory one
  dbt-prepare     the dbt manifest and partial-parse state as `make prepare` makes them
                  (dagster-dbt's project preparer), into --target-path
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

COLLECTIONS = ("cycle", "sleep", "recovery", "workout")
#: Dagster's console logger silenced, as ``make run`` runs (whoop_dagster/demo.py: ``demo_run_config``):
#: otherwise it formats every event of the run onto stderr.
QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def _cpu_s() -> float:
    """User + system CPU of this process and of the children it has waited for (e.g. dbt)."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _write(path: str, report: dict[str, Any]) -> None:
    Path(path).write_text(json.dumps(report, indent=2, default=str))


# --- backfill --------------------------------------------------------------------------------


def backfill(first: str, last: str, collections: bool, objects: bool, instance_kind: str = "memory") -> dict[str, Any]:
    import dagster as dg

    from whoop_dagster.definitions import defs

    report: dict[str, Any] = {"phases": {}, "success": True, "metadata": {}}
    tags = {RANGE_START_TAG: first, RANGE_END_TAG: last}
    instance = dg.DagsterInstance.get() if instance_kind == "persistent" else dg.DagsterInstance.ephemeral()
    with instance:
        plan = []
        if collections:
            plan.append(("collections", [f"raw/{name}" for name in COLLECTIONS], tags))
        if objects:
            plan.append(("objects", ["raw/user_profile", "raw/body_measurement"], {}))
        for phase, keys, run_tags in plan:
            assets = [defs.resolve_assets_def(dg.AssetKey.from_user_string(key)) for key in keys]
            started = _now()
            result = dg.materialize(
                assets, instance=instance, tags=run_tags, run_config=QUIET_CONSOLE, raise_on_error=False
            )
            report["phases"][phase] = {"start": started, "end": _now(), "success": result.success}
            report["run_events"] = report.get("run_events", 0) + len(instance.all_logs(result.run_id))
            report["success"] = report["success"] and result.success
            for event in result.get_asset_materialization_events():
                materialization = event.step_materialization_data.materialization
                meta = {k: v.value for k, v in materialization.metadata.items() if k.startswith("whoop/api")}
                report["metadata"][materialization.asset_key.to_user_string()] = meta
    return report


# --- sensors ---------------------------------------------------------------------------------


def sensor_session(emulator_base_url: str, advance_seconds: float) -> dict[str, Any]:
    """First tick, idle tick, clock advanced, tick after new records, then the runs it requested."""
    import dagster as dg
    import requests

    from whoop_dagster.definitions import defs

    whoop = defs.resources["whoop"]
    sensors = {name: defs.resolve_sensor_def(f"{name}_sensor") for name in COLLECTIONS}
    cursors: dict[str, str | None] = dict.fromkeys(COLLECTIONS)
    report: dict[str, Any] = {"phases": {}, "ticks": {}}

    def tick(phase: str) -> list[dg.RunRequest]:
        started = _now()
        outcome: dict[str, Any] = {}
        run_requests: list[dg.RunRequest] = []
        for name, sensor in sensors.items():
            sensor_started = _now()
            with dg.build_sensor_context(cursor=cursors[name], resources={"whoop": whoop}) as context:
                result = sensor(context)
            span = {"start": sensor_started, "end": _now()}
            if isinstance(result, dg.SensorResult):
                cursors[name] = result.cursor
                run_requests += list(result.run_requests or [])
                ranges = [f"{r.tags[RANGE_START_TAG]}...{r.tags[RANGE_END_TAG]}" for r in result.run_requests or []]
                outcome[name] = {"runs": ranges, "cursor": result.cursor, **span}
            else:
                skip = getattr(result, "skip_message", str(result))
                outcome[name] = {"skip": skip, "cursor": cursors[name], **span}
        report["phases"][phase] = {"start": started, "end": _now()}
        report["ticks"][phase] = outcome
        return run_requests

    tick("first_tick")
    tick("idle_tick")
    answer = requests.post(
        f"{emulator_base_url}/_emulator/advance", params={"seconds": str(advance_seconds)}, timeout=30
    )
    answer.raise_for_status()
    report["advanced_to"] = answer.json()["now"]
    report["tick_time"] = _now()
    run_requests = tick("tick_after_new_records")
    started = _now()
    runs = []
    with dg.DagsterInstance.ephemeral() as instance:
        for request in run_requests:
            assets = [defs.resolve_assets_def(key) for key in request.asset_selection or []]
            result = dg.materialize(assets, instance=instance, tags=dict(request.tags), raise_on_error=False)
            runs.append(
                {
                    "assets": [key.to_user_string() for key in request.asset_selection or []],
                    "first": request.tags[RANGE_START_TAG],
                    "last": request.tags[RANGE_END_TAG],
                    "success": result.success,
                }
            )
    report["phases"]["requested_runs"] = {"start": started, "end": _now()}
    report["runs"] = runs
    return report


# --- dlt -------------------------------------------------------------------------------------


def dlt_load(api_base_url: str, access_token: str, start: str, duckdb_path: str, pipelines_dir: str) -> dict[str, Any]:
    """The four collections with dlt's REST API source, configured as its documentation shows.

    WHOOP pages with ``next_token`` in the body and ``nextToken`` as the query parameter
    (``JSONResponseCursorPaginator``), 25 records a page, and filters collections with
    ``start``: dlt's incremental cursor is the record's ``start`` and its last value becomes
    the next run's ``start``. Recoveries carry no ``start`` (WHOOP filters them by their
    sleep's start), so their cursor is ``created_at``, the nearest field they have.
    ``merge`` on the record ids, so a record read again replaces its row instead of adding one.
    """
    import dlt
    from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator
    from dlt.sources.rest_api import rest_api_source

    def resource(name: str, path: str, primary_key: Any, cursor: str) -> dict[str, Any]:
        return {
            "name": name,
            "primary_key": primary_key,
            "write_disposition": "merge",
            "endpoint": {
                "path": path,
                "data_selector": "records",
                "params": {"limit": 25},
                "incremental": {"start_param": "start", "cursor_path": cursor, "initial_value": start},
            },
        }

    source = rest_api_source(
        {
            "client": {
                "base_url": api_base_url.rstrip("/") + "/",
                "auth": {"type": "bearer", "token": access_token},
                "paginator": JSONResponseCursorPaginator(cursor_path="next_token", cursor_param="nextToken"),
            },
            "resources": [
                resource("cycle", "v2/cycle", "id", "start"),
                resource("sleep", "v2/activity/sleep", "id", "start"),
                resource("recovery", "v2/recovery", ["cycle_id", "sleep_id"], "created_at"),
                resource("workout", "v2/activity/workout", "id", "start"),
            ],
        }
    )
    pipeline = dlt.pipeline(
        pipeline_name="whoop_dlt",
        destination=dlt.destinations.duckdb(duckdb_path),
        dataset_name="whoop",
        pipelines_dir=pipelines_dir,
    )
    started = _now()
    info = pipeline.run(source)
    rows = {
        table: count
        for table, count in (pipeline.last_trace.last_normalize_info.row_counts or {}).items()
        if not table.startswith("_dlt")
    }
    return {
        "phases": {"load": {"start": started, "end": _now()}},
        "success": not info.has_failed_jobs,
        "rows_loaded": rows,
    }


# --- definitions load probe ------------------------------------------------------------------

HEAVY_MODULES = (
    "dagster_dbt",
    "dbt",
    "dagster_snowflake",
    "dagster_snowflake_pandas",
    "snowflake.connector",
    "dagster_duckdb",
    "dagster_duckdb_pandas",
    "duckdb",
    "pandas",
    "sklearn",
    "matplotlib",
    "dlt",
)


def load_probe() -> dict[str, Any]:
    """Which heavy modules importing the code location loads, and what it defines."""
    from whoop_dagster.definitions import defs

    asset_keys = defs.resolve_all_asset_keys()
    return {
        "loaded": [name for name in HEAVY_MODULES if name in sys.modules],
        "assets": len(asset_keys),
        "dbt_assets": any("dbt" in (spec.kinds or set()) for spec in defs.resolve_all_asset_specs()),
        "groups": sorted({spec.group_name or "default" for spec in defs.resolve_all_asset_specs()}),
    }


# --- the dbt step alone --------------------------------------------------------------------


#: What dagster-dbt logs when it starts and when it has finished the dbt process (its INFO logs).
DBT_STARTED, DBT_FINISHED = "Running dbt command", "Finished dbt command"


def dbt_step(instance_kind: str, stream: str) -> dict[str, Any]:
    """Materialize the dbt multi-asset (every model, seed, snapshot and test) in-process, as ``make run`` does.

    Earlier versions of the step, for before/after comparisons: ``stream='live'`` streams while dbt
    runs (dagster-dbt's metadata threads polling a running dbt); ``stream='all-events'`` waits for
    dbt, then passes every event, test results included, through both metadata passes;
    ``stream='adapter-first'`` lets dagster-dbt build its metadata adapter before dbt starts, with
    dbt's file log in the JSON format of its output (the step before the project's resource changed both).
    """
    import dagster as dg

    from whoop_dagster.defs.dbt import execution
    from whoop_dagster.defs.dbt.assets import build_dbt_assets, build_dbt_resource

    if stream == "live":
        execution.holds_events_until_dbt_exits = lambda invocation: False
    elif stream == "all-events":
        execution.models_then_tests = lambda invocation, column_lineage: (
            invocation.stream().fetch_row_counts().fetch_column_metadata(with_column_lineage=column_lineage)
        )
    resource = build_dbt_resource()
    if stream == "adapter-first":
        execution.start_dbt = lambda context, dbt, args: dbt.cli(list(args), context=context)
        resource = resource.model_copy(update={"global_config_flags": []})  # dbt's file log in JSON again
    models = build_dbt_assets()
    instance = dg.DagsterInstance.get() if instance_kind == "persistent" else dg.DagsterInstance.ephemeral()
    with instance:
        started, cpu_before = _now(), _cpu_s()
        result = dg.materialize(
            [models],
            instance=instance,
            resources={"dbt": resource},
            run_config=QUIET_CONSOLE,
            raise_on_error=False,
        )
        ended, cpu_after = _now(), _cpu_s()
        [stats] = instance.get_run_step_stats(result.run_id)
        materializations = [e.materialization for e in result.get_asset_materialization_events()]
        evaluations = result.get_asset_check_evaluations()
        logs = instance.all_logs(result.run_id)
        dbt_started = next((e.timestamp for e in logs if (e.user_message or "").startswith(DBT_STARTED)), None)
        dbt_finished = next((e.timestamp for e in logs if (e.user_message or "").startswith(DBT_FINISHED)), None)
        return {
            "success": result.success,
            "phases": {"materialize": {"start": started, "end": ended}},
            "step_s": stats.end_time - stats.start_time,
            # The step before dbt starts (dagster-dbt's `dbt --version` and adapter), dbt's process,
            # and after it exits (metadata queries, events): from dagster-dbt's own log lines.
            "before_dbt_s": dbt_started - stats.start_time if dbt_started else None,
            "dbt_s": dbt_finished - dbt_started if dbt_started and dbt_finished else None,
            "after_dbt_s": stats.end_time - dbt_finished if dbt_finished else None,
            "run_cpu_s": cpu_after - cpu_before,
            "materializations": len(materializations),
            "with_row_count": sum("dagster/row_count" in m.metadata for m in materializations),
            "with_column_schema": sum("dagster/column_schema" in m.metadata for m in materializations),
            "checks": len(evaluations),
            "checks_passed": sum(e.passed for e in evaluations),
            "run_events": len(logs),
        }


def dbt_prepare(target_path: str) -> dict[str, Any]:
    """The manifest and partial-parse state ``make prepare`` makes, into ``target_path`` (for this environment)."""
    from dagster_dbt import DbtProject

    from whoop_dagster.defs.dbt.project import SOURCE_DBT_PROJECT_DIR

    project = DbtProject(project_dir=SOURCE_DBT_PROJECT_DIR, target_path=target_path, target="local")
    project.preparer.prepare(project)
    return {"success": project.manifest_path.exists(), "manifest": str(project.manifest_path)}


# --- the ML fits as a plain script ----------------------------------------------------------


def ml_script(duckdb_path: str) -> dict[str, Any]:
    """The un-orchestrated peer of the ML and analysis assets: the same functions, no Dagster run.

    Importing the project's ML modules imports the ``whoop_dagster.defs`` package (and with it
    Dagster): a script of its own would not, which this peer does not subtract.
    """
    import duckdb

    from whoop_dagster.defs.analysis.assets import drivers_table
    from whoop_dagster.defs.analysis.drivers import analyse_drivers, driver_frame
    from whoop_dagster.defs.ml.anomalies import robust_z_scores
    from whoop_dagster.defs.ml.assets import (
        RECOVERY_TARGET,
        ForecastConfig,
        anomaly_table,
        estimator_factory,
        forecast_table,
        model_spec,
    )
    from whoop_dagster.defs.ml.behaviour import behaviour_daily, read_behaviour_marts
    from whoop_dagster.defs.ml.features import (
        build_features,
        daily_frame,
        forecast_rows,
        labelled_rows,
        mart_query,
        read_marts,
        vitals_daily,
    )
    from whoop_dagster.defs.ml.model import design_matrix, fit_final, permutation_importances, run_backtest
    from whoop_dagster.defs.ml.sleep_features import build_sleep_features
    from whoop_dagster.defs.ml.sleep_forecast import (
        SLEEP_TARGET,
        SleepForecastConfig,
        sleep_estimator_factory,
        sleep_model_spec,
    )
    from whoop_dagster.warehouse.duckdb import DuckDBWarehouse

    started = _now()
    warehouse = DuckDBWarehouse(path=duckdb_path)

    def forecast(features: Any, spec: Any, make: Any, target: Any, config: Any) -> Any:
        labelled, upcoming = labelled_rows(features), forecast_rows(features)
        backtest = run_backtest(labelled, make, spec.features, config.min_train_days, config.test_block_days)
        final = fit_final(labelled, make, spec.features)
        predicted = final.predict(design_matrix(upcoming, spec.features)) if len(upcoming) else []
        permutation_importances(labelled, make, spec.features)
        return forecast_table(backtest, upcoming, predicted, target.version_of(spec))

    recovery_spec = model_spec(ForecastConfig())
    sleep_spec = sleep_model_spec(SleepForecastConfig())
    behaviour = behaviour_daily(read_behaviour_marts(warehouse))
    tables = {
        "ml.recovery_forecast": forecast(
            build_features(daily_frame(read_marts(warehouse))),
            recovery_spec,
            estimator_factory(recovery_spec),
            RECOVERY_TARGET,
            ForecastConfig(),
        ),
        "ml.sleep_performance_forecast": forecast(
            build_sleep_features(behaviour),
            sleep_spec,
            sleep_estimator_factory(sleep_spec),
            SLEEP_TARGET,
            SleepForecastConfig(),
        ),
        "ml.recovery_anomalies": anomaly_table(
            robust_z_scores(vitals_daily(warehouse.read_frame(mart_query("fact_daily_recovery"))))
        ),
        "analysis.recovery_drivers": drivers_table(analyse_drivers(driver_frame(behaviour))),
    }
    with duckdb.connect(duckdb_path) as connection:
        for name, frame in tables.items():
            connection.execute(f"create schema if not exists {name.split('.')[0]}")
            connection.register("frame", frame)
            connection.execute(f"create or replace table {name} as select * from frame")
            connection.unregister("frame")
    return {
        "phases": {"fit": {"start": started, "end": _now()}},
        "rows": {name: len(frame) for name, frame in tables.items()},
    }


# --- step timings of a finished run --------------------------------------------------------


def run_steps() -> dict[str, Any]:
    """Per-step start/end of the newest run in ``$DAGSTER_HOME`` (read from its event log)."""
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        records = instance.get_run_records(limit=1)
        if not records:
            return {"success": False, "steps": []}
        run = records[0].dagster_run
        steps = [
            {"step": stat.step_key, "start": stat.start_time, "end": stat.end_time, "status": str(stat.status)}
            for stat in instance.get_run_step_stats(run.run_id)
        ]
        return {"run_id": run.run_id, "status": str(run.status), "steps": steps}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="where to write the JSON report")
    commands = parser.add_subparsers(dest="workload", required=True)
    run = commands.add_parser("backfill")
    run.add_argument("--first", required=True)
    run.add_argument("--last", required=True)
    run.add_argument("--no-collections", action="store_true")
    run.add_argument("--objects", action="store_true")
    run.add_argument("--instance", choices=("memory", "persistent"), default="memory")
    sensors = commands.add_parser("sensor-session")
    sensors.add_argument("--emulator-base-url", required=True)
    sensors.add_argument("--advance-seconds", type=float, default=86_400)
    load = commands.add_parser("dlt-load")
    load.add_argument("--api-base-url", required=True)
    load.add_argument("--access-token-file", required=True)
    load.add_argument("--start", required=True)
    load.add_argument("--duckdb", required=True)
    load.add_argument("--pipelines-dir", required=True)
    commands.add_parser("load-probe")
    commands.add_parser("run-steps")
    ml = commands.add_parser("ml-script")
    ml.add_argument("--duckdb", required=True)
    dbt = commands.add_parser("dbt-step")
    dbt.add_argument("--instance", choices=("persistent", "memory"), default="persistent")
    dbt.add_argument("--stream", choices=("waited", "live", "all-events", "adapter-first"), default="waited")
    prepare = commands.add_parser("dbt-prepare")
    prepare.add_argument("--target-path", required=True)
    args = parser.parse_args(argv)

    if args.workload == "backfill":
        report = backfill(args.first, args.last, not args.no_collections, args.objects, args.instance)
    elif args.workload == "sensor-session":
        report = sensor_session(args.emulator_base_url, args.advance_seconds)
    elif args.workload == "dlt-load":
        token = Path(args.access_token_file).read_text().strip()
        report = dlt_load(args.api_base_url, token, args.start, args.duckdb, args.pipelines_dir)
    elif args.workload == "run-steps":
        report = run_steps()
    elif args.workload == "ml-script":
        report = ml_script(args.duckdb)
    elif args.workload == "dbt-step":
        report = dbt_step(args.instance, args.stream)
    elif args.workload == "dbt-prepare":
        report = dbt_prepare(args.target_path)
    else:
        report = load_probe()
    _write(args.out, report)
    return 0 if report.get("success", True) else 1


if __name__ == "__main__":
    sys.exit(main())
