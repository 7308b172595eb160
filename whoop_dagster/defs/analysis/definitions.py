"""The analysis area's definitions: ``analysis/recovery_drivers``."""

import dagster as dg

from whoop_dagster.defs.analysis.assets import build_recovery_drivers_asset


def build_analysis_definitions(warehouse_kind: str) -> dg.Definitions:
    """``analysis/recovery_drivers`` for a warehouse of kind ``warehouse_kind`` (``duckdb`` or ``snowflake``)."""
    return dg.Definitions(assets=[build_recovery_drivers_asset(warehouse_kind)])
