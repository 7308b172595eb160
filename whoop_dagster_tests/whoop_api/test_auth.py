"""OAuth against the emulator: the code grant, rotation, and single-flight refresh across threads and processes.

The emulator rotates refresh tokens like WHOOP (a used one is dead at once; of two
concurrent refreshes exactly one wins). Where noted, it also runs with
``refresh_token_reuse_revokes_family``: presenting a used refresh token then revokes
every token of the login, so a single reuse anywhere would make the final checks fail.
"""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import duckdb
import pytest
import requests

from whoop_dagster.whoop_api.auth import OAuthApp, TokenManager
from whoop_dagster.whoop_api.errors import WhoopAPIError, WhoopAuthError, WhoopRefreshTokenRejectedError
from whoop_dagster.whoop_api.token_store import FileTokenStore, MemoryTokenStore, WarehouseTokenStore
from whoop_dagster_tests.whoop_api.emulated import client_for, oauth_app, stored
from whoop_dagster_tests.whoop_api.workers import read_profile_with_own_manager

WORKERS = 8


def token_counters(emu) -> dict[str, int]:
    return emu.stats()["tokens"]


def assert_stored_pair_still_works(emu, store) -> None:
    """A new manager on the store, with every access token expired, must refresh and read."""
    emu.expire_access_tokens()
    with client_for(emu, store) as client:
        assert client.get_object("user_profile") == emu.dataset.profile()


def test_the_authorization_code_grant_yields_a_pair_with_a_refresh_token(emu):
    app = oauth_app(emu)
    state = app.new_state()
    answer = requests.get(app.authorization_url(state), allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    redirect = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}
    app.verify_state(state, redirect["state"])
    tokens = app.exchange_code(redirect["code"])
    assert tokens.refresh_token
    assert tokens.is_fresh()
    assert "offline" in tokens.scope.split()
    with pytest.raises(WhoopAuthError, match="authorization code"):
        app.exchange_code(redirect["code"])  # codes are single use


def test_a_refresh_stores_the_rotated_pair_before_the_access_token_is_used(emu, tmp_path):
    seed = emu.issue_refresh_token()
    events: list[str] = []

    class RecordingStore(FileTokenStore):
        def replace(self, old_refresh_token, new):
            events.append(f"stored after {len(emu.request_log)} requests")
            return super().replace(old_refresh_token, new)

    store = RecordingStore(tmp_path / "tokens.json", seed_refresh_token=seed)
    with client_for(emu, store) as client:
        client.get_object("user_profile")
    # The log holds the code grant (2 requests) and the refresh: the data request came after the store.
    assert events == ["stored after 3 requests"]
    rotated = stored(store)
    assert rotated.refresh_token != seed
    assert rotated.access_token
    with pytest.raises(WhoopRefreshTokenRejectedError):
        oauth_app(emu).refresh(seed)


def test_successive_refreshes_never_present_a_refresh_token_twice(start_emulator, tmp_path):
    emu = start_emulator(refresh_token_reuse_revokes_family=True)
    store = FileTokenStore(tmp_path / "tokens.json", seed_refresh_token=emu.issue_refresh_token())
    seen = set()
    with client_for(emu, store) as client:
        for _ in range(5):
            emu.expire_access_tokens()
            client.get_object("user_profile")
            seen.add(stored(store).refresh_token)
        assert client.stats.token_refreshes == 5
    assert len(seen) == 5
    assert token_counters(emu)["refreshed"] == 5
    assert token_counters(emu)["rejected"] == 0
    assert_stored_pair_still_works(emu, store)


@pytest.mark.parametrize("sharing", ["one manager", "a manager per thread"])
def test_eight_threads_on_one_expired_token_refresh_once_and_lose_nothing(start_emulator, tmp_path, sharing):
    emu = start_emulator(refresh_token_reuse_revokes_family=True)
    path = tmp_path / "tokens.json"
    TokenManager(oauth_app(emu), FileTokenStore(path, seed_refresh_token=emu.issue_refresh_token())).access_token()
    if sharing == "one manager":
        clients = [client_for(emu, FileTokenStore(path))] * WORKERS
    else:
        clients = [client_for(emu, FileTokenStore(path)) for _ in range(WORKERS)]
    for client in clients:
        client.tokens.access_token()  # every manager caches the pair in the file
    emu.reset_stats()
    emu.expire_access_tokens()
    barrier = threading.Barrier(WORKERS)

    def read(client):
        barrier.wait(10)
        return client.get_object("user_profile")

    with ThreadPoolExecutor(WORKERS) as pool:
        profiles = list(pool.map(read, clients))
    assert profiles == [emu.dataset.profile()] * WORKERS
    assert token_counters(emu)["refreshed"] == 1
    assert token_counters(emu)["rejected"] == 0
    for client in clients:
        client.close()
    assert_stored_pair_still_works(emu, FileTokenStore(path))


