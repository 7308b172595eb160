"""``whoop-dagster doctor`` against the emulator acting as WHOOP, in its fault modes: every failure
has its own name and fix, every check still runs, and no secret is ever printed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from whoop_dagster.doctor import run_checks, run_doctor
from whoop_dagster.doctor import warehouse as doctor_warehouse
from whoop_dagster.doctor.report import CheckResult, render_table
from whoop_dagster_tests.doctor.conftest import CLIENT_SECRET

CHECKS = [
    "deployment",
    "WHOOP credentials",
    "token store",
    "WHOOP API call",
    "warehouse",
    "dbt manifest",
    "Dagster instance",
]
WHOOP_DOCTOR = Path(sys.executable).parent / "whoop-dagster"


def by_name(results: list[CheckResult]) -> dict[str, CheckResult]:
    assert [result.check for result in results] == CHECKS
    return {result.check: result for result in results}


def assert_no_secret(results: list[CheckResult], *secrets: str) -> None:
    table = render_table(results)
    for secret in secrets:
        assert secret not in table


def test_a_configured_app_with_a_good_token_passes_every_check(whoop_app, local_pipeline, capsys):
    assert run_doctor() == 0
    output = capsys.readouterr().out
    assert "All 7 checks passed." in output
    for check in CHECKS:
        assert check in output
    assert "X-RateLimit-Remaining" in output  # the profile call's rate-limit headers
    assert "WHOOP_CLIENT_SECRET set" in output
    assert CLIENT_SECRET not in output
    assert whoop_app.refresh_token not in output
    # The refresh rotated the token, and the store kept the new pair, private.
    assert oct(whoop_app.token_store.stat().st_mode & 0o777) == "0o600"


def test_a_wrong_client_secret_is_named_with_its_fix(whoop_app, local_pipeline, monkeypatch):
    monkeypatch.setenv("WHOOP_CLIENT_SECRET", "not-the-right-secret-42")
    results = by_name(run_checks())
    credentials = results["WHOOP credentials"]
    assert credentials.failure == "client_credentials_rejected"
    assert "WHOOP_CLIENT_SECRET" in credentials.fix
    assert results["WHOOP API call"].failure == "client_credentials_rejected"
    assert results["warehouse"].passed  # the checks after it still run
    assert_no_secret(list(results.values()), "not-the-right-secret-42", whoop_app.refresh_token)


def test_a_revoked_refresh_token_asks_to_authorize_again(whoop_app, local_pipeline):
    whoop_app.emulator.oauth.revoke_user(0)
    results = by_name(run_checks())
    assert results["WHOOP credentials"].passed
    assert results["token store"].passed  # it holds a token; only WHOOP can say it is dead
    call = results["WHOOP API call"]
    assert call.failure == "refresh_token_rejected"
    assert "whoop-dagster auth" in call.fix
    assert_no_secret(list(results.values()), CLIENT_SECRET, whoop_app.refresh_token)


def test_a_whoop_server_error_is_reported_with_its_status(whoop_app, local_pipeline):
    whoop_app.emulator.faults.add("server_error", path="/v2/user/profile", times=None, status=503)
    results = by_name(run_checks())
    call = results["WHOOP API call"]
    assert call.failure == "whoop_server_error"
    assert "HTTP 503" in call.result
    assert "try again later" in call.fix
    assert_no_secret(list(results.values()), CLIENT_SECRET)


def test_a_token_store_readable_by_others_is_named_with_chmod(whoop_app, local_pipeline):
    whoop_app.token_store.chmod(0o644)
    store = by_name(run_checks())["token store"]
    assert store.failure == "token_store_permissions"
    assert store.fix == f"chmod 600 {whoop_app.token_store}"


def test_an_empty_token_store_asks_to_authorize(whoop_app, local_pipeline):
    whoop_app.token_store.unlink()
    results = by_name(run_checks())
    assert results["token store"].failure == "no_refresh_token"
    assert "whoop-dagster auth" in results["token store"].fix


def test_a_missing_warehouse_says_to_run_the_pipeline(whoop_app, local_pipeline):
    local_pipeline.unlink()
    warehouse = by_name(run_checks())["warehouse"]
    assert warehouse.failure == "warehouse_missing"
    assert "make run" in warehouse.fix


def test_a_warehouse_held_by_another_process_is_named_locked(whoop_app, local_pipeline, monkeypatch):
    monkeypatch.setattr(doctor_warehouse, "LOCK_WAIT_SECONDS", 1.0)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('x', flush=True); "
         "time.sleep(60)", str(local_pipeline)],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        holder.stdout.readline()
        warehouse = by_name(run_checks())["warehouse"]
    finally:
        holder.kill()
        holder.wait(timeout=30)
    assert warehouse.failure == "warehouse_locked"


def test_a_warehouse_without_the_pipelines_schemas_is_named(whoop_app, local_pipeline):
    with duckdb.connect(str(local_pipeline)) as connection:
        connection.execute("drop schema ml cascade")
    warehouse = by_name(run_checks())["warehouse"]
    assert warehouse.failure == "schemas_missing"
    assert "ml" in warehouse.result


def test_settings_show_secrets_only_as_set_or_missing(whoop_app, local_pipeline, monkeypatch):
    monkeypatch.setenv("SNOWFLAKE_PASSWORD", "a-snowflake-password-99")
    deployment = by_name(run_checks())["deployment"]
    assert deployment.passed
    assert "WHOOP_CLIENT_SECRET set" in deployment.result
    assert "SNOWFLAKE_PASSWORD set" in deployment.result
    assert "WHOOP_REFRESH_TOKEN missing" in deployment.result
    assert "a-snowflake-password-99" not in render_table([deployment])


def test_demo_mode_after_a_pipeline_run_is_green_from_the_command_line(local_pipeline, tmp_path):
    """What a new user does: `make run`, then `whoop-dagster doctor` (demo mode: no WHOOP app configured)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WHOOP_CLIENT", "WHOOP_REFRESH", "SNOWFLAKE_"))}
    env["WHOOP_TOKEN_STORE"] = str(tmp_path / "unused.json")
    done = subprocess.run([str(WHOOP_DOCTOR), "doctor"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All 7 checks passed." in done.stdout
    assert "demo mode" in done.stdout


def test_the_exit_code_is_one_when_a_check_fails(local_pipeline, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WHOOP_CLIENT", "SNOWFLAKE_"))}
    env["DAGSTER_HOME"] = str(tmp_path / "no_instance_here")
    done = subprocess.run([str(WHOOP_DOCTOR), "doctor"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert "Dagster instance (instance_missing)" in done.stdout
    assert "make home" in done.stdout


@pytest.mark.parametrize("deployment", ["branch", "prod"])
def test_deployed_settings_without_snowflake_credentials_fail_first(whoop_app, monkeypatch, deployment):
    monkeypatch.setenv("WHOOP_DEPLOYMENT", deployment)
    monkeypatch.setenv("SNOWFLAKE_DATABASE", "WHOOP_BRANCH_1")
    for name in ("SNOWFLAKE_ACCOUNT", "SNOWFLAKE_USER", "SNOWFLAKE_PASSWORD", "SNOWFLAKE_PRIVATE_KEY"):
        monkeypatch.delenv(name, raising=False)
    results = run_checks()
    assert results[0].failure == "snowflake_settings_missing"
    assert "SNOWFLAKE_ACCOUNT" in results[0].result
