"""Loading the raw collections from an emulator and running the volume checks on them, for tests."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg

from whoop_dagster.clock import Clock
from whoop_dagster.defs.raw.assets import build_raw_assets
from whoop_dagster.defs.raw.checks import FLAGGED_DAYS, VOLUME_CHECKS, build_raw_checks
from whoop_dagster.defs.raw.sensors import RANGE_END_TAG, RANGE_START_TAG
from whoop_dagster.warehouse.duckdb import DuckDBWarehouse
from whoop_dagster.whoop_api.endpoints import COLLECTION_ENDPOINTS
from whoop_dagster_tests.support.whoop import frozen_partitions_def, whoop_resource


def load_and_check_volume(
    emu: Any, tmp_path: Path, first: date, last: date, clock: Clock, instance: dg.DagsterInstance | None = None
) -> dict[str, dict[str, dg.AssetCheckEvaluation]]:
    """Load ``first`` … ``last`` of the raw collections into DuckDB, then run the volume checks.

    Returns check name -> {endpoint name: evaluation}.
    """
    raw_assets = build_raw_assets(frozen_partitions_def(), "duckdb")
    resources = {
        "whoop": whoop_resource(emu, tmp_path, max_retries=1),
        "warehouse": DuckDBWarehouse(path=str(tmp_path / "whoop.duckdb")),
    }
    keys = " or ".join(f'key:"raw/{e.name}"' for e in COLLECTION_ENDPOINTS)
    tags = {RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()}
    assert dg.materialize(raw_assets, resources=resources, selection=keys, tags=tags, instance=instance).success
    checks = build_raw_checks("warehouse_writer", clock)
    volume_checks = [key for check in checks for key in check.check_keys if key.name in VOLUME_CHECKS]
    result = dg.materialize(
        [*raw_assets, *checks],
        resources=resources,
        selection=dg.AssetSelection.checks(*volume_checks),
        instance=instance,
    )
    evaluations: dict[str, dict[str, dg.AssetCheckEvaluation]] = {}
    for evaluation in result.get_asset_check_evaluations():
        evaluations.setdefault(evaluation.check_name, {})[evaluation.asset_key.path[-1]] = evaluation
    return evaluations


def flagged(evaluation: dg.AssetCheckEvaluation) -> list[str]:
    """The days a volume check flagged (ISO dates)."""
    text = evaluation.metadata[FLAGGED_DAYS].value
    return str(text).split(", ") if text else []
