"""The recovery drivers for people: the findings as a Markdown table and a heat map of the effects (PNG)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from whoop_dagster.defs.analysis.drivers import ALPHA, DRIVERS, MIN_DAYS, OUTCOMES, STATUS_TESTED

if TYPE_CHECKING:
    import pandas as pd

#: At most this many members get a panel.
MAX_PANELS = 4


def findings_markdown(table: pd.DataFrame) -> str:
    """The findings, strongest first, one line each; or why there are none."""
    tested = table.loc[table["status"] == STATUS_TESTED]
    if tested.empty:
        days = int(table["days"].max()) if len(table) else 0
        return f"_Not analysed: {days} paired days of data, at least {MIN_DAYS} needed. No findings._"
    findings = tested.loc[tested["is_finding"]].sort_values("p_value_adjusted")
    if findings.empty:
        return f"_No findings: no driver's adjusted p-value is below {ALPHA:g} ({len(tested)} tests)._"
    lines = [
        "| member | outcome | driver | Spearman rho (95% CI) | top - bottom tercile (95% CI) | adjusted p |",
        "|---|---|---|---|---|---|",
    ]
    for row in findings.itertuples(index=False):
        lines.append(
            f"| {row.user_id} | next-day {row.outcome} | {row.driver} "
            f"| {row.spearman_rho:+.2f} ({row.rho_ci_low:+.2f} to {row.rho_ci_high:+.2f}) "
            f"| {row.tercile_difference:+.1f} {row.outcome_unit} "
            f"({row.difference_ci_low:+.1f} to {row.difference_ci_high:+.1f}) | {row.p_value_adjusted:.2g} |"
        )
    return "\n".join(lines)


def drivers_heatmap_png(table: pd.DataFrame) -> bytes:
    """A PNG: per member, Spearman rho of every driver (rows) on each next-day outcome (columns); * marks findings."""
    import matplotlib
    import numpy as np

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    users = sorted(table["user_id"].unique())[:MAX_PANELS]
    figure = Figure(figsize=(3.2 * max(len(users), 1) + 1.6, 4.2), dpi=80, layout="constrained")
    axes = figure.subplots(1, max(len(users), 1), squeeze=False)[0]
    names, outcomes = [driver.name for driver in DRIVERS], list(OUTCOMES)
    image = None
    for axis, user_id in zip(axes, users, strict=False):
        rows = table.loc[table["user_id"] == user_id].set_index(["driver", "outcome"])
        rho = np.array([[rows.at[(d, o), "spearman_rho"] for o in outcomes] for d in names], dtype=float)
        found = np.array([[bool(rows.at[(d, o), "is_finding"]) for o in outcomes] for d in names])
        image = axis.imshow(rho, cmap="RdBu", vmin=-0.8, vmax=0.8, aspect="auto")
        for (i, j), value in np.ndenumerate(rho):
            label = "n/a" if np.isnan(value) else f"{value:+.2f}{' *' if found[i, j] else ''}"
            axis.text(j, i, label, ha="center", va="center", fontsize=8)
        axis.set_xticks(range(len(outcomes)), [f"next-day {o}" for o in outcomes], fontsize=8)
        axis.set_yticks(range(len(names)), names, fontsize=8)
        axis.set_title(f"member {user_id}", fontsize=9, loc="left")
    if image is not None:
        figure.colorbar(image, ax=axes.tolist(), label="Spearman rho (* adjusted p < 0.05)", shrink=0.8)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
