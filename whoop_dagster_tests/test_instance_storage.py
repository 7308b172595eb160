"""The local instance's event log keeps its SQLite connections, and loses nothing Dagster's default keeps.

Every test runs on a DAGSTER_HOME holding the project's ``config/dagster.yaml``, with real
processes where another process's view matters (the UI's live log, a second run, a killed run).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import dagster as dg
import dagster._check as check
import pytest
from dagster._core.events import StepMaterializationData
from dagster._core.storage.event_log import SqliteEventLogStorage

from whoop_dagster import instance_storage
from whoop_dagster.demo import install_instance_settings
from whoop_dagster.instance_storage import (
    MAX_OPEN_SHARDS,
    KeptConnectionSqliteEventLogStorage,
    default_event_log_dir,
    open_instance,
)

DAYS = dg.DailyPartitionsDefinition(start_date="2024-02-26", end_date="2024-03-05")
RANGE_TAGS = {"dagster/asset_partition_range_start": "2024-02-26", "dagster/asset_partition_range_end": "2024-03-04"}
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
def daily(context) -> dg.MaterializeResult:  # unannotated: with postponed annotations Dagster would see a string
    """One materialization per day of the range, as the raw assets' single-run backfills make."""
    return dg.MaterializeResult(metadata={"days": len(context.partition_keys)})


@dg.asset
def one() -> None:
    """An unpartitioned asset: each materialization is a run with its own event file."""


#: Appends one engine event to an existing run from another process (argv: run id, message);
#: with ``kill`` the process then dies by SIGKILL, before any orderly close of its connections.
APPEND_EVENT = textwrap.dedent(
    """
    import os, signal, sys
    import dagster as dg

    instance = dg.DagsterInstance.get()
    run = instance.get_run_by_id(sys.argv[1])
    instance.report_engine_event(sys.argv[2], run)
    if len(sys.argv) > 3 and sys.argv[3] == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    instance.dispose()
    """
)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "dagster_home"
    install_instance_settings(home)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


@pytest.fixture
def instance(home: Path):
    with dg.DagsterInstance.get() as instance:
        yield instance


def _event_log(instance: dg.DagsterInstance) -> KeptConnectionSqliteEventLogStorage:
    return instance.event_log_storage


def _append_from_another_process(run_id: str, message: str, *extra: str) -> int:
    done = subprocess.run([sys.executable, "-c", APPEND_EVENT, run_id, message, *extra], env=os.environ, timeout=120)
    return done.returncode


