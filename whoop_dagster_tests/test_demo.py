"""The main job's date range: the last N UTC days at the clock's instant."""

from datetime import date, datetime, timedelta, timezone

import pytest

from whoop_dagster.clock import frozen_clock
from whoop_dagster.demo import load_range
from whoop_dagster_tests.support.clock import frozen_now

pytestmark = pytest.mark.time_sensitive


def test_the_main_job_loads_the_last_n_utc_days_up_to_today(monkeypatch):
    monkeypatch.delenv("WHOOP_START_DATE", raising=False)
    now = frozen_now()
    days = load_range(90, frozen_clock(now))
    assert days.last == now.date()
    assert days.days == 90


def test_the_main_job_never_loads_before_the_start_date(monkeypatch):
    now = frozen_now()
    start = now.date() - timedelta(days=10)
    monkeypatch.setenv("WHOOP_START_DATE", start.isoformat())
    assert load_range(90, frozen_clock(now)).first == start


def test_two_minutes_before_utc_midnight_today_is_still_the_utc_date():
    # 18:58 in Bogotá, 12:58 the next day in Auckland: the range ends on the UTC date either way.
    late = frozen_clock(datetime(2024, 2, 29, 23, 58, tzinfo=timezone.utc))
    days = load_range(2, late)
    assert (days.first, days.last) == (date(2024, 2, 28), date(2024, 2, 29))
