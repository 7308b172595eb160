"""Where rotated WHOOP OAuth tokens live between runs: a JSON file, memory, or a warehouse table.

WHOOP rotates refresh tokens, so a token used but not stored is a lost login: every store saves atomically.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from filelock import FileLock

logger = logging.getLogger(__name__)

#: ``expires_at`` of a pair seeded from a bare refresh token: long expired, so it is refreshed first.
_NEVER = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class TokenSet:
    """An OAuth access/refresh token pair. ``repr`` never shows the tokens.

    Attributes:
        access_token: bearer token for API calls ("" when only a refresh token is known).
        refresh_token: the single-use token that buys the next pair.
        expires_at: when ``access_token`` expires (timezone-aware, UTC).
        scope: the space-separated scopes granted.
    """

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime
    scope: str = ""

    def __post_init__(self) -> None:
        if self.expires_at.tzinfo is None:
            raise ValueError("TokenSet.expires_at must be timezone-aware (UTC)")
        object.__setattr__(self, "expires_at", self.expires_at.astimezone(timezone.utc))

    @classmethod
    def from_refresh_token(cls, refresh_token: str) -> TokenSet:
        """A pair known only by its refresh token (e.g. ``WHOOP_REFRESH_TOKEN``): refreshed on first use."""
        return cls(access_token="", refresh_token=refresh_token, expires_at=_NEVER, scope="")

    @classmethod
    def from_token_response(cls, payload: Mapping[str, Any], now: datetime | None = None) -> TokenSet:
        """Build a pair from a token endpoint response (``access_token``, ``refresh_token``, ``expires_in``)."""
        now = now or datetime.now(timezone.utc)
        return cls(
            access_token=str(payload["access_token"]),
            refresh_token=str(payload["refresh_token"]),
            expires_at=now + timedelta(seconds=float(payload.get("expires_in", 3600))),
            scope=str(payload.get("scope") or ""),
        )

    def is_fresh(self, now: datetime | None = None, skew: timedelta = timedelta(0)) -> bool:
        """Whether the access token exists and stays valid for at least ``skew`` from ``now``."""
        now = now or datetime.now(timezone.utc)
        return bool(self.access_token) and self.expires_at - skew > now

    def to_dict(self) -> dict[str, str]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at.isoformat(),
            "scope": self.scope,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TokenSet:
        return cls(
            access_token=str(data.get("access_token") or ""),
            refresh_token=str(data["refresh_token"]),
            expires_at=datetime.fromisoformat(str(data["expires_at"])),
            scope=str(data.get("scope") or ""),
        )


@runtime_checkable
class TokenStore(Protocol):
    """Persistent home of the current token pair: atomic saves and a compare-and-swap replace."""

    #: True when ``lock()`` excludes every other refresher (threads and processes).
    exclusive_lock: bool

    def load(self) -> TokenSet | None:
        """The stored pair, a pair seeded from the initial refresh token, or None."""
        ...

    def save(self, tokens: TokenSet) -> None:
        """Store ``tokens`` unconditionally (after an authorization-code grant)."""
        ...

    def replace(self, old_refresh_token: str, new: TokenSet) -> bool:
        """Store ``new`` only if the stored refresh token is ``old_refresh_token``; True if stored."""
        ...

    def lock(self) -> contextlib.AbstractContextManager[Any]:
        """Hold while refreshing: load, call the token endpoint, replace."""
        ...


class MemoryTokenStore:
    """A token pair in memory, for demo mode and tests. Thread-safe; not shared across processes."""

    exclusive_lock = True

    def __init__(self, tokens: TokenSet | None = None, *, seed_refresh_token: str | None = None) -> None:
        self._tokens = tokens
        self._seed = seed_refresh_token
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(stored={self._tokens is not None})"

    def load(self) -> TokenSet | None:
        with self._lock:
            if self._tokens is None and self._seed:
                return TokenSet.from_refresh_token(self._seed)
            return self._tokens

    def save(self, tokens: TokenSet) -> None:
        with self._lock:
            self._tokens = tokens

    def replace(self, old_refresh_token: str, new: TokenSet) -> bool:
        with self._lock:
            current = self.load()
            if current is None or current.refresh_token != old_refresh_token:
                return False
            self._tokens = new
            return True

    def lock(self) -> contextlib.AbstractContextManager[Any]:
        return self._lock


# One in-process lock per token file, so that several FileTokenStore objects on the
# same path (e.g. one per thread) also exclude each other before taking the file lock.
_PATH_LOCKS: dict[str, threading.RLock] = {}
_PATH_LOCKS_GUARD = threading.Lock()


def _path_lock(path: Path) -> threading.RLock:
    key = os.path.realpath(path)
    with _PATH_LOCKS_GUARD:
        return _PATH_LOCKS.setdefault(key, threading.RLock())


class FileTokenStore:
    """A JSON file holding the current pair, for local runs.

    Writes go to a temporary file in the same directory (mode 0600), are fsynced
    and then ``os.replace``d over the old file, so a reader sees the old or the new
    pair, never half of one. ``lock()`` takes an in-process lock and then
    ``filelock.FileLock(path + ".lock")``, which excludes other processes.

    Args:
        path: the JSON file (created with its directory on first save).
        seed_refresh_token: the first refresh token (``WHOOP_REFRESH_TOKEN``), used
            only while the file is missing or empty.
        lock_timeout_s: how long to wait for another process's refresh before failing.
    """

    exclusive_lock = True

    def __init__(
        self, path: str | os.PathLike[str], *, seed_refresh_token: str | None = None, lock_timeout_s: float = 60.0
    ) -> None:
        self.path = Path(path)
        self._seed = seed_refresh_token or None
        self._thread_lock = _path_lock(self.path)
        self._file_lock = FileLock(f"{self.path}.lock", timeout=lock_timeout_s)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(path={str(self.path)!r})"

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        with self._thread_lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._file_lock:
                yield

    def load(self) -> TokenSet | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = ""
        if not text.strip():
            return TokenSet.from_refresh_token(self._seed) if self._seed else None
        try:
            return TokenSet.from_dict(json.loads(text))
        except (ValueError, KeyError, TypeError) as err:
            # Never echo the file's content: it holds tokens.
            raise ValueError(f"token file {self.path} is not a valid token set ({type(err).__name__})") from err

    def save(self, tokens: TokenSet) -> None:
        with self.lock():
            self._write(tokens)

    def replace(self, old_refresh_token: str, new: TokenSet) -> bool:
        with self.lock():
            current = self.load()
            if current is None or current.refresh_token != old_refresh_token:
                return False
            self._write(new)
            return True

    def _write(self, tokens: TokenSet) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(tokens.to_dict(), handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp_name, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise
        self._fsync_directory()
        logger.debug("stored rotated WHOOP tokens in %s", self.path)

    def _fsync_directory(self) -> None:
        # Make the rename itself durable; not every platform can open a directory.
        try:
            dir_fd = os.open(self.path.parent, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(dir_fd)
        except OSError:
            pass
        finally:
            os.close(dir_fd)


_VALUE_COLUMNS = ("access_token", "refresh_token", "expires_at", "scope", "updated_at")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
_PLACEHOLDER = re.compile(r":([a-z_]+)")


class WarehouseTokenStore:
    """One row per OAuth app in a warehouse table, for deployments whose run workers keep no disk.

    There is no lock across processes here: ``replace`` is a compare-and-swap
    (``UPDATE ... WHERE app_key = ? AND refresh_token = ?`` and a row count of 1),
    and the token manager relies on it (``exclusive_lock = False``). A connection is
    opened per operation and closed after it, so the store is safe to share
    between threads.

    Args:
        connect: returns a new DB-API connection (Snowflake connector, DuckDB, ...). It is
            closed after each operation. With DuckDB, open the database once per process and
            pass its ``cursor`` method: concurrent ``duckdb.connect(path)`` calls on one file
            from several threads can fail with "Unique file handle conflict".
        table: the table name (created on first use).
        schema: its schema, created on first use when given.
        paramstyle: the connection's DB-API paramstyle: ``"qmark"`` (``?``: DuckDB, or
            Snowflake connected with ``paramstyle="qmark"``), ``"pyformat"`` (``%(name)s``:
            the Snowflake connector's default) or ``"format"`` (``%s``).
        app_key: the row's key, e.g. the OAuth client id (several apps can share the table).
        seed_refresh_token: the first refresh token, used only while the row is missing.
    """

    exclusive_lock = False

    def __init__(
        self,
        connect: Callable[[], Any],
        *,
        table: str = "whoop_oauth_tokens",
        schema: str | None = None,
        paramstyle: str = "qmark",
        app_key: str = "default",
        seed_refresh_token: str | None = None,
    ) -> None:
        for name in (table, schema):
            if name is not None and not _IDENTIFIER.match(name):
                raise ValueError(f"not a plain SQL identifier: {name!r}")
        if paramstyle not in ("qmark", "pyformat", "format"):
            raise ValueError(f"paramstyle must be 'qmark', 'pyformat' or 'format', not {paramstyle!r}")
        self._connect = connect
        self.schema = schema
        self.table = f"{schema}.{table}" if schema else table
        self.paramstyle = paramstyle
        self.app_key = app_key
        self._seed = seed_refresh_token or None
        self._created = False
        self._create_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(table={self.table!r}, app_key={self.app_key!r})"

    def lock(self) -> contextlib.AbstractContextManager[Any]:
        return contextlib.nullcontext()

    def load(self) -> TokenSet | None:
        row = self._fetch_row()
        if row is None:
            return TokenSet.from_refresh_token(self._seed) if self._seed else None
        access_token, refresh_token, expires_at, scope = row
        return TokenSet(
            access_token=access_token or "",
            refresh_token=refresh_token,
            expires_at=datetime.fromisoformat(str(expires_at)),
            scope=scope or "",
        )

    def save(self, tokens: TokenSet) -> None:
        self._ensure_table()
        # MERGE is atomic in both DuckDB and Snowflake (which does not enforce primary keys,
        # so an UPDATE-then-INSERT could leave two rows after a race).
        self._execute(
            self._merge_sql(update=True),
            self._row_params(tokens),
        )

    def replace(self, old_refresh_token: str, new: TokenSet, *, attempts: int = 5) -> bool:
        self._ensure_table()
        for attempt in range(1, attempts + 1):
            try:
                return self._swap(old_refresh_token, new)
            except Exception:
                # A write-write conflict (DuckDB's optimistic concurrency, a Snowflake lock
                # timeout) means another writer is at it. Decide from the stored row; while it
                # still holds the old token, the other writer may yet abort: try again.
                stored = self._fetch_row()
                if stored is not None and stored[1] == new.refresh_token:
                    return True
                if stored is not None and stored[1] != old_refresh_token:
                    logger.debug("token row changed concurrently; compare-and-swap lost")
                    return False
                if attempt == attempts:
                    raise
                time.sleep(0.02 * attempt)
        return False  # pragma: no cover - the loop returns or raises

    def _swap(self, old_refresh_token: str, new: TokenSet) -> bool:
        if self._fetch_row() is None:
            if old_refresh_token != self._seed:
                return False
            # Seeded pair: insert the row only if nobody else has meanwhile.
            return self._execute(self._merge_sql(update=False), self._row_params(new)) == 1
        changed = self._execute(
            f"update {self.table} set access_token = :access_token, refresh_token = :refresh_token, "
            "expires_at = :expires_at, scope = :scope, updated_at = :updated_at "
            "where app_key = :app_key and refresh_token = :old_refresh_token",
            {**self._row_params(new), "old_refresh_token": old_refresh_token},
        )
        return changed == 1

    # -- SQL helpers -------------------------------------------------------------------------

    def _row_params(self, tokens: TokenSet) -> dict[str, str]:
        return {
            "app_key": self.app_key,
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            "expires_at": tokens.expires_at.isoformat(),
            "scope": tokens.scope,
            "updated_at": datetime.now(timezone.utc).isoformat(),
        }

    def _merge_sql(self, *, update: bool) -> str:
        """Insert the app's row if missing (and, with ``update``, overwrite it if present).

        Every value is bound in the ``using`` row only: fakesnow's server fails on
        parameters inside MERGE's ``when`` clauses, and this reads better anyway.
        """
        columns = ("app_key", *_VALUE_COLUMNS)
        source = ", ".join(f":{column} as {column}" for column in columns)
        sql = f"merge into {self.table} as t using (select {source}) as s on t.app_key = s.app_key "
        if update:
            assignments = ", ".join(f"{column} = s.{column}" for column in _VALUE_COLUMNS)
            sql += f"when matched then update set {assignments} "
        values = ", ".join(f"s.{column}" for column in columns)
        return sql + f"when not matched then insert ({', '.join(columns)}) values ({values})"

    def _ensure_table(self) -> None:
        if self._created:
            return
        with self._create_lock:
            if self._created:
                return
            statements = []
            if self.schema:
                statements.append(f"create schema if not exists {self.schema}")
            statements.append(
                f"create table if not exists {self.table} (app_key varchar primary key, access_token varchar, "
                "refresh_token varchar not null, expires_at varchar not null, scope varchar, updated_at varchar)"
            )
            for statement in statements:
                self._execute(statement, {})
            self._created = True

    def _fetch_row(self) -> tuple[Any, ...] | None:
        self._ensure_table()
        sql, params = self._render(
            f"select access_token, refresh_token, expires_at, scope from {self.table} where app_key = :app_key",
            {"app_key": self.app_key},
        )
        with contextlib.closing(self._connect()) as connection:
            cursor = connection.cursor()
            try:
                cursor.execute(sql, params)
                rows = cursor.fetchall()
            finally:
                cursor.close()
        if len(rows) > 1:
            raise ValueError(f"{self.table} holds {len(rows)} rows for app_key={self.app_key!r}; expected one")
        return tuple(rows[0]) if rows else None

    def _execute(self, sql: str, params: Mapping[str, Any]) -> int:
        """Run one statement in its own connection, commit, and return the affected row count."""
        sql, bound = self._render(sql, params)
        with contextlib.closing(self._connect()) as connection:
            cursor = connection.cursor()
            try:
                cursor.execute(sql, bound) if params else cursor.execute(sql)
                count = _affected_rows(cursor)
            finally:
                cursor.close()
            connection.commit()
        return count

    def _render(self, sql: str, params: Mapping[str, Any]) -> tuple[str, Any]:
        """Rewrite ``:name`` placeholders into the driver's paramstyle."""
        if self.paramstyle == "pyformat":
            return _PLACEHOLDER.sub(r"%(\1)s", sql), dict(params)
        names = _PLACEHOLDER.findall(sql)
        marker = "?" if self.paramstyle == "qmark" else "%s"
        return _PLACEHOLDER.sub(marker, sql), tuple(params[name] for name in names)


def _affected_rows(cursor: Any) -> int:
    """Rows changed by the last DML statement, from ``rowcount`` or the result row drivers return."""
    count = getattr(cursor, "rowcount", -1)
    if count is not None and count >= 0:
        return int(count)
    try:
        row = cursor.fetchone()
    except Exception:  # DDL or drivers without a result set
        return -1
    return int(row[0]) if row else -1
