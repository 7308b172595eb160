"""Benchmark 10: the dbt step in Dagster against a plain ``dbt build`` of the same project, data and target.

One warehouse of raw data (the four collections and the two objects for the whole history of
a 730-day emulator, loaded once by the project's backfill) is copied afresh, to the same path,
for every measured process, so each one builds the same models, incremental ones included,
from the same raw rows:

- ``dbt build``: the dbt CLI alone, as a user runs it in ``whoop_dbt`` (``--target local``);
- Dagster: ``python benchmarks/workloads.py dbt-step``, the dbt multi-asset materialized
  in-process as ``make run`` runs it (``dbt build`` through dagster-dbt, row counts, column
  types, every test as an asset check), on the persistent SQLite instance of the project's
  ``config/dagster.yaml`` and, to separate what storing the events costs, on an in-memory one;
- Dagster as the step was before it started dbt ahead of dagster-dbt's metadata adapter
  (``--stream adapter-first``: ``DbtCliResource.cli`` builds the adapter, then starts dbt, and
  dbt's file log is JSON) and, on request (``--variants``), before its metadata passes got the
  models alone (``--stream all-events``) and before it waited for dbt (``--stream live``).

dbt parses the project only partly when its saved state matches (the profile included, which names
the warehouse file): the plain build gets the state ``dbt parse`` leaves (as a user's previous build
does), the Dagster processes the state ``make prepare`` leaves (dagster-dbt's preparer, which marks
the seed files changed so that dbt parses them again). Both are made once, for this warehouse path.
Every process gets ``DBT_SEND_ANONYMOUS_USAGE_STATS=false`` as dagster-dbt sets it. The variants
run in interleaved rounds (the order reversed every other round); medians are reported with CPU
time (user + system of the process and the children it waited for, i.e. dbt) and the 1-minute load
average of each round. The step's own duration, and its parts before, during and after the dbt
process, come from the run's event log.

    python benchmarks/bench_dbt_step.py [--days 730] [--repeat 3]
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchlib import (
    REPO,
    WORKLOADS,
    Measured,
    Section,
    api_env,
    benchmark_parser,
    emulator,
    full_history,
    log,
    median,
    publish,
    python_command,
    run_measured,
    table,
    tool,
    workspace,
)

PLAIN = "plain"
DAGSTER = "dagster"
DAGSTER_MEMORY = "dagster-memory"
DAGSTER_ALL_EVENTS = "dagster-all-events"
DAGSTER_LIVE = "dagster-live"
DAGSTER_ADAPTER_FIRST = "dagster-adapter-first"

VARIANTS: dict[str, str] = {
    PLAIN: "`dbt build --target local` (the dbt CLI alone)",
    DAGSTER: "Dagster dbt step, persistent SQLite instance (as `make run`)",
    DAGSTER_MEMORY: "Dagster dbt step, in-memory instance",
    DAGSTER_ALL_EVENTS: "Dagster dbt step as before (every test result through both metadata passes), persistent",
    DAGSTER_ADAPTER_FIRST: "Dagster dbt step as before (adapter built before dbt starts, JSON file log), persistent",
    DAGSTER_LIVE: "Dagster dbt step as before it waited for dbt (metadata threads poll the running dbt), persistent",
}
#: Measured unless ``--variants`` says otherwise (the all-events and live variants are older states).
DEFAULT_VARIANTS = (PLAIN, DAGSTER, DAGSTER_MEMORY, DAGSTER_ADAPTER_FIRST)
STREAM_OF = {DAGSTER_LIVE: "live", DAGSTER_ALL_EVENTS: "all-events", DAGSTER_ADAPTER_FIRST: "adapter-first"}
GOAL = 1.3
PARTIAL_PARSE = "partial_parse.msgpack"


@dataclass
class Attempt:
    variant: str
    round: int
    measured: Measured
    load: float
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def run_cpu_s(self) -> float:
        """CPU of the Dagster run (its process and dbt) or of the whole ``dbt build`` process (plain)."""
        return float(self.report["run_cpu_s"]) if self.report else self.measured.cpu_s

    @property
    def step_s(self) -> float:
        """The dbt step's duration (Dagster) or the whole ``dbt build`` process (plain)."""
        return float(self.report["step_s"]) if self.report else self.measured.wall_s


