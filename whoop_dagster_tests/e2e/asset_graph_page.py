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
- the page opens with every asset group collapsed into one node (its default whenever
  there is more than one group; the choice is kept in the URL's ``expanded``), at a zoom
  of its own choosing. The screenshot
  should show all of it, as large as fits: the test zooms with the graph's own zoom
  buttons (5 % a click, about the centre), as a user would.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

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
ZOOM_IN = "document.querySelector('[aria-label=\"zoom_in\"]').closest('button').click()"
ZOOM_STEP = 0.05


def wait_for(page: Page, expression: str, timeout: float, interval: float = 0.5) -> Any:
    """Poll ``expression`` in the page until it is truthy; return its value.

    Polled from here with ``page.evaluate``: the UI's Content-Security-Policy forbids the string
    evaluation that Playwright's ``wait_for_function`` does inside the page.
    """
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = page.evaluate(expression)
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"{expression!r} still {value!r} after {timeout:.0f}s")


def wait_until_stable(page: Page, expression: str, timeout: float, interval: float = 0.25) -> Any:
    """Poll ``expression`` until it gives the same truthy value twice in a row (an animation or repaint
    has settled); return that value."""
    deadline = time.monotonic() + timeout
    previous = value = page.evaluate(expression)
    while time.monotonic() < deadline:
        time.sleep(interval)
        value = page.evaluate(expression)
        if value and value == previous:
            return value
        previous = value
    raise TimeoutError(f"{expression!r} did not settle in {timeout:.0f}s (last {value!r})")


def zoom_to_fit(page: Page, max_clicks: int = 40) -> float:
    """Click the graph's zoom buttons until the whole graph fits as large as it can; return the final zoom."""
    fit = page.evaluate(FIT_SCALE)
    scale = wait_until_stable(page, CURRENT_SCALE, timeout=10)
    for _ in range(max_clicks):
        if scale > fit + 1e-3:
            page.evaluate(ZOOM_OUT)
        elif scale + ZOOM_STEP <= fit + 1e-3:
            page.evaluate(ZOOM_IN)
        else:
            break
        previous = scale
        scale = wait_until_stable(page, CURRENT_SCALE, timeout=10)
        if abs(scale - previous) < 1e-3:
            break  # at the UI's minimum or maximum zoom
    return scale


def open_asset_graph(page: Page, base_url: str, timeout: float = 90.0) -> list[str]:
    """Open the global asset lineage zoomed to fit; return the rendered nodes' text once all have loaded."""
    page.add_init_script(SEEN_COMMUNITY_DIALOG)
    page.goto(base_url + LINEAGE_PATH)
    wait_for(page, RENDERED_NODES, timeout)
    zoom_to_fit(page)
    # Nodes re-render at the new zoom; wait until every one has its live data again and holds still.
    wait_for(page, RENDERED_NODES, timeout)
    return wait_until_stable(page, RENDERED_NODES, timeout)


def screenshot_asset_graph(page: Page, base_url: str, path: Path, timeout: float = 90.0) -> list[str]:
    """Save the fitted asset graph as a PNG at ``path``; return the rendered nodes' text."""
    nodes = open_asset_graph(page, base_url, timeout)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))
    return nodes
