"""Data-quality checks on the raw tables, built per endpoint from the registry.

Blocking checks (ids, required fields, score states and ranges) and warn-only volume checks (``volume``).
"""

# No `from __future__ import annotations`: Dagster reads the check function's annotations. The
# pandas annotations are strings instead, so that loading the definitions imports no pandas.
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import dagster as dg

from whoop_dagster.clock import Clock, utc_now
from whoop_dagster.defs.raw import volume
from whoop_dagster.defs.raw.tables import raw_asset_key, raw_table
from whoop_dagster.warehouse import WarehouseResource
from whoop_dagster.whoop_api.endpoints import COLLECTION_ENDPOINTS, ENDPOINTS, SCORE_STATES, SLEEP, Endpoint

if TYPE_CHECKING:
    import pandas as pd

#: How many offending record ids a failed check lists in its metadata.
SAMPLE_SIZE = 20


@dataclass(frozen=True)
class Rule:
    """A named rule: returns the ids of the records that break it."""

    name: str
    description: str
    applies: Callable[[Endpoint], bool]
    violations: "Callable[[Endpoint, pd.DataFrame], list[str]]"


def _record_ids(endpoint: Endpoint, frame: "pd.DataFrame") -> "pd.Series":
    import pandas as pd

    if frame.empty:
        return pd.Series([], dtype=str, index=frame.index)
    return frame.loc[:, list(endpoint.id_columns)].astype(str).agg("/".join, axis=1)


def duplicate_ids(endpoint: Endpoint, frame: "pd.DataFrame") -> list[str]:
    """Ids that occur more than once in the table."""
    ids = _record_ids(endpoint, frame)
    return sorted(set(ids[ids.duplicated(keep=False)]))


def _payloads(frame: "pd.DataFrame") -> Iterable[dict[str, Any]]:
    for text in frame["payload"]:
        try:
            value = json.loads(text) if isinstance(text, str) else None
        except json.JSONDecodeError:
            value = None
        yield value if isinstance(value, dict) else {}


def missing_required_fields(endpoint: Endpoint, frame: "pd.DataFrame") -> list[str]:
    """Records whose payload lacks a field the v2 schema requires (or whose user is unknown)."""
    import pandas as pd

    bad = []
    for record_id, payload, user_id in zip(
        _record_ids(endpoint, frame), _payloads(frame), frame["user_id"], strict=True
    ):
        if pd.isna(user_id) or any(name not in payload for name in endpoint.required_fields):
            bad.append(record_id)
    return bad


def invalid_score_states(endpoint: Endpoint, frame: "pd.DataFrame") -> list[str]:
    """Records whose ``score_state`` is not one of the documented values."""
    invalid = ~frame["score_state"].isin(SCORE_STATES)
    return list(_record_ids(endpoint, frame)[invalid])


def _score_value(score: dict[str, Any], dotted: str) -> Any:
    value: Any = score
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def scores_out_of_range(endpoint: Endpoint, frame: "pd.DataFrame") -> list[str]:
    """SCORED records without a score, or with a score value outside its documented range."""
    bad = []
    for record_id, payload in zip(_record_ids(endpoint, frame), _payloads(frame), strict=True):
        if payload.get("score_state") != "SCORED":
            continue  # unscored records carry no score by design; they are kept, not judged
        score = payload.get("score")
        if not isinstance(score, dict):
            bad.append(record_id)
            continue
        for field, (low, high) in endpoint.score_ranges.items():
            value = _score_value(score, field)
            if value is None:
                continue  # optional score fields may be absent
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not low <= value <= high:
                bad.append(record_id)
                break
    return bad


RULES: tuple[Rule, ...] = (
    Rule("unique_ids", "Record ids are unique within the table.", lambda e: True, duplicate_ids),
    Rule(
        "required_fields_present",
        "Every field the WHOOP v2 schema requires is present.",
        lambda e: True,
        missing_required_fields,
    ),
    Rule(
        "score_state_valid",
        f"score_state is one of {', '.join(SCORE_STATES)}.",
        lambda e: e.has_score_state,
        invalid_score_states,
    ),
    Rule(
        "scores_in_range",
        "SCORED records have a score, and its values lie within their documented ranges.",
        lambda e: bool(e.score_ranges),
        scores_out_of_range,
    ),
)


