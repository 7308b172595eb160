"""The next-day recovery model, its time-ordered backtest and its baselines.

scikit-learn is imported inside the functions that need it, never at module import: loading
the code location must not pay for it (``whoop_dagster_tests/defs/ml/test_imports.py``).

Evaluation is a rolling-origin (expanding-window) backtest and nothing else: the days are cut
into consecutive test blocks; the model of a block is fitted only on rows whose *target* day
is on or before the block's first *feature* day — everything that was known on the evening
the first forecast of the block was made — and predicts the block. Concatenated, the blocks
give one honest out-of-sample prediction per day after the warm-up period. Never a random
split: neighbouring days share rolling features and the HRV baseline drifts, so a shuffled
split would score the model on days it has, in effect, already seen.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from whoop_dagster.defs.ml.features import FEATURES

if TYPE_CHECKING:
    # numpy and pandas are imported by the functions that compute: the definitions load without them.
    import numpy as np
    import pandas as pd

#: Bump when the model, its features or its preprocessing change: it is part of ``model_version``
#: and the assets' ``code_version`` (a new version re-runs the assets under automation).
MODEL_REVISION = 2  # 2: the recovery forecast is clipped to the score's 0-100 range

#: Ridge on standardised features after median imputation (with missing-value indicators).
#: On 730 emulated days it beat a HistGradientBoostingRegressor (see the report in the PR):
#: recovery is close to linear in its drivers, and two years are few rows for trees.
RIDGE_ALPHA = 10.0
RANDOM_STATE = 0

#: Days the first backtest model trains on, and the length of each test block (one refit per block).
MIN_TRAIN_DAYS = 45
TEST_BLOCK_DAYS = 14


@dataclass(frozen=True)
class Fold:
    """One backtest block: train on ``train_index`` rows, predict ``test_index`` rows (positions)."""

    number: int
    train_index: np.ndarray
    test_index: np.ndarray
    first_test_day: pd.Timestamp


def backtest_folds(
    feature_dates: pd.Series,
    target_dates: pd.Series,
    min_train_days: int = MIN_TRAIN_DAYS,
    block_days: int = TEST_BLOCK_DAYS,
) -> list[Fold]:
    """Expanding-window folds over the rows of ``feature_dates`` / ``target_dates`` (aligned series).

    Block ``k`` tests the rows with feature day in ``[start_k, start_k + block_days)``, where
    ``start_0`` is ``min_train_days`` after the first feature day; it trains on every row whose
    target day is ``<= start_k`` (so, on its feature day ``< start_k``). Train and test rows of a
    fold never overlap, and no training row's label lies after the first forecast of the block.
    """
    import numpy as np
    import pandas as pd

    feature_days = pd.to_datetime(feature_dates).to_numpy()
    target_days = pd.to_datetime(target_dates).to_numpy()
    if len(feature_days) == 0:
        return []
    first, last = feature_days.min(), feature_days.max()
    start = first + np.timedelta64(min_train_days, "D")
    folds: list[Fold] = []
    while start <= last:
        end = start + np.timedelta64(block_days, "D")
        train = np.flatnonzero(target_days <= start)
        test = np.flatnonzero((feature_days >= start) & (feature_days < end))
        if len(train) and len(test):
            folds.append(Fold(len(folds), train, test, pd.Timestamp(start)))
        start = end
    return folds


@dataclass(frozen=True)
class ModelSpec:
    """Which estimator and with which parameters: what ``model_version`` identifies."""

    name: str = "ridge"
    params: dict[str, Any] = field(default_factory=lambda: {"alpha": RIDGE_ALPHA})
    features: tuple[str, ...] = FEATURES

    @property
    def version(self) -> str:
        """``<name>-r<revision>-<hash of params and features>``: stable across runs of the same code."""
        payload = json.dumps({"params": self.params, "features": self.features, "revision": MODEL_REVISION})
        digest = hashlib.sha256(payload.encode()).hexdigest()[:8]
        return f"{self.name}-r{MODEL_REVISION}-{digest}"


def build_estimator(spec: ModelSpec) -> Any:
    """A fresh, unfitted scikit-learn pipeline for ``spec`` (deterministic: fixed seeds)."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if spec.name == "ridge":
        return make_pipeline(
            SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
            StandardScaler(),
            Ridge(**spec.params),
        )
    if spec.name == "hist_gradient_boosting":
        return HistGradientBoostingRegressor(random_state=RANDOM_STATE, **spec.params)
    raise ValueError(f"unknown model {spec.name!r}: use 'ridge' or 'hist_gradient_boosting'")


def clip_to_score_range(predictions: Any) -> Any:
    """Predictions clipped to 0-100, the range of WHOOP's scores (a linear model extrapolates past it)."""
    import numpy as np

    return np.clip(predictions, 0.0, 100.0)


def build_score_estimator(spec: ModelSpec) -> Any:
    """The spec's estimator for a 0-100 score: its predictions clipped to the range (a stock scikit-learn wrapper)."""
    import numpy as np
    from sklearn.compose import TransformedTargetRegressor

    return TransformedTargetRegressor(
        regressor=build_estimator(spec), func=np.asarray, inverse_func=clip_to_score_range, check_inverse=False
    )


#: Builds a fresh estimator (anything with ``fit(X, y)`` / ``predict(X)``); swapped out in tests.
EstimatorFactory = Callable[[], Any]


@dataclass(frozen=True)
class Scores:
    """Error of predictions against actuals, on the same rows."""

    mae: float
    rmse: float
    r2: float

    @classmethod
    def of(cls, actual: np.ndarray, predicted: np.ndarray) -> Scores:
        import numpy as np

        error = np.asarray(predicted, dtype=float) - np.asarray(actual, dtype=float)
        total = float(np.sum((actual - np.mean(actual)) ** 2))
        return cls(
            mae=float(np.mean(np.abs(error))),
            rmse=float(math.sqrt(np.mean(error**2))),
            r2=float(1.0 - np.sum(error**2) / total) if total > 0 else float("nan"),
        )


