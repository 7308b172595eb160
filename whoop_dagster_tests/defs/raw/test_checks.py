import json
from datetime import date, datetime

from whoop_dagster.defs.raw.checks import evaluate
from whoop_dagster.defs.raw.rows import rows_to_frame, to_row
from whoop_dagster.whoop_api.endpoints import CYCLE, RECOVERY
from whoop_dagster_tests.support import records


def _frame(endpoint, recs):
    rows = [
        to_row(endpoint, r, partition_date=date(2024, 3, 1), extracted_at=datetime(2024, 3, 2), run_id="r")
        for r in recs
    ]
    return rows_to_frame(endpoint, rows)


def test_clean_records_pass_every_rule():
    frame = _frame(CYCLE, [records.cycle(1, "2024-03-01T04:00:00.000Z"), records.cycle(2, "2024-03-02T04:00:00.000Z")])
    assert evaluate(CYCLE, frame) == {
        "unique_ids": [],
        "required_fields_present": [],
        "score_state_valid": [],
        "scores_in_range": [],
    }


def test_unscored_records_without_score_are_kept_and_pass():
    frame = _frame(
        CYCLE,
        [
            records.cycle(1, "2024-03-01T04:00:00.000Z", state="UNSCORABLE"),
            records.cycle(2, "2024-03-02T04:00:00.000Z", state="PENDING_SCORE"),
        ],
    )
    assert not any(evaluate(CYCLE, frame).values())


def test_a_recovery_score_of_140_breaks_the_range_rule_naming_the_record():
    frame = _frame(RECOVERY, [records.recovery(5, "s-5", score=140)])
    assert evaluate(RECOVERY, frame)["scores_in_range"] == ["5/s-5"]


def test_a_strain_above_21_breaks_the_range_rule():
    frame = _frame(CYCLE, [records.cycle(9, "2024-03-01T04:00:00.000Z", strain=25)])
    assert evaluate(CYCLE, frame)["scores_in_range"] == ["9"]


def test_duplicate_ids_missing_fields_and_unknown_states_are_each_reported():
    broken = records.cycle(3, "2024-03-01T04:00:00.000Z")
    del broken["timezone_offset"]
    frame = _frame(
        CYCLE, [records.cycle(1, "2024-03-01T04:00:00.000Z"), records.cycle(1, "2024-03-01T04:00:00.000Z"), broken]
    )
    frame.loc[2, "score_state"] = "MAYBE"
    frame.loc[2, "payload"] = json.dumps({**json.loads(frame.loc[2, "payload"]), "score_state": "MAYBE"})
    result = evaluate(CYCLE, frame)
    assert result["unique_ids"] == ["1"]
    assert result["required_fields_present"] == ["3"]
    assert result["score_state_valid"] == ["3"]
