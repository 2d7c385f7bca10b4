"""The Redistricting page: renders, optimises, edits with undo, saves versions; and its pure helpers."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box, mapping
from streamlit.testing.v1 import AppTest

from geo.errors import InputError
from geo.workspace import read_workspace, write_workspace
from planning.editing import History, reassign
from planning.plan import Plan, district_graph
from tests._apptest import tiny_workspace
from tests._grids import grid_cells, stations_at

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
DEMO = ROOT / "data" / "boundaries" / "demo_county.gpkg"
TIMEOUT = 300


@pytest.fixture
def on_page(monkeypatch):
    def use(path: Path) -> AppTest:
        monkeypatch.setenv("GRIDPATROL_WORKSPACE", str(path))
        monkeypatch.setenv("GRIDPATROL_PAGE", "redistrict")
        return AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    return use


@pytest.fixture
def tiny(tmp_path) -> Path:
    return write_workspace(tiny_workspace(), tmp_path / "tiny.gpkg")


def _clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _metric(at: AppTest, label: str) -> str:
    values = [m.value for m in at.metric if m.label == label]
    assert values, [m.label for m in at.metric]
    return values[0]


def _independent_max_dev(path: Path, labels: pd.Series, weights: str = "incidents=1") -> str:
    """The max deviation of ``labels`` recomputed from the file, without the page's graph."""
    cells = gpd.read_file(path, layer="cells")
    stations = gpd.read_file(path, layer="stations")
    g = district_graph(cells, stations, weights=weights)
    plan = Plan.from_labels(g, labels, fill=False, force_station_cells=False)
    return f"{plan.max_deviation:.2%}"


# --- the page in the app ------------------------------------------------------------------------

def test_demo_county_renders_and_optimises(tmp_path, on_page):
    path = shutil.copy(DEMO, tmp_path / "demo.gpkg")
    before = DEMO.stat().st_mtime
    at = on_page(Path(path))
    _clean(at)
    assert "辖区调整" in [h.value for h in at.header]
    current = _metric(at, "最大工作量偏差")
    assert current == _independent_max_dev(Path(path), at.session_state["gp_rd_hist"].current.labels)
    at.number_input(key="gp_rd_limit").set_value(2)
    at.button(key="gp_rd_run").click().run()
    _clean(at)
    hist = at.session_state["gp_rd_hist"]
    shown = _metric(at, "最大工作量偏差")
    assert shown != current and hist.can_undo and hist.labels[-1] == "optimiser"
    assert shown == _independent_max_dev(Path(path), hist.current.labels)
    assert float(shown.rstrip("%")) <= 5.0
    assert _metric(at, "辖区连通") == "是"
    assert int(_metric(at, "改动网格 (相对现状)")) == int((hist.current.assignment != hist.past[0].assignment).sum())
    assert DEMO.stat().st_mtime == before


def test_edit_by_ids_changes_metrics_and_undo_restores(tiny, on_page):
    at = on_page(tiny)
    _clean(at)
    plan = at.session_state["gp_rd_hist"].current
    start = {m.label: m.value for m in at.metric}
    g = plan.graph
    s1 = [c for c in plan.cells_of("S1").tolist() if c not in set(g.cell_ids[g.station_cell].tolist())]
    ids = s1[:6]
    at.text_input(key="gp_rd_ids").input(", ".join(map(str, ids)))
    at.selectbox(key="gp_rd_ids_st").set_value("S2")
    at.button(key="gp_rd_apply_ids").click().run()
    _clean(at)
    edited = at.session_state["gp_rd_hist"].current
    assert set(edited.changed_cells(plan).tolist()) == set(ids)
    after = {m.label: m.value for m in at.metric}
    assert after["改动网格 (相对现状)"] == "6"
    assert after["最大工作量偏差"] != start["最大工作量偏差"]
    assert after["最大工作量偏差"] == _independent_max_dev(tiny, edited.labels)
    at.button(key="gp_rd_undo").click().run()
    _clean(at)
    assert {m.label: m.value for m in at.metric} == start
    at.button(key="gp_rd_redo").click().run()
    assert _metric(at, "最大工作量偏差") == after["最大工作量偏差"]


