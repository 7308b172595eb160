"""Emulator-shaped WHOOP records for the dbt tests, and loaders for the raw tables.

Records follow WHOOP_API.md exactly: optional keys are *absent* (not null), ``score`` only
when SCORED, the current cycle has no ``end``. The data set is small and deterministic and
holds every awkward case the models must handle: a nap, PENDING_SCORE and UNSCORABLE
records, a sleep crossing UTC midnight, three timezone offsets (``-05:00``, ``Z``,
``+05:30``), a workout without ``sport_id`` and with an unknown sport, one whose ``sport_id``
no catalog knows, and a member name with an apostrophe and non-ASCII letters.

The raw tables are written through the project's own warehouse classes (the same path the
raw assets use), so the dbt tests exercise the real contract, quoted upper-case Snowflake
columns included.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from whoop_dagster.defs.raw.rows import parse_timestamp, partition_date_of, rows_to_frame, to_row
from whoop_dagster.defs.raw.tables import raw_table
from whoop_dagster.warehouse.base import SliceWindow, WarehouseResource
from whoop_dagster.whoop_api.endpoints import ENDPOINTS, get_endpoint

USER_ID = 10129
FIRST_DAY = date(2024, 2, 1)
DAYS = 45
EXTRACTED_AT = datetime(2024, 3, 17, 6, 0, 0)

#: (sport_id, sport_name) of the workouts, in rotation. The last two are not in the sport catalog:
#: one without a ``sport_id`` (as after 2025-09-01), one with an id WHOOP never published.
SPORTS: tuple[tuple[int | None, str], ...] = (
    (0, "running"),
    (1, "cycling"),
    (45, "weightlifting"),
    (48, "functional fitness"),
    (None, "padel tennis deluxe"),
    (987, "underwater hockey"),
)
UNKNOWN_SPORT_ID = 987
#: Workouts from this day index on carry neither ``sport_id`` nor ``v1_id``, as WHOOP's do after 2025-09-01.
V2_ONLY_FROM_INDEX = 40


def _iso(moment: datetime) -> str:
    """A WHOOP timestamp: UTC, milliseconds, ``Z``."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _utc(day: date, hour: int, minute: int = 0, second: int = 0, milli: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, milli * 1000, tzinfo=timezone.utc)


def _offset(index: int) -> str:
    if 14 <= index < 20:
        return "Z"  # a week in London
    if 30 <= index < 33:
        return "+05:30"  # a trip to India
    return "-05:00"


def _uuid(kind: str, index: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"whoop-dbt-tests/{kind}/{index}"))


@dataclass
class SampleData:
    """Records per endpoint name (``cycle``, ``sleep``, …, ``user_profile``, ``body_measurement``)."""

    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def by_id(self, endpoint: str, **ids: Any) -> dict[str, Any]:
        for record in self.records[endpoint]:
            if all(record.get(key) == value for key, value in ids.items()):
                return record
        raise KeyError(f"no {endpoint} record with {ids}")

    def copy(self) -> SampleData:
        return SampleData(copy.deepcopy(self.records))


