"""Analyses of the member's data, written to schema ``analysis``: ``analysis/recovery_drivers``.

Importing this package is cheap: numpy, pandas, scipy and matplotlib load inside the step.

Modules: ``drivers`` (the statistics: which behaviours move next-day recovery and HRV),
``report`` (the findings as Markdown, the heat map), ``assets`` (the Dagster asset). The
asset reads the marts through the ``warehouse`` resource and is stored by the
``warehouse_io_manager`` (the deployment's pandas IO manager), both of which the code
location's definitions provide.
"""

from __future__ import annotations

import dagster as dg


def build_analysis_definitions(warehouse_kind: str) -> dg.Definitions:
    """``analysis/recovery_drivers`` for a warehouse of kind ``warehouse_kind`` (``duckdb`` or ``snowflake``)."""
    from whoop_dagster.defs.analysis.assets import build_recovery_drivers_asset

    return dg.Definitions(assets=[build_recovery_drivers_asset(warehouse_kind)])


__all__ = ["build_analysis_definitions"]
