"""The local instance's event log: Dagster's SQLite storage, writing through connections it keeps.

Dagster's ``SqliteEventLogStorage`` opens a new engine and connection for every event it stores
and closes it afterwards. In WAL mode, closing the last connection to a file checkpoints the WAL
into the database and syncs it to disk, so each event costs two syncs and a fresh SQL compile:
1.56 ms a write on this project's 2-core machines against 0.06 ms through a kept connection, and
most of a long single-run backfill's time (benchmarks/RESULTS.md §11: 3.57x the in-memory run,
0.94x with this storage, 0.49x with ``make run``'s batches and planned events). This subclass
changes only how connections are made and batches written:

- one engine per shard file (the index and the most recent runs' files), kept between writes, so
  closing a write's connection no longer checkpoints and SQLAlchemy's statement cache applies;
- ``PRAGMA synchronous=NORMAL`` on its connections, SQLite's recommended setting for WAL: a commit
  is durable once the WAL is synced at the next checkpoint; a power cut can lose the last few
  events, never corrupt the file, and a crash of the process loses nothing;
- a batch of one asset's per-partition events (``DAGSTER_EVENT_BATCH_SIZE``, which ``make run``
  and ``make dev`` set) stored at once, as dagster-postgres stores its batches, instead of one
  event at a time: a raw step over 730 days 0.7 s instead of 1.6 s.

Tables, files and layout are Dagster's own (the same ``history/runs/`` folder), so an existing
DAGSTER_HOME keeps its history and can switch back by removing the ``event_log_storage`` block.
Team deployments use Postgres (dagster-postgres) or Dagster+; see the README's "Instance storage".
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import dagster as dg
import dagster._check as check
from dagster import Field, StringSource
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SqliteEventLogStorage,
    SqliteEventLogStorageWatchdog,
)
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._serdes import ConfigurableClassData
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool
from watchdog.observers import Observer

#: Engines kept open at once: the index file plus the files of the runs this process writes or
#: reads most recently (a run writes its own file for as long as it lasts).
MAX_OPEN_SHARDS = 8


def default_event_log_dir() -> str:
    """Where Dagster's default SQLite storage keeps event logs: ``$DAGSTER_HOME/history/runs``."""
    home = os.environ.get("DAGSTER_HOME")
    if not home:
        raise check.CheckError(
            "DAGSTER_HOME is not set: KeptConnectionSqliteEventLogStorage keeps its files in "
            "$DAGSTER_HOME/history/runs. Set DAGSTER_HOME to the instance's folder (or open it with "
            "whoop_dagster.instance_storage.open_instance), or give event_log_storage a base_dir."
        )
    return os.path.join(os.path.abspath(home), "history", "runs")


def open_instance(home: str | os.PathLike[str]) -> dg.DagsterInstance:
    """``DagsterInstance.from_config(home)`` for a DAGSTER_HOME whose dagster.yaml may name this storage.

    The storage finds its folder through ``DAGSTER_HOME``, which callers of ``from_config`` need
    not have set: it points at ``home`` while the instance is built (its storages are built then).
    """
    previous = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = os.fspath(home)
    try:
        return dg.DagsterInstance.from_config(os.fspath(home))
    finally:
        if previous is None:
            del os.environ["DAGSTER_HOME"]
        else:
            os.environ["DAGSTER_HOME"] = previous


