"""The Coverage & checkpoints page: pure helpers on tiny literal data, and the page on the demo county."""
from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import CRS

from geo.coverage import coverage_from_facilities, response_areas
from geo.ring import Ring
from geo.stations import facilities_from_workspace
from geo.traveltime import engine_from_graph
from geo.workspace import Workspace
from tests.netutil import LINE, LINE_EDGES, METRIC, graph
from ui import page_coverage as pc

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "boundaries" / "demo_county.gpkg"


def _workspace(*, post_nodes: bool = True) -> Workspace:
    stations = gpd.GeoDataFrame({"station_id": ["S1", "S2"], "name": ["南关", "北关"], "node_id": ["A", "E"]},
                                geometry=[shapely.Point(0, 0), shapely.Point(4000, 0)], crs=METRIC)
    posts = gpd.GeoDataFrame({"post_id": ["P1", "P2"], "name": ["一号", "二号"], "kind": ["平台", "警务站"],
                              "turnout_min": [0.5, np.nan]},
                             geometry=[shapely.Point(1000, 0), shapely.Point(3000, 0)], crs=METRIC)
    if post_nodes:
        posts["node_id"] = ["B", "D"]
    cps = gpd.GeoDataFrame({"checkpoint_id": ["C1", "C2", "C3"], "road_class": ["national", "village", "expressway"]},
                           geometry=[shapely.Point(0, 10), shapely.Point(2000, 10), shapely.Point(4000, 10)],
                           crs=METRIC)
    return Workspace(crs=CRS(METRIC), meta={"name": "line"},
                     layers={"stations": stations, "posts": posts, "checkpoints": cps})


def _cells() -> gpd.GeoDataFrame:
    """One 200 m cell centred on each node A..E of the line (1 km apart)."""
    return gpd.GeoDataFrame({"cell_id": list("abcde"), "population": [100.0, 200.0, 300.0, 400.0, 500.0],
                             "incidents": [1, 2, 3, 4, 5]},
                            geometry=[shapely.box(x - 100, -100, x + 100, 100) for x, _ in LINE.values()], crs=METRIC)


@pytest.fixture(scope="module")
def line_coverage():
    G = graph(LINE, LINE_EDGES)  # 60 km/h: 1 km = 1 minute
    cells = _cells()
    cov = coverage_from_facilities(engine_from_graph(G), {"F1": "A"}, bands=(1, 3), cells=cells,
                                   cell_nodes=pd.Series(list("ABCDE"), index=cells.index))
    return cov


# ----------------------------------------------------------------------------------------------
# Pure helpers

def test_minutes_carry_their_unit_in_both_languages():
    assert pc.fmt_minutes(3.456) == "3.5 分钟"
    assert pc.fmt_minutes(12.0, "en") == "12.0 min"
    assert pc.fmt_minutes(None) == pc.fmt_minutes(float("inf")) == "—"


def test_band_colours_run_from_dark_green_to_red_beyond():
    c = pc.band_colours((1.0, 3.0, 5.0))
    assert list(c) == ["1", "3", "5", "beyond"]
    assert c["beyond"] == pc.BEYOND_COLOUR and len(set(c.values())) == 4
    assert c["1"] == "#006837"
    assert list(pc.band_colours([2.5])) == ["2.5", "beyond"]


def test_facilities_join_stations_and_posts_with_turnout():
    fac = facilities_from_workspace(_workspace(), units="both")
    assert fac["facility_id"].tolist() == ["S1", "S2", "P1", "P2"]
    assert fac["unit"].tolist() == ["station", "station", "post", "post"]
    assert fac["turnout_min"].tolist() == [0.0, 0.0, 0.5, 0.0]  # stations 0, a missing value 0
    assert fac["node_id"].tolist() == ["A", "E", "B", "D"]
    assert facilities_from_workspace(_workspace(), units="posts")["facility_id"].tolist() == ["P1", "P2"]
    # when some rows name no node, all are snapped by location instead
    assert "node_id" not in facilities_from_workspace(_workspace(post_nodes=False), units="both").columns
    with pytest.raises(ValueError, match="units"):
        facilities_from_workspace(_workspace(), units="cars")


