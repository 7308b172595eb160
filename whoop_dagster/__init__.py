"""whoop-dagster: WHOOP wearable data as tested Dagster software-defined assets."""

__version__ = "0.1.0"
