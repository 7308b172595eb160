"""The ML layer: next-day recovery forecast, recovery anomaly flags and tonight's sleep forecast (schema ``ml``).

Importing this package is cheap: scikit-learn and matplotlib are imported only inside the
asset bodies.

Modules: ``features`` (marts -> daily features, no look-ahead), ``model`` (estimator,
rolling-origin backtest, baselines), ``anomalies`` (robust z-scores), ``checks`` (the
forecasts' blocking gate), ``report`` (the PNG), ``assets`` (the recovery assets, the shared
forecast publishing and the ``ml_io_manager``), ``behaviour`` (the member's days: load, sleep,
recovery, also read by ``analysis``), ``sleep_features`` and ``sleep_forecast`` (the sleep
performance forecast).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg

if TYPE_CHECKING:
    from whoop_dagster.warehouse import WarehouseResource


def build_ml_definitions(warehouse: WarehouseResource) -> dg.Definitions:
    """``ml/recovery_forecast``, ``ml/recovery_anomalies``, ``ml/sleep_performance_forecast`` and ``ml_io_manager``.

    They read the marts from ``warehouse`` and write their tables there (schema ``ml``); they
    name the marts with dagster-dbt's ``get_asset_key_for_model``. The assets also need the
    ``warehouse`` resource, which the code location's definitions provide.
    """
    from whoop_dagster.defs.ml.assets import ML_IO_MANAGER_KEY, build_ml_assets, build_ml_io_manager
    from whoop_dagster.defs.ml.sleep_forecast import build_sleep_forecast_asset

    return dg.Definitions(
        assets=[*build_ml_assets(warehouse.kind), build_sleep_forecast_asset(warehouse.kind)],
        resources={ML_IO_MANAGER_KEY: build_ml_io_manager(warehouse)},
    )


__all__ = ["build_ml_definitions"]
