"""Run the time-sensitive tests (marker ``time_sensitive``) at every instant of the tests' clock.

``make test-instants`` (or ``python scripts/test_at_instants.py [--instants a,b,...]``) runs
``pytest -m time_sensitive --now=<instant>`` once per instant of
``whoop_dagster_tests/support/clock.py``'s ``INSTANTS``: minutes around UTC midnight and the
member's local midnight, month and year ends, 29 February, daylight-saving dates and the
emulator's offset changes. Prints one line per instant and a Markdown table (also written to
``artifacts/instants.md``); exits non-zero if any instant failed.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from whoop_dagster_tests.support.clock import INSTANTS  # noqa: E402 - after the path is set

SUMMARY = re.compile(r"(\d+) (passed|failed|error|errors|skipped)")


def run_at(name: str, workers: int, extra: list[str]) -> tuple[int, dict[str, int], float]:
    """``pytest -m time_sensitive`` at instant ``name``: exit code, outcome counts, seconds."""
    command = [sys.executable, "-m", "pytest", "-m", "time_sensitive", f"--now={name}", "-q", "-p", "no:cacheprovider"]
    if workers > 1:
        command += ["-n", str(workers), "--dist", "loadfile"]
    started = time.monotonic()
    done = subprocess.run(command + extra, cwd=REPO_ROOT, capture_output=True, text=True, check=False)  # noqa: S603
    seconds = time.monotonic() - started
    last_lines = done.stdout.strip().splitlines()[-1:] or [""]
    counts = {kind: int(n) for n, kind in SUMMARY.findall(last_lines[0])}
    if done.returncode != 0:
        print(done.stdout[-6000:], done.stderr[-2000:], sep="\n", file=sys.stderr)
    return done.returncode, counts, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instants", help=f"comma-separated names (default: all of {', '.join(INSTANTS)})")
    parser.add_argument("--workers", type=int, default=2, help="pytest-xdist workers per instant (default 2)")
    args, extra = parser.parse_known_args(argv)
    names = args.instants.split(",") if args.instants else list(INSTANTS)
    unknown = [n for n in names if n not in INSTANTS]
    if unknown:
        parser.error(f"unknown instant(s) {', '.join(unknown)}; known: {', '.join(INSTANTS)}")

    rows, failed = [], []
    for name in names:
        moment, why = INSTANTS[name]
        code, counts, seconds = run_at(name, args.workers, extra)
        verdict = "ok" if code == 0 else "FAILED"
        if code != 0:
            failed.append(name)
        outcome = ", ".join(f"{n} {kind}" for kind, n in counts.items()) or f"exit code {code}"
        print(f"{moment:%Y-%m-%dT%H:%MZ} {name:<22} {verdict:<6} {outcome} ({seconds:.0f} s)", flush=True)
        rows.append(f"| {moment:%Y-%m-%d %H:%M} | {name} | {why} | {verdict} | {outcome} | {seconds:.0f} |")

    table = "\n".join(
        [
            "| instant (UTC) | name | why | result | tests | s |",
            "|---|---|---|---|---|---:|",
            *rows,
        ]
    )
    artifacts = REPO_ROOT / "artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "instants.md").write_text(table + "\n")
    print("\n" + table)
    if failed:
        print(f"\nFAILED at {len(failed)} instant(s): {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
