"""Benchmark 11: what the Dagster instance's storage costs a single-run backfill, per storage Dagster supports.

The same run each time: the four raw collections over the whole history of a 730-day emulator
(unthrottled) in one run (``python benchmarks/workloads.py backfill --instance persistent``:
in-process, every daily partition of the range), each time with a fresh DuckDB file and a fresh
DAGSTER_HOME whose ``dagster.yaml`` is the project's (pools, telemetry) plus one storage block:

- ``memory``: an in-memory instance (``DagsterInstance.ephemeral()``), nothing written: the run itself;
- ``sqlite``: Dagster's default SQLite storage (the project's ``event_log_storage`` block removed:
  one event-log file per run plus an index file, WAL journal, one connection per write);
- ``sqlite-kept``: the project's ``config/dagster.yaml`` as it is: the same files and tables through
  ``whoop_dagster.instance_storage.KeptConnectionSqliteEventLogStorage`` (connections kept open,
  ``synchronous=NORMAL``);
- ``sqlite-kept-planned-subset``: that, with ``DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS=true``
  as ``make run`` sets it;
- ``sqlite-kept-batched``: ``sqlite-kept`` with ``DAGSTER_EVENT_BATCH_SIZE=1000`` (the project's
  storage writes a batch of one asset's materializations at once);
- ``sqlite-kept-make-run``: both settings, as ``make run`` sets them: what its backfill stores;
- ``sqlite-consolidated``: ``ConsolidatedSqliteEventLogStorage`` (one event-log file for every run);
- ``sqlite-planned-subset``: the default SQLite storage with
  ``DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS=true``: one "materialization planned" event per
  asset for the range instead of one per partition (Dagster's own caveat: if the run fails, its
  partitions are not marked failed, only not materialized);
- ``sqlite-batched``: the default SQLite storage with ``DAGSTER_EVENT_BATCH_SIZE=1000``: Dagster
  hands a batch of events to ``store_event_batch``, which the SQLite storages do not implement
  (dagster 1.13: the base class stores the batch event by event);
- ``postgres``: dagster-postgres against a real PostgreSQL that this benchmark initialises,
  starts on 127.0.0.1 (a free port) and stops; one fresh database per run;
- ``postgres-batched``: the same with ``DAGSTER_EVENT_BATCH_SIZE=1000``, Dagster's setting that
  writes the events it emits in batches (the planned events of a run, a ranged output's
  per-partition materializations) with one ``store_event_batch`` call: dagster-postgres inserts a
  batch in one statement.

First, what one SQLite write costs on this disk, the way Dagster's SQLite storage writes (open a
connection, insert, commit, close; WAL journal, SQLite's default ``synchronous=FULL``), against
the same write with another connection held open (the last connection to close a WAL database
checkpoints it) and with ``synchronous=NORMAL``: neither is a setting Dagster's SQLite storage
exposes; ``sqlite-kept`` is the project's subclass that does both. Variants run in interleaved
rounds (order reversed every other round); medians, CPU time and the load average are reported.

    python benchmarks/bench_instance_storage.py [--repeat 2] [--variants memory,sqlite,postgres]
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from benchlib import (
    WORKLOADS,
    Measured,
    Section,
    api_env,
    benchmark_parser,
    emulator,
    full_history,
    log,
    median,
    publish,
    python_command,
    run_measured,
    table,
    workspace,
)

VARIANTS: dict[str, str] = {
    "memory": "in-memory instance (nothing stored)",
    "sqlite": "SQLite, Dagster's default `SqliteEventLogStorage`",
    "sqlite-kept": "SQLite, the project's `config/dagster.yaml` (`KeptConnectionSqliteEventLogStorage`)",
    "sqlite-kept-planned-subset": "SQLite kept connections + one planned event per asset",
    "sqlite-kept-batched": "SQLite kept connections + `DAGSTER_EVENT_BATCH_SIZE=1000` (batches stored at once)",
    "sqlite-kept-make-run": "SQLite kept connections + both settings (`make run`)",
    "sqlite-consolidated": "SQLite, `ConsolidatedSqliteEventLogStorage` (one event-log file)",
    "sqlite-planned-subset": "SQLite, default, `DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS=true`",
    "sqlite-batched": "SQLite, default, `DAGSTER_EVENT_BATCH_SIZE=1000`",
    "postgres": "PostgreSQL 127.0.0.1 via dagster-postgres, server defaults",
    "postgres-batched": "PostgreSQL via dagster-postgres, `DAGSTER_EVENT_BATCH_SIZE=1000`",
}
GOAL = 2.0
#: Dagster settings read from the environment, by variant.
ENV_OF: dict[str, dict[str, str]] = {
    "sqlite-planned-subset": {"DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "true"},
    "sqlite-kept-planned-subset": {"DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "true"},
    "sqlite-kept-batched": {"DAGSTER_EVENT_BATCH_SIZE": "1000"},
    "sqlite-kept-make-run": {
        "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "true",
        "DAGSTER_EVENT_BATCH_SIZE": "1000",
    },
    "sqlite-batched": {"DAGSTER_EVENT_BATCH_SIZE": "1000"},
    "postgres-batched": {"DAGSTER_EVENT_BATCH_SIZE": "1000"},
}
POSTGRES_BIN_DIRS = ("/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin")


@dataclass
class Attempt:
    variant: str
    round: int
    measured: Measured
    load: float
    report: dict[str, Any] = field(default_factory=dict)


def _pg_bin(name: str) -> str:
    for folder in POSTGRES_BIN_DIRS:
        if Path(folder, name).exists():
            return str(Path(folder, name))
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} not found (Debian: apt-get install postgresql)")
    return found


def _postgres_installed() -> bool:
    try:
        _pg_bin("initdb")
    except RuntimeError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Postgres:
    """A throwaway PostgreSQL cluster on 127.0.0.1, run as the ``postgres`` user when we are root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.port = _free_port()
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            # initdb and postgres refuse to run as root.
            self._as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(root, "postgres")

    def _run(self, *command: str) -> None:
        subprocess.run([*self._as_user, *command], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self._run(_pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync")
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root}"
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start")

    def stop(self) -> None:
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def create_database(self, name: str) -> str:
        self._run(_pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        # psycopg2 (dagster-postgres' driver): SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3.
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{name}"


@contextmanager
def postgres_server() -> Iterator[Postgres]:
    root = Path(tempfile.mkdtemp(prefix="whoop-bench-pg-"))
    server = Postgres(root)
    try:
        server.start()
        log(f"instance storage: PostgreSQL on 127.0.0.1:{server.port}")
        yield server
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)


def _storage_yaml(variant: str, home: Path, postgres: Postgres | None, database: str) -> str:
    if variant == "sqlite-consolidated":
        return (
            "event_log_storage:\n"
            "  module: dagster._core.storage.event_log\n"
            "  class: ConsolidatedSqliteEventLogStorage\n"
            f"  config:\n    base_dir: {home / 'history'}\n"
        )
    if variant.startswith("postgres"):
        assert postgres is not None
        return f"storage:\n  postgres:\n    postgres_url: {postgres.create_database(database)}\n"
    return ""


def _run(variant: str, round_: int, emu: Any, postgres: Postgres | None) -> Attempt:
    first, last = full_history(emu)
    with workspace(f"storage-{variant}") as ws:
        config = ws.dagster_home / "dagster.yaml"
        database = f"dagster_{variant.replace('-', '_')}_{round_}"
        project = yaml.safe_load(config.read_text())
        if not variant.startswith("sqlite-kept"):  # every other variant is Dagster's own storage
            project.pop("event_log_storage", None)
        config.write_text(yaml.safe_dump(project) + "\n" + _storage_yaml(variant, ws.dagster_home, postgres, database))
        out = ws.root / "backfill.json"
        instance = "memory" if variant == "memory" else "persistent"
        command = python_command(
            WORKLOADS, "--out", str(out), "backfill", "--first", str(first), "--last", str(last), "--instance", instance
        )
        load = os.getloadavg()[0]
        log(f"instance storage: {variant} (round {round_ + 1}, load {load:.2f})")
        extra = ENV_OF.get(variant, {})
        measured = run_measured(command, api_env(emu, ws, **extra)).check()
        return Attempt(variant, round_, measured, load, json.loads(out.read_text()))


def measure(repeat: int = 2, variants: tuple[str, ...] = tuple(VARIANTS)) -> Section:
    section = Section(
        "instance_storage", "11. Instance storage: a single-run backfill on each storage Dagster supports"
    )
    attempts: list[Attempt] = []
    skipped = ""
    if any(v.startswith("postgres") for v in variants) and not _postgres_installed():
        variants = tuple(v for v in variants if not v.startswith("postgres"))
        skipped = "PostgreSQL is not installed here (Debian: `apt-get install postgresql`): its rows were skipped."
    wants_postgres = any(v.startswith("postgres") for v in variants)
    with workspace("sqlite-writes") as scratch:
        write_costs = sqlite_write_costs(scratch.root)
    with emulator(days=730) as emu, postgres_server() if wants_postgres else _nothing() as postgres:
        first, last = full_history(emu)
        partitions = (last - first).days + 1
        for round_ in range(repeat):
            order = variants if round_ % 2 == 0 else tuple(reversed(variants))
            attempts += [_run(variant, round_, emu, postgres) for variant in order]

    by_variant = {v: [a for a in attempts if a.variant == v] for v in variants}
    base = by_variant.get("memory")
    base_wall = median(a.measured.wall_s for a in base) if base else float("nan")
    base_cpu = median(a.measured.cpu_s for a in base) if base else float("nan")
    rows = []
    for variant, runs in by_variant.items():
        wall = median(a.measured.wall_s for a in runs)
        cpu = median(a.measured.cpu_s for a in runs)
        rows.append(
            [
                VARIANTS[variant],
                f"{wall:,.1f} s",
                f"{wall / base_wall:.2f}x",
                f"{wall - base_wall:+,.1f} s",
                f"{cpu:,.1f} s",
                f"{cpu / base_cpu:.2f}x",
                f"{median(a.measured.peak_rss_mb for a in runs):,.0f} MB",
                ", ".join(f"{a.measured.wall_s:,.1f}" for a in runs),
                ", ".join(f"{a.load:.2f}" for a in runs),
                runs[0].report.get("run_events", "-"),
            ]
        )
    headers = [
        "instance storage",
        "wall (median)",
        "vs in-memory",
        "storage adds",
        "CPU (median)",
        "CPU vs in-memory",
        "peak RSS",
        "walls by round, s",
        "1-min load at start",
        "run events",
    ]
    notes = ["**Goal (same run)**", ""]
    if base:
        for variant, runs in by_variant.items():
            if variant == "memory":
                continue
            ratio = median(a.measured.wall_s for a in runs) / base_wall
            verdict = "met" if ratio <= GOAL else "not met"
            notes.append(
                f"- {VARIANTS[variant]}: **{ratio:.2f}x** the in-memory run "
                f"(goal <= {GOAL:.0f}x, i.e. storage adds at most the run itself: {verdict})."
            )
    section.add(
        f"What one SQLite write costs here ({SQLITE_WRITES} writes each, a fresh WAL database in the "
        "benchmarks' temporary folder, on the disk the workspaces use):",
        table(["way of writing", "wall per write", "CPU per write"], write_costs),
        f"Emulator: 730 days, seed 7, unthrottled; {partitions} daily partitions of the four raw collections "
        f"({first}...{last}) in one run per measurement. {repeat} interleaved rounds; medians. CPU is user + "
        "system time of the measured process (PostgreSQL's own server processes are not in it).",
        table(headers, rows),
        "\n".join(notes),
        *([skipped] if skipped else []),
    )
    if base:
        section.headlines.append(
            "; ".join(
                f"{variant} {median(a.measured.wall_s for a in runs) / base_wall:.2f}x"
                for variant, runs in by_variant.items()
                if variant != "memory"
            )
            + f" the in-memory run ({base_wall:,.1f} s; goal <= {GOAL:.0f}x)"
        )
    return section


#: Writes per way of writing in the SQLite measurement.
SQLITE_WRITES = 200
#: (name, keep another connection open, synchronous mode) of the SQLite measurement.
SQLITE_WAYS = (
    ("a connection per write, as Dagster's SQLite storage writes (WAL, `synchronous=FULL`)", False, None),
    ("the same, another connection held open (no checkpoint when a write's connection closes)", True, None),
    ("a connection per write, `synchronous=NORMAL`", False, "NORMAL"),
    ("both: another connection held open and `synchronous=NORMAL`", True, "NORMAL"),
)


def sqlite_write_costs(folder: Path, writes: int = SQLITE_WRITES) -> list[list[str]]:
    """Wall and CPU milliseconds per write (connect, insert ~1 KB, commit, close) for each of ``SQLITE_WAYS``."""
    rows = []
    for name, hold, synchronous in SQLITE_WAYS:
        path = folder / f"write-cost-{len(rows)}.db"
        with closing(sqlite3.connect(path)) as setup:
            setup.execute("PRAGMA journal_mode=WAL")
            setup.execute("CREATE TABLE event_logs (id INTEGER PRIMARY KEY, event TEXT)")
            setup.commit()
        holder = sqlite3.connect(path) if hold else None
        if holder is not None:
            holder.execute("SELECT count(*) FROM event_logs").fetchall()  # maps the WAL index: a reader
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(writes):
            with closing(sqlite3.connect(path, timeout=15)) as connection:
                if synchronous:
                    connection.execute(f"PRAGMA synchronous={synchronous}")
                connection.execute("INSERT INTO event_logs (event) VALUES (?)", ("x" * 1000,))
                connection.commit()
        wall_ms = (time.perf_counter() - started) / writes * 1000
        cpu_ms = (time.process_time() - cpu) / writes * 1000
        if holder is not None:
            holder.close()
        rows.append([name, f"{wall_ms:,.2f} ms", f"{cpu_ms:,.2f} ms"])
    return rows


@contextmanager
def _nothing() -> Iterator[None]:
    yield None


def main(argv: list[str] | None = None) -> int:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--repeat", type=int, default=2, help="interleaved rounds (default 2)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, from {', '.join(VARIANTS)}")
    args = parser.parse_args(argv)
    return publish(measure(args.repeat, tuple(v for v in args.variants.split(",") if v)))


if __name__ == "__main__":
    sys.exit(main())