def test_turnout_per_kind():
    tab = pc.turnout_by_kind(facilities_from_workspace(_workspace(), units="both")).set_index("kind")
    assert tab.loc["station", "count"] == 2 and tab.loc["平台", "turnout_min_most"] == 0.5


def test_band_table_counts_cumulatively_with_a_beyond_row(line_coverage):
    tab = pc.band_table(line_coverage, "en")
    assert tab["Band"].tolist() == ["within 1 min", "within 3 min", "beyond 3 min"]
    assert tab["Cells"].tolist() == [2, 4, 1]            # A, B | A..D | E
    assert tab["Population"].tolist() == [300, 1000, 500]
    assert tab["Share of population"].tolist() == ["20.0%", "66.7%", "33.3%"]


def test_exits_major_checkpoints_or_all_or_uncovered_crossings():
    cps = _workspace().layer("checkpoints")
    assert pc.exits_from("major_checkpoints", None, cps)["exit_id"].tolist() == ["C1", "C3"]
    assert pc.exits_from("checkpoints", None, cps)["exit_id"].tolist() == ["C1", "C2", "C3"]
    crossings = gpd.GeoDataFrame({
        "crossing_id": ["X1", "X2", "X3"], "u": ["A", "B", "C"], "v": ["B", "C", "D"],
        "outside_node": ["A", "B", "C"], "inside_node": ["B", "C", "D"], "direction": ["both", "out", "in"],
        "road_class": ["rural", "rural", "village"], "rank": [4, 4, 6], "checkpoint_id": [None, None, "C9"],
        "covered": [False, False, True]}, geometry=[shapely.Point(500, 0), shapely.Point(1500, 0),
                                                    shapely.Point(2500, 0)], crs=METRIC)
    ring = Ring(crossings=crossings, closed=False)
    got = pc.exits_from("uncovered_crossings", ring, None)
    assert got["exit_id"].tolist() == ["X1"] and got["node_id"].tolist() == ["B"]  # X2 only leads out
    with pytest.raises(ValueError, match="entries"):
        pc.exits_from("gates", ring, cps)


def test_seal_lines_join_unit_and_entry_with_the_network_minutes():
    fac = facilities_from_workspace(_workspace(), units="stations")
    exits = pc.exits_from("checkpoints", None, _workspace().layer("checkpoints"))
    assignment = pd.DataFrame({"exit": ["C1", "C3"], "unit": ["S1", "S2"], "minutes": [0.5, 0.7]})
    lines = pc.seal_lines(assignment, fac, exits)
    assert lines["minutes"].tolist() == [0.5, 0.7]
    assert lines.geometry.iloc[0].coords[:] == [(0.0, 0.0), (0.0, 10.0)]
    assert lines.crs == fac.crs


def test_coverage_map_colours_bands_outlines_areas_and_names_the_legend(line_coverage):
    fac = facilities_from_workspace(_workspace(), units="stations")
    m = pc.coverage_map(line_coverage, response_areas(line_coverage), fac, lang="en")
    out = m.get_root().render()
    colours = pc.band_colours(line_coverage.bands)
    assert colours["1"] in out and pc.BEYOND_COLOUR in out
    assert "within 3 min" in out and "beyond 3 min" in out and "Response areas (network Voronoi)" in out
    # The cells travel as an id raster: each cell's colour is its band's.
    from ui.cell_raster import CellRaster
    raster = next(el for el in m._children.values() if isinstance(el, CellRaster))
    d = json.loads(raster.packed.replace("\\'", "'").replace("\\\\", "\\"))
    bands = line_coverage.cells["band"].to_numpy(dtype=float)
    want = [colours[f"{b:g}" if np.isfinite(b) else "beyond"] for b in bands]
    assert [d["palette"][k] for k in d["cls"]] == want
    assert d["a"]["k"][:2] == ["cell_id", "band_label"] and d["labels"][1] == "Band (min)"


