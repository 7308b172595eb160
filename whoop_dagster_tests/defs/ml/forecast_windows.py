"""Both forecasts' gates on windows of emulator history that the main job would load on different dates.

Each window is a member of its own in one DuckDB warehouse (``history_windows.as_member``),
built by one ``dbt build`` of the marts the forecasts read; the gates are then evaluated per
window exactly as the assets evaluate them. ``scripts/check_forecast_windows.py`` runs many.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from whoop_dagster.defs.ml.assets import ForecastConfig, estimator_factory, model_spec
from whoop_dagster.defs.ml.behaviour import BEHAVIOUR_MARTS, behaviour_daily, read_behaviour_marts
from whoop_dagster.defs.ml.checks import GateResult, evaluate_gate
from whoop_dagster.defs.ml.features import (
    MART_MODELS,
    build_features,
    daily_frame,
    forecast_rows,
    labelled_rows,
    read_marts,
)
from whoop_dagster.defs.ml.model import ModelSpec, NotEnoughHistoryError, design_matrix, fit_final, run_backtest
from whoop_dagster.defs.ml.sleep_features import build_sleep_features
from whoop_dagster.defs.ml.sleep_forecast import SleepForecastConfig, sleep_estimator_factory, sleep_model_spec
from whoop_dagster.emulator import Emulator
from whoop_dagster.warehouse.duckdb import DuckDBWarehouse
from whoop_dagster_tests.defs.dbt.conftest import duckdb_env
from whoop_dagster_tests.defs.dbt.dbt_runner import run_dbt
from whoop_dagster_tests.defs.dbt.history_windows import Window, combined_records, window_of
from whoop_dagster_tests.defs.dbt.sample_data import SampleData, load_raw

if TYPE_CHECKING:
    import pandas as pd

FORECASTS = ("recovery", "sleep")


def build_windows(emu: Emulator, windows: Sequence[Window], root: Path) -> Path:
    """A warehouse in ``root`` holding every window as a member of its own, marts built (no dbt tests)."""
    path = root / "whoop.duckdb"
    load_raw(DuckDBWarehouse(path=str(path)), SampleData(combined_records(emu, windows)))
    selection = " ".join(f"+{model}" for model in sorted({*MART_MODELS, *BEHAVIOUR_MARTS}))
    only_nodes = ["--resource-type", "model", "--resource-type", "seed", "--resource-type", "snapshot"]
    args = ["build", "--select", selection, *only_nodes]
    run_dbt(args, target="local", target_path=root / "target", env=duckdb_env(path))
    return path


def _gate(features: pd.DataFrame, spec: ModelSpec, make_estimator: Callable, min_train: int, block: int) -> GateResult:
    labelled, upcoming = labelled_rows(features), forecast_rows(features)
    backtest = run_backtest(labelled, make_estimator, spec.features, min_train, block)
    final = fit_final(labelled, make_estimator, spec.features)
    forecasts = final.predict(design_matrix(upcoming, spec.features)) if len(upcoming) else []
    return evaluate_gate(backtest, forecasts)


def gate_failures(path: Path, windows: Sequence[Window]) -> dict[tuple[str, str], str]:
    """(forecast, window) -> why its gate failed, for every window whose forecast would not be published."""
    warehouse = DuckDBWarehouse(path=str(path))
    recovery, recovery_config = build_features(daily_frame(read_marts(warehouse))), ForecastConfig()
    sleep, sleep_config = build_sleep_features(behaviour_daily(read_behaviour_marts(warehouse))), SleepForecastConfig()
    recovery_spec, sleep_spec = model_spec(recovery_config), sleep_model_spec(sleep_config)
    cases = {
        "recovery": (recovery, recovery_spec, estimator_factory(recovery_spec), recovery_config),
        "sleep": (sleep, sleep_spec, sleep_estimator_factory(sleep_spec), sleep_config),
    }
    failures = {}
    for window in windows:
        for name, (features, spec, factory, config) in cases.items():
            own = features[features["user_id"].map(window_of) == window.index]
            try:
                gate = _gate(own, spec, factory, config.min_train_days, config.test_block_days)
            except NotEnoughHistoryError as err:
                failures[(name, str(window))] = f"not trained: {err}"
                continue
            if not gate.passed:
                failures[(name, str(window))] = gate.description
    return failures
