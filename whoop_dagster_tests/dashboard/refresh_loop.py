"""Child process of the concurrency test: refresh the dashboard (a full script run, caches cleared)
until the ``stop`` file appears; print one JSON line per refresh."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest


def main(app: str, stop: Path, minimum: int) -> None:
    refreshes = 0
    while refreshes < minimum or not stop.exists():
        at = AppTest.from_file(app, default_timeout=120)
        at.run()
        charts = len(at.get("plotly_chart"))
        problems = [e.value for e in at.exception] + [e.value for e in at.error] + [w.value for w in at.warning]
        print(json.dumps({"charts": charts, "problems": [str(p) for p in problems]}), flush=True)
        from whoop_dagster.dashboard import loading

        loading.clear_caches()  # the next run reads the warehouse again, as after the TTL
        refreshes += 1
        time.sleep(0.05)


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]))
