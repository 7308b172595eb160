"""Build dbt on each window of a year of emulator history alone, as the main job would load it.

``make history-windows`` (or ``python scripts/check_history_windows.py [--windows 36] [--jobs 2]``):
for each window of ``whoop_dagster_tests/defs/dbt/history_windows.py`` (last days spread over a
year, loading instants round the clock, lengths from 1 to 365 days, the emulator's five
members in five time zones), the records the API serves at that instant in those partitions
go into a DuckDB file of their own and ``dbt build`` runs on it. Every test must pass, warn-
severity ones included: the main job's result must not depend on the date it runs. The
suite's ``defs/dbt/test_history_edges.py`` builds the same windows in one shared warehouse.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

# After the path is set: the harness lives with the tests.
from whoop_dagster.emulator import Emulator, EmulatorConfig  # noqa: E402
from whoop_dagster.warehouse.duckdb import DuckDBWarehouse  # noqa: E402
from whoop_dagster_tests.defs.dbt.conftest import duckdb_env  # noqa: E402
from whoop_dagster_tests.defs.dbt.dbt_runner import run_dbt  # noqa: E402
from whoop_dagster_tests.defs.dbt.history_windows import Window, spread_windows, window_records  # noqa: E402
from whoop_dagster_tests.defs.dbt.sample_data import SampleData, load_raw  # noqa: E402
from whoop_dagster_tests.support.clock import frozen_now  # noqa: E402

MEMBERS = 5


def build_window(records: dict, root: Path) -> dict[str, str]:
    """``dbt build`` over one window's raw records in ``root``: unique_id -> status of each non-passing node."""
    root.mkdir(parents=True)
    path = root / "whoop.duckdb"
    load_raw(DuckDBWarehouse(path=str(path)), SampleData(records))
    run_dbt(["build"], target="local", target_path=root / "target", env=duckdb_env(path), check=False)
    results = json.loads((root / "target" / "run_results.json").read_text())["results"]
    return {r["unique_id"]: r["status"] for r in results if r["status"] not in ("success", "pass")}


def build_item(item: tuple[Window, dict], tmp: str) -> tuple[Window, dict, dict[str, str]]:
    """:func:`build_window` of one (window, records) pair in the folder ``tmp``, with what it was given."""
    window, records = item
    return window, records, build_window(records, Path(tmp) / f"w{window.index}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=36, help="how many windows (default 36)")
    parser.add_argument("--jobs", type=int, default=1, help="dbt builds at a time (default 1)")
    parser.add_argument("--end", help="the newest loading instant, ISO UTC (default: the tests' instant)")
    args = parser.parse_args(argv)
    end = datetime.fromisoformat(args.end).replace(tzinfo=timezone.utc) if args.end else frozen_now()

    emu = Emulator(EmulatorConfig(seed=7, days=800, users=MEMBERS, now=end))
    windows = spread_windows(args.windows, end, members=MEMBERS)
    # The emulator's clock is shared: take every window's records first, then build in parallel.
    loads = [(window, window_records(emu, window)) for window in windows]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="history_windows_") as tmp:
        rows, failed = [], 0
        # Processes, not threads: the tests' dbt runner runs dbt in its own process, one command at a time.
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=args.jobs, mp_context=spawn) as pool:
            for window, records, problems in pool.map(build_item, loads, [tmp] * len(loads)):
                flagged = "ok" if not problems else "FAILED " + ", ".join(f"{u} {s}" for u, s in problems.items())
                failed += bool(problems)
                sizes = "/".join(str(len(records[n])) for n in ("cycle", "sleep", "recovery", "workout"))
                line = (
                    f"| {window.index} | {window.member} | {window.first} | {window.last} "
                    f"| {window.now:%H:%M} | {window.days} | {sizes} | {flagged} |"
                )
                print(line, flush=True)
                rows.append(line)
    header = "| # | member | first day | last day | loaded at | days | cycles/sleeps/recoveries/workouts | dbt build |"
    table = "\n".join([header, "|---|---|---|---|---|---:|---|---|", *rows])
    artifacts = REPO_ROOT / "artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "history_windows.md").write_text(table + "\n")
    seconds = time.monotonic() - started
    print(f"\n{len(windows) - failed} of {len(windows)} windows pass every dbt test ({seconds:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
