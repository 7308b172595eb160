"""The ML area's definitions: the recovery forecast, the recovery anomalies and the sleep forecast."""

import dagster as dg

from whoop_dagster.defs.ml.assets import build_ml_assets
from whoop_dagster.defs.ml.sleep_forecast import build_sleep_forecast_asset
from whoop_dagster.warehouse import WarehouseResource


def build_ml_definitions(warehouse: WarehouseResource) -> dg.Definitions:
    """The three ML assets with their checks; they need the ``warehouse`` and ``warehouse_io_manager`` resources."""
    return dg.Definitions(assets=[*build_ml_assets(warehouse.kind), build_sleep_forecast_asset(warehouse.kind)])