def test_eight_processes_on_one_expired_token_refresh_once_lose_nothing(start_emulator, tmp_path):
    emu = start_emulator(refresh_token_reuse_revokes_family=True)
    path = str(tmp_path / "tokens.json")
    store = FileTokenStore(path, seed_refresh_token=emu.issue_refresh_token())
    with client_for(emu, store) as client:
        client.get_object("user_profile")  # the file now holds a valid-looking pair
    emu.reset_stats()
    emu.expire_access_tokens()  # ... which every process will find rejected
    app_kwargs = {
        "client_id": emu.client_id,
        "client_secret": emu.client_secret,
        "redirect_uri": emu.redirect_uri,
        "oauth_base_url": emu.oauth_base_url,
    }
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        # A broken barrier raises instead of hanging; the pool is closed and joined, not
        # terminated: terminate() can SIGTERM a worker that holds the task queue's lock, and
        # the other workers then wait on it forever (seen once under heavy load).
        barrier = manager.Barrier(WORKERS, timeout=120)
        pool = ctx.Pool(WORKERS)
        try:
            results = pool.starmap(
                read_profile_with_own_manager, [(app_kwargs, emu.api_base_url, path, barrier)] * WORKERS
            )
        finally:
            pool.close()
            pool.join()
    assert [r["user_id"] for r in results] == [emu.dataset.user_id()] * WORKERS
    assert sum(r["refreshes"] for r in results) == 1
    assert token_counters(emu)["refreshed"] == 1
    assert token_counters(emu)["rejected"] == 0
    assert_stored_pair_still_works(emu, FileTokenStore(path))


def test_threads_on_the_warehouse_store_lose_nothing_via_compare_and_swap(start_emulator, tmp_path):
    # Without a lock, racing refreshers present the same refresh token: one wins, the
    # others are rejected and must pick up the winner's stored pair.
    emu = start_emulator()
    # One DuckDB database per process (as DuckDB requires); each operation opens its own
    # connection to it with `cursor()`, from whichever thread runs it.
    database = duckdb.connect(str(tmp_path / "tokens.duckdb"))

    def store():
        return WarehouseTokenStore(database.cursor, schema="ops")

    store().save(oauth_app(emu).refresh(emu.issue_refresh_token()))
    clients = [client_for(emu, store()) for _ in range(WORKERS)]
    for client in clients:
        client.tokens.access_token()
    emu.reset_stats()
    emu.expire_access_tokens()
    barrier = threading.Barrier(WORKERS)

    def read(client):
        barrier.wait(10)
        with client:
            return client.get_object("user_profile")

    with ThreadPoolExecutor(WORKERS) as pool:
        profiles = list(pool.map(read, clients))
    assert profiles == [emu.dataset.profile()] * WORKERS
    assert token_counters(emu)["refreshed"] == 1
    assert_stored_pair_still_works(emu, store())


@pytest.mark.snowflake
def test_a_second_process_on_snowflake_uses_the_pair_the_first_rotated(emu, fakesnow_connect):
    def store():
        return WarehouseTokenStore(
            lambda: fakesnow_connect(paramstyle="pyformat"),
            schema="ops",
            paramstyle="pyformat",
            app_key="rotation-test",
            seed_refresh_token=emu.issue_refresh_token(),
        )

    first, second = TokenManager(oauth_app(emu), store()), TokenManager(oauth_app(emu), store())
    stale = first.access_token()
    assert second.access_token() == stale  # read from the store, no second refresh
    emu.expire_access_tokens()
    renewed = first.force_refresh(stale)
    assert second.force_refresh(stale) == renewed  # it sees the rotation instead of refreshing
    assert token_counters(emu)["refreshed"] == 2  # the seed, then one rotation
    assert token_counters(emu)["rejected"] == 0


def test_force_refresh_reuses_a_pair_another_manager_stored_meanwhile(emu):
    store = MemoryTokenStore(seed_refresh_token=emu.issue_refresh_token())
    first, second = TokenManager(oauth_app(emu), store), TokenManager(oauth_app(emu), store)
    stale = first.access_token()
    second.access_token()
    renewed = first.force_refresh(stale)
    assert renewed != stale
    assert second.force_refresh(stale) == renewed
    assert first.refresh_count + second.refresh_count == 2


def test_a_spent_refresh_token_in_an_unchanged_store_asks_to_reauthorize(emu):
    seed = emu.issue_refresh_token()
    oauth_app(emu).refresh(seed)  # someone else used it and kept the result
    manager = TokenManager(oauth_app(emu), MemoryTokenStore(seed_refresh_token=seed))
    with pytest.raises(WhoopAuthError, match="whoop-dagster auth") as excinfo:
        manager.access_token()
    assert seed not in str(excinfo.value)


def test_refreshes_present_the_client_credentials_the_emulator_registered(emu):
    wrong = OAuthApp(emu.client_id, "not-the-secret", emu.redirect_uri, oauth_base_url=emu.oauth_base_url)
    with pytest.raises(WhoopAuthError, match="WHOOP_CLIENT_SECRET"):
        wrong.refresh(emu.issue_refresh_token())


def test_a_lost_refresh_answer_is_an_api_error_and_then_asks_to_authorize(emu):
    # WHOOP rotated the token but we never saw the new one: nothing can recover that login.
    store = MemoryTokenStore(seed_refresh_token=emu.issue_refresh_token())
    manager = TokenManager(oauth_app(emu), store)
    emu.faults.add("truncated", path="/oauth/oauth2/token", times=1)
    with pytest.raises(WhoopAPIError, match="did not answer"):
        manager.access_token()
    with pytest.raises(WhoopAuthError, match="whoop-dagster auth"):
        manager.access_token()
