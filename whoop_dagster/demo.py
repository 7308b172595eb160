"""``make run``: the whole graph for the last N days as one run of the pipeline job, in DAGSTER_HOME."""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TextIO

import dagster as dg

from whoop_dagster import environment
from whoop_dagster.clock import Clock, utc_now
from whoop_dagster.defs.raw.partitions import DayRange
from whoop_dagster.defs.raw.sensors import RANGE_END_TAG, RANGE_START_TAG
from whoop_dagster.jobs import PIPELINE_JOB_NAME
from whoop_dagster.pool_slots import release_abandoned_slots
from whoop_dagster.run_progress import RunProgress, output_to, run_log_path

#: Tags the run with this invocation, so that the progress thread finds it in the instance.
INVOCATION_TAG = "whoop/invocation"

#: Dagster's setting for one "materialization planned" event per asset for a partition range,
#: instead of one per partition (benchmarks/RESULTS.md, instance storage).
PLANNED_EVENTS_SETTING = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"
#: Dagster's setting that hands the event log a step's per-partition events in batches of this size.
EVENT_BATCH_SETTING, EVENT_BATCH_SIZE = "DAGSTER_EVENT_BATCH_SIZE", "1000"


def pipeline_job_from_definitions() -> dg.JobDefinition:
    """The pipeline job resolved from the code location (the reconstructable entry point of the run)."""
    # Here, not at the top: loading the definitions reads the environment that `run_demo` sets up.
    from whoop_dagster.definitions import defs

    return defs.resolve_job_def(PIPELINE_JOB_NAME)


def ensure_dagster_home() -> None:
    """Create DAGSTER_HOME with the project's instance settings (pools) if it has none."""
    home = environment.dagster_home()
    os.environ["DAGSTER_HOME"] = str(home)
    install_instance_settings(home)


def install_instance_settings(home: Path) -> None:
    """Create ``home`` with the project's ``config/dagster.yaml`` (pools, event log) unless it has one."""
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copy(environment.PROJECT_ROOT / "config" / "dagster.yaml", home / "dagster.yaml")


@dataclass
class RunSummary:
    """What a pipeline run materialized and checked."""

    rows: dict[str, int] = field(default_factory=dict)
    api_requests: int = 0
    checks_passed: int = 0
    checks_failed: list[str] = field(default_factory=list)
    #: Failed warn-severity checks: reported, never failing the run (they block nothing either).
    checks_warned: list[str] = field(default_factory=list)

    def render(self) -> str:
        lines = ["", "Rows per asset:"]
        lines += [f"  {key:<45} {rows:>8}" for key, rows in sorted(self.rows.items())]
        lines.append(
            f"Asset checks: {self.checks_passed} passed, {len(self.checks_warned)} warned, "
            f"{len(self.checks_failed)} failed"
        )
        lines += [f"  WARN   {name}" for name in self.checks_warned]
        lines += [f"  FAILED {name}" for name in self.checks_failed]
        lines.append(f"WHOOP API requests: {self.api_requests}")
        return "\n".join(lines)


def summarize(events: list[dg.DagsterEvent]) -> RunSummary:
    """Rows, checks and API requests from a run's events."""
    summary = RunSummary()
    requests: dict[str, int] = defaultdict(int)
    for event in events:
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            materialization = event.step_materialization_data.materialization
            key = materialization.asset_key.to_user_string()
            metadata = materialization.metadata
            if "dagster/row_count" in metadata:
                summary.rows[key] = int(metadata["dagster/row_count"].value)
            if "whoop/api_requests" in metadata:
                requests[key] = int(metadata["whoop/api_requests"].value)
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
            if evaluation.passed:
                summary.checks_passed += 1
            elif evaluation.severity == dg.AssetCheckSeverity.WARN:
                summary.checks_warned.append(name)
            else:
                summary.checks_failed.append(name)
    summary.api_requests = sum(requests.values())
    return summary