def test_seal_and_ring_maps_draw_minutes_and_markers(line_coverage):
    ws = _workspace()
    fac = facilities_from_workspace(ws, units="stations")
    exits = pc.exits_from("major_checkpoints", None, ws.layer("checkpoints"))
    lines = pc.seal_lines(pd.DataFrame({"exit": ["C1", "C3"], "unit": ["S1", "S2"], "minutes": [0.5, 2.25]}),
                          fac, exits)
    out = pc.seal_map(lines, fac, exits, lang="en").get_root().render()
    assert "2.2 min" in out or "2.3 min" in out
    area = gpd.GeoDataFrame({"name": ["x"]}, geometry=[shapely.box(500, -500, 3500, 500)], crs=METRIC)
    crossings = gpd.GeoDataFrame({"crossing_id": ["X1"], "u": ["A"], "v": ["B"], "direction": ["both"],
                                  "road_class": ["rural"], "checkpoint_id": [None], "covered": [False]},
                                 geometry=[shapely.Point(500, 0)], crs=METRIC)
    html = pc.ring_map(Ring(crossings=crossings, closed=False), area, ws.layer("checkpoints"), lang="en"
                       ).get_root().render()
    assert "Crossings without a checkpoint" in html and pc.UNCOVERED_COLOUR in html


# ----------------------------------------------------------------------------------------------
# The page on the demo county (two script runs: open, then add posts)

