"""API records over time: what exists at the clock's ``now``, in which score state.

``data`` says what happened; this module says what the API shows about it at a given
moment, and keeps the emulator's mutable truth (manual re-scores, deletions).

Life of a record (sleep, nap, workout; recoveries follow their sleep)::

    activity ends ── lag ──> created (PENDING_SCORE) ── delay ──> SCORED (or UNSCORABLE, ~1%)
                                                        └─ days later, for ~4%: re-scored (new updated_at)

A cycle exists from shortly after sleep onset; while current it has no ``end`` and is
SCORED with the strain so far, refreshed hourly (each refresh moves ``updated_at``); it
gets its ``end`` when the next cycle appears, is PENDING_SCORE for a few hours and then
SCORED with its final values. Invariant the sensors rely on: a served record only ever
changes together with its ``updated_at``.
"""

from __future__ import annotations

import threading
import zlib
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from whoop_dagster.emulator.clock import Clock
from whoop_dagster.emulator.config import EmulatorConfig
from whoop_dagster.emulator.data import (
    CALIBRATION_DAYS,
    MS_PER_DAY,
    MS_PER_HOUR,
    MS_PER_MINUTE,
    OLD_STRAP_DAYS,
    SPORTS,
    CycleProgress,
    Physiology,
    RecoveryDrivers,
    Timing,
    cycle_id,
    format_ms,
    format_offset,
    is_v2_only,
    json_copy,
    perturb_score,
    v1_id,
)
from whoop_dagster.whoop_api.endpoints import get_endpoint

#: Collections served from the timeline (profile and body measurement are single objects).
TIMELINE_ENDPOINTS = ("cycle", "sleep", "recovery", "workout")

# No record spans more than this: a window query need not look further back for overlaps.
_MAX_SPAN_MS = 3 * MS_PER_DAY
# How far past today's date the timeline is generated when it has to grow.
_HORIZON_DAYS = 30
# Copies of a duplicated day take ids this far above the originals' (cycle and v1 ids embed the
# member index below 100 and the activity index below 400, so copies never collide).
_COPY_ID_OFFSET = 500


