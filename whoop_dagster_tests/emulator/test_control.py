"""Observing and steering the emulator: request log, stats, re-scores, deletions, control endpoints, lifecycle."""

from __future__ import annotations

import socket
import threading
from datetime import datetime, timedelta, timezone

import pytest
import requests

from whoop_dagster.emulator import Emulator, EmulatorConfig, serve
from whoop_dagster_tests.emulator.conftest import NOW, TIMEOUT_S, parse_ts


@pytest.fixture
def emu(make_emulator):
    return make_emulator(days=20)


def _control(emu: Emulator, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, f"{emu.base_url}/_emulator{path}", timeout=TIMEOUT_S, **kwargs)


def test_the_request_log_records_every_request_and_never_a_token(emu, make_client):
    client = make_client(emu)
    refresh_token = emu.issue_refresh_token()
    client.get("/v2/cycle", limit=2)
    client.get("/v2/nothing")
    entries = emu.request_log
    assert [(e.method, e.path, e.status) for e in entries[-2:]] == [
        ("GET", "/developer/v2/cycle", 200),
        ("GET", "/developer/v2/nothing", 404),
    ]
    assert entries[-2].query == {"limit": "2"}
    assert entries[-2].user_index == 0
    assert entries[-2].timestamp.tzinfo is not None
    secrets = {client.tokens["access_token"], client.tokens["refresh_token"], refresh_token, emu.client_secret}
    logged = repr(entries) + repr(emu.stats())
    assert not [s for s in secrets if s in logged]
    assert all("code" not in e.query for e in entries)


def test_stats_count_requests_by_path_and_status(emu, make_client):
    client = make_client(emu)
    cycle = emu.dataset.records("cycle")[2]
    client.get("/v2/cycle")
    client.get(f"/v2/cycle/{cycle['id']}")
    client.get("/v2/cycle/1")
    stats = emu.stats()
    assert stats["by_path"]["GET /developer/v2/cycle/{id}"] == 2
    assert stats["by_path_status"]["GET /developer/v2/cycle/{id}"] == {"200": 1, "404": 1}
    assert stats["by_status"]["302"] == 1
    assert stats["by_status"]["200"] >= 3
    assert stats["tokens"]["issued"] == 1


def test_reset_stats_clears_the_log_and_every_counter(emu, make_client):
    make_client(emu).get("/v2/cycle")
    emu.reset_stats()
    assert emu.request_log == []
    stats = emu.stats()
    assert stats["requests"] == 0
    assert stats["tokens"] == {"issued": 0, "refreshed": 0, "rejected": 0, "access_rejected": 0}


def test_rescore_changes_the_score_and_moves_updated_at_to_now(emu, make_client):
    client = make_client(emu)
    old = emu.dataset.records("recovery")[5]
    emu.advance(timedelta(minutes=5))
    new = emu.rescore("recovery", old["cycle_id"])
    assert new["updated_at"] == emu.now().isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert new["score"] != old["score"]
    assert client.get(f"/v2/cycle/{old['cycle_id']}/recovery").json() == new
    again = emu.rescore("recovery", old["sleep_id"])  # a recovery may be named by its sleep
    assert again["score"] != new["score"]


@pytest.mark.parametrize("name", ["cycle", "sleep", "workout"])
def test_rescore_works_on_each_scored_endpoint_and_shows_in_window_queries(emu, make_client, name):
    client = make_client(emu)
    old = emu.dataset.records(name)[4]
    emu.advance(timedelta(seconds=30))
    new = emu.rescore(name, old["id"])
    assert new["updated_at"] > old["updated_at"]
    assert new["score"] != old["score"]
    path = {"cycle": "/v2/cycle", "sleep": "/v2/activity/sleep", "workout": "/v2/activity/workout"}[name]
    window = {"start": old["start"], "end": old["end"], "limit": 25}
    assert new in client.collect(path, **window)


def test_rescore_and_delete_reject_unknown_records(emu):
    with pytest.raises(KeyError):
        emu.rescore("sleep", "00000000-0000-0000-0000-000000000000")
    with pytest.raises(KeyError):
        emu.delete("cycle", 1)
    with pytest.raises(KeyError, match="unknown WHOOP endpoint"):
        emu.delete("steps", 1)


def test_delete_removes_a_sleep_and_its_recovery_from_every_answer(emu, make_client):
    client = make_client(emu)
    recovery = emu.dataset.records("recovery")[3]
    emu.delete("sleep", recovery["sleep_id"])
    assert client.get(f"/v2/activity/sleep/{recovery['sleep_id']}").status_code == 404
    assert client.get(f"/v2/cycle/{recovery['cycle_id']}/recovery").status_code == 404
    assert client.get(f"/v2/cycle/{recovery['cycle_id']}").status_code == 200
    assert recovery["sleep_id"] not in {s["id"] for s in client.collect("/v2/activity/sleep", limit=25)}
    assert recovery["cycle_id"] not in {r["cycle_id"] for r in emu.dataset.records("recovery")}


