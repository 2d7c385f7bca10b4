"""Nothing from data runs as code, in a real browser: the app on a workspace whose every name, id,
kind and category is a script payload (tests/_payloads.py), every page opened, the buttons that
make maps pressed, every overlay of every Leaflet map switched on, the mouse moved over every
marker, every feature and a grid over each map, each bound tooltip and popup opened (and each
layer with a tooltip clicked), and the mouse moved over the page's tables.

Two detectors, both must stay silent: Playwright's ``dialog`` event (any alert/confirm/prompt of
the page or its frames) and ``window.alert`` (and confirm, prompt) wrapped in every frame by an
init script that reports each call. Every expected map must also draw (a name must not break a
map's script either).

Headless Debian Chromium through Playwright, as tests/test_browser.py (fails, never skips, when
they are missing). Takes about two and a half minutes.
"""
from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from bench.bench_map import app_server, browser
from tests._browser import maps_drawn, settle
from tests._payloads import write_payload_workspace
from ui.i18n import text
from ui.pages import PAGES

TIMEOUT_S = 120
# The maps each page shows on the payload workspace once the steps below ran.
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
MAPS = {"overview": 1, "audit": 3, "redistrict": 3, "coverage": 4, "patrol": 1}
GRID = (24, 16)  # mouse positions across each map, besides every marker and feature

# Runs in every frame before its own scripts: dialogs are reported (and still opened, so that
# the dialog event sees them too).
_WRAP_DIALOGS = """(() => {
    for (const name of ["alert", "confirm", "prompt"]) {
        const original = window[name];
        window[name] = function (...args) {
            console.log("GP-DIALOG " + name + "(" + String(args[0]) + ") in " + location.href.slice(0, 80));
            return original.apply(this, args);
        };
    }
})();"""

# In a map's frame: switch every overlay on, open (then close) every bound tooltip and popup, click
# every layer with a tooltip, and return the positions (container pixels) of every marker, every
# feature's centre and a grid over the map.
_TARGETS = """([nx, ny]) => {
    const map = Object.values(window).find(v => v instanceof L.Map);
    if (!map) { return null; }
    document.querySelectorAll(".leaflet-control-layers-overlays input")
        .forEach(i => { if (!i.checked) { i.click(); } });
    const size = map.getSize(), points = [];
    let opened = 0;
    map.eachLayer(layer => {
        let at = null;
        try {
            if (layer.getLatLng) { at = layer.getLatLng(); }
            else if (layer.getCenter && layer._map) { at = layer.getCenter(); }
            else if (layer.getBounds && layer._map && layer.getBounds().isValid()) {
                at = layer.getBounds().getCenter();
            }
        } catch (e) { at = null; }
        if (at) {
            const p = map.latLngToContainerPoint(at);
            points.push([p.x, p.y]);
        }
        if (layer.getTooltip && layer.getTooltip() && at) {
            layer.openTooltip(at); layer.closeTooltip(); opened++;
            // streamlit-folium reads a clicked layer's tooltip (as HTML, into a detached element)
            try { layer.fire("click", {latlng: at, layerPoint: map.latLngToLayerPoint(at),
                                       containerPoint: map.latLngToContainerPoint(at)}, true); } catch (e) {}
        }
        if (layer.getPopup && layer.getPopup() && at) { layer.openPopup(at); layer.closePopup(); opened++; }
    });
    for (let i = 0; i < nx; i++) {
        for (let j = 0; j < ny; j++) { points.push([(i + 0.5) * size.x / nx, (j + 0.5) * size.y / ny]); }
    }
    const seen = new Set(), out = [];
    for (const [x, y] of points) {
        const key = Math.round(x / 3) + "," + Math.round(y / 3);
        if (x < 2 || y < 2 || x > size.x - 2 || y > size.y - 2 || seen.has(key)) { continue; }
        seen.add(key);
        out.push([x, y]);
    }
    const r = map.getContainer().getBoundingClientRect();
    return {points: out, left: r.left, top: r.top, opened: opened};
}"""


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("xss")
    workspace = write_payload_workspace(folder)
    log = folder / "streamlit.log"
    try:
        with app_server(workspace, log=log, timeout_s=TIMEOUT_S) as url:
            yield url
    except RuntimeError as exc:
        pytest.fail(f"{exc}\n{log.read_text(errors='replace')[-3000:] if log.exists() else ''}")


@pytest.fixture(scope="module")
def context():
    try:
        with browser() as ctx:
            ctx.add_init_script(_WRAP_DIALOGS)
            yield ctx
    except RuntimeError as exc:  # Chromium or Playwright missing: fail with the fix, never skip
        pytest.fail(str(exc))


def _map_frames(page) -> list:
    return [f for f in page.frames if "streamlit_folium" in (f.url or "")]


