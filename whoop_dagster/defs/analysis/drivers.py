"""Which behaviours move next-day recovery and HRV: rank correlations with honest uncertainty (numpy, scipy).

Days are autocorrelated (HRV drifts for weeks, training comes in blocks), so the intervals come from a
moving-block bootstrap and the p-values use an effective number of days; these are associations, not causes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

#: Paired days needed before any driver is tested.
MIN_DAYS = 60
#: False-discovery rate of the findings (Benjamini-Hochberg).
ALPHA = 0.05
BOOTSTRAP_SAMPLES = 1000
BLOCK_DAYS = 7
MAX_LAG_DAYS = 14
RANDOM_SEED = 0

#: Identifies the method and its parameters (``method_version`` column, the asset's code version).
METHOD_VERSION = f"spearman-bh-r1-{MIN_DAYS}d-b{BOOTSTRAP_SAMPLES}x{BLOCK_DAYS}-lag{MAX_LAG_DAYS}"


@dataclass(frozen=True)
class Driver:
    """A behaviour of day ``t`` (or of the night that follows it), a column of :func:`driver_frame`."""

    name: str
    description: str


DRIVERS: tuple[Driver, ...] = (
    Driver("strain", "Day strain (0-21) of the day before."),
    Driver("workout_minutes", "Minutes of workouts that day."),
    Driver("low_intensity_minutes", "Workout minutes in heart-rate zones 1-2 that day."),
    Driver("moderate_intensity_minutes", "Workout minutes in heart-rate zone 3 that day."),
    Driver("high_intensity_minutes", "Workout minutes in heart-rate zones 4-5 that day."),
    Driver("sleep_hours", "Hours asleep in the night before the morning measured."),
    Driver("sleep_consistency_pct", "WHOOP's sleep consistency (%) of that night."),
    Driver("bedtime_hour", "Local time that night's sleep began, in hours after midnight (negative before)."),
    Driver("weekend_night", "Day of week: 1 for the nights into Saturday and Sunday, 0 for the others."),
)

#: Outcome name -> (column of the morning ``t + 1`` in the behaviour calendar, unit).
OUTCOMES: dict[str, tuple[str, str]] = {
    "recovery": ("recovery_score", "points"),
    "hrv": ("hrv_rmssd_milli", "ms"),
}

STATUS_TESTED = "tested"
STATUS_INSUFFICIENT = "insufficient_data"
STATUS_NO_VARIATION = "no_variation"

#: Columns of the result, in order.
RESULT_COLUMNS: tuple[str, ...] = (
    "user_id",
    "outcome",
    "driver",
    "driver_description",
    "days",
    "spearman_rho",
    "rho_ci_low",
    "rho_ci_high",
    "bottom_tercile_mean",
    "top_tercile_mean",
    "tercile_difference",
    "difference_ci_low",
    "difference_ci_high",
    "outcome_unit",
    "effective_days",
    "p_value",
    "p_value_adjusted",
    "is_finding",
    "direction",
    "status",
    "first_day",
    "last_day",
)


def driver_frame(daily: pd.DataFrame) -> pd.DataFrame:
    """One row per member and behaviour day ``t``: the drivers and the outcomes of the morning of ``t + 1``.

    ``daily`` is :func:`whoop_dagster.defs.ml.behaviour.behaviour_daily`'s complete calendar.
    A day still running (the current cycle, partial strain) is left out.
    """
    import pandas as pd

    d = daily.sort_values(["user_id", "date_day"]).reset_index(drop=True)
    following = d.groupby("user_id").shift(-1)
    is_next_day = following["date_day"] == d["date_day"] + pd.Timedelta(days=1)
    out = pd.DataFrame({"user_id": d["user_id"], "date_day": d["date_day"]})
    out["strain"] = d["day_strain"]
    for column in ("workout_minutes", "low_intensity_minutes", "moderate_intensity_minutes", "high_intensity_minutes"):
        out[column] = d[column]
    out["sleep_hours"] = following["total_sleep_minutes"] / 60.0
    out["sleep_consistency_pct"] = following["sleep_consistency_pct"]
    out["bedtime_hour"] = following["bedtime_hour"]
    out["weekend_night"] = ((d["date_day"] + pd.Timedelta(days=1)).dt.dayofweek >= 5).astype("float64")
    for outcome, (column, _) in OUTCOMES.items():
        out[outcome] = following[column]
    night_columns = ["sleep_hours", "sleep_consistency_pct", "bedtime_hour", *OUTCOMES]
    out.loc[~is_next_day, night_columns] = float("nan")
    out = out.loc[~d["is_current_cycle"].astype(bool)]
    numeric = [driver.name for driver in DRIVERS] + list(OUTCOMES)
    out[numeric] = out[numeric].astype("float64")
    return out.reset_index(drop=True)


def analyse_drivers(frame: pd.DataFrame, *, seed: int = RANDOM_SEED) -> pd.DataFrame:
    """The result table: one row per member, outcome and driver (:data:`RESULT_COLUMNS`).

    ``frame`` is :func:`driver_frame`'s output. Deterministic for a given ``seed``.
    """
    import pandas as pd

    results = []
    for user_id, rows in frame.groupby("user_id", sort=True):
        member = pd.DataFrame(
            [
                {"user_id": user_id, "outcome": outcome, **_test(rows, driver, outcome, seed)}
                for outcome in OUTCOMES
                for driver in DRIVERS
            ]
        )
        results.append(_adjust(member))
    if not results:
        return pd.DataFrame({name: pd.Series(dtype="object") for name in RESULT_COLUMNS})
    table = pd.concat(results, ignore_index=True)
    table["user_id"] = table["user_id"].astype("int64")
    table["days"] = table["days"].astype("int64")
    table["is_finding"] = table["is_finding"].astype(bool)
    for column in ("first_day", "last_day"):
        table[column] = pd.to_datetime(table[column]).dt.date
    return table.loc[:, list(RESULT_COLUMNS)]


def _test(rows: pd.DataFrame, driver: Driver, outcome: str, seed: int) -> dict[str, object]:
    """One driver on one outcome of one member: the row's statistics (NaN where not estimated)."""
    import numpy as np

    paired = rows.loc[rows[driver.name].notna() & rows[outcome].notna()].sort_values("date_day")
    x, y = paired[driver.name].to_numpy(float), paired[outcome].to_numpy(float)
    row: dict[str, object] = {
        "driver": driver.name,
        "driver_description": driver.description,
        "days": len(paired),
        "outcome_unit": OUTCOMES[outcome][1],
        "first_day": paired["date_day"].min() if len(paired) else None,
        "last_day": paired["date_day"].max() if len(paired) else None,
        **dict.fromkeys(
            (
                "spearman_rho",
                "rho_ci_low",
                "rho_ci_high",
                "bottom_tercile_mean",
                "top_tercile_mean",
                "tercile_difference",
                "difference_ci_low",
                "difference_ci_high",
                "effective_days",
                "p_value",
            ),
            float("nan"),
        ),
        "direction": None,
    }
    if len(paired) < MIN_DAYS:
        return {**row, "status": STATUS_INSUFFICIENT}
    bottom, top = tercile_masks(x[np.newaxis, :])
    if np.ptp(x) == 0 or np.ptp(y) == 0 or not bottom.any() or not top.any():
        return {**row, "status": STATUS_NO_VARIATION}

    rho = float(spearman(x, y)[0])
    effective = effective_days(x, y)
    samples = block_bootstrap_indices(len(x), np.random.default_rng([seed, len(x)]))
    rhos = spearman(x, y, samples)
    differences = tercile_difference(x[samples], y[samples])
    top_mean, bottom_mean = float(y[top[0]].mean()), float(y[bottom[0]].mean())
    return {
        **row,
        "spearman_rho": rho,
        "rho_ci_low": float(np.nanpercentile(rhos, 2.5)),
        "rho_ci_high": float(np.nanpercentile(rhos, 97.5)),
        "bottom_tercile_mean": bottom_mean,
        "top_tercile_mean": top_mean,
        "tercile_difference": top_mean - bottom_mean,
        "difference_ci_low": float(np.nanpercentile(differences, 2.5)),
        "difference_ci_high": float(np.nanpercentile(differences, 97.5)),
        "effective_days": effective,
        "p_value": correlation_p_value(rho, effective),
        "direction": "higher" if rho > 0 else "lower" if rho < 0 else None,
        "status": STATUS_TESTED,
    }


