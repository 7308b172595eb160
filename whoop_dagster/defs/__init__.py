"""The code location's areas (raw, dbt, ml, analysis, ops): each assembles itself in its ``definitions.py``."""
