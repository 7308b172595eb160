"""The warehouse fails under the run: a kill mid-transaction, a lock held elsewhere, no place to write.

The API side works in these scenarios, so each run has read (and refreshed tokens) before
the warehouse fails: the tokens it rotated must survive the failure as well as the data.
"""

import json
import signal

from whoop_dagster_tests.faults.harness import (
    FAILED_CLEARLY,
    KILLED,
    FaultLab,
    lock_held_by_another_process,
    run_child,
)
from whoop_dagster_tests.faults.summary import SCENARIOS

KILLED_MID_WRITE, LOCKED_BY_WRITER, UNAVAILABLE = SCENARIOS[4:7]


def test_a_run_killed_mid_replace_keeps_the_previous_rows_and_the_login(lab: FaultLab):
    before = lab.baseline()
    before_tokens = lab.token_counters()
    # The killed run must refresh first: its rotated pair has to outlive it.
    lab.emu.expire_access_tokens()
    marker = lab.tmp_path / "killed.json"
    spec = {
        "whoop": lab.whoop_config(),
        "duckdb_path": str(lab.duckdb_path),
        "victim": "cycle",
        "marker": str(marker),
        "tags": lab.range_tags(),
    }
    killed = run_child(lab, "materialize-until-killed", spec, timeout_s=180)
    problems = []
    if killed.returncode != -signal.SIGKILL:
        problems.append(f"the child was not killed (exit {killed.returncode}): {killed.stderr[-1500:]}")
    state = json.loads(marker.read_text()) if marker.exists() else {}
    if state.get("rows_left") != 0 or not state.get("rows_to_insert"):
        problems.append(f"the kill did not come between the delete and the insert: {state}")
    if lab.token_counters()["refreshed"] <= before_tokens["refreshed"]:
        problems.append("the killed run never refreshed the tokens")
    cycle_kept = lab.snapshot()["cycle"] == before["cycle"]
    if not cycle_kept:
        problems.append("raw.cycle lost or changed its previous rows")
    if not lab.tally().clean:
        problems.append(f"after the kill the warehouse differs from the truth: {lab.tally().per_table}")
    outcome = KILLED if cycle_kept else "killed, previous rows LOST"
    lab.conclude(KILLED_MID_WRITE, KILLED, None, outcome=outcome, problems=problems)


def test_a_locked_duckdb_file_fails_the_run_naming_table_and_partitions(lab: FaultLab):
    # A reader holding the file is the seeded campaign's (`reader_holds_duckdb`).
    before = lab.baseline()
    with lock_held_by_another_process(lab, read_only=False):
        run = lab.materialize()
    lab.conclude(LOCKED_BY_WRITER, FAILED_CLEARLY, run, before=before)


def test_an_uncreatable_warehouse_path_fails_naming_table_and_partitions(lab: FaultLab):
    blocker = lab.tmp_path / "warehouse"
    blocker.write_text("a file where the warehouse directory should be")
    lab.duckdb_path = blocker / "whoop.duckdb"
    run = lab.materialize()
    blocker.unlink()  # the warehouse becomes available; the re-run creates it
    lab.conclude(UNAVAILABLE, FAILED_CLEARLY, run)
