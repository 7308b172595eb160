"""The dbt layer of the code location: models, tests as checks, freshness and automation.

Importing this package is cheap: it imports neither ``dagster_dbt`` nor dbt, and parses
nothing. :func:`build_dbt_definitions` does the work when the definitions are built, and
reads only the manifest prepared at build time (``python -m whoop_dagster.defs.dbt.prepare``).
"""

from __future__ import annotations

import dagster as dg


def build_dbt_definitions(target: str | None = None) -> dg.Definitions:
    """The dbt assets (with their checks), the ``dbt`` resource and the automation sensor.

    ``target`` defaults to :func:`whoop_dagster.environment.dbt_target` (``local``, ``branch``,
    ``prod`` or ``ci``). Merge the result into the code location's definitions.
    """
    from whoop_dagster.defs.dbt.assets import build_dbt_assets, build_dbt_resource
    from whoop_dagster.defs.dbt.automation import build_automation_sensor

    return dg.Definitions(
        assets=[build_dbt_assets(target)],
        sensors=[build_automation_sensor()],
        resources={"dbt": build_dbt_resource(target)},
    )


__all__ = ["build_dbt_definitions"]
