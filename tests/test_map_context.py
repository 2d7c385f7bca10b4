"""What every map shares (ui.maps): the context beneath its lines (roads, area, station
jurisdictions), a folding legend, a folded layer control, a view fitted clear of the controls;
and the pages' shared caches and first-map head start (ui.mapview, the audit and patrol pages)."""
from __future__ import annotations

import time

import folium
import numpy as np
import pytest
import shapely
from shapely.geometry import shape
from streamlit.testing.v1 import AppTest

from tests._apptest import tiny_workspace
from tests._payloads import RAW_MARKERS
from tests._xss import check_map
from ui import maps
from ui.colors import road_style, workspace_station_colors
from ui.i18n import text
from ui.mapview import map_payload


@pytest.fixture(scope="module")
def tiny():
    return tiny_workspace()


@pytest.fixture(scope="module")
def context(tiny):
    return maps.map_context(tiny)


def _layers_in_pane(m: folium.Map, pane: str) -> list:
    return [c for c in m._children.values() if isinstance(c, folium.GeoJson) and c.options.get("pane") == pane]


def test_context_holds_the_area_the_jurisdictions_in_their_colours_and_the_roads(tiny, context):
    # The area's bounds, reprojected independently.
    w, s, e, n = tiny.layer("area").to_crs("EPSG:4326").total_bounds
    assert context.bounds == pytest.approx((w, s, e, n), abs=2e-5)  # rounded to 1e-5 degrees
    assert context.bounds == pytest.approx((113.85, 34.25, 113.95, 34.35), abs=1e-4)  # the box as built
    # Jurisdictions: both stations, each outlined in its overview colour.
    colours = workspace_station_colors(tiny)
    props = {f["properties"]["station_id"]: f["properties"] for f in context.jurisdictions["features"]}
    assert set(props) == {"S1", "S2"}
    assert {sid: p["_colour"] for sid, p in props.items()} == {"S1": colours["S1"], "S2": colours["S2"]}
    assert props["S1"]["name"] == "南关派出所"
    south = next(shape(f["geometry"]) for f in context.jurisdictions["features"]
                 if f["properties"]["station_id"] == "S1")
    assert south.bounds[1] == pytest.approx(34.25, abs=1e-4) and south.bounds[3] == pytest.approx(34.30, abs=1e-4)
    # Roads: the two-way primary road once and the residential street, styled by class.
    road_colours = {f["properties"]["_colour"] for f in context.roads["features"]}
    assert road_colours == {road_style("primary")[0], road_style("residential")[0]}
    length = sum(shape(f["geometry"]).length for f in context.roads["features"])
    assert length == pytest.approx(0.10, abs=1e-3)  # 113.85 -> 113.95 along 34.30: 0.1 degree, not 0.15


def test_context_of_a_workspace_without_those_layers_is_empty():
    ws = tiny_workspace()
    bare = type(ws)(crs=ws.crs, meta=ws.meta, layers={"stations": ws.layer("stations")})
    ctx = maps.map_context(bare)
    assert (ctx.jurisdictions, ctx.area, ctx.roads, ctx.bounds) == (None, None, None, None)
    m = folium.Map(tiles=None)
    maps.add_context(m, ctx)
    assert not _layers_in_pane(m, maps.CONTEXT_PANE)


def test_context_goes_in_its_own_pane_beneath_the_layers_and_roads_only_without_a_basemap(context):
    bare = folium.Map(tiles=None)
    maps.add_context(bare, context, lang="en")
    shown = _layers_in_pane(bare, maps.CONTEXT_PANE)
    assert [layer.layer_name for layer in shown] == [text(f"layer.{name}", "en")
                                                     for name in ("road_edges", "jurisdictions", "area")]
    assert all(layer.options.get("interactive") is False for layer in shown)
    panes = [c for c in bare._children.values() if isinstance(c, folium.map.CustomPane)]
    assert [(p.name, p.z_index) for p in panes] == [(maps.CONTEXT_PANE, 390)]  # over cells (350), under 400
    maps.add_context(bare, context, lang="en", roads=False)  # a second call: one pane still
    assert len([c for c in bare._children.values() if isinstance(c, folium.map.CustomPane)]) == 1

    with_tiles = folium.Map(tiles="OpenStreetMap")  # tiles show roads: none drawn again
    maps.add_context(with_tiles, context)
    assert len(_layers_in_pane(with_tiles, maps.CONTEXT_PANE)) == 2
    background = folium.Map(tiles=None)  # the drawn background of ui.basemap shows them too
    folium.map.CustomPane("gp-background", z_index=150).add_to(background)
    maps.add_context(background, context, jurisdictions=False)
    assert len(_layers_in_pane(background, maps.CONTEXT_PANE)) == 1  # the area only
    # A map zoomed on one station brings its own streets; they replace the context's.
    own = {"type": "FeatureCollection", "features": context.roads["features"][:1]}
    zoomed = folium.Map(tiles=None)
    folium.map.CustomPane("gp-background", z_index=150).add_to(zoomed)
    maps.add_context(zoomed, context, roads=own, jurisdictions=False, area=False)
    (roads,) = _layers_in_pane(zoomed, maps.CONTEXT_PANE)
    assert [f["geometry"] for f in roads.data["features"]] == [f["geometry"] for f in own["features"]]


