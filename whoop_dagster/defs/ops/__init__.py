"""Operations: what watches the pipeline rather than builds it (run-failure alerts)."""

from whoop_dagster.defs.ops.alerts import build_ops_definitions

__all__ = ["build_ops_definitions"]