def _adjust(member: pd.DataFrame) -> pd.DataFrame:
    """Benjamini-Hochberg over the member's tested rows; ``is_finding`` where the adjusted p is below ``ALPHA``."""
    import numpy as np
    from scipy.stats import false_discovery_control

    member = member.copy()
    tested = member["p_value"].notna().to_numpy()
    adjusted = np.full(len(member), np.nan)
    if tested.any():
        adjusted[tested] = false_discovery_control(member.loc[tested, "p_value"].to_numpy(float), method="bh")
    member["p_value_adjusted"] = adjusted
    member["is_finding"] = tested & (np.nan_to_num(adjusted, nan=1.0) < ALPHA)
    return member


def ranks(values: np.ndarray, resamples: np.ndarray | None = None) -> np.ndarray:
    """Average ranks (1..n) of ``values`` (1-D), or of each row ``values[resamples]``; ties share their mean rank.

    Counting, not sorting: values are coded once by their rank among the distinct values,
    each row's codes are counted (``bincount``), and a value's rank is the count of smaller
    values plus the middle of its own run. A bootstrap's thousand resamples of a year are
    ranked in milliseconds this way.
    """
    import numpy as np

    distinct, codes = np.unique(values, return_inverse=True)
    codes = codes.reshape(1, -1) if resamples is None else codes.ravel()[resamples]
    rows, width = codes.shape[0], len(distinct)
    offsets = np.arange(rows)[:, np.newaxis] * width
    counts = np.bincount((codes + offsets).ravel(), minlength=rows * width).reshape(rows, width)
    middle = np.cumsum(counts, axis=1) - counts + (counts + 1) / 2
    return np.take_along_axis(middle, codes, axis=1)