def _messages(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    return [entry.message for entry in instance.all_logs(run_id) if entry.message]


def test_the_projects_instance_keeps_connections_in_dagsters_folder(instance, home):
    storage = _event_log(instance)
    assert isinstance(storage, KeptConnectionSqliteEventLogStorage)
    assert Path(storage._base_dir) == home / "history" / "runs"  # Dagster's default layout: history carries over


def test_a_range_run_is_read_back_by_another_process(instance, home):
    result = dg.materialize([daily], instance=instance, tags=RANGE_TAGS, run_config=QUIET)
    assert result.success
    written = instance.all_logs(result.run_id)

    reader = textwrap.dedent(
        f"""
        import dagster as dg
        with dg.DagsterInstance.get() as instance:
            print(len(instance.all_logs({result.run_id!r})))
            print(sorted(instance.get_materialized_partitions(dg.AssetKey("daily"))))
        """
    )
    out = subprocess.run([sys.executable, "-c", reader], env=os.environ, timeout=120, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    count, partitions = out.stdout.strip().splitlines()
    assert int(count) == len(written)
    assert partitions == str(sorted(DAYS.get_partition_keys()))


def test_writes_reuse_one_connection_per_file_with_normal_sync(instance):
    storage = _event_log(instance)
    run = instance.get_run_by_id(dg.materialize([one], instance=instance, run_config=QUIET).run_id)
    seen = []
    for message in ("first", "second"):
        instance.report_engine_event(message, run)
        with storage.run_connection(run.run_id) as conn:
            raw = conn.connection.dbapi_connection
            seen.append(id(raw))
            assert raw.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL
            assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert seen[0] == seen[1]


def test_another_processs_events_wake_the_live_run_log(instance):
    """The UI streams a run's log through ``watch``: it must fire for events that sit in the WAL."""
    result = dg.materialize([daily], instance=instance, tags=RANGE_TAGS, run_config=QUIET)
    cursor = str(instance.get_records_for_run(result.run_id).cursor)
    arrived = threading.Event()
    received: list[str] = []

    def on_event(entry, _cursor):
        received.append(entry.message)
        if entry.message == "from another process":
            arrived.set()

    instance.watch_event_logs(result.run_id, cursor, on_event)
    try:
        assert _append_from_another_process(result.run_id, "from another process") == 0
        assert arrived.wait(timeout=30), f"the watcher saw {received}"
    finally:
        instance.end_watch_event_logs(result.run_id, on_event)


def test_an_event_committed_before_a_sigkill_is_kept(instance):
    result = dg.materialize([daily], instance=instance, tags=RANGE_TAGS, run_config=QUIET)
    returncode = _append_from_another_process(result.run_id, "written, then killed", "kill")
    assert returncode == -signal.SIGKILL
    assert "written, then killed" in _messages(instance, result.run_id)
    with dg.DagsterInstance.get() as fresh:  # read through connections opened after the kill
        assert "written, then killed" in _messages(fresh, result.run_id)


def test_open_files_are_capped_and_wipe_closes_them_before_deleting(instance):
    storage = _event_log(instance)
    run_ids = [dg.materialize([one], instance=instance, run_config=QUIET).run_id for _ in range(MAX_OPEN_SHARDS + 2)]
    assert len(storage._engines) == MAX_OPEN_SHARDS  # the index file and the latest runs' files
    instance.report_engine_event("the first run's file again", instance.get_run_by_id(run_ids[0]))
    assert "the first run's file again" in _messages(instance, run_ids[0])
    assert len(storage._engines) == MAX_OPEN_SHARDS

    instance.wipe()
    assert set(storage._engines) <= {"index"}  # no handle left on a deleted run file (wipe reopens the index)
    rerun = dg.materialize([daily], instance=instance, tags=RANGE_TAGS, run_config=QUIET)
    assert rerun.success
    assert sorted(instance.get_materialized_partitions(dg.AssetKey("daily"))) == sorted(DAYS.get_partition_keys())


def test_without_dagster_home_or_base_dir_the_error_says_what_is_missing(monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    with pytest.raises(check.CheckError, match="DAGSTER_HOME is not set"):
        default_event_log_dir()


def test_open_instance_reads_a_home_dagster_home_does_not_name(instance, home, monkeypatch):
    result = dg.materialize([one], instance=instance, run_config=QUIET)
    for elsewhere in (None, str(home.parent / "another_home")):
        if elsewhere is None:
            monkeypatch.delenv("DAGSTER_HOME")
        else:
            monkeypatch.setenv("DAGSTER_HOME", elsewhere)
        with open_instance(home) as opened:
            assert opened.get_run_by_id(result.run_id) is not None
        assert os.environ.get("DAGSTER_HOME") == elsewhere  # restored


def test_an_index_table_found_once_is_not_looked_up_again(instance, monkeypatch):
    storage = _event_log(instance)
    lookups: list[str] = []
    dagsters = SqliteEventLogStorage.has_table

    def counted(self, table_name: str) -> bool:
        lookups.append(table_name)
        return dagsters(self, table_name)

    monkeypatch.setattr(SqliteEventLogStorage, "has_table", counted)
    storage._tables_present.clear()
    for _ in range(2):
        assert storage.has_table("asset_event_tags")
    for _ in range(2):
        assert not storage.has_table("no_such_table")
    assert lookups == ["asset_event_tags", "no_such_table", "no_such_table"]  # a no is asked again


#: Appends ``count`` engine events to an existing run from another process (argv: run id, tag, count).
APPEND_MANY = textwrap.dedent(
    """
    import sys
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        run = instance.get_run_by_id(sys.argv[1])
        for n in range(int(sys.argv[3])):
            instance.report_engine_event(f"{sys.argv[2]} {n}", run)
    """
)


def test_processes_writing_one_run_at_once_lose_no_event(instance):
    """Step processes and the run worker write the same run's file at once, each through its kept connection."""
    run_id = dg.materialize([one], instance=instance, run_config=QUIET).run_id
    per_writer = 150
    writers = [
        subprocess.Popen([sys.executable, "-c", APPEND_MANY, run_id, f"writer-{n}", str(per_writer)], env=os.environ)
        for n in range(2)
    ]
    run = instance.get_run_by_id(run_id)
    for n in range(per_writer):
        instance.report_engine_event(f"parent {n}", run)
    assert [writer.wait(timeout=300) for writer in writers] == [0, 0]
    messages = set(_messages(instance, run_id))
    for tag in ("parent", "writer-0", "writer-1"):
        assert {f"{tag} {n}" for n in range(per_writer)} <= messages, tag


def _what_the_ui_reads(instance: dg.DagsterInstance, run_id: str) -> dict[str, object]:
    """What the UI and sensors read back about a range run of ``daily``."""
    key = dg.AssetKey("daily")
    records = instance.fetch_materializations(key, limit=100).records
    latest = instance.get_latest_materialization_event(key)
    per_partition = {
        day: instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=[day]), limit=10
        ).records
        for day in DAYS.get_partition_keys()
    }
    return {
        "materialized": sorted(instance.get_materialized_partitions(key)),
        "records": sorted(record.partition_key for record in records),
        "latest": latest.dagster_event.partition if latest else None,
        "one_record_per_partition": {day: len(found) for day, found in per_partition.items()},
        "run_events": sorted(
            entry.dagster_event_type.value for entry in instance.all_logs(run_id) if entry.dagster_event_type
        ),
        "status_cache": sorted(instance.get_status_by_partition(key, DAYS.get_partition_keys(), DAYS).items()),
    }


def test_batched_events_read_back_as_dagsters_own_storage_stores_them(instance, tmp_path, monkeypatch):
    # `make run` sets DAGSTER_EVENT_BATCH_SIZE: Dagster then hands the storage a step's
    # per-partition materializations in batches. Here 8 partitions in batches of 3: 3 + 3 + 2.
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "3")
    monkeypatch.setattr(instance_storage, "ROWS_PER_INSERT", 2)  # a batch takes two inserts, one transaction
    latest_rows_written = []
    store_asset_event = KeptConnectionSqliteEventLogStorage._store_asset_event

    def counting(self, conn, event, event_id):
        if event.dagster_event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            latest_rows_written.append(event.dagster_event.partition)
        return store_asset_event(self, conn, event, event_id)

    monkeypatch.setattr(KeptConnectionSqliteEventLogStorage, "_store_asset_event", counting)
    batched = dg.materialize([daily], instance=instance, tags=RANGE_TAGS, run_config=QUIET)
    assert batched.success
    days = DAYS.get_partition_keys()
    # The asset's latest-event row is written once per batch of materializations, from its last.
    assert latest_rows_written == [days[2], days[5], days[7]]

    (tmp_path / "dagsters_default").mkdir()
    with dg.DagsterInstance.local_temp(str(tmp_path / "dagsters_default")) as default:
        assert isinstance(default.event_log_storage, SqliteEventLogStorage)
        assert not isinstance(default.event_log_storage, KeptConnectionSqliteEventLogStorage)
        reference = dg.materialize([daily], instance=default, tags=RANGE_TAGS, run_config=QUIET)
        expected = _what_the_ui_reads(default, reference.run_id)

    got = _what_the_ui_reads(instance, batched.run_id)
    assert got == expected
    assert got["materialized"] == days
    assert got["latest"] == days[-1]


def test_a_batch_of_mixed_events_is_stored_one_by_one(instance):
    run = instance.get_run_by_id(dg.materialize([one], instance=instance, run_config=QUIET).run_id)
    storage = _event_log(instance)
    mixed = [
        dg.EventLogEntry(
            error_info=None,
            level="INFO",
            user_message="",
            run_id=run.run_id,
            timestamp=1_700_000_000.0 + index,
            dagster_event=dg.DagsterEvent(
                event_type_value=dg.DagsterEventType.ASSET_MATERIALIZATION.value,
                job_name=run.job_name,
                event_specific_data=StepMaterializationData(dg.AssetMaterialization(asset_key=key)),
            ),
        )
        for index, key in enumerate(["a", "b"])
    ]
    storage.store_event_batch(mixed)  # two assets: each keeps its own latest event
    for key in ("a", "b"):
        latest = instance.get_latest_materialization_event(dg.AssetKey(key))
        assert latest is not None
        assert latest.run_id == run.run_id
