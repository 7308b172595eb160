"""The dashboard's six tabs, in the order they are shown.

Each tab module has ``TITLE``, ``QUERIES`` (the tables it reads, by name) and
``render(data)``; its figure functions are pure (DataFrames in, Plotly figures out).
"""

from __future__ import annotations

from types import ModuleType

from whoop_dagster.dashboard.tabs import insights, metrics, quality, recovery, sleep, strain

#: Tabs that read the warehouse, in display order; ``quality`` reads the Dagster instance instead.
WAREHOUSE_TABS: tuple[ModuleType, ...] = (recovery, sleep, strain, metrics, insights)
TABS: tuple[ModuleType, ...] = (*WAREHOUSE_TABS, quality)
