"""The environment switch: one place decides local / branch / prod."""

from datetime import date

import pytest

from whoop_dagster import environment
from whoop_dagster.environment import Deployment


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    for name in (
        "WHOOP_DEPLOYMENT",
        "DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT",
        "DAGSTER_CLOUD_DEPLOYMENT_NAME",
        "DAGSTER_CLOUD_PULL_REQUEST_ID",
        "SNOWFLAKE_DATABASE",
        "WHOOP_CLIENT_ID",
    ):
        monkeypatch.delenv(name, raising=False)


def test_without_any_variable_the_deployment_is_local_and_in_demo_mode():
    assert environment.current_deployment() is Deployment.LOCAL
    assert environment.is_demo_mode()


def test_dagster_plus_branch_deployments_map_to_branch(monkeypatch):
    monkeypatch.setenv("DAGSTER_CLOUD_DEPLOYMENT_NAME", "prod")
    monkeypatch.setenv("DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT", "1")
    assert environment.current_deployment() is Deployment.BRANCH


def test_other_dagster_plus_deployments_map_to_prod(monkeypatch):
    monkeypatch.setenv("DAGSTER_CLOUD_DEPLOYMENT_NAME", "prod")
    assert environment.current_deployment() is Deployment.PROD


def test_whoop_deployment_overrides_dagster_plus(monkeypatch):
    monkeypatch.setenv("DAGSTER_CLOUD_DEPLOYMENT_NAME", "prod")
    monkeypatch.setenv("WHOOP_DEPLOYMENT", "local")
    assert environment.current_deployment() is Deployment.LOCAL


def test_an_unknown_deployment_name_is_an_error_naming_the_choices(monkeypatch):
    monkeypatch.setenv("WHOOP_DEPLOYMENT", "staging")
    with pytest.raises(ValueError, match="local, branch, prod"):
        environment.current_deployment()


def test_a_branch_deployment_writes_to_its_pull_requests_clone(monkeypatch):
    monkeypatch.setenv("WHOOP_DEPLOYMENT", "branch")
    monkeypatch.setenv("DAGSTER_CLOUD_PULL_REQUEST_ID", "42")
    assert environment.snowflake_database() == "WHOOP_BRANCH_42"


def test_a_branch_deployment_never_falls_back_to_the_prod_database(monkeypatch):
    monkeypatch.setenv("WHOOP_DEPLOYMENT", "branch")
    with pytest.raises(ValueError, match="refusing"):
        environment.snowflake_database()
    monkeypatch.setenv("SNOWFLAKE_DATABASE", "whoop")
    with pytest.raises(ValueError, match="must not write to the prod database"):
        environment.snowflake_database()


def test_prod_writes_to_whoop_unless_told_otherwise(monkeypatch):
    monkeypatch.setenv("WHOOP_DEPLOYMENT", "prod")
    assert environment.snowflake_database() == "WHOOP"
    monkeypatch.setenv("SNOWFLAKE_DATABASE", "WHOOP_DEV")
    assert environment.snowflake_database() == "WHOOP_DEV"


def test_without_whoop_start_date_history_begins_730_days_before_today(monkeypatch):
    monkeypatch.delenv("WHOOP_START_DATE", raising=False)
    assert environment.start_date(date(2024, 2, 29)) == date(2022, 3, 1)


def test_whoop_start_date_wins_over_the_default(monkeypatch):
    monkeypatch.setenv("WHOOP_START_DATE", "2023-05-01")
    assert environment.start_date(date(2024, 2, 29)) == date(2023, 5, 1)