def _hover_maps(page) -> tuple[int, int]:
    """Every map of the page gets its overlays on, its tooltips opened and the mouse over every
    target; returns (maps, mouse positions)."""
    maps = moves = 0
    for frame in _map_frames(page):
        try:
            frame.frame_element().scroll_into_view_if_needed()
            targets = frame.evaluate(_TARGETS, list(GRID))
        except Exception:  # a frame that went away with a rerun
            continue
        if not targets:
            continue
        maps += 1
        box = frame.frame_element().bounding_box()
        view = page.viewport_size
        for x, y in targets["points"]:
            px, py = box["x"] + targets["left"] + x, box["y"] + targets["top"] + y
            if 0 <= px < view["width"] and 0 <= py < view["height"]:
                page.mouse.move(px, py)
                moves += 1
        page.mouse.move(1, 1)
        page.wait_for_timeout(300)  # an image that fails to load reports a little later
    return maps, moves


def _hover_tables(page) -> int:
    moves = 0
    tables = page.locator("[data-testid='stDataFrame'], [data-testid='stTable']")
    for i in range(tables.count()):
        table = tables.nth(i)
        try:
            table.scroll_into_view_if_needed(timeout=5000)
            box = table.bounding_box()
        except Exception:
            continue
        if not box:
            continue
        for fx in (0.1, 0.3, 0.5, 0.7, 0.9):
            for fy in (0.05, 0.2, 0.4, 0.6, 0.8, 0.95):
                page.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
                moves += 1
    return moves


def _click_text(page, label: str) -> None:
    page.get_by_text(label, exact=True).first.click()
    settle(page, timeout_s=TIMEOUT_S)


def _coverage_steps(page) -> None:
    """The seal of the crossings without a checkpoint (the payload road classes name no trunk
    road), and new sites with a short solver limit."""
    box = page.locator(".st-key-gp_cv_seal_entries input").first
    box.click()
    box.press("ArrowDown")  # opens the list
    page.get_by_role("option", name=text("cv.entries.uncovered_crossings", "zh")).first.click()
    settle(page, timeout_s=TIMEOUT_S)
    limit = page.locator(".st-key-gp_cv_limit input").first
    limit.fill("5")
    limit.press("Enter")
    settle(page, timeout_s=TIMEOUT_S)
    page.get_by_role("button", name=text("cv.place.run", "zh")).first.click()
    settle(page, timeout_s=TIMEOUT_S)


def _briefing_steps(page) -> None:
    page.get_by_role("button", name=text("brief.page.build", "zh")).first.click()
    page.locator("iframe[title='st.iframe'], iframe[srcdoc]").first.wait_for(timeout=TIMEOUT_S * 1000)
    settle(page, timeout_s=TIMEOUT_S)


STEPS = {"overview": lambda page: _click_text(page, text("ov.show_table", "zh")),
         "coverage": _coverage_steps, "briefing": _briefing_steps}


def test_no_payload_runs_on_any_page(app, context):
    t0 = time.monotonic()
    dialogs: list[str] = []   # Playwright's dialog events
    calls: list[str] = []     # calls of the wrapped alert/confirm/prompt
    report: list[str] = []
    problems: list[str] = []
    for spec in PAGES:
        where = spec.url_path
        page = context.new_page()
        page.on("dialog", lambda d, w=where: (dialogs.append(f"{w}: {d.type}({d.message})"), d.dismiss()))
        page.on("console", lambda m, w=where: calls.append(f"{w}: {m.text}")
                if m.text.startswith("GP-DIALOG") else None)
        page.goto(f"{app}/{'' if spec is PAGES[0] else where}")  # the first page lives at /
        page.locator("h1, h2").filter(has_text=text(spec.title_key, "zh")).first.wait_for(timeout=TIMEOUT_S * 1000)
        settle(page, timeout_s=TIMEOUT_S)
        if where in STEPS:
            STEPS[where](page)
        try:
            drawn = maps_drawn(page, timeout_s=60)
        except TimeoutError as exc:
            drawn = len(_map_frames(page))
            problems.append(f"{where}: {exc}")
        if drawn < MAPS.get(where, 0):
            problems.append(f"{where}: {drawn} maps drawn, expected {MAPS[where]}")
            ARTIFACTS.mkdir(exist_ok=True)  # what the page showed, to look at
            page.screenshot(path=str(ARTIFACTS / f"xss_{where}.png"), full_page=True)
        errors = page.locator("[data-testid='stException']")
        if errors.count():
            problems.append(f"{where}: Streamlit exception {errors.first.inner_text()[:500]}")
        maps, moves = _hover_maps(page)
        moves += _hover_tables(page)
        page.wait_for_timeout(500)
        report.append(f"{where}: {maps} maps, {moves} mouse positions")
        page.close()
    per_page = Counter(d.split(":", 1)[0] for d in dialogs)
    print(f"{len(dialogs)} dialogs {dict(per_page)}, {len(calls)} wrapped calls in {time.monotonic() - t0:.0f} s; "
          + "; ".join(report))
    assert not dialogs and not calls, (
        f"{len(dialogs)} dialogs, {len(calls)} alert/confirm/prompt calls:\n"
        + "\n".join(sorted(set(dialogs))[:40] + sorted(set(calls))[:40]))
    assert not problems, "\n".join(problems)
