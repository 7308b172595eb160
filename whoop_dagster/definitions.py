"""The code location's one entry point: ``defs``, every area's definitions merged with the resources.

Loading reads no network, opens no warehouse and imports neither scikit-learn nor other deployments' integrations.
"""

import dagster as dg

from whoop_dagster import environment
from whoop_dagster.defs.analysis.definitions import build_analysis_definitions
from whoop_dagster.defs.dbt.definitions import build_dbt_definitions
from whoop_dagster.defs.ml.definitions import build_ml_definitions
from whoop_dagster.defs.ops.definitions import build_ops_definitions
from whoop_dagster.defs.raw.definitions import build_raw_definitions
from whoop_dagster.executor import build_executor
from whoop_dagster.jobs import build_pipeline_job
from whoop_dagster.resources import build_resources


def build_definitions() -> dg.Definitions:
    """All assets, checks, sensors, schedules, jobs and resources for the current deployment."""
    deployment = environment.current_deployment()
    demo_mode = environment.is_demo_mode()
    resources = build_resources(deployment)
    warehouse = resources["warehouse"]
    return dg.Definitions.merge(
        build_raw_definitions(warehouse.kind, demo_mode),
        build_dbt_definitions(),
        build_ml_definitions(warehouse),
        build_analysis_definitions(warehouse.kind),
        build_ops_definitions(),
        dg.Definitions(
            jobs=[build_pipeline_job()],
            resources=resources,
            executor=build_executor(),
            metadata={"whoop/deployment": deployment.value, "whoop/demo_mode": demo_mode},
        ),
    )


defs = build_definitions()
