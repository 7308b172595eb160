"""Volume rules for the daily partitions (pure logic, no Dagster): empty days and impossible days.

* **Missing**: completed days with no record where the member normally has one. Everyone
  wearing a WHOOP has a cycle around every moment and sleeps (and recovers) every day, so
  for cycles, sleeps and recoveries each such day is missing, once the member has a week of
  history. A day whose partition is empty still has its records when its neighbours' spans
  account for it: cycles are contiguous, so a day that loaded cycles cover from midnight to
  midnight lacks nothing (sleep onsets straddling UTC midnight, or a time-zone jump, leave
  UTC days on which no cycle starts); a day some sleep overlaps saw the member sleep.
  Workouts are not daily: a run of days without one is missing when the member's share of
  days with a workout over the 56 days before it, shrunk toward one half by a day each way,
  makes such a run rarer than one in a million (a member training on 80% of days: 9 days;
  rarer runs would raise a false alarm every few years of every member's data).
* **Implausible**: more records starting on one day than a body produces (more than 3
  cycles, say), or records that cannot overlap and do (cycles, scored sleeps, the sleeps
  two recoveries were scored from, scored workouts): the signature of a day synced twice.

A day is *completed* once it ended ``SETTLE`` ago (by the caller's clock): records of a day
keep arriving for a while after midnight (uploads, scoring).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

#: How long after its end a UTC day counts as completed.
SETTLE = timedelta(hours=6)
#: Days before an empty run whose share of days with records says what is normal (workouts).
TRAILING_DAYS = 56
#: Fewer days of history than this before a run: too little to know what is normal.
MIN_HISTORY_DAYS = 7
#: A run of days without a workout this improbable at the member's usual share is flagged.
IMPROBABLE = 1e-6


@dataclass(frozen=True)
class VolumeRule:
    """What one day of an endpoint can hold."""

    max_per_day: int
    #: Which records must not overlap in time: ``all``, only ``scored`` ones, or ``none``.
    no_overlap: str
    #: Which days the records account for besides their own partition: ``full_cover`` (days
    #: the spans cover from midnight to midnight), ``overlap`` (days a span touches) or ``start``.
    accounts_for: str
    #: Whether every day normally has records (else: judged by the member's usual share of days).
    every_day: bool


#: Per partitioned endpoint. Recoveries take the spans of the sleeps they were scored from.
RULES: dict[str, VolumeRule] = {
    "cycle": VolumeRule(max_per_day=3, no_overlap="all", accounts_for="full_cover", every_day=True),
    "sleep": VolumeRule(max_per_day=5, no_overlap="scored", accounts_for="overlap", every_day=True),
    "recovery": VolumeRule(max_per_day=3, no_overlap="all", accounts_for="overlap", every_day=True),
    "workout": VolumeRule(max_per_day=8, no_overlap="scored", accounts_for="start", every_day=False),
}


@dataclass(frozen=True)
class Span:
    """One raw record as the volume rules see it (naive UTC times; ``end`` None while open)."""

    record_id: str
    user_id: int
    day: date
    start: datetime | None
    end: datetime | None
    scored: bool


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo is not None else moment


def last_completed_day(now: datetime) -> date:
    """The newest UTC day that ended at least ``SETTLE`` before ``now`` (aware or naive UTC)."""
    return (_naive_utc(now) - SETTLE).date() - timedelta(days=1)


def _runs(days: Iterable[date]) -> list[list[date]]:
    runs: list[list[date]] = []
    for day in sorted(days):
        if runs and day == runs[-1][-1] + timedelta(days=1):
            runs[-1].append(day)
        else:
            runs.append([day])
    return runs


def missing_days(days_with_records: set[date], first: date, last_completed: date, every_day: bool) -> list[date]:
    """Completed days in ``first`` … ``last_completed`` with no record where one is normal (see module doc)."""
    flagged: list[date] = []
    empty = [first + timedelta(days=i) for i in range((last_completed - first).days + 1)]
    empty = [day for day in empty if day not in days_with_records]
    for run in _runs(empty):
        history = [run[0] - timedelta(days=i) for i in range(1, TRAILING_DAYS + 1)]
        history = [day for day in history if day >= first]
        if len(history) < MIN_HISTORY_DAYS:
            continue
        share = (sum(day in days_with_records for day in history) + 1) / (len(history) + 2)
        if every_day or (1 - share) ** len(run) < IMPROBABLE:
            flagged.extend(run)
    return flagged


def accounted_days(spans: Sequence[Span], rule: VolumeRule, now: datetime) -> set[date]:
    """The days ``spans`` (one member's) hold records for: their partitions, plus what ``rule`` says."""
    days = {span.day for span in spans}
    if rule.accounts_for == "start":
        return days
    until = _naive_utc(now)
    intervals = sorted((s.start, s.end or until) for s in spans if s.start is not None)
    if rule.accounts_for == "overlap":
        for start, end in intervals:
            days.update(start.date() + timedelta(days=i) for i in range((end.date() - start.date()).days + 1))
        return days
    merged: list[list[datetime]] = []
    for start, end in intervals:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in merged:
        day = start.date() if start.time() == datetime.min.time() else start.date() + timedelta(days=1)
        while datetime.combine(day + timedelta(days=1), datetime.min.time()) <= end:
            days.add(day)
            day += timedelta(days=1)
    return days


def missing_days_by_user(spans: Sequence[Span], rule: VolumeRule, now: datetime) -> dict[int, list[date]]:
    """``missing_days`` for each member, from their first loaded day to the last completed one."""
    by_user: dict[int, list[Span]] = defaultdict(list)
    for span in spans:
        by_user[span.user_id].append(span)
    last = last_completed_day(now)
    return {
        user: missing_days(accounted_days(own, rule, now), min(s.day for s in own), last, rule.every_day)
        for user, own in by_user.items()
    }


def implausible_days(spans: Sequence[Span], rule: VolumeRule) -> dict[date, list[str]]:
    """Days with more records than ``rule`` allows or with records that overlap: day -> reasons."""
    reasons: dict[date, list[str]] = defaultdict(list)
    by_user: dict[int, list[Span]] = defaultdict(list)
    for span in spans:
        by_user[span.user_id].append(span)
    for user_spans in by_user.values():
        per_day: dict[date, int] = defaultdict(int)
        for span in user_spans:
            per_day[span.day] += 1
        for day, count in per_day.items():
            if count > rule.max_per_day:
                reasons[day].append(f"{count} records (at most {rule.max_per_day} a day)")
        for later, earlier in _overlaps(user_spans, rule.no_overlap):
            reasons[later.day].append(f"{later.record_id} overlaps {earlier.record_id}")
    return dict(sorted(reasons.items()))


def _overlaps(spans: Sequence[Span], which: str) -> list[tuple[Span, Span]]:
    """(later, earlier) pairs whose time spans intersect; an open span runs on forever."""
    if which == "none":
        return []
    timed = sorted(
        (s for s in spans if s.start is not None and (which == "all" or s.scored)),
        key=lambda s: (s.start, s.record_id),
    )
    pairs: list[tuple[Span, Span]] = []
    reach: Span | None = None  # the span reaching furthest so far
    for span in timed:
        if reach is not None and (reach.end is None or span.start < reach.end):
            pairs.append((span, reach))
        if reach is None or (reach.end is not None and (span.end is None or span.end > reach.end)):
            reach = span
    return pairs