def rules_for(endpoint: Endpoint) -> tuple[Rule, ...]:
    return tuple(rule for rule in RULES if rule.applies(endpoint))


def evaluate(endpoint: Endpoint, frame: "pd.DataFrame") -> dict[str, list[str]]:
    """Each applicable rule's name with the ids of the records that break it."""
    return {rule.name: rule.violations(endpoint, frame) for rule in rules_for(endpoint)}


def build_raw_checks(pool: str, clock: Clock = utc_now) -> list[dg.AssetChecksDefinition]:
    """One check step per raw table: its blocking rules and, on collections, the two volume checks.

    One step, not one per kind: under the multiprocess executor (``dagster dev``'s default) every
    step is a process that loads the definitions first, so each raw asset is two steps, not three.
    ``clock`` says which days are completed (the volume checks).
    """
    return [_build_check_set(endpoint, pool, clock) for endpoint in (*COLLECTION_ENDPOINTS, *_objects())]


def _objects() -> tuple[Endpoint, ...]:
    return tuple(e for e in ENDPOINTS.values() if not e.collection)


def _build_check_set(endpoint: Endpoint, pool: str, clock: Clock) -> dg.AssetChecksDefinition:
    key = raw_asset_key(endpoint)
    rules = rules_for(endpoint)
    specs = [dg.AssetCheckSpec(rule.name, asset=key, description=rule.description, blocking=True) for rule in rules]
    if endpoint.collection:
        specs += _volume_specs(endpoint)
    rule_names = {rule.name for rule in rules}

    @dg.multi_asset_check(name=f"raw_{endpoint.name}_checks", specs=specs, pool=pool, can_subset=True)
    def _checks(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource):
        selected = [check_key.name for check_key in context.selected_asset_check_keys]
        selected_rules = [name for name in selected if name in rule_names]
        selected_volume = [name for name in selected if name in VOLUME_CHECKS]
        if selected_rules:
            yield from _rule_results(endpoint, warehouse, selected_rules)
        if selected_volume:
            yield from _volume_results(endpoint, warehouse, clock(), selected_volume)

    return _checks


def _result(
    endpoint: Endpoint, name: str, severity: dg.AssetCheckSeverity, problem: str | None, metadata: dict[str, Any]
) -> dg.AssetCheckResult:
    """Check ``name``'s result on ``endpoint``'s raw table: passed unless ``problem`` says what failed."""
    return dg.AssetCheckResult(
        asset_key=raw_asset_key(endpoint),
        check_name=name,
        passed=problem is None,
        severity=severity,
        description=problem,
        metadata=metadata,
    )


def _rule_results(endpoint: Endpoint, warehouse: WarehouseResource, names: list[str]) -> Iterable[dg.AssetCheckResult]:
    table = raw_table(endpoint)
    columns = [*endpoint.id_columns, "user_id", *(["score_state"] if endpoint.has_score_state else []), "payload"]
    select = ", ".join(f"{warehouse.quote(c)} AS {c}" for c in dict.fromkeys(columns))
    frame = warehouse.read_frame(f"SELECT {select} FROM {warehouse.qualified(table)}")
    results = evaluate(endpoint, frame)
    for name in names:
        offenders = results[name]
        yield _result(
            endpoint,
            name,
            dg.AssetCheckSeverity.ERROR,
            f"{len(offenders)} record(s) in raw.{endpoint.name} fail" if offenders else None,
            {
                "rows_checked": dg.MetadataValue.int(len(frame)),
                "failing_records": dg.MetadataValue.int(len(offenders)),
                "failing_record_ids": dg.MetadataValue.text(", ".join(offenders[:SAMPLE_SIZE])),
            },
        )


# --- volume ------------------------------------------------------------------------------------

MISSING_DAYS_CHECK = "records_on_every_completed_day"
IMPLAUSIBLE_DAYS_CHECK = "plausible_records_per_day"
#: Metadata key of the days a volume check flags (comma-separated ISO dates); the alert sensor reads it.
FLAGGED_DAYS = "flagged_days"
VOLUME_CHECKS = frozenset({MISSING_DAYS_CHECK, IMPLAUSIBLE_DAYS_CHECK})


