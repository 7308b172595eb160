"""The doctor's instance check on real DAGSTER_HOMEs: pools, and an event log left from an older home."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from whoop_dagster import environment
from whoop_dagster.demo import install_instance_settings
from whoop_dagster.doctor.dagster_instance import check_instance

PROJECT_SETTINGS = environment.PROJECT_ROOT / "config" / "dagster.yaml"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "dagster_home"
    monkeypatch.setenv("WHOOP_DEPLOYMENT", "local")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def _without_event_log_block(settings: str) -> str:
    """The project's settings as they were before they named an event log storage."""
    kept, dropping = [], False
    for line in settings.splitlines():
        if line.startswith("event_log_storage:"):
            dropping = True
        elif dropping and not line.startswith(" "):
            dropping = False
        if not dropping:
            kept.append(line)
    return "\n".join(kept) + "\n"


def test_the_projects_settings_pass_with_the_kept_connection_event_log(home: Path) -> None:
    install_instance_settings(home)

    result = check_instance(dg.Definitions())

    assert result.passed, result
    assert "pool warehouse_writer limit 1" in result.result
    assert "event log: SQLite, connections kept open" in result.result


def test_an_older_home_passes_and_says_how_to_get_the_faster_event_log(home: Path) -> None:
    home.mkdir()
    older = _without_event_log_block(PROJECT_SETTINGS.read_text())
    assert "event_log_storage" not in older
    assert "default_limit: 1" in older  # the pools stay
    (home / "dagster.yaml").write_text(older)

    result = check_instance(dg.Definitions())

    assert result.passed, result  # it works, only slower
    assert "Dagster's SqliteEventLogStorage" in result.result
    assert f"`event_log_storage` block of config/dagster.yaml into {home}/dagster.yaml" in result.result


def test_a_home_without_a_pool_limit_fails_naming_the_pool(home: Path) -> None:
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")

    result = check_instance(dg.Definitions())

    assert result.failure == "pool_unlimited"
    assert "warehouse_writer" in result.result
    assert "make home" in result.fix
