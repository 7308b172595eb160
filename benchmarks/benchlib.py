"""Shared plumbing of the benchmarks: measured subprocesses, the emulator, workspaces, RESULTS.md.

Every measured thing runs as its own process: wall time is ``time.perf_counter``
around it, peak memory is the ``ru_maxrss`` that ``os.wait4`` reports for that one
child (the largest resident set of the child and of the processes it waited for,
e.g. ``dbt``). The emulator runs in the benchmark's own process on 127.0.0.1, so
its request log is the ground truth of what the measured process asked the API.
Each workspace (``DAGSTER_HOME``, DuckDB file, token file) is a fresh temporary
directory: the benchmarks never touch ``.dagster_home/`` or ``data/``.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from datetime import time as dtime
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO / "benchmarks"
RESULTS = BENCH_DIR / "RESULTS.md"
#: The workloads every benchmark measures as separate processes (``python workloads.py --help``).
WORKLOADS = str(BENCH_DIR / "workloads.py")
VENV_BIN = Path(sys.executable).parent
PAGE_SIZE = 25
COLLECTIONS = ("cycle", "sleep", "recovery", "workout")
RAW_COLLECTION_KEYS = ",".join(f"raw/{name}" for name in COLLECTIONS)
#: Run config that executes every step in the run's own process (what `whoop-dagster demo` does).
IN_PROCESS = '{"execution": {"config": {"in_process": {}}}}'
#: Limits high enough that the emulator never throttles (benchmarks other than rate limits).
UNTHROTTLED = {"rate_limit_per_minute": 1_000_000, "rate_limit_per_day": 100_000_000}
DATA_PREFIX = "/developer/v2/"


def log(message: str) -> None:
    """Progress on stderr (stdout of a benchmark stays its report)."""
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- measured subprocesses -------------------------------------------------------------------


@dataclass
class Measured:
    """One finished child process."""

    command: list[str]
    wall_s: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str
    started: datetime
    finished: datetime
    #: Largest sum of the resident sets of every process in the child's session, sampled every
    #: ``SAMPLE_S`` (0 when not sampled): the whole tree at once, e.g. Dagster + dbt together.
    peak_tree_rss_mb: float = 0.0
    #: User + system CPU time of the child process (not of its own children): less sensitive
    #: than wall time to other work on a shared machine.
    cpu_s: float = 0.0

    def check(self) -> Measured:
        """Raise with the child's last output when it failed."""
        if self.returncode != 0:
            tail = "\n".join((self.stdout + "\n" + self.stderr).strip().splitlines()[-40:])
            raise RuntimeError(f"{' '.join(self.command)} exited with {self.returncode}:\n{tail}")
        return self


SAMPLE_S = 0.2