def load_range(days: int, now: datetime) -> DayRange:
    """What the main job loads at ``now``: the last ``days`` UTC days, today included, not before the start date."""
    today = now.astimezone(timezone.utc).date()
    return DayRange(max(environment.start_date(today), today - timedelta(days=days - 1)), today)


def run_demo(days: int = environment.DEMO_DAYS, multiprocess: bool = False, clock: Clock = utc_now) -> int:
    """Run the pipeline job for the last ``days`` days (today included); 0 on success.

    The terminal gets one line per finished step, warnings, errors in full and the summary;
    everything else the run writes (every event, dbt's output, library logs) goes to a log
    file under ``DAGSTER_HOME/logs``, whose path it prints first and last.
    """
    ensure_dagster_home()
    # The main job is one run over the whole range: per-partition planned events are half of what
    # the SQLite instance stores for it. Dagster's stated trade-off: if the run fails, its
    # partitions show as not materialized rather than failed; the run itself shows the failure.
    # Runs launched from the UI or by sensors keep per-partition events (set it there too to change that).
    os.environ.setdefault(PLANNED_EVENTS_SETTING, "true")
    # A raw step's 730 materializations then cost one write per file instead of one each (the
    # project's event log stores a batch at once: whoop_dagster/instance_storage.py), 1.6 s -> 0.7 s.
    os.environ.setdefault(EVENT_BATCH_SETTING, EVENT_BATCH_SIZE)
    now = clock()
    loaded = load_range(days, now)
    first, today = loaded.first, loaded.last
    mode = "demo mode (built-in WHOOP emulator)" if environment.is_demo_mode() else "the WHOOP API"
    log_path = run_log_path(environment.dagster_home(), now)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    print(
        f"Loading {first} … {today} from {mode} into the {environment.current_deployment().value} warehouse; "
        f"DAGSTER_HOME={environment.dagster_home()}\nFull log: {log_path}",
        flush=True,
    )
    invocation = uuid.uuid4().hex
    with output_to(log_path) as terminal, log_path.open("a", buffering=1) as log_file:
        with dg.DagsterInstance.get() as instance:
            for run_id in release_abandoned_slots(instance):
                print(
                    f"Freed the pool slots of run {run_id}, whose process is gone (it was interrupted).", file=terminal
                )
            progress = RunProgress(instance, (INVOCATION_TAG, invocation), log_file, terminal)
            with _our_warnings_to(terminal), progress.following():
                result = dg.execute_job(
                    dg.reconstructable(pipeline_job_from_definitions),
                    instance=instance,
                    run_config=demo_run_config(multiprocess),
                    tags={
                        RANGE_START_TAG: first.isoformat(),
                        RANGE_END_TAG: today.isoformat(),
                        "whoop/trigger": "make run",
                        INVOCATION_TAG: invocation,
                    },
                    raise_on_error=False,
                )
        summary = summarize(result.all_events)
        print(summary.render(), file=terminal)
        print(
            f"Run {result.run_id}: {'SUCCESS' if result.success else 'FAILURE'}. Full log: {log_path}\n"
            "Open the run with `make dev` (http://127.0.0.1:3000).",
            file=terminal,
        )
    return 0 if result.success and not summary.checks_failed else 1


@contextmanager
def _our_warnings_to(terminal: TextIO) -> Iterator[None]:
    """The project's own warnings (e.g. waiting for the DuckDB file) on the terminal too, while the run goes."""
    handler = logging.StreamHandler(terminal)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("  %(levelname)s %(message)s"))
    project_logger = logging.getLogger("whoop_dagster")
    project_logger.addHandler(handler)
    try:
        yield
    finally:
        project_logger.removeHandler(handler)


def demo_run_config(multiprocess: bool) -> dict[str, Any]:
    """In-process unless asked otherwise; Dagster's console logger silenced (the progress lines replace it)."""
    config: dict[str, Any] = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    if not multiprocess:
        config["execution"] = {"config": {"in_process": {}}}
    return config
