"""Volume alerts: a message when a raw volume check flags consecutive days.

One odd day is often noise (a strap left on its charger overnight, a sync that came late);
the same finding on two or more consecutive days is a pattern someone should look at: the
strap is off, a load keeps failing, a device syncs everything twice. ``raw_volume_alert_sensor``
reads the latest evaluation of each warn-severity volume check of the raw tables
(``records_on_every_completed_day``, ``plausible_records_per_day``) and posts every new
streak of at least two consecutive flagged days to the run-failure webhook
(``WHOOP_ALERT_WEBHOOK_URL``), once: its cursor remembers the streaks it posted (a streak
that grows is the same streak). Without a webhook it skips and posts the streaks once one is
set; a failed post is retried on the next tick.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import dagster as dg

from whoop_dagster import environment
from whoop_dagster.defs.ops.alerts import WEBHOOK_URL_ENV, AlertDeliveryError, post_to_webhook, run_url
from whoop_dagster.defs.raw.checks import FLAGGED_DAYS, IMPLAUSIBLE_DAYS_CHECK, MISSING_DAYS_CHECK
from whoop_dagster.defs.raw.partitions import DayRange, contiguous_ranges
from whoop_dagster.defs.raw.tables import raw_asset_key
from whoop_dagster.whoop_api.endpoints import COLLECTION_ENDPOINTS

SENSOR_NAME = "raw_volume_alert_sensor"
#: A finding on this many consecutive days is worth a message.
MIN_STREAK_DAYS = 2
#: How many posted streaks the cursor remembers (the oldest are forgotten first).
CURSOR_MEMORY = 500
INTERVAL_SECONDS = 15 * 60

_WHAT = {
    MISSING_DAYS_CHECK: "no records on",
    IMPLAUSIBLE_DAYS_CHECK: "implausible records (too many, or overlapping) on",
}


def volume_check_keys() -> list[dg.AssetCheckKey]:
    """The volume checks of every partitioned raw table."""
    return [
        dg.AssetCheckKey(raw_asset_key(endpoint), name)
        for endpoint in COLLECTION_ENDPOINTS
        for name in (MISSING_DAYS_CHECK, IMPLAUSIBLE_DAYS_CHECK)
    ]


def streaks(days: Iterable[date]) -> list[DayRange]:
    """Runs of at least ``MIN_STREAK_DAYS`` consecutive days."""
    return [run for run in contiguous_ranges(set(days)) if run.days >= MIN_STREAK_DAYS]


@dataclass(frozen=True)
class Streak:
    """Consecutive days one volume check flagged in its latest evaluation."""

    check: dg.AssetCheckKey
    days: DayRange
    run_id: str

    @property
    def ident(self) -> str:
        """Stable while the streak grows: the check and the streak's first day."""
        return f"{self.check.asset_key.to_user_string()}:{self.check.name}:{self.days.first}"

    @property
    def line(self) -> str:
        link = run_url(self.run_id)
        return (
            f"• `{self.check.asset_key.to_user_string()}` has {_WHAT[self.check.name]} {self.days.first} … "
            f"{self.days.last} ({self.days.days} consecutive days; check `{self.check.name}`"
            + (f", {link})" if link else ")")
        )


def flagged_streaks(instance: dg.DagsterInstance) -> list[Streak]:
    """Every streak in the latest evaluations of the volume checks."""
    found = []
    for key in volume_check_keys():
        record = instance.get_latest_asset_check_evaluation_record(key)
        evaluation = record.event.asset_check_evaluation if record is not None and record.event else None
        if evaluation is None or evaluation.passed or FLAGGED_DAYS not in evaluation.metadata:
            continue
        text = str(evaluation.metadata[FLAGGED_DAYS].value)
        days = [date.fromisoformat(day) for day in text.split(", ") if day]
        found += [Streak(key, run, record.run_id) for run in streaks(days)]
    return found


def alert_text(new: list[Streak]) -> str:
    """The message for streaks not posted before."""
    deployment = os.getenv("DAGSTER_CLOUD_DEPLOYMENT_NAME") or environment.current_deployment().value
    lines = [f":warning: *WHOOP data volume* — deployment `{deployment}`", *(streak.line for streak in new)]
    return "\n".join(lines)


def build_volume_alert_sensor() -> dg.SensorDefinition:
    """``raw_volume_alert_sensor``: RUNNING by default, a no-op (said on the tick) without a webhook."""

    @dg.sensor(
        name=SENSOR_NAME,
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=INTERVAL_SECONDS,
        description=(
            f"Posts to the webhook in {WEBHOOK_URL_ENV} when a raw volume check flags {MIN_STREAK_DAYS} or more "
            "consecutive days (days without records where the member normally has them, or implausible ones)."
        ),
    )
    def raw_volume_alert_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        posted: list[str] = json.loads(context.cursor)["posted"] if context.cursor else []
        new = [streak for streak in flagged_streaks(context.instance) if streak.ident not in posted]
        if not new:
            return dg.SkipReason("no new streak of consecutive flagged days")
        webhook_url = os.getenv(WEBHOOK_URL_ENV, "").strip()
        if not webhook_url:
            return dg.SkipReason(f"{WEBHOOK_URL_ENV} is not set: {len(new)} streak(s) of flagged days not posted")
        try:
            status = post_to_webhook(webhook_url, {"text": alert_text(new)})
        except AlertDeliveryError as err:
            # Keep the cursor: the next tick posts the same streaks again.
            return dg.SkipReason(f"could not post {len(new)} streak(s) of flagged days: {err}")
        context.log.info(f"posted {len(new)} streak(s) of flagged days (HTTP {status})")
        remembered = [*posted, *(streak.ident for streak in new)][-CURSOR_MEMORY:]
        return dg.SensorResult(cursor=json.dumps({"posted": remembered}))

    return raw_volume_alert_sensor