def run_measured(
    command: Sequence[str],
    env: Mapping[str, str],
    *,
    timeout_s: float = 3600,
    cwd: Path | None = None,
    sample_tree: bool = False,
) -> Measured:
    """Run ``command`` in its own process; wall time and the peak RSS of that process tree's largest member.

    ``sample_tree`` also polls ``/proc`` for the summed RSS of every process in the child's
    session (``peak_tree_rss_mb``); ``ru_maxrss`` alone is the largest single process.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = datetime.now(timezone.utc)
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            list(command), env=dict(env), cwd=cwd or REPO, stdout=out, stderr=err, start_new_session=True
        )
        timer = threading.Timer(timeout_s, _kill_group, args=(proc.pid,))
        timer.start()
        sampler = _TreeSampler(proc.pid) if sample_tree else None
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
            if sampler:
                sampler.stop()
        wall = time.perf_counter() - t0
        finished = datetime.now(timezone.utc)
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here; keep Popen from waiting again
        out.seek(0)
        err.seek(0)
        return Measured(
            command=list(command),
            wall_s=wall,
            peak_rss_mb=usage.ru_maxrss / 1024,  # Linux reports KiB
            returncode=proc.returncode,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
            started=started,
            finished=finished,
            peak_tree_rss_mb=sampler.peak_mb if sampler else 0.0,
            cpu_s=usage.ru_utime + usage.ru_stime,
        )


class _TreeSampler(threading.Thread):
    """Polls the summed RSS of the processes whose session id is ``sid`` (the measured child's)."""

    def __init__(self, sid: int) -> None:
        super().__init__(daemon=True)
        self.sid = sid
        self.peak_mb = 0.0
        self._halt = threading.Event()
        self._page_kb = os.sysconf("SC_PAGE_SIZE") / 1024
        self.start()

    def run(self) -> None:
        while not self._halt.is_set():
            self.peak_mb = max(self.peak_mb, self._sample())
            self._halt.wait(SAMPLE_S)

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def _sample(self) -> float:
        total_kb = 0.0
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_text()
                fields = stat[stat.rindex(")") + 2 :].split()
                if int(fields[3]) != self.sid:  # fields after the command: state ppid pgrp session ...
                    continue
                total_kb += int(Path(entry.path, "statm").read_text().split()[1]) * self._page_kb
            except (OSError, ValueError, IndexError):
                continue
        return total_kb / 1024


def _kill_group(pid: int) -> None:
    # Only the process group this module started (start_new_session=True above).
    with suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def run_output(measured: Measured) -> str:
    """What ``whoop-dagster demo`` printed plus its full log file (library logs, e.g. the client's
    rate-limit pauses, go only to that file, whose path the terminal names)."""
    text = measured.stdout + measured.stderr
    found = re.search(r"^Full log: (\S+)$", text, re.MULTILINE)
    if found and Path(found[1]).exists():
        text += "\n" + Path(found[1]).read_text(errors="replace")
    return text


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


def python_command(*args: str) -> list[str]:
    return [sys.executable, *args]


def tool(name: str) -> str:
    """A console script of the benchmark's virtualenv (``dagster``, ``whoop-dagster``)."""
    return str(VENV_BIN / name)


# --- environment -----------------------------------------------------------------------------

_PROJECT_VARIABLES = ("WHOOP_", "DAGSTER_", "SNOWFLAKE_", "DBT_")


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any project setting, the venv first on PATH, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_PROJECT_VARIABLES)}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONWARNINGS"] = "ignore"
    env.update(extra)
    return env


@dataclass
class Workspace:
    """A throwaway DAGSTER_HOME (with the project's instance settings), DuckDB file and token file."""

    root: Path

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster_home"

    @property
    def duckdb_path(self) -> Path:
        # dbt names the DuckDB catalog after the file: keep it called whoop.duckdb.
        return self.root / "warehouse" / "whoop.duckdb"

    @property
    def token_store(self) -> Path:
        return self.root / "whoop_tokens.json"

    def env(self, **extra: str) -> dict[str, str]:
        return clean_env(
            DAGSTER_HOME=str(self.dagster_home),
            WHOOP_DUCKDB_PATH=str(self.duckdb_path),
            WHOOP_TOKEN_STORE=str(self.token_store),
            DBT_LOG_PATH=str(self.root / "dbt_logs"),
            **extra,
        )


@contextmanager
def workspace(name: str) -> Iterator[Workspace]:
    """A fresh workspace, deleted afterwards."""
    root = Path(tempfile.mkdtemp(prefix=f"whoop-bench-{name}-"))
    try:
        ws = Workspace(root)
        ws.dagster_home.mkdir()
        ws.duckdb_path.parent.mkdir()
        shutil.copy(REPO / "config" / "dagster.yaml", ws.dagster_home / "dagster.yaml")
        yield ws
    finally:
        shutil.rmtree(root, ignore_errors=True)


# --- the emulator ----------------------------------------------------------------------------


def frozen_now() -> datetime:
    """The emulator's frozen clock: 30 hours behind the real one.

    Partitions end today (real clock) and sensors window on the real clock; freezing
    30 h back leaves room to advance the emulator by a day and stay inside both.
    """
    return datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(hours=30)


