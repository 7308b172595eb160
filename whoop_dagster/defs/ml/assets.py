"""The ML assets: ``ml/recovery_forecast`` and ``ml/recovery_anomalies``, written to schema ``ml``.

Both read the dbt marts through the ``warehouse`` resource and declare them as ``deps`` (so
lineage, automation and blocking dbt tests apply), and return a DataFrame that the
``warehouse_io_manager`` stores as the table ``ml.<name>`` of the same warehouse
(dagster-duckdb-pandas locally, dagster-snowflake-pandas in branch and prod), so
``defs.load_asset_value(FORECAST_KEY)`` and downstream assets read it back as a DataFrame.
Both run in the ``warehouse_writer`` pool: locally they open the same DuckDB file as dbt.

Nothing heavy at import: numpy, pandas, scikit-learn and matplotlib are imported inside the
functions the asset bodies call, so loading the definitions needs none of them.
"""

# No `from __future__ import annotations`: Dagster reads the asset functions' annotations
# (run config, resources) when the assets are defined.
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from whoop_dagster import environment
from whoop_dagster.defs.dbt.assets import build_dbt_assets
from whoop_dagster.defs.ml.anomalies import (
    BASELINE_DAYS,
    METHOD_VERSION,
    MIN_SCALE,
    SHORT_NAMES,
    Z_CONCORDANT,
    Z_EXTREME,
    robust_z_scores,
)
from whoop_dagster.defs.ml.checks import (
    ANOMALY_CHECK_NAME,
    ForecastGateFailed,
    anomaly_check_result,
    anomaly_check_spec,
    evaluate_gate,
    gate_check_result,
    gate_check_spec,
)
from whoop_dagster.defs.ml.features import (
    MART_MODELS,
    build_features,
    daily_frame,
    forecast_rows,
    labelled_rows,
    mart_query,
    read_marts,
    vitals_daily,
)
from whoop_dagster.defs.ml.model import (
    MIN_TRAIN_DAYS,
    RIDGE_ALPHA,
    TEST_BLOCK_DAYS,
    Backtest,
    ModelSpec,
    NotEnoughHistoryError,
    build_score_estimator,
    design_matrix,
    fit_final,
    permutation_importances,
    run_backtest,
)
from whoop_dagster.defs.raw.assets import WAREHOUSE_POOL
from whoop_dagster.resources import WAREHOUSE_IO_MANAGER_KEY
from whoop_dagster.warehouse import WarehouseResource

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

ML_GROUP = "ml"
ML_SCHEMA = "ml"
#: The ML tables are stored by the warehouse's pandas IO manager, in schema ``ml`` (the key prefix).
ML_IO_MANAGER_KEY = WAREHOUSE_IO_MANAGER_KEY
FORECAST_KEY = dg.AssetKey([ML_SCHEMA, "recovery_forecast"])
ANOMALIES_KEY = dg.AssetKey([ML_SCHEMA, "recovery_anomalies"])
OWNERS = ["team:data-science"]

#: The marts refresh at least daily (warn after 15 h, fail after 28 h); the ML assets run right
#: after them, so they allow one hour more.
FRESHNESS_POLICY = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=29), warn_window=timedelta(hours=16))


#: Parameters of the models the run config may choose (ridge is the default and the tested one).
MODEL_PARAMS: dict[str, dict[str, Any]] = {
    "ridge": {"alpha": RIDGE_ALPHA},
    "hist_gradient_boosting": {"max_iter": 200, "learning_rate": 0.05, "max_depth": 3, "min_samples_leaf": 20},
}


class ForecastConfig(dg.Config):
    """Run configuration of ``ml/recovery_forecast`` (the defaults are what automation runs)."""

    model: Literal["ridge", "hist_gradient_boosting"] = "ridge"
    min_train_days: int = MIN_TRAIN_DAYS
    test_block_days: int = TEST_BLOCK_DAYS


def model_spec(config: ForecastConfig) -> ModelSpec:
    return ModelSpec(name=config.model, params=MODEL_PARAMS[config.model])


def estimator_factory(spec: ModelSpec) -> Any:
    """A zero-argument factory of fresh estimators for ``spec`` (tests replace this to sabotage the model)."""
    return lambda: build_score_estimator(spec)


