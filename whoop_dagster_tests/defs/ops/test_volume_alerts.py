"""The volume alert sensor: volume checks run for real on emulator data, the sensor posts to a loopback webhook.

The emulator serves a three-day strap-off gap and duplicated days; the raw assets and the
volume checks run in an ephemeral instance on the emulator's clock, and the sensor reads the
checks' latest evaluations from that instance.
"""

from __future__ import annotations

import json

import dagster as dg
import pytest

from whoop_dagster.defs.ops import build_ops_definitions
from whoop_dagster.defs.ops.alerts import WEBHOOK_URL_ENV
from whoop_dagster.defs.ops.volume_alerts import SENSOR_NAME, build_volume_alert_sensor, streaks
from whoop_dagster.defs.raw.checks import IMPLAUSIBLE_DAYS_CHECK, MISSING_DAYS_CHECK
from whoop_dagster.defs.raw.partitions import DayRange
from whoop_dagster_tests.support.volume import flagged, load_and_check_volume
from whoop_dagster_tests.support.whoop import days_ago, emulator

pytestmark = pytest.mark.time_sensitive

STRAP_OFF = tuple(days_ago(n) for n in (12, 11, 10))
LOADED = (days_ago(40), days_ago(0))


def days_synced_twice(emu) -> list[str]:
    """UTC days of the cycles that start at the same moment as another: the copies' partitions.

    A physiological day's cycle starts the evening before in UTC when the member is east of it.
    """
    starts = [c["start"] for c in emu.dataset.records("cycle")]
    return sorted({start[:10] for start in starts if starts.count(start) > 1})


def tick(instance, cursor=None):
    with dg.build_sensor_context(instance=instance, cursor=cursor) as context:
        return build_volume_alert_sensor()(context)


@pytest.fixture
def checked(instance, tmp_path):
    """The volume checks' evaluations over a gap and one day synced twice, recorded in ``instance``."""
    with emulator(days=60, strap_off_days=STRAP_OFF, duplicated_days=(days_ago(5),)) as emu:
        evaluations = load_and_check_volume(emu, tmp_path, *LOADED, emu.now, instance=instance)
        evaluations["synced_twice"] = days_synced_twice(emu)
        return evaluations


def test_only_two_or_more_consecutive_days_make_a_streak():
    days = [days_ago(9), days_ago(7), days_ago(6), days_ago(3), days_ago(2), days_ago(1)]
    assert streaks(days) == [DayRange(days_ago(7), days_ago(6)), DayRange(days_ago(3), days_ago(1))]


def test_a_gap_on_consecutive_days_is_posted_once_a_single_odd_day_is_not(checked, instance, receiver, monkeypatch):
    monkeypatch.setenv(WEBHOOK_URL_ENV, receiver.url)
    first = tick(instance)
    assert isinstance(first, dg.SensorResult)
    (text,) = receiver.texts
    for name in ("cycle", "sleep", "recovery"):
        gap = flagged(checked[MISSING_DAYS_CHECK][name])
        assert len(gap) >= 2
        assert f"`raw/{name}` has no records on {gap[0]} … {gap[-1]} ({len(gap)} consecutive days" in text
    # The day synced twice is flagged by the other check, but on one day only: no message about it.
    assert flagged(checked[IMPLAUSIBLE_DAYS_CHECK]["cycle"]) == checked["synced_twice"]
    assert len(checked["synced_twice"]) == 1
    assert "implausible" not in text
    assert receiver.url not in text

    again = tick(instance, cursor=first.cursor)
    assert isinstance(again, dg.SkipReason)
    assert len(receiver.messages) == 1


def test_implausible_records_on_consecutive_days_are_posted(instance, tmp_path, receiver, monkeypatch):
    monkeypatch.setenv(WEBHOOK_URL_ENV, receiver.url)
    with emulator(days=60, duplicated_days=(days_ago(6), days_ago(5))) as emu:
        load_and_check_volume(emu, tmp_path, *LOADED, emu.now, instance=instance)
        first, last = days_synced_twice(emu)
    assert isinstance(tick(instance), dg.SensorResult)
    (text,) = receiver.texts
    assert f"`raw/cycle` has implausible records (too many, or overlapping) on {first} … {last}" in text
    assert "no records on" not in text


def test_without_a_webhook_nothing_is_posted_and_the_streaks_wait(checked, instance, receiver, monkeypatch):
    skipped = tick(instance)
    assert isinstance(skipped, dg.SkipReason)
    assert WEBHOOK_URL_ENV in skipped.skip_message
    monkeypatch.setenv(WEBHOOK_URL_ENV, receiver.url)
    assert isinstance(tick(instance), dg.SensorResult)
    assert len(receiver.messages) == 1


def test_a_failed_post_keeps_the_cursor_for_the_next_tick(checked, instance, monkeypatch):
    monkeypatch.setenv(WEBHOOK_URL_ENV, "http://127.0.0.1:9/unreachable")
    failed = tick(instance, cursor=json.dumps({"posted": []}))
    assert isinstance(failed, dg.SkipReason)
    assert "could not post" in failed.skip_message
    assert "127.0.0.1:9" not in failed.skip_message


def test_the_volume_sensor_is_part_of_the_definitions_and_running():
    sensor = build_ops_definitions().resolve_sensor_def(SENSOR_NAME)
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
