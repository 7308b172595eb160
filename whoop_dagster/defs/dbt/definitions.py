"""The dbt area's definitions: the models as assets (tests as checks), the ``dbt`` resource, automation."""

import dagster as dg

from whoop_dagster.defs.dbt.assets import build_dbt_assets, build_dbt_resource
from whoop_dagster.defs.dbt.automation import build_automation_sensor


def build_dbt_definitions(target: str | None = None) -> dg.Definitions:
    """The dbt assets (with their checks), the ``dbt`` resource and the automation sensor for a dbt target."""
    return dg.Definitions(
        assets=[build_dbt_assets(target)],
        sensors=[build_automation_sensor()],
        resources={"dbt": build_dbt_resource(target)},
    )