@dataclass(frozen=True)
class Backtest:
    """The out-of-sample predictions of every fold and their scores against the baselines."""

    rows: pd.DataFrame  # labelled rows with `predicted`, `fold` (NaN before the first fold)
    folds: list[Fold]
    model: Scores
    baselines: dict[str, Scores]
    fold_mae: list[float]

    @property
    def scored(self) -> pd.DataFrame:
        return self.rows.loc[self.rows["predicted"].notna()]

    @property
    def best_baseline(self) -> tuple[str, Scores]:
        name = min(self.baselines, key=lambda key: self.baselines[key].mae)
        return name, self.baselines[name]


BASELINES: tuple[str, ...] = ("persistence", "mean_7d")


class NotEnoughHistoryError(ValueError):
    """Too few labelled days for even one backtest fold."""


def run_backtest(
    labelled: pd.DataFrame,
    make_estimator: EstimatorFactory,
    features: Sequence[str] = FEATURES,
    min_train_days: int = MIN_TRAIN_DAYS,
    block_days: int = TEST_BLOCK_DAYS,
) -> Backtest:
    """Fit one estimator per fold on the past and predict the fold; score model and baselines on the same rows.

    ``labelled`` comes from :func:`whoop_dagster.defs.ml.features.labelled_rows`. The
    estimator sees a DataFrame of ``features`` indexed by ``(user_id, feature_date,
    target_date)``, so a test can check what each fit was given.
    """
    import numpy as np

    rows = labelled.sort_values(["feature_date", "user_id"]).reset_index(drop=True)
    folds = backtest_folds(rows["feature_date"], rows["target_date"], min_train_days, block_days)
    if not folds:
        raise NotEnoughHistoryError(
            f"{len(rows)} labelled day(s) over {rows['feature_date'].nunique()} date(s): the backtest needs more than "
            f"{min_train_days} days of history before its first forecast"
        )
    x = design_matrix(rows, features)
    y = rows["target"].to_numpy(dtype=float)
    predicted = np.full(len(rows), np.nan)
    fold_of = np.full(len(rows), np.nan)
    fold_mae: list[float] = []
    for fold in folds:
        estimator = make_estimator()
        estimator.fit(x.iloc[fold.train_index], y[fold.train_index])
        predicted[fold.test_index] = estimator.predict(x.iloc[fold.test_index])
        fold_of[fold.test_index] = fold.number
        fold_mae.append(float(np.mean(np.abs(predicted[fold.test_index] - y[fold.test_index]))))
    rows = rows.assign(predicted=predicted, fold=fold_of)
    scored = rows.loc[rows["predicted"].notna()]
    actual = scored["target"].to_numpy(dtype=float)
    return Backtest(
        rows=rows,
        folds=folds,
        model=Scores.of(actual, scored["predicted"].to_numpy()),
        baselines={name: Scores.of(actual, scored[name].to_numpy(dtype=float)) for name in BASELINES},
        fold_mae=fold_mae,
    )


def design_matrix(rows: pd.DataFrame, features: Sequence[str] = FEATURES) -> pd.DataFrame:
    """The features of ``rows`` as floats, indexed by ``(user_id, feature_date, target_date)``."""
    import pandas as pd

    index = pd.MultiIndex.from_frame(rows[["user_id", "feature_date", "target_date"]])
    return pd.DataFrame(rows[list(features)].to_numpy(dtype=float), index=index, columns=list(features))


def fit_final(labelled: pd.DataFrame, make_estimator: EstimatorFactory, features: Sequence[str] = FEATURES) -> Any:
    """The production model: fitted on every labelled row (the backtest says how well this recipe does)."""
    estimator = make_estimator()
    estimator.fit(design_matrix(labelled, features), labelled["target"].to_numpy(dtype=float))
    return estimator


#: Days at the end of the history on which permutation importances are measured.
IMPORTANCE_HOLDOUT_DAYS = 90


def permutation_importances(
    labelled: pd.DataFrame,
    make_estimator: EstimatorFactory,
    features: Sequence[str] = FEATURES,
    holdout_days: int = IMPORTANCE_HOLDOUT_DAYS,
) -> dict[str, float]:
    """Mean MAE increase (points) when a feature is shuffled, measured out of sample, largest first.

    A model is fitted on the rows known before the last ``holdout_days`` feature days (the same
    rule as a backtest fold) and scored on those days, so the importances describe what
    generalises to later days, not what the model memorised.
    """
    import pandas as pd
    from sklearn.inspection import permutation_importance

    rows = labelled.sort_values(["feature_date", "user_id"]).reset_index(drop=True)
    start = rows["feature_date"].max() - pd.Timedelta(days=holdout_days - 1)
    train = (rows["target_date"] <= start).to_numpy()
    test = (rows["feature_date"] >= start).to_numpy()
    if not train.any() or not test.any():
        return {}
    x = design_matrix(rows, features)
    y = rows["target"].to_numpy(dtype=float)
    estimator = make_estimator()
    estimator.fit(x.loc[train], y[train])
    result = permutation_importance(
        estimator,
        x.loc[test],
        y[test],
        scoring="neg_mean_absolute_error",
        n_repeats=5,
        random_state=RANDOM_STATE,
    )
    importances = {name: float(value) for name, value in zip(features, result.importances_mean, strict=True)}
    return dict(sorted(importances.items(), key=lambda item: -item[1]))
