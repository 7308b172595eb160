"""Operations: what watches the pipeline rather than builds it (run-failure and volume alerts)."""

import dagster as dg

from whoop_dagster.defs.ops.alerts import build_run_failure_alert_sensor
from whoop_dagster.defs.ops.volume_alerts import build_volume_alert_sensor


def build_ops_definitions() -> dg.Definitions:
    """The operations definitions: the run-failure alert sensor and the raw volume alert sensor."""
    return dg.Definitions(sensors=[build_run_failure_alert_sensor(), build_volume_alert_sensor()])


__all__ = ["build_ops_definitions"]
