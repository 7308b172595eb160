"""The forecasts' quality gate: a blocking asset check that the asset evaluates itself, before it writes.

A separate ``@asset_check`` would run after the IO manager had already published a bad model's rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import dagster as dg

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np
    import pandas as pd

    from whoop_dagster.defs.ml.model import Backtest

GATE_CHECK_NAME = "beats_baselines_within_range"

#: Recovery is a percentage: a prediction outside it means the model extrapolated nonsense.
PREDICTION_RANGE: tuple[float, float] = (0.0, 100.0)


class ForecastGateFailed(dg.Failure):
    """The model did not pass the gate; its predictions were not published."""


@dataclass(frozen=True)
class GateResult:
    """The gate's verdict and the numbers behind it."""

    passed: bool
    model_mae: float
    best_baseline: str
    best_baseline_mae: float
    out_of_range: int
    predictions: int
    reasons: tuple[str, ...]

    @property
    def description(self) -> str:
        if self.passed:
            return (
                f"backtest MAE {self.model_mae:.2f} beats the best baseline ({self.best_baseline}, "
                f"MAE {self.best_baseline_mae:.2f}); all {self.predictions} predictions within 0-100"
            )
        return "gate failed, predictions not published: " + "; ".join(self.reasons)

    def metadata(self) -> dict[str, Any]:
        return {
            "model_mae": self.model_mae,
            "best_baseline": self.best_baseline,
            "best_baseline_mae": self.best_baseline_mae,
            "mae_improvement": self.best_baseline_mae - self.model_mae,
            "predictions_out_of_range": self.out_of_range,
            "predictions_checked": self.predictions,
        }


def evaluate_gate(backtest: Backtest, forecasts: Sequence[float] | np.ndarray = ()) -> GateResult:
    """Pass when the backtest MAE is strictly below every baseline's and every prediction is within 0-100.

    ``forecasts`` are the predictions for the days not known yet (the table's forecast rows):
    they are published too, so they must be in range as well.
    """
    import numpy as np

    best_name, best = backtest.best_baseline
    predictions = np.concatenate(
        [backtest.scored["predicted"].to_numpy(dtype=float), np.asarray(forecasts, dtype=float).ravel()]
    )
    low, high = PREDICTION_RANGE
    out_of_range = int(np.sum(~np.isfinite(predictions) | (predictions < low) | (predictions > high)))
    reasons = []
    if not backtest.model.mae < best.mae:
        reasons.append(f"backtest MAE {backtest.model.mae:.2f} does not beat {best_name} (MAE {best.mae:.2f})")
    if out_of_range:
        reasons.append(f"{out_of_range} of {len(predictions)} predictions outside {low:g}-{high:g} (or not finite)")
    return GateResult(
        passed=not reasons,
        model_mae=backtest.model.mae,
        best_baseline=best_name,
        best_baseline_mae=best.mae,
        out_of_range=out_of_range,
        predictions=len(predictions),
        reasons=tuple(reasons),
    )


def gate_check_spec(asset_key: dg.AssetKey) -> dg.AssetCheckSpec:
    """The blocking check the forecast asset reports on itself."""
    return dg.AssetCheckSpec(
        GATE_CHECK_NAME,
        asset=asset_key,
        blocking=True,
        description="The backtest MAE beats the best baseline (persistence, 7-day mean) and every prediction "
        "lies within 0-100. Evaluated before the table is written: a failing model is never published.",
    )


def gate_check_result(gate: GateResult) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=GATE_CHECK_NAME,
        passed=gate.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=gate.description,
        metadata=gate.metadata(),
    )


ANOMALY_CHECK_NAME = "anomaly_share_plausible"

#: More flagged days than this (over the recent window) means a broken baseline — a unit change,
#: a new strap — rather than a sick member: worth a look, not worth blocking.
MAX_ANOMALY_SHARE = 0.10
ANOMALY_CHECK_WINDOW_DAYS = 90


def anomaly_check_spec(asset_key: dg.AssetKey) -> dg.AssetCheckSpec:
    """A warning (non-blocking) check on the share of flagged days."""
    return dg.AssetCheckSpec(
        ANOMALY_CHECK_NAME,
        asset=asset_key,
        blocking=False,
        description=f"At most {MAX_ANOMALY_SHARE:.0%} of the last {ANOMALY_CHECK_WINDOW_DAYS} days are flagged; "
        "more suggests a shifted sensor or unit rather than physiology.",
    )


def anomaly_check_result(table: pd.DataFrame) -> dg.AssetCheckResult:
    """The anomaly share over the most recent ``ANOMALY_CHECK_WINDOW_DAYS`` days of ``table``."""
    import pandas as pd

    if table.empty:
        return dg.AssetCheckResult(
            check_name=ANOMALY_CHECK_NAME, passed=True, description="no scored days yet", metadata={"days": 0}
        )
    days = pd.to_datetime(table["date_day"])
    recent = table.loc[days > days.max() - pd.Timedelta(days=ANOMALY_CHECK_WINDOW_DAYS)]
    share = float(recent["is_anomaly"].mean())
    return dg.AssetCheckResult(
        check_name=ANOMALY_CHECK_NAME,
        passed=share <= MAX_ANOMALY_SHARE,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{share:.1%} of the last {ANOMALY_CHECK_WINDOW_DAYS} days flagged (limit {MAX_ANOMALY_SHARE:.0%})",
        metadata={"anomaly_share": share, "days": len(recent), "flagged": int(recent["is_anomaly"].sum())},
    )
