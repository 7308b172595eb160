"""Raw table specs derived from the endpoint registry."""

from __future__ import annotations

import dagster as dg

from whoop_dagster.defs.raw.rows import raw_columns
from whoop_dagster.warehouse import TableSpec
from whoop_dagster.whoop_api.endpoints import Endpoint

RAW_SCHEMA = "raw"


def raw_table(endpoint: Endpoint) -> TableSpec:
    """The warehouse table ``raw.<endpoint>``."""
    return TableSpec(RAW_SCHEMA, endpoint.name, tuple((c.name, c.sql_type) for c in raw_columns(endpoint)))


def raw_asset_key(endpoint: Endpoint) -> dg.AssetKey:
    """``raw/<endpoint>``: also what dagster-dbt derives from ``source('raw', '<endpoint>')``."""
    return dg.AssetKey([RAW_SCHEMA, endpoint.name])


def column_schema(endpoint: Endpoint) -> dg.TableSchema:
    """The raw table's columns as Dagster table-schema metadata."""
    return dg.TableSchema(columns=[dg.TableColumn(name=c.name, type=c.sql_type.lower()) for c in raw_columns(endpoint)])
