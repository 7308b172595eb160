"""Pictures for the asset metadata: predicted vs actual over time, a base64 PNG inside ``MetadataValue.md``."""

from __future__ import annotations

import base64
import io

import pandas as pd

#: At most this many members get a panel (the picture stays small in the event log).
MAX_PANELS = 4


def forecast_plot_png(table: pd.DataFrame, ylabel: str = "recovery %") -> bytes:
    """A PNG: per member, the actual values, the backtest prediction, the 7-day-mean baseline and the forecast."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    users = sorted(table["user_id"].unique())[:MAX_PANELS]
    figure = Figure(figsize=(10, 2.6 * max(len(users), 1)), dpi=80, layout="constrained")
    axes = figure.subplots(max(len(users), 1), 1, squeeze=False)[:, 0]
    for axis, user_id in zip(axes, users, strict=False):
        rows = table.loc[table["user_id"] == user_id].sort_values("date_day")
        days = pd.to_datetime(rows["date_day"])
        history, forecast = ~rows["is_forecast"], rows["is_forecast"]
        axis.plot(days[history], rows.loc[history, "actual"], color="0.55", linewidth=0.8, label="actual")
        axis.plot(
            days[history], rows.loc[history, "mean_7d_baseline"], color="tab:orange", linewidth=0.8, label="7-day mean"
        )
        axis.plot(days[history], rows.loc[history, "predicted"], color="tab:blue", linewidth=1.1, label="predicted")
        axis.scatter(days[forecast], rows.loc[forecast, "predicted"], color="tab:red", zorder=3, label="forecast")
        axis.set_ylim(0, 100)
        axis.set_ylabel(ylabel)
        axis.set_title(f"member {user_id}", fontsize=9, loc="left")
        axis.grid(alpha=0.3)
    axes[0].legend(loc="lower left", ncols=4, fontsize=8, frameon=False)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def png_markdown(png: bytes, title: str) -> str:
    """Markdown that shows ``png`` inline."""
    return f"![{title}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"
