"""No token, code or client secret ever reaches a log record or an error message."""

from __future__ import annotations

import logging
import traceback
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from whoop_dagster.whoop_api.errors import WhoopError
from whoop_dagster.whoop_api.token_store import FileTokenStore, MemoryTokenStore, TokenSet
from whoop_dagster_tests.whoop_api.emulated import COLLECTIONS, client_for, oauth_app, token_manager


class RecordingStore(FileTokenStore):
    """A file store that remembers every token it was given."""

    def __init__(self, *args, seen: set[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.seen = seen

    def _write(self, tokens: TokenSet) -> None:
        self.seen.update({tokens.access_token, tokens.refresh_token})
        super()._write(tokens)


def expect_error(errors: list[BaseException], action) -> None:
    with pytest.raises(WhoopError) as excinfo:
        action()
    errors.append(excinfo.value)


def test_no_token_code_or_secret_appears_in_a_log_record_or_error_message(start_emulator, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)  # every logger: ours, urllib3's, requests', filelock's, the emulator's
    emu = start_emulator(retry_after_header=True)
    secrets = {emu.client_secret}
    errors: list[BaseException] = []

    # The authorization-code grant, with its code.
    app = oauth_app(emu)
    state = app.new_state()
    location = requests.get(app.authorization_url(state), allow_redirects=False, timeout=5).headers["Location"]
    code = parse_qs(urlsplit(location).query)["code"][0]
    secrets.add(code)
    store = RecordingStore(tmp_path / "tokens.json", seen=secrets)
    store.save(app.exchange_code(code))
    expect_error(errors, lambda: app.exchange_code(code))  # a used code

    # Reads through every kind of trouble: 401, 429, 5xx, timeouts, unreadable bodies.
    for kind, options in [
        ("expired_token", {}),
        ("rate_limit", {"reset": 1}),
        ("server_error", {"status": 503}),
        ("slow", {"seconds": 1.0}),
        ("malformed_json", {}),
        ("truncated", {}),
    ]:
        emu.faults.add(kind, after=1, times=1, **options)
    with client_for(emu, store, timeout=(2.0, 0.3)) as client:
        for endpoint in COLLECTIONS:
            assert list(client.iter_records(endpoint)) == emu.dataset.records(endpoint)
        client.get_object("body_measurement")
        emu.faults.add("expired_token", times=None)
        expect_error(errors, lambda: client.get_object("user_profile"))  # 401 after refreshing
        emu.faults.clear()
        emu.faults.add("malformed_json", times=None)
        expect_error(errors, lambda: list(client.iter_records("cycle")))
        emu.faults.clear()
        client.revoke_access()
        expect_error(errors, lambda: client.get_object("user_profile"))  # the refresh token is revoked too

    # A missing scope, and a refresh token someone else already used.
    narrow = emu.issue_refresh_token(scopes=("read:cycles", "offline"))
    secrets.add(narrow)
    narrow_store = RecordingStore(tmp_path / "narrow.json", seed_refresh_token=narrow, seen=secrets)
    with client_for(emu, narrow_store) as client:
        expect_error(errors, lambda: client.get_object("user_profile"))
    used = emu.issue_refresh_token()
    secrets.add(used)
    secrets.update({(tokens := app.refresh(used)).access_token, tokens.refresh_token})
    expect_error(errors, lambda: token_manager(emu, MemoryTokenStore(seed_refresh_token=used)).access_token())

    secrets.discard("")
    assert len(secrets) >= 12
    assert len(errors) == 6
    texts = [record.getMessage() for record in caplog.records]
    texts += [caplog.text]
    texts += ["".join(traceback.format_exception(error)) for error in errors]
    texts += [repr(error) for error in errors]
    assert len(caplog.records) > 50
    leaks = sorted({f"{secret[:4]}… in {text[:80]!r}" for secret in secrets for text in texts if secret in text})
    assert leaks == []
