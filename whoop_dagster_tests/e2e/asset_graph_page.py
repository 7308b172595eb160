"""The UI's global asset lineage page (``/asset-groups`` in Dagster 1.13), opened and photographed.

What this module knows about the UI, found in its 1.13 bundle (production builds strip
``data-testid``, so the hooks are the ones the UI itself relies on):

- the graph is drawn in the element marked ``data-svg-viewport``, one ``<foreignObject>``
  per node; a node says "Loading..." until its live data (latest event, checks,
  partitions) has arrived;
- on 127.0.0.1 a "Join the Dagster community" dialog opens over the page unless
  ``localStorage.communityNux`` is set. Setting it in the throwaway browser profile is
  the harmless way round it: the dialog's own Skip button would write
  ``$DAGSTER_HOME/.nux``, the user's instance;
- the page opens at 100 % (and centred), which crops any graph taller than the window.
  The screenshot should show all of it, so the test zooms out with the graph's own
  zoom-out button (5 % a click, about the centre) until the graph fits, as a user would.
"""

from __future__ import annotations

import time
from pathlib import Path

from whoop_dagster_tests.e2e.browser import BrowserError, Page

LINEAGE_PATH = "/asset-groups"

SEEN_COMMUNITY_DIALOG = "localStorage.setItem('communityNux', JSON.stringify('1'));"

#: The text of every rendered node once the graph and the nodes' live data have loaded, else null.
RENDERED_NODES = """
(() => {
  const viewport = document.querySelector('[data-svg-viewport]');
  if (!viewport) return null;
  const nodes = [...viewport.querySelectorAll('foreignObject')]
    .map((node) => node.textContent.trim())
    .filter((text) => text.length > 0);
  if (nodes.length === 0 || nodes.some((text) => text.includes('Loading...'))) return null;
  return nodes;
})()
"""

#: The zoom at which the whole graph fits its viewport (with a margin for the toolbar), at most 1.
FIT_SCALE = """
(() => {
  const viewport = document.querySelector('[data-svg-viewport]');
  const graph = viewport.querySelector('svg');
  const box = viewport.getBoundingClientRect();
  const width = Number(graph.getAttribute('width'));
  const height = Number(graph.getAttribute('height'));
  return Math.min(1, (0.92 * box.width) / width, (0.92 * box.height) / height);
})()
"""

#: The graph's current zoom: the scale of the transform on the viewport's content.
CURRENT_SCALE = """
new DOMMatrix(getComputedStyle(document.querySelector('[data-svg-viewport]').firstElementChild).transform).a
"""

ZOOM_OUT = "document.querySelector('[aria-label=\"zoom_out\"]').closest('button').click()"


def zoom_out_to_fit(page: Page, max_clicks: int = 40) -> float:
    """Click the graph's zoom-out button until the whole graph fits; return the final zoom."""
    fit = page.evaluate(FIT_SCALE)
    scale = page.evaluate(CURRENT_SCALE)
    for _ in range(max_clicks):
        if scale <= fit + 1e-3:
            break
        page.evaluate(ZOOM_OUT)
        try:
            scale = page.wait_for(f"(({CURRENT_SCALE}) < {scale - 1e-3}) && ({CURRENT_SCALE})", timeout=5)
        except BrowserError:
            break  # at the UI's minimum zoom
    return scale


def open_asset_graph(page: Page, base_url: str, timeout: float = 90.0) -> list[str]:
    """Open the global asset lineage zoomed to fit; return the rendered nodes' text once all have loaded."""
    page.before_each_document(SEEN_COMMUNITY_DIALOG)
    page.goto(base_url + LINEAGE_PATH)
    page.wait_for(RENDERED_NODES, timeout)
    zoom_out_to_fit(page)
    time.sleep(1.5)  # let the last zoom step and live-data repaint settle
    return page.wait_for(RENDERED_NODES, timeout)


def screenshot_asset_graph(page: Page, base_url: str, path: Path, timeout: float = 90.0) -> list[str]:
    """Save the fitted asset graph as a PNG at ``path``; return the rendered nodes' text."""
    nodes = open_asset_graph(page, base_url, timeout)
    page.screenshot(path)
    return nodes
