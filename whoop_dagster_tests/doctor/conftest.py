"""Fixtures of the doctor tests: a real WHOOP app set up against the emulator, a pipeline warehouse,
a Dagster instance with the project's settings, and fakesnow for the deployed warehouse."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from whoop_dagster.demo import install_instance_settings
from whoop_dagster.emulator import Emulator, EmulatorConfig, run_emulator
from whoop_dagster.whoop_api.token_store import FileTokenStore, TokenSet

#: The emulator app's secret as the doctor tests configure it; must never appear in any output.
CLIENT_SECRET = "doctor-test-client-secret-8f3a1c"


@dataclass
class WhoopApp:
    """An emulator acting as WHOOP for a configured (non-demo) app, and where its tokens are kept."""

    emulator: Emulator
    token_store: Path
    refresh_token: str


@pytest.fixture
def whoop_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WhoopApp]:
    """WHOOP_CLIENT_ID/SECRET of an emulator app, and a token store (0600) holding its refresh token."""
    config = EmulatorConfig(days=30, client_secret=CLIENT_SECRET)
    with run_emulator(config, port=0) as emulator:
        store = tmp_path / "tokens" / "whoop_tokens.json"
        refresh_token = emulator.issue_refresh_token()
        FileTokenStore(store).save(TokenSet.from_refresh_token(refresh_token))
        for name, value in {
            "WHOOP_CLIENT_ID": emulator.client_id,
            "WHOOP_CLIENT_SECRET": CLIENT_SECRET,
            "WHOOP_API_BASE_URL": emulator.api_base_url,
            "WHOOP_OAUTH_BASE_URL": emulator.oauth_base_url,
            "WHOOP_REDIRECT_URI": emulator.redirect_uri,
            "WHOOP_TOKEN_STORE": str(store),
        }.items():
            monkeypatch.setenv(name, value)
        yield WhoopApp(emulator, store, refresh_token)


@pytest.fixture
def local_pipeline(pipeline_warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """After a pipeline run, locally: its warehouse (a copy) and a DAGSTER_HOME with the project's settings."""
    home = tmp_path / "dagster_home"
    install_instance_settings(home)
    warehouse = tmp_path / "warehouse" / "whoop.duckdb"
    warehouse.parent.mkdir()
    shutil.copyfile(pipeline_warehouse, warehouse)
    monkeypatch.setenv("WHOOP_DEPLOYMENT", "local")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("WHOOP_DUCKDB_PATH", str(warehouse))
    return warehouse
