"""The run-failure alert sensor against a loopback webhook receiver.

A tiny asset job fails for real in an ephemeral instance; the sensor is evaluated on
that run's failure event through ``build_run_status_sensor_context`` and posts to an
HTTP server on 127.0.0.1 that records what it receives.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import dagster as dg
import pytest

from whoop_dagster.defs.ops.alerts import (
    DEFAULT_UI_URL,
    SENSOR_NAME,
    WEBHOOK_URL_ENV,
    build_run_failure_alert_sensor,
    run_url,
)
from whoop_dagster.defs.ops.definitions import build_ops_definitions
from whoop_dagster.whoop_api.errors import WhoopAuthError, WhoopRefreshTokenRejectedError
from whoop_dagster.whoop_api.redaction import REDACTED, scrub_secrets

JOB_NAME = "whoop_alert_test_job"
FAILED_STEP = "raw__cycle"  # the step key of asset `raw/cycle`
ACCESS_TOKEN = "q8Zr2vXy0Lk3PqW9tYb1nM4cD7eF6gH5jK2lA0sB9uV"
REFRESH_TOKEN = "rT-5f2Kq9ZxW81mNbV3cYp7LdS0aGhJ4eR6tUiO2"


@pytest.fixture
def fail_run(instance: dg.DagsterInstance) -> Callable[[Exception], dg.RunFailureSensorContext]:
    """Run a one-asset job whose asset raises ``error``; the failure context the sensor would get."""

    def fail(error: Exception) -> dg.RunFailureSensorContext:
        @dg.asset(key=["raw", "cycle"])
        def cycle() -> None:
            raise error

        defs = dg.Definitions(assets=[cycle], jobs=[dg.define_asset_job(JOB_NAME, selection=[cycle.key])])
        result = defs.resolve_job_def(JOB_NAME).execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        return dg.build_run_status_sensor_context(
            sensor_name=SENSOR_NAME,
            dagster_event=result.get_run_failure_event(),
            dagster_instance=instance,
            dagster_run=result.dagster_run,
        ).for_run_failure()

    return fail


def rejected_refresh_token_error() -> WhoopAuthError:
    """What ``TokenManager`` raises when WHOOP answers ``invalid_grant`` and nobody rotated meanwhile."""
    try:
        raise WhoopRefreshTokenRejectedError(
            "WHOOP rejected the refresh token (already used or revoked)", endpoint="oauth/token", status=400
        )
    except WhoopRefreshTokenRejectedError as cause:
        try:
            raise WhoopAuthError(
                "WHOOP rejected the stored refresh token: it was already used or revoked. "
                "Run `whoop-dagster auth` to authorize the app again.",
                endpoint="oauth/token",
                status=400,
            ) from cause
        except WhoopAuthError as err:
            return err


def test_a_failed_run_posts_one_message_naming_run_failed_step_and_link(receiver, fail_run, monkeypatch):
    monkeypatch.setenv(WEBHOOK_URL_ENV, receiver.url)
    context = fail_run(RuntimeError("the cycle table is locked"))

    assert build_run_failure_alert_sensor()(context) is None

    assert len(receiver.messages) == 1
    text = receiver.texts[0]
    run_id = context.dagster_run.run_id
    assert JOB_NAME in text
    assert run_id in text
    assert f"`{FAILED_STEP}`: RuntimeError: the cycle table is locked" in text
    assert f"{DEFAULT_UI_URL}/runs/{run_id}" in text
    assert "whoop-dagster auth" not in text


def test_the_link_uses_the_configured_ui_url(receiver, fail_run, monkeypatch):
    monkeypatch.setenv(WEBHOOK_URL_ENV, receiver.url)
    monkeypatch.setenv("WHOOP_DAGSTER_UI_URL", "https://dagster.example.org/")
    context = fail_run(RuntimeError("boom"))

    build_run_failure_alert_sensor()(context)

    assert f"https://dagster.example.org/runs/{context.dagster_run.run_id}" in receiver.texts[0]


def test_a_rejected_token_alert_says_so_and_gives_the_command_to_fix_it(receiver, fail_run, monkeypatch):
    monkeypatch.setenv(WEBHOOK_URL_ENV, receiver.url)
    context = fail_run(rejected_refresh_token_error())

    build_run_failure_alert_sensor()(context)

    (text,) = receiver.texts
    assert "WHOOP refresh token rejected" in text
    assert "run `whoop-dagster auth`" in text
    assert f"`{FAILED_STEP}`: WhoopAuthError: WHOOP rejected the stored refresh token" in text


def test_on_dagster_plus_the_link_and_the_fix_name_the_deployment(receiver, fail_run, monkeypatch):
    context = fail_run(rejected_refresh_token_error())
    monkeypatch.setenv(WEBHOOK_URL_ENV, receiver.url)
    monkeypatch.setenv("DAGSTER_CLOUD_DEPLOYMENT_NAME", "prod")
    monkeypatch.setenv("WHOOP_DAGSTER_UI_URL", "https://acme.dagster.cloud")

    build_run_failure_alert_sensor()(context)

    (text,) = receiver.texts
    assert f"https://acme.dagster.cloud/prod/runs/{context.dagster_run.run_id}" in text
    assert "(deployment `prod`)" in text
    assert "`WHOOP_DEPLOYMENT=prod`" in text


def test_a_refused_scope_asks_to_authorize_not_blaming_the_refresh_token(receiver, fail_run, monkeypatch):
    monkeypatch.setenv(WEBHOOK_URL_ENV, receiver.url)
    context = fail_run(
        WhoopAuthError(
            "WHOOP refused access (403): the app lacks the `read:sleep` scope. Run `whoop-dagster auth` and grant it.",
            endpoint="v2/activity/sleep",
            status=403,
        )
    )

    build_run_failure_alert_sensor()(context)

    (text,) = receiver.texts
    assert "WHOOP authorization needed" in text
    assert "run `whoop-dagster auth`" in text
    assert "refresh token rejected" not in text


def test_an_auth_error_without_the_reauthorize_hint_gets_no_such_advice(receiver, fail_run, monkeypatch):
    monkeypatch.setenv(WEBHOOK_URL_ENV, receiver.url)
    context = fail_run(WhoopAuthError("set WHOOP_CLIENT_ID and WHOOP_CLIENT_SECRET first"))

    build_run_failure_alert_sensor()(context)

    (text,) = receiver.texts
    assert "WhoopAuthError: set WHOOP_CLIENT_ID" in text
    assert "refresh token rejected" not in text


def test_secret_looking_strings_in_the_error_never_reach_the_webhook(receiver, fail_run, monkeypatch):
    monkeypatch.setenv(WEBHOOK_URL_ENV, receiver.url)
    context = fail_run(
        RuntimeError(
            f"request failed: Authorization: Bearer {ACCESS_TOKEN}; body grant_type=refresh_token"
            f"&refresh_token={REFRESH_TOKEN}&client_secret=hunter2; stray {ACCESS_TOKEN[::-1]}"
        )
    )

    build_run_failure_alert_sensor()(context)

    (text,) = receiver.texts
    for secret in (ACCESS_TOKEN, REFRESH_TOKEN, ACCESS_TOKEN[::-1], "hunter2"):
        assert secret not in text
    assert f"Bearer {REDACTED}" in text
    assert f"refresh_token={REDACTED}" in text
    assert context.dagster_run.run_id in text  # the run id is not mistaken for a token


def test_without_a_webhook_url_nothing_is_posted_and_the_tick_says_why(receiver, fail_run):
    context = fail_run(RuntimeError("boom"))

    result = build_run_failure_alert_sensor()(context)

    assert receiver.messages == []
    assert isinstance(result, dg.SkipReason)
    assert WEBHOOK_URL_ENV in result.skip_message
    assert context.dagster_run.run_id in result.skip_message


def test_an_unreachable_webhook_is_logged_on_the_tick_not_raised(fail_run, monkeypatch, capfd):
    with socket.socket() as probe:  # a loopback port that nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv(WEBHOOK_URL_ENV, f"http://127.0.0.1:{port}/services/T000/B000/webhooksecret")
    context = fail_run(RuntimeError("boom"))

    capfd.readouterr()  # drop the failed run's own log

    assert build_run_failure_alert_sensor()(context) is None
    logged = capfd.readouterr().err
    assert "could not post the failure alert" in logged
    assert "webhooksecret" not in logged


def test_the_ops_definitions_hold_one_sensor_running_by_default_per_job():
    sensor = build_ops_definitions().resolve_sensor_def(SENSOR_NAME)

    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert isinstance(sensor, dg.RunStatusSensorDefinition)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, f"{DEFAULT_UI_URL}/runs/abc"),
        ({"WHOOP_DAGSTER_UI_URL": "http://dagster.lan:3000/"}, "http://dagster.lan:3000/runs/abc"),
        (
            {"DAGSTER_CLOUD_DEPLOYMENT_NAME": "prod", "DAGSTER_CLOUD_URL": "https://acme.dagster.cloud"},
            "https://acme.dagster.cloud/prod/runs/abc",
        ),
        (
            {"DAGSTER_CLOUD_DEPLOYMENT_NAME": "pr-12", "DAGSTER_CLOUD_ORGANIZATION": "acme"},
            "https://acme.dagster.cloud/pr-12/runs/abc",
        ),
        ({"DAGSTER_CLOUD_DEPLOYMENT_NAME": "prod"}, None),
    ],
)
def test_run_links_point_at_the_local_ui_or_the_dagster_plus_deployment(env, expected):
    assert run_url("abc", env) == expected


def test_scrubbing_keeps_identifiers_paths_dates_and_run_ids_readable():
    text = (
        "endpoint=v2/cycle, partition_range=2024-03-01...2024-03-31, record_id=123456 in raw__body_measurement "
        "(/home/me/.dagster_home/whoop_tokens.json) run 50e841dd-ccea-4450-99af-769e9dcb1ceb "
        "whoop_dagster.whoop_api.errors.WhoopRefreshTokenRejectedError"
    )
    assert scrub_secrets(text) == text


def test_scrubbing_removes_private_keys_url_credentials_and_long_hex():
    text = (
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY----- "
        "https://user:pa55word@db.example.org/x sha 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    )
    scrubbed = scrub_secrets(text)
    assert "MIIEvQIBADANBg" not in scrubbed
    assert "pa55word" not in scrubbed
    assert "9f86d081884c7d659a2feaa0c55ad015" not in scrubbed
    assert "db.example.org/x" in scrubbed