def mart_asset_keys(models: Sequence[str] = MART_MODELS) -> dict[str, dg.AssetKey]:
    """The asset key of each mart in ``models`` (by default those the recovery assets read), as dbt defines it."""
    dbt_models = build_dbt_assets()
    return {model: get_asset_key_for_model([dbt_models], model) for model in models}


def ml_automation_condition() -> dg.AutomationCondition:
    """Run after the marts change, once per change; also when never built yet, or when the code changed.

    ``eager()`` re-runs the asset when any mart updates (after all of them, since a dbt build
    updates them in one run and eager waits while any is in progress). ``eager()`` does not
    build an asset that is already missing the first time it is evaluated, hence the
    ``missing`` clause; a new model version (``code_version``) re-runs too. Never while a
    mart's blocking dbt test fails: a model retrained on data that failed its tests is not
    worth publishing.
    """
    ready = ~dg.AutomationCondition.any_deps_missing() & ~dg.AutomationCondition.any_deps_in_progress()
    idle = ~dg.AutomationCondition.in_progress()
    missing = (dg.AutomationCondition.missing() & ~dg.AutomationCondition.execution_failed()).with_label(
        "missing_not_failed"
    )
    changed = dg.AutomationCondition.code_version_changed().with_label("code_changed")
    return (
        (dg.AutomationCondition.eager() | ((missing | changed) & ready & idle))
        & dg.AutomationCondition.all_deps_blocking_checks_passed()
    ).with_label("eager_after_marts")


def table_schema(columns: Sequence[tuple[str, str, str]]) -> dg.TableSchema:
    """``dagster/column_schema`` of a table documented as ``(name, type, description)`` triples."""
    return dg.TableSchema(
        columns=[dg.TableColumn(name, type_, description=description) for name, type_, description in columns]
    )


FORECAST_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("user_id", "int", "WHOOP member id."),
    ("date_day", "date", "The physiological day whose recovery is predicted."),
    ("actual", "float", "The recovery score of that day (null for the forecast row)."),
    ("predicted", "float", "Out-of-sample backtest prediction; the forecast on the forecast row."),
    ("error", "float", "predicted - actual."),
    ("persistence_baseline", "float", "Baseline: the latest recovery known the evening before."),
    ("mean_7d_baseline", "float", "Baseline: mean recovery of the 7 days before."),
    ("model_version", "string", "Model recipe that made the prediction."),
    ("is_forecast", "bool", "True for the day not known yet (one row per member)."),
)


@dataclass(frozen=True)
class ForecastTarget:
    """What a backtested forecast predicts: how its table, metadata and picture name it."""

    quantity: str  # "recovery"
    unit_label: str  # the picture's y axis
    columns: tuple[tuple[str, str, str], ...]  # the table's documented columns (FORECAST_COLUMNS' names)
    emulator_noise_floor: bool = False  # demo mode: report the emulator's recovery noise floor
    version_suffix: str = ""  # what the estimator adds to the ModelSpec (e.g. a cap on predictions)

    def version_of(self, spec: ModelSpec) -> str:
        return spec.version + self.version_suffix


RECOVERY_TARGET = ForecastTarget("recovery", "recovery %", FORECAST_COLUMNS, emulator_noise_floor=True)


def forecast_table(
    backtest: Backtest, upcoming: "pd.DataFrame", forecasts: "np.ndarray", version: str
) -> "pd.DataFrame":
    """``ml.recovery_forecast``: one row per member and predicted day, plus one forecast row per member."""
    import numpy as np
    import pandas as pd

    history = backtest.rows
    known = pd.DataFrame(
        {
            "user_id": history["user_id"],
            "date_day": history["target_date"],
            "actual": history["target"],
            "predicted": history["predicted"],
            "error": history["predicted"] - history["target"],
            "persistence_baseline": history["persistence"],
            "mean_7d_baseline": history["mean_7d"],
            "is_forecast": False,
        }
    )
    ahead = pd.DataFrame(
        {
            "user_id": upcoming["user_id"],
            "date_day": upcoming["target_date"],
            "actual": np.nan,
            "predicted": np.asarray(forecasts, dtype=float),
            "error": np.nan,
            "persistence_baseline": upcoming["persistence"],
            "mean_7d_baseline": upcoming["mean_7d"],
            "is_forecast": True,
        }
    )
    table = pd.concat([known, ahead], ignore_index=True).sort_values(["user_id", "date_day"], ignore_index=True)
    table["user_id"] = table["user_id"].astype("int64")
    table["date_day"] = pd.to_datetime(table["date_day"]).dt.date  # a DATE column in both warehouses
    table["model_version"] = version
    return table[[name for name, _, _ in FORECAST_COLUMNS]]


