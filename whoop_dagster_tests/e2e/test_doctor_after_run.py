"""``make run`` then ``whoop-dagster doctor`` is green: the state the main run leaves passes every check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

WHOOP_DAGSTER = Path(sys.executable).parent / "whoop-dagster"


def test_doctor_passes_every_check_after_the_main_run(main_run_state, artifacts_dir):
    env = {
        **os.environ,
        "DAGSTER_HOME": str(main_run_state.dagster_home),
        "WHOOP_DUCKDB_PATH": str(main_run_state.duckdb_path),
    }
    done = subprocess.run([str(WHOOP_DAGSTER), "doctor"], env=env, capture_output=True, text=True, timeout=300)
    (artifacts_dir / "doctor.txt").write_text(done.stdout + done.stderr)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All 7 checks passed." in done.stdout
