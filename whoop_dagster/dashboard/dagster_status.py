"""Each asset's latest materialization, check results and freshness, from the Dagster webserver's
GraphQL API (the one the UI itself uses): ``make dev`` serves it on http://127.0.0.1:3000."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import requests

DEFAULT_UI_URL = "http://127.0.0.1:3000"
#: The same variable the run-failure alerts use for their links.
UI_URL_VARIABLE = "WHOOP_DAGSTER_UI_URL"
TIMEOUT_SECONDS = 10.0

ASSET_STATUS_QUERY = """
query DashboardAssetStatus {
  assetNodes {
    assetKey { path }
    groupName
    isPartitioned
    freshnessStatusInfo { freshnessStatus }
    assetMaterializations(limit: 1) { timestamp runId partition }
    assetChecksOrError {
      __typename
      ... on AssetChecks {
        checks {
          name
          blocking
          executionForLatestMaterialization { status timestamp }
        }
      }
    }
  }
}
"""


class DagsterUnavailableError(Exception):
    """No Dagster webserver answered at the URL (or it answered with errors)."""


@dataclass(frozen=True)
class AssetStatus:
    """One asset as the Dagster instance knows it."""

    key: str
    group: str
    last_materialized: datetime | None
    freshness: str
    checks: dict[str, str] = field(default_factory=dict)  # check name -> latest status
    blocking_checks: frozenset[str] = frozenset()

    @property
    def failed_checks(self) -> list[str]:
        return sorted(name for name, status in self.checks.items() if status in ("FAILED", "EXECUTION_FAILED"))

    @property
    def passed_checks(self) -> int:
        return sum(status == "SUCCEEDED" for status in self.checks.values())


def ui_url() -> str:
    """Base URL of the Dagster UI: ``WHOOP_DAGSTER_UI_URL`` or http://127.0.0.1:3000."""
    return (os.getenv(UI_URL_VARIABLE) or DEFAULT_UI_URL).rstrip("/")


def fetch_asset_statuses(base_url: str, timeout: float = TIMEOUT_SECONDS) -> list[AssetStatus]:
    """Every asset's status from the webserver at ``base_url``; raises :class:`DagsterUnavailableError`."""
    try:
        response = requests.post(f"{base_url}/graphql", json={"query": ASSET_STATUS_QUERY}, timeout=timeout)
        response.raise_for_status()
        body = response.json()
    except (requests.RequestException, ValueError) as err:
        raise DagsterUnavailableError(f"no Dagster UI at {base_url} ({type(err).__name__})") from err
    if body.get("errors") or not isinstance(body.get("data"), dict):
        messages = "; ".join(str(error.get("message", error)) for error in body.get("errors") or [])
        raise DagsterUnavailableError(f"the Dagster UI at {base_url} answered with errors: {messages}")
    return [parse_asset_node(node) for node in body["data"]["assetNodes"]]


def parse_asset_node(node: dict[str, Any]) -> AssetStatus:
    """An ``assetNodes`` entry of :data:`ASSET_STATUS_QUERY` as an :class:`AssetStatus`."""
    materializations = node.get("assetMaterializations") or []
    last = None
    if materializations and materializations[0].get("timestamp"):
        # GraphQL gives event timestamps as milliseconds since the epoch, in a string.
        last = datetime.fromtimestamp(float(materializations[0]["timestamp"]) / 1000, tz=timezone.utc)
    checks: dict[str, str] = {}
    blocking: set[str] = set()
    answer = node.get("assetChecksOrError") or {}
    for check in answer.get("checks", []) if answer.get("__typename") == "AssetChecks" else []:
        execution = check.get("executionForLatestMaterialization")
        checks[check["name"]] = execution["status"] if execution else "NOT_RUN"
        if check.get("blocking"):
            blocking.add(check["name"])
    freshness = (node.get("freshnessStatusInfo") or {}).get("freshnessStatus") or "NOT_APPLICABLE"
    return AssetStatus(
        key="/".join(node["assetKey"]["path"]),
        group=node.get("groupName") or "default",
        last_materialized=last,
        freshness=freshness,
        checks=checks,
        blocking_checks=frozenset(blocking),
    )
