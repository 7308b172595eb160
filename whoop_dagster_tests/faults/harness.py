"""The fault lab: the real raw assets against the emulator over HTTP and a DuckDB file, with one fault at a time.

Every scenario ends the same way (``FaultLab.conclude``): classify what the faulty run
did (recovered, or failed with an error that names the endpoint or table and the
partitions, leaving the previous rows untouched), make a plain re-run, compare every raw
table to the emulator's truth (missing, duplicated, stale or extra records), prove the
stored refresh token still works at the emulator, scan everything the scenario logged for
issued secrets, and add a row to the summary table.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import dagster as dg
import pytest

from whoop_dagster.defs.raw.assets import build_raw_assets
from whoop_dagster.defs.raw.partitions import DayRange
from whoop_dagster.defs.raw.sensors import RANGE_END_TAG, RANGE_START_TAG
from whoop_dagster.resources import WhoopApiResource
from whoop_dagster.warehouse.duckdb import DuckDBWarehouse
from whoop_dagster.whoop_api.auth import OAuthApp, TokenManager
from whoop_dagster.whoop_api.client import WhoopClient
from whoop_dagster.whoop_api.endpoints import COLLECTION_ENDPOINTS, ENDPOINTS, SINGLE_OBJECT_ENDPOINTS, Endpoint
from whoop_dagster.whoop_api.errors import WhoopError
from whoop_dagster.whoop_api.token_store import FileTokenStore
from whoop_dagster_tests.faults.child import READY
from whoop_dagster_tests.faults.summary import REPO_ROOT, SummaryRow
from whoop_dagster_tests.support.whoop import days_ago, frozen_partitions_def, truth_by_partition

RAW_ASSETS = build_raw_assets(frozen_partitions_def(), "duckdb")
ALL_RAW = "group:whoop_raw"

#: Days of history the emulator serves, and the partition range every run loads: more than
#: 25 days, so each collection takes at least two pages and a fault can hit "page 2".
HISTORY_DAYS = 30
RANGE_DAYS = 28

#: Evidence that the secret scan covers each source: urllib3's DEBUG log, our client's DEBUG log,
#: the token manager's log, and materialization metadata in the Dagster event log.
#: What every scenario's logs hold (the last check of the stored login makes these calls), and
#: what they hold once a raw run ran in this process (a seed whose only run is a child killed
#: inside dbt or an ML write reads no page here).
SCAN_MUST_SEE = ("Starting new HTTP connection", "WHOOP access token")
SCAN_MUST_SEE_AFTER_A_RAW_RUN = ("page of", "whoop/api_requests")

#: How long the lab's warehouse waits for a DuckDB file held by another process.
LOCK_WAIT_SECONDS = 2.0

RECOVERED = "recovered"
FAILED_CLEARLY = "failed clearly"
KILLED = "killed, previous rows kept"


@dataclass
class Tally:
    """How a warehouse differs from the emulator's truth for the loaded range."""

    missing: int = 0
    duplicated: int = 0
    stale_or_extra: int = 0
    per_table: dict[str, tuple[int, int, int]] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return self.missing == self.duplicated == self.stale_or_extra == 0

    def add(self, table: str, missing: int, duplicated: int, stale_or_extra: int) -> None:
        self.missing += missing
        self.duplicated += duplicated
        self.stale_or_extra += stale_or_extra
        if missing or duplicated or stale_or_extra:
            self.per_table[table] = (missing, duplicated, stale_or_extra)


@dataclass
class RunOutcome:
    """A finished ``dg.materialize`` and its failed steps' error messages (exception chain, no stacks)."""

    result: dg.ExecuteInProcessResult
    failures: dict[str, list[str]]

    @property
    def success(self) -> bool:
        return self.result.success

    def first_error(self) -> str:
        """The error of the failed ``raw__cycle`` step (else the first failed step), as ``Class: message``.

        That is the cause Dagster wrapped, without its module path, for the summary table.
        """
        step = "raw__cycle" if "raw__cycle" in self.failures else next(iter(self.failures), None)
        if step is None:
            return ""
        messages = self.failures[step]
        ours = [m for m in messages if not m.startswith("dagster.")] or messages
        name, _, text = ours[0].partition(": ")
        return f"{step}: {name.rsplit('.', 1)[-1]}: {text}"


