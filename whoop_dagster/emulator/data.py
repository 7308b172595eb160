"""Deterministic synthetic physiology: what member U's body did on day D for seed S (docs/emulator.md).

Each day draws from its own seeded RNG and depends only on its neighbours, so any day is computed alone.
"""

from __future__ import annotations

import math
import random
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from whoop_dagster.emulator.config import RecoveryEffects

#: Standard deviation of the recovery score's irreducible day-to-day noise (points).
RECOVERY_NOISE_SD = 7.0

#: Sleeps and workouts starting on or after this date carry no ``v1_id``; workouts no ``sport_id``.
V2_ONLY_FROM = date(2025, 9, 1)

#: Recoveries of the first days after joining have ``user_calibrating`` true.
CALIBRATION_DAYS = 14

#: The first days after joining were recorded on a strap without SpO2 / skin temperature.
OLD_STRAP_DAYS = 120

#: Share of records WHOOP cannot score (``UNSCORABLE``, no ``score``).
UNSCORABLE_RATE = 0.01

#: Share of records WHOOP re-scores automatically days later (new ``updated_at``).
AUTO_RESCORE_RATE = 0.04

MS_PER_MINUTE = 60_000
MS_PER_HOUR = 3_600_000
MS_PER_DAY = 86_400_000
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_V2_ONLY_FROM_MS = (V2_ONLY_FROM.toordinal() - EPOCH_ORDINAL) * MS_PER_DAY

# A fixed namespace: UUIDs are uuid5 of (seed, user, kind, day), the same in every process.
_UUID_NAMESPACE = uuid.UUID("6c0b8f4e-2f41-4f8e-9d1a-8f1f0f3b7e55")

_STRAIN_SCALE = 124.0
_SEASON_PEAK = date(2000, 4, 15).toordinal()


@dataclass(frozen=True)
class Sport:
    """How a sport is done: its v1 id, speed (m/s) if it covers distance, and ranges."""

    name: str
    sport_id: int
    speed: tuple[float, float] | None
    altitude: bool
    minutes: tuple[float, float]
    intensity: tuple[float, float]


SPORTS: dict[str, Sport] = {
    s.name: s
    for s in (
        Sport("running", 0, (2.5, 3.7), True, (25, 75), (0.68, 0.88)),
        Sport("cycling", 1, (6.0, 9.0), True, (45, 150), (0.60, 0.82)),
        Sport("swimming", 33, (0.6, 0.95), False, (25, 60), (0.62, 0.80)),
        Sport("yoga", 44, None, False, (30, 75), (0.40, 0.55)),
        Sport("weightlifting", 45, None, False, (40, 80), (0.52, 0.70)),
        Sport("walking", 63, (1.2, 1.6), True, (20, 90), (0.40, 0.52)),
        Sport("hiit", 96, None, False, (20, 45), (0.75, 0.92)),
    )
}

# (first name, last name): member 0 exercises both an apostrophe and a non-ASCII letter.
_NAMES = (
    ("Zoë", "O'Brien"),
    ("Ægir", "Þórsson"),
    ("Ana", "Núñez"),
    ("Sam", "Lee"),
    ("Chloé", "D'Souza"),
    ("Jonas", "Müller"),
    ("Priya", "Iyer"),
    ("Mateo", "García"),
)
# Home offsets in minutes (a member's index picks one) and where each travels to.
_HOMES = ((-300, (60, 0)), (60, (0, 120)), (0, (60, -300)), (-480, (-300, 0)), (330, (0, 240)))


def _rng(seed: int, user: int, kind: str, n: int) -> random.Random:
    return random.Random(f"whoop-emulator/{seed}/{user}/{kind}/{n}")  # noqa: S311 - synthetic data, not crypto


_TRANSLITERATE = str.maketrans(
    {"Æ": "Ae", "æ": "ae", "Þ": "Th", "þ": "th", "Ð": "D", "ð": "d", "Ø": "O", "ø": "o", "ß": "ss"}
)


