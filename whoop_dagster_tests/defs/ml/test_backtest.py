"""The backtest is time-ordered: no model ever trains on a label from the days it predicts, or after them."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
import pytest

from whoop_dagster.defs.ml.model import (
    MIN_TRAIN_DAYS,
    TEST_BLOCK_DAYS,
    ModelSpec,
    NotEnoughHistoryError,
    backtest_folds,
    build_estimator,
    run_backtest,
)


class SpyEstimator:
    """Wraps the real estimator and records the index of every fit and predict call."""

    calls: list[tuple[str, pd.MultiIndex]] = []

    def __init__(self) -> None:
        self.inner = build_estimator(ModelSpec())

    def fit(self, x: pd.DataFrame, y: np.ndarray) -> SpyEstimator:
        SpyEstimator.calls.append(("fit", x.index))
        self.inner.fit(x, y)
        return self

    def predict(self, x: pd.DataFrame) -> Any:
        SpyEstimator.calls.append(("predict", x.index))
        return self.inner.predict(x)


@pytest.fixture
def spy() -> type[SpyEstimator]:
    SpyEstimator.calls = []
    return SpyEstimator


def test_no_fit_sees_a_label_from_the_block_it_predicts_or_later(labelled, spy):
    backtest = run_backtest(labelled, spy)

    assert len(backtest.folds) >= 5
    pairs = list(zip(spy.calls[::2], spy.calls[1::2], strict=True))
    assert len(pairs) == len(backtest.folds)
    for (fit_call, fit_index), (predict_call, predict_index) in pairs:
        assert (fit_call, predict_call) == ("fit", "predict")
        first_forecast_evening = predict_index.get_level_values("feature_date").min()
        # every label the model learned from was known on the evening of its first forecast
        assert fit_index.get_level_values("target_date").max() <= first_forecast_evening
        assert not set(fit_index) & set(predict_index)


def test_every_day_after_the_warm_up_is_predicted_exactly_once(labelled):
    folds = backtest_folds(labelled["feature_date"], labelled["target_date"])
    tested = np.concatenate([fold.test_index for fold in folds])
    assert len(tested) == len(set(tested.tolist()))
    first_test_day = labelled["feature_date"].min() + pd.Timedelta(days=MIN_TRAIN_DAYS)
    expected = np.flatnonzero((labelled["feature_date"] >= first_test_day).to_numpy())
    assert sorted(tested.tolist()) == expected.tolist()
    assert all(
        labelled["feature_date"].iloc[fold.test_index].max() - fold.first_test_day < pd.Timedelta(days=TEST_BLOCK_DAYS)
        for fold in folds
    )


def test_the_training_window_only_grows(labelled):
    folds = backtest_folds(labelled["feature_date"], labelled["target_date"])
    sizes = [len(fold.train_index) for fold in folds]
    assert sizes == sorted(sizes)
    for earlier, later in itertools.pairwise(folds):
        assert set(earlier.train_index.tolist()) <= set(later.train_index.tolist())


def test_the_backtest_is_deterministic(labelled):
    first = run_backtest(labelled, lambda: build_estimator(ModelSpec()))
    second = run_backtest(labelled, lambda: build_estimator(ModelSpec()))
    pd.testing.assert_series_equal(first.rows["predicted"], second.rows["predicted"])


def test_the_model_beats_both_baselines_on_emulated_history(labelled):
    backtest = run_backtest(labelled, lambda: build_estimator(ModelSpec()))
    assert backtest.model.mae < min(scores.mae for scores in backtest.baselines.values())
    assert backtest.model.r2 > 0


def test_too_little_history_is_a_clear_error(labelled):
    first_weeks = labelled.loc[labelled["feature_date"] < labelled["feature_date"].min() + pd.Timedelta(days=30)]
    with pytest.raises(NotEnoughHistoryError, match="more than 45 days of history"):
        run_backtest(first_weeks, lambda: build_estimator(ModelSpec()))
