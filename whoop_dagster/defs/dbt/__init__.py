"""The dbt layer of the code location: models, tests as checks, freshness and automation.

dagster-dbt builds the assets from the prepared manifest of ``whoop_dbt``
(:mod:`~whoop_dagster.defs.dbt.project`), with the layer rules of
:mod:`~whoop_dagster.defs.dbt.translator`.
"""

from __future__ import annotations

import dagster as dg

from whoop_dagster.defs.dbt.assets import build_dbt_assets, build_dbt_resource
from whoop_dagster.defs.dbt.automation import build_automation_sensor


def build_dbt_definitions(target: str | None = None) -> dg.Definitions:
    """The dbt assets (with their checks), the ``dbt`` resource and the automation sensor.

    ``target`` defaults to :func:`whoop_dagster.environment.dbt_target` (``local``, ``branch``,
    ``prod`` or ``ci``). Merge the result into the code location's definitions.
    """
    return dg.Definitions(
        assets=[build_dbt_assets(target)],
        sensors=[build_automation_sensor()],
        resources={"dbt": build_dbt_resource(target)},
    )


__all__ = ["build_dbt_definitions"]
