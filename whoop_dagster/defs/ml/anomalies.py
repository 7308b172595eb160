"""Unusual days in the recovery vitals: robust z-scores against a trailing personal baseline (pandas only).

The baseline (median and MAD of the days *before* ``t``) excludes the day, so a sick day cannot hide
itself by moving its own baseline; the z-scores also say which vital was unusual.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from whoop_dagster.defs.ml.features import VITALS

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

BASELINE_DAYS = 60
#: Observations needed in the window before a z-score is computed (else it stays empty).
BASELINE_MIN_DAYS = 21
#: One vital this far off flags the day.
Z_EXTREME = 4.0
#: Two or more vitals this far off flag the day, and are its drivers.
Z_CONCORDANT = 2.5
MAD_TO_SD = 1.4826

#: Identifies the method and its parameters in the table's ``model_version`` and the asset's code version.
METHOD_VERSION = f"robust-z-r1-{BASELINE_DAYS}d-{Z_EXTREME:g}-{Z_CONCORDANT:g}"

#: Smallest scale per vital, in its unit: a member whose vital barely moves for a month must not
#: get a huge z-score from a change the sensor can hardly resolve. Roughly the measurement's
#: resolution, or a few percent of a typical value.
MIN_SCALE: dict[str, float] = {
    "hrv_rmssd_milli": 2.0,
    "resting_heart_rate": 1.0,
    "respiratory_rate": 0.2,
    "skin_temp_celsius": 0.1,
    "spo2_pct": 0.3,
}

#: Short names used in ``drivers`` and as column prefixes.
SHORT_NAMES: dict[str, str] = {
    "hrv_rmssd_milli": "hrv",
    "resting_heart_rate": "rhr",
    "respiratory_rate": "respiratory_rate",
    "skin_temp_celsius": "skin_temp",
    "spo2_pct": "spo2",
}

#: Output columns of ``ml.recovery_anomalies`` (besides ``model_version``).
ANOMALY_COLUMNS: tuple[str, ...] = (
    "user_id",
    "date_day",
    *(column for vital in VITALS for column in (SHORT_NAMES[vital], f"{SHORT_NAMES[vital]}_z")),
    "anomaly_score",
    "is_anomaly",
    "drivers",
)


def _trailing(series: pd.Series, by: pd.Series, how: str) -> pd.Series:
    """Per member, the statistic of the ``BASELINE_DAYS`` calendar days before each row (not the row)."""
    previous = series.groupby(by).shift(1)
    rolled = previous.groupby(by).rolling(BASELINE_DAYS, min_periods=BASELINE_MIN_DAYS)
    result = rolled.median() if how == "median" else rolled.apply(_mad, raw=True)
    return result.reset_index(level=0, drop=True).sort_index()


def _mad(window: np.ndarray) -> float:
    import numpy as np

    values = window[~np.isnan(window)]
    return float(np.median(np.abs(values - np.median(values))))


def robust_z_scores(daily: pd.DataFrame) -> pd.DataFrame:
    """Per member and day with any vital measured: each vital, its robust z-score, the score and the flag.

    ``daily`` is :func:`whoop_dagster.defs.ml.features.daily_frame`'s calendar (gaps as NaN).
    ``anomaly_score`` is the root-sum-square of the day's z-scores; ``drivers`` lists, on flagged
    days, the vitals at or over ``Z_CONCORDANT``, most unusual first, with their signed z
    (``"rhr:+4.2, hrv:-3.6"``).
    """
    import numpy as np
    import pandas as pd

    d = daily.sort_values(["user_id", "date_day"]).reset_index(drop=True)
    by = d["user_id"]
    out = pd.DataFrame({"user_id": d["user_id"], "date_day": d["date_day"]})
    z_columns = []
    for vital in VITALS:
        name = SHORT_NAMES[vital]
        values = pd.to_numeric(d[vital], errors="coerce").astype("float64")
        median = _trailing(values, by, "median")
        scale = (_trailing(values, by, "mad") * MAD_TO_SD).clip(lower=MIN_SCALE[vital])
        out[name] = values
        out[f"{name}_z"] = (values - median) / scale
        z_columns.append(f"{name}_z")
    measured = out[[SHORT_NAMES[vital] for vital in VITALS]].notna().any(axis=1)
    out = out.loc[measured].reset_index(drop=True)
    magnitudes = out[z_columns].abs()
    out["anomaly_score"] = np.sqrt((out[z_columns] ** 2).sum(axis=1, min_count=1))
    out["is_anomaly"] = (magnitudes.max(axis=1) >= Z_EXTREME) | ((magnitudes >= Z_CONCORDANT).sum(axis=1) >= 2)
    drivers = [_drivers(row) for row in out[z_columns].itertuples(index=False, name=None)]
    out["drivers"] = pd.Series(drivers, index=out.index, dtype="object").where(out["is_anomaly"], None)
    return out


def _drivers(z_values: tuple[float, ...]) -> str:
    import numpy as np

    names = [SHORT_NAMES[vital] for vital in VITALS]
    flagged = [(name, z) for name, z in zip(names, z_values, strict=True) if not np.isnan(z) and abs(z) >= Z_CONCORDANT]
    flagged.sort(key=lambda item: -abs(item[1]))
    return ", ".join(f"{name}:{z:+.1f}" for name, z in flagged)
