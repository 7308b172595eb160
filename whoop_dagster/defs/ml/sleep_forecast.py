"""``ml/sleep_performance_forecast``: tonight's sleep performance (%), predicted the evening before.

The recovery forecast's recipe and gate, with a stronger ridge penalty and predictions capped at 100 %.
"""

# No `from __future__ import annotations`: Dagster reads the asset function's annotations.
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal

import dagster as dg

from whoop_dagster.defs.ml.assets import (
    FRESHNESS_POLICY,
    ML_GROUP,
    ML_IO_MANAGER_KEY,
    ML_SCHEMA,
    MODEL_PARAMS,
    OWNERS,
    ForecastTarget,
    mart_asset_keys,
    ml_automation_condition,
    publish_backtested_forecast,
    table_schema,
)
from whoop_dagster.defs.ml.behaviour import BEHAVIOUR_MARTS, behaviour_daily, read_behaviour_marts
from whoop_dagster.defs.ml.checks import gate_check_spec
from whoop_dagster.defs.ml.features import forecast_rows, labelled_rows
from whoop_dagster.defs.ml.model import (
    MIN_TRAIN_DAYS,
    TEST_BLOCK_DAYS,
    Estimator,
    EstimatorFactory,
    ModelSpec,
    build_estimator,
)
from whoop_dagster.defs.ml.sleep_features import SLEEP_FEATURES, build_sleep_features
from whoop_dagster.defs.pools import WAREHOUSE_POOL
from whoop_dagster.warehouse import WarehouseResource

if TYPE_CHECKING:
    import numpy as np

SLEEP_FORECAST_KEY = dg.AssetKey([ML_SCHEMA, "sleep_performance_forecast"])

#: The ridge penalty of the sleep model (the recovery model's is 10).
SLEEP_RIDGE_ALPHA = 100.0

#: WHOOP caps sleep performance at 100 %: a forecast above it is the cap.
PERFORMANCE_CAP = 100.0

#: Parameters of the models the run config may choose (ridge is the default and the tested one).
SLEEP_MODEL_PARAMS: dict[str, dict[str, Any]] = {**MODEL_PARAMS, "ridge": {"alpha": SLEEP_RIDGE_ALPHA}}

SLEEP_FORECAST_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("user_id", "int", "WHOOP member id."),
    (
        "date_day",
        "date",
        "The night: the physiological day it begins, i.e. the day the member wakes into (fact_sleep.date_day).",
    ),
    ("actual", "float", "That night's sleep performance in % (null for the forecast row)."),
    ("predicted", "float", "Out-of-sample backtest prediction; tonight's forecast on the forecast row."),
    ("error", "float", "predicted - actual (percentage points)."),
    ("persistence_baseline", "float", "Baseline: the latest night's performance known the evening before."),
    ("mean_7d_baseline", "float", "Baseline: mean performance of the 7 nights before."),
    ("model_version", "string", "Model recipe that made the prediction."),
    ("is_forecast", "bool", "True for the night not slept yet (one row per member)."),
)

SLEEP_TARGET = ForecastTarget(
    quantity="sleep performance",
    unit_label="sleep performance %",
    columns=SLEEP_FORECAST_COLUMNS,
    version_suffix=f"-cap{PERFORMANCE_CAP:g}",
)


class SleepForecastConfig(dg.Config):
    """Run configuration of ``ml/sleep_performance_forecast`` (the defaults are what automation runs)."""

    model: Literal["ridge", "hist_gradient_boosting"] = "ridge"
    min_train_days: int = MIN_TRAIN_DAYS
    test_block_days: int = TEST_BLOCK_DAYS


def sleep_model_spec(config: SleepForecastConfig) -> ModelSpec:
    return ModelSpec(name=config.model, params=SLEEP_MODEL_PARAMS[config.model], features=SLEEP_FEATURES)


def _cap(predictions: "np.ndarray") -> "np.ndarray":
    import numpy as np

    return np.minimum(predictions, PERFORMANCE_CAP)


def build_sleep_estimator(spec: ModelSpec) -> Estimator:
    """The spec's estimator, its predictions capped at :data:`PERFORMANCE_CAP` (a stock scikit-learn wrapper)."""
    import numpy as np
    from sklearn.compose import TransformedTargetRegressor

    return TransformedTargetRegressor(
        regressor=build_estimator(spec), func=np.asarray, inverse_func=_cap, check_inverse=False
    )


def sleep_estimator_factory(spec: ModelSpec) -> EstimatorFactory:
    """A zero-argument factory of fresh estimators for ``spec`` (tests replace this to sabotage the model)."""
    return lambda: build_sleep_estimator(spec)


def build_sleep_forecast_asset(warehouse_kind: str) -> dg.AssetsDefinition:
    """``ml/sleep_performance_forecast``, gated by its own blocking check like the recovery forecast.

    It depends on the marts it reads (:data:`~whoop_dagster.defs.ml.behaviour.BEHAVIOUR_MARTS`).
    """
    default_spec = sleep_model_spec(SleepForecastConfig())

    @dg.asset(
        key=SLEEP_FORECAST_KEY,
        group_name=ML_GROUP,
        description=(
            "Tonight's sleep performance (%), forecast the evening before from the day's strain and workouts, "
            "sleep need and debt, recent bedtimes and their consistency, the last nights' performance and trend, "
            "and the day of week. A ridge regression evaluated by a rolling-origin backtest against persistence "
            "and the 7-night mean. One row per member and night (actual, out-of-sample prediction, error, "
            "baselines) plus tonight's forecast. Published only when the backtest beats the baselines and every "
            "prediction lies within 0-100."
        ),
        deps=list(mart_asset_keys(BEHAVIOUR_MARTS).values()),
        io_manager_key=ML_IO_MANAGER_KEY,
        check_specs=[gate_check_spec(SLEEP_FORECAST_KEY)],
        pool=WAREHOUSE_POOL,
        kinds={"python", "scikitlearn", warehouse_kind},
        owners=OWNERS,
        code_version=SLEEP_TARGET.version_of(default_spec),
        automation_condition=ml_automation_condition(),
        freshness_policy=FRESHNESS_POLICY,
        metadata={
            "dagster/column_schema": table_schema(SLEEP_FORECAST_COLUMNS),
            "dagster/table_name": f"{ML_SCHEMA}.{SLEEP_FORECAST_KEY.path[-1]}",
        },
    )
    def sleep_performance_forecast(
        context: dg.AssetExecutionContext, config: SleepForecastConfig, warehouse: WarehouseResource
    ) -> Iterator[Any]:
        spec = sleep_model_spec(config)
        features = build_sleep_features(behaviour_daily(read_behaviour_marts(warehouse)))
        yield from publish_backtested_forecast(
            context,
            labelled=labelled_rows(features),
            upcoming=forecast_rows(features),
            spec=spec,
            make_estimator=sleep_estimator_factory(spec),
            min_train_days=config.min_train_days,
            test_block_days=config.test_block_days,
            target=SLEEP_TARGET,
        )

    return sleep_performance_forecast
