"""``whoop-dagster doctor``: checks, in order, everything a run depends on, and says how to fix what fails.

Secrets are never printed: settings show as "set" or "missing".
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

from whoop_dagster import environment
from whoop_dagster.doctor.report import CheckResult, failed, render_table, summary_line

__all__ = ["CheckResult", "run_checks", "run_doctor"]


def run_checks() -> list[CheckResult]:
    """Every check, in order. A check that crashes is reported as failed, and the next ones still run."""
    from whoop_dagster.doctor.dagster_instance import check_instance
    from whoop_dagster.doctor.dbt_manifest import check_manifest
    from whoop_dagster.doctor.settings import check_deployment
    from whoop_dagster.doctor.warehouse import check_warehouse, snowflake_warehouse
    from whoop_dagster.doctor.whoop import (
        CREDENTIALS,
        check_api_call,
        check_credentials,
        check_token_store,
        whoop_setup,
    )

    results = [check_deployment()]
    with ExitStack() as stack:
        warehouse: Any = None
        if results[0].passed and environment.current_deployment().uses_snowflake:
            warehouse = _guarded("warehouse", lambda: snowflake_warehouse(environment.current_deployment()))
        if isinstance(warehouse, CheckResult):
            # Branch and prod keep the refresh token in the warehouse: without it, nothing to check.
            setup: Any = failed(
                CREDENTIALS,
                "token_store_unavailable",
                f"the refresh token is kept in the warehouse, which could not be set up: {warehouse.result}",
                warehouse.fix,
            )
        else:
            setup = _guarded("WHOOP credentials", lambda: whoop_setup(stack, warehouse))
        if isinstance(setup, CheckResult):
            results.append(setup)
        else:
            results += [_run(check, setup) for check in (check_credentials, check_token_store, check_api_call)]
        results.append(_run(check_warehouse, warehouse if not isinstance(warehouse, CheckResult) else None))
        results.append(_run(check_manifest))
        results.append(_run(check_instance))
    return results


def _guarded(name: str, make: Callable[[], Any]) -> Any:
    try:
        return make()
    except Exception as err:
        return failed(name, "setup_failed", f"{type(err).__name__}: {err}", "see the error; fix the settings it names")


def _run(check: Callable[..., CheckResult], *args: Any) -> CheckResult:
    try:
        return check(*args)
    except Exception as err:
        name = (check.__doc__ or check.__name__).split(":")[0]
        return failed(check.__name__.removeprefix("check_"), "check_crashed", f"{type(err).__name__}: {err}", name)


def run_doctor() -> int:
    """Run the checks, print the table and a summary; 0 when every check passed, else 1."""
    results = run_checks()
    print(render_table(results))
    print()
    print(summary_line(results))
    return 0 if all(result.passed for result in results) else 1
