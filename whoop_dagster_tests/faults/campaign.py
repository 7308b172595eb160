"""The seeded fault campaign: each seed's fault sequence (``campaign_plan``) during real runs, then convergence.

``run_seed`` plays a seed in a ``SeedLab`` (a ``FaultLab`` on a copy of a clean warehouse):
every episode is a real run of the raw assets against the emulator over HTTP (in this
process, or in a child process that is SIGKILLed or runs next to a sensor's run), judged on
its own (a table is either untouched or equal to the truth for the days it loaded; a run
that fails names endpoint and partitions; transient faults are recovered, persistent ones
fail). Then the faults go, a plain re-run of the affected days follows, and the seed must
converge: every raw table equals the emulator's truth (0 missing, duplicated or stale), the
marts agree with raw where dbt ran, the refresh token still works and no issued secret
appears anywhere the seed logged. The lab and the judging of an episode live in
``campaign_lab``, the episodes in ``campaign_episodes`` and ``campaign_downstream``.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg

from whoop_dagster.defs.raw.partitions import DayRange
from whoop_dagster.whoop_api.endpoints import COLLECTION_ENDPOINTS
from whoop_dagster_tests.faults.campaign_downstream import build_downstream, downstream_episode, marts_problems
from whoop_dagster_tests.faults.campaign_episodes import (
    in_process_episode,
    killed_child_episode,
    sensor_with_backfill_episode,
)
from whoop_dagster_tests.faults.campaign_lab import ALL_RAW, LogCapture, SeedLab, sensor_tick
from whoop_dagster_tests.faults.campaign_plan import (
    DOWNSTREAM_FAULTS,
    Episode,
    plan_for_seed,
    render_plan,
)
from whoop_dagster_tests.faults.harness import (
    HISTORY_DAYS,
)
from whoop_dagster_tests.support.whoop import emulator

#: Seeds that run dbt and ML need a longer history (the forecasts backtest on more than 45 days and
#: must beat their baselines): the emulator's history that the shared pipeline warehouse uses.
DOWNSTREAM_HISTORY_DAYS = 150
DOWNSTREAM_EMULATOR_SEED = 7


@dataclass
class SeedReport:
    """What a seed did: its plan, the faults that fired, each episode's outcome, and the verdict."""

    seed: int
    plan: list[Episode]
    fired: Counter[str] = field(default_factory=Counter)
    outcomes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    converged: bool = False
    seconds: float = 0.0
    child_processes: int = 0
    #: Wall-clock time (epoch seconds) the seed ended: only for the campaign's total wall time.
    finished_at: float = 0.0

    def failure_text(self) -> str:
        """The seed, its fault sequence (to replay it) and every problem found."""
        lines = [render_plan(self.seed, self.plan), "outcomes: " + "; ".join(self.outcomes), "problems:"]
        return "\n".join(lines + [f"- {problem}" for problem in self.problems])

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "episodes": [episode.describe() for episode in self.plan],
            "planned": dict(Counter(kind for episode in self.plan for kind in episode.kinds)),
            "fired": dict(self.fired),
            "outcomes": self.outcomes,
            "problems": self.problems,
            "converged": self.converged,
            "seconds": round(self.seconds, 2),
            "child_processes": self.child_processes,
            "finished_at": self.finished_at,
        }


