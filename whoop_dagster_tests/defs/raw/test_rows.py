from datetime import date, datetime, timezone

import pytest

from whoop_dagster.defs.raw.rows import parse_timestamp, partition_date_of, rows_to_frame, to_row
from whoop_dagster.whoop_api.endpoints import CYCLE, RECOVERY, SLEEP
from whoop_dagster.whoop_api.errors import WhoopPayloadError
from whoop_dagster_tests.support import records


def test_timestamps_become_naive_utc_with_milliseconds_kept():
    assert parse_timestamp("2022-04-24T11:25:44.774Z") == datetime(2022, 4, 24, 11, 25, 44, 774000)
    assert parse_timestamp("2022-04-24T06:25:44.774-05:00") == datetime(2022, 4, 24, 11, 25, 44, 774000)


def test_a_sleep_crossing_utc_midnight_belongs_to_the_day_it_started():
    night = records.sleep("a", "2024-03-01T23:30:00.000Z", "2024-03-02T07:10:00.000Z")
    assert partition_date_of(SLEEP, night) == date(2024, 3, 1)


def test_a_recovery_belongs_to_the_day_its_sleep_started():
    rec = records.recovery(1, "sleep-1")
    starts = {"sleep-1": datetime(2024, 3, 1, 23, 30, tzinfo=timezone.utc)}
    assert partition_date_of(RECOVERY, rec, starts) == date(2024, 3, 1)


def test_a_recovery_whose_sleep_is_unknown_fails_naming_the_record():
    with pytest.raises(WhoopPayloadError, match=r"endpoint=recovery.*record_id=7/sleep-x"):
        partition_date_of(RECOVERY, records.recovery(7, "sleep-x"), {})


def test_the_current_cycle_without_end_gets_a_null_end_column():
    current = records.cycle(42, "2024-03-02T04:00:00.000Z", state="PENDING_SCORE")
    row = to_row(CYCLE, current, partition_date=date(2024, 3, 2), extracted_at=datetime(2024, 3, 2), run_id="r")
    assert row["end"] is None
    assert row["score_state"] == "PENDING_SCORE"


def test_payload_keeps_the_whole_record_with_non_ascii_and_apostrophes():
    record = {**records.cycle(1, "2024-03-02T04:00:00.000Z"), "note": "Zoë O'Brien"}
    row = to_row(CYCLE, record, partition_date=date(2024, 3, 2), extracted_at=datetime(2024, 3, 2), run_id="r")
    assert "Zoë O'Brien" in row["payload"]


def test_an_empty_frame_still_has_every_column_and_type():
    frame = rows_to_frame(RECOVERY, [])
    assert list(frame.columns)[:3] == ["cycle_id", "sleep_id", "user_id"]
    assert str(frame.dtypes["cycle_id"]) == "Int64"
