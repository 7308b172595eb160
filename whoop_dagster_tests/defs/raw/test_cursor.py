from datetime import date, datetime

from whoop_dagster.defs.raw.cursor import SensorCursor, changed_records, plan_tick
from whoop_dagster_tests.support import records


def test_a_cursor_round_trips_through_json():
    cursor = SensorCursor(datetime(2024, 3, 1, 12, 0, 0, 123000))
    assert SensorCursor.parse(cursor.serialize()) == cursor
    assert SensorCursor.parse(None) == SensorCursor()


def test_only_records_updated_after_the_high_water_mark_count_as_changed():
    old = records.cycle(1, "2024-03-01T04:00:00.000Z", updated_at="2024-03-01T12:00:00.000Z")
    new = records.cycle(2, "2024-03-02T04:00:00.000Z", updated_at="2024-03-02T12:00:00.000Z")
    cursor = SensorCursor(datetime(2024, 3, 1, 12))
    assert changed_records([old, new], cursor) == [new]


def test_a_first_tick_without_cursor_treats_every_record_as_changed():
    recs = [records.cycle(1, "2024-03-01T04:00:00.000Z")]
    assert changed_records(recs, SensorCursor()) == recs


def test_the_plan_covers_only_changed_days_and_moves_to_the_newest_update():
    a = records.cycle(1, "2024-03-01T04:00:00.000Z", updated_at="2024-03-05T12:00:00.000Z")
    b = records.cycle(2, "2024-03-04T04:00:00.000Z", updated_at="2024-03-05T13:00:00.000Z")
    plan = plan_tick([(date(2024, 3, 1), a), (date(2024, 3, 4), b)], SensorCursor(), date(2024, 1, 1), date(2024, 3, 5))
    assert [str(r) for r in plan.ranges] == ["2024-03-01", "2024-03-04"]
    assert plan.cursor.high_water == datetime(2024, 3, 5, 13)


def test_records_outside_the_partition_set_neither_run_nor_move_the_cursor():
    a = records.cycle(1, "2023-12-31T04:00:00.000Z", updated_at="2024-03-05T12:00:00.000Z")
    cursor = SensorCursor(datetime(2024, 3, 1))
    plan = plan_tick([(date(2023, 12, 31), a)], cursor, date(2024, 1, 1), date(2024, 3, 5))
    assert plan.ranges == ()
    assert plan.cursor == cursor


def test_the_cursor_never_moves_backwards():
    a = records.cycle(1, "2024-03-01T04:00:00.000Z", updated_at="2024-03-02T12:00:00.000Z")
    cursor = SensorCursor(datetime(2024, 3, 3))
    plan = plan_tick([(date(2024, 3, 1), a)], cursor, date(2024, 1, 1), date(2024, 3, 5))
    assert plan.cursor.high_water == datetime(2024, 3, 3)