class Item:
    """One record's whole life: its fixed fields and when its state changes."""

    __slots__ = (
        "_cache",
        "created_ms",
        "cycle_key",
        "end_ms",
        "end_visible_ms",
        "endpoint",
        "fields",
        "key",
        "perturb_seed",
        "progress",
        "rescore_ms",
        "score",
        "score_ms",
        "sleep_key",
        "start_ms",
        "unscorable",
    )

    def __init__(
        self,
        endpoint: str,
        key: str,
        start_ms: int,
        end_ms: int,
        fields: dict[str, Any],
        created_ms: int,
        score_ms: int,
        timing: Timing,
        score: dict[str, Any],
        *,
        cycle_key: str | None = None,
        sleep_key: str | None = None,
        progress: CycleProgress | None = None,
        end_visible_ms: int | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.key = key
        self.start_ms = start_ms  # recoveries: the related sleep's span
        self.end_ms = end_ms
        self.fields = fields  # fixed fields in API order, without updated_at/end/score_state/score
        self.created_ms = created_ms
        self.score_ms = score_ms
        self.unscorable = timing.unscorable
        self.rescore_ms = end_ms + timing.rescore_after_ms if timing.rescore_after_ms is not None else None
        self.score = score
        self.cycle_key = cycle_key
        self.sleep_key = sleep_key
        self.progress = progress
        self.end_visible_ms = end_visible_ms  # cycles: when the next cycle appears and this one ends
        self.perturb_seed = timing.perturb_seed
        self._cache: dict[tuple[Any, ...], dict[str, Any]] = {}

    def span_end(self, now_ms: int) -> int:
        """End of the record's time span for window filtering (the current cycle extends to now)."""
        if self.end_visible_ms is not None and now_ms < self.end_visible_ms:
            return now_ms
        return self.end_ms

    def render(self, now_ms: int, manual_times: list[int]) -> dict[str, Any] | None:
        """The record as the API serves it at ``now_ms``, or None if it does not exist yet."""
        if now_ms < self.created_ms:
            return None
        current = self.end_visible_ms is not None and now_ms < self.end_visible_ms
        if current:
            # Hourly syncs refresh the running cycle's strain; before the first one it is pending.
            syncs = (now_ms - self.created_ms) // MS_PER_HOUR
            version: tuple[Any, ...] = ("current", syncs)
        elif now_ms < self.score_ms:
            version = ("pending",)
        elif self.unscorable:
            version = ("unscorable",)
        elif self.rescore_ms is not None and now_ms >= self.rescore_ms:
            version = ("rescored",)
        else:
            version = ("scored",)
        manual = [t for t in manual_times if t <= now_ms]
        if manual:
            version = (*version, len(manual), manual[-1])
        record = self._cache.get(version)
        if record is None:
            record = self._build(version, current, manual)
            self._cache[version] = record
        return record

    def _build(self, version: tuple[Any, ...], current: bool, manual: list[int]) -> dict[str, Any]:
        kind = version[0]
        score: dict[str, Any] | None = None
        if kind == "current":
            updated = self.created_ms + version[1] * MS_PER_HOUR
            if version[1] > 0 and self.progress is not None:
                score = self.progress.score_at(updated)
        elif kind == "pending":
            updated = self.end_visible_ms if self.end_visible_ms is not None else self.created_ms
        elif kind == "unscorable":
            updated = self.score_ms
        elif kind == "rescored":
            updated, score = self.rescore_ms, perturb_score(self.endpoint, self.score, self.perturb_seed)
        else:
            updated, score = self.score_ms, self.score
        state = "SCORED" if score is not None else "UNSCORABLE" if kind == "unscorable" else "PENDING_SCORE"
        for n, _ in enumerate(manual, start=1):
            # A manual re-score always leaves a SCORED record with new values.
            seed = zlib.crc32(f"{self.key}/manual/{n}".encode())  # stable across processes, unlike hash()
            score = perturb_score(self.endpoint, score if score is not None else self.score, seed)
            state = "SCORED"
        if manual:
            updated = max(updated, manual[-1])

        record: dict[str, Any] = {}
        for name, value in self.fields.items():
            record[name] = value
            if name == "created_at":
                record["updated_at"] = format_ms(updated)
            elif name == "start" and self.endpoint != "recovery" and (self.end_visible_ms is None or not current):
                record["end"] = format_ms(self.end_ms)
        record["score_state"] = state
        if score is not None and state == "SCORED":
            record["score"] = score
        return record


class _Timeline:
    """One member's items per endpoint, sorted by (start, key), grown as the clock moves."""

    def __init__(self) -> None:
        self.items: dict[str, list[Item]] = {name: [] for name in TIMELINE_ENDPOINTS}
        self.starts: dict[str, list[int]] = {name: [] for name in TIMELINE_ENDPOINTS}
        self.by_key: dict[str, dict[str, Item]] = {name: {} for name in TIMELINE_ENDPOINTS}
        self.v1_ids: dict[int, str] = {}
        self.main_sleep_of_cycle: dict[str, Item] = {}
        self.horizon = -1  # last generated day ordinal

    def add(self, item: Item) -> None:
        self.items[item.endpoint].append(item)
        self.by_key[item.endpoint][item.key] = item

    def finish(self) -> None:
        for name, items in self.items.items():
            items.sort(key=lambda it: (it.start_ms, it.key))
            self.starts[name] = [it.start_ms for it in items]


class Dataset:
    """The emulator's truth: every member's records as the API serves them at the clock's now.

    Thread-safe: the HTTP server's threads and test code call it concurrently.
    """

    def __init__(self, config: EmulatorConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self.physiology = Physiology(config.seed, config.recovery_effects)
        #: The members joined on this date: fixed when the emulator starts, so moving the
        #: clock forward never makes old records disappear.
        self.join_date: date = config.join_date or (clock.now().date() - timedelta(days=config.days))
        self._join = self.join_date.toordinal()
        self._strap_off = frozenset(day.toordinal() for day in config.strap_off_days)
        self._duplicated = frozenset(day.toordinal() for day in config.duplicated_days)
        self._lock = threading.RLock()
        self._timelines: dict[int, _Timeline] = {}
        self._manual: dict[tuple[str, int, str], list[int]] = {}
        self._deleted: set[tuple[str, int, str]] = set()

    # -- public truth -------------------------------------------------------------------

    def records(self, endpoint_name: str, user_index: int = 0) -> list[dict[str, Any]]:
        """Every record the API would serve now, newest first (a copy: mutate freely)."""
        if endpoint_name == "user_profile":
            return [self.profile(user_index)]
        if endpoint_name == "body_measurement":
            return [self.body(user_index)]
        self._check(endpoint_name, user_index)
        now_ms = self.clock.now_ms()
        with self._lock:
            timeline = self._timeline(user_index, now_ms)
            return [json_copy(r) for _, r in self._visible(timeline.items[endpoint_name][::-1], user_index, now_ms)]

    def profile(self, user_index: int = 0) -> dict[str, Any]:
        """``GET /v2/user/profile/basic`` of member ``user_index``."""
        self._check("user_profile", user_index)
        member = self.physiology.member(user_index)
        return {
            "user_id": member.user_id,
            "email": member.email,
            "first_name": member.first_name,
            "last_name": member.last_name,
        }

    def body(self, user_index: int = 0) -> dict[str, Any]:
        """``GET /v2/user/measurement/body`` of member ``user_index``."""
        self._check("body_measurement", user_index)
        member = self.physiology.member(user_index)
        return {
            "height_meter": member.height_meter,
            "weight_kilogram": member.weight_kilogram,
            "max_heart_rate": member.max_hr,
        }

    def user_id(self, user_index: int = 0) -> int:
        """The API ``user_id`` of member ``user_index``."""
        return self.physiology.member(user_index).user_id

    def recovery_drivers(self, day: date, user_index: int = 0) -> RecoveryDrivers:
        """The model terms of ``day``'s recovery (expected value and noise): the forecasting floor.

        ``day`` is the member's local date on waking (the sleep's ``end`` + ``timezone_offset``).
        """
        with self._lock:
            return self.physiology.recovery(user_index, day.toordinal())

    def get(self, endpoint_name: str, record_id: str | int, user_index: int = 0) -> dict[str, Any] | None:
        """One record by id as served now (recoveries by ``cycle_id`` or ``sleep_id``), or None."""
        now_ms = self.clock.now_ms()
        with self._lock:
            item = self._find(endpoint_name, str(record_id), user_index, now_ms)
            record = self._render(item, user_index, now_ms) if item else None
            return json_copy(record) if record is not None else None

    def sleep_of_cycle(self, cycle: str | int, user_index: int = 0) -> dict[str, Any] | None:
        """The main sleep that began cycle ``cycle`` (``/v2/cycle/{id}/sleep``), or None."""
        now_ms = self.clock.now_ms()
        with self._lock:
            if self._find("cycle", str(cycle), user_index, now_ms) is None:
                return None
            item = self._timeline(user_index, now_ms).main_sleep_of_cycle.get(str(cycle))
            record = self._render(item, user_index, now_ms) if item else None
            return json_copy(record) if record is not None else None

    def activity_mapping(self, v1: int, user_index: int = 0) -> str | None:
        """The UUID of the sleep or workout that had legacy id ``v1`` (``/v1/activity-mapping``)."""
        with self._lock:
            return self._timeline(user_index, self.clock.now_ms()).v1_ids.get(v1)

    # -- mutations ----------------------------------------------------------------------

    def rescore(self, endpoint_name: str, record_id: str | int, user_index: int = 0) -> dict[str, Any]:
        """Re-score a record now: new score values, ``updated_at`` = now. Returns the new record."""
        now_ms = self.clock.now_ms()
        with self._lock:
            item = self._require(endpoint_name, record_id, user_index, now_ms)
            # Two re-scores at the same (frozen) instant share one updated_at; move the clock between them.
            self._manual.setdefault((item.endpoint, user_index, item.key), []).append(now_ms)
            record = self._render(item, user_index, now_ms)
            if record is None:  # pragma: no cover - _require checked it exists
                raise KeyError(record_id)
            return json_copy(record)

    def delete(self, endpoint_name: str, record_id: str | int, user_index: int = 0) -> None:
        """Delete a record from every API answer (a sleep takes its recovery, a cycle its sleeps and recovery)."""
        now_ms = self.clock.now_ms()
        with self._lock:
            item = self._require(endpoint_name, record_id, user_index, now_ms)
            self._deleted.add((item.endpoint, user_index, item.key))

    # -- queries for the HTTP layer -----------------------------------------------------

    def page(
        self,
        endpoint_name: str,
        user_index: int,
        *,
        start_ms: int | None,
        end_ms: int,
        now_ms: int,
        before: tuple[int, str] | None,
        limit: int,
    ) -> tuple[list[dict[str, Any]], tuple[int, str] | None]:
        """One page of a collection: records overlapping [start, end), newest first.

        ``before`` is the (start, key) of the last record of the previous page (keyset
        pagination: records appearing meanwhile never shift a page). Returns the page and
        the key to continue from, or None on the last page.
        """
        with self._lock:
            timeline = self._timeline(user_index, now_ms)
            starts, items = timeline.starts[endpoint_name], timeline.items[endpoint_name]
            high = bisect_left(starts, end_ms)  # start < end (end exclusive)
            if before is not None:
                high = min(high, bisect_right(starts, before[0]))
            low = 0 if start_ms is None else bisect_left(starts, start_ms - _MAX_SPAN_MS)
            candidates = (
                it
                for it in reversed(items[low:high])
                if (before is None or (it.start_ms, it.key) < before)
                and (start_ms is None or it.span_end(now_ms) >= start_ms)  # start inclusive
            )
            found: list[tuple[Item, dict[str, Any]]] = []
            for pair in self._visible(candidates, user_index, now_ms):
                found.append(pair)
                if len(found) > limit:
                    break
        page = found[:limit]
        last = (page[-1][0].start_ms, page[-1][0].key) if len(found) > limit else None
        return [record for _, record in page], last

    # -- internals ----------------------------------------------------------------------

    def _check(self, endpoint_name: str, user_index: int) -> None:
        get_endpoint(endpoint_name)  # raises KeyError naming the known endpoints
        if not 0 <= user_index < self.config.users:
            raise KeyError(f"no member {user_index}: the emulator serves {self.config.users}")

    def _visible(self, items: Any, user_index: int, now_ms: int) -> Iterator[tuple[Item, dict[str, Any]]]:
        for item in items:
            record = self._render(item, user_index, now_ms)
            if record is not None:
                yield item, record

    def _render(self, item: Item, user_index: int, now_ms: int) -> dict[str, Any] | None:
        deleted = self._deleted
        if deleted and (
            (item.endpoint, user_index, item.key) in deleted
            or (item.cycle_key is not None and ("cycle", user_index, item.cycle_key) in deleted)
            or (item.sleep_key is not None and ("sleep", user_index, item.sleep_key) in deleted)
        ):
            return None
        return item.render(now_ms, self._manual.get((item.endpoint, user_index, item.key), []))

    def _find(self, endpoint_name: str, key: str, user_index: int, now_ms: int) -> Item | None:
        self._check(endpoint_name, user_index)
        if endpoint_name not in TIMELINE_ENDPOINTS:
            return None
        by_key = self._timeline(user_index, now_ms).by_key
        item = by_key[endpoint_name].get(key)
        if item is None and endpoint_name == "recovery":
            # A recovery can also be named by its sleep's UUID (webhooks do that).
            sleep = by_key["sleep"].get(key)
            item = by_key["recovery"].get(sleep.cycle_key) if sleep and sleep.cycle_key else None
        return item

    def _require(self, endpoint_name: str, record_id: str | int, user_index: int, now_ms: int) -> Item:
        item = self._find(endpoint_name, str(record_id), user_index, now_ms)
        if item is None or self._render(item, user_index, now_ms) is None:
            raise KeyError(f"no {endpoint_name} record {record_id!r} of member {user_index} exists now")
        return item

    def _timeline(self, user_index: int, now_ms: int) -> _Timeline:
        """Member ``user_index``'s timeline, generated at least two days past ``now``."""
        timeline = self._timelines.get(user_index)
        if timeline is None:
            timeline = self._timelines[user_index] = _Timeline()
        needed = (now_ms // MS_PER_DAY) + date(1970, 1, 1).toordinal() + 2
        if timeline.horizon < needed:
            first = max(self._join, timeline.horizon + 1)
            last = needed + _HORIZON_DAYS
            for ordinal in range(first, last + 1):
                if ordinal in self._strap_off:
                    continue
                self._add_day(timeline, user_index, ordinal)
                if ordinal in self._duplicated:
                    self._add_day(timeline, user_index, ordinal, copy=True)
            timeline.horizon = last
            timeline.finish()
        return timeline

    def _add_day(self, timeline: _Timeline, user: int, ordinal: int, *, copy: bool = False) -> None:
        """Add physiological day ``ordinal``'s cycle, sleeps, recovery and workouts.

        ``copy``: the same records again under new ids (``EmulatorConfig.duplicated_days``).
        """
        phys = self.physiology
        member = phys.member(user)
        night, day = phys.night(user, ordinal), phys.daytime(user, ordinal)
        next_night = phys.night(user, ordinal + 1)
        offset = format_offset(night.offset_min)
        cid = cycle_id(user, ordinal) + (_COPY_ID_OFFSET if copy else 0)
        ckey = str(cid)

        def activity_uuid(kind: str, index: int = 0) -> str:
            return phys.activity_uuid(user, f"{kind}-copy" if copy else kind, ordinal, index)

        def legacy_id(index: int) -> int:
            return v1_id(user, ordinal, index) + (_COPY_ID_OFFSET if copy else 0)

        cycle_created = night.onset_ms + night.cycle_lag_ms
        progress = phys.cycle_progress(user, ordinal)
        end_visible = next_night.onset_ms + next_night.cycle_lag_ms
        timeline.add(
            Item(
                "cycle",
                ckey,
                night.onset_ms,
                next_night.onset_ms,
                {
                    "id": cid,
                    "user_id": member.user_id,
                    "created_at": format_ms(cycle_created),
                    "start": format_ms(night.onset_ms),
                    "timezone_offset": offset,
                },
                cycle_created,
                end_visible + night.cycle_timing.delay_ms,
                night.cycle_timing,
                progress.score_at(next_night.onset_ms),
                progress=progress,
                end_visible_ms=end_visible,
            )
        )

        sleep_id = activity_uuid("sleep")
        sleep = self._activity_item(
            "sleep", sleep_id, night.onset_ms, night.wake_ms, night.sleep_timing, phys.sleep_score(user, ordinal),
            {"id": sleep_id, "cycle_id": cid, "v1_id": legacy_id(0), "user_id": member.user_id},
            {"timezone_offset": offset, "nap": False}, cycle_key=ckey,
        )  # fmt: skip
        timeline.add(sleep)
        timeline.main_sleep_of_cycle[ckey] = sleep
        if "v1_id" in sleep.fields:
            timeline.v1_ids[sleep.fields["v1_id"]] = sleep_id

        timing = night.recovery_timing
        offset_in_days = ordinal - self._join
        timeline.add(
            Item(
                "recovery",
                ckey,
                night.onset_ms,
                night.wake_ms,
                {
                    "cycle_id": cid,
                    "sleep_id": sleep_id,
                    "user_id": member.user_id,
                    "created_at": format_ms(sleep.created_ms + timing.lag_ms),
                },
                sleep.created_ms + timing.lag_ms,
                sleep.score_ms + timing.lag_ms + MS_PER_MINUTE,  # scored just after its sleep
                Timing(timing.lag_ms, timing.delay_ms, sleep.unscorable, timing.rescore_after_ms, timing.perturb_seed),
                phys.recovery_score(
                    user,
                    ordinal,
                    calibrating=offset_in_days < CALIBRATION_DAYS,
                    old_strap=offset_in_days < OLD_STRAP_DAYS,
                ),
                cycle_key=ckey,
                sleep_key=sleep_id,
            )
        )

        if day.nap is not None:
            nap_id = activity_uuid("nap")
            nap = self._activity_item(
                "sleep", nap_id, day.nap.start_ms, day.nap.end_ms, day.nap.timing, phys.nap_score(user, ordinal),
                {"id": nap_id, "cycle_id": cid, "v1_id": legacy_id(1), "user_id": member.user_id},
                {"timezone_offset": offset, "nap": True}, cycle_key=ckey,
            )  # fmt: skip
            timeline.add(nap)
            if "v1_id" in nap.fields:
                timeline.v1_ids[nap.fields["v1_id"]] = nap_id

        for workout in day.workouts:
            workout_id = activity_uuid("workout", workout.index)
            tail: dict[str, Any] = {"timezone_offset": offset, "sport_name": workout.sport}
            if not is_v2_only(workout.start_ms):
                tail["sport_id"] = SPORTS[workout.sport].sport_id
            item = self._activity_item(
                "workout", workout_id, workout.start_ms, workout.end_ms, workout.timing, phys.workout_score(workout),
                {"id": workout_id, "v1_id": legacy_id(workout.index), "user_id": member.user_id}, tail,
            )  # fmt: skip
            timeline.add(item)
            if "v1_id" in item.fields:
                timeline.v1_ids[item.fields["v1_id"]] = workout_id

    @staticmethod
    def _activity_item(
        endpoint: str,
        key: str,
        start_ms: int,
        end_ms: int,
        timing: Timing,
        score: dict[str, Any],
        head: dict[str, Any],
        tail: dict[str, Any],
        *,
        cycle_key: str | None = None,
    ) -> Item:
        """A sleep or workout: created after it ends, scored later; ``v1_id`` only before the v2 cut-off."""
        if is_v2_only(start_ms):
            head = {k: v for k, v in head.items() if k != "v1_id"}
        created = end_ms + timing.lag_ms
        fields = {**head, "created_at": format_ms(created), "start": format_ms(start_ms), **tail}
        scored = end_ms + timing.delay_ms
        return Item(endpoint, key, start_ms, end_ms, fields, created, scored, timing, score, cycle_key=cycle_key)