def test_delete_removes_a_workout(emu, make_client):
    client = make_client(emu)
    workout = emu.dataset.records("workout")[1]
    emu.delete("workout", workout["id"])
    assert client.get(f"/v2/activity/workout/{workout['id']}").status_code == 404
    assert workout["id"] not in {w["id"] for w in emu.dataset.records("workout")}


def test_the_control_endpoints_report_stats_and_info(emu):
    info = _control(emu, "GET", "/info").json()
    assert info["api_base_url"] == emu.api_base_url
    assert info["client_id"] == emu.client_id
    assert info["clock_frozen"] is True
    assert _control(emu, "GET", "/stats").json()["requests"] == 0  # control requests are not logged


def test_the_control_endpoints_inject_list_and_clear_faults(emu, make_client):
    client = make_client(emu)
    added = _control(emu, "POST", "/faults", json=[{"kind": "server_error", "status": 503, "times": 2}]).json()
    assert added[0]["kind"] == "server_error"
    assert client.get("/v2/cycle").status_code == 503
    assert len(_control(emu, "GET", "/faults").json()) == 1
    assert _control(emu, "DELETE", "/faults").status_code == 200
    assert client.get("/v2/cycle").status_code == 200
    assert _control(emu, "POST", "/faults", json=[{"kind": "earthquake"}]).status_code == 400


def test_the_control_endpoints_advance_the_clock_and_serve_the_truth(emu):
    answer = _control(emu, "POST", "/advance", params={"seconds": 3600}).json()
    assert parse_ts(answer["now"]) == NOW + timedelta(hours=1)
    assert _control(emu, "GET", "/truth/sleep").json() == emu.dataset.records("sleep")
    assert _control(emu, "GET", "/truth/user_profile").json() == [emu.dataset.profile()]
    assert _control(emu, "GET", "/truth/steps").status_code == 404


def test_the_control_endpoints_issue_refresh_tokens_and_mutate_records(emu, make_client):
    refresh_token = _control(emu, "POST", "/refresh_token").json()["refresh_token"]
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "scope": "offline"}
    rotated = requests.post(
        emu.oauth_base_url + "/oauth/oauth2/token",
        data={**form, "client_id": emu.client_id, "client_secret": emu.client_secret},
        timeout=TIMEOUT_S,
    )
    assert rotated.status_code == 200
    workout = emu.dataset.records("workout")[0]
    emu.advance(timedelta(seconds=1))
    assert _control(emu, "POST", f"/rescore/workout/{workout['id']}").json()["score"] != workout["score"]
    assert _control(emu, "DELETE", f"/records/workout/{workout['id']}").status_code == 204
    assert emu.dataset.get("workout", workout["id"]) is None
    client = make_client(emu)
    assert _control(emu, "POST", "/expire_access_tokens").status_code == 200
    assert client.get("/v2/cycle").status_code == 401


def test_the_emulator_listens_on_loopback_only(emu):
    assert emu.api_base_url.startswith("http://127.0.0.1:")
    assert emu._server.server_address[0] == "127.0.0.1"


def test_the_emulator_releases_its_port_when_stopped():
    emu = Emulator(EmulatorConfig(days=3, now=NOW)).start()
    port = emu.port
    emu.stop()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))


def test_serve_runs_until_stopped_and_hands_over_the_running_emulator():
    seen: list[str] = []

    def ready(emulator: Emulator) -> None:
        seen.append(requests.get(emulator.api_base_url + "/v2/cycle", timeout=TIMEOUT_S).status_code)
        emulator.stop_event.set()  # what Ctrl-C does for the CLI

    runner = threading.Thread(target=serve, args=(EmulatorConfig(days=3, now=NOW), 0), kwargs={"on_ready": ready})
    runner.start()
    runner.join(timeout=10)
    assert not runner.is_alive()
    assert seen == [401]


def test_with_the_real_clock_records_run_up_to_the_present(make_client):
    with Emulator(EmulatorConfig(days=5)) as emu:
        client = make_client(emu)
        assert not emu.clock.frozen
        current = client.get("/v2/cycle", limit=1).json()["records"][0]
        assert "end" not in current
        now = datetime.now(timezone.utc)
        assert now - timedelta(days=2) < parse_ts(current["start"]) < now