def forecast_metadata(
    backtest: Backtest,
    table: "pd.DataFrame",
    spec: ModelSpec,
    importances: dict[str, float],
    training_rows: int,
    seconds: float,
    partial_strain: bool,
    target: ForecastTarget | None = None,
) -> dict[str, Any]:
    """What a user sees on the materialization: scores, baselines, the model, and the picture."""
    from whoop_dagster.defs.ml.report import forecast_plot_png, png_markdown

    target = target or RECOVERY_TARGET

    best_name, best = backtest.best_baseline
    forecasts = table.loc[table["is_forecast"], ["user_id", "date_day", "predicted"]]
    metadata: dict[str, Any] = {
        "mae": backtest.model.mae,
        "rmse": backtest.model.rmse,
        "r2": backtest.model.r2,
        **{f"baseline_mae/{name}": scores.mae for name, scores in backtest.baselines.items()},
        "mae_improvement_over_best_baseline": best.mae - backtest.model.mae,
        "best_baseline": best_name,
        "training_rows": training_rows,
        "backtest_rows": len(backtest.scored),
        "backtest_folds": len(backtest.folds),
        "fold_mae": dg.MetadataValue.json([round(value, 3) for value in backtest.fold_mae]),
        "model_version": target.version_of(spec),
        "model_params": dg.MetadataValue.json({"model": spec.name, **spec.params, "features": list(spec.features)}),
        "feature_importances": dg.MetadataValue.json({k: round(v, 4) for k, v in importances.items()}),
        "forecast": dg.MetadataValue.json(
            [
                {
                    "user_id": int(row.user_id),
                    "date_day": row.date_day.isoformat(),
                    "predicted": round(row.predicted, 2),
                }
                for row in forecasts.itertuples(index=False)
            ]
        ),
        "forecast_uses_partial_strain": partial_strain,
        "fit_seconds": seconds,  # all backtest folds + the final fit, imports excluded
        "dagster/row_count": len(table),
        "dagster/column_schema": table_schema(target.columns),
        "predicted_vs_actual": dg.MetadataValue.md(
            png_markdown(forecast_plot_png(table, target.unit_label), f"predicted vs actual {target.quantity}")
        ),
    }
    if target.emulator_noise_floor and environment.is_demo_mode():
        metadata.update(noise_floor_metadata(backtest))
    return metadata


def noise_floor_metadata(backtest: Backtest) -> dict[str, Any]:
    """Demo mode: how far the errors are above the emulator's irreducible noise.

    The emulator adds ``e ~ N(0, RECOVERY_NOISE_SD)`` to every recovery, independent of the
    past, so no forecast beats RMSE = ``RECOVERY_NOISE_SD`` or MAE = ``RECOVERY_NOISE_SD *
    sqrt(2 / pi)`` on average. A day-ahead forecast also cannot know the coming night's sleep,
    so its practical floor is somewhat higher.
    """
    from whoop_dagster.emulator.data import RECOVERY_NOISE_SD

    mae_floor = RECOVERY_NOISE_SD * math.sqrt(2.0 / math.pi)
    return {
        "noise_floor/rmse": RECOVERY_NOISE_SD,
        "noise_floor/mae": mae_floor,
        "rmse_above_noise_floor": backtest.model.rmse - RECOVERY_NOISE_SD,
        "mae_above_noise_floor": backtest.model.mae - mae_floor,
    }


