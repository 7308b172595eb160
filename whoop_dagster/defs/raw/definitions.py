"""The raw area's definitions: one asset, blocking and volume checks, and a cursor sensor per endpoint."""

import dagster as dg

from whoop_dagster.defs.pools import WAREHOUSE_POOL
from whoop_dagster.defs.raw.assets import build_raw_assets
from whoop_dagster.defs.raw.checks import build_raw_checks
from whoop_dagster.defs.raw.partitions import daily_partitions_def
from whoop_dagster.defs.raw.schedules import build_object_refresh_schedule
from whoop_dagster.defs.raw.sensors import build_raw_sensors


def build_raw_definitions(warehouse_kind: str, demo_mode: bool) -> dg.Definitions:
    """The six raw assets with their checks, sensors and schedule; ``demo_mode`` sets how often sensors poll."""
    partitions_def = daily_partitions_def()
    return dg.Definitions(
        assets=build_raw_assets(partitions_def, warehouse_kind),
        asset_checks=build_raw_checks(WAREHOUSE_POOL),
        sensors=build_raw_sensors(partitions_def, demo_mode),
        schedules=[build_object_refresh_schedule()],
    )
