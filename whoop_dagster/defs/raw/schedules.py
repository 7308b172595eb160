"""The daily refresh of the unpartitioned raw assets (profile and body measurement)."""

import dagster as dg

from whoop_dagster import environment
from whoop_dagster.defs.raw.tables import raw_asset_key
from whoop_dagster.whoop_api.endpoints import SINGLE_OBJECT_ENDPOINTS


def build_object_refresh_schedule() -> dg.ScheduleDefinition:
    """A daily refresh of the unpartitioned profile and body measurement (stopped in branch deployments)."""
    running = environment.current_deployment() is not environment.Deployment.BRANCH
    return dg.ScheduleDefinition(
        name="profile_refresh_schedule",
        description="Reloads the member's profile and body measurement once a day.",
        target=dg.AssetSelection.assets(*(raw_asset_key(e) for e in SINGLE_OBJECT_ENDPOINTS)),
        cron_schedule="0 6 * * *",
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING if running else dg.DefaultScheduleStatus.STOPPED,
    )
