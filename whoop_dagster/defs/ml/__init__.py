"""The ML layer: next-day recovery forecast and recovery anomaly flags, written to schema ``ml``.

Importing this package is cheap: scikit-learn and matplotlib are imported only inside the
asset bodies.

Modules: ``features`` (marts -> daily features, no look-ahead), ``model`` (estimator,
rolling-origin backtest, baselines), ``anomalies`` (robust z-scores), ``checks`` (the
forecast's blocking gate), ``report`` (the PNG), ``assets`` (the Dagster assets).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg

if TYPE_CHECKING:
    from whoop_dagster.warehouse import WarehouseResource


def build_ml_definitions(warehouse: WarehouseResource) -> dg.Definitions:
    """``ml/recovery_forecast`` and ``ml/recovery_anomalies``, with their checks.

    Both read the marts through the ``warehouse`` resource and return DataFrames that the
    ``warehouse_io_manager`` resource (the deployment's pandas IO manager, see
    :func:`whoop_dagster.resources.build_warehouse_io_manager`) stores as ``ml.<name>``; the code
    location's definitions provide both. They name the marts with dagster-dbt's
    ``get_asset_key_for_model``.
    """
    from whoop_dagster.defs.ml.assets import build_ml_assets

    return dg.Definitions(assets=build_ml_assets(warehouse.kind))


__all__ = ["build_ml_definitions"]