def error_messages(error: Any) -> list[str]:
    """The messages of a ``SerializableErrorInfo`` and its causes, outermost first (no stack traces)."""
    messages: list[str] = []
    pending = [error]
    while pending:
        current = pending.pop(0)
        if current is None:
            continue
        messages.append(" ".join(str(current.message).split()))
        pending += [current.cause, current.context]
    return messages


def _key(endpoint: Endpoint, row: dict[str, Any]) -> str:
    """A raw row's record id, spelled as ``Endpoint.record_id`` spells it (``cycle_id/sleep_id``)."""
    return "/".join(row[column] for column in endpoint.id_columns)


def endpoint_of_step(step_key: str) -> Endpoint:
    """``raw__cycle`` → the cycle endpoint."""
    return ENDPOINTS[step_key.removeprefix("raw__")]


def unclear(step_key: str, messages: list[str], days: DayRange) -> str | None:
    """Why a step's error is not clear enough (None if it names what it must).

    A clear error names the endpoint (``endpoint=cycle``) or its table (``raw.cycle``) and,
    for partitioned assets, the partitions (their first and last day, or the exclusive end).
    """
    endpoint = endpoint_of_step(step_key)
    text = " | ".join(messages)
    problems = []
    if f"endpoint={endpoint.name}" not in text and f"raw.{endpoint.name}" not in text:
        problems.append(f"neither endpoint={endpoint.name} nor raw.{endpoint.name}")
    if endpoint.collection:
        last_days = {days.last.isoformat(), days.end.isoformat()}
        if days.first.isoformat() not in text or not any(day in text for day in last_days):
            problems.append(f"not the partitions {days}")
    if not problems:
        return None
    return f"{step_key}: the error names {' and '.join(problems)}: {text[:300]!r}"


def capture_issued_secrets(emu: Any, secrets: set[str]) -> None:
    """Add every authorization code and token the emulator issues from now on to ``secrets``.

    Wraps the two public entry points of the emulator's OAuth server on this instance:
    ``authorize`` (its redirect carries the code) and ``token`` (its answer carries the pair).
    Children processes talk to the same emulator, so their tokens are caught too.
    """
    oauth = emu.oauth
    authorize, token = oauth.authorize, oauth.token

    def authorize_and_remember(params: Any) -> str:
        location = authorize(params)
        secrets.update(parse_qs(urlsplit(location).query).get("code", []))
        return location

    def token_and_remember(form: Any, authorization: str | None = None) -> dict[str, object]:
        answer = token(form, authorization)
        secrets.update(str(answer[key]) for key in ("access_token", "refresh_token") if answer.get(key))
        return answer

    oauth.authorize = authorize_and_remember
    oauth.token = token_and_remember


@dataclass
class RequestHook:
    """Set by ``on_data_request``: whether the action ran, and what it raised."""

    fired: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


@contextmanager
def on_data_request(emu: Any, nth: int, action: Callable[[], None], path: str = "/v2/") -> Iterator[RequestHook]:
    """Run ``action`` inside the emulator while it handles the ``nth`` data request to ``path``.

    The action runs in the emulator's handler thread after the rate limiter and before the
    bearer token is checked, while the client waits for its answer: so "the token expired"
    or "another process rotated the refresh token" happens at an exact point of the run.
    """
    hook = RequestHook()
    match = emu.faults.match
    counter = itertools.count(1)

    def match_and_act(request_path: str) -> Any:
        if path in request_path and next(counter) == nth:
            try:
                action()
            except BaseException as err:  # reported by the test, not swallowed as an emulator 500
                hook.error = err
            hook.fired.set()
        return match(request_path)

    emu.faults.match = match_and_act
    try:
        yield hook
    finally:
        del emu.faults.match  # the instance attribute hid the method; removing it restores it


