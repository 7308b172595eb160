"""Check 1: the deployment and the settings in force (values of secrets never shown)."""

from __future__ import annotations

import os

from whoop_dagster import environment
from whoop_dagster.doctor.report import SECRET_VARIABLES, CheckResult, failed, passed

CHECK = "deployment"

#: Settings whose values are safe to show (paths, URLs without credentials, numbers).
SHOWN_VARIABLES = (
    "WHOOP_DEPLOYMENT",
    "DAGSTER_HOME",
    "WHOOP_DUCKDB_PATH",
    "WHOOP_TOKEN_STORE",
    "WHOOP_API_BASE_URL",
    "WHOOP_OAUTH_BASE_URL",
    "WHOOP_START_DATE",
    "WHOOP_DBT_TARGET",
    "WHOOP_REQUESTS_PER_MINUTE",
    "WHOOP_DAGSTER_UI_URL",
    "SNOWFLAKE_ACCOUNT",
    "SNOWFLAKE_USER",
    "SNOWFLAKE_ROLE",
    "SNOWFLAKE_WAREHOUSE",
    "SNOWFLAKE_DATABASE",
)
#: Settings whose presence matters but whose value is an identity, not shown either.
PRESENCE_VARIABLES = ("WHOOP_CLIENT_ID", *SECRET_VARIABLES)
#: What a Snowflake deployment cannot run without.
SNOWFLAKE_REQUIRED = ("SNOWFLAKE_ACCOUNT", "SNOWFLAKE_USER")


def settings_in_force() -> list[str]:
    """``NAME=value`` for the settings that are set and safe to show, ``NAME set|missing`` for the others."""
    lines = [f"{name}={os.environ[name]}" for name in SHOWN_VARIABLES if os.getenv(name)]
    lines += [f"{name} {'set' if os.getenv(name) else 'missing'}" for name in PRESENCE_VARIABLES]
    return lines


def check_deployment() -> CheckResult:
    """Which deployment runs (local / branch / prod), in demo mode or not, and its settings."""
    try:
        deployment = environment.current_deployment()
    except ValueError as err:
        return failed(CHECK, "unknown_deployment", str(err), "set WHOOP_DEPLOYMENT to local, branch or prod")
    mode = "demo mode (the built-in WHOOP emulator)" if environment.is_demo_mode() else "a real WHOOP app"
    where = (
        f"DuckDB file {environment.duckdb_path()}"
        if not deployment.uses_snowflake
        else f"Snowflake database {_snowflake_database()}"
    )
    summary = f"{deployment.value}: {where}, {mode}, DAGSTER_HOME {environment.dagster_home()}"
    details = "settings: " + "; ".join(settings_in_force())
    if deployment.uses_snowflake:
        missing = [name for name in SNOWFLAKE_REQUIRED if not os.getenv(name)]
        if not (os.getenv("SNOWFLAKE_PASSWORD") or os.getenv("SNOWFLAKE_PRIVATE_KEY")):
            missing.append("SNOWFLAKE_PASSWORD or SNOWFLAKE_PRIVATE_KEY")
        try:
            environment.snowflake_database()
        except ValueError as err:
            return failed(CHECK, "no_branch_database", f"{summary}\n{err}", "set SNOWFLAKE_DATABASE for the branch")
        if missing:
            return failed(
                CHECK,
                "snowflake_settings_missing",
                f"{summary}\nmissing: {', '.join(missing)}\n{details}",
                "set the missing SNOWFLAKE_* variables (deploy/README.md)",
            )
    if not environment.is_demo_mode() and not os.getenv("WHOOP_CLIENT_SECRET"):
        return failed(
            CHECK,
            "client_secret_missing",
            f"{summary}\nWHOOP_CLIENT_ID is set but WHOOP_CLIENT_SECRET is missing\n{details}",
            "set WHOOP_CLIENT_SECRET (WHOOP developer dashboard), or unset WHOOP_CLIENT_ID for demo mode",
        )
    return passed(CHECK, f"{summary}\n{details}")


def _snowflake_database() -> str:
    try:
        return environment.snowflake_database()
    except ValueError:
        return "(none: see below)"