def _ascii(text: str) -> str:
    """``Zoë`` -> ``Zoe``, ``Ægir`` -> ``Aegir``: e-mail addresses stay ASCII, names do not."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_TRANSLITERATE))
    return decomposed.encode("ascii", "ignore").decode()


def _clip(value: float, low: float, high: float) -> float:
    return low if value < low else high if value > high else value


def day_start_ms(ordinal: int) -> int:
    """UTC milliseconds of 00:00 UTC on the day with this ``date.toordinal()``."""
    return (ordinal - EPOCH_ORDINAL) * MS_PER_DAY


@lru_cache(maxsize=8192)
def _date_prefix(days_since_epoch: int) -> str:
    return date.fromordinal(days_since_epoch + EPOCH_ORDINAL).isoformat()


def format_ms(ms: int) -> str:
    """WHOOP's timestamp format: UTC with milliseconds, ``2022-04-24T11:25:44.774Z``."""
    # Hand-rolled (with the date part cached): strftime dominated generation time.
    days, rest = divmod(ms, MS_PER_DAY)
    seconds, millis = divmod(rest, 1000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return f"{_date_prefix(days)}T{hour:02d}:{minute:02d}:{second:02d}.{millis:03d}Z"


def format_offset(minutes: int) -> str:
    """``timezone_offset`` as WHOOP writes it: ``-05:00``, ``+01:00`` or ``Z``."""
    if minutes == 0:
        return "Z"
    sign = "+" if minutes > 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


def strain_of(load: float) -> float:
    """WHOOP-like strain (0-21) of a cardiovascular load: saturating, so log-like."""
    return 21.0 * (1.0 - math.exp(-max(load, 0.0) / _STRAIN_SCALE))


def is_v2_only(start_ms: int) -> bool:
    """Whether an activity starting then has no ``v1_id`` / ``sport_id``."""
    return start_ms >= _V2_ONLY_FROM_MS


@dataclass(frozen=True)
class Member:
    """A member's constants: identity, body and habits."""

    index: int
    user_id: int
    first_name: str
    last_name: str
    email: str
    home_offset: int
    destinations: tuple[int, ...]
    hrv_mu: float
    rhr_base: float
    resp_base: float
    need_base_ms: int
    bmr_kj: float
    max_hr: int
    height_meter: float
    weight_kilogram: float
    onset_mean_h: float
    train_p: float
    double_p: float
    sports: tuple[str, ...]
    sport_weights: tuple[float, ...]


@dataclass(frozen=True)
class Timing:
    """When a record appears and is scored, relative to the end of its activity."""

    lag_ms: int  # end -> created_at (upload from the strap)
    delay_ms: int  # end -> scored (PENDING_SCORE until then)
    unscorable: bool
    rescore_after_ms: int | None  # end -> automatic re-score, for a few records
    perturb_seed: int


@dataclass(frozen=True)
class Night:
    """Night ``ordinal``: the main sleep that begins cycle ``ordinal``."""

    ordinal: int
    offset_min: int
    onset_local_h: float
    onset_ms: int
    wake_ms: int
    no_data_ms: int
    awake_ms: int
    light_ms: int
    sws_ms: int
    rem_ms: int
    disturbances: int
    resp_noise: float
    recovery_noise: float
    hrv_noise: float
    rhr_noise: float
    spo2: float
    skin_temp: float
    consistency_noise: float
    sleep_timing: Timing
    recovery_timing: Timing
    cycle_lag_ms: int
    cycle_timing: Timing

    @property
    def asleep_ms(self) -> int:
        return self.light_ms + self.sws_ms + self.rem_ms

    @property
    def in_bed_ms(self) -> int:
        return self.wake_ms - self.onset_ms


@dataclass(frozen=True)
class Workout:
    """One workout with everything its score needs."""

    index: int
    sport: str
    start_ms: int
    end_ms: int
    avg_hr: int
    max_hr: int
    load: float
    kilojoule: float
    percent_recorded: float
    distance_meter: float | None
    altitude_gain_meter: float | None
    altitude_change_meter: float | None
    zones_ms: tuple[int, int, int, int, int, int]
    timing: Timing

    @property
    def strain(self) -> float:
        return strain_of(self.load)


@dataclass(frozen=True)
class Nap:
    """A daytime nap (a sleep with ``nap: true`` and no recovery)."""

    start_ms: int
    end_ms: int
    awake_ms: int
    light_ms: int
    sws_ms: int
    rem_ms: int
    disturbances: int
    timing: Timing

    @property
    def asleep_ms(self) -> int:
        return self.light_ms + self.sws_ms + self.rem_ms


@dataclass(frozen=True)
class Daytime:
    """What happened between waking on day ``ordinal`` and falling asleep the next night."""

    ordinal: int
    base_load: float
    workouts: tuple[Workout, ...]
    nap: Nap | None

    @property
    def load(self) -> float:
        return self.base_load + sum(w.load for w in self.workouts)

    @property
    def strain(self) -> float:
        return strain_of(self.load)


@dataclass(frozen=True)
class RecoveryDrivers:
    """The terms of one day's recovery: what a forecaster can at best learn."""

    day: date
    hrv_baseline: float
    previous_strain: float
    sleep_performance: float
    expected: float  # mean_d of the model, before noise
    noise: float  # e_d ~ N(0, RECOVERY_NOISE_SD)
    recovery_score: int


@dataclass(frozen=True)
class CycleProgress:
    """Everything needed to score cycle ``d`` at any moment while it runs."""

    start_ms: int
    end_ms: int
    base_load: float
    day_kj: float
    rhr: float
    workouts: tuple[Workout, ...]

    def score_at(self, t_ms: int) -> dict[str, Any]:
        """The cycle's score as WHOOP would have computed it at ``t_ms``."""
        elapsed = _clip(t_ms - self.start_ms, 1, self.end_ms - self.start_ms)
        fraction = elapsed / (self.end_ms - self.start_ms)
        done = [w for w in self.workouts if w.end_ms <= t_ms]
        load = self.base_load * fraction + sum(w.load for w in done)
        active_ms = sum(w.end_ms - w.start_ms for w in done)
        resting_hr = self.rhr + 8 + self.base_load / 8
        avg_hr = (
            resting_hr * max(elapsed - active_ms, 0) + sum(w.avg_hr * (w.end_ms - w.start_ms) for w in done)
        ) / elapsed
        base_max = self.rhr + 45 + self.base_load * 0.6 * fraction
        return {
            "strain": round(strain_of(load), 6),
            "kilojoule": round(self.day_kj * fraction + sum(w.kilojoule for w in done), 3),
            "average_heart_rate": round(avg_hr),
            "max_heart_rate": round(max([base_max, *(w.max_hr for w in done)])),
        }


def _timing(rng: random.Random, lag_min: tuple[int, int] = (2, 20)) -> Timing:
    # Always the same number of draws, so the rest of the day's stream is unaffected.
    lag = rng.randrange(lag_min[0] * MS_PER_MINUTE, lag_min[1] * MS_PER_MINUTE)
    delay = lag + rng.randrange(30 * MS_PER_MINUTE, 4 * MS_PER_HOUR)
    unscorable = rng.random() < UNSCORABLE_RATE
    rescore = rng.random() < AUTO_RESCORE_RATE
    rescore_after = delay + rng.randrange(36 * MS_PER_HOUR, 10 * MS_PER_DAY)
    return Timing(lag, delay, unscorable, rescore_after if rescore else None, rng.getrandbits(32))


def _split_sleep(rng: random.Random, asleep: int) -> tuple[int, int, int]:
    rem = round(asleep * _clip(rng.gauss(0.24, 0.03), 0.12, 0.35))
    sws = round(asleep * _clip(rng.gauss(0.21, 0.03), 0.10, 0.32))
    return asleep - rem - sws, sws, rem


class Physiology:
    """The generative model for one seed. Methods are pure; results are memoised."""

    def __init__(self, seed: int, effects: RecoveryEffects | None = None) -> None:
        self.seed = seed
        self.effects = effects or RecoveryEffects()
        self._members: dict[int, Member] = {}
        self._nights: dict[tuple[int, int], Night] = {}
        self._days: dict[tuple[int, int], Daytime] = {}
        self._knots: dict[tuple[int, int], float] = {}
        self._trips: dict[tuple[int, int], tuple[int, int, int]] = {}
        self._recoveries: dict[tuple[int, int], RecoveryDrivers] = {}

    # -- members and slow processes ---------------------------------------------------

    def member(self, user: int) -> Member:
        """Member ``user``'s constants."""
        if user not in self._members:
            self._members[user] = self._make_member(user)
        return self._members[user]

    def _make_member(self, user: int) -> Member:
        rng = _rng(self.seed, user, "member", 0)
        first, last = _NAMES[user % len(_NAMES)]
        home, destinations = _HOMES[user % len(_HOMES)]
        user_id = 10_000_000 + rng.randrange(90_000) * 100 + user  # unique per index (< 100)
        favourites = rng.sample(sorted(SPORTS), 4 if rng.random() < 0.5 else 3)
        ascii_name = _ascii(f"{first}.{last}").replace("'", "").lower()
        return Member(
            index=user,
            user_id=user_id,
            first_name=first,
            last_name=last,
            email=f"{ascii_name}+{user_id}@example.com",
            home_offset=home,
            destinations=destinations,
            hrv_mu=rng.uniform(45, 80),
            rhr_base=rng.uniform(47, 60),
            resp_base=rng.uniform(14.0, 16.5),
            need_base_ms=round(rng.uniform(7.3, 8.1) * MS_PER_HOUR),
            bmr_kj=rng.uniform(6800, 8600),
            max_hr=rng.randint(182, 199),
            height_meter=round(rng.uniform(1.58, 1.95), 4),
            weight_kilogram=round(rng.uniform(55, 95), 4),
            onset_mean_h=rng.uniform(-1.25, -0.25),
            train_p=rng.uniform(0.55, 0.8),
            double_p=rng.uniform(0.06, 0.16),
            sports=tuple(favourites),
            sport_weights=tuple(rng.uniform(0.5, 3.0) for _ in favourites),
        )

    def offset_min(self, user: int, ordinal: int) -> int:
        """The member's UTC offset (minutes) on the night ending on day ``ordinal``."""
        block = ordinal // 30
        trip = self._trips.get((user, block))
        if trip is None:
            rng = _rng(self.seed, user, "trip", block)
            travels = rng.random() < 0.6
            first = block * 30 + rng.randrange(0, 20)
            length = rng.randint(3, 10)
            destination = rng.choice(self.member(user).destinations)
            trip = self._trips[(user, block)] = (first, first + length if travels else first, destination)
        first, end, destination = trip
        return destination if first <= ordinal < end else self.member(user).home_offset

    def hrv_baseline(self, user: int, ordinal: int) -> float:
        """The member's slowly drifting HRV baseline (ms) on day ``ordinal``."""
        k, position = divmod(ordinal, 28)
        smooth = (1 - math.cos(math.pi * position / 28)) / 2
        drift = self._knot(user, k) * (1 - smooth) + self._knot(user, k + 1) * smooth
        season = 3.0 * math.cos(2 * math.pi * (ordinal - _SEASON_PEAK) / 365.25)
        return max(15.0, self.member(user).hrv_mu + drift + season)

    def _knot(self, user: int, k: int) -> float:
        if (user, k) not in self._knots:
            self._knots[(user, k)] = _rng(self.seed, user, "hrv", k).gauss(0, 7.0)
        return self._knots[(user, k)]

    # -- nights and days ----------------------------------------------------------------

    def night(self, user: int, ordinal: int) -> Night:
        """Night ``ordinal`` (the sleep ending on the morning of local date ``ordinal``)."""
        key = (user, ordinal)
        if key not in self._nights:
            self._nights[key] = self._make_night(user, ordinal)
        return self._nights[key]

    def _make_night(self, user: int, ordinal: int) -> Night:
        member = self.member(user)
        rng = _rng(self.seed, user, "night", ordinal)
        offset = self.offset_min(user, ordinal)
        weekend_night = date.fromordinal(ordinal).weekday() in (5, 6)  # woke on Sat or Sun
        onset_h = _clip(member.onset_mean_h + (0.7 if weekend_night else 0.0) + rng.gauss(0, 0.45), -3.0, 2.5)
        in_bed_h = _clip(
            member.need_base_ms / MS_PER_HOUR - 0.2 + (0.6 if weekend_night else 0.0) + rng.gauss(0, 0.6), 4.5, 10.5
        )
        onset_ms = day_start_ms(ordinal) + round(onset_h * MS_PER_HOUR) - offset * MS_PER_MINUTE + rng.randrange(1000)
        wake_ms = onset_ms + round(in_bed_h * MS_PER_HOUR) + rng.randrange(1000)
        in_bed = wake_ms - onset_ms
        no_data = 0 if rng.random() < 0.85 else rng.randrange(1, 25) * MS_PER_MINUTE
        efficiency = _clip(rng.gauss(0.90, 0.035), 0.70, 0.985)
        awake = round((in_bed - no_data) * (1 - efficiency))
        light, sws, rem = _split_sleep(rng, in_bed - no_data - awake)
        return Night(
            ordinal=ordinal,
            offset_min=offset,
            onset_local_h=onset_h,
            onset_ms=onset_ms,
            wake_ms=wake_ms,
            no_data_ms=no_data,
            awake_ms=awake,
            light_ms=light,
            sws_ms=sws,
            rem_ms=rem,
            disturbances=max(0, round(rng.gauss(11, 4))),
            resp_noise=rng.gauss(0, 0.35),
            recovery_noise=rng.gauss(0, RECOVERY_NOISE_SD),
            hrv_noise=rng.gauss(0, 0.04),
            rhr_noise=rng.gauss(0, 1.0),
            spo2=_clip(rng.gauss(95.8, 0.9), 91.0, 99.6),
            skin_temp=rng.gauss(33.7, 0.35),
            consistency_noise=rng.gauss(0, 4),
            sleep_timing=_timing(rng),
            recovery_timing=_timing(rng, lag_min=(0, 2)),
            cycle_lag_ms=rng.randrange(MS_PER_MINUTE, 10 * MS_PER_MINUTE),
            cycle_timing=_timing(rng),
        )

    def daytime(self, user: int, ordinal: int) -> Daytime:
        """Workouts, nap and base activity between waking on day ``ordinal`` and the next night."""
        key = (user, ordinal)
        if key not in self._days:
            self._days[key] = self._make_daytime(user, ordinal)
        return self._days[key]

    def _make_daytime(self, user: int, ordinal: int) -> Daytime:
        member = self.member(user)
        rng = _rng(self.seed, user, "day", ordinal)
        night, next_night = self.night(user, ordinal), self.night(user, ordinal + 1)
        # Everything of the day happens in the night's time zone, awake, and ends well before the next sleep.
        local_midnight = day_start_ms(ordinal) - night.offset_min * MS_PER_MINUTE
        earliest, latest = night.wake_ms + 20 * MS_PER_MINUTE, next_night.onset_ms - 45 * MS_PER_MINUTE
        base_load = _clip(rng.gauss(55, 12), 25, 95)

        draw = rng.random()
        count = 2 if draw < member.double_p else 1 if draw < member.train_p else 0
        slot = rng.random()
        slots = (
            ("morning", "evening")
            if count == 2
            else ("morning" if slot < 0.45 else "lunch" if slot < 0.55 else "evening",)
        )
        workouts: list[Workout] = []
        for index, name in enumerate(slots[:count]):
            # Late risers train after getting up rather than skipping the session.
            not_before = (workouts[-1].end_ms + 30 * MS_PER_MINUTE) if workouts else earliest
            workout = self._make_workout(rng, member, index, name, local_midnight, not_before)
            if workout.end_ms <= latest:
                workouts.append(workout)

        nap = None
        if rng.random() < 0.08:
            nap = self._make_nap(rng, local_midnight)
            overlaps = any(w.start_ms < nap.end_ms and nap.start_ms < w.end_ms for w in workouts)
            if overlaps or nap.start_ms < earliest or nap.end_ms > latest - 2 * MS_PER_HOUR:
                nap = None
        return Daytime(ordinal, base_load, tuple(workouts), nap)

    def _make_workout(
        self, rng: random.Random, member: Member, index: int, slot: str, local_midnight: int, not_before: int
    ) -> Workout:
        sport = SPORTS[rng.choices(member.sports, weights=member.sport_weights)[0]]
        minutes = rng.uniform(*sport.minutes)
        intensity = rng.uniform(*sport.intensity)
        hour = {"morning": (6.0, 8.0), "lunch": (11.5, 12.75), "evening": (17.0, 19.75)}[slot]
        start = local_midnight + round(rng.uniform(*hour) * MS_PER_HOUR) + rng.randrange(1000)
        shift = rng.randrange(0, 40 * MS_PER_MINUTE)
        if start < not_before:
            start = not_before + shift
        duration = round(minutes * MS_PER_MINUTE) + rng.randrange(1000)
        avg_hr = round(member.rhr_base + intensity * (member.max_hr - member.rhr_base))
        max_hr = min(member.max_hr, round(avg_hr + (member.max_hr - avg_hr) * rng.uniform(0.35, 0.85)))
        load = minutes * 0.64 * intensity * math.exp(1.92 * intensity)
        kilojoule = minutes * (6 + 60 * (intensity - 0.3)) * member.weight_kilogram / 75
        percent = 100.0 if rng.random() < 0.85 else round(rng.uniform(85, 99.9), 2)
        distance = gain = change = None
        if sport.speed is not None:
            distance = round(minutes * 60 * rng.uniform(*sport.speed), 1)
            if sport.altitude:
                gain = round(distance * rng.uniform(0.002, 0.015), 1)
                change = round(gain * rng.uniform(-0.2, 0.2), 1)
        return Workout(
            index=index,
            sport=sport.name,
            start_ms=start,
            end_ms=start + duration,
            avg_hr=avg_hr,
            max_hr=max_hr,
            load=load,
            kilojoule=kilojoule,
            percent_recorded=percent,
            distance_meter=distance,
            altitude_gain_meter=gain,
            altitude_change_meter=change,
            zones_ms=_zones(rng, duration, intensity),
            timing=_timing(rng),
        )

    def _make_nap(self, rng: random.Random, local_midnight: int) -> Nap:
        start = local_midnight + round(rng.uniform(13.0, 16.0) * MS_PER_HOUR) + rng.randrange(1000)
        duration = round(rng.uniform(20, 75) * MS_PER_MINUTE)
        awake = round(duration * rng.uniform(0.05, 0.2))
        light, sws, rem = _split_sleep(rng, duration - awake)
        return Nap(start, start + duration, awake, light, sws, rem, rng.randrange(0, 4), _timing(rng))

    # -- scores -------------------------------------------------------------------------

    def sleep_needed(self, user: int, ordinal: int) -> dict[str, int]:
        """``sleep_needed`` of night ``ordinal``: baseline + debt + strain - nap credit."""
        member = self.member(user)
        previous_night, yesterday = self.night(user, ordinal - 1), self.daytime(user, ordinal - 1)
        return {
            "baseline_milli": member.need_base_ms,
            "need_from_sleep_debt_milli": round(max(0, member.need_base_ms - previous_night.asleep_ms) * 0.5),
            "need_from_recent_strain_milli": round(max(0.0, yesterday.strain - 9) * 4 * MS_PER_MINUTE),
            "need_from_recent_nap_milli": -round(yesterday.nap.asleep_ms * 0.9) if yesterday.nap else 0,
        }

    def sleep_performance(self, user: int, ordinal: int) -> float:
        """Time asleep over sleep need, in percent (capped at 100)."""
        need = sum(self.sleep_needed(user, ordinal).values())
        return min(100.0, 100.0 * self.night(user, ordinal).asleep_ms / need)

    def recovery(self, user: int, ordinal: int) -> RecoveryDrivers:
        """Recovery of day ``ordinal`` and the terms it was made of (the model: docs/emulator.md)."""
        key = (user, ordinal)
        if key not in self._recoveries:
            member = self.member(user)
            baseline = self.hrv_baseline(user, ordinal)
            previous_strain = self.daytime(user, ordinal - 1).strain
            performance = self.sleep_performance(user, ordinal)
            effects = self.effects
            # Added term by term, left to right: the default effects give the very floats they always did.
            expected = (
                58
                + 1.4 * (baseline - member.hrv_mu)
                + effects.strain_slope * (previous_strain - 11)
                + effects.sleep_performance_slope * (performance - 85)
                - effects.high_strain_penalty * max(0.0, previous_strain - effects.high_strain_threshold)
                + effects.bedtime_slope * (self.night(user, ordinal).onset_local_h - member.onset_mean_h)
            )
            noise = self.night(user, ordinal).recovery_noise
            score = int(_clip(round(expected + noise), 1, 99))
            self._recoveries[key] = RecoveryDrivers(
                date.fromordinal(ordinal), baseline, previous_strain, performance, expected, noise, score
            )
        return self._recoveries[key]

    def sleep_score(self, user: int, ordinal: int) -> dict[str, Any]:
        """The v2 ``score`` of main sleep ``ordinal``."""
        night, previous = self.night(user, ordinal), self.night(user, ordinal - 1)
        recovery = self.recovery(user, ordinal).recovery_score
        onset_shift = abs(night.onset_local_h - previous.onset_local_h)
        wake_shift = abs(
            (night.onset_local_h + night.in_bed_ms / MS_PER_HOUR)
            - (previous.onset_local_h + previous.in_bed_ms / MS_PER_HOUR)
        )
        consistency = _clip(round(100 - 14 * onset_shift - 6 * wake_shift + night.consistency_noise), 25, 99)
        return {
            "stage_summary": _stages(night.in_bed_ms, night.awake_ms, night.no_data_ms, night, night.disturbances),
            "sleep_needed": self.sleep_needed(user, ordinal),
            "respiratory_rate": round(self.member(user).resp_base + night.resp_noise + 0.01 * (55 - recovery), 6),
            "sleep_performance_percentage": round(self.sleep_performance(user, ordinal)),
            "sleep_consistency_percentage": int(consistency),
            "sleep_efficiency_percentage": round(100 * night.asleep_ms / (night.in_bed_ms - night.no_data_ms), 5),
        }

    def nap_score(self, user: int, ordinal: int) -> dict[str, Any]:
        """The ``score`` of day ``ordinal``'s nap: no performance or consistency (absent keys)."""
        nap = self.daytime(user, ordinal).nap
        if nap is None:
            raise KeyError(f"no nap on day {date.fromordinal(ordinal)}")
        in_bed = nap.end_ms - nap.start_ms
        return {
            "stage_summary": _stages(in_bed, nap.awake_ms, 0, nap, nap.disturbances),
            "sleep_needed": {
                "baseline_milli": 0,
                "need_from_sleep_debt_milli": 0,
                "need_from_recent_strain_milli": 0,
                "need_from_recent_nap_milli": 0,
            },
            "respiratory_rate": round(self.member(user).resp_base + 0.3, 6),
            "sleep_efficiency_percentage": round(100 * nap.asleep_ms / in_bed, 5),
        }

    def recovery_score(self, user: int, ordinal: int, *, calibrating: bool, old_strap: bool) -> dict[str, Any]:
        """The v2 ``score`` of recovery ``ordinal``."""
        member, night = self.member(user), self.night(user, ordinal)
        drivers = self.recovery(user, ordinal)
        score: dict[str, Any] = {
            "user_calibrating": calibrating,
            "recovery_score": drivers.recovery_score,
            "resting_heart_rate": round(member.rhr_base + 0.07 * (55 - drivers.recovery_score) + night.rhr_noise),
            "hrv_rmssd_milli": round(
                max(12.0, drivers.hrv_baseline * (1 + 0.006 * (drivers.recovery_score - 55)) * (1 + night.hrv_noise)), 6
            ),
        }
        if not old_strap:
            score["spo2_percentage"] = round(night.spo2, 4)
            score["skin_temp_celsius"] = round(night.skin_temp, 2)
        return score

    def workout_score(self, workout: Workout) -> dict[str, Any]:
        """The v2 ``score`` of a workout; distance and altitude only for sports that have them."""
        score: dict[str, Any] = {
            "strain": round(workout.strain, 6),
            "average_heart_rate": workout.avg_hr,
            "max_heart_rate": workout.max_hr,
            "kilojoule": round(workout.kilojoule, 3),
            "percent_recorded": workout.percent_recorded,
        }
        if workout.distance_meter is not None:
            score["distance_meter"] = workout.distance_meter
        if workout.altitude_gain_meter is not None:
            score["altitude_gain_meter"] = workout.altitude_gain_meter
            score["altitude_change_meter"] = workout.altitude_change_meter
        names = ("zero", "one", "two", "three", "four", "five")
        score["zone_durations"] = {f"zone_{n}_milli": ms for n, ms in zip(names, workout.zones_ms, strict=True)}
        return score

    def cycle_progress(self, user: int, ordinal: int) -> CycleProgress:
        """What scoring cycle ``ordinal`` at any moment needs."""
        member = self.member(user)
        start, end = self.night(user, ordinal).onset_ms, self.night(user, ordinal + 1).onset_ms
        day = self.daytime(user, ordinal)
        day_kj = member.bmr_kj * (end - start) / MS_PER_DAY + day.base_load * 12
        return CycleProgress(start, end, day.base_load, day_kj, member.rhr_base, day.workouts)

    # -- identifiers --------------------------------------------------------------------

    def activity_uuid(self, user: int, kind: str, ordinal: int, index: int = 0) -> str:
        """A deterministic UUID for a sleep, nap or workout."""
        return str(uuid.uuid5(_UUID_NAMESPACE, f"{self.seed}/{user}/{kind}/{ordinal}/{index}"))


def cycle_id(user: int, ordinal: int) -> int:
    """Cycle ids increase with time and embed the member index (unique across members)."""
    return ordinal * 1000 + user


def v1_id(user: int, ordinal: int, index: int) -> int:
    """The legacy integer id of a pre-v2 sleep (index 0 main, 1 nap) or workout (0, 1)."""
    return ordinal * 1000 + user * 4 + index


def _stages(in_bed: int, awake: int, no_data: int, sleep: Night | Nap, disturbances: int) -> dict[str, int]:
    asleep = sleep.light_ms + sleep.sws_ms + sleep.rem_ms
    return {
        "total_in_bed_time_milli": in_bed,
        "total_awake_time_milli": awake,
        "total_no_data_time_milli": no_data,
        "total_light_sleep_time_milli": sleep.light_ms,
        "total_slow_wave_sleep_time_milli": sleep.sws_ms,
        "total_rem_sleep_time_milli": sleep.rem_ms,
        "sleep_cycle_count": max(1, round(asleep / (90 * MS_PER_MINUTE))),
        "disturbance_count": disturbances,
    }


def _zones(rng: random.Random, duration: int, intensity: float) -> tuple[int, int, int, int, int, int]:
    """Heart-rate zone durations centred on the workout's intensity, summing exactly to ``duration``."""
    centre = 5 * (intensity - 0.35) / 0.6
    weights = [math.exp(-((k - centre) ** 2) / 1.5) * rng.uniform(0.7, 1.3) for k in range(6)]
    total = sum(weights)
    zones = [int(duration * w / total) for w in weights]
    zones[weights.index(max(weights))] += duration - sum(zones)  # rounding remainder
    return (zones[0], zones[1], zones[2], zones[3], zones[4], zones[5])


def perturb_score(endpoint: str, score: dict[str, Any], seed: int) -> dict[str, Any]:
    """A re-scored version of ``score``: a few values move a little, ranges are kept.

    Used both for WHOOP's automatic late re-scores and for ``Emulator.rescore``; the
    result always differs from the input.
    """
    rng = random.Random(f"whoop-emulator/rescore/{endpoint}/{seed}")  # noqa: S311 - synthetic data
    new = json_copy(score)

    def nudge(value: float, low: float, high: float, step: tuple[float, float]) -> float:
        delta = rng.uniform(*step)
        # Move away from the nearer bound so the value always changes.
        return (
            value - delta
            if value + delta > high
            else value + delta
            if value - delta < low
            else value + rng.choice((-delta, delta))
        )

    if endpoint in ("cycle", "workout"):
        new["strain"] = round(nudge(new["strain"], 0.0, 21.0, (0.05, 0.6)), 6)
        new["kilojoule"] = round(new["kilojoule"] * rng.uniform(0.97, 1.03), 3)
    elif endpoint == "sleep":
        stages = new["stage_summary"]
        moved = min(stages["total_light_sleep_time_milli"], rng.randrange(60_000, 15 * MS_PER_MINUTE))
        stages["total_light_sleep_time_milli"] -= moved
        stages["total_rem_sleep_time_milli"] += moved
        stages["disturbance_count"] += 1
        if "sleep_performance_percentage" in new:
            new["sleep_performance_percentage"] = round(nudge(new["sleep_performance_percentage"], 0, 100, (1, 4)))
    elif endpoint == "recovery":
        new["recovery_score"] = round(nudge(new["recovery_score"], 0, 100, (1, 5)))
        new["hrv_rmssd_milli"] = round(new["hrv_rmssd_milli"] * rng.uniform(0.95, 1.05), 6)
    else:
        raise KeyError(f"records of {endpoint!r} have no score")
    return new


def json_copy(value: Any) -> Any:
    """A deep copy of JSON-shaped data (dicts, lists, scalars), faster than ``copy.deepcopy``."""
    if isinstance(value, dict):
        return {k: json_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_copy(v) for v in value]
    return value
