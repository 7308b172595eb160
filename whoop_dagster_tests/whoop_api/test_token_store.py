"""Token stores: atomic files, compare-and-swap, and the same guarantees in DuckDB and Snowflake."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from whoop_dagster.whoop_api.token_store import (
    FileTokenStore,
    MemoryTokenStore,
    TokenSet,
    TokenStore,
    WarehouseTokenStore,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)


def pair(n: int) -> TokenSet:
    return TokenSet(f"access-{n}", f"refresh-{n}", NOW + timedelta(hours=1), "offline read:cycles")


_DATABASES: dict[Path, duckdb.DuckDBPyConnection] = {}


def duckdb_store(path: Path, **kwargs) -> WarehouseTokenStore:
    """A store whose every operation opens its own connection (``cursor()``) to one database per file."""
    database = _DATABASES.setdefault(path, duckdb.connect(str(path)))
    return WarehouseTokenStore(database.cursor, schema="ops", **kwargs)


# -- TokenSet ---------------------------------------------------------------------------------


def test_token_set_repr_hides_both_tokens():
    text = repr(TokenSet("secret-access-value", "secret-refresh-value", NOW, "offline"))
    assert "secret-access-value" not in text
    assert "secret-refresh-value" not in text
    assert "offline" in text


def test_token_set_round_trips_through_a_dict():
    assert TokenSet.from_dict(pair(1).to_dict()) == pair(1)


def test_token_set_refuses_a_naive_expiry():
    with pytest.raises(ValueError, match="timezone-aware"):
        TokenSet("a", "r", datetime(2025, 1, 1), "")


def test_token_set_is_fresh_only_before_expiry_minus_the_skew():
    tokens = pair(1)
    assert tokens.is_fresh(NOW, timedelta(seconds=120))
    assert not tokens.is_fresh(NOW + timedelta(minutes=59), timedelta(seconds=120))
    assert not TokenSet.from_refresh_token("r").is_fresh(NOW)


def test_token_set_from_a_token_response_expires_after_expires_in():
    tokens = TokenSet.from_token_response(
        {"access_token": "a", "refresh_token": "r", "expires_in": 3600, "scope": "offline"}, now=NOW
    )
    assert tokens.expires_at == NOW + timedelta(hours=1)


# -- behaviour shared by every backend --------------------------------------------------------


@pytest.fixture(params=["memory", "file", "duckdb"])
def make_store(request, tmp_path):
    def make(seed: str | None = None) -> TokenStore:
        if request.param == "memory":
            return MemoryTokenStore(seed_refresh_token=seed)
        if request.param == "file":
            return FileTokenStore(tmp_path / "tokens.json", seed_refresh_token=seed)
        return duckdb_store(tmp_path / "tokens.duckdb", seed_refresh_token=seed)

    return make


def test_an_empty_store_loads_nothing(make_store):
    assert make_store().load() is None


def test_an_empty_store_is_seeded_from_the_initial_refresh_token(make_store):
    loaded = make_store(seed="seed-token").load()
    assert loaded.refresh_token == "seed-token"
    assert loaded.access_token == ""
    assert not loaded.is_fresh()


def test_a_saved_pair_loads_back(make_store):
    store = make_store()
    store.save(pair(1))
    assert store.load() == pair(1)
    store.save(pair(2))
    assert store.load() == pair(2)


def test_the_seed_is_ignored_once_a_pair_is_stored(make_store):
    store = make_store(seed="seed-token")
    assert store.replace("seed-token", pair(1))
    assert store.load() == pair(1)


def test_replace_swaps_only_when_the_old_refresh_token_matches(make_store):
    store = make_store()
    store.save(pair(1))
    assert store.replace("refresh-1", pair(2)) is True
    assert store.replace("refresh-1", pair(3)) is False
    assert store.load() == pair(2)


def test_replace_of_an_unseeded_empty_store_fails(make_store):
    store = make_store()
    assert store.replace("refresh-0", pair(1)) is False
    assert store.load() is None


def test_concurrent_replaces_of_one_token_have_exactly_one_winner(make_store):
    store = make_store()
    store.save(pair(0))
    barrier = threading.Barrier(8)

    def contender(n: int) -> bool:
        barrier.wait(10)
        return store.replace("refresh-0", pair(n))

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(contender, range(1, 9)))  # re-raises a contender's exception
    assert sorted(results) == [False] * 7 + [True]
    assert store.load().refresh_token != "refresh-0"


# -- FileTokenStore ---------------------------------------------------------------------------


def test_the_token_file_is_private_to_its_owner(tmp_path):
    store = FileTokenStore(tmp_path / "dir" / "tokens.json")
    store.save(pair(1))
    mode = stat.S_IMODE(os.stat(store.path).st_mode)
    assert mode == 0o600
    assert json.loads(store.path.read_text())["refresh_token"] == "refresh-1"


def test_the_token_file_is_written_without_leaving_temporary_files(tmp_path):
    store = FileTokenStore(tmp_path / "tokens.json")
    for n in range(5):
        store.save(pair(n))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tokens.json", "tokens.json.lock"]


def test_a_corrupt_token_file_is_reported_without_its_content(tmp_path):
    path = tmp_path / "tokens.json"
    path.write_text('{"refresh_token": "leaky-refresh-value"')
    with pytest.raises(ValueError, match="not a valid token set") as excinfo:
        FileTokenStore(path).load()
    assert "leaky-refresh-value" not in str(excinfo.value)


def test_an_empty_token_file_counts_as_missing(tmp_path):
    path = tmp_path / "tokens.json"
    path.write_text("")
    assert FileTokenStore(path, seed_refresh_token="seed").load().refresh_token == "seed"


def _hold_lock_then_write(path: str, started, release) -> None:
    store = FileTokenStore(path)
    with store.lock():
        started.set()
        release.wait(10)
        store.save(TokenSet("access-9", "refresh-9", NOW, ""))


def test_the_file_lock_excludes_another_process(tmp_path):
    path = str(tmp_path / "tokens.json")
    FileTokenStore(path).save(pair(1))
    ctx = multiprocessing.get_context("spawn")
    started, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock_then_write, args=(path, started, release))
    holder.start()
    try:
        assert started.wait(30)
        store = FileTokenStore(path, lock_timeout_s=0.2)
        with pytest.raises(TimeoutError), store.lock():
            pass
        release.set()
        holder.join(30)
        assert holder.exitcode == 0
        # Once the other process let go, a compare-and-swap sees its write.
        assert store.replace("refresh-1", pair(2)) is False
        assert store.load().refresh_token == "refresh-9"
    finally:
        release.set()
        holder.join(5)


# -- WarehouseTokenStore ----------------------------------------------------------------------


def test_the_warehouse_store_keeps_one_row_per_app(tmp_path):
    path = tmp_path / "tokens.duckdb"
    first = duckdb_store(path, app_key="app-a")
    second = duckdb_store(path, app_key="app-b")
    first.save(pair(1))
    second.save(pair(2))
    first.save(pair(3))
    assert first.load() == pair(3)
    assert second.load() == pair(2)
    with _DATABASES[path].cursor() as connection:
        assert connection.execute("select count(*) from ops.whoop_oauth_tokens").fetchone()[0] == 2


def test_the_warehouse_store_refuses_identifiers_that_are_not_plain_names():
    with pytest.raises(ValueError, match="identifier"):
        WarehouseTokenStore(lambda: None, table="tokens; drop table x")


def test_the_warehouse_store_has_no_exclusive_lock_only_compare_and_swap(tmp_path):
    store = duckdb_store(tmp_path / "tokens.duckdb")
    assert store.exclusive_lock is False
    with store.lock():
        store.save(pair(1))


@pytest.mark.snowflake
@pytest.mark.parametrize("paramstyle", ["qmark", "pyformat"])
def test_the_warehouse_store_works_through_the_snowflake_connector(fakesnow_connect, paramstyle):
    store = WarehouseTokenStore(
        lambda: fakesnow_connect(paramstyle=paramstyle),
        schema="ops",
        paramstyle=paramstyle,
        app_key=f"app-{paramstyle}",
        seed_refresh_token="seed-token",
    )
    assert store.load().refresh_token == "seed-token"
    assert store.replace("seed-token", pair(1)) is True
    assert store.replace("seed-token", pair(2)) is False
    assert store.replace("refresh-1", pair(3)) is True
    assert store.replace("refresh-1", pair(4)) is False
    assert store.load() == pair(3)
    store.save(pair(5))
    assert store.load() == pair(5)


@pytest.mark.snowflake
@pytest.mark.parametrize("paramstyle", ["qmark", "pyformat"])
def test_the_snowflake_connector_logs_no_token_the_warehouse_store_writes(fakesnow_connect, paramstyle, caplog):
    caplog.set_level(logging.DEBUG)
    store = WarehouseTokenStore(
        lambda: fakesnow_connect(paramstyle=paramstyle), schema="ops", paramstyle=paramstyle, app_key="logs"
    )
    tokens = TokenSet("access-value-in-logs-check", "refresh-value-in-logs-check", NOW, "")
    store.save(tokens)
    assert store.replace(tokens.refresh_token, pair(1))
    assert caplog.records, "expected the connector to log at DEBUG"
    assert not [r for r in caplog.records if "value-in-logs-check" in r.getMessage()]