def test_saving_appends_plans_with_their_parent(tiny, on_page):
    at = on_page(tiny)
    plan = at.session_state["gp_rd_hist"].current
    moved = plan.cells_of("S1")[:3].tolist()
    at.text_input(key="gp_rd_ids").input(",".join(map(str, moved)))
    at.selectbox(key="gp_rd_ids_st").set_value("S2")
    at.button(key="gp_rd_apply_ids").click().run()
    at.text_input(key="gp_rd_name").input("第一版")
    at.text_input(key="gp_rd_note").input("测试")
    at.button(key="gp_rd_save").click().run()
    _clean(at)
    ws = read_workspace(tiny)
    plans = pd.DataFrame(ws.layers["plans"])
    assert plans["plan_id"].tolist() == [1] and pd.isna(plans["parent_id"].iloc[0])
    assert plans["name"].iloc[0] == "第一版" and plans["note"].iloc[0] == "测试"
    # A second edit saved: one more row, derived from the first.
    at.text_input(key="gp_rd_ids").input(str(plan.cells_of("S1")[3]))
    at.button(key="gp_rd_apply_ids").click().run()
    at.text_input(key="gp_rd_name").input("第二版")
    at.button(key="gp_rd_save").click().run()
    _clean(at)
    ws = read_workspace(tiny)
    plans = pd.DataFrame(ws.layers["plans"])
    assert len(plans) == 2 and int(plans["parent_id"].iloc[1]) == 1
    cells = pd.DataFrame(ws.layers["plan_cells"])
    second = cells[cells["plan_id"] == 2].set_index("cell_id")["station_id"]
    edited = at.session_state["gp_rd_hist"].current.labels
    edited.index = edited.index.astype(str)  # ids are stored as text
    assert second.reindex(edited.index).tolist() == edited.astype(str).tolist()
    first = cells[cells["plan_id"] == 1].set_index("cell_id")["station_id"]
    assert (first.loc[[str(c) for c in moved]] == "S2").all() and len(first) == len(second)
    assert plans["author"].tolist() == ["local", "local"]  # local mode: no accounts
    # The history table lists both, and comparing the saved plans runs.
    assert any("第二版" in str(df.value.to_dict()) for df in at.dataframe)
    at.selectbox(key="gp_rd_cmp_a").set_value("plan:1")
    at.selectbox(key="gp_rd_cmp_b").set_value("plan:2")
    at.run()
    _clean(at)
    assert _metric(at, "改动网格") == "1"


def test_page_in_english_and_without_cells(tiny, tmp_path, on_page):
    at = on_page(tiny)
    at.sidebar.radio(key="lang").set_value("en").run()
    _clean(at)
    assert "Redistricting" in [h.value for h in at.header]
    assert "Max workload deviation" in [m.label for m in at.metric]
    ws = read_workspace(tiny)
    bare = write_workspace(type(ws)(crs=ws.crs, meta=ws.meta,
                                    layers={k: v for k, v in ws.layers.items() if k != "cells"}),
                           tmp_path / "bare.gpkg")
    at = on_page(bare)
    _clean(at)
    assert any("cells" in i.value for i in at.info)



def test_plan_maps_are_cached_until_the_plans_they_show_change(tiny, monkeypatch):
    import ui.page_redistrict
    from tests._apptest import MapSpy, assert_rebuilt

    cur, edit, cmp_ = "gp_rd_map_cur", "gp_rd_map_edit", "gp_rd_map_cmp"
    spy = MapSpy(monkeypatch, ui.page_redistrict, "plan_map")
    at = spy.open(monkeypatch, tiny, "redistrict", timeout=TIMEOUT)
    assert spy.built == {cur: 1, edit: 1, cmp_: 1}
    first = dict(spy.sent)

    at.text_input(key="gp_rd_name").input("草案")  # the plan's name: no map shows it
    spy.run(at)
    assert_rebuilt(spy, first, changed=set(), kept={cur, edit, cmp_})

    plan = at.session_state["gp_rd_hist"].current
    g = plan.graph
    moved = [c for c in plan.cells_of("S1").tolist() if c not in set(g.cell_ids[g.station_cell].tolist())][:4]
    at.text_input(key="gp_rd_ids").input(", ".join(map(str, moved)))
    at.selectbox(key="gp_rd_ids_st").set_value("S2")
    at.button(key="gp_rd_apply_ids").click()
    spy.run(at)
    assert_rebuilt(spy, first, changed={edit, cmp_}, kept={cur})
    edited = dict(spy.sent)

    at.button(key="gp_rd_undo").click()  # back to the first plan: its maps come from the cache
    spy.run(at)
    assert_rebuilt(spy, first, changed=set(), kept={cur, edit, cmp_})

    at.button(key="gp_rd_redo").click()
    spy.run(at)
    assert_rebuilt(spy, edited, changed=set(), kept={cur, edit, cmp_})

    at.selectbox(key="gp_rd_cmp_b").set_value("current")  # the current plan with itself: as at first
    spy.run(at)
    assert_rebuilt(spy, {**edited, cmp_: first[cmp_]}, changed=set(), kept={cur, edit, cmp_})
    assert spy.sent[cmp_] != edited[cmp_]
    at.selectbox(key="gp_rd_cmp_a").set_value("edited")  # only the "before" side: other changed cells
    spy.run(at)
    assert_rebuilt(spy, {**edited, cmp_: first[cmp_]}, changed={cmp_}, kept={cur, edit})
    same = dict(spy.sent)

    at.multiselect(key="gp_rd_wcols").set_value(["population"])  # other deviations in the tooltips
    spy.run(at)
    assert_rebuilt(spy, same, changed={cur, edit, cmp_})
    population = dict(spy.sent)

    # The plan maps show no translated text today (their titles name layers, without a layer
    # control), but are keyed by the language all the same.
    at.sidebar.radio(key="lang").set_value("en")
    spy.run(at)
    assert_rebuilt(spy, population, changed={cur, edit, cmp_}, same_content={cur, edit, cmp_})


