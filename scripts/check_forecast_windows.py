"""Both forecasts' gates on many windows of the length the main job loads, over two years of dates.

``make forecast-windows`` (or ``python scripts/check_forecast_windows.py [--windows 120]
[--days 180] [--span-days 730]``): every window (``make run``'s default length, instants
walking round the clock) must publish both forecasts. The suite's
``defs/ml/test_forecast_windows.py`` checks twelve of them.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

# After the path is set: the harness lives with the tests.
from whoop_dagster.emulator import Emulator, EmulatorConfig  # noqa: E402
from whoop_dagster.environment import DEMO_DAYS  # noqa: E402
from whoop_dagster_tests.defs.dbt.history_windows import spread_windows  # noqa: E402
from whoop_dagster_tests.defs.ml.forecast_windows import build_windows, gate_failures  # noqa: E402
from whoop_dagster_tests.support.clock import frozen_now  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=120, help="how many windows (default 120)")
    parser.add_argument("--days", type=int, default=DEMO_DAYS, help=f"window length (default {DEMO_DAYS})")
    parser.add_argument("--span-days", type=int, default=730, help="the windows' last days spread over these days")
    args = parser.parse_args(argv)

    end = frozen_now()
    windows = spread_windows(args.windows, end, span_days=args.span_days, lengths=(args.days,))
    started = time.monotonic()
    emu = Emulator(EmulatorConfig(seed=7, days=args.span_days + args.days + 30, now=end))
    with tempfile.TemporaryDirectory(prefix="forecast_windows_") as root:
        failures = gate_failures(build_windows(emu, windows, Path(root)), windows)
    for (forecast, window), why in sorted(failures.items()):
        print(f"FAIL {forecast} forecast, window {window}: {why}")
    print(
        f"{len(windows)} windows of {args.days} days ending {min(w.last for w in windows)} … "
        f"{max(w.last for w in windows)}: {len(failures)} gate failures "
        f"({time.monotonic() - started:.0f} s)"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