def build_sample_data(days: int = DAYS, first_day: date = FIRST_DAY) -> SampleData:
    """A deterministic member history of ``days`` days from ``first_day``."""
    cycles: list[dict[str, Any]] = []
    sleeps: list[dict[str, Any]] = []
    recoveries: list[dict[str, Any]] = []
    workouts: list[dict[str, Any]] = []

    sleep_starts: list[datetime] = []
    for index in range(days):
        day = first_day + timedelta(days=index)
        offset = _offset(index)
        if offset == "Z":
            # Asleep at 22:40 UTC the evening before: the sleep crosses UTC midnight.
            start = _utc(day - timedelta(days=1), 22, 40 + index % 7, 12, 345)
        elif offset == "+05:30":
            start = _utc(day - timedelta(days=1), 17, 10 + index % 5, 3, 7)
        else:
            start = _utc(day, 3, 15 + (index * 7) % 40, 41, 774)
        sleep_starts.append(start)

    for index in range(days):
        day = first_day + timedelta(days=index)
        offset = _offset(index)
        cycle_id = 93_845_000 + index
        start = sleep_starts[index]
        is_current = index == days - 1
        created = start + timedelta(minutes=5)

        cycle: dict[str, Any] = {
            "id": cycle_id,
            "user_id": USER_ID,
            "created_at": _iso(created),
            "updated_at": _iso(created + timedelta(hours=20 if not is_current else 9)),
            "start": _iso(start),
            "timezone_offset": offset,
            "score_state": "SCORED",
            "score": {
                "strain": round(6.5 + (index * 37 % 140) / 10.0, 4),
                "kilojoule": 7000.0 + (index * 311) % 5000,
                "average_heart_rate": 58 + index % 12,
                "max_heart_rate": 150 + index % 35,
            },
        }
        if not is_current:
            cycle["end"] = _iso(sleep_starts[index + 1])
        if index == 7:  # a cycle WHOOP could not score
            cycle["score_state"] = "UNSCORABLE"
            del cycle["score"]
        cycles.append(cycle)

        sleep_id = _uuid("sleep", index)
        in_bed_milli = (7 * 60 + 20 + (index * 13) % 70) * 60_000
        awake = 25 * 60_000 + (index % 9) * 60_000
        no_data = 0 if index % 5 else 60_000
        rest = in_bed_milli - awake - no_data
        light, sws = rest // 2, rest // 4
        rem = rest - light - sws
        sleep: dict[str, Any] = {
            "id": sleep_id,
            "cycle_id": cycle_id,
            "user_id": USER_ID,
            "created_at": _iso(start + timedelta(milliseconds=in_bed_milli, minutes=3)),
            "updated_at": _iso(start + timedelta(milliseconds=in_bed_milli, minutes=40)),
            "start": _iso(start),
            "end": _iso(start + timedelta(milliseconds=in_bed_milli)),
            "timezone_offset": offset,
            "nap": False,
            "score_state": "SCORED",
            "score": {
                "stage_summary": {
                    "total_in_bed_time_milli": in_bed_milli,
                    "total_awake_time_milli": awake,
                    "total_no_data_time_milli": no_data,
                    "total_light_sleep_time_milli": light,
                    "total_slow_wave_sleep_time_milli": sws,
                    "total_rem_sleep_time_milli": rem,
                    "sleep_cycle_count": 4 + index % 3,
                    "disturbance_count": 8 + index % 11,
                },
                "sleep_needed": {
                    "baseline_milli": 27_000_000,
                    "need_from_sleep_debt_milli": (index % 6) * 300_000,
                    "need_from_recent_strain_milli": (index % 4) * 240_000,
                    "need_from_recent_nap_milli": -1_800_000 if index == 11 else 0,
                },
                "sleep_performance_percentage": 70 + index % 30,
                "sleep_consistency_percentage": 60 + (index * 3) % 40,
                "sleep_efficiency_percentage": round(100.0 * (in_bed_milli - awake) / in_bed_milli, 6),
            },
        }
        if index % 4:
            sleep["score"]["respiratory_rate"] = round(14.5 + (index % 8) / 10, 3)
        if index < 20:
            sleep["v1_id"] = 80_000 + index
        if index == 25:
            sleep["score_state"] = "UNSCORABLE"
            del sleep["score"]
        sleeps.append(sleep)

        recovery: dict[str, Any] = {
            "cycle_id": cycle_id,
            "sleep_id": sleep_id,
            "user_id": USER_ID,
            "created_at": sleep["updated_at"],
            "updated_at": _iso(
                parse_timestamp(sleep["updated_at"]).replace(tzinfo=timezone.utc) + timedelta(minutes=2)
            ),
            "score_state": "SCORED",
            "score": {
                "user_calibrating": index < 4,
                "recovery_score": 20 + (index * 29) % 76,
                "resting_heart_rate": 48 + (index * 5) % 14,
                "hrv_rmssd_milli": round(35 + (index * 17) % 55 + 0.123, 3),
            },
        }
        if index >= 10:  # a 4.0 strap from day 10 on
            recovery["score"]["spo2_percentage"] = 94 + index % 5 + 0.5
            recovery["score"]["skin_temp_celsius"] = round(33.2 + (index % 10) / 10, 2)
        if index == 25:
            recovery["score_state"] = "UNSCORABLE"
            del recovery["score"]
        if is_current:
            recovery["score_state"] = "PENDING_SCORE"
            del recovery["score"]
        recoveries.append(recovery)

        if index == 10:  # an afternoon nap, in the same cycle
            nap_start = _utc(day, 19, 5, 0, 120)
            sleeps.append(
                {
                    "id": _uuid("nap", index),
                    "cycle_id": cycle_id,
                    "user_id": USER_ID,
                    "created_at": _iso(nap_start + timedelta(minutes=45)),
                    "updated_at": _iso(nap_start + timedelta(minutes=50)),
                    "start": _iso(nap_start),
                    "end": _iso(nap_start + timedelta(minutes=38)),
                    "timezone_offset": offset,
                    "nap": True,
                    "score_state": "SCORED",
                    "score": {
                        "stage_summary": {
                            "total_in_bed_time_milli": 38 * 60_000,
                            "total_awake_time_milli": 4 * 60_000,
                            "total_no_data_time_milli": 0,
                            "total_light_sleep_time_milli": 24 * 60_000,
                            "total_slow_wave_sleep_time_milli": 6 * 60_000,
                            "total_rem_sleep_time_milli": 4 * 60_000,
                            "sleep_cycle_count": 1,
                            "disturbance_count": 1,
                        },
                        "sleep_needed": {
                            "baseline_milli": 0,
                            "need_from_sleep_debt_milli": 0,
                            "need_from_recent_strain_milli": 0,
                            "need_from_recent_nap_milli": 0,
                        },
                    },
                }
            )

        if index % 2 == 0 and not is_current:
            sport_id, sport_name = SPORTS[(index // 2) % len(SPORTS)]
            workout_start = _utc(day, 21 if offset == "-05:00" else 12, 30, 5, 500)
            minutes = 30 + (index * 11) % 50
            milli = minutes * 60_000
            workout: dict[str, Any] = {
                "id": _uuid("workout", index),
                "user_id": USER_ID,
                "created_at": _iso(workout_start + timedelta(minutes=minutes + 2)),
                "updated_at": _iso(workout_start + timedelta(minutes=minutes + 9)),
                "start": _iso(workout_start),
                "end": _iso(workout_start + timedelta(milliseconds=milli)),
                "timezone_offset": offset,
                "sport_name": sport_name,
                "score_state": "SCORED",
                "score": {
                    "strain": round(5 + (index * 7 % 130) / 10, 4),
                    "average_heart_rate": 120 + index % 30,
                    "max_heart_rate": 160 + index % 25,
                    "kilojoule": 900.0 + index * 13,
                    "percent_recorded": 100.0 if index % 6 else 97.5,
                    "zone_durations": {
                        "zone_zero_milli": milli // 10,
                        "zone_one_milli": milli // 10,
                        "zone_two_milli": milli // 5,
                        "zone_three_milli": milli // 4,
                        "zone_four_milli": milli // 5,
                        "zone_five_milli": milli - (milli // 10 * 2 + milli // 5 * 2 + milli // 4),
                    },
                },
            }
            if sport_id is not None and index < V2_ONLY_FROM_INDEX:
                workout["sport_id"] = sport_id
                workout["v1_id"] = 5_000 + index
            if sport_name in ("running", "cycling"):
                workout["score"]["distance_meter"] = 5000.0 + index * 100
                workout["score"]["altitude_gain_meter"] = 40.5 + index
                if sport_name == "running":
                    workout["score"]["altitude_change_meter"] = -1.5
            if index == 30:
                workout["score_state"] = "UNSCORABLE"
                del workout["score"]
            workouts.append(workout)

    profile = {
        "user_id": USER_ID,
        "email": "siobhan.oconnor@example.com",
        "first_name": "Siobhán",
        "last_name": "O'Connor-Núñez",
    }
    body = {"user_id": USER_ID, "height_meter": 1.68, "weight_kilogram": 61.4, "max_heart_rate": 193}
    return SampleData(
        {
            "cycle": cycles,
            "sleep": sleeps,
            "recovery": recoveries,
            "workout": workouts,
            "user_profile": [profile],
            "body_measurement": [body],
        }
    )


def emulator_sample_data(
    days: int = 60, seed: int = 7, recovery_effects: Any = None, now: datetime = datetime(2025, 6, 30, 18, 0)
) -> SampleData | None:
    """The emulator's records (``emu.dataset``), or None while the emulator package is not there.

    ``recovery_effects`` (an ``emulator.RecoveryEffects``) plants or removes effects of behaviour
    on recovery; None keeps the emulator's default physiology.
    """
    try:
        from whoop_dagster.emulator import EmulatorConfig, RecoveryEffects, run_emulator
    except ImportError:
        return None
    config = EmulatorConfig(seed=seed, days=days, now=now, recovery_effects=recovery_effects or RecoveryEffects())
    with run_emulator(config, port=0) as emulator:
        dataset = emulator.dataset
        records = {name: [dict(r) for r in dataset.records(name)] for name in ("cycle", "sleep", "recovery", "workout")}
        profile = dict(dataset.profile())
        records["user_profile"] = [profile]
        records["body_measurement"] = [{"user_id": profile["user_id"], **dict(dataset.body())}]
    return SampleData(records)


# --- raw tables ------------------------------------------------------------------------------


def raw_frames(data: SampleData, extracted_at: datetime = EXTRACTED_AT, run_id: str = "test-run") -> dict[str, Any]:
    """DataFrames of the raw tables for ``data`` (each record in its own partition)."""
    sleep_starts = {record["id"]: parse_timestamp(record["start"]) for record in data.records["sleep"]}
    frames = {}
    for name, endpoint in ENDPOINTS.items():
        rows = []
        for record in data.records.get(name, []):
            partition = partition_date_of(endpoint, record, sleep_starts) if endpoint.collection else None
            rows.append(to_row(endpoint, record, partition_date=partition, extracted_at=extracted_at, run_id=run_id))
        frames[name] = rows_to_frame(endpoint, rows)
    return frames


def load_raw(
    warehouse: WarehouseResource,
    data: SampleData,
    *,
    extracted_at: datetime = EXTRACTED_AT,
    only: Iterable[str] | None = None,
) -> None:
    """Replace the raw tables (or just ``only``) with ``data``'s records, one transaction each."""
    frames = raw_frames(data, extracted_at=extracted_at)
    for name in only or frames:
        warehouse.replace_slice(raw_table(get_endpoint(name)), frames[name], None)


def combined_sample_data() -> SampleData:
    """The hand-written member plus, when available, the emulator's member: two members, every edge case."""
    data = build_sample_data()
    emulated = emulator_sample_data()
    if emulated is not None:
        for name, records in emulated.records.items():
            data.records[name] = data.records[name] + records
    return data


def reload_partition(
    warehouse: WarehouseResource, data: SampleData, endpoint_name: str, day: date, *, extracted_at: datetime
) -> int:
    """Replace one daily partition of a raw table with ``data``'s records of that day, as a raw run does."""
    endpoint = get_endpoint(endpoint_name)
    sleep_starts = {record["id"]: parse_timestamp(record["start"]) for record in data.records["sleep"]}
    rows = []
    for record in data.records[endpoint_name]:
        partition = partition_date_of(endpoint, record, sleep_starts)
        if partition == day:
            rows.append(to_row(endpoint, record, partition_date=partition, extracted_at=extracted_at, run_id="reload"))
    window = SliceWindow(column="_partition_date", start=day, end=day + timedelta(days=1))
    return warehouse.replace_slice(raw_table(endpoint), rows_to_frame(endpoint, rows), window)
