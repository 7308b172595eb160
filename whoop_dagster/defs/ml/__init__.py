"""The ML layer: next-day recovery forecast and recovery anomaly flags, written to schema ``ml``.

Importing this package is cheap: scikit-learn and matplotlib are imported only inside the
asset bodies, the warehouse IO managers only inside :func:`build_ml_definitions`.

Modules: ``features`` (marts -> daily features, no look-ahead), ``model`` (estimator,
rolling-origin backtest, baselines), ``anomalies`` (robust z-scores), ``checks`` (the
forecast's blocking gate), ``report`` (the PNG), ``assets`` (the Dagster assets and the
``ml_io_manager``).
"""

from __future__ import annotations

import dagster as dg

from whoop_dagster import environment


def build_ml_definitions(
    deployment: environment.Deployment | None = None, dbt_assets: dg.AssetsDefinition | None = None
) -> dg.Definitions:
    """``ml/recovery_forecast`` and ``ml/recovery_anomalies`` (with their checks) and ``ml_io_manager``.

    ``deployment`` defaults to :func:`whoop_dagster.environment.current_deployment`. Pass the dbt
    assets to take the marts' keys from the manifest (``get_asset_key_for_model``); without
    them the keys follow the translator's rule ``["marts", <model>]``. The assets also need the
    ``warehouse`` resource, which the code location's definitions provide.
    """
    from whoop_dagster.defs.ml.assets import ML_IO_MANAGER_KEY, build_ml_assets, build_ml_io_manager

    deployment = deployment or environment.current_deployment()
    warehouse_kind = "snowflake" if deployment.uses_snowflake else "duckdb"
    return dg.Definitions(
        assets=build_ml_assets(warehouse_kind, dbt_assets),
        resources={ML_IO_MANAGER_KEY: build_ml_io_manager(deployment)},
    )


__all__ = ["build_ml_definitions"]
