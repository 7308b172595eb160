"""The fault campaign's figures: every seed's report, merged across xdist workers into ``artifacts/``.

Each seed's report (``SeedReport.to_dict``) joins ``artifacts/fault_campaign.json`` (under a
file lock; reports of an older pytest invocation are dropped); ``render`` turns them into
the figures ``make faults`` prints and ``benchmarks/RESULTS.md`` records: seeds, faults
injected per kind, convergence, wall time. No Dagster import (the xdist controller loads it).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Any

import pytest
from filelock import FileLock

from whoop_dagster_tests.faults.campaign_plan import FAULT_KINDS
from whoop_dagster_tests.faults.summary import _RUN_ID, ARTIFACTS, REPO_ROOT

#: ``make faults`` (seeds chosen by ``WHOOP_FAULT_SEEDS``/``WHOOP_FAULT_SEED``) and the normal suite's
#: seeds keep separate files: a ``make test`` meanwhile must not replace a long campaign's figures.
_NAME = (
    "fault_campaign"
    if os.getenv("WHOOP_FAULT_SEEDS", "").strip() or os.getenv("WHOOP_FAULT_SEED", "").strip()
    else "fault_campaign_suite"
)
CAMPAIGN_JSON = ARTIFACTS / f"{_NAME}.json"
CAMPAIGN_MD = ARTIFACTS / f"{_NAME}.md"
_PRINTED = pytest.StashKey[bool]()


def publish(report: dict[str, Any]) -> None:
    """Add one seed's report to this invocation's file and re-render the figures."""
    ARTIFACTS.mkdir(exist_ok=True)
    with FileLock(str(ARTIFACTS / f"{_NAME}.lock")):
        stored = json.loads(CAMPAIGN_JSON.read_text()) if CAMPAIGN_JSON.exists() else {}
        if stored.get("run") != _RUN_ID:
            stored = {"run": _RUN_ID, "seeds": {}}
        stored["seeds"][str(report["seed"])] = report
        CAMPAIGN_JSON.write_text(json.dumps(stored, indent=1))
        CAMPAIGN_MD.write_text(render(list(stored["seeds"].values())))


def render(reports: list[dict[str, Any]]) -> str:
    """Seeds, faults injected per kind, convergence and wall time, as Markdown."""
    reports = sorted(reports, key=lambda r: r["seed"])
    fired: Counter[str] = Counter()
    planned: Counter[str] = Counter()
    for report in reports:
        fired.update(report["fired"])
        planned.update(report.get("planned", {}))
    converged = sum(1 for r in reports if r["converged"])
    clean = sum(1 for r in reports if not r["problems"])
    started = min(r["finished_at"] - r["seconds"] for r in reports)
    wall = max(r["finished_at"] for r in reports) - started
    seeds = [r["seed"] for r in reports]
    lines = [
        f"{len(reports)} seeds ({_seed_span(seeds)}), {sum(len(r['episodes']) for r in reports)} faulty runs, "
        f"{sum(fired.values())} faults injected, {sum(r['child_processes'] for r in reports)} child processes; "
        f"wall time {wall:,.0f} s (seeds {sum(r['seconds'] for r in reports):,.0f} s in all, "
        f"slowest {max(r['seconds'] for r in reports):.0f} s).",
        "",
        f"**Converged after the plain re-run: {converged}/{len(reports)}**; seeds with no problem at all "
        f"(every faulty run judged right too): {clean}/{len(reports)}.",
        "",
        "| fault | planned | injected (fired) |",
        "|---|---:|---:|",
    ]
    lines += [f"| {kind} | {planned[kind]} | {fired[kind]} |" for kind in FAULT_KINDS]
    failing = [r for r in reports if r["problems"]]
    if failing:
        lines += ["", "Seeds with problems (replay one with `make faults SEED=n`):", ""]
        for report in failing:
            lines.append(f"- seed {report['seed']}: " + " | ".join(report["problems"])[:600])
    return "\n".join(lines) + "\n"


def _seed_span(seeds: list[int]) -> str:
    if seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]} to {seeds[-1]}"
    return ", ".join(map(str, seeds))


def print_summary(terminalreporter: Any) -> None:
    """Print the figures once, if campaign seeds ran in this session and wrote them."""
    config = terminalreporter.config
    if config.stash.get(_PRINTED, False) or not CAMPAIGN_MD.exists():
        return
    reports = (report for group in terminalreporter.stats.values() for report in group)
    starts = [
        report.start
        for report in reports
        if getattr(report, "when", None) == "call" and "test_campaign.py" in str(getattr(report, "nodeid", ""))
    ]
    if not starts or CAMPAIGN_MD.stat().st_mtime < min(starts):
        return
    config.stash[_PRINTED] = True
    terminalreporter.write_sep("=", "WHOOP fault campaign")
    terminalreporter.write(CAMPAIGN_MD.read_text())
    terminalreporter.write_line(f"(also in {CAMPAIGN_MD.relative_to(REPO_ROOT)} and {CAMPAIGN_JSON.name})")