# --- pure helpers -------------------------------------------------------------------------------

@pytest.fixture
def strip():
    cells = grid_cells(4, 2, townships=["A", "A", "B", "B"] * 2)
    cells["station_id"] = ["S0", "S0", "S1", "S1"] * 2
    cells["incidents"] = [1, 1, 1, 1, 1, 1, 1, 5]
    st = stations_at(cells, [0, 3])
    g = district_graph(cells, st)
    return g, Plan.from_labels(g, cells.set_index("cell_id")["station_id"])


def test_weight_spec_and_columns():
    from ui.page_redistrict import weight_columns, weight_spec

    assert weight_spec({"incidents": 2, "population": 1.0, "area": 0}) == "incidents=2,population=1"
    cells = gpd.GeoDataFrame({"cell_id": [1], "population": [3.0], "incidents": [2], "name": ["x"],
                              "station_id": ["S1"], "area_m2": [1.0]}, geometry=[box(0, 0, 1, 1)])
    assert weight_columns(cells) == ["population", "incidents", "area"]


def test_parse_ids():
    from ui.page_redistrict import parse_ids

    assert parse_ids("1, 2，3 5-7、A9") == ["1", "2", "3", "5", "6", "7", "A9"]
    assert parse_ids("  ") == []
    with pytest.raises(InputError, match="runs backwards"):
        parse_ids("9-3")


def test_edit_plan_respects_locks_and_station_cells(strip):
    from planning.editing import reassign_unlocked as edit_plan

    g, plan = strip
    new, kept = edit_plan(plan, ["1", "2", "3"], "S0", locked_cells=[2])
    assert kept == [2, 3]  # 2 locked, 3 holds station S1
    assert new.changed_cells(plan).tolist() == []  # 1 was S0 already
    new, kept = edit_plan(plan, [6], "S0")
    assert new.labels[6] == "S0" and kept == [] and plan.labels[6] == "S1"
    new, kept = edit_plan(plan, [1, 6], "S0", locked_stations=["S1"])
    assert kept == [6]
    with pytest.raises(InputError, match="locked"):
        edit_plan(plan, [1], "S1", locked_stations=["S1"])
    with pytest.raises(InputError, match="nothing moved"):
        edit_plan(plan, [3], "S0")
    with pytest.raises(InputError, match="not cells"):
        edit_plan(plan, [99], "S0")


def test_rebased_history_follows_a_rebuilt_graph(strip):
    from planning.editing import rebased_history as rebased

    g, plan = strip
    h = History.start(plan).push(reassign(plan, [2], "S0"), "e").lock([5])
    g2 = district_graph(g.cells, g.stations, weights="incidents=2")
    h2 = rebased(h, g2)
    assert h2.current.graph is g2 and h2.past[0].graph is g2 and h2.locked == h.locked
    assert np.array_equal(h2.current.assignment, h.current.assignment)
    assert rebased(h, g) is h
    other = district_graph(g.cells.iloc[:4], g.stations)
    assert rebased(h, other) is None


def test_workload_table_and_chart(strip):
    from ui.page_redistrict import deviation_chart, workload_table

    g, plan = strip
    after = reassign(plan, [7], "S0")
    table = workload_table(plan, after)
    assert table["station_id"].tolist() == ["S0", "S1"]
    assert table["cells_before"].tolist() == [4, 4] and table["cells_after"].tolist() == [5, 3]
    np.testing.assert_allclose(table["workload_before"].sum(), 100.0)
    np.testing.assert_allclose(table["deviation_after"], after.deviation.to_numpy() * 100)
    assert table["incidents_after"].tolist() == [9, 3]
    chart = deviation_chart(plan, after)
    assert list(chart.columns) == ["before", "after"]
    np.testing.assert_allclose(chart["before"].abs().max(), plan.max_deviation * 100)
    assert list(deviation_chart(None, after).columns) == ["after"]