def _load_raw(emu: Any, seed: Any) -> None:
    first, last = full_history(emu)
    out = seed.root / "backfill.json"
    command = python_command(
        WORKLOADS, "--out", str(out), "backfill", "--first", str(first), "--last", str(last), "--objects"
    )
    run_measured(command, api_env(emu, seed)).check()


@dataclass
class ParseStates:
    """dbt's saved parse state for the measured warehouse path: after ``make prepare`` and after ``dbt parse``."""

    prepared: Path
    parsed: Path


def _parse_states(seed: Any, warehouse: Path) -> ParseStates:
    env = seed.env(WHOOP_DEPLOYMENT="local", DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    env["WHOOP_DUCKDB_PATH"] = str(warehouse)
    prepared, parsed = seed.root / "prepared", seed.root / "parsed"
    command = python_command(WORKLOADS, "--out", str(seed.root / "prepare.json"), "dbt-prepare", "--target-path")
    run_measured([*command, str(prepared)], env).check()
    parse = [tool("dbt"), "parse", "--quiet", "--target", "local"]
    run_measured(parse, {**env, "DBT_TARGET_PATH": str(parsed)}, cwd=REPO / "whoop_dbt").check()
    return ParseStates(prepared / PARTIAL_PARSE, parsed / PARTIAL_PARSE)


def _run(variant: str, round_: int, raw_duckdb: Path, warehouse: Path, states: ParseStates) -> Attempt:
    with workspace(f"dbt-{variant}") as ws:
        shutil.copy(raw_duckdb, warehouse)
        target = ws.root / "dbt_target"
        target.mkdir()
        shutil.copy(states.parsed if variant == PLAIN else states.prepared, target / PARTIAL_PARSE)
        env = ws.env(WHOOP_DEPLOYMENT="local", DBT_TARGET_PATH=str(target), DBT_SEND_ANONYMOUS_USAGE_STATS="false")
        env["WHOOP_DUCKDB_PATH"] = str(warehouse)  # the path dbt's saved parse state was made for
        load = os.getloadavg()[0]
        log(f"dbt step: {variant} (round {round_ + 1}, load {load:.2f})")
        if variant == PLAIN:
            measured = run_measured([tool("dbt"), "build", "--target", "local"], env, cwd=REPO / "whoop_dbt").check()
            return Attempt(variant, round_, measured, load)
        out = ws.root / "dbt_step.json"
        instance = "memory" if variant == DAGSTER_MEMORY else "persistent"
        stream = STREAM_OF.get(variant, "waited")
        command = python_command(WORKLOADS, "--out", str(out), "dbt-step", "--instance", instance, "--stream", stream)
        measured = run_measured(command, env).check()
        return Attempt(variant, round_, measured, load, json.loads(out.read_text()))


def measure(days: int = 730, repeat: int = 3, variants: tuple[str, ...] = DEFAULT_VARIANTS) -> Section:
    section = Section("dbt_step", "10. dbt step: Dagster vs a plain `dbt build` of the same project and data")
    attempts: list[Attempt] = []
    with emulator(days=days) as emu, workspace("dbt-seed") as seed:
        log(f"dbt step: loading {days} days of raw data once")
        _load_raw(emu, seed)
        warehouse = seed.root / "measured" / "whoop.duckdb"  # dbt names the catalog after the file
        warehouse.parent.mkdir()
        states = _parse_states(seed, warehouse)
        for round_ in range(repeat):
            order = variants if round_ % 2 == 0 else tuple(reversed(variants))
            attempts += [_run(variant, round_, seed.duckdb_path, warehouse, states) for variant in order]

    by_variant = {v: [a for a in attempts if a.variant == v] for v in variants}
    plain = by_variant.get(PLAIN, [])
    plain_wall = median(a.measured.wall_s for a in plain) if plain else float("nan")
    plain_cpu = median(a.measured.cpu_s for a in plain) if plain else float("nan")
    rows = []
    for variant, runs in by_variant.items():
        wall = median(a.measured.wall_s for a in runs)
        cpu = median(a.measured.cpu_s for a in runs)
        step = median(a.step_s for a in runs)
        report = runs[0].report
        rows.append(
            [
                VARIANTS[variant],
                f"{step:,.1f} s",
                f"{step / plain_wall:.2f}x",
                f"{wall:,.1f} s",
                f"{wall / plain_wall:.2f}x",
                f"{cpu:,.1f} s",
                f"{cpu / plain_cpu:.2f}x",
                f"{median(a.run_cpu_s for a in runs):,.1f} s",
                f"{median(a.run_cpu_s for a in runs) / plain_cpu:.2f}x",
                f"{median(a.measured.peak_rss_mb for a in runs):,.0f} MB",
                ", ".join(f"{a.measured.wall_s:,.1f}" for a in runs),
                (
                    f"{report['materializations']} ({report['with_row_count']} with row count, "
                    f"{report['with_column_schema']} with column types); checks {report['checks_passed']}"
                    f"/{report['checks']} passed; {report['run_events']} run events"
                )
                if report
                else "-",
            ]
        )
    headers = [
        "variant",
        "dbt step (median)",
        "step / plain wall",
        "whole process (median)",
        "process / plain",
        "CPU (median)",
        "CPU / plain",
        "run CPU (median)",
        "run CPU / plain",
        "peak RSS",
        "walls by round, s",
        "what it recorded",
    ]
    rounds = table(
        ["round", *(f"{v}" for v in variants), "1-min load at its start"],
        [
            [
                r + 1,
                *(
                    f"{a.step_s:,.1f} s step, {a.measured.wall_s:,.1f} s wall, {a.measured.cpu_s:,.1f} s CPU"
                    for v in variants
                    for a in by_variant[v]
                    if a.round == r
                ),
                ", ".join(f"{a.load:.2f}" for a in attempts if a.round == r),
            ]
            for r in range(repeat)
        ],
    )
    notes = ["**Ratios (same run)**", ""]
    paired: dict[str, list[float]] = {}
    if plain:
        for variant, runs in by_variant.items():
            if variant == PLAIN:
                continue
            paired[variant] = [a.step_s / p.measured.wall_s for a in runs for p in plain if p.round == a.round]
        dagster = by_variant.get(DAGSTER)
        if dagster:
            step_ratio = median(a.step_s for a in dagster) / plain_wall
            verdict = "met" if step_ratio <= GOAL else "not met"
            notes.append(
                f"- The dbt step of `make run` (persistent instance): **{step_ratio:.2f}x** a plain `dbt build` "
                f"(medians; goal <= {GOAL}x: **{verdict}**); paired by round: "
                + ", ".join(f"{r:.2f}x" for r in paired[DAGSTER])
                + ". By CPU time the run (Dagster's process and dbt) is "
                f"{median(a.run_cpu_s for a in dagster) / plain_cpu:.2f}x the `dbt build` process, the whole "
                f"process {median(a.measured.cpu_s for a in dagster) / plain_cpu:.2f}x."
            )
        memory = by_variant.get(DAGSTER_MEMORY)
        if memory and dagster:
            notes.append(
                f"- The same step on an in-memory instance: {median(a.step_s for a in memory) / plain_wall:.2f}x; "
                f"the persistent SQLite event log adds "
                f"{median(a.step_s for a in dagster) - median(a.step_s for a in memory):,.1f} s to the step "
                f"({dagster[0].report['run_events']} events in the run)."
            )
        adapter_first = by_variant.get(DAGSTER_ADAPTER_FIRST)
        if adapter_first and dagster:
            notes.append(
                "- Before dbt started ahead of dagster-dbt's metadata adapter: "
                f"{median(a.step_s for a in adapter_first) / plain_wall:.2f}x the plain build "
                f"({median(a.step_s for a in adapter_first):,.1f} s against {median(a.step_s for a in dagster):,.1f} s "
                "now, same run, persistent instance). `DbtCliResource.cli` builds the dbt adapter it later "
                "queries row counts and column types through (the project, the profile, dbt's macros) and only "
                "then starts dbt; the project's `dbt` resource starts dbt first and builds the same adapter, with "
                "dagster-dbt's code, while dbt runs (`WhoopDbtCliResource.cli_then_adapter`). It also keeps dbt's "
                "file log in dbt's text format: dagster-dbt's `DBT_LOG_FORMAT=json` otherwise applies to the "
                "file log too, every debug event written as JSON."
            )
        all_events = by_variant.get(DAGSTER_ALL_EVENTS)
        if all_events and dagster:
            notes.append(
                "- Before the metadata passes got the models alone: "
                f"{median(a.step_s for a in all_events) / plain_wall:.2f}x the plain build, run CPU "
                f"{median(a.run_cpu_s for a in all_events):,.1f} s against "
                f"{median(a.run_cpu_s for a in dagster):,.1f} s now (same run, persistent instance). dagster-dbt's "
                "`fetch_column_metadata` queries the columns of every event's relation, test results included "
                "(a test has no relation: one failing query through the dbt adapter per test, 228 here), and both "
                "passes wait for their next event in a busy loop (chained, the column pass spins for as long "
                "as the row-count pass runs). The step now passes them the model outputs only, one pass after "
                "the other over a finished list, and yields the test results after all models."
            )
        live = by_variant.get(DAGSTER_LIVE)
        if live and dagster:
            notes.append(
                f"- Before the step waited for dbt: {median(a.step_s for a in live) / plain_wall:.2f}x the plain "
                f"build, {median(a.measured.cpu_s for a in live):,.1f} s CPU against "
                f"{median(a.measured.cpu_s for a in dagster):,.1f} s now. dagster-dbt's metadata threads "
                "(`fetch_row_counts`, `fetch_column_metadata`) wait for the next event in a busy loop; "
                "chained, two of them spin for as long as dbt runs, on the cores dbt needs. On DuckDB "
                "dagster-dbt yields nothing before dbt exits anyway, so the step now lets dbt finish "
                "first (`DbtCliInvocation.is_successful()`, which buffers dbt's output) and then streams."
            )
    notes.append(
        "- The Dagster process also starts Python, imports Dagster, dagster-dbt and dbt-core and builds the "
        "dbt assets from the manifest before the step; `whole process` includes that, the step does not. "
        "`run CPU` is the CPU time of `dg.materialize` (the run, with dbt's process), measured inside the "
        "Dagster process; `CPU` is the whole process's."
    )
    parts = table(
        ["variant", "before dbt (median)", "the dbt process", "after dbt", "step"],
        [
            [
                VARIANTS[variant],
                *(_median_of(runs, key) for key in ("before_dbt_s", "dbt_s", "after_dbt_s")),
                f"{median(a.step_s for a in runs):,.1f} s",
            ]
            for variant, runs in by_variant.items()
            if variant != PLAIN
        ],
    )
    section.add(
        f"Emulator: {days} days, seed 7, unthrottled; the raw warehouse is loaded once and copied, to the same "
        f"path, for every process. {repeat} interleaved rounds (order reversed every other round); medians.",
        table(headers, rows),
        "Each round (step = the dbt step from the run's event log; for `dbt build`, its process):",
        rounds,
        "Where the step's time goes (from dagster-dbt's log lines in the event log): *before dbt* is "
        "dagster-dbt starting the invocation (the project's `dbt` resource answers dagster-dbt's version "
        "question for this environment's own dbt Core, which `DbtCliResource` otherwise asks a second dbt "
        "process, `dbt --version`: 4.2 s here; and it starts dbt before building the dbt adapter that "
        "dagster-dbt queries metadata through, 1.2-1.4 s, which `cli` builds first); *the dbt process* "
        "runs until dagster-dbt has read dbt's last event, with that adapter built meanwhile; *after dbt* "
        "is the row-count and column queries and every event stored. The plain build's process took "
        f"{plain_wall:,.1f} s (median).",
        parts,
        "\n".join(notes),
    )
    if plain and DAGSTER in by_variant:
        step_ratio = median(a.step_s for a in by_variant[DAGSTER]) / plain_wall
        verdict = "met" if step_ratio <= GOAL else "not met"
        section.headlines.append(
            f"dbt step {median(a.step_s for a in by_variant[DAGSTER]):,.1f} s vs plain `dbt build` "
            f"{plain_wall:,.1f} s: **{step_ratio:.2f}x** (goal <= {GOAL}x: {verdict})"
        )
    return section


def _median_of(runs: list[Attempt], key: str) -> str:
    values = [a.report[key] for a in runs if a.report.get(key) is not None]
    return f"{median(values):,.1f} s" if values else "-"


def main(argv: list[str] | None = None) -> int:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--days", type=int, default=730, help="days of emulator history (default 730)")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument(
        "--variants", default=",".join(DEFAULT_VARIANTS), help=f"comma-separated, from {', '.join(VARIANTS)}"
    )
    args = parser.parse_args(argv)
    variants = tuple(v for v in args.variants.split(",") if v)
    return publish(measure(args.days, args.repeat, variants))


if __name__ == "__main__":
    sys.exit(main())