@contextmanager
def emulator(days: int = 730, seed: int = 7, *, throttled: bool = False, **config: Any) -> Iterator[Any]:
    """A frozen-clock emulator on 127.0.0.1 in this process, its timeline generated before any timing."""
    from whoop_dagster.emulator import EmulatorConfig, run_emulator

    limits = {} if throttled else UNTHROTTLED
    with run_emulator(EmulatorConfig(seed=seed, days=days, now=frozen_now(), **limits, **config), port=0) as emu:
        for name in COLLECTIONS:
            emu.dataset.records(name)  # builds the timeline now, not during the first measured request
        yield emu


def api_env(emu: Any, ws: Workspace, *, requests_per_minute: int = 1_000_000, **extra: str) -> dict[str, str]:
    """Environment of a child that runs the project against ``emu`` as a real OAuth app (not demo mode)."""
    return ws.env(
        WHOOP_DEPLOYMENT="local",
        WHOOP_CLIENT_ID=emu.client_id,
        WHOOP_CLIENT_SECRET=emu.client_secret,
        WHOOP_REDIRECT_URI=emu.redirect_uri,
        WHOOP_API_BASE_URL=emu.api_base_url,
        WHOOP_OAUTH_BASE_URL=emu.oauth_base_url,
        WHOOP_REFRESH_TOKEN=emu.issue_refresh_token(),
        WHOOP_START_DATE=emu.dataset.join_date.isoformat(),
        WHOOP_REQUESTS_PER_MINUTE=str(requests_per_minute),
        **extra,
    )


def today() -> date:
    return datetime.now(timezone.utc).date()


def day_start(day: date) -> datetime:
    return datetime.combine(day, dtime.min, tzinfo=timezone.utc)


def full_history(emu: Any) -> tuple[date, date]:
    """First and last daily partition of the whole history: the members' join date … today."""
    return emu.dataset.join_date, today()


def window_counts(emu: Any, start: datetime | None, end: datetime | None) -> dict[str, int]:
    """Records each collection returns for the window [start, end) (None: open), from the emulator's truth."""
    now_ms = emu.clock.now_ms()
    counts = {}
    for name in COLLECTIONS:
        records, _ = emu.dataset.page(
            name,
            0,
            start_ms=_ms(start) if start else None,
            end_ms=_ms(end) if end else now_ms,
            now_ms=now_ms,
            before=None,
            limit=10**9,
        )
        counts[name] = len(records)
    return counts


def window_records(emu: Any, name: str, start: datetime | None, end: datetime | None = None) -> list[dict]:
    """The records of collection ``name`` the API returns for [start, end)."""
    now_ms = emu.clock.now_ms()
    records, _ = emu.dataset.page(
        name,
        0,
        start_ms=_ms(start) if start else None,
        end_ms=_ms(end) if end else now_ms,
        now_ms=now_ms,
        before=None,
        limit=10**9,
    )
    return records


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def min_requests(records: int) -> int:
    """The fewest page requests that can return ``records`` records at 25 a page (an empty answer is one)."""
    return max(1, math.ceil(records / PAGE_SIZE))


def data_entries(entries: Iterable[Any], since: datetime | None = None, until: datetime | None = None) -> list[Any]:
    """Data requests (``/developer/v2/...``) of the emulator's log, optionally within a time slice."""
    return [
        entry
        for entry in entries
        if entry.path.startswith(DATA_PREFIX)
        and (since is None or entry.timestamp >= since)
        and (until is None or entry.timestamp <= until)
    ]


def data_requests(entries: Iterable[Any], since: datetime | None = None, until: datetime | None = None) -> Counter:
    """Data requests in the emulator's log by route, optionally within a time slice."""
    return Counter(entry.route for entry in data_entries(entries, since, until))


def data_statuses(entries: Iterable[Any], since: datetime | None = None, until: datetime | None = None) -> Counter:
    """HTTP statuses of the data requests in the emulator's log."""
    return Counter(entry.status for entry in data_entries(entries, since, until))


def route_endpoint(route: str) -> str:
    """The collection or object a data route reads (``GET /developer/v2/activity/sleep/{id}`` → ``sleep by id``)."""
    path = route.split(" ", 1)[-1][len("/developer") :]
    from whoop_dagster.whoop_api.endpoints import ENDPOINTS

    for endpoint in ENDPOINTS.values():
        if path == endpoint.path:
            return endpoint.name
        if endpoint.by_id_path and path == re.sub(r"\{[a-z0-9_]+\}", "{id}", endpoint.by_id_path):
            return f"{endpoint.name} by id"
    return path