def test_lasso_polygon_reprojects_the_drawing():
    from ui.page_redistrict import lasso_polygon

    square = gpd.GeoSeries([box(500_000, 3_800_000, 501_000, 3_801_000)], crs="EPSG:4547")
    drawing = {"type": "Feature", "properties": {}, "geometry": mapping(square.to_crs(4326).iloc[0])}
    poly = lasso_polygon(drawing, "EPSG:4547")
    assert abs(poly.area - 1e6) < 1e3
    assert lasso_polygon(None, "EPSG:4547") is None
    assert lasso_polygon({"geometry": {"type": "Point", "coordinates": [114, 34]}}, "EPSG:4547") is None


def test_plan_choices_and_export(strip):
    from ui.page_redistrict import _export, plan_choices

    g, plan = strip
    versions = pd.DataFrame({"plan_id": [1, 3], "name": ["a", "b"]})
    assert plan_choices(plan, versions) == ["edited", "current", "plan:1", "plan:3"]
    assert plan_choices(None, versions.iloc[:0]) == ["edited"]
    gj = json.loads(_export(plan, ".geojson"))
    assert sorted(f["properties"]["station_id"] for f in gj["features"]) == ["S0", "S1"]
    gpkg = _export(plan, ".gpkg")
    assert gpkg[:15] == b"SQLite format 3"


def test_plan_map_colours_and_draw_tool():
    from ui.colors import station_colors
    from ui.page_redistrict import plan_map

    districts = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"station_id": "S0"},
         "geometry": mapping(box(114.0, 34.0, 114.01, 34.01))}]}
    stations = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"station_id": "S0", "name": "x"},
         "geometry": {"type": "Point", "coordinates": [114.005, 34.005]}}]}
    colours = station_colors(["S0", "S1"])
    html = plan_map(districts, stations, colours, bounds=(114.0, 34.0, 114.01, 34.01),
                    draw=True).get_root().render()
    assert colours["S0"] in html and "L.Control.Draw" in html


# --- several planners, reloads, roles ----------------------------------------------------------

def test_edit_history_survives_a_reload(tiny, on_page):
    at = on_page(tiny)
    plan = at.session_state["gp_rd_hist"].current
    moved = plan.cells_of("S1")[:2].tolist()
    at.text_input(key="gp_rd_ids").input(",".join(map(str, moved)))
    at.selectbox(key="gp_rd_ids_st").set_value("S2")
    at.button(key="gp_rd_apply_ids").click().run()
    at.button(key="gp_rd_undo").click().run()
    at.button(key="gp_rd_redo").click().run()
    edited = at.session_state["gp_rd_hist"]
    again = on_page(tiny)  # a new browser session: reload
    _clean(again)
    restored = again.session_state["gp_rd_hist"]
    assert restored.current == edited.current and len(restored.past) == len(edited.past) == 1
    assert any("恢复" in i.value for i in again.info)
    again.button(key="gp_rd_undo").click().run()
    assert again.session_state["gp_rd_hist"].current == plan


def test_a_viewer_cannot_save_a_plan(tiny, monkeypatch, tmp_path):
    from server.accounts import AccountStore
    data = tmp_path / "data"
    AccountStore(data).add("zhao", role="viewer", password="viewer-pass-1")
    monkeypatch.setenv("GRIDPATROL_DATA", str(data))
    monkeypatch.setenv("GRIDPATROL_WORKSPACE", str(tiny))
    monkeypatch.setenv("GRIDPATROL_PAGE", "redistrict")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.header  # nothing before signing in
    at.text_input(key="gp_login_name").input("zhao")
    [w for w in at.text_input if w.key != "gp_login_name"][0].input("viewer-pass-1")
    at.button[0].click().run()
    _clean(at)
    assert any("只读账号不能保存方案" in c.value for c in at.caption)
    at.text_input(key="gp_rd_name").input("偷偷保存")
    at.button(key="gp_rd_save").click().run()  # the click is refused on the server
    assert any("无权执行此操作" in e.value and "规划员" in e.value for e in at.error)
    assert read_workspace(tiny).layers.get("plans") is None or read_workspace(tiny).layer("plans").empty
