"""The code location's one entry point: ``defs``.

Loading builds definitions only: it reads no network, opens no warehouse,
parses no dbt project outside `dagster dev` (the manifest is prepared at build
time) and imports neither scikit-learn nor the integrations of other deployments.
"""

from __future__ import annotations

import dagster as dg

from whoop_dagster import environment
from whoop_dagster.defs.analysis import build_analysis_definitions
from whoop_dagster.defs.dbt import build_dbt_definitions
from whoop_dagster.defs.ml import build_ml_definitions
from whoop_dagster.defs.ops import build_ops_definitions
from whoop_dagster.defs.raw.assets import WAREHOUSE_POOL, build_raw_assets
from whoop_dagster.defs.raw.checks import build_raw_checks, build_volume_checks
from whoop_dagster.defs.raw.partitions import daily_partitions_def
from whoop_dagster.defs.raw.sensors import build_object_refresh_schedule, build_raw_sensors
from whoop_dagster.jobs import build_pipeline_job
from whoop_dagster.resources import build_resources


def build_definitions() -> dg.Definitions:
    """All assets, checks, sensors, schedules and resources for the current deployment."""
    deployment = environment.current_deployment()
    demo_mode = environment.is_demo_mode()
    partitions_def = daily_partitions_def()
    resources = build_resources(deployment)
    warehouse = resources["warehouse"]

    raw = dg.Definitions(
        assets=build_raw_assets(partitions_def, warehouse.kind),
        asset_checks=[*build_raw_checks(WAREHOUSE_POOL), *build_volume_checks(WAREHOUSE_POOL)],
        sensors=build_raw_sensors(partitions_def, demo_mode),
        schedules=[build_object_refresh_schedule()],
        jobs=[build_pipeline_job()],
    )
    dbt = build_dbt_definitions()
    ml = build_ml_definitions(warehouse)
    return dg.Definitions.merge(
        raw,
        dbt,
        ml,
        build_analysis_definitions(warehouse.kind),
        build_ops_definitions(),
        dg.Definitions(
            resources=resources,
            metadata={"whoop/deployment": deployment.value, "whoop/demo_mode": demo_mode},
        ),
    )


defs = build_definitions()
