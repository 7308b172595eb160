"""Windows of emulator history as the main job loads them on different dates, for dbt builds.

A window is what ``whoop-dagster demo --days N`` loads when it runs at instant ``now``: the
records the API serves at ``now`` whose partition lies in the last N UTC days (today
included). Its first day starts mid-way through a member's life (workouts, naps and
sleeps whose cycle began the day before) and its last day ends with the open current cycle
and records still pending a score.

Two ways to build dbt over many windows: one DuckDB file per window (``load_window``, what
the main job would see, one ``dbt build`` each), or every window in one warehouse as a
member of its own (``as_member``: user, cycle, sleep and workout ids remapped per window),
so that one ``dbt build`` tests them all: every model is computed per member.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from whoop_dagster.defs.raw.rows import parse_timestamp, partition_date_of
from whoop_dagster.whoop_api.endpoints import get_endpoint

COLLECTIONS = ("cycle", "sleep", "recovery", "workout")

#: Lengths (days) the windows cycle through: a day, two, a week, a month, `make run`'s 90, a year.
LENGTHS = (1, 2, 7, 30, 90, 365)

# Ids of window members: new UUIDs derived from (window, original id), the same in every process.
_NAMESPACE = uuid.UUID("b5a7f0d2-6a0e-4c55-9a57-0f6d2f1c3e11")
# Window k's member gets user_id * _SPREAD + k and cycle id * _SPREAD + k (unique while k < _SPREAD).
_SPREAD = 1000


@dataclass(frozen=True)
class Window:
    """The partitions ``first`` … ``now``'s UTC date, loaded at ``now``."""

    index: int
    now: datetime
    days: int
    member: int = 0

    @property
    def last(self) -> date:
        return self.now.astimezone(timezone.utc).date()

    @property
    def first(self) -> date:
        return self.last - timedelta(days=self.days - 1)

    def __str__(self) -> str:
        return f"#{self.index} member {self.member}: {self.first}…{self.last} loaded at {self.now:%Y-%m-%dT%H:%MZ}"


def spread_windows(
    count: int, end: datetime, span_days: int = 365, lengths: Sequence[int] = LENGTHS, members: int = 1
) -> list[Window]:
    """``count`` windows whose last days spread evenly over the ``span_days`` before ``end``.

    Loading instants walk round the clock (about 7 h 20 min apart, so every hour of the day
    and both sides of UTC and local midnight come up), lengths cycle through ``lengths`` and,
    after each full cycle of lengths, the next of ``members`` emulator members takes over
    (the emulator's members live in different time zones).
    """
    step = span_days / count
    windows = []
    for k in range(count):
        day = (end - timedelta(days=round(k * step))).date()
        minute_of_day = (k * 440 + 118) % 1440  # 01:58, 09:18, 16:38, 23:58, 07:18, ...
        now = datetime(day.year, day.month, day.day, tzinfo=timezone.utc) + timedelta(minutes=minute_of_day)
        windows.append(Window(k, now, lengths[k % len(lengths)], (k // len(lengths)) % members))
    return windows


def window_records(emu: Any, window: Window) -> dict[str, list[dict[str, Any]]]:
    """What the main job loads for ``window``: the API's records at its instant, in its partitions."""
    emu.set_now(window.now)
    records = {name: emu.dataset.records(name, window.member) for name in COLLECTIONS}
    sleep_starts = {s["id"]: parse_timestamp(s["start"]) for s in records["sleep"]}
    kept = {
        name: [r for r in rows if window.first <= partition_date_of(get_endpoint(name), r, sleep_starts) <= window.last]
        for name, rows in records.items()
    }
    profile = dict(emu.dataset.profile(window.member))
    kept["user_profile"] = [profile]
    kept["body_measurement"] = [{"user_id": profile["user_id"], **emu.dataset.body(window.member)}]
    return kept


def as_member(records: dict[str, list[dict[str, Any]]], index: int) -> dict[str, list[dict[str, Any]]]:
    """``records`` as those of member ``index`` of its own: every id remapped, references kept."""
    if not 0 <= index < _SPREAD:
        raise ValueError(f"window index {index} out of range")

    def user(value: int) -> int:
        return int(value) * _SPREAD + index

    def cycle(value: int) -> int:
        return int(value) * _SPREAD + index

    def activity(value: str) -> str:
        return str(uuid.uuid5(_NAMESPACE, f"{index}/{value}"))

    def remap(record: dict[str, Any], name: str) -> dict[str, Any]:
        new = dict(record)
        new["user_id"] = user(record["user_id"])
        if name == "cycle":
            new["id"] = cycle(record["id"])
        if name in ("sleep", "workout"):
            new["id"] = activity(record["id"])
        if "cycle_id" in record:
            new["cycle_id"] = cycle(record["cycle_id"])
        if "sleep_id" in record:
            new["sleep_id"] = activity(record["sleep_id"])
        if "v1_id" in record:
            new["v1_id"] = int(record["v1_id"]) * _SPREAD + index
        if name == "user_profile":
            local, _, domain = record["email"].partition("@")
            new["email"] = f"{local}.w{index}@{domain}"
        return new

    return {name: [remap(r, name) for r in rows] for name, rows in records.items()}


def window_of(user_id: int) -> int:
    """The window whose member has this (remapped) ``user_id``; cycle ids map the same way."""
    return int(user_id) % _SPREAD


def combined_records(emu: Any, windows: Iterable[Window]) -> dict[str, list[dict[str, Any]]]:
    """Every window's records in one data set, each window a member of its own."""
    data: dict[str, list[dict[str, Any]]] = {}
    for window in windows:
        for name, rows in as_member(window_records(emu, window), window.index).items():
            data.setdefault(name, []).extend(rows)
    return data
