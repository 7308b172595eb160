"""When dbt assets run: their automation conditions and the sensor that evaluates them.

``eager()`` alone would never run a model while any day of a partitioned raw parent is missing.
"""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg

#: The sensor that evaluates every automation condition of the code location.
AUTOMATION_SENSOR_NAME = "whoop_automation_sensor"

#: dbt nodes without parents (the date spine, seeds) rebuild once a day, which also keeps
#: them within their freshness window; everything else follows its parents.
ROOT_REBUILD_CRON = "0 4 * * *"


def _not_blocked_by_missing(partitioned_parents: list[dg.AssetKey]) -> dg.AutomationCondition:
    condition = dg.AutomationCondition.any_deps_missing()
    if partitioned_parents:
        condition = condition.ignore(dg.AssetSelection.assets(*partitioned_parents))
    return condition


def _missing_and_ready(partitioned_parents: list[dg.AssetKey]) -> dg.AutomationCondition:
    """Never built (a fresh deployment, a new model), its parents there, nothing running, no failed attempt.

    eager() alone does not build an asset that is already missing when the condition is first
    evaluated (only *newly* missing ones), and a model with no parents would never run at all.
    """
    return (
        dg.AutomationCondition.missing()
        & ~_not_blocked_by_missing(partitioned_parents)
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
        & ~dg.AutomationCondition.execution_failed()
    ).with_label("missing_and_ready")


def _code_changed() -> dg.AutomationCondition:
    return (dg.AutomationCondition.code_version_changed() & ~dg.AutomationCondition.in_progress()).with_label(
        "code_changed"
    )


def dbt_model_condition(partitioned_parents: Iterable[dg.AssetKey] = ()) -> dg.AutomationCondition:
    """Eager, but not blocked by missing days of partitioned parents, and blocked by failed blocking checks.

    Runs a model when any parent updated (a raw partition was loaded or re-loaded, or an upstream
    model was rebuilt — in the same run when they are requested together), when it is missing and
    its parents are there, or when its SQL (code version) changed; never while a parent or the
    model itself is in progress, while an *unpartitioned* parent was never materialized, or while
    a parent's blocking check is failing.
    """
    keys = list(partitioned_parents)
    eager = dg.AutomationCondition.eager().replace("any_deps_missing", _not_blocked_by_missing(keys))
    return (
        (eager | _missing_and_ready(keys) | _code_changed()) & dg.AutomationCondition.all_deps_blocking_checks_passed()
    ).with_label("eager_over_raw_partitions")


def dbt_root_condition() -> dg.AutomationCondition:
    """For dbt nodes without parents (dim_date, seeds): build when missing or changed, rebuild daily."""
    return (dg.AutomationCondition.on_cron(ROOT_REBUILD_CRON) | _missing_and_ready([]) | _code_changed()).with_label(
        "daily_root"
    )


def build_automation_sensor(target: dg.AssetSelection | None = None) -> dg.AutomationConditionSensorDefinition:
    """The automation sensor, RUNNING by default (OSS starts its implicit default sensor stopped).

    It targets every asset by default: assets without a condition (the raw assets, which their
    cursor sensors drive) are simply not evaluated, and the ML assets' conditions are covered too.
    Define no other automation sensor over the same assets: an asset may belong to only one.
    """
    return dg.AutomationConditionSensorDefinition(
        AUTOMATION_SENSOR_NAME,
        target=target if target is not None else dg.AssetSelection.all(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=60,
        description="Materializes dbt models (and other assets with automation conditions) as raw data lands.",
    )
