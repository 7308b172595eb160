"""The clock that production code asks for "now"."""

from datetime import datetime, timedelta, timezone

from whoop_dagster.clock import frozen_clock, utc_now, utc_today


def test_the_default_clock_is_aware_utc():
    now = utc_now()
    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)


def test_a_frozen_clock_answers_its_instant_in_utc():
    auckland = timezone(timedelta(hours=13))
    clock = frozen_clock(datetime(2026, 1, 1, 12, 58, tzinfo=auckland))
    assert clock() == datetime(2025, 12, 31, 23, 58, tzinfo=timezone.utc)
    assert clock() == clock()


def test_a_naive_instant_is_read_as_utc():
    assert frozen_clock(datetime(2024, 2, 29, 23, 58))() == datetime(2024, 2, 29, 23, 58, tzinfo=timezone.utc)


def test_today_is_the_utc_date_of_the_clock():
    bogota = timezone(timedelta(hours=-5))
    assert str(utc_today(frozen_clock(datetime(2025, 12, 31, 19, 30, tzinfo=bogota)))) == "2026-01-01"
