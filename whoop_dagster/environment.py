"""The one place that decides where this code runs: ``local``, ``branch`` or ``prod``.

Everything environment-specific (warehouse, dbt target, token store, sensor
intervals, demo mode) derives from the functions here. They read the process
environment when called, never at import, so tests can set variables freely.
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from enum import Enum
from pathlib import Path

from whoop_dagster.clock import utc_today

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: Days the main job (``whoop-dagster demo``, ``make run``) loads by default: enough history that
#: both forecasts clear their gates whatever the date (``make forecast-windows``).
DEMO_DAYS = 180


class Deployment(str, Enum):
    """Where the code location runs."""

    LOCAL = "local"  # DuckDB file + (by default) the built-in emulator
    BRANCH = "branch"  # Dagster+ branch deployment: Snowflake, isolated schema/database
    PROD = "prod"  # Dagster+ production: Snowflake

    @property
    def uses_snowflake(self) -> bool:
        return self is not Deployment.LOCAL


def current_deployment() -> Deployment:
    """The deployment, from ``WHOOP_DEPLOYMENT`` or else from Dagster+'s own variables.

    Dagster+ sets ``DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT=1`` in branch deployments
    and ``DAGSTER_CLOUD_DEPLOYMENT_NAME`` in every deployment it runs.
    """
    explicit = os.getenv("WHOOP_DEPLOYMENT", "").strip().lower()
    if explicit:
        try:
            return Deployment(explicit)
        except ValueError:
            raise ValueError(
                f"WHOOP_DEPLOYMENT={explicit!r} is not one of {', '.join(d.value for d in Deployment)}"
            ) from None
    if os.getenv("DAGSTER_CLOUD_IS_BRANCH_DEPLOYMENT", "").strip() in ("1", "true", "True"):
        return Deployment.BRANCH
    if os.getenv("DAGSTER_CLOUD_DEPLOYMENT_NAME"):
        return Deployment.PROD
    return Deployment.LOCAL


def is_demo_mode() -> bool:
    """True when no WHOOP OAuth app is configured: the project serves its own emulator."""
    return not os.getenv("WHOOP_CLIENT_ID", "").strip()


def dagster_home() -> Path:
    """``DAGSTER_HOME``, or the project's own git-ignored ``.dagster_home``."""
    return Path(os.getenv("DAGSTER_HOME") or PROJECT_ROOT / ".dagster_home")


def duckdb_path() -> Path:
    """The local warehouse file (``WHOOP_DUCKDB_PATH``, default ``data/whoop.duckdb`` in the project)."""
    configured = os.getenv("WHOOP_DUCKDB_PATH")
    path = Path(configured) if configured else PROJECT_ROOT / "data" / "whoop.duckdb"
    return path if path.is_absolute() else PROJECT_ROOT / path


def token_store_path() -> Path:
    """Where rotated WHOOP tokens live locally (``WHOOP_TOKEN_STORE``)."""
    configured = os.getenv("WHOOP_TOKEN_STORE")
    return Path(configured) if configured else dagster_home() / "whoop_tokens.json"


def start_date(today: date | None = None) -> date:
    """The first daily partition: ``WHOOP_START_DATE`` or two years before ``today`` (default: the UTC date)."""
    configured = os.getenv("WHOOP_START_DATE", "").strip()
    if configured:
        return date.fromisoformat(configured)
    # The UTC date, like the partitions: the machine's local date is a day off for hours around midnight.
    today = today or utc_today()
    return today - timedelta(days=730)


PROD_SNOWFLAKE_DATABASE = "WHOOP"


def snowflake_database() -> str:
    """The Snowflake database this deployment writes to.

    ``SNOWFLAKE_DATABASE`` when set; otherwise ``WHOOP`` in prod and, in a branch
    deployment, the per-PR clone ``WHOOP_BRANCH_<PR number>`` that the deploy workflow
    creates. A branch deployment never falls back to the prod database.
    """
    configured = os.getenv("SNOWFLAKE_DATABASE", "").strip()
    deployment = current_deployment()
    if deployment is Deployment.BRANCH:
        name = configured or _branch_database_name()
        if name.upper() == PROD_SNOWFLAKE_DATABASE:
            raise ValueError("a branch deployment must not write to the prod database WHOOP")
        return name
    return configured or PROD_SNOWFLAKE_DATABASE


def _branch_database_name() -> str:
    pull_request = os.getenv("DAGSTER_CLOUD_PULL_REQUEST_ID", "").strip()
    if not pull_request:
        raise ValueError(
            "branch deployment without SNOWFLAKE_DATABASE or DAGSTER_CLOUD_PULL_REQUEST_ID: "
            "refusing to guess a database (it could be prod)"
        )
    return f"{PROD_SNOWFLAKE_DATABASE}_BRANCH_{pull_request}"


def dbt_target() -> str:
    """The dbt target named like the deployment (``ci`` when ``WHOOP_DBT_TARGET`` says so)."""
    return os.getenv("WHOOP_DBT_TARGET") or current_deployment().value
