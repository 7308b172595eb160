"""The fault suite's summary table: rows from every xdist worker, merged into ``artifacts/``.

Each scenario adds a ``SummaryRow``; at the end of a worker's session its rows are merged
(under a file lock) into ``artifacts/fault_summary.json`` and the whole table is rendered
to ``artifacts/fault_summary.md``. ``print_summary`` prints that table in the terminal
summary. This module stays light (no Dagster import), so a ``conftest.py`` that the xdist
controller loads can call it.
"""

from __future__ import annotations

import json
import os
import platform
import re
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "artifacts"
SUMMARY_JSON = ARTIFACTS / "fault_summary.json"
SUMMARY_MD = ARTIFACTS / "fault_summary.md"
FAULT_TESTS = "whoop_dagster_tests/faults/"

#: The scenarios, in the order the table lists them.
#: The other faults (storms outlasting the client, persistent 5xx, slow, truncated and malformed
#: pages, a reader holding the file, kills and races at random points) are the seeded campaign's.
SCENARIOS = (
    "429 storm (3 in a row, mid-run)",
    "5xx mid-pagination (2 in a row)",
    "access token expired mid-run",
    "refresh token rotated by another process",
    "run killed between delete and insert",
    "DuckDB locked by another writer",
    "warehouse unavailable (uncreatable path)",
)

#: One pytest invocation, across xdist workers: rows of an older invocation are dropped.
_RUN_ID = os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex
_PRINTED = pytest.StashKey[bool]()
_NEXT_TOKEN = re.compile(r"nextToken=[^,\]\s]+")


@dataclass
class SummaryRow:
    """One line of the table."""

    scenario: str
    outcome: str
    error: str
    missing: int
    duplicated: int
    stale_or_extra: int
    token_ok: bool
    leaks: int
    seconds: float


def publish(rows: list[SummaryRow]) -> Path:
    """Merge ``rows`` into this invocation's summary and re-render the Markdown table."""
    ARTIFACTS.mkdir(exist_ok=True)
    with FileLock(str(ARTIFACTS / "fault_summary.lock")):
        stored = json.loads(SUMMARY_JSON.read_text()) if SUMMARY_JSON.exists() else {}
        if stored.get("run") != _RUN_ID:
            stored = {"run": _RUN_ID, "rows": {}}
        stored["rows"].update({row.scenario: asdict(row) for row in rows})
        SUMMARY_JSON.write_text(json.dumps(stored, indent=2))
        SUMMARY_MD.write_text(render_markdown(order_rows(list(stored["rows"].values()))))
    return SUMMARY_MD


def order_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    position = {name: i for i, name in enumerate(SCENARIOS)}
    return sorted(rows, key=lambda row: (position.get(row["scenario"], len(SCENARIOS)), row["scenario"]))


def render_markdown(rows: list[dict[str, Any]]) -> str:
    """The table, under a header that says where, when and how it was measured."""
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    how = f"pytest on {workers} xdist workers" if workers else "pytest in one process"
    lines = [
        "## Fault suite (`whoop_dagster_tests/faults/`)",
        "",
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.node()} ({platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}), {how}. "
        "Each scenario materializes the six raw assets over 28 daily partitions (two pages per collection) "
        "against the WHOOP emulator over HTTP into a DuckDB file with one fault injected, then re-runs plainly. "
        "Missing / duplicated / stale-or-extra records are counted against the emulator's truth after that "
        "re-run; *refresh token ok*: the stored refresh token still buys a working pair at the emulator; "
        "*secrets leaked*: issued tokens, codes or the client secret found in any log, event or metadata; "
        "*s*: the scenario's wall time.",
        "",
        "| scenario | outcome | error the failed run reported | missing | duplicated | stale/extra "
        "| refresh token ok | secrets leaked | s |",
        "|---|---|---|---:|---:|---:|---|---:|---:|",
    ]
    for row in rows:
        error = _NEXT_TOKEN.sub("nextToken=…", " ".join(row["error"].replace("|", "/").split()))
        error = error if len(error) <= 240 else error[:237] + "..."
        lines.append(
            f"| {row['scenario']} | {row['outcome']} | {error or '—'} | {row['missing']} | {row['duplicated']} "
            f"| {row['stale_or_extra']} | {'yes' if row['token_ok'] else 'NO'} | {row['leaks']} | {row['seconds']} |"
        )
    return "\n".join(lines) + "\n"


def print_summary(terminalreporter: Any) -> None:
    """Print the table once, if fault tests ran in this session (in any worker) and wrote it.

    Works in the xdist controller too, which sees every worker's reports in ``stats``.
    """
    config = terminalreporter.config
    if config.stash.get(_PRINTED, False) or not SUMMARY_MD.exists():
        return
    reports = (report for group in terminalreporter.stats.values() for report in group)
    starts = [
        report.start
        for report in reports
        if getattr(report, "when", None) == "call" and str(getattr(report, "nodeid", "")).startswith(FAULT_TESTS)
    ]
    if not starts or SUMMARY_MD.stat().st_mtime < min(starts):
        return  # no fault test ran, or the table is an older session's
    config.stash[_PRINTED] = True
    terminalreporter.write_sep("=", "WHOOP fault suite")
    terminalreporter.write(SUMMARY_MD.read_text())
    terminalreporter.write_line(f"(also in {SUMMARY_MD.relative_to(REPO_ROOT)})")
