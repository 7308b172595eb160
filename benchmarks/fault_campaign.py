"""The seeded fault campaign's figures in RESULTS.md: runs ``make faults SEEDS=n`` and copies its figures.

The campaign (``whoop_dagster_tests/faults/test_campaign.py``, 2 xdist workers) plays seeds
0…n-1, each a random sequence of faulty runs against the emulator, and writes every seed's
report to ``artifacts/fault_campaign.json``; this script runs it (or, with
``--from-artifacts``, reads the reports a ``make faults`` already wrote) and puts the figures
in RESULTS.md: seeds, faults injected per kind, convergence, wall time. It measures nothing
itself: the campaign's assertions decide pass or fail.

    python benchmarks/fault_campaign.py --seeds 200
    python benchmarks/fault_campaign.py --from-artifacts
"""

from __future__ import annotations

import json
import os
import sys

from benchlib import REPO, Section, benchmark_parser, clean_env, log, publish, run_measured, tool

ARTIFACTS = REPO / "artifacts" / "fault_campaign.json"
TITLE = "9. Fault campaign: seeded fault sequences, then a plain re-run"
DESCRIPTION = (
    "Each seed plays one to three faulty runs of the raw assets against the WHOOP emulator over HTTP "
    "(in process, or in a child process that is SIGKILLed or runs next to a sensor's run), then the faults go "
    "and a plain re-run of the affected days follows. *Converged*: every raw table equals the emulator's truth "
    "(0 missing, duplicated or stale records over the lab's 28 days, 148 for seeds that run dbt), marts agree "
    "with raw where dbt ran, the stored refresh token still works, no issued token, code or client secret in "
    "any log, event, metadata or child output. *No problem at all* also requires every faulty run to be judged "
    "right: a table untouched or equal to the truth for the days it loaded, failures naming endpoint and "
    "partitions, transient faults recovered and persistent ones failing, the next sensor tick loading again "
    "the days whose sensor run failed. *Injected* counts faults that fired (a fault planned after the run's "
    "last request does not). Wall time is the campaign's (2 workers) on a machine shared with other jobs."
)


def measure(seeds: int | None = 200) -> Section:
    section = Section("fault_campaign", TITLE)
    prefix = ""
    if seeds is not None:
        command = [tool("pytest"), "whoop_dagster_tests/faults/test_campaign.py", "-k", "seeded", "-q", "-n", "2"]
        command += ["--dist", "load"]
        log(f"fault campaign: {seeds} seeds")
        measured = run_measured(command, clean_env(WHOOP_FAULT_SEEDS=str(seeds)), timeout_s=4 * 3600)
        prefix = f"`make faults SEEDS={seeds}`: exit code {measured.returncode}, {measured.wall_s / 60:,.1f} min. "
    if not ARTIFACTS.exists():
        section.add(prefix + "No `artifacts/fault_campaign.json`: no figures to show.")
        return section
    from whoop_dagster_tests.faults.campaign_summary import render

    reports = list(json.loads(ARTIFACTS.read_text())["seeds"].values())
    figures = render(reports)
    section.add(prefix + DESCRIPTION, figures)
    converged = sum(1 for report in reports if report["converged"])
    fired = sum(sum(report["fired"].values()) for report in reports)
    section.headlines.append(f"{converged}/{len(reports)} seeds converged; {fired} faults injected")
    return section


def main(argv: list[str] | None = None) -> int:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--seeds", type=int, default=200, help="seeds 0…n-1 (default 200)")
    parser.add_argument("--from-artifacts", action="store_true", help="publish the last `make faults` run's figures")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("WHOOP_FAULT_SEEDS", str(args.seeds))  # the campaign's artifacts, not the suite's
    return publish(measure(None if args.from_artifacts else args.seeds))


if __name__ == "__main__":
    sys.exit(main())
