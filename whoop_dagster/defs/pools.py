"""Concurrency pools shared by the steps of every area (their limits live in ``config/dagster.yaml``)."""

#: Every step that writes the warehouse runs in this pool. DuckDB allows one writer per file,
#: so the local instance limits it to one slot.
WAREHOUSE_POOL = "warehouse_writer"
