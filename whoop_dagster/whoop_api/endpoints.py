"""The registry of WHOOP API v2 data endpoints: the client, emulator, assets, checks and sensors all read it.

Adding an endpoint is one ``Endpoint(...)`` entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

#: ``score_state`` values of the v2 schema. ``score`` is present only when SCORED.
SCORE_STATES: tuple[str, ...] = ("SCORED", "PENDING_SCORE", "UNSCORABLE")

#: WHOOP's maximum page size; more than this is a 400.
MAX_PAGE_SIZE = 25


@dataclass(frozen=True)
class Endpoint:
    """One WHOOP API v2 data endpoint and how its records are shaped.

    Attributes:
        name: short name, also the raw table name (``raw.<name>``) and asset key suffix.
        path: path below the API root, e.g. ``/v2/cycle``.
        scope: the OAuth scope that grants read access.
        collection: True for paginated collections filtered by ``start``/``end``;
            False for single-object endpoints (profile, body measurement).
        id_columns: the record's identifying field(s) as the API names them.
        required_fields: top-level fields the v2 schema marks as required.
        timestamp_fields: the timestamp fields the raw table keeps as columns.
        score_ranges: documented ranges of score fields (dotted paths inside
            ``score``), checked for SCORED records.
        partition_by_sleep: recoveries carry no time span of their own; the API
            filters and orders them by their related sleep, and so do we.
        by_id_path: path template to read one record by id, where the API has one.
        integer_columns: id columns that are int64 in the schema (the rest are strings/UUIDs).
        description: what a record is, for asset descriptions and docs.
    """

    name: str
    path: str
    scope: str
    collection: bool
    id_columns: tuple[str, ...]
    required_fields: tuple[str, ...]
    timestamp_fields: tuple[str, ...] = ()
    score_ranges: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    partition_by_sleep: bool = False
    by_id_path: str | None = None
    integer_columns: tuple[str, ...] = ("user_id",)
    description: str = ""

    @property
    def has_score_state(self) -> bool:
        """Whether records carry ``score_state`` (every collection does)."""
        return "score_state" in self.required_fields

    def record_id(self, record: dict[str, Any]) -> str:
        """A printable id of ``record`` for messages (``cycle_id/sleep_id`` for recoveries)."""
        return "/".join(str(record.get(column, "?")) for column in self.id_columns)


def _ranges(**ranges: tuple[float, float]) -> MappingProxyType:
    return MappingProxyType({key.replace("__", "."): value for key, value in ranges.items()})


CYCLE = Endpoint(
    name="cycle",
    path="/v2/cycle",
    scope="read:cycles",
    collection=True,
    id_columns=("id",),
    # `end` is absent while the cycle is the current one; `score` only when SCORED.
    required_fields=("id", "user_id", "created_at", "updated_at", "start", "timezone_offset", "score_state"),
    timestamp_fields=("start", "end", "created_at", "updated_at"),
    score_ranges=_ranges(
        strain=(0, 21), kilojoule=(0, 100_000), average_heart_rate=(20, 250), max_heart_rate=(20, 250)
    ),
    by_id_path="/v2/cycle/{id}",
    integer_columns=("id", "user_id"),
    description="Physiological cycles: one per day, from falling asleep to falling asleep, with day strain.",
)

SLEEP = Endpoint(
    name="sleep",
    path="/v2/activity/sleep",
    scope="read:sleep",
    collection=True,
    id_columns=("id",),
    required_fields=(
        "id",
        "cycle_id",
        "user_id",
        "created_at",
        "updated_at",
        "start",
        "end",
        "timezone_offset",
        "nap",
        "score_state",
    ),
    timestamp_fields=("start", "end", "created_at", "updated_at"),
    score_ranges=_ranges(
        respiratory_rate=(0, 60),
        sleep_performance_percentage=(0, 100),
        sleep_consistency_percentage=(0, 100),
        sleep_efficiency_percentage=(0, 100),
    ),
    by_id_path="/v2/activity/sleep/{id}",
    description="Sleeps and naps with stage durations, sleep need and performance.",
)

RECOVERY = Endpoint(
    name="recovery",
    path="/v2/recovery",
    scope="read:recovery",
    collection=True,
    id_columns=("cycle_id", "sleep_id"),
    required_fields=("cycle_id", "sleep_id", "user_id", "created_at", "updated_at", "score_state"),
    timestamp_fields=("created_at", "updated_at"),
    score_ranges=_ranges(
        recovery_score=(0, 100),
        resting_heart_rate=(20, 200),
        hrv_rmssd_milli=(0, 500),
        spo2_percentage=(0, 100),
        skin_temp_celsius=(20, 45),
    ),
    partition_by_sleep=True,
    by_id_path="/v2/cycle/{cycle_id}/recovery",
    integer_columns=("cycle_id", "user_id"),
    description="Morning recoveries (score, HRV, resting heart rate), partitioned by the start of their sleep.",
)

WORKOUT = Endpoint(
    name="workout",
    path="/v2/activity/workout",
    scope="read:workout",
    collection=True,
    id_columns=("id",),
    required_fields=(
        "id",
        "user_id",
        "created_at",
        "updated_at",
        "start",
        "end",
        "timezone_offset",
        "sport_name",
        "score_state",
    ),
    timestamp_fields=("start", "end", "created_at", "updated_at"),
    score_ranges=_ranges(
        strain=(0, 21),
        average_heart_rate=(20, 250),
        max_heart_rate=(20, 250),
        percent_recorded=(0, 100),
    ),
    by_id_path="/v2/activity/workout/{id}",
    description="Workouts with sport, strain, heart-rate zones and distance where recorded.",
)

USER_PROFILE = Endpoint(
    name="user_profile",
    path="/v2/user/profile/basic",
    scope="read:profile",
    collection=False,
    id_columns=("user_id",),
    required_fields=("user_id", "email", "first_name", "last_name"),
    description="The member's basic profile (name and e-mail).",
)

BODY_MEASUREMENT = Endpoint(
    name="body_measurement",
    path="/v2/user/measurement/body",
    scope="read:body_measurement",
    collection=False,
    # The body measurement object has no id; the client adds `user_id` from the profile.
    id_columns=("user_id",),
    required_fields=("height_meter", "weight_kilogram", "max_heart_rate"),
    description="The member's height, weight and maximum heart rate.",
)

ENDPOINTS: MappingProxyType = MappingProxyType(
    {e.name: e for e in (CYCLE, SLEEP, RECOVERY, WORKOUT, USER_PROFILE, BODY_MEASUREMENT)}
)

COLLECTION_ENDPOINTS: tuple[Endpoint, ...] = tuple(e for e in ENDPOINTS.values() if e.collection)
SINGLE_OBJECT_ENDPOINTS: tuple[Endpoint, ...] = tuple(e for e in ENDPOINTS.values() if not e.collection)

#: Every scope the project needs, plus `offline` so WHOOP returns a refresh token.
ALL_SCOPES: tuple[str, ...] = (*sorted({e.scope for e in ENDPOINTS.values()}), "offline")


def get_endpoint(name: str) -> Endpoint:
    """The endpoint called ``name``; raises ``KeyError`` listing the known ones."""
    try:
        return ENDPOINTS[name]
    except KeyError:
        raise KeyError(f"unknown WHOOP endpoint {name!r}; known: {', '.join(ENDPOINTS)}") from None