class FaultLab:
    """One scenario's emulator, token file, DuckDB file, Dagster instance and everything they logged."""

    def __init__(self, emu: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture, summary: list[SummaryRow]):
        self.emu = emu
        self.tmp_path = tmp_path
        self.caplog = caplog
        self.summary = summary
        self.started = time.monotonic()
        self.secrets: set[str] = {emu.client_secret}
        capture_issued_secrets(emu, self.secrets)
        self.seed_refresh_token = emu.issue_refresh_token()
        self.token_path = tmp_path / "whoop_tokens.json"
        self.duckdb_path = tmp_path / "whoop.duckdb"
        self.days = DayRange(days_ago(RANGE_DAYS - 1), days_ago(0))
        self.instance = dg.DagsterInstance.ephemeral()
        self.runs: list[RunOutcome] = []
        #: Output of child processes and anything else to scan for secrets.
        self.texts: list[str] = []

    # -- resources and runs ----------------------------------------------------------------

    def whoop(self, **overrides: Any) -> WhoopApiResource:
        """The WHOOP resource on the emulator's OAuth app, with tokens in this lab's file."""
        return WhoopApiResource(**{**self.whoop_config(), **overrides})

    def whoop_config(self) -> dict[str, Any]:
        emu = self.emu
        return {
            "api_base_url": emu.api_base_url,
            "oauth_base_url": emu.oauth_base_url,
            "client_id": emu.client_id,
            "client_secret": emu.client_secret,
            "redirect_uri": emu.redirect_uri,
            "refresh_token": self.seed_refresh_token,
            "token_store_path": str(self.token_path),
        }

    def warehouse(self, path: Path | None = None) -> DuckDBWarehouse:
        # The warehouse waits for a file another process holds (10 min by default); the lock
        # scenarios hold it for the whole run, so the lab's runs give up after a few seconds.
        return DuckDBWarehouse(path=str(path or self.duckdb_path), lock_timeout_seconds=LOCK_WAIT_SECONDS)

    def range_tags(self) -> dict[str, str]:
        return {RANGE_START_TAG: self.days.first.isoformat(), RANGE_END_TAG: self.days.last.isoformat()}

    def materialize(self, *, whoop: WhoopApiResource | None = None, warehouse: Any = None) -> RunOutcome:
        """Materialize every raw asset for the lab's range in one run (never raises on a failed step)."""
        result = dg.materialize(
            RAW_ASSETS,
            resources={"whoop": whoop or self.whoop(), "warehouse": warehouse or self.warehouse()},
            selection=ALL_RAW,
            tags=self.range_tags(),
            instance=self.instance,
            raise_on_error=False,
        )
        failures = {
            event.step_key: error_messages(event.step_failure_data.error)
            for event in result.all_events
            if event.is_step_failure and event.step_key
        }
        outcome = RunOutcome(result, failures)
        self.runs.append(outcome)
        return outcome

    def baseline(self) -> dict[str, list[tuple]]:
        """A clean first load of the range (what a failed run must leave untouched); its snapshot."""
        run = self.materialize()
        assert run.success, run.failures
        assert self.tally().clean
        return self.snapshot()

    # -- the warehouse against the truth ---------------------------------------------------

    def tables(self) -> dict[str, list[dict[str, Any]]]:
        """Every raw table's rows (all columns, as text), read through one connection; absent tables are empty."""
        tables: dict[str, list[dict[str, Any]]] = {
            e.name: [] for e in (*COLLECTION_ENDPOINTS, *SINGLE_OBJECT_ENDPOINTS)
        }
        if not self.duckdb_path.exists():
            return tables
        with self.warehouse().connect() as connection:
            present = {
                name
                for (name,) in connection.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw'"
                ).fetchall()
            }
            for name in tables.keys() & present:
                frame = connection.execute(f"SELECT * FROM raw.{name}").fetchdf()
                tables[name] = frame.astype(str).to_dict("records")
        return tables

    def tally(self) -> Tally:
        """Missing, duplicated and stale-or-extra records of every raw table against the emulator."""
        tally = Tally()
        tables = self.tables()
        for endpoint in COLLECTION_ENDPOINTS:
            truth = {
                key: (day.isoformat(), record)
                for key, (day, record) in truth_by_partition(
                    self.emu, endpoint, self.days.first, self.days.last
                ).items()
            }
            rows = tables[endpoint.name]
            keys = Counter(_key(endpoint, row) for row in rows)
            stale = sum(
                1
                for row in rows
                if truth.get(_key(endpoint, row)) != (row["_partition_date"][:10], json.loads(row["payload"]))
            )
            tally.add(endpoint.name, len(truth.keys() - keys.keys()), sum(n - 1 for n in keys.values() if n > 1), stale)
        profile = self.emu.dataset.profile(0)
        for endpoint in SINGLE_OBJECT_ENDPOINTS:
            expected = dict(profile if endpoint.name == "user_profile" else self.emu.dataset.body(0))
            expected.setdefault("user_id", profile["user_id"])
            rows = tables[endpoint.name]
            stale = sum(1 for row in rows if json.loads(row["payload"]) != expected)
            tally.add(endpoint.name, int(not rows), max(len(rows) - 1, 0), stale)
        return tally

    def snapshot(self) -> dict[str, list[tuple]]:
        """Every raw table's rows, sorted, audit columns included (a failed step must change none of its rows)."""
        return {name: sorted(tuple(row.values()) for row in rows) for name, rows in self.tables().items()}

    # -- tokens and secrets ----------------------------------------------------------------

    def refresh_token_works(self) -> bool:
        """Whether the stored refresh token still buys a pair at the emulator, and that pair reads data.

        Refreshes through a token manager on the same file, so the new pair is stored and
        the lab's file stays usable.
        """
        store = FileTokenStore(self.token_path, seed_refresh_token=self.seed_refresh_token)  # as the resource's
        stored = store.load()
        if stored is None:
            return False
        app = OAuthApp(
            client_id=self.emu.client_id,
            client_secret=self.emu.client_secret,
            redirect_uri=self.emu.redirect_uri,
            oauth_base_url=self.emu.oauth_base_url,
        )
        manager = TokenManager(app, store)
        try:
            manager.force_refresh(stored.access_token)
            with WhoopClient(self.emu.api_base_url, manager) as client:
                client.get_object("user_profile")
        except WhoopError:
            logging.getLogger(__name__).exception("the stored WHOOP refresh token no longer works")
            return False
        latest = store.load()
        return latest is not None and latest.refresh_token != stored.refresh_token

    def logged_texts(self) -> list[str]:
        """Everything the scenario logged or recorded, as text.

        Python logging at DEBUG (ours, urllib3's, dagster's, filelock's), the Dagster event
        log of every run (messages, step failures, every metadata value), child processes'
        output, the emulator's request log and the raw tables' contents.
        """
        texts = [self.caplog.text, *(record.getMessage() for record in self.caplog.records)]
        for run in self.runs:
            texts += [dg.serialize_value(entry) for entry in self.instance.all_logs(run.result.run_id)]
            texts += [dg.serialize_value(event) for event in run.result.all_events]
        texts += self.texts
        texts += [json.dumps(entry.to_dict()) for entry in self.emu.request_log]
        texts += [repr(rows) for rows in self.tables().values()]
        return texts

    def leaks(self) -> list[str]:
        """Which issued secrets appear (whole, or their first 16 characters) in what was logged.

        Also fails loudly if the scan did not see what it must cover: a blind scan finds nothing.
        """
        everything = "\n".join(self.logged_texts())
        for expected in SCAN_MUST_SEE + (SCAN_MUST_SEE_AFTER_A_RAW_RUN if self.runs else ()):
            assert expected in everything, f"the secret scan did not see {expected!r}: it would prove nothing"
        found = []
        for secret in sorted(s for s in self.secrets if s):
            at = min((i for i in (everything.find(secret), everything.find(secret[:16])) if i >= 0), default=-1)
            if at >= 0:
                found.append(f"{secret[:4]}… in {everything[max(at - 80, 0) : at].strip()!r}")
        return found

    # -- the end of every scenario ---------------------------------------------------------

    def conclude(
        self,
        scenario: str,
        expected: str,
        fault_run: RunOutcome | None,
        *,
        before: dict[str, list[tuple]] | None = None,
        problems: list[str] | None = None,
        outcome: str | None = None,
    ) -> None:
        """Judge the faulty run, re-run plainly, compare to the truth, check the token, scan for secrets.

        Call it after the fault is gone (faults cleared, lock released, path fixed). Records
        a summary row, then fails with every problem found, if any.
        """
        problems = list(problems or [])
        error = ""
        if fault_run is not None and outcome is None:
            outcome, error = self._judge(fault_run, before, problems)
        outcome = outcome or expected
        if outcome != expected:
            problems.append(f"expected the faulty run to end {expected!r}, it ended {outcome!r}")

        rerun = self.materialize()
        if not rerun.success:
            problems.append(f"the plain re-run failed: {rerun.failures}")
        tally = self.tally()
        if not tally.clean:
            problems.append(f"after the re-run the warehouse differs from the truth: {tally.per_table}")
        token_ok = self.refresh_token_works()
        if not token_ok:
            problems.append("the stored refresh token no longer works at the emulator: the login is lost")
        leaks = self.leaks()
        problems += [f"secret leaked: {leak}" for leak in leaks]

        self.summary.append(
            SummaryRow(
                scenario=scenario,
                outcome=outcome if not problems else f"{outcome} — BUG",
                error=error,
                missing=tally.missing,
                duplicated=tally.duplicated,
                stale_or_extra=tally.stale_or_extra,
                token_ok=token_ok,
                leaks=len(leaks),
                seconds=round(time.monotonic() - self.started, 1),
            )
        )
        assert not problems, f"{scenario}:\n- " + "\n- ".join(problems)

    def _judge(self, run: RunOutcome, before: dict[str, list[tuple]] | None, problems: list[str]) -> tuple[str, str]:
        tally = self.tally()
        if run.success:
            if not tally.clean:
                problems.append(f"the run reported success but the warehouse is wrong: {tally.per_table}")
                return "succeeded with wrong data", ""
            return RECOVERED, ""
        # Steps that succeeded must have written their tables right; failed ones nothing at all.
        succeeded = {endpoint_of_step(event.step_key).name for event in run.result.get_step_success_events()}
        wrong = {name: diff for name, diff in tally.per_table.items() if name in succeeded}
        if wrong:
            problems.append(f"steps that succeeded next to the failure wrote wrong data: {wrong}")
        unclear_steps = [reason for step, msgs in run.failures.items() if (reason := unclear(step, msgs, self.days))]
        problems += unclear_steps
        if before is not None:
            after = self.snapshot()
            failed = {endpoint_of_step(step).name for step in run.failures}
            changed = sorted(name for name in failed if after.get(name) != before.get(name))
            if changed:
                problems.append(f"the failed steps changed their tables (partial write): {changed}")
                return "failed with a partial write", run.first_error()
        return (FAILED_CLEARLY if not unclear_steps else "failed unclearly"), run.first_error()

    # -- helpers for scenarios -------------------------------------------------------------

    def fired(self, kind: str) -> int:
        """How many times an injected fault of ``kind`` fired (counted when it matched a request)."""
        return sum(fault["fired"] for fault in self.emu.faults.list() if fault["kind"] == kind)

    def mid_pagination(self, kind: str) -> bool:
        """Whether every request answered with a ``kind`` fault asked for a page after the first."""
        hit = [entry for entry in self.emu.request_log if entry.fault == kind]
        return bool(hit) and all("nextToken" in entry.query for entry in hit)

    def metadata_total(self, run: RunOutcome, key: str) -> float:
        """The sum of a numeric materialization metadata value over the run's assets."""
        return sum(
            float(event.materialization.metadata[key].value)
            for event in run.result.get_asset_materialization_events()
            if key in event.materialization.metadata
        )

    def token_counters(self) -> dict[str, int]:
        return dict(self.emu.stats()["tokens"])


