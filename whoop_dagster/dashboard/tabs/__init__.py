"""The dashboard's six tabs, in the order shown: each has ``TITLE``, ``QUERIES`` and ``render(data)``."""

from __future__ import annotations

from types import ModuleType

from whoop_dagster.dashboard.tabs import insights, metrics, quality, recovery, sleep, strain

#: Tabs that read the warehouse, in display order; ``quality`` reads the Dagster instance instead.
WAREHOUSE_TABS: tuple[ModuleType, ...] = (recovery, sleep, strain, metrics, insights)
TABS: tuple[ModuleType, ...] = (*WAREHOUSE_TABS, quality)
