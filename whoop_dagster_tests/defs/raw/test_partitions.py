from datetime import date, datetime, timedelta, timezone

import pytest

from whoop_dagster.clock import frozen_clock
from whoop_dagster.defs.raw.partitions import DayRange, contiguous_ranges, daily_partitions_def
from whoop_dagster_tests.support.clock import frozen_now

pytestmark = pytest.mark.time_sensitive


def test_a_day_range_maps_to_one_utc_api_window():
    days = DayRange(date(2024, 1, 30), date(2024, 2, 2))
    assert days.api_window() == (
        datetime(2024, 1, 30, tzinfo=timezone.utc),
        datetime(2024, 2, 3, tzinfo=timezone.utc),
    )
    assert days.days == 4


def test_changed_days_group_into_the_fewest_contiguous_ranges():
    days = {date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 10), date(2024, 1, 12)}
    assert [str(r) for r in contiguous_ranges(days)] == ["2024-01-01...2024-01-03", "2024-01-10", "2024-01-12"]


def test_partitions_start_at_whoop_start_date_and_include_today(monkeypatch):
    monkeypatch.setenv("WHOOP_START_DATE", "2023-01-01")
    now = frozen_now()
    keys = daily_partitions_def(frozen_clock(now)).get_partition_keys(current_time=now)
    assert keys[0] == "2023-01-01"
    assert keys[-1] == now.date().isoformat()


def test_without_a_start_date_partitions_begin_two_years_before_utc_today(monkeypatch):
    monkeypatch.delenv("WHOOP_START_DATE", raising=False)
    now = frozen_now()
    keys = daily_partitions_def(frozen_clock(now)).get_partition_keys(current_time=now)
    assert keys[0] == (now.date() - timedelta(days=730)).isoformat()
    assert keys[-1] == now.date().isoformat()


def test_today_is_the_utc_date_even_where_the_local_date_differs():
    # 23:58 UTC is already tomorrow in Auckland and still today in Bogotá: partitions follow UTC.
    late = datetime(2025, 12, 31, 23, 58, tzinfo=timezone.utc)
    clock = frozen_clock(late.astimezone(timezone(timedelta(hours=13))))
    keys = daily_partitions_def(clock).get_partition_keys(current_time=clock())
    assert keys[-1] == "2025-12-31"
    assert keys[0] == "2024-01-01"
