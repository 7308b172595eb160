"""The ML area's definitions: the recovery forecast, the recovery anomalies and the sleep forecast."""

import dagster as dg

from whoop_dagster.defs.ml.assets import build_ml_assets
from whoop_dagster.defs.ml.sleep_forecast import build_sleep_forecast_asset
from whoop_dagster.warehouse import WarehouseResource


def build_ml_definitions(warehouse: WarehouseResource) -> dg.Definitions:
    """``ml/recovery_forecast``, ``ml/recovery_anomalies`` and ``ml/sleep_performance_forecast``, with their checks.

    They read the marts through the ``warehouse`` resource and return DataFrames that the
    ``warehouse_io_manager`` resource stores as ``ml.<name>``; the code location provides both.
    """
    return dg.Definitions(assets=[*build_ml_assets(warehouse.kind), build_sleep_forecast_asset(warehouse.kind)])
