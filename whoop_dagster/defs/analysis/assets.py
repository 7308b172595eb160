"""``analysis/recovery_drivers``: which behaviours move next-day recovery and HRV, as a tidy table.

numpy, pandas, scipy and matplotlib are imported inside the step, never with the definitions.
"""

# No `from __future__ import annotations`: Dagster reads the asset function's annotations.
from typing import TYPE_CHECKING, Any

import dagster as dg

from whoop_dagster.defs.analysis.drivers import (
    ALPHA,
    BLOCK_DAYS,
    BOOTSTRAP_SAMPLES,
    DRIVERS,
    METHOD_VERSION,
    MIN_DAYS,
    STATUS_TESTED,
    analyse_drivers,
    driver_frame,
)
from whoop_dagster.defs.ml.assets import (
    FRESHNESS_POLICY,
    ML_IO_MANAGER_KEY,
    mart_asset_keys,
    ml_automation_condition,
    table_schema,
)
from whoop_dagster.defs.ml.behaviour import BEHAVIOUR_MARTS, behaviour_daily, read_behaviour_marts
from whoop_dagster.defs.pools import WAREHOUSE_POOL
from whoop_dagster.warehouse import WarehouseResource

if TYPE_CHECKING:
    import pandas as pd

ANALYSIS_GROUP = "analysis"
ANALYSIS_SCHEMA = "analysis"
RECOVERY_DRIVERS_KEY = dg.AssetKey([ANALYSIS_SCHEMA, "recovery_drivers"])
OWNERS = ["team:data-science"]

RECOVERY_DRIVERS_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("user_id", "int", "WHOOP member id."),
    ("outcome", "string", "What the morning after measures: 'recovery' (score, points) or 'hrv' (RMSSD, ms)."),
    ("driver", "string", "The behaviour: " + ", ".join(driver.name for driver in DRIVERS) + "."),
    ("driver_description", "string", "What the driver measures, and when."),
    ("days", "int", "Paired days analysed (driver on day t, outcome on the morning of t + 1)."),
    ("spearman_rho", "float", "Spearman rank correlation of driver and next-day outcome."),
    ("rho_ci_low", "float", "95% moving-block bootstrap confidence interval of rho, lower bound."),
    ("rho_ci_high", "float", "Upper bound of that interval."),
    ("bottom_tercile_mean", "float", "Mean next-day outcome on the driver's bottom third of days."),
    ("top_tercile_mean", "float", "Mean next-day outcome on the driver's top third of days."),
    ("tercile_difference", "float", "top_tercile_mean - bottom_tercile_mean, in outcome_unit."),
    ("difference_ci_low", "float", "95% bootstrap confidence interval of the difference, lower bound."),
    ("difference_ci_high", "float", "Upper bound of that interval."),
    ("outcome_unit", "string", "Unit of the outcome and the difference: points (recovery) or ms (HRV)."),
    ("effective_days", "float", "Independent days' worth of evidence after autocorrelation (for the p-value)."),
    ("p_value", "float", "Two-sided p-value of rho = 0 (Student's t on effective_days)."),
    ("p_value_adjusted", "float", "Benjamini-Hochberg adjusted p-value across the member's tests."),
    ("is_finding", "bool", f"True only where p_value_adjusted < {ALPHA:g}."),
    ("direction", "string", "'higher' or 'lower': more of the driver goes with a higher or lower outcome."),
    ("status", "string", f"'tested'; 'insufficient_data' (fewer than {MIN_DAYS} days); 'no_variation'."),
    ("first_day", "date", "First behaviour day analysed."),
    ("last_day", "date", "Last behaviour day analysed."),
    ("method_version", "string", "Method and parameters that produced the row."),
)


def drivers_table(table: "pd.DataFrame") -> "pd.DataFrame":
    """The analysis result with its method version, in the documented column order."""
    table = table.copy()
    table["method_version"] = METHOD_VERSION
    return table.loc[:, [name for name, _, _ in RECOVERY_DRIVERS_COLUMNS]]


