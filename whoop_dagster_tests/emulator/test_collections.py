"""Collections over HTTP: overlap filtering, order, pagination, by-id routes, auth and scopes."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests

from whoop_dagster.whoop_api.endpoints import ALL_SCOPES, COLLECTION_ENDPOINTS
from whoop_dagster_tests.emulator.conftest import NOW, TIMEOUT_S, parse_ts

PATHS = {e.name: e.path for e in COLLECTION_ENDPOINTS}


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _span(record: dict[str, Any], sleeps: dict[str, dict[str, Any]]) -> tuple[datetime, datetime]:
    source = sleeps[record["sleep_id"]] if "sleep_id" in record else record
    return parse_ts(source["start"]), parse_ts(source["end"]) if "end" in source else NOW


def _overlapping(emu, name: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
    sleeps = {s["id"]: s for s in emu.dataset.records("sleep")}
    found = []
    for record in emu.dataset.records(name):
        first, last = _span(record, sleeps)
        if first < end and last >= start:
            found.append(record)
    return found


@pytest.mark.parametrize("name", ["cycle", "sleep", "recovery", "workout"])
def test_a_window_returns_exactly_the_records_that_overlap_it(readonly_emu, api, name):
    for days_back in (3, 40, 400):
        start = (NOW - timedelta(days=days_back)).replace(hour=0, minute=0, second=0)
        end = start + timedelta(days=2)
        served = api.collect(PATHS[name], start=_iso(start), end=_iso(end), limit=25)
        assert served == _overlapping(readonly_emu, name, start, end)


def test_a_cycle_crossing_midnight_is_returned_for_both_days(readonly_emu, api):
    cycle = readonly_emu.dataset.records("cycle")[5]
    first_day = parse_ts(cycle["start"]).replace(hour=0, minute=0, second=0, microsecond=0)
    for day in (first_day, first_day + timedelta(days=1)):
        ids = [c["id"] for c in api.collect("/v2/cycle", start=_iso(day), end=_iso(day + timedelta(days=1)))]
        assert cycle["id"] in ids


@pytest.mark.parametrize("name", ["cycle", "sleep", "recovery", "workout"])
def test_records_come_newest_first(readonly_emu, api, name):
    sleeps = {s["id"]: s for s in readonly_emu.dataset.records("sleep")}
    served = api.collect(PATHS[name], start=_iso(NOW - timedelta(days=30)), limit=25)
    starts = [_span(r, sleeps)[0] for r in served]
    assert starts == sorted(starts, reverse=True)
    assert len(served) > 20


def test_start_is_inclusive_and_end_is_exclusive(readonly_emu, api):
    newer, older = readonly_emu.dataset.records("cycle")[3:5]
    boundary = parse_ts(older["end"])  # == newer["start"]
    ending_at = api.get("/v2/cycle", start=_iso(boundary), end=_iso(boundary + timedelta(minutes=1))).json()
    assert [c["id"] for c in ending_at["records"]] == [newer["id"], older["id"]]
    before = api.get("/v2/cycle", start=_iso(boundary - timedelta(minutes=1)), end=_iso(boundary)).json()
    assert [c["id"] for c in before["records"]] == [older["id"]]


def test_the_current_cycle_runs_to_now_and_a_window_without_end_ends_now(readonly_emu, api):
    current = readonly_emu.dataset.records("cycle")[0]
    served = api.get("/v2/cycle", start=_iso(NOW - timedelta(minutes=5)), limit=25).json()["records"]
    assert [c["id"] for c in served] == [current["id"]]
    assert "end" not in served[0]


def _window_of_n_cycles(emu, n: int) -> tuple[str, str]:
    """A window that overlaps exactly ``n`` completed cycles (n=0: before the member joined)."""
    cycles = emu.dataset.records("cycle")[::-1]  # oldest first
    if n == 0:
        return "2020-01-01T00:00:00.000Z", "2020-01-02T00:00:00.000Z"
    first, last = cycles[10], cycles[10 + n - 1]
    one_ms = timedelta(milliseconds=1)
    return _iso(parse_ts(first["start"]) + one_ms), _iso(parse_ts(last["end"]) - one_ms)


@pytest.mark.parametrize(("count", "page_sizes"), [(0, [0]), (1, [1]), (25, [25]), (26, [25, 1]), (51, [25, 25, 1])])
def test_pagination_serves_full_pages_and_no_empty_trailing_page(readonly_emu, api, count, page_sizes):
    start, end = _window_of_n_cycles(readonly_emu, count)
    pages = api.pages("/v2/cycle", start=start, end=end, limit=25)
    assert [len(p["records"]) for p in pages] == page_sizes
    assert "next_token" not in pages[-1]
    assert all(p["next_token"] for p in pages[:-1])
    ids = [c["id"] for p in pages for c in p["records"]]
    assert len(set(ids)) == count


def test_the_default_page_size_is_ten(api):
    body = api.get("/v2/activity/sleep").json()
    assert len(body["records"]) == 10
    assert body["next_token"]


@pytest.mark.parametrize(("style", "expected"), [("null", None), ("empty", "")])
def test_the_last_page_signals_the_end_as_configured(make_emulator, make_client, style, expected):
    client = make_client(make_emulator(days=5, last_page_token=style))
    body = client.get("/v2/cycle", limit=25).json()
    assert body["records"]
    assert "next_token" in body
    assert body["next_token"] == expected


@pytest.mark.parametrize("limit", ["26", "0", "-1", "ten"])
def test_a_limit_outside_one_to_twenty_five_is_a_400(api, limit):
    response = api.get("/v2/cycle", limit=limit)
    assert response.status_code == 400
    assert "limit" in response.json()["message"]


def test_a_limit_above_twenty_five_is_clamped_when_configured(make_emulator, make_client):
    client = make_client(make_emulator(days=40, over_limit_behavior="clamp"))
    assert len(client.get("/v2/cycle", limit=100).json()["records"]) == 25


@pytest.mark.parametrize(
    "params",
    [{"start": "yesterday"}, {"end": "2024-13-01T00:00:00Z"}, {"start": "2026-03-10T00:00:00Z", "end": "2026-03-01"}],
)
def test_an_unparseable_or_inverted_window_is_a_400(api, params):
    assert api.get("/v2/cycle", **params).status_code == 400


def test_start_and_end_accept_offsets_and_dates(api):
    utc = api.get("/v2/cycle", start="2026-03-01T05:00:00Z", end="2026-03-03T00:00:00Z", limit=25).json()
    offset = api.get("/v2/cycle", start="2026-03-01T00:00:00-05:00", end="2026-03-03", limit=25).json()
    assert utc == offset


def test_a_next_token_is_rejected_by_a_different_query(api):
    token = api.get("/v2/cycle", start="2026-01-01T00:00:00Z", limit=3).json()["next_token"]
    assert api.get("/v2/cycle", start="2026-01-01T00:00:00Z", limit=3, nextToken=token).status_code == 200
    assert api.get("/v2/cycle", start="2026-01-02T00:00:00Z", limit=3, nextToken=token).status_code == 400
    assert api.get("/v2/activity/sleep", start="2026-01-01T00:00:00Z", nextToken=token).status_code == 400
    forged = base64.urlsafe_b64encode(b"not a token").decode()
    assert api.get("/v2/cycle", start="2026-01-01T00:00:00Z", nextToken=forged).status_code == 400
    assert api.get("/v2/cycle", start="2026-01-01T00:00:00Z", nextToken="%%%").status_code == 400


def test_the_next_token_is_opaque(api):
    token = api.get("/v2/cycle", limit=2).json()["next_token"]
    assert token.replace("-", "").replace("_", "").isalnum()
    assert "cycle" not in token
    assert ":" not in token


def test_pages_stay_stable_while_new_records_arrive(make_emulator, make_client):
    emu = make_emulator(days=20, access_token_ttl_s=7 * 86_400)
    client = make_client(emu)
    before = [c["id"] for c in emu.dataset.records("cycle")]
    first = client.get("/v2/cycle", limit=5).json()
    emu.advance(timedelta(days=2))  # two new cycles now sit on top of the first page
    rest = client.collect("/v2/cycle", limit=5, nextToken=first["next_token"])
    ids = [c["id"] for c in first["records"]] + [c["id"] for c in rest]
    assert ids == before


def test_by_id_routes_return_the_record_the_collection_serves(readonly_emu, api):
    for name, path in (("cycle", "/v2/cycle"), ("sleep", "/v2/activity/sleep"), ("workout", "/v2/activity/workout")):
        record = readonly_emu.dataset.records(name)[7]
        assert api.get(f"{path}/{record['id']}").json() == record
    recovery = readonly_emu.dataset.records("recovery")[7]
    assert api.get(f"/v2/cycle/{recovery['cycle_id']}/recovery").json() == recovery
    sleep = api.get(f"/v2/cycle/{recovery['cycle_id']}/sleep").json()
    assert sleep["id"] == recovery["sleep_id"]
    assert sleep["nap"] is False


@pytest.mark.parametrize(
    "path",
    [
        "/v2/cycle/1",
        "/v2/cycle/abc",
        "/v2/activity/sleep/00000000-0000-0000-0000-000000000000",
        "/v2/activity/workout/not-a-uuid",
        "/v2/cycle/1/recovery",
        "/v2/cycle/1/sleep",
        "/v2/recovery/1",
        "/v2/nothing",
        "/v1/cycle",
    ],
)
def test_unknown_ids_and_paths_are_404(api, path):
    assert api.get(path).status_code == 404


def test_a_wrong_method_on_a_known_path_is_405(api):
    response = api.session.post(api.emu.api_base_url + "/v2/cycle", timeout=TIMEOUT_S)
    assert response.status_code == 405


def test_profile_and_body_measurement_are_single_objects(readonly_emu, api):
    assert api.get("/v2/user/profile/basic").json() == readonly_emu.dataset.profile()
    assert api.get("/v2/user/measurement/body").json() == readonly_emu.dataset.body()


def test_the_activity_mapping_turns_a_v1_id_into_its_uuid(readonly_emu, api):
    old = next(w for w in readonly_emu.dataset.records("workout") if "v1_id" in w)
    assert api.get(f"/v1/activity-mapping/{old['v1_id']}").json() == {"v2_activity_id": old["id"]}
    assert api.get("/v1/activity-mapping/1").status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer nonsense", "Basic abc", "Bearer "])
def test_data_requests_without_a_valid_bearer_token_are_401(readonly_emu, header):
    headers = {"Authorization": header} if header else {}
    response = requests.get(readonly_emu.api_base_url + "/v2/cycle", headers=headers, timeout=TIMEOUT_S)
    assert response.status_code == 401


def test_a_token_without_an_endpoints_scope_gets_403(readonly_emu, make_client):
    client = make_client(readonly_emu, scopes=["read:cycles", "offline"])
    assert client.get("/v2/cycle").status_code == 200
    assert client.get("/v2/recovery").status_code == 403
    cycle_id = readonly_emu.dataset.records("cycle")[3]["id"]
    assert client.get(f"/v2/cycle/{cycle_id}/sleep").status_code == 403
    assert client.get("/v2/user/profile/basic").status_code == 403


def test_revoking_user_access_invalidates_every_token_of_the_member(make_emulator, make_client):
    emu = make_emulator(days=5)
    client = make_client(emu)
    response = client.session.delete(emu.api_base_url + "/v2/user/access", timeout=TIMEOUT_S)
    assert response.status_code == 204
    assert client.get("/v2/cycle").status_code == 401
    refreshed = requests.post(
        emu.oauth_base_url + "/oauth/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": client.tokens["refresh_token"],
            "client_id": emu.client_id,
            "client_secret": emu.client_secret,
            "scope": "offline",
        },
        timeout=TIMEOUT_S,
    )
    assert refreshed.status_code == 400


def test_each_member_sees_only_their_own_data(readonly_emu, make_client):
    zoe, aegir = make_client(readonly_emu, 0), make_client(readonly_emu, 1)
    assert zoe.get("/v2/user/profile/basic").json()["first_name"] == "Zoë"
    assert aegir.get("/v2/user/profile/basic").json()["first_name"] == "Ægir"
    theirs = readonly_emu.dataset.records("cycle", user_index=1)[2]
    assert zoe.get(f"/v2/cycle/{theirs['id']}").status_code == 404
    assert aegir.get(f"/v2/cycle/{theirs['id']}").json() == theirs
    assert {c["user_id"] for c in aegir.collect("/v2/cycle", start="2026-03-01T00:00:00Z")} == {theirs["user_id"]}


def test_every_scope_the_project_asks_for_is_granted(api):
    assert set(api.tokens["scope"].split()) == set(ALL_SCOPES)


def test_library_default_user_agents_are_blocked_only_when_configured(make_emulator, make_client):
    emu = make_emulator(days=3, block_default_user_agents=True)
    client = make_client(emu)  # the bootstrap grant names itself, so it is let through
    assert client.get("/v2/cycle").status_code == 403  # requests' own python-requests/x.y
    client.session.headers["User-Agent"] = "whoop-dagster/0.1.0"
    assert client.get("/v2/cycle").status_code == 200
    default = make_client(make_emulator(days=3))
    assert default.get("/v2/cycle").status_code == 200


@pytest.mark.parametrize(
    ("style", "content_type", "check"),
    [
        ("whoop", "application/json", lambda r: r.json()["error"] == "invalid_request"),
        ("problem", "application/problem+json", lambda r: r.json()["status"] == 400),
        ("text", "text/plain; charset=utf-8", lambda r: "limit" in r.text),
        ("empty", None, lambda r: r.content == b""),
    ],
)
def test_error_bodies_take_the_configured_style(make_emulator, make_client, style, content_type, check):
    client = make_client(make_emulator(days=3, error_body_style=style))
    response = client.get("/v2/cycle", limit=99)
    assert response.status_code == 400
    assert response.headers.get("Content-Type") == content_type
    assert check(response)
