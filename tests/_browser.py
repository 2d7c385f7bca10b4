"""Waiting on the app in Chromium (Playwright pages), for tests/test_browser.py and
tests/test_browser_xss.py: until Streamlit's script has run, until every map has drawn."""
from __future__ import annotations

import time

from bench.bench_map import MAP_DRAWN

TIMEOUT_S = 180


def settle(page, *, timeout_s: float = TIMEOUT_S) -> None:
    """Wait until Streamlit has finished running the script (no running indicator)."""
    page.wait_for_selector("[data-testid='stSidebar']", timeout=timeout_s * 1000)
    deadline = time.monotonic() + timeout_s
    quiet = 0
    while time.monotonic() < deadline:
        running = page.evaluate("() => (document.querySelector('[data-test-script-state]') || {})"
                                ".getAttribute?.('data-test-script-state') === 'running'")
        header = page.evaluate("() => !!document.querySelector('[data-testid=stMain] h1, [data-testid=stMain] h2')")
        quiet = quiet + 1 if (not running and header) else 0
        if quiet >= 4:
            return
        time.sleep(0.25)
    raise TimeoutError(f"the page did not finish within {timeout_s} s")


def maps_drawn(page, *, timeout_s: float = TIMEOUT_S) -> int:
    """Wait until every streamlit-folium map on the page has drawn (``MAP_DRAWN``); their count."""
    deadline = time.monotonic() + timeout_s
    while True:
        frames = [f for f in page.frames if "streamlit_folium" in (f.url or "")]
        pending = []
        for f in frames:
            try:  # drawn, and shown: streamlit-folium sizes its frame only when the script ran through
                box = f.frame_element().bounding_box()
                if not f.evaluate(MAP_DRAWN) or not box or box["height"] < 100:
                    pending.append(f.url)
            except Exception:  # a frame still loading
                pending.append(f.url)
        if not pending:
            return len(frames)
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(pending)} of {len(frames)} maps not drawn within {timeout_s} s")
        page.wait_for_timeout(200)


# One map as a commander sees it: tile images shown, vector layers of context (the drawn
# background of ui.basemap, the context of ui.maps.add_context, or a layer marked gp-context),
# and, when the area's bounds (``[[south, west], [north, east]]``) are all in view, the controls
# (legend, layer control, zoom, scale, attribution) whose boxes overlap the area's box.
MAP_READABLE = """(area) => {
    const map = window.map || Object.values(window).find(v => v instanceof L.Map);
    let context = 0;
    map.eachLayer(l => {
        const o = l.options || {};
        if (l instanceof L.Path && (o.pane === 'gp-background' || o.pane === 'gp-context'
                                    || /gp-context/.test(o.className || ''))) { context++; }
    });
    const box = map.getContainer().getBoundingClientRect();
    const a = map.latLngToContainerPoint(area[0]), b = map.latLngToContainerPoint(area[1]);
    const r = {left: Math.min(a.x, b.x), right: Math.max(a.x, b.x),
               top: Math.min(a.y, b.y), bottom: Math.max(a.y, b.y)};
    const inView = r.left >= 0 && r.top >= 0 && r.right <= box.width && r.bottom <= box.height;
    const covering = [];
    if (inView) {
        map.getContainer().querySelectorAll('.leaflet-control').forEach(el => {
            const c = el.getBoundingClientRect();
            const x0 = c.left - box.left, x1 = c.right - box.left, y0 = c.top - box.top, y1 = c.bottom - box.top;
            if (c.width && c.height && x0 < r.right && x1 > r.left && y0 < r.bottom && y1 > r.top) {
                covering.push(el.className);
            }
        });
    }
    return {tiles: document.querySelectorAll('.leaflet-tile-pane img').length, context, inView, covering,
            zoom: map.getZoom()};
}"""


def maps_readable(page, area: list[list[float]], where: str) -> list[dict]:
    """Check every streamlit-folium map of ``page`` (drawn: ``maps_drawn`` first) with tiles
    switched off: no tile image, context drawn beneath its layers (roads or the drawn
    background), and, where the whole area (``[[south, west], [north, east]]``, degrees) is in
    view, no control over the area's box. Returns what each map showed (``MAP_READABLE``)."""
    shown = []
    for i, frame in enumerate(f for f in page.frames if "streamlit_folium" in (f.url or "")):
        seen = frame.evaluate(MAP_READABLE, area)
        assert seen["tiles"] == 0, f"{where} map {i}: tiles drawn with tiles switched off ({seen})"
        assert seen["context"] > 0, f"{where} map {i}: no roads or drawn background beneath its layers ({seen})"
        assert not seen["covering"], f"{where} map {i}: controls over the area: {seen['covering']} ({seen})"
        shown.append(seen)
    return shown
