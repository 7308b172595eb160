"""The fault suite's table in RESULTS.md: runs ``pytest whoop_dagster_tests/faults`` and copies its summary.

The suite (7 hand-picked scenarios: a 429 burst and 5xx mid-pagination with their metadata,
an expired and a rotated token with their refresh counts, a run killed between delete and
insert after refreshing, a DuckDB file held by another writer, an unavailable warehouse;
the seeded campaign, ``test_campaign.py``, plays the rest at random) writes its table to ``artifacts/fault_summary.md``;
this script runs it once, serially (``-p no:xdist``), and puts that table in RESULTS.md
under the same header as the benchmarks. It measures nothing itself: the suite's
assertions decide pass or fail, and a failing suite is reported as such.

    python benchmarks/fault_suite.py
"""

from __future__ import annotations

import re
import sys

from benchlib import REPO, Section, benchmark_parser, clean_env, log, publish, run_measured, tool

SUMMARY_MD = REPO / "artifacts" / "fault_summary.md"
COMMAND = [tool("pytest"), "whoop_dagster_tests/faults", "-p", "no:xdist", "-q"]


def measure() -> Section:
    section = Section("fault_suite", "7. Fault suite: one fault injected per scenario")
    log("fault suite: " + " ".join(["pytest", *COMMAND[1:]]))
    measured = run_measured(COMMAND, clean_env(), timeout_s=1800)
    outcome = _last_line(measured.stdout)
    fresh = SUMMARY_MD.exists() and SUMMARY_MD.stat().st_mtime >= measured.started.timestamp()
    if not fresh:
        section.add(
            f"`pytest whoop_dagster_tests/faults -p no:xdist -q` exited {measured.returncode} ({outcome}) and wrote "
            "no new `artifacts/fault_summary.md`; no table to show."
        )
        return section
    text = SUMMARY_MD.read_text()
    lines = text.splitlines()
    table_start = next((i for i, line in enumerate(lines) if line.startswith("| scenario")), len(lines))
    description = " ".join(line for line in lines[1:table_start] if line.strip())
    # The suite's own header names `make test` (xdist); keep only what each scenario does.
    match = re.search(r"Each scenario .*", description)
    section.add(
        f"`pytest whoop_dagster_tests/faults -p no:xdist -q`: {outcome}, {measured.wall_s:,.0f} s "
        f"(exit code {measured.returncode}). The table is the suite's own `artifacts/fault_summary.md`. "
        + (match[0] if match else description),
        "\n".join(lines[table_start:]),
    )
    rows = [line for line in lines[table_start + 2 :] if line.startswith("|")]
    clean = sum(1 for row in rows if [c.strip() for c in row.split("|")][4:7] == ["0", "0", "0"])
    section.headlines.append(
        f"{outcome}; {clean}/{len(rows)} scenarios end with no missing, duplicated or stale record"
    )
    return section


def _last_line(stdout: str) -> str:
    for line in reversed(stdout.strip().splitlines()):
        if re.search(r"\b(passed|failed|error)", line):
            return line.strip("= ").strip()
    return "no pytest summary line"


def main(argv: list[str] | None = None) -> int:
    benchmark_parser(__doc__).parse_args(argv)
    return publish(measure())


if __name__ == "__main__":
    sys.exit(main())
