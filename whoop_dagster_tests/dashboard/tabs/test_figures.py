"""The tabs' pure parts: figures from small frames, and tables still taking shape read defensively."""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd

from whoop_dagster.dashboard.dagster_status import parse_asset_node
from whoop_dagster.dashboard.frames import minutes_of_day
from whoop_dagster.dashboard.tabs import insights, quality, recovery, sleep, strain


def test_recovery_zones_follow_whoops_bands():
    assert [recovery.zone_of(score) for score in (0, 33, 34, 66, 67, 100)] == [
        "red",
        "red",
        "yellow",
        "yellow",
        "green",
        "green",
    ]


def test_bedtimes_around_midnight_stay_an_hour_apart():
    times = pd.Series(pd.to_datetime(["2025-01-01 23:30", "2025-01-02 00:30", "2025-01-02 22:00"]))
    assert minutes_of_day(times).tolist() == [690, 750, 600]


def test_workouts_take_their_category_from_dim_activity_type_if_it_exists():
    workouts = pd.DataFrame({"sport_key": ["running", "mystery"], "sport_id": [0, 999], "sport_name": ["running", "x"]})
    sports = pd.DataFrame({"sport_key": ["running"], "sport_name": ["Running"], "sport_category": ["endurance"]})
    labelled = strain.label_activities(workouts, sports, None)
    assert labelled[["activity", "category"]].values.tolist() == [["Running", "endurance"], ["x", "other"]]

    types = pd.DataFrame({"sport_id": [0], "activity_name": ["Running"], "category": ["cardio"]})
    labelled = strain.label_activities(workouts, sports, types)
    assert labelled[["activity", "category"]].values.tolist() == [["Running", "cardio"], ["x", "other"]]
    assert len(labelled) == len(workouts)  # an unknown sport never drops the workout


def test_the_sleep_forecast_is_read_whatever_its_columns_are_called():
    forecast = pd.DataFrame(
        {
            "night_date": ["2025-01-01", "2025-01-02", "2025-01-03"],
            "actual": [80.0, 70.0, None],
            "prediction": [78.0, 74.0, 81.0],
            "is_forecast": [False, False, True],
        }
    )
    night, value = sleep.tonight(forecast)
    assert (night.date().isoformat(), value) == ("2025-01-03", 81.0)
    fig = sleep.forecast_figure(forecast, "2025-01-01", "2025-01-02")
    assert [list(trace.y) for trace in fig.data] == [[80.0, 70.0], [78.0, 74.0]]
    assert sleep.tonight(pd.DataFrame({"when": ["2025-01-01"]})) is None


def test_recovery_drivers_are_drawn_with_intervals_and_findings_in_colour():
    drivers = pd.DataFrame(
        {
            "driver": ["day_strain", "sleep_hours"],
            "outcome": ["next_day_recovery", "next_day_recovery"],
            "spearman_rho": [-0.4, 0.1],
            "ci_low": [-0.5, -0.05],
            "ci_high": [-0.3, 0.2],
            "p_adjusted": [0.001, 0.4],
            "is_finding": [True, False],
        }
    )
    fig = insights.drivers_figure(drivers)
    (bar,) = fig.data
    assert list(bar.y) == ["day_strain → next_day_recovery", "sleep_hours → next_day_recovery"]
    assert list(bar.marker.color) == ["#0ea5e9", "#cbd5e1"]
    assert [round(v, 2) for v in bar.error_x.arrayminus] == [0.1, 0.15]
    assert insights.drivers_figure(pd.DataFrame({"something": [1]})) is None


def test_a_graphql_asset_node_becomes_an_asset_status():
    node = {
        "assetKey": {"path": ["marts", "fact_sleep"]},
        "groupName": "marts",
        "freshnessStatusInfo": {"freshnessStatus": "WARNING"},
        "assetMaterializations": [{"timestamp": "1751300000000", "runId": "r1", "partition": None}],
        "assetChecksOrError": {
            "__typename": "AssetChecks",
            "checks": [
                {"name": "unique", "blocking": True, "executionForLatestMaterialization": {"status": "SUCCEEDED"}},
                {"name": "range", "blocking": False, "executionForLatestMaterialization": {"status": "FAILED"}},
                {"name": "new", "blocking": False, "executionForLatestMaterialization": None},
            ],
        },
    }
    status = parse_asset_node(node)
    assert status.key == "marts/fact_sleep"
    assert status.last_materialized == datetime.fromtimestamp(1751300000, tz=timezone.utc)
    assert (status.passed_checks, status.failed_checks, status.checks["new"]) == (1, ["range"], "NOT_RUN")
    table = quality.status_table([status], now=datetime.fromtimestamp(1751300000 + 7200, tz=timezone.utc))
    assert table.loc[0, ["hours ago", "checks passed", "failed checks", "freshness"]].tolist() == [
        2.0,
        "1/3",
        "range",
        "warning",
    ]