def by_endpoint(counts: Mapping[str, int]) -> Counter:
    result: Counter = Counter()
    for route, n in counts.items():
        result[route_endpoint(route)] += n
    return result


# --- machine facts and RESULTS.md ------------------------------------------------------------

_PACKAGES = (
    "dagster",
    "dagster-dbt",
    "dagster-snowflake",
    "dbt-core",
    "dbt-duckdb",
    "duckdb",
    "pandas",
    "scikit-learn",
    "requests",
    "dlt",
)


def machine_facts() -> dict[str, str]:
    """CPU, cores, RAM, OS, Python, package versions and the commit measured."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    versions = []
    for package in _PACKAGES:
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} (not installed)")
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "ram": ram,
        "os": platform.platform(),
        "python": platform.python_version(),
        "packages": ", ".join(versions),
        "commit": _commit(),
    }


def _commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head} + uncommitted changes" if dirty else head


def machine_line(facts: Mapping[str, str] | None = None) -> str:
    f = facts or machine_facts()
    return (
        f"{f['cpu']}, {f['cores']} cores, {f['ram']} RAM; {f['os']}; Python {f['python']}; "
        f"commit {f['commit']}; {f['packages']}"
    )


def command_line() -> str:
    """The command that produced a section, as typed from the repository root."""
    script = Path(sys.argv[0]).resolve()
    try:
        shown = script.relative_to(REPO)
    except ValueError:
        shown = script
    return " ".join(["python", str(shown), *sys.argv[1:]])


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


@dataclass
class Section:
    """One benchmark's part of RESULTS.md."""

    key: str
    title: str
    body: list[str] = field(default_factory=list)
    #: 1-minute load average when the benchmark started: other work on the machine skews timings.
    load_at_start: float = field(default_factory=lambda: os.getloadavg()[0])
    #: One-line results for the summary at the top of RESULTS.md (``run_all.py``).
    headlines: list[str] = field(default_factory=list)

    def add(self, *blocks: str) -> None:
        self.body.extend(blocks)

    def render(self, command: str, facts: Mapping[str, str] | None = None) -> str:
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        head = [
            f"## {self.title}",
            "",
            f"_Measured {stamp} with `{command}` on {machine_line(facts)}; "
            f"1-min load average {self.load_at_start:.2f} at the start, {os.getloadavg()[0]:.2f} at the end._",
            "",
        ]
        return "\n".join([*head, *"\n\n".join(self.body).splitlines()]).rstrip() + "\n"


def _markers(key: str) -> tuple[str, str]:
    return f"<!-- BEGIN bench:{key} -->", f"<!-- END bench:{key} -->"


HEADER = """# Benchmark results

Written by the scripts in `benchmarks/`: `make bench` runs them all through `benchmarks/run_all.py`,
which rewrites this file; each script also runs alone (the command in its section) and then
rewrites only its own section. Timings are whole processes; ratios are against baselines
measured in the same run; nothing asserts on time. `benchmarks/README.md` explains the method.
"""


def write_section(
    section: Section, *, command: str | None = None, facts: Mapping[str, str] | None = None, top: bool = False
) -> None:
    """Replace ``section`` in RESULTS.md, or add it (first with ``top``, else last), keeping everything else."""
    begin, end = _markers(section.key)
    block = f"{begin}\n{section.render(command or command_line(), facts)}{end}"
    text = RESULTS.read_text() if RESULTS.exists() else HEADER
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    first = text.find("<!-- BEGIN bench:")
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    elif top and first >= 0:
        text = text[:first] + block + "\n\n" + text[first:]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    RESULTS.write_text(text)


def benchmark_parser(doc: str | None) -> argparse.ArgumentParser:
    """The command-line parser of a benchmark script, its module docstring as the help text."""
    return argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)


def publish(section: Section) -> int:
    """Write ``section`` into RESULTS.md and print it; the script's exit status."""
    write_section(section)
    print(section.render(command_line()))
    return 0
