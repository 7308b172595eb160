"""Small, pure helpers on the DataFrames the tabs read: typed dates, columns read defensively."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def with_dates(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """``frame`` with each of ``columns`` it has as datetime64 (DuckDB gives ``date`` objects)."""
    import pandas as pd

    out = frame.copy()
    for column in columns or ("date_day",):
        if column in out.columns:
            out[column] = pd.to_datetime(out[column])
    return out


def has_columns(frame: pd.DataFrame | None, *columns: str) -> bool:
    """True when ``frame`` exists, has rows and every one of ``columns``."""
    return frame is not None and not frame.empty and all(column in frame.columns for column in columns)


def first_column(frame: pd.DataFrame, candidates: Iterable[str]) -> str | None:
    """The first of ``candidates`` that ``frame`` has (tables still taking shape name things differently)."""
    return next((name for name in candidates if name in frame.columns), None)


def present(frame: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    """The ``columns`` that ``frame`` has, in the given order."""
    return [column for column in columns if column in frame.columns]


def truthy(series: pd.Series) -> pd.Series:
    """A boolean column as real booleans (warehouses may answer with 0/1, strings or nulls)."""
    return series.map(lambda value: str(value).strip().lower() in ("true", "1", "t", "yes")).astype(bool)


def minutes_of_day(timestamps: pd.Series, pivot_hour: int = 12) -> pd.Series:
    """Clock time of each timestamp as minutes after ``pivot_hour`` (so bedtimes around midnight stay together).

    23:30 and 00:30 are 690 and 750 minutes after noon: one hour apart, as they are in a night.
    """
    import pandas as pd

    values = pd.to_datetime(timestamps)
    minutes = values.dt.hour * 60 + values.dt.minute
    return (minutes - pivot_hour * 60) % (24 * 60)
