"""The operations area: run-failure and raw volume alerts."""
