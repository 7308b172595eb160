"""The translator's rules, on hand-made dbt node properties (no manifest, no dbt)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import dagster as dg
import pytest

from whoop_dagster.defs.dbt.translator import LAYER_POLICIES, UnknownLayerError, WhoopDbtTranslator, layer_of


def _model(name: str, folder: str, resource_type: str = "model") -> dict[str, Any]:
    return {
        "resource_type": resource_type,
        "name": name,
        "unique_id": f"{resource_type}.whoop_dbt.{name}",
        "fqn": ["whoop_dbt", folder, name],
        "config": {"schema": folder},
        "meta": {},
        "tags": [],
    }


def _source(name: str) -> dict[str, Any]:
    return {
        "resource_type": "source",
        "name": name,
        "source_name": "raw",
        "unique_id": f"source.whoop_dbt.raw.{name}",
        "fqn": ["whoop_dbt", "raw", name],
        "config": {},
        "meta": {},
        "tags": [],
    }


@pytest.fixture
def translator() -> WhoopDbtTranslator:
    return WhoopDbtTranslator(warehouse_kind="duckdb", partitioned_sources=[dg.AssetKey(["raw", "cycle"])])


@pytest.mark.parametrize("layer", ["staging", "intermediate", "marts", "metrics"])
def test_a_model_is_keyed_and_grouped_by_its_layer_folder(translator: WhoopDbtTranslator, layer: str):
    props = _model("some_model", layer)
    assert translator.get_asset_key(props) == dg.AssetKey([layer, "some_model"])
    assert translator.get_group_name(props) == layer


def test_a_source_keeps_the_raw_asset_key_of_the_raw_layer(translator: WhoopDbtTranslator):
    assert translator.get_asset_key(_source("cycle")) == dg.AssetKey(["raw", "cycle"])


def test_seeds_belong_to_staging_and_snapshots_to_intermediate():
    assert layer_of(_model("sport_catalog", "sport_catalog", resource_type="seed")) == "staging"
    assert layer_of(_model("snp_user", "snp_user", resource_type="snapshot")) == "intermediate"


def test_a_model_outside_the_layer_folders_is_refused_with_a_hint():
    with pytest.raises(UnknownLayerError, match="layer folder"):
        layer_of(_model("stray", "scratch"))


def test_freshness_windows_grow_layer_by_layer_and_warn_before_they_fail():
    previous_fail = timedelta(0)
    for layer in ("staging", "intermediate", "marts", "metrics"):
        policy = LAYER_POLICIES[layer]
        assert policy.warn_after < policy.fail_after
        assert policy.fail_after > previous_fail
        assert policy.fail_after <= timedelta(hours=30)
        previous_fail = policy.fail_after


def test_every_layer_has_owners_that_dagster_accepts():
    for policy in LAYER_POLICIES.values():
        assert policy.owners
        dg.AssetSpec("probe", owners=list(policy.owners))  # raises on invalid owners


def test_the_asset_checks_of_dbt_tests_are_enabled(translator: WhoopDbtTranslator):
    assert translator.settings.enable_asset_checks
