from datetime import date, datetime, timezone

from whoop_dagster.defs.raw.partitions import DayRange, contiguous_ranges, daily_partitions_def


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
    monkeypatch.setenv("WHOOP_START_DATE", "2025-01-01")
    keys = daily_partitions_def().get_partition_keys()
    assert keys[0] == "2025-01-01"
    assert keys[-1] == datetime.now(timezone.utc).date().isoformat()
