"""The app in a real browser: Streamlit on a free loopback port, headless Debian Chromium driven by
Playwright. The Leaflet map draws (offline: Leaflet is packaged) and hovering a cell shows that
cell, every page opens without a Streamlit exception and every map on it draws, the language
switches, screenshots are saved (test-artifacts/, and the README's docs/screenshots/).

Chromium comes from Debian (``make setup`` installs it as root); when it or Playwright is missing
the test fails with the fix rather than skipping.
"""
from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import pytest

from bench.bench_map import app_server, browser, map_frame
from tests._browser import TIMEOUT_S, maps_drawn, maps_readable, settle
from ui.i18n import text
from ui.pages import PAGES

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "boundaries" / "demo_county.gpkg"
ARTIFACTS = ROOT / "test-artifacts"
# README screenshots are refreshed only when asked (GRIDPATROL_SCREENSHOTS=1, `make screenshots`),
# so that a test run leaves the work tree clean.
SCREENSHOTS = ROOT / "docs" / "screenshots" if os.environ.get("GRIDPATROL_SCREENSHOTS") == "1" else None
# Maps each page shows as soon as it opens on the demo workspace (others appear after a button).
MAPS_ON_OPEN = {"audit": 3, "redistrict": 3, "coverage": 3, "patrol": 1, "districts": 1}


def _hover_cell(page, frame, lat: float, lon: float) -> str:
    """Move the mouse over (lat, lon) on the frame's Leaflet map; the tooltip text shown."""
    x, y = frame.evaluate("""([lat, lon]) => {
        const map = Object.values(window).find(v => v instanceof L.Map);
        const p = map.latLngToContainerPoint([lat, lon]);
        const r = map.getContainer().getBoundingClientRect();
        return [r.left + p.x, r.top + p.y];
    }""", [lat, lon])
    box = frame.frame_element().bounding_box()
    page.mouse.move(box["x"] + x, box["y"] + y)
    tooltip = frame.locator(".leaflet-tooltip")
    tooltip.first.wait_for(timeout=10_000)
    return tooltip.first.inner_text()


def _no_exception(page, where: str) -> None:
    errors = page.locator("[data-testid='stException']")
    if errors.count():
        raise AssertionError(f"{where}: Streamlit exception on the page:\n{errors.first.inner_text()[:2000]}")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    log = tmp_path_factory.mktemp("app") / "streamlit.log"
    try:
        with app_server(DEMO, log=log, timeout_s=TIMEOUT_S) as url:
            yield url
    except RuntimeError as exc:
        pytest.fail(f"{exc}\n{log.read_text(errors='replace')[-3000:] if log.exists() else ''}")


@pytest.fixture(scope="module")
def context():
    try:
        with browser() as ctx:
            yield ctx
    except RuntimeError as exc:  # Chromium or Playwright missing: fail with the fix, never skip
        pytest.fail(str(exc))