@pytest.mark.skipif(not DEMO.exists(), reason="data/boundaries/demo_county.gpkg not generated yet")
def test_coverage_page_on_the_demo_county(monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("GRIDPATROL_WORKSPACE", str(DEMO))
    monkeypatch.setenv("GRIDPATROL_PAGE", "coverage")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert "响应与卡口" in [h.value for h in at.header]
    metrics = {m.label: m.value for m in at.metric}
    # docs/briefing.md, demo: 11.9 % / 47.2 % / 63.7 % within 1/3/5 min, 1,987 cells beyond 5 min
    assert [metrics[f"{m} 分钟内人口"] for m in (1, 3, 5)] == ["11.9%", "47.2%", "63.7%"]
    assert metrics["超过 5 分钟的网格"] == "1,987"
    assert metrics["卡口圈"] in ("已闭合", "未闭合")
    assert metrics["道路出入口"] == "32" and metrics["无卡口"] == "6" and metrics["卡口圈"] == "未闭合"
    assert metrics["全部封控用时"] == "12.7 分钟"  # 10 major checkpoints by 11 stations (bench: 12.72)
    assert metrics["最长响应时间"].endswith("分钟")
    labels = [b.label for b in at.get("download_button")]
    assert len(labels) >= 9 and any("GeoJSON" in label for label in labels)

    at.button(key="gp_cv_place_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    metrics = {m.label: m.value for m in at.metric}
    before, after = metrics["现有：5 分钟内人口"], metrics["新增后：5 分钟内人口"]
    def share(metric: str) -> float:
        return float(metric.rsplit("(", 1)[1].rstrip("%)"))
    assert share(after) > share(before)
    assert metrics["单位数"] == "23 → 26" and metrics["求解状态"] == "最优"


def test_package_warnings_are_captured_for_the_page(caplog):
    import logging

    with pc.captured_warnings() as notes:
        logging.getLogger("geo.network").warning("2 facilities lie farther than %g m", 500)
        logging.getLogger("other").warning("not ours")
    assert notes == ["2 facilities lie farther than 500 m"]


# ----------------------------------------------------------------------------------------------
# Map caching on the tiny workspace: a rerun sends the stored maps; a map is rebuilt when
# something it shows changes, and only then.

_CV_MAPS = {"gp_cv_map", "gp_cv_ring_map", "gp_cv_seal_map"}


@pytest.fixture
def cv_spy(monkeypatch, tmp_path):
    from geo.workspace import write_workspace
    from tests._apptest import MapSpy, tiny_workspace

    path = write_workspace(tiny_workspace(), tmp_path / "tiny.gpkg")
    spy = MapSpy(monkeypatch, pc, "coverage_map", "ring_map", "seal_map", "placement_map")
    at = spy.open(monkeypatch, path, "coverage")
    assert spy.built == {k: 1 for k in _CV_MAPS}
    return spy, at


def test_coverage_maps_are_cached_until_their_options_change(cv_spy):
    from tests._apptest import assert_rebuilt

    spy, at = cv_spy
    first = dict(spy.sent)
    at.number_input(key="gp_cv_k").set_value(2)  # a placement option, not run yet
    spy.run(at)
    assert_rebuilt(spy, first, changed=set(), kept=_CV_MAPS)

    at.text_input(key="gp_cv_bands").input("2,4")
    spy.run(at)
    assert_rebuilt(spy, first, changed={"gp_cv_map"}, kept={"gp_cv_ring_map", "gp_cv_seal_map"})
    bands = dict(spy.sent)

    at.selectbox(key="gp_cv_units").set_value("stations")
    spy.run(at)
    assert_rebuilt(spy, bands, changed={"gp_cv_map"}, kept={"gp_cv_ring_map", "gp_cv_seal_map"})
    units = dict(spy.sent)

    at.checkbox(key="gp_cv_one_speed").check()  # one speed on every road: other minutes
    spy.run(at)
    assert_rebuilt(spy, units, changed={"gp_cv_map", "gp_cv_seal_map"}, kept={"gp_cv_ring_map"},
                   same_content={"gp_cv_map", "gp_cv_seal_map"})  # 60 km/h, as on the tiny primary road
    at.number_input(key="gp_cv_speed").set_value(30.0)
    spy.run(at)
    assert_rebuilt(spy, units, changed={"gp_cv_map", "gp_cv_seal_map"}, kept={"gp_cv_ring_map"})
    speed = dict(spy.sent)

    at.selectbox(key="gp_cv_seal_units").set_value("posts")
    spy.run(at)
    assert_rebuilt(spy, speed, changed={"gp_cv_seal_map"}, kept={"gp_cv_map", "gp_cv_ring_map"})
    posts = dict(spy.sent)

    at.number_input(key="gp_cv_tol").set_value(0.0)  # the ring is recomputed (and the seal keyed by it)
    spy.run(at)
    assert_rebuilt(spy, posts, changed={"gp_cv_ring_map", "gp_cv_seal_map"},
                   same_content={"gp_cv_ring_map", "gp_cv_seal_map"}, kept={"gp_cv_map"})
    tol = dict(spy.sent)

    at.sidebar.radio(key="lang").set_value("en")  # legends and layer names in English
    spy.run(at)
    assert_rebuilt(spy, tol, changed=_CV_MAPS)


def test_placement_map_is_cached_per_solution(cv_spy):
    from tests._apptest import assert_rebuilt

    spy, at = cv_spy
    at.button(key="gp_cv_place_run").click()
    spy.run(at)
    assert spy.built == {"gp_cv_place_map": 1}
    one = dict(spy.sent)
    spy.run(at)
    assert_rebuilt(spy, one, changed=set(), kept=_CV_MAPS | {"gp_cv_place_map"})

    # tiny network: 3 new sites within 5 min add only node 3, 1 site within 0.5 min is node 1
    at.number_input(key="gp_cv_k").set_value(1)
    at.number_input(key="gp_cv_T").set_value(0.5)
    at.button(key="gp_cv_place_run").click()
    spy.run(at)
    assert_rebuilt(spy, one, changed={"gp_cv_place_map"}, kept=_CV_MAPS)
    other = dict(spy.sent)

    at.sidebar.radio(key="lang").set_value("en")
    spy.run(at)
    assert_rebuilt(spy, other, changed=_CV_MAPS | {"gp_cv_place_map"})
