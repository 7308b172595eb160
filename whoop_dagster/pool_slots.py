"""Free the ``warehouse_writer`` pool slots of runs whose process was killed mid-step.

Such a run stays ``STARTED`` and blocks every later run; ``dagster dev``'s daemon only frees finished runs.
"""

from __future__ import annotations

import os
import re

import dagster as dg

#: Run statuses after which a run holds nothing any more.
FINISHED_STATUSES = frozenset({dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED})

#: Dagster's engine events name the processes of a run: "Executing steps in process (pid: 123)",
#: "Started process for run (pid: 123)", "... parent process (pid: 123)".
_PID = re.compile(r"\bpid: (\d+)\)")


def run_process_ids(instance: dg.DagsterInstance, run_id: str) -> set[int]:
    """Process ids that the run's engine events say ran it (run worker and step processes)."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT).records
    return {int(pid) for record in records for pid in _PID.findall(record.event_log_entry.message or "")}


def process_alive(pid: int) -> bool:
    """True if a process with ``pid`` exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def release_abandoned_slots(instance: dg.DagsterInstance) -> list[str]:
    """Free the pool slots of runs that finished or whose processes are all gone; return their ids.

    A run still marked in progress but with no live process is reported as failed first, so the
    UI shows what happened instead of a run that seems to run forever.
    """
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    released = []
    for run_id in sorted(storage.get_concurrency_run_ids()):
        run = instance.get_run_by_id(run_id)
        if run is not None and run.status not in FINISHED_STATUSES:
            pids = run_process_ids(instance, run_id)
            if not pids or any(process_alive(pid) for pid in pids):
                continue  # live (or not started far enough to tell): leave it alone
            # Reporting the failure also makes the instance free the run's slots.
            instance.report_run_failed(
                run, "the run's process is gone (killed or interrupted); its pool slots were freed"
            )
        storage.free_concurrency_slots_for_run(run_id)
        released.append(run_id)
    return released