def test_overview_map_draws_and_language_switches(app, context):
    ARTIFACTS.mkdir(exist_ok=True)
    page = context.new_page()
    errors = _script_errors(page)
    page.goto(f"{app}/")
    frame = map_frame(page, timeout_s=TIMEOUT_S)
    assert frame.locator(".leaflet-container").count() == 1
    assert frame.locator(".leaflet-control-layers-overlays input").count() >= 5
    assert frame.locator(".leaflet-control-layers-expanded").count() == 0  # folded into its button
    settle(page)
    _no_exception(page, "overview")
    seen = maps_readable(page, _area_bounds(), "overview")  # its own roads; legend and control clear of the county
    assert seen[0]["inView"], seen
    assert page.locator("h1, h2").filter(has_text=text("page.overview", "zh")).count() >= 1
    page.screenshot(path=str(ARTIFACTS / "overview_zh.png"))
    if SCREENSHOTS:
        page.screenshot(path=str(SCREENSHOTS / "overview.png"))
    # Station labels as drawn: their text boxes do not cover each other.
    rects = frame.evaluate("""() => [...document.querySelectorAll('.leaflet-marker-icon > div')].map(d => {
        const r = document.createRange(); r.selectNodeContents(d); const b = r.getBoundingClientRect();
        return [d.textContent, b.left, b.top, b.right, b.bottom]; })""")
    assert len(rects) >= 11
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            assert min(a[3], b[3]) <= max(a[1], b[1]) or min(a[4], b[4]) <= max(a[2], b[2]), (a, b)
    # The cells are a picture coloured in the browser: hovering one shows its own attributes.
    from geo.workspace import read_workspace
    cells = read_workspace(DEMO, layers=["cells"]).layer("cells")
    cells = cells.loc[cells.geometry.area > 0.9 * cells.geometry.area.max()]  # whole cells
    for row in (cells.iloc[len(cells) // 3], cells.iloc[2 * len(cells) // 3]):
        inside = row.geometry.representative_point()
        lonlat = gpd.GeoSeries([inside], crs=cells.crs).to_crs("EPSG:4326").iloc[0]
        shown = _hover_cell(page, frame, lonlat.y, lonlat.x)
        values = dict(line.split("\t", 1) for line in shown.splitlines() if "\t" in line)
        assert values.get(text("field.cell_id", "zh")) == str(row["cell_id"]), (shown, row["cell_id"])
        assert values.get(text("field.station_id", "zh"), "").endswith(f"({row['station_id']})"), shown
    # Switch to English in the sidebar: the page title and the map's layer names follow.
    page.locator("[data-testid='stSidebar'] label").filter(has_text="English").first.click()
    page.locator("h1, h2").filter(has_text=text("page.overview", "en")).first.wait_for(timeout=TIMEOUT_S * 1000)
    settle(page)
    frame = map_frame(page, timeout_s=TIMEOUT_S)
    _no_exception(page, "overview (English)")
    page.screenshot(path=str(ARTIFACTS / "overview_en.png"))
    # Choices keep their value and show it in English (Streamlit keeps a choice as its label)
    checked = page.locator("[data-testid='stRadio'] label:has(input:checked)")
    assert text("ov.by.population", "en") in checked.all_inner_texts(), checked.all_inner_texts()
    library = page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox'] input").first.input_value()
    assert text("sb.local", "en", name="").strip().rstrip(":") in library, library
    assert not errors, f"JavaScript errors: {errors}"
    page.close()


def _area_bounds() -> list[list[float]]:
    """The demo area's bounds, [[south, west], [north, east]] in degrees."""
    from geo.workspace import read_workspace
    w, s, e, n = read_workspace(DEMO, layers=["area"]).layer("area").to_crs("EPSG:4326").total_bounds
    return [[float(s), float(w)], [float(n), float(e)]]


def _script_errors(page) -> list[str]:
    """Collects the page's uncaught JavaScript errors (its frames' included) from now on."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def _draw_districts(page) -> None:
    """The 警务区划分 page: five police districts in station S05, drawn on the map."""
    box = page.locator(".st-key-gp_pd_station input").first
    box.click()
    box.fill("S05")
    box.press("Enter")
    settle(page)
    k = page.locator(".st-key-gp_pd_k input").first
    k.fill("5")
    k.press("Enter")
    settle(page)
    page.get_by_role("button", name=text("pd.draw", "zh")).first.click()
    settle(page, timeout_s=240)
    assert maps_drawn(page) >= 1, "the districts drawn"


# What a planner does on a page before it is shown (and photographed).
ACTIONS = {"districts": _draw_districts}


@pytest.mark.parametrize("spec", PAGES[1:], ids=[s.url_path for s in PAGES[1:]])
def test_every_page_opens_without_exception(app, context, spec):
    page = context.new_page()
    errors = _script_errors(page)
    page.goto(f"{app}/{spec.url_path}")
    page.locator("h1, h2").filter(has_text=text(spec.title_key, "zh")).first.wait_for(timeout=TIMEOUT_S * 1000)
    settle(page)
    _no_exception(page, spec.url_path)
    assert "does not seem to exist" not in page.inner_text("body")
    assert maps_drawn(page) >= MAPS_ON_OPEN.get(spec.url_path, 0), spec.url_path
    maps_readable(page, _area_bounds(), spec.url_path)  # tiles off (the default): context, nothing over the area
    if spec.url_path in ACTIONS:
        ACTIONS[spec.url_path](page)
        _no_exception(page, spec.url_path)
        maps_readable(page, _area_bounds(), spec.url_path)
    assert not errors, f"{spec.url_path}: JavaScript errors {errors}"
    page.screenshot(path=str(ARTIFACTS / f"{spec.url_path}.png"), full_page=False)
    if SCREENSHOTS:
        page.screenshot(path=str(SCREENSHOTS / f"{spec.url_path}.png"), full_page=False)
    page.close()


# Streamlit's own texts as drawn: what each replaced element shows (its ::after) and whether
# Streamlit's English is hidden (font size 0).
_UPLOADER_WORDS = """z => [z.querySelector('[data-testid=stBaseButton-secondary] p'),
                           z.querySelector('[data-testid=stFileUploaderDropzoneInstructions] span')]
    .map(e => [getComputedStyle(e, '::after').content.replace(/^"|"$/g, ''), getComputedStyle(e).fontSize])"""


def test_streamlit_own_words_follow_the_language(app, context):
    """The file uploader (ui.chrome) says 浏览文件 and its limit in Chinese, English in English;
    the hint under a text field is Chinese too."""
    page = context.new_page()
    page.goto(f"{app}/data")
    page.locator("h1, h2").filter(has_text=text("page.data", "zh")).first.wait_for(timeout=TIMEOUT_S * 1000)
    settle(page)
    page.locator("[data-testid='stSidebar'] label").filter(has_text=text("sb.build", "zh")).first.click()
    dropzone = page.locator("[data-testid='stFileUploaderDropzone']").nth(1)  # the first is in a closed expander
    dropzone.wait_for(timeout=TIMEOUT_S * 1000)
    settle(page)
    assert dropzone.evaluate(_UPLOADER_WORDS) == [["浏览文件", "0px"], ["每个文件不超过 200 MB", "0px"]]
    # the first visible field: closed expanders (the PostGIS link form) hold hidden ones
    name = page.locator("[data-testid='stSidebar'] [data-testid='stTextInput'] input").locator("visible=true").first
    name.click()
    name.press_sequentially("abc")  # typed, not applied: Streamlit's "Press Enter to apply" shows
    hint = page.locator("[data-testid='InputInstructions'] > span").first
    hint.wait_for(state="attached", timeout=10_000)  # its own text is hidden (size 0)
    assert hint.evaluate("e => getComputedStyle(e, '::after').content") == '"按回车键确认"'
    dropzone.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "uploader_zh.png"))
    page.locator("[data-testid='stSidebar'] label").filter(has_text="English").first.click()
    page.locator("h1, h2").filter(has_text=text("page.data", "en")).first.wait_for(timeout=TIMEOUT_S * 1000)
    settle(page)
    dropzone = page.locator("[data-testid='stFileUploaderDropzone']").nth(1)
    assert dropzone.evaluate(_UPLOADER_WORDS) == [["Browse files", "0px"], ["At most 200 MB per file", "0px"]]
    dropzone.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "uploader_en.png"))
    page.close()