def spearman(x: np.ndarray, y: np.ndarray, resamples: np.ndarray | None = None) -> np.ndarray:
    """Spearman's rho of ``x`` and ``y`` (1-D, paired), or of each resample's rows; NaN for a constant row."""
    import numpy as np

    rx, ry = ranks(x, resamples), ranks(y, resamples)
    rx = rx - rx.mean(axis=-1, keepdims=True)
    ry = ry - ry.mean(axis=-1, keepdims=True)
    denominator = np.sqrt((rx**2).sum(axis=-1) * (ry**2).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (rx * ry).sum(axis=-1) / denominator, np.nan)


def tercile_masks(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bottom and top thirds of each row of ``x``: ``x <= q(1/3)`` and ``x >= q(2/3)`` above that cut."""
    import numpy as np

    low = np.quantile(x, 1 / 3, axis=-1, keepdims=True)
    high = np.quantile(x, 2 / 3, axis=-1, keepdims=True)
    return x <= low, (x >= high) & (x > low)


def tercile_difference(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per row: mean of ``y`` on the top third of ``x`` minus on the bottom third (NaN if a third is empty)."""
    import numpy as np

    bottom, top = tercile_masks(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (y * top).sum(axis=-1) / top.sum(axis=-1) - (y * bottom).sum(axis=-1) / bottom.sum(axis=-1)


def block_bootstrap_indices(days: int, rng: np.random.Generator, samples: int = BOOTSTRAP_SAMPLES) -> np.ndarray:
    """``samples`` moving-block resamples of ``range(days)``: runs of ``BLOCK_DAYS`` days, cut to ``days``."""
    import numpy as np

    block = min(BLOCK_DAYS, days)
    blocks = -(-days // block)
    starts = rng.integers(0, days - block + 1, size=(samples, blocks))
    return (starts[:, :, np.newaxis] + np.arange(block)).reshape(samples, blocks * block)[:, :days]


def effective_days(x: np.ndarray, y: np.ndarray, max_lag: int = MAX_LAG_DAYS) -> float:
    """Days' worth of independent evidence in two autocorrelated series (Pyper & Peterman 1998).

    ``1 / n_eff = 1 / n + (2 / n) * sum_k ((n - k) / n) r_x(k) r_y(k)`` over lags ``1..max_lag``,
    on the rank series; clipped to ``[3, n]`` (never more evidence than days).
    """
    import numpy as np

    n = len(x)
    rx, ry = ranks(x)[0] - (n + 1) / 2, ranks(y)[0] - (n + 1) / 2
    lags = range(1, min(max_lag, n // 5) + 1)
    total = sum((n - k) / n * _autocorrelation(rx, k) * _autocorrelation(ry, k) for k in lags)
    return float(np.clip(n / (1 + 2 * total), 3, n))


def _autocorrelation(centred: np.ndarray, lag: int) -> float:
    import numpy as np

    return float(np.dot(centred[:-lag], centred[lag:]) / np.dot(centred, centred))


def correlation_p_value(rho: float, days: float) -> float:
    """Two-sided p-value of a correlation ``rho`` over ``days`` (effective) observations, by Student's t."""
    import math

    from scipy.stats import t

    if abs(rho) >= 1:
        return 0.0
    statistic = rho * math.sqrt((days - 2) / (1 - rho**2))
    return float(2 * t.sf(abs(statistic), days - 2))
