"""The ML layer: next-day recovery forecast, recovery anomaly flags and tonight's sleep forecast (schema ``ml``).

Importing this package is cheap: scikit-learn and matplotlib are imported only inside the
asset bodies.

Modules: ``features`` (marts -> daily features, no look-ahead), ``model`` (estimator,
rolling-origin backtest, baselines), ``anomalies`` (robust z-scores), ``checks`` (the
forecasts' blocking gate), ``report`` (the PNG), ``assets`` (the recovery assets and the shared
forecast publishing), ``behaviour`` (the member's days: load, sleep, recovery, also read by
``analysis``), ``sleep_features`` and ``sleep_forecast`` (the sleep performance forecast).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg

if TYPE_CHECKING:
    from whoop_dagster.warehouse import WarehouseResource


def build_ml_definitions(warehouse: WarehouseResource) -> dg.Definitions:
    """``ml/recovery_forecast``, ``ml/recovery_anomalies`` and ``ml/sleep_performance_forecast``, with their checks.

    They read the marts through the ``warehouse`` resource and return DataFrames that the
    ``warehouse_io_manager`` resource (the deployment's pandas IO manager, see
    :func:`whoop_dagster.resources.build_warehouse_io_manager`) stores as ``ml.<name>``; the code
    location's definitions provide both. They name the marts with dagster-dbt's
    ``get_asset_key_for_model``.
    """
    from whoop_dagster.defs.ml.assets import build_ml_assets
    from whoop_dagster.defs.ml.sleep_forecast import build_sleep_forecast_asset

    return dg.Definitions(assets=[*build_ml_assets(warehouse.kind), build_sleep_forecast_asset(warehouse.kind)])


__all__ = ["build_ml_definitions"]
