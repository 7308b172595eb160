"""Benchmark 4: the whole graph (raw → dbt → ML) for 365 and 730 days of emulator data.

Each size is ``whoop-dagster demo --days N`` in its own process, as ``make run`` runs it:
demo mode (the process serves its own emulator on loopback, 730 days of history, seed 7),
the in-process executor, a fresh DAGSTER_HOME (the project's ``config/dagster.yaml``) and a
fresh DuckDB file named ``whoop.duckdb``. Measured per size:

- wall time of the whole process (Python start, definitions, API reads, DuckDB writes,
  ``dbt build`` as a subprocess, ML training, Dagster's event log);
- peak memory: ``ru_maxrss`` (the largest single process: the demo process or its ``dbt``
  child) and the largest summed RSS of the whole process tree, sampled every 0.2 s;
- where the time went: step durations from the run's event log, grouped raw / dbt / ML.

Growth is reported as the 730-day figure over the 365-day one, measured in the same run.

    python benchmarks/bench_whole_graph.py [--days 365 730]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from benchlib import (
    BENCH_DIR,
    Measured,
    Section,
    log,
    python_command,
    run_measured,
    table,
    tool,
    workspace,
    write_section,
)

WORKLOADS = str(BENCH_DIR / "workloads.py")


@dataclass
class GraphRun:
    days: int
    measured: Measured
    rows: dict[str, int]
    checks: str
    api_requests: int
    phases: dict[str, float]
    steps: int
    warehouse_mb: float


def _group(step: str) -> str:
    if step.startswith("raw"):
        return "raw"
    if step.startswith("ml"):
        return "ml"
    if "dbt" in step or step.startswith(("staging", "marts", "metrics", "intermediate", "whoop_dbt")):
        return "dbt"
    return "other"


def _parse_stdout(text: str) -> tuple[dict[str, int], str, int]:
    rows = {m[1]: int(m[2]) for m in re.finditer(r"^\s+(\S+/\S+)\s+(\d+)\s*$", text, re.MULTILINE)}
    checks = re.search(r"^Asset checks: (.+)$", text, re.MULTILINE)
    requests = re.search(r"^WHOOP API requests: (\d+)", text, re.MULTILINE)
    return rows, checks[1] if checks else "?", int(requests[1]) if requests else -1


def run_graph(days: int) -> GraphRun:
    with workspace(f"graph-{days}") as ws:
        env = ws.env()  # no WHOOP_CLIENT_ID: demo mode; no WHOOP_DEPLOYMENT: local (DuckDB)
        log(f"whole graph: whoop-dagster demo --days {days}")
        measured = run_measured([tool("whoop-dagster"), "demo", "--days", str(days)], env, sample_tree=True).check()
        rows, checks, api_requests = _parse_stdout(measured.stdout)
        out = ws.root / "steps.json"
        run_measured(python_command(WORKLOADS, "--out", str(out), "run-steps"), env).check()
        report = json.loads(out.read_text())
        phases: dict[str, float] = defaultdict(float)
        for step in report["steps"]:
            if step["start"] and step["end"]:
                phases[_group(step["step"])] += step["end"] - step["start"]
        warehouse_mb = ws.duckdb_path.stat().st_size / 2**20 if ws.duckdb_path.exists() else 0.0
        return GraphRun(days, measured, rows, checks, api_requests, dict(phases), len(report["steps"]), warehouse_mb)


def measure(sizes: tuple[int, ...] = (365, 730)) -> Section:
    days = " and ".join(str(n) for n in sizes) if len(sizes) <= 2 else ", ".join(str(n) for n in sizes)
    section = Section("whole_graph", f"4. Whole graph: raw → dbt → ML for {days} days")
    runs = [run_graph(days) for days in sizes]
    rows: list[list[Any]] = []
    for run in runs:
        m = run.measured
        in_steps = sum(run.phases.values())
        rows.append(
            [
                f"{run.days} days",
                f"{m.wall_s:,.1f} s",
                f"{m.peak_rss_mb:,.0f} MB",
                f"{m.peak_tree_rss_mb:,.0f} MB",
                f"{run.phases.get('raw', 0):,.1f} s",
                f"{run.phases.get('dbt', 0):,.1f} s",
                f"{run.phases.get('ml', 0):,.1f} s",
                f"{m.wall_s - in_steps:,.1f} s",
                sum(v for k, v in run.rows.items() if k.startswith("raw/")),
                run.api_requests,
                run.checks,
                f"{run.warehouse_mb:,.1f} MB",
            ]
        )
    headers = [
        "history",
        "wall",
        "peak RSS (largest process)",
        "peak RSS (whole tree)",
        "raw steps",
        "dbt step",
        "ML steps",
        "outside steps",
        "raw rows",
        "API requests",
        "asset checks",
        "DuckDB file",
    ]
    notes = ["**Growth (same run)**", ""]
    if len(runs) >= 2:
        small, large = runs[0], runs[-1]
        factor = large.days / small.days
        notes.append(
            f"- {factor:.2g}x the history costs **{large.measured.wall_s / small.measured.wall_s:.2f}x** the wall "
            f"time ({small.measured.wall_s:,.1f} s → {large.measured.wall_s:,.1f} s), "
            f"{large.measured.peak_rss_mb / small.measured.peak_rss_mb:.2f}x the largest process's peak RSS and "
            f"{large.measured.peak_tree_rss_mb / small.measured.peak_tree_rss_mb:.2f}x the whole tree's."
        )
        for phase in ("raw", "dbt", "ml"):
            a, b = small.phases.get(phase, 0), large.phases.get(phase, 0)
            if a:
                notes.append(f"- {phase}: {a:,.1f} s → {b:,.1f} s ({b / a:.2f}x).")
        per_day = (large.measured.wall_s - small.measured.wall_s) / (large.days - small.days)
        fixed = small.measured.wall_s - per_day * small.days
        notes.append(
            f"- A straight line through the two points: about {per_day * 1000:,.0f} ms per day of history on "
            f"top of {fixed:,.1f} s that does not depend on it (process start, definitions, dbt start-up, "
            "one run's bookkeeping)."
        )
    notes.append(
        "- `outside steps` is the process's wall time not spent inside a step: interpreter start, loading the "
        "definitions, starting the in-process emulator, run setup and teardown."
    )
    section.add(
        "`whoop-dagster demo --days N` in its own process: demo mode (built-in emulator on loopback, 730 days of "
        "history, seed 7, served by the same process), in-process executor, fresh DAGSTER_HOME (SQLite, the "
        "project's `config/dagster.yaml`) and a fresh `whoop.duckdb`. Step times come from the run's event log; "
        "the dbt step is one `dbt build` of every model and test.",
        table(headers, rows),
        "\n".join(notes),
    )
    section.headlines.append(
        "; ".join(
            f"{run.days} d: {run.measured.wall_s:,.0f} s, {run.measured.peak_tree_rss_mb:,.0f} MB (tree)"
            for run in runs
        )
        + (
            f"; growth {runs[-1].measured.wall_s / runs[0].measured.wall_s:.2f}x wall for "
            f"{runs[-1].days / runs[0].days:.2g}x days"
            if len(runs) >= 2
            else ""
        )
    )
    return section


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, nargs="+", default=[365, 730], help="history sizes (default 365 730)")
    args = parser.parse_args(argv)
    section = measure(tuple(args.days))
    write_section(section)
    print(section.render("python benchmarks/bench_whole_graph.py"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
