"""Benchmark 8: the dashboard's query time per tab on two years of data (goal: under 1 s each).

The warehouse is what ``whoop-dagster demo --days 730`` leaves (raw → dbt → ML, demo mode, a fresh
workspace). Each measurement is a whole child process that reads one tab's tables for a date range
exactly as the app does (``read_tables``: one short-lived read-only DuckDB connection, the tab's
queries, closed), ``--reads`` times in a row; the baseline child does the same with no query (Python,
imports, the connection). Per-read query time = (tab child - baseline child) / reads, median of
``--repeat`` rounds, interleaved. Two ranges: the app's default (last 90 days) and all two years.

    python benchmarks/bench_dashboard.py [--days 730] [--reads 10] [--repeat 5]
"""

from __future__ import annotations

import sys

from benchlib import (
    Section,
    benchmark_parser,
    log,
    median,
    publish,
    python_command,
    run_measured,
    table,
    tool,
    workspace,
)

#: What a child runs: read one tab's tables ``reads`` times for the last ``days`` days of data.
READ_TAB = """
import sys
from datetime import timedelta
from whoop_dagster.dashboard.loading import QUERIES_BY_TAB, data_bounds
from whoop_dagster.dashboard.source import DuckDBSource, read_tables
from pathlib import Path
source = DuckDBSource(Path(sys.argv[1]))
tab, reads, days = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
bounds = data_bounds(source)
start = max(bounds.first, bounds.last - timedelta(days=days - 1))
queries = QUERIES_BY_TAB.get(tab, {})
for _ in range(reads):
    frames = read_tables(source, queries, start, bounds.last)
print(sum(len(f) for f in frames.values() if f is not None) if queries else 0)
"""
TABS = ("Recovery", "Sleep", "Strain & workouts", "Metrics", "Insights")
BASELINE = "(baseline: connect, no query)"


def measure(days: int = 730, reads: int = 10, repeat: int = 5) -> Section:
    section = Section("dashboard", f"8. Dashboard: query time per tab on {days} days of data")
    with workspace("dashboard") as ws:
        env = ws.env()
        log(f"dashboard: whoop-dagster demo --days {days} (the warehouse to read)")
        run_measured([tool("whoop-dagster"), "demo", "--days", str(days)], env).check()
        rows = []
        for label, span in (("last 90 days (the default)", 90), (f"all {days} days", days)):
            times: dict[str, list[float]] = {name: [] for name in (BASELINE, *TABS)}
            counts: dict[str, str] = {}
            for _ in range(repeat):
                for name in (BASELINE, *TABS):
                    command = python_command("-c", READ_TAB, str(ws.duckdb_path), name, str(reads), str(span))
                    measured = run_measured(command, env).check()
                    times[name].append(measured.wall_s)
                    counts[name] = measured.stdout.strip().splitlines()[-1]
            base = median(times[BASELINE])
            for name in TABS:
                per_read = (median(times[name]) - base) / reads
                verdict = "met" if per_read < 1.0 else "not met"
                rows.append([label, name, counts[name], f"{per_read * 1000:,.0f} ms", verdict])
            log(f"dashboard: {label} measured")
    section.add(
        f"Warehouse: `whoop-dagster demo --days {days}`. Each figure: (median whole-process time of a child "
        f"reading the tab {reads} times - median of the baseline child) / {reads}, {repeat} interleaved rounds. "
        "The Data quality tab reads the Dagster webserver, not the warehouse, and is not in this table.",
        table(["range", "tab", "rows read", "query time per refresh", "goal < 1 s"], rows),
    )
    worst = max(rows, key=lambda row: float(row[3].split()[0].replace(",", "")))
    section.headlines.append(f"slowest tab {worst[1]} ({worst[0]}): {worst[3]} per refresh (goal < 1 s)")
    return section


def main(argv: list[str] | None = None) -> int:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--reads", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    return publish(measure(args.days, args.reads, args.repeat))


if __name__ == "__main__":
    sys.exit(main())
