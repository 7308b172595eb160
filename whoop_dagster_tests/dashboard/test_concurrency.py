"""Never in the pipeline's way: a backfill writing the DuckDB file and dashboard refreshes reading it,
as two real processes at the same moment, both succeed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

from whoop_dagster.demo import install_instance_settings
from whoop_dagster_tests.dashboard.conftest import APP

DAGSTER = Path(sys.executable).parent / "dagster"
#: A fixed range (the partitions start there): the backfill replaces its slice of raw.cycle, whatever the
#: emulator holds for it, in one transaction per run, while the dashboard reads.
FIRST_DAY = date(2025, 1, 1)
BACKFILL_DAYS = 30


def test_a_backfill_and_dashboard_refreshes_at_the_same_time_both_succeed(warehouse_copy, tmp_path):
    home = tmp_path / "dagster_home"
    install_instance_settings(home)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("WHOOP_CLIENT", "SNOWFLAKE_"))},
        "DAGSTER_HOME": str(home),
        "WHOOP_DEPLOYMENT": "local",
        "WHOOP_DUCKDB_PATH": str(warehouse_copy),
        "WHOOP_DAGSTER_UI_URL": "http://127.0.0.1:9",
        "WHOOP_START_DATE": FIRST_DAY.isoformat(),
    }
    stop = tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("refresh_loop.py")), str(APP), str(stop), "3"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        backfill = subprocess.run(
            [str(DAGSTER), "asset", "materialize", "-m", "whoop_dagster.definitions", "--select", "raw/cycle",
             "--partition-range", f"{FIRST_DAY}...{FIRST_DAY + timedelta(days=BACKFILL_DAYS - 1)}"],
            env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
    finally:
        stop.touch()
        out, err = reader.communicate(timeout=600)
    assert backfill.returncode == 0, backfill.stdout[-3000:] + backfill.stderr[-3000:]
    assert "RUN_SUCCESS" in backfill.stdout + backfill.stderr
    assert reader.returncode == 0, err[-3000:]
    refreshes = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert len(refreshes) >= 3
    assert all(r["problems"] == [] for r in refreshes), refreshes
    assert all(r["charts"] >= 17 for r in refreshes), refreshes
