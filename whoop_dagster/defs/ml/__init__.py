"""The ML layer: next-day recovery forecast and recovery anomaly flags, written to schema ``ml``.

Importing this package is cheap: scikit-learn and matplotlib are imported only inside the
asset bodies.

Modules: ``features`` (marts -> daily features, no look-ahead), ``model`` (estimator,
rolling-origin backtest, baselines), ``anomalies`` (robust z-scores), ``checks`` (the
forecast's blocking gate), ``report`` (the PNG), ``assets`` (the Dagster assets and the
``ml_io_manager``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg

if TYPE_CHECKING:
    from whoop_dagster.warehouse import WarehouseResource


def build_ml_definitions(warehouse: WarehouseResource) -> dg.Definitions:
    """``ml/recovery_forecast`` and ``ml/recovery_anomalies`` (with their checks) and ``ml_io_manager``.

    Both read the marts from ``warehouse`` and write their tables there (schema ``ml``); they
    name the marts with dagster-dbt's ``get_asset_key_for_model``. The assets also need the
    ``warehouse`` resource, which the code location's definitions provide.
    """
    from whoop_dagster.defs.ml.assets import ML_IO_MANAGER_KEY, build_ml_assets, build_ml_io_manager

    return dg.Definitions(
        assets=build_ml_assets(warehouse.kind),
        resources={ML_IO_MANAGER_KEY: build_ml_io_manager(warehouse)},
    )


__all__ = ["build_ml_definitions"]
