"""Mart-shaped frames computed in pandas from the emulator's records, so the ML tests need no dbt.

The columns and their meaning follow ``whoop_dbt/models/marts/fact_daily_recovery``,
``fact_daily_strain`` and ``fact_sleep`` (the subset the ML assets read, plus a few more):
``date_day`` is the physiological day, the local date twelve hours after the cycle's start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from whoop_dagster.whoop_api.emulator import EmulatorConfig
from whoop_dagster.whoop_api.emulator.emulator import Emulator

#: The emulator's clock in these tests: fixed, so every run sees the same records.
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)
MINUTE_MS = 60_000


@dataclass(frozen=True)
class Marts:
    """The three marts the ML assets read."""

    fact_daily_recovery: pd.DataFrame
    fact_daily_strain: pd.DataFrame
    fact_sleep: pd.DataFrame

    def tables(self) -> dict[str, pd.DataFrame]:
        return {
            "fact_daily_recovery": self.fact_daily_recovery,
            "fact_daily_strain": self.fact_daily_strain,
            "fact_sleep": self.fact_sleep,
        }


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _offset(text: str) -> timedelta:
    if text == "Z":
        return timedelta(0)
    sign = -1 if text.startswith("-") else 1
    hours, minutes = text[1:].split(":")
    return sign * timedelta(hours=int(hours), minutes=int(minutes))


def _physiological_day(start: str, offset: str) -> date:
    return (_utc(start) + _offset(offset) + timedelta(hours=12)).date()


def emulated_marts(days: int = 400, seed: int = 7, users: int = 1) -> Marts:
    """The marts of ``users`` emulated members over ``days`` days (a few seconds for 730 days)."""
    emulator = Emulator(EmulatorConfig(seed=seed, days=days, users=users, now=NOW))
    recoveries, strains, sleeps = [], [], []
    for user in range(users):
        cycles = emulator.dataset.records("cycle", user)
        sleep_records = emulator.dataset.records("sleep", user)
        cycle_days = {c["id"]: _physiological_day(c["start"], c["timezone_offset"]) for c in cycles}
        strains.append(_strain_rows(cycles, emulator.dataset.records("workout", user), cycle_days))
        sleep_frame = _sleep_rows(sleep_records, cycle_days)
        sleeps.append(sleep_frame)
        recoveries.append(_recovery_rows(emulator.dataset.records("recovery", user), cycle_days, sleep_frame))
    return Marts(
        fact_daily_recovery=pd.concat(recoveries, ignore_index=True),
        fact_daily_strain=pd.concat(strains, ignore_index=True),
        fact_sleep=pd.concat(sleeps, ignore_index=True),
    )


def _strain_rows(cycles: list[dict[str, Any]], workouts: list[dict[str, Any]], cycle_days: dict) -> pd.DataFrame:
    spans = [(c["id"], _utc(c["start"]), _utc(c["end"]) if c.get("end") else None) for c in cycles]
    minutes: dict[int, float] = {}
    counts: dict[int, int] = {}
    for workout in workouts:
        start = _utc(workout["start"])
        for cycle_id, cycle_start, cycle_end in spans:
            if cycle_start <= start and (cycle_end is None or start < cycle_end):
                duration = (_utc(workout["end"]) - start).total_seconds() / 60
                minutes[cycle_id] = minutes.get(cycle_id, 0.0) + duration
                counts[cycle_id] = counts.get(cycle_id, 0) + 1
                break
    rows = []
    for cycle in cycles:
        score = cycle.get("score") or {}
        rows.append(
            {
                "user_id": cycle["user_id"],
                "date_day": cycle_days[cycle["id"]],
                "cycle_id": cycle["id"],
                "is_scored": cycle["score_state"] == "SCORED",
                "is_current_cycle": "end" not in cycle,
                "day_strain": score.get("strain"),
                "kilojoules": score.get("kilojoule"),
                "workout_count": counts.get(cycle["id"], 0),
                "workout_minutes": minutes.get(cycle["id"], 0.0),
            }
        )
    frame = pd.DataFrame(rows).sort_values(["user_id", "date_day", "cycle_id"])
    return frame.drop_duplicates(["user_id", "date_day"], keep="last").reset_index(drop=True)


def _sleep_rows(sleeps: list[dict[str, Any]], cycle_days: dict) -> pd.DataFrame:
    rows = []
    for sleep in sleeps:
        score = sleep.get("score") or {}
        stages = score.get("stage_summary") or {}
        need = score.get("sleep_needed") or {}
        asleep = (
            sum(
                stages.get(k, 0)
                for k in (
                    "total_light_sleep_time_milli",
                    "total_slow_wave_sleep_time_milli",
                    "total_rem_sleep_time_milli",
                )
            )
            / MINUTE_MS
            if stages
            else None
        )
        need_total = sum(need.values()) / MINUTE_MS if need else None
        wake_day = (_utc(sleep["end"]) + _offset(sleep["timezone_offset"])).date()
        rows.append(
            {
                "sleep_id": sleep["id"],
                "user_id": sleep["user_id"],
                "cycle_id": sleep["cycle_id"],
                "date_day": cycle_days.get(sleep["cycle_id"], wake_day),
                "is_nap": sleep["nap"],
                "is_scored": sleep["score_state"] == "SCORED",
                "in_bed_minutes": stages.get("total_in_bed_time_milli", 0) / MINUTE_MS if stages else None,
                "total_sleep_minutes": asleep,
                "sleep_efficiency_pct": score.get("sleep_efficiency_percentage"),
                "sleep_performance_pct": score.get("sleep_performance_percentage"),
                "sleep_consistency_pct": score.get("sleep_consistency_percentage"),
                "respiratory_rate": score.get("respiratory_rate"),
                "sleep_need_minutes": need_total,
                "sleep_debt_minutes": need.get("need_from_sleep_debt_milli", 0) / MINUTE_MS if need else None,
                "sleep_balance_minutes": asleep - need_total if asleep is not None and need_total else None,
            }
        )
    return pd.DataFrame(rows)


def _recovery_rows(recoveries: list[dict[str, Any]], cycle_days: dict, sleeps: pd.DataFrame) -> pd.DataFrame:
    by_sleep = sleeps.set_index("sleep_id")
    rows = []
    for recovery in recoveries:
        score = recovery.get("score") or {}
        sleep = by_sleep.loc[recovery["sleep_id"]] if recovery["sleep_id"] in by_sleep.index else None
        rows.append(
            {
                "user_id": recovery["user_id"],
                "date_day": cycle_days[recovery["cycle_id"]],
                "cycle_id": recovery["cycle_id"],
                "sleep_id": recovery["sleep_id"],
                "score_state": recovery["score_state"],
                "is_scored": recovery["score_state"] == "SCORED",
                "is_user_calibrating": score.get("user_calibrating"),
                "recovery_score": score.get("recovery_score"),
                "hrv_rmssd_milli": score.get("hrv_rmssd_milli"),
                "resting_heart_rate": score.get("resting_heart_rate"),
                "spo2_pct": score.get("spo2_percentage"),
                "skin_temp_celsius": score.get("skin_temp_celsius"),
                "respiratory_rate": None if sleep is None else sleep["respiratory_rate"],
                "sleep_performance_pct": None if sleep is None else sleep["sleep_performance_pct"],
            }
        )
    frame = pd.DataFrame(rows).sort_values(["user_id", "date_day", "cycle_id"])
    return frame.drop_duplicates(["user_id", "date_day"], keep="last").reset_index(drop=True)


def write_marts(path: Path, marts: Marts) -> Path:
    """Write ``marts`` into schema ``marts`` of a (new) DuckDB file at ``path``; returns ``path``."""
    import duckdb

    with duckdb.connect(str(path)) as connection:
        connection.execute("CREATE SCHEMA IF NOT EXISTS marts")
        for name, frame in marts.tables().items():
            connection.register("incoming", frame)
            connection.execute(f"CREATE OR REPLACE TABLE marts.{name} AS SELECT * FROM incoming")
            connection.unregister("incoming")
    return path