class CampaignWorld:
    """What one worker's seeds share: a clean warehouse of the lab's days and the sensors' cursors after it.

    Each seed copies the warehouse and starts its own emulator (the same history: the same
    emulator seed at the same frozen instant), so seeds never see each other's faults.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._templates: dict[int, Path] = {}
        self._marts_template: Path | None = None
        self.cursors: dict[str, str] = {}

    def template(self, history_days: int = HISTORY_DAYS) -> Path:
        """The clean warehouse (built on first use): every raw asset over the lab's days of that history."""
        if history_days not in self._templates:
            directory = self.root / f"template-{history_days}"
            directory.mkdir(parents=True, exist_ok=True)
            capture = LogCapture()
            with emulator(days=history_days, seed=_emulator_seed(history_days)) as emu:
                lab = SeedLab(emu, directory, capture, None, history_days)
                run = lab.materialize()
                assert run.success, run.failures
                tally = lab.tally()
                assert tally.clean, tally.per_table
                whoop = lab.whoop()
                for endpoint in COLLECTION_ENDPOINTS:
                    result = sensor_tick(lab, endpoint.name, None, whoop)
                    assert isinstance(result, dg.SensorResult), result
                    assert result.cursor, result
                    self.cursors.setdefault(endpoint.name, result.cursor)
            self._templates[history_days] = lab.duckdb_path
        return self._templates[history_days]

    def marts_template(self) -> Path:
        """The clean warehouse with every dbt model and ML table built on it (on first use)."""
        if self._marts_template is None:
            path = self.root / "marts" / "whoop.duckdb"
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(self.template(DOWNSTREAM_HISTORY_DAYS), path)
            result = build_downstream(path)
            assert result.success, [str(e.step_failure_data.error) for e in result.all_events if e.is_step_failure]
            self._marts_template = path
        return self._marts_template


# -- the seed --------------------------------------------------------------------------------


def _emulator_seed(history_days: int) -> int:
    return DOWNSTREAM_EMULATOR_SEED if history_days == DOWNSTREAM_HISTORY_DAYS else 11


def run_seed(seed: int, world: CampaignWorld, directory: Path) -> SeedReport:
    """Play the seed's plan, make the plain re-run, and judge convergence (never raises for a finding)."""
    plan = plan_for_seed(seed)
    report = SeedReport(seed, plan)
    started = time.monotonic()
    downstream = any(episode.mode in DOWNSTREAM_FAULTS for episode in plan)
    template = world.marts_template() if downstream else world.template()
    history = DOWNSTREAM_HISTORY_DAYS if downstream else HISTORY_DAYS
    capture = LogCapture()
    directory.mkdir(parents=True, exist_ok=True)
    with capture.attached(), emulator(days=history, seed=_emulator_seed(history)) as emu:
        lab = SeedLab(emu, directory, capture, template, history)
        cursors = dict(world.cursors)
        affected: set[date] = set()
        for number, episode in enumerate(plan, 1):
            if episode.mode == "in_process":
                result = in_process_episode(lab, episode, report.fired)
            elif episode.mode in ("kill_in_extraction", "kill_between_delete_and_insert"):
                result = killed_child_episode(lab, episode, report.fired)
            elif episode.mode == "sensor_tick_with_backfill":
                result = sensor_with_backfill_episode(lab, episode, report.fired, cursors)
            else:
                result = downstream_episode(lab, episode, report.fired)
            report.outcomes.append(f"{number}. {result.outcome}")
            report.problems += [f"episode {number}: {problem}" for problem in result.problems]
            affected |= result.affected
        report.problems += converge(lab, affected)
        report.child_processes = lab.report_children
    report.converged = not any(p.startswith("convergence:") for p in report.problems)
    report.seconds = time.monotonic() - started
    report.finished_at = time.time()
    return report


def converge(lab: SeedLab, affected: set[date]) -> list[str]:
    """The plain re-run of the affected days, then the warehouse against the truth, the token, the secrets."""
    lab.emu.faults.clear()
    problems = []
    if affected:
        days = DayRange(min(affected), max(affected))
        rerun = lab.run_raw(days, ALL_RAW)
        if not rerun.success:
            problems.append(f"convergence: the plain re-run of {days} failed: {rerun.failures}")
    if lab.downstream:  # a run was killed inside dbt or an ML write: dbt and ML run again too
        built = build_downstream(lab.duckdb_path, lab.instance)
        if not built.success:
            failed = [event.step_key for event in built.all_events if event.is_step_failure]
            problems.append(f"convergence: the re-run of dbt and ML failed in {failed}")
        problems += [f"convergence: {problem}" for problem in marts_problems(lab.duckdb_path)]
    tally = lab.tally()
    if not tally.clean:
        problems.append(
            f"convergence: the warehouse differs from the truth (missing, duplicated, stale): {tally.per_table}"
        )
    if not lab.refresh_token_works():
        problems.append("convergence: the stored refresh token no longer works: the login is lost")
    problems += [f"convergence: secret leaked: {leak}" for leak in lab.leaks()]
    return problems