def read_spans(warehouse: WarehouseResource, endpoint: Endpoint) -> list[volume.Span]:
    """Every row of ``raw.<endpoint>`` as a ``volume.Span`` (recoveries take their sleep's times)."""
    import pandas as pd

    table = raw_table(endpoint)
    if not warehouse.table_exists(table):
        return []
    q = warehouse.quote
    ids = " || '/' || ".join(f"CAST(r.{q(c)} AS VARCHAR)" for c in endpoint.id_columns)
    if endpoint.partition_by_sleep:
        sleeps = raw_table(SLEEP)
        times = f"s.{q('start')} AS start_at, s.{q('end')} AS end_at"
        source = f"{warehouse.qualified(table)} r"
        if warehouse.table_exists(sleeps):
            source += f" LEFT JOIN {warehouse.qualified(sleeps)} s ON s.{q('id')} = r.{q('sleep_id')}"
        else:
            times = "CAST(NULL AS TIMESTAMP) AS start_at, CAST(NULL AS TIMESTAMP) AS end_at"
    else:
        times = f"r.{q('start')} AS start_at, r.{q('end')} AS end_at"
        source = f"{warehouse.qualified(table)} r"
    frame = warehouse.read_frame(
        f"SELECT {ids} AS record_id, r.{q('user_id')} AS user_id, r.{q('_partition_date')} AS day, {times}, "
        f"r.{q('score_state')} AS score_state FROM {source}"
    )

    def moment(value: Any) -> Any:
        return None if pd.isna(value) else pd.Timestamp(value).to_pydatetime()

    return [
        volume.Span(
            record_id=str(row.record_id),
            user_id=int(row.user_id),
            day=pd.Timestamp(row.day).date(),
            start=moment(row.start_at),
            end=moment(row.end_at),
            scored=row.score_state == "SCORED",
        )
        for row in frame.itertuples(index=False)
    ]


def _volume_specs(endpoint: Endpoint) -> list[dg.AssetCheckSpec]:
    key = raw_asset_key(endpoint)
    rule = volume.RULES[endpoint.name]
    return [
        dg.AssetCheckSpec(
            MISSING_DAYS_CHECK,
            asset=key,
            description="No completed UTC day lacks records where the member normally has them "
            "(a run of empty days improbable at their usual rate).",
        ),
        dg.AssetCheckSpec(
            IMPLAUSIBLE_DAYS_CHECK,
            asset=key,
            description=f"No day holds more than {rule.max_per_day} records, and no records overlap "
            f"that cannot ({rule.no_overlap} {endpoint.name} records).",
        ),
    ]


def _volume_results(
    endpoint: Endpoint, warehouse: WarehouseResource, now: datetime, names: list[str]
) -> Iterable[dg.AssetCheckResult]:
    rule = volume.RULES[endpoint.name]
    spans = read_spans(warehouse, endpoint)
    missing = sorted({day for days in volume.missing_days_by_user(spans, rule, now).values() for day in days})
    implausible = volume.implausible_days(spans, rule)
    findings = {
        MISSING_DAYS_CHECK: (missing, "no record"),
        IMPLAUSIBLE_DAYS_CHECK: (list(implausible), "implausible records"),
    }
    for name in names:
        days, what = findings[name]
        metadata: dict[str, Any] = {
            "rows_checked": dg.MetadataValue.int(len(spans)),
            "last_completed_day": dg.MetadataValue.text(str(volume.last_completed_day(now))),
            "flagged_day_count": dg.MetadataValue.int(len(days)),
            FLAGGED_DAYS: dg.MetadataValue.text(", ".join(str(day) for day in days)),
        }
        if name == IMPLAUSIBLE_DAYS_CHECK and implausible:
            sample = list(implausible.items())[:SAMPLE_SIZE]
            lines = [f"| {day} | {'; '.join(reasons[:3])} |" for day, reasons in sample]
            metadata["implausible_days"] = dg.MetadataValue.md("| day | why |\n|---|---|\n" + "\n".join(lines))
        problem = f"{len(days)} day(s) of raw.{endpoint.name} with {what}" if days else None
        yield _result(endpoint, name, dg.AssetCheckSeverity.WARN, problem, metadata)
