"""A run killed mid-step must not block the warehouse pool for every later run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg
import pytest

from whoop_dagster.defs.raw.assets import WAREHOUSE_POOL
from whoop_dagster.demo import install_instance_settings
from whoop_dagster.pool_slots import release_abandoned_slots

#: A run of one pooled asset that kills its own process while it holds the pool's only slot.
KILLED_RUN = textwrap.dedent(
    f"""
    import os, signal
    import dagster as dg

    @dg.asset(pool={WAREHOUSE_POOL!r})
    def writes_the_warehouse() -> None:
        os.kill(os.getpid(), signal.SIGKILL)  # like a closed terminal or an OOM kill

    dg.materialize([writes_the_warehouse], instance=dg.DagsterInstance.get())
    """
)


@dg.asset(pool=WAREHOUSE_POOL)
def writes_the_warehouse() -> None:
    """The same pooled step, run normally."""


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    home = tmp_path / "dagster_home"
    install_instance_settings(home)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        yield instance


def _claimed(instance: dg.DagsterInstance) -> int:
    return instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL).active_slot_count


def test_a_killed_runs_slot_is_freed_and_the_run_marked_failed(instance):
    killed = subprocess.run([sys.executable, "-c", KILLED_RUN], env=os.environ, timeout=120, check=False)
    assert killed.returncode == -signal.SIGKILL
    (run,) = instance.get_runs()
    assert run.status == dg.DagsterRunStatus.STARTED  # what the instance believes
    assert _claimed(instance) == 1  # every later warehouse step would wait forever

    assert release_abandoned_slots(instance) == [run.run_id]

    assert _claimed(instance) == 0
    assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
    assert dg.materialize([writes_the_warehouse], instance=instance).success


#: A run whose pooled step holds the slot until the test stops it.
RUNNING_RUN = KILLED_RUN.replace(
    "os.kill(os.getpid(), signal.SIGKILL)  # like a closed terminal or an OOM kill", "import time; time.sleep(300)"
)


def test_a_live_runs_slot_is_left_alone_until_its_process_is_gone(instance):
    running = subprocess.Popen([sys.executable, "-c", RUNNING_RUN], env=os.environ)
    try:
        deadline = 120
        while _claimed(instance) == 0:
            assert running.poll() is None, "the run ended before it claimed the slot"
            deadline -= 0.2
            assert deadline > 0, "the run never claimed the pool slot"
            time.sleep(0.2)
        assert release_abandoned_slots(instance) == []
        assert _claimed(instance) == 1
    finally:
        running.kill()
        running.wait(timeout=30)

    (run,) = instance.get_runs()
    assert release_abandoned_slots(instance) == [run.run_id]
    assert _claimed(instance) == 0
