"""The Streamlit dashboard over the warehouse (``make dashboard``): read-only, six tabs, Plotly charts."""