def publish_backtested_forecast(
    context: dg.AssetExecutionContext,
    *,
    labelled: "pd.DataFrame",
    upcoming: "pd.DataFrame",
    spec: ModelSpec,
    make_estimator: Any,
    min_train_days: int,
    test_block_days: int,
    target: ForecastTarget,
) -> Iterator[Any]:
    """Backtest, gate, fit, forecast: yields the gate's check result, then the table (only if the gate passed).

    ``labelled`` and ``upcoming`` are feature rows in the shape of
    :func:`~whoop_dagster.defs.ml.features.labelled_rows` / ``forecast_rows``. A failing gate
    raises :class:`ForecastGateFailed` after its check result: nothing is written.
    """
    make_estimator()  # imports scikit-learn (seconds, once per process) before the clock starts
    started = time.perf_counter()
    try:
        backtest = run_backtest(labelled, make_estimator, spec.features, min_train_days, test_block_days)
    except NotEnoughHistoryError as err:
        raise dg.Failure(description=f"{target.quantity} forecast not trained: {err}") from err
    final = fit_final(labelled, make_estimator, spec.features)
    forecasts = final.predict(design_matrix(upcoming, spec.features)) if len(upcoming) else []

    fit_seconds = time.perf_counter() - started

    gate = evaluate_gate(backtest, forecasts)
    yield gate_check_result(gate)
    if not gate.passed:
        context.log.error("%s forecast NOT published: %s", target.quantity, gate.description)
        raise ForecastGateFailed(description=gate.description, metadata=gate.metadata())

    version = target.version_of(spec)
    table = forecast_table(backtest, upcoming, forecasts, version)
    importances = permutation_importances(labelled, make_estimator, spec.features)
    context.log.info(
        "%s forecast %s: backtest MAE %.2f (persistence %.2f, 7-day mean %.2f) over %d days, fit in %.1f s",
        target.quantity,
        version,
        backtest.model.mae,
        backtest.baselines["persistence"].mae,
        backtest.baselines["mean_7d"].mae,
        len(backtest.scored),
        fit_seconds,
    )
    partial_strain = bool(upcoming["is_current_cycle"].any()) if len(upcoming) else False
    yield dg.Output(
        table,
        metadata=forecast_metadata(
            backtest, table, spec, importances, len(labelled), fit_seconds, partial_strain, target
        ),
    )


def build_forecast_asset(mart_keys: Sequence[dg.AssetKey], warehouse_kind: str) -> dg.AssetsDefinition:
    """``ml/recovery_forecast``, gated by its own blocking check (see :mod:`whoop_dagster.defs.ml.checks`)."""
    default_spec = model_spec(ForecastConfig())

    @dg.asset(
        key=FORECAST_KEY,
        group_name=ML_GROUP,
        description=(
            "Next-day recovery forecast. A ridge regression on the marts (yesterday's strain, last night's sleep, "
            "HRV/RHR against the personal baseline, rolling means, the day of week), evaluated by a rolling-origin "
            "backtest against persistence and the 7-day mean. One row per member and day (actual, out-of-sample "
            "prediction, error) plus the forecast for the next day. Published only when the backtest beats the "
            "baselines and every prediction lies within 0-100."
        ),
        deps=list(mart_keys),
        io_manager_key=ML_IO_MANAGER_KEY,
        check_specs=[gate_check_spec(FORECAST_KEY)],
        pool=WAREHOUSE_POOL,
        kinds={"python", "scikitlearn", warehouse_kind},
        owners=OWNERS,
        code_version=default_spec.version,
        automation_condition=ml_automation_condition(),
        freshness_policy=FRESHNESS_POLICY,
        metadata={
            "dagster/column_schema": table_schema(FORECAST_COLUMNS),
            "dagster/table_name": f"{ML_SCHEMA}.{FORECAST_KEY.path[-1]}",
        },
    )
    def recovery_forecast(
        context: dg.AssetExecutionContext, config: ForecastConfig, warehouse: WarehouseResource
    ) -> Iterator[Any]:
        spec = model_spec(config)
        features = build_features(daily_frame(read_marts(warehouse)))
        yield from publish_backtested_forecast(
            context,
            labelled=labelled_rows(features),
            upcoming=forecast_rows(features),
            spec=spec,
            make_estimator=estimator_factory(spec),
            min_train_days=config.min_train_days,
            test_block_days=config.test_block_days,
            target=RECOVERY_TARGET,
        )

    return recovery_forecast


ANOMALY_COLUMNS_DOC: tuple[tuple[str, str, str], ...] = (
    ("user_id", "int", "WHOOP member id."),
    ("date_day", "date", "Physiological day."),
    *(
        column
        for vital, short in SHORT_NAMES.items()
        for column in (
            (short, "float", f"The day's {vital}."),
            (f"{short}_z", "float", f"Robust z-score of {short} against the {BASELINE_DAYS} days before."),
        )
    ),
    ("anomaly_score", "float", "Root-sum-square of the day's z-scores: distance from the member's normal."),
    ("is_anomaly", "bool", f"One |z| >= {Z_EXTREME}, or two or more >= {Z_CONCORDANT}."),
    ("drivers", "string", "The vitals that drove the flag, most unusual first, with signed z."),
    ("model_version", "string", "Method and parameters that scored the day."),
)


