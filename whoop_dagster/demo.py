"""The main job as ``make run`` runs it: the whole graph for the last N days, in DAGSTER_HOME.

Runs through the code location's own job (reconstructable, so the UI can
re-execute it) against the persistent instance, then prints what it did:
rows per asset, asset checks passed and failed, WHOOP API requests used.
"""

from __future__ import annotations

import os
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

import dagster as dg

from whoop_dagster import environment
from whoop_dagster.clock import Clock, utc_now, utc_today
from whoop_dagster.defs.raw.partitions import DayRange
from whoop_dagster.defs.raw.sensors import RANGE_END_TAG, RANGE_START_TAG
from whoop_dagster.jobs import pipeline_job_from_definitions
from whoop_dagster.pool_slots import release_abandoned_slots


def ensure_dagster_home() -> None:
    """Create DAGSTER_HOME with the project's instance settings (pools) if it has none."""
    home = environment.dagster_home()
    os.environ["DAGSTER_HOME"] = str(home)
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

    def render(self) -> str:
        lines = ["", "Rows per asset:"]
        lines += [f"  {key:<45} {rows:>8}" for key, rows in sorted(self.rows.items())]
        lines.append(f"Asset checks: {self.checks_passed} passed, {len(self.checks_failed)} failed")
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
            else:
                summary.checks_failed.append(name)
    summary.api_requests = sum(requests.values())
    return summary


def load_range(days: int, clock: Clock = utc_now) -> DayRange:
    """The partitions the main job loads: the last ``days`` UTC days, today included, not before the start date."""
    today = utc_today(clock)
    return DayRange(max(environment.start_date(today), today - timedelta(days=days - 1)), today)


def run_demo(days: int = 90, multiprocess: bool = False, clock: Clock = utc_now) -> int:
    """Run the pipeline job for the last ``days`` days (today included); 0 on success."""
    ensure_dagster_home()
    loaded = load_range(days, clock)
    first, today = loaded.first, loaded.last
    mode = "demo mode (built-in WHOOP emulator)" if environment.is_demo_mode() else "the WHOOP API"
    print(
        f"Loading {first} … {today} from {mode} into {environment.current_deployment().value} warehouse; "
        f"DAGSTER_HOME={environment.dagster_home()}"
    )
    run_config = {} if multiprocess else {"execution": {"config": {"in_process": {}}}}
    with dg.DagsterInstance.get() as instance:
        for run_id in release_abandoned_slots(instance):
            print(f"Freed the pool slots of run {run_id}, whose process is gone (it was interrupted).")
        result = dg.execute_job(
            dg.reconstructable(pipeline_job_from_definitions),
            instance=instance,
            run_config=run_config,
            tags={RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: today.isoformat(), "whoop/trigger": "make run"},
            raise_on_error=False,
        )
        summary = summarize(result.all_events)
        print(summary.render())
        print(
            f"Run {result.run_id}: {'SUCCESS' if result.success else 'FAILURE'}. "
            "Open it with `make dev` (http://127.0.0.1:3000)."
        )
    return 0 if result.success and not summary.checks_failed else 1
