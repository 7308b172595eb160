"""The local UI as a user meets it after ``make run``: ``dagster dev`` on the run's instance.

Every expectation comes from the loaded definitions (the graph grows as the project
does), except the fixed names of DESIGN.md. Asserted through the webserver's GraphQL
API — what the UI renders — and, last, in headless Chromium.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from PIL import Image

from whoop_dagster.jobs import PIPELINE_JOB_NAME
from whoop_dagster_tests.e2e import queries
from whoop_dagster_tests.e2e.asset_graph_page import screenshot_asset_graph
from whoop_dagster_tests.e2e.dagster_dev import DagsterDev
from whoop_dagster_tests.e2e.graphql import expect_type

pytestmark = pytest.mark.e2e

# The fixed names of DESIGN.md; everything else is derived from the definitions.
RAW_ASSET_KEYS = {"raw/cycle", "raw/sleep", "raw/recovery", "raw/workout", "raw/user_profile", "raw/body_measurement"}
RAW_PARTITIONED_KEYS = {"raw/cycle", "raw/sleep", "raw/recovery", "raw/workout"}
ML_ASSET_KEYS = {
    "ml/recovery_forecast",
    "ml/recovery_anomalies",
    "ml/sleep_performance_forecast",
    "analysis/recovery_drivers",
}
LAYERS = {"raw", "staging", "intermediate", "marts", "metrics", "ml", "analysis"}
ENDPOINT_SENSORS = {"cycle_sensor", "sleep_sensor", "recovery_sensor", "workout_sensor"}

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
BACKFILL_TAG = "dagster/backfill"
BACKFILL_ASSET = "raw/cycle"
BACKFILL_DAYS = 2
BACKFILL_TIMEOUT_SECONDS = 300
BACKFILL_DONE = {"COMPLETED_SUCCESS", "COMPLETED"}
BACKFILL_FAILED = {"COMPLETED_FAILED", "FAILED", "FAILING", "CANCELED", "CANCELING"}


# --- helpers ----------------------------------------------------------------------------------


def user_string(path: Iterable[str]) -> str:
    return dg.AssetKey(list(path)).to_user_string()


def owner_string(owner: dict[str, Any]) -> str:
    """An owner as definitions spell it: an email, or ``team:<name>``."""
    return owner["email"] if owner["__typename"] == "UserAssetOwner" else f"team:{owner['team']}"


def tag_value(run: dict[str, Any], key: str) -> str | None:
    return next((tag["value"] for tag in run["tags"] if tag["key"] == key), None)


def materialized(run: dict[str, Any]) -> dict[str, set[str | None]]:
    """Asset key → partitions a run materialized (``{None}`` for unpartitioned assets)."""
    result: dict[str, set[str | None]] = {}
    for event in run["assetMaterializations"]:
        result.setdefault(user_string(event["assetKey"]["path"]), set()).add(event["partition"])
    return result


def specs_by_key(defs: dg.Definitions) -> dict[str, dg.AssetSpec]:
    return {spec.key.to_user_string(): spec for spec in defs.resolve_all_asset_specs()}


def raw_partitioned_specs(defs: dg.Definitions) -> dict[str, dg.AssetSpec]:
    """The raw assets that have partitions: derived from defs, and at least the fixed four."""
    specs = {key: spec for key, spec in specs_by_key(defs).items() if key.startswith("raw/") and spec.partitions_def}
    assert set(specs) >= RAW_PARTITIONED_KEYS
    return specs


def the_partitions_def(specs: Iterable[dg.AssetSpec]) -> dg.PartitionsDefinition:
    partitions_defs = {spec.partitions_def for spec in specs}
    assert len(partitions_defs) == 1, f"raw collections should share one partitions definition: {partitions_defs}"
    return partitions_defs.pop()


# --- session state read once from the UI ---------------------------------------------------------


@pytest.fixture(scope="module")
def ui_assets(dagster_ui: DagsterDev) -> dict[str, dict[str, Any]]:
    """Asset nodes as the UI lists them, by asset key."""
    nodes = dagster_ui.graphql.query(queries.ASSET_NODES)["assetNodes"]
    return {user_string(node["assetKey"]["path"]): node for node in nodes}


@pytest.fixture(scope="module")
def main_run(dagster_ui: DagsterDev) -> dict[str, Any]:
    """The latest run of the pipeline job (what ``make run`` launched), as the UI shows it."""
    answer = dagster_ui.graphql.query(queries.LATEST_RUN_OF_JOB, job=PIPELINE_JOB_NAME)["runsOrError"]
    runs = expect_type(answer, "Runs")["results"]
    assert runs, f"the UI shows no run of {PIPELINE_JOB_NAME}"
    run = runs[0]
    assert run["status"] == "SUCCESS", f"the latest {PIPELINE_JOB_NAME} run {run['runId']} is {run['status']}"
    return run


# --- what the UI lists ------------------------------------------------------------------------


def test_the_definitions_describe_every_asset_of_every_layer(defs):
    """The expectations below come from defs: first make sure defs are complete enough to expect from."""
    specs = specs_by_key(defs)
    assert set(specs) >= RAW_ASSET_KEYS | ML_ASSET_KEYS
    assert {key.split("/")[0] for key in specs} >= LAYERS
    incomplete = [
        f"{key}: {field}"
        for key, spec in sorted(specs.items())
        for field, value in {
            "group": spec.group_name,
            "kinds": spec.kinds,
            "owners": spec.owners,
            "description": spec.description,
        }.items()
        if not value
    ]
    assert not incomplete, f"assets without a group, kinds, owners or description: {incomplete}"


def test_every_asset_is_shown_with_its_group_kinds_owners_and_description(defs, ui_assets):
    expected = specs_by_key(defs)
    missing = sorted(set(expected) - set(ui_assets))
    assert not missing, f"assets of defs missing from the UI: {missing}"
    mismatches = []
    for key, spec in sorted(expected.items()):
        node = ui_assets[key]
        shown = {
            "group": node["groupName"],
            "kinds": set(node["kinds"]),
            "owners": {owner_string(owner) for owner in node["owners"]},
            "description": node["description"],
        }
        wanted = {
            "group": spec.group_name or "default",
            "kinds": set(spec.kinds),
            "owners": set(spec.owners),
            "description": spec.description,
        }
        mismatches += [
            f"{key} {field}: UI {shown[field]!r}, defs {wanted[field]!r}"
            for field in wanted
            if shown[field] != wanted[field]
        ]
    assert not mismatches, "\n".join(mismatches)


def test_every_asset_check_of_the_definitions_is_shown(defs, ui_assets):
    expected = {(key.asset_key.to_user_string(), key.name) for key in defs.resolve_asset_graph().asset_check_keys}
    assert expected, "defs define no asset checks (the raw layer alone has blocking checks)"
    shown = set()
    for key, node in ui_assets.items():
        checks = node["assetChecksOrError"]
        if checks["__typename"] == "AssetChecks":
            shown |= {(key, check["name"]) for check in checks["checks"]}
    assert not sorted(expected - shown), f"checks missing from the UI: {sorted(expected - shown)}"


def test_assets_with_a_freshness_policy_show_a_freshness_status(defs, ui_assets):
    with_policy = [key for key, spec in specs_by_key(defs).items() if spec.freshness_policy is not None]
    if not with_policy:
        pytest.skip("no asset of defs has a freshness policy yet")
    without_status = [
        key
        for key in with_policy
        if ui_assets[key]["internalFreshnessPolicy"] is None or ui_assets[key]["freshnessStatusInfo"] is None
    ]
    assert not without_status, f"freshness policy or status missing in the UI: {without_status}"


def test_the_ui_shows_the_endpoint_sensors_and_every_sensor_and_schedule(defs, dagster_ui):
    answer = dagster_ui.graphql.query(queries.INSTIGATORS)["repositoriesOrError"]
    repositories = expect_type(answer, "RepositoryConnection")["nodes"]
    sensors = {sensor["name"]: sensor["sensorState"]["status"] for repo in repositories for sensor in repo["sensors"]}
    schedules = {s["name"]: s["scheduleState"]["status"] for repo in repositories for s in repo["schedules"]}
    repository = defs.get_repository_def()
    expected_sensors = ENDPOINT_SENSORS | {sensor.name for sensor in repository.sensor_defs}
    expected_schedules = {schedule.name for schedule in repository.schedule_defs}
    assert not sorted(expected_sensors - set(sensors)), f"sensors missing: {sorted(expected_sensors - set(sensors))}"
    assert not sorted(expected_schedules - set(schedules)), (
        f"schedules missing: {sorted(expected_schedules - set(schedules))}"
    )


# --- what the main run left ---------------------------------------------------------------------


def test_the_main_run_materialized_every_asset_and_the_ui_shows_it(defs, main_run, ui_assets):
    """The pipeline job selects the whole graph: every asset of defs, raw to ml, has a materialization."""
    expected = set(specs_by_key(defs))
    not_by_main_run = sorted(expected - set(materialized(main_run)))
    assert not not_by_main_run, f"run {main_run['runId']} materialized no {not_by_main_run}"
    without_latest = sorted(key for key in expected if not ui_assets[key]["assetMaterializations"])
    assert not without_latest, f"the UI shows no latest materialization for {without_latest}"


def test_raw_partitioned_assets_show_every_main_run_partition_materialized(defs, dagster_ui, main_run, ui_assets):
    specs = raw_partitioned_specs(defs)
    start, end = tag_value(main_run, RANGE_START_TAG), tag_value(main_run, RANGE_END_TAG)
    assert start, f"run {main_run['runId']} has no {RANGE_START_TAG} tag"
    assert end, f"run {main_run['runId']} has no {RANGE_END_TAG} tag"
    days = the_partitions_def(specs.values()).get_partition_keys_in_range(dg.PartitionKeyRange(start, end))
    by_run = materialized(main_run)
    for key in sorted(specs):
        assert by_run[key] == set(days), f"{key}: run {main_run['runId']} did not load every day {start}…{end}"
        answer = dagster_ui.graphql.query(
            queries.LATEST_MATERIALIZATION_BY_PARTITION, key={"path": key.split("/")}, partitions=days
        )["assetNodeOrError"]
        latest = expect_type(answer, "AssetNode")["latestMaterializationByPartition"]
        unmaterialized = [day for day, event in zip(days, latest, strict=True) if event is None]
        assert not unmaterialized, f"{key}: the UI shows partitions without a materialization: {unmaterialized}"
        stats = ui_assets[key]["partitionStats"]
        assert stats["numMaterialized"] + stats["numMaterializing"] >= 1, f"{key}: {stats}"


def test_every_check_has_a_main_run_result_and_no_blocking_one_failed(defs, dagster_ui, main_run):
    evaluations: dict[tuple[str, str], dict[str, Any]] = {}
    cursor = None
    while True:
        answer = dagster_ui.graphql.query(queries.RUN_CHECK_EVALUATIONS, runId=main_run["runId"], cursor=cursor)
        page = expect_type(answer["logsForRun"], "EventConnection")
        for event in page["events"]:
            if event["__typename"] == "AssetCheckEvaluationEvent":
                evaluation = event["evaluation"]
                evaluations[(user_string(evaluation["assetKey"]["path"]), evaluation["checkName"])] = evaluation
        if not page["hasMore"]:
            break
        cursor = page["cursor"]
    expected = {(key.asset_key.to_user_string(), key.name) for key in defs.resolve_asset_graph().asset_check_keys}
    without_result = sorted(expected - set(evaluations))
    assert not without_result, f"checks without a result in run {main_run['runId']}: {without_result}"
    failed_blocking = sorted(key for key, e in evaluations.items() if not e["success"] and e["severity"] == "ERROR")
    assert not failed_blocking, f"blocking checks failed in run {main_run['runId']}: {failed_blocking}"


# --- a backfill launched from the UI's API ------------------------------------------------------------


def wait_for_backfill(dev: DagsterDev, backfill_id: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    backfill: dict[str, Any] = {}
    while time.monotonic() < deadline:
        answer = dev.graphql.query(queries.PARTITION_BACKFILL, id=backfill_id)["partitionBackfillOrError"]
        backfill = expect_type(answer, "PartitionBackfill")
        if backfill["status"] in BACKFILL_DONE | BACKFILL_FAILED:
            return backfill
        time.sleep(2)
    pytest.fail(f"backfill {backfill_id} still {backfill.get('status')} after {timeout}s\n{dev.log_tail()}")


def test_a_partition_backfill_launched_through_the_api_succeeds_as_one_run(defs, dagster_ui):
    """``launchPartitionBackfill`` (the UI's "Materialize selected" on a range) for the last days of raw/cycle."""
    specs = raw_partitioned_specs(defs)
    days = specs[BACKFILL_ASSET].partitions_def.get_partition_keys()[-BACKFILL_DAYS:]
    params = {
        "assetSelection": [{"path": BACKFILL_ASSET.split("/")}],
        "partitionNames": days,
        "title": f"e2e: {BACKFILL_ASSET} {days[0]}…{days[-1]}",
        # The sensors' first ticks queue a run per endpoint, and the warehouse pool runs one step
        # at a time: priority lets the backfill's run go next, as a user in a hurry would.
        "tags": [{"key": "whoop/trigger", "value": "e2e"}, {"key": "dagster/priority", "value": "10"}],
    }
    answer = dagster_ui.graphql.query(queries.LAUNCH_PARTITION_BACKFILL, params=params)["launchPartitionBackfill"]
    backfill_id = expect_type(answer, "LaunchBackfillSuccess")["backfillId"]
    dagster_ui.launched_backfills.append(backfill_id)

    backfill = wait_for_backfill(dagster_ui, backfill_id, BACKFILL_TIMEOUT_SECONDS)
    assert backfill["status"] in BACKFILL_DONE, f"backfill {backfill_id}: {backfill}\n{dagster_ui.log_tail()}"
    assert backfill["numPartitions"] == BACKFILL_DAYS

    answer = dagster_ui.graphql.query(queries.RUNS_WITH_TAG, key=BACKFILL_TAG, value=backfill_id)["runsOrError"]
    runs = expect_type(answer, "Runs")["results"]
    assert len(runs) == 1, f"a single-run backfill launched {len(runs)} runs: {[r['runId'] for r in runs]}"
    (run,) = runs
    assert run["status"] == "SUCCESS"
    assert (tag_value(run, RANGE_START_TAG), tag_value(run, RANGE_END_TAG)) == (days[0], days[-1])
    assert materialized(run) == {BACKFILL_ASSET: set(days)}


# --- the UI itself, in a browser --------------------------------------------------------------------


def assert_png_has_content(path: Path, size: tuple[int, int]) -> None:
    """A readable PNG of ``size`` with real content: many colours, none covering almost everything."""
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == size
        colours = image.convert("RGB").getcolors(maxcolors=size[0] * size[1])
    assert len(colours) > 64, f"{path}: only {len(colours)} colours, the page looks blank"
    dominant = max(count for count, _ in colours)
    assert dominant < 0.95 * size[0] * size[1], f"{path}: one colour covers {dominant} pixels"


def test_the_asset_graph_renders_in_headless_chromium(defs, dagster_ui, chromium_browser, artifacts_dir):
    """The global lineage as it first opens: one node per asset group (more than one group), or per asset."""
    path = artifacts_dir / "asset-graph.png"
    path.unlink(missing_ok=True)
    width, height = 1600, 1000
    # A fresh context: its own throwaway profile (localStorage), as the old browser profile was.
    context = chromium_browser.new_context(viewport={"width": width, "height": height})
    try:
        nodes = screenshot_asset_graph(context.new_page(), dagster_ui.url, path)
    finally:
        context.close()
    specs = defs.resolve_all_asset_specs()
    groups = {spec.group_name for spec in specs}
    if len(groups) > 1:
        shown = {text.split()[0] for text in nodes}
        assert groups <= shown, f"graph nodes {sorted(shown)} miss the groups {sorted(groups - shown)}"
    else:  # one node per asset (long names are shortened in the middle)
        assert len(nodes) == len(specs), f"{len(nodes)} graph nodes for {len(specs)} assets: {nodes}"
    assert_png_has_content(path, (width, height))
