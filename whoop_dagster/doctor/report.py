"""The doctor's results and the table it prints: check, result, fix."""

from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

from whoop_dagster.whoop_api.redaction import hide_known

#: Environment variables whose values are secrets: the doctor says "set" or "missing", never more.
SECRET_VARIABLES = (
    "WHOOP_CLIENT_SECRET",
    "WHOOP_REFRESH_TOKEN",
    "SNOWFLAKE_PASSWORD",
    "SNOWFLAKE_PRIVATE_KEY",
    "SNOWFLAKE_PRIVATE_KEY_PASSWORD",
    "WHOOP_ALERT_WEBHOOK_URL",
)


class Status(str, Enum):
    PASS = "pass"  # noqa: S105 - a status, not a password
    FAIL = "FAIL"


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome. ``failure`` names what went wrong (stable, for scripts and tests)."""

    check: str
    status: Status
    result: str
    fix: str = ""
    failure: str | None = None

    @property
    def passed(self) -> bool:
        return self.status is Status.PASS


def passed(check: str, result: str) -> CheckResult:
    return CheckResult(check, Status.PASS, result)


def failed(check: str, failure: str, result: str, fix: str) -> CheckResult:
    return CheckResult(check, Status.FAIL, result, fix, failure)


def known_secrets(extra: Iterable[str | None] = ()) -> list[str]:
    """The secret values in this process's environment (and ``extra``), longest first."""
    values = [os.getenv(name) for name in SECRET_VARIABLES] + list(extra)
    return sorted({value for value in values if value and len(value) >= 4}, key=len, reverse=True)


def render_table(results: Sequence[CheckResult], width: int | None = None) -> str:
    """The results as a text table (check | result | fix), long cells wrapped, secrets scrubbed."""
    width = width or max(100, min(shutil.get_terminal_size((140, 20)).columns, 160))
    check_width = max(len("check"), *(len(r.check) for r in results)) if results else 5
    status_width = 4
    remaining = width - check_width - status_width - 10
    result_width = max(30, remaining * 3 // 5)
    fix_width = max(24, remaining - result_width)
    secrets = known_secrets()
    header = f"{'check':<{check_width}}  {'':<{status_width}}  {'result':<{result_width}}  fix"
    lines = [header, "-" * len(header.rstrip()) + "-" * 4]
    for result in results:
        cells = [
            _wrap(hide_known(result.result, secrets), result_width),
            _wrap(hide_known(result.fix, secrets), fix_width),
        ]
        rows = max(len(cells[0]), len(cells[1]), 1)
        for index in range(rows):
            name = result.check if index == 0 else ""
            status = result.status.value if index == 0 else ""
            text = cells[0][index] if index < len(cells[0]) else ""
            fix = cells[1][index] if index < len(cells[1]) else ""
            lines.append(f"{name:<{check_width}}  {status:<{status_width}}  {text:<{result_width}}  {fix}".rstrip())
    return "\n".join(lines)


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        lines += textwrap.wrap(paragraph, width, break_long_words=True, break_on_hyphens=False) or [""]
    return lines


def summary_line(results: Sequence[CheckResult]) -> str:
    failures = [r for r in results if not r.passed]
    if not failures:
        return f"All {len(results)} checks passed."
    names = ", ".join(f"{r.check} ({r.failure})" for r in failures)
    return f"{len(failures)} of {len(results)} checks failed: {names}."
