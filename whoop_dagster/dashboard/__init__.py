"""The Streamlit dashboard over the warehouse (``make dashboard``): read-only, six tabs, Plotly charts.

Nothing here is imported when the Dagster definitions load; streamlit and plotly are
imported only by the app and the chart modules.
"""