def _wal_normal_sync(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


#: Rows per multi-row insert: well under SQLite's limit of 32,766 bound values (8 per event row),
#: whatever DAGSTER_EVENT_BATCH_SIZE a user sets.
ROWS_PER_INSERT = 500

#: The event types a batch may hold to be stored at once (the others go one by one).
_BATCHED_TYPES = frozenset({dg.DagsterEventType.ASSET_MATERIALIZATION, dg.DagsterEventType.ASSET_OBSERVATION})


def _is_one_asset_event_batch(events: Sequence[dg.EventLogEntry]) -> bool:
    """Whether ``events`` are materializations (or observations) of one asset, from one run."""
    if len(events) < 2:
        return False
    kinds = {event.dagster_event_type for event in events}
    keys = {event.dagster_event.asset_key if event.dagster_event else None for event in events}
    return (
        len(kinds) == 1
        and kinds <= _BATCHED_TYPES
        and len(keys) == 1
        and None not in keys
        and len({event.run_id for event in events}) == 1
    )


class _WalAwareWatchdog(SqliteEventLogStorageWatchdog):
    """Dagster's watcher of a run's event file, also woken by writes to its WAL file.

    Dagster's watcher reacts to changes of ``<run_id>.db``, which a closing connection's
    checkpoint used to touch after every event. With connections kept open, new events land in
    ``<run_id>.db-wal`` until the next checkpoint, so the UI's live run log watches both.
    """

    @property
    def patterns(self) -> list[str]:
        return [self._log_path, f"{self._log_path}-wal"]

    def on_modified(self, event: Any) -> None:  # Dagster's own checks the path is the .db file
        self._process_log()


class KeptConnectionSqliteEventLogStorage(SqliteEventLogStorage):
    """SQLite event log storage that keeps its connections open and syncs WAL commits lazily.

    Configured in ``dagster.yaml`` (``config/dagster.yaml``)::

        event_log_storage:
          module: whoop_dagster.instance_storage
          class: KeptConnectionSqliteEventLogStorage

    ``base_dir`` is optional and defaults to Dagster's own ``$DAGSTER_HOME/history/runs``.
    """

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        # Set before Dagster's __init__, which may already connect (creating the index file).
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_pid = os.getpid()
        self._tables_present: set[str] = set()
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def config_type(cls) -> Mapping[str, Field]:
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> KeptConnectionSqliteEventLogStorage:
        return cls(config_value.get("base_dir") or default_event_log_dir(), inst_data=inst_data)

    def _engine_for(self, shard: str) -> Engine:
        """The shard's kept engine (most recently used last); the least recently used beyond the cap closes."""
        if self._engines_pid != os.getpid():
            # A forked child must not use its parent's SQLite handles; drop them without closing.
            for engine in self._engines.values():
                engine.dispose(close=False)
            self._engines.clear()
            self._engines_pid = os.getpid()
        engine = self._engines.pop(shard, None)
        if engine is None:
            engine = create_engine(
                self.conn_string_for_shard(shard),
                pool_size=1,  # one connection in use at a time: Dagster's _db_lock serialises them
                max_overflow=0,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            )
            event.listen(engine, "connect", _wal_normal_sync)
        self._engines[shard] = engine
        while len(self._engines) > MAX_OPEN_SHARDS:
            _, oldest = self._engines.popitem(last=False)
            oldest.dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        # Dagster's _connect, with a kept engine instead of a new one disposed after each use.
        with self._db_lock:
            check.str_param(shard, "shard")
            engine = self._engine_for(shard)
            if shard not in self._initialized_dbs:
                # Dagster's initialisation holds two connections at once: give it its own engine.
                initialising = create_engine(
                    self.conn_string_for_shard(shard),
                    poolclass=NullPool,
                    connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
                )
                try:
                    self._initdb(initialising)
                finally:
                    initialising.dispose()
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def has_table(self, table_name: str) -> bool:
        """Dagster's check that an index table exists, remembering a yes.

        Dagster asks it before storing every asset event's tags and opens a new engine (and reflects
        the schema) to answer: 13% of a 733-partition backfill's samples. Migrations only ever add
        tables, so a table once present stays present for this process.
        """
        if table_name in self._tables_present:
            return True
        present = super().has_table(table_name)
        if present:
            self._tables_present.add(table_name)
        return present

    def store_event_batch(self, events: Sequence[dg.EventLogEntry]) -> None:
        """Store a batch of one asset's materializations (or observations) from one run at once.

        Dagster hands the storage batches of the per-partition events of a multi-partition step
        when ``DAGSTER_EVENT_BATCH_SIZE`` is set (``make run`` sets it); its SQLite storage then
        stores them one by one. Here a batch is one multi-row insert into the run's file and one
        transaction on the index, whose per-asset row (the latest event) is written once, from the
        batch's last event, as dagster-postgres does for its batches. Any other batch (mixed event
        types, assets or runs) is stored one event at a time, as Dagster's own storage does.
        """
        if not _is_one_asset_event_batch(events):
            super().store_event_batch(events)
            return
        with self.run_connection(events[0].run_id) as conn:  # one transaction, whatever the chunks
            for start in range(0, len(events), ROWS_PER_INSERT):
                conn.execute(self.prepare_insert_event_batch(events[start : start + ROWS_PER_INSERT]))
        with self.index_transaction() as conn:
            # One statement per event for its id (a multi-row RETURNING has no guaranteed order).
            event_ids = [conn.execute(self.prepare_insert_event(e)).inserted_primary_key[0] for e in events]
            if any(event_id is None for event_id in event_ids):
                raise dg.DagsterInvariantViolationError("Cannot store asset event tags for null event id.")
            self._store_asset_event_tags(conn, events, event_ids)
            self._store_asset_event(conn, events[-1], event_ids[-1])

    def _close_engines(self) -> None:
        with self._db_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()

    def watch(self, run_id: str, cursor: str | None, callback: Any) -> None:
        """Dagster's watch of a run's events (the UI's live log), with the WAL-aware watcher."""
        if not self._obs:
            self._obs = Observer()
            self._obs.start()
        watchdog = _WalAwareWatchdog(self, run_id, callback, cursor)
        self._watchers[run_id][callback] = (watchdog, self._obs.schedule(watchdog, self._base_dir, recursive=True))

    def wipe(self) -> None:
        self._close_engines()  # the run files are deleted: no handle may stay on them
        super().wipe()

    def dispose(self) -> None:
        super().dispose()
        self._close_engines()