def test_legend_folds_and_shows_names_as_text():
    m = folium.Map(tiles=None)
    evil = RAW_MARKERS[0] if RAW_MARKERS else "<img src=x onerror=alert(1)>"
    maps.add_legend(m, [maps.legend_swatch("#ff0000", evil), maps.legend_swatch("#00ff00", "派出所", shape="dot")],
                    lang="zh")
    (legend,) = [c for c in m._children.values() if isinstance(c, maps._Legend)]
    assert legend.content.startswith("<details open")
    assert "<summary" in legend.content and "图例" in legend.content
    assert evil not in legend.content and "派出所" in legend.content
    maps.add_legend(m, [], lang="en", title="<b>x</b>")
    assert "&lt;b&gt;x&lt;/b&gt;" in [c for c in m._children.values() if isinstance(c, maps._Legend)][-1].content
    check_map(m, "legend")


def test_layer_control_is_folded():
    m = maps.add_layer_control(folium.Map(tiles=None))
    (control,) = [c for c in m._children.values() if isinstance(c, folium.LayerControl)]
    assert control.options["collapsed"] is True and control.options["position"] == "topright"


def test_fit_area_replaces_itself_ignores_bad_bounds_and_runs_after_every_control():
    m = folium.Map(tiles=None)
    maps.fit_area(m, (113.8, 34.2, 114.0, 34.4))
    maps.fit_area(m, (113.85, 34.25, 113.95, 34.35))  # replaces the first
    maps.fit_area(m, (np.nan, 34.25, 113.95, 34.35))  # ignored
    fits = [c for c in m._children.values() if isinstance(c, maps._FitArea)]
    assert [f.bounds for f in fits] == [[[34.25, 113.85], [34.35, 113.95]]]  # [[south, west], [north, east]]
    maps.add_legend(m, [maps.legend_swatch("#123456", "a")])
    maps.add_layer_control(m)
    payload = map_payload(m, key="fit")
    script = payload["script"]
    assert script.rfind("fitBounds") > script.rfind("L.control.layers") > 0  # fitted once controls exist
    assert script.rfind("fitBounds") > script.rfind("gridpatrol-legend") > 0
    assert "zoomSnap = 0.25" in script


def test_overview_map_has_a_folded_control_a_folding_legend_and_a_fitted_view(tiny):
    display = maps.display_layers(tiny)
    m = maps.overview_map(display, lang="zh")
    controls = [c for c in m._children.values() if isinstance(c, folium.LayerControl)]
    assert [c.options["collapsed"] for c in controls] == [True]
    fits = [c for c in m._children.values() if isinstance(c, maps._FitArea)]
    w, s, e, n = display.bounds
    assert [f.bounds for f in fits] == [[[s, w], [n, e]]]
    check_map(m, "overview")


def test_context_maps_stay_free_of_markup(context):
    m = folium.Map(tiles=None)
    maps.add_context(m, context, lang="zh")
    maps.fit_area(m, context.bounds)
    page = check_map(m, "context")
    assert "gp-context" in page


_HEAD_START_SCRIPT = """
import time
import streamlit as st
from ui.mapview import first_map_head_start
t0 = time.perf_counter()
first = first_map_head_start("p", seconds=2.0)
again = first_map_head_start("p", seconds=2.0)
st.write(f"{first} {again} {time.perf_counter() - t0:.2f}")
"""


def test_head_start_waits_only_for_a_browser_and_once_per_page():
    """Without a browser (AppTest sends no request headers) nothing waits; the page is marked."""
    from pathlib import Path
    root = str(Path(__file__).resolve().parents[1])
    at = AppTest.from_string(f"import sys\nsys.path.insert(0, {root!r})\n" + _HEAD_START_SCRIPT).run()
    assert not at.exception
    first, again, seconds = at.markdown[0].value.split()
    assert (first, again) == ("False", "False") and float(seconds) < 1.0
    assert "p" in at.session_state["gp_map_head_start"]


def test_audit_results_are_shared_by_sessions(monkeypatch, tmp_path):
    """A second visit (a new session) draws the audit from the first one's result."""
    import ui.page_audit as pa
    from geo.workspace import write_workspace
    path = write_workspace(tiny_workspace(), tmp_path / "tiny.gpkg")
    calls = []
    real = pa._run
    monkeypatch.setattr(pa, "_run", lambda ws, opts: calls.append(opts) or real(ws, opts))
    pa._shared_audit.clear()
    monkeypatch.setenv("GRIDPATROL_WORKSPACE", str(path))
    monkeypatch.setenv("GRIDPATROL_PAGE", "audit")
    from tests._apptest import APP
    started = time.perf_counter()
    for _ in range(2):
        at = AppTest.from_file(APP, default_timeout=120).run()
        assert not at.exception, at.exception
    assert len(calls) == 1, calls
    assert time.perf_counter() - started < 120
    pa._shared_audit.clear()


def test_context_roads_meet_the_area(context):
    area = shape(context.area["features"][0]["geometry"])
    assert all(area.buffer(1e-3).intersects(shape(f["geometry"])) for f in context.roads["features"])
    assert shapely.get_num_geometries(area) == 1