# -- child processes -------------------------------------------------------------------------

CHILD = [sys.executable, "-m", "whoop_dagster_tests.faults.child"]


def run_child(lab: FaultLab, command: str, spec: dict[str, Any], timeout_s: float = 120) -> subprocess.CompletedProcess:
    """Run a ``child`` command to its end; its output joins what the lab scans for secrets."""
    done = subprocess.run(
        [*CHILD, command],
        input=json.dumps(spec) + "\n",
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=timeout_s,
        check=False,
    )
    lab.texts += [done.stdout, done.stderr]
    return done


@contextmanager
def lock_held_by_another_process(lab: FaultLab, *, read_only: bool) -> Iterator[int]:
    """Another process holds the lab's DuckDB file open (as a reader or a writer) inside the block."""
    log = lab.tmp_path / f"lock-holder-{os.getpid()}.log"
    with log.open("w") as stderr:
        holder = subprocess.Popen(
            [*CHILD, "hold-lock"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            cwd=REPO_ROOT,
        )
    try:
        assert holder.stdin is not None
        assert holder.stdout is not None
        holder.stdin.write(json.dumps({"duckdb_path": str(lab.duckdb_path), "read_only": read_only}) + "\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == READY, log.read_text()
        yield holder.pid
    finally:
        if holder.stdin is not None:
            holder.stdin.close()  # the holder closes its connection and exits
        try:
            holder.wait(timeout=30)
        except subprocess.TimeoutExpired:
            holder.kill()  # ours, by its handle
            holder.wait()
        if holder.stdout is not None:
            lab.texts.append(holder.stdout.read())
            holder.stdout.close()
        lab.texts.append(log.read_text())
