"""The dashboard as ``make dashboard`` serves it: ``streamlit run`` on loopback, stopped with all it started."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from whoop_dagster import environment
from whoop_dagster_tests.e2e.dagster_dev import free_loopback_port, stop_process_group

STREAMLIT = Path(sys.executable).parent / "streamlit"
APP = environment.PROJECT_ROOT / "whoop_dagster" / "dashboard" / "app.py"


@dataclass(frozen=True)
class Dashboard:
    url: str
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@contextmanager
def running_dashboard(*, env: dict[str, str], log_path: Path, timeout: float = 90.0) -> Iterator[Dashboard]:
    """``streamlit run`` of the app on 127.0.0.1 (a free port) with ``env`` added; yields once it answers."""
    port = free_loopback_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [
        str(STREAMLIT), "run", str(APP), "--server.address", "127.0.0.1", "--server.port", str(port),
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=environment.PROJECT_ROOT,
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    dashboard = Dashboard(f"http://127.0.0.1:{port}", log_path)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"streamlit exited with {process.returncode}:\n{dashboard.log_tail()}")
            try:
                if requests.get(f"{dashboard.url}/_stcore/health", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not answer in {timeout:.0f}s:\n{dashboard.log_tail()}")
            time.sleep(0.5)
        yield dashboard
    finally:
        stop_process_group(process, grace=10)
