"""The dashboard stays out of the code location: loading the definitions imports neither streamlit nor plotly."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
import whoop_dagster.definitions
print(",".join(sorted(name for name in ("streamlit", "plotly") if name in sys.modules)))
"""


def test_loading_the_definitions_imports_neither_streamlit_nor_plotly():
    output = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=300)
    assert output.stdout.strip().splitlines()[-1:] in ([], [""])
