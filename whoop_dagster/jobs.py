"""The code location's job over every area: the whole graph in one run."""

from __future__ import annotations

import dagster as dg

PIPELINE_JOB_NAME = "whoop_pipeline_job"


def build_pipeline_job() -> dg.UnresolvedAssetJobDefinition:
    """The whole graph in one run: raw loads for a partition range, then dbt and ML.

    Launched with a partition range (tags ``dagster/asset_partition_range_start``/
    ``_end``), the raw collections load the range in one pass each (single-run
    backfill) and the unpartitioned models downstream build once after them.
    """
    return dg.define_asset_job(
        PIPELINE_JOB_NAME,
        selection=dg.AssetSelection.all(),
        description="Raw WHOOP loads for a partition range, then every model, metric and forecast downstream.",
    )