def anomaly_table(scores: "pd.DataFrame") -> "pd.DataFrame":
    """``ml.recovery_anomalies``: the scores with DATE days and the method's version."""
    import pandas as pd

    table = scores.copy()
    table["user_id"] = table["user_id"].astype("int64")
    table["date_day"] = pd.to_datetime(table["date_day"]).dt.date
    table["model_version"] = METHOD_VERSION
    # A text column even when no day is flagged (all null): the warehouse types it from the frame.
    table["drivers"] = table["drivers"].astype("string")
    return table[[name for name, _, _ in ANOMALY_COLUMNS_DOC]]


def build_anomalies_asset(recovery_key: dg.AssetKey, warehouse_kind: str) -> dg.AssetsDefinition:
    """``ml/recovery_anomalies``: robust z-scores of the vitals against each member's trailing baseline."""

    @dg.asset(
        key=ANOMALIES_KEY,
        group_name=ML_GROUP,
        description=(
            "Unusual days in HRV, resting heart rate, respiratory rate, skin temperature and SpO2: robust z-scores "
            f"(median/MAD of the member's {BASELINE_DAYS} previous days); a day is flagged when one vital reaches "
            f"|z| >= {Z_EXTREME} or two reach {Z_CONCORDANT}, with the vitals that drove the flag. One row per member "
            "and day with any vital measured."
        ),
        deps=[recovery_key],
        io_manager_key=ML_IO_MANAGER_KEY,
        check_specs=[anomaly_check_spec(ANOMALIES_KEY)],
        pool=WAREHOUSE_POOL,
        kinds={"python", "pandas", warehouse_kind},
        owners=OWNERS,
        code_version=METHOD_VERSION,
        automation_condition=ml_automation_condition(),
        freshness_policy=FRESHNESS_POLICY,
        metadata={
            "dagster/column_schema": table_schema(ANOMALY_COLUMNS_DOC),
            "dagster/table_name": f"{ML_SCHEMA}.{ANOMALIES_KEY.path[-1]}",
            "min_scale": dg.MetadataValue.json(MIN_SCALE),
        },
    )
    def recovery_anomalies(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> Iterator[Any]:
        recovery = warehouse.read_frame(mart_query("fact_daily_recovery"))
        table = anomaly_table(robust_z_scores(vitals_daily(recovery)))
        flagged = table.loc[table["is_anomaly"]]
        context.log.info("recovery anomalies: %d flagged day(s) of %d", len(flagged), len(table))
        yield anomaly_check_result(table)
        recent = flagged.sort_values("date_day", ascending=False).head(10)
        yield dg.Output(
            table,
            metadata={
                "dagster/row_count": len(table),
                "anomaly_days": len(flagged),
                "anomaly_share": float(len(flagged) / len(table)) if len(table) else 0.0,
                "latest_anomalies": dg.MetadataValue.md(_markdown_rows(recent[["user_id", "date_day", "drivers"]])),
                "model_version": METHOD_VERSION,
            },
        )

    return recovery_anomalies


def _markdown_rows(frame: "pd.DataFrame") -> str:
    if frame.empty:
        return "_no anomalies_"
    header = "| " + " | ".join(frame.columns) + " |\n|" + "---|" * len(frame.columns) + "\n"
    return header + "\n".join("| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False))


def build_ml_assets(warehouse_kind: str) -> list[dg.AssetsDefinition]:
    """Both ML assets, depending on the marts' keys."""
    keys = mart_asset_keys()
    return [
        build_forecast_asset(list(keys.values()), warehouse_kind),
        build_anomalies_asset(keys["fact_daily_recovery"], warehouse_kind),
    ]


__all__ = [
    "ANOMALIES_KEY",
    "ANOMALY_CHECK_NAME",
    "FORECAST_KEY",
    "ML_IO_MANAGER_KEY",
    "ForecastConfig",
    "build_ml_assets",
]