def drivers_metadata(table: "pd.DataFrame") -> dict[str, Any]:
    """Figures, the findings as Markdown and the heat map, for the materialization."""
    from whoop_dagster.defs.analysis.report import drivers_heatmap_png, findings_markdown
    from whoop_dagster.defs.ml.report import png_markdown

    tested = table.loc[table["status"] == STATUS_TESTED]
    metadata: dict[str, Any] = {
        "status": "analysed" if len(tested) else f"insufficient_data: fewer than {MIN_DAYS} paired days",
        "days_analysed": int(table["days"].max()) if len(table) else 0,
        "tests": len(tested),
        "findings": int(table["is_finding"].sum()),
        "findings_table": dg.MetadataValue.md(findings_markdown(table)),
        "method": dg.MetadataValue.json(
            {
                "version": METHOD_VERSION,
                "min_days": MIN_DAYS,
                "false_discovery_rate": ALPHA,
                "bootstrap_samples": BOOTSTRAP_SAMPLES,
                "bootstrap_block_days": BLOCK_DAYS,
            }
        ),
        "dagster/row_count": len(table),
        "dagster/column_schema": table_schema(RECOVERY_DRIVERS_COLUMNS),
    }
    if len(tested):
        metadata["effect_heatmap"] = dg.MetadataValue.md(
            png_markdown(drivers_heatmap_png(table), "Spearman rho of each driver on next-day recovery and HRV")
        )
    return metadata


def build_recovery_drivers_asset(warehouse_kind: str) -> dg.AssetsDefinition:
    """``analysis/recovery_drivers``: one row per member, next-day outcome and driver."""

    @dg.asset(
        key=RECOVERY_DRIVERS_KEY,
        group_name=ANALYSIS_GROUP,
        description=(
            "Which behaviours move next-day recovery and HRV: strain, workout minutes by heart-rate zone, sleep "
            "duration and consistency, bedtime, and the day of week. Per member, outcome and driver: Spearman rho "
            "and the top-minus-bottom-tercile difference with 95% block-bootstrap intervals, a p-value corrected "
            "for autocorrelation, and Benjamini-Hochberg adjusted p-values; is_finding only where the adjusted "
            f"p-value is below {ALPHA:g}. With fewer than {MIN_DAYS} days of data nothing is estimated and there "
            "are no findings."
        ),
        deps=list(mart_asset_keys(BEHAVIOUR_MARTS).values()),
        io_manager_key=ML_IO_MANAGER_KEY,
        pool=WAREHOUSE_POOL,
        kinds={"python", "scipy", warehouse_kind},
        owners=OWNERS,
        code_version=METHOD_VERSION,
        automation_condition=ml_automation_condition(),
        freshness_policy=FRESHNESS_POLICY,
        metadata={
            "dagster/column_schema": table_schema(RECOVERY_DRIVERS_COLUMNS),
            "dagster/table_name": f"{ANALYSIS_SCHEMA}.{RECOVERY_DRIVERS_KEY.path[-1]}",
        },
    )
    def recovery_drivers(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.Output:
        frame = driver_frame(behaviour_daily(read_behaviour_marts(warehouse)))
        table = drivers_table(analyse_drivers(frame))
        tested = table.loc[table["status"] == STATUS_TESTED]
        if tested.empty:
            context.log.warning(
                "recovery drivers: %d paired day(s) of data, at least %d needed: nothing estimated, no findings",
                int(table["days"].max()) if len(table) else 0,
                MIN_DAYS,
            )
        else:
            context.log.info(
                "recovery drivers: %d finding(s) in %d tests over up to %d days",
                int(table["is_finding"].sum()),
                len(tested),
                int(tested["days"].max()),
            )
        return dg.Output(table, metadata=drivers_metadata(table))

    return recovery_drivers
