"""Change orders: units gained and lost per station, with people, incidents and area moved."""
from __future__ import annotations

import json

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import Point, box

import cli
from geo.errors import InputError
from geo.tables import table_from_file
from geo.workspace import Workspace, read_workspace, write_workspace
from planning.editing import jurisdictions_from_plan, save_plan
from planning.orders import (
    change_orders,
    order_lines,
    order_table,
    orders_json,
    plan_by_ref,
    station_table,
    write_orders,
)
from planning.plan import Plan
from planning.study import current_plan, workspace_graph
from ui.briefing import build_briefing

from ._grids import METRIC

XSS = "<script>alert(1)</script>"
IDS = ["0101", "0102", "0103", "0201", "0202", "0203"]
NAMES = ["村A", "村B", XSS + "社区C", "村D", "", "社区F"]  # 0202 has no name: its id stands in
STATIONS = ["S1", "S1", "S2", "S1", "S1", "S2"]
POP = [1000, 1500, 2000, 1200, 800, 3000]
INC = [10, 20, 30, 40, 50, 60]
SIZES = [1000, 1000, 1000, 1000, 1000, 2000]  # the last unit is 2 km wide (2 km²)


def _units() -> gpd.GeoDataFrame:
    """Six units in two rows: x from 0 (1 km each, the last 2 km wide)."""
    geoms = []
    for y in (0, 1000):
        x = 0
        for w in SIZES[:3] if y == 0 else SIZES[3:]:
            geoms.append(box(x, y, x + w, y + 1000))
            x += w
    return gpd.GeoDataFrame({"cell_id": IDS, "name": NAMES, "population": POP, "incidents": INC,
                             "township_id": ["T1", "T1", "T2", "T1", "T1", "T2"],
                             "station_id": STATIONS}, geometry=geoms, crs=METRIC)


@pytest.fixture
def ws_path(tmp_path):
    cells = _units()
    st = gpd.GeoDataFrame({"station_id": ["S1", "S2"], "name": ["一所", XSS + "二所"]},
                          geometry=[Point(500, 500), Point(2500, 1500)], crs=METRIC)
    area = gpd.GeoDataFrame({"name": ["t"]}, geometry=[shapely.union_all(cells.geometry.values)],
                            crs=METRIC)
    path = tmp_path / "ws.gpkg"
    write_workspace(Workspace(crs=cells.crs, layers={"area": area, "cells": cells, "stations": st},
                              meta={"name": "t"}), path)
    return path


@pytest.fixture
def plans(ws_path):
    ws = read_workspace(ws_path)
    g = workspace_graph(ws, weights="incidents")
    cur = current_plan(ws, g)
    # S2 gains 0102 (村B) and 0202 (no name); S1 gains 0103 (XSS社区C)
    after = cur.moved(["0102", "0202"], "S2").moved(["0103"], "S1")
    return ws, g, cur, after


def test_orders_per_unit_and_station_by_hand(plans):
    _, g, cur, after = plans
    co = change_orders(cur, after)
    o = co.orders
    # sorted by receiving station (S1 first), giving station, unit position
    assert o["unit_id"].tolist() == ["0103", "0102", "0202"]
    assert o["name"].tolist() == [XSS + "社区C", "村B", "0202"]
    assert o["from_station"].tolist() == ["S2", "S1", "S1"]
    assert o["to_station"].tolist() == ["S1", "S2", "S2"]
    assert o["population"].tolist() == [2000, 1500, 800]
    assert o["incidents"].tolist() == [30, 20, 50]
    assert o["area_km2"].tolist() == pytest.approx([1.0, 1.0, 1.0])
    assert o["township"].tolist() == ["T2", "T1", "T1"]
    s = co.stations.set_index("station_id")
    assert s.loc["S1", "gains"] == 1 and s.loc["S1", "losses"] == 2
    assert s.loc["S1", "lost"] == ["村B", "0202"] and s.loc["S2", "gained"] == ["村B", "0202"]
    assert s.loc["S1", "population_in"] == 2000 and s.loc["S1", "population_out"] == 2300
    assert s.loc["S1", "population_net"] == -300 and s.loc["S2", "population_net"] == 300
    assert s.loc["S2", "incidents_in"] == 70 and s.loc["S2", "incidents_out"] == 30
    assert s.loc["S2", "area_km2_net"] == pytest.approx(1.0)
    # the summary adds up to the plan's own moved totals
    for m in ("population", "incidents"):
        assert co.totals[m] == after.moved_total(cur, m)
        assert s[f"{m}_in"].sum() == s[f"{m}_out"].sum() == after.moved_total(cur, m)
        assert s[f"{m}_net"].sum() == 0
    assert co.totals["units"] == after.cells_changed(cur) == 3
    assert co.totals["area_km2"] == pytest.approx(after.moved_total(cur, "area") / 1e6)


def test_order_sentences_and_json(plans):
    _, _, cur, after = plans
    co = change_orders(cur, after)
    assert order_lines(co) == [f"S1 ← S2: {XSS}社区C (2,000 人, 30 起警情, 1.0 km²)",
                               "S2 ← S1: 村B、0202 (2,300 人, 70 起警情, 2.0 km²)"]
    assert order_lines(co, lang="en")[1] == "S2 ← S1: 村B, 0202 (2,300 people, 70 incidents, 2.0 km²)"
    j = orders_json(co)
    json.dumps(j, ensure_ascii=False)  # JSON-ready
    assert set(j) >= {"orders", "stations", "totals", "lines"}
    assert j["totals"] == {"units": 3, "population": 4300, "incidents": 100, "area_km2": 3.0}
    assert change_orders(cur, cur).totals["units"] == 0 and order_lines(change_orders(cur, cur)) == []
    with pytest.raises(InputError, match="`lang` was 'fr'"):
        order_table(co, lang="fr")


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_orders_written_and_read_back_with_chinese_headers(plans, tmp_path, suffix):
    _, _, cur, after = plans
    co = change_orders(cur, after)
    path = write_orders(co, tmp_path / f"orders{suffix}")
    back = table_from_file(path)
    assert list(back.columns[:6]) == ["单元编号", "名称", "调出派出所", "调出派出所名称", "调入派出所",
                                      "调入派出所名称"]
    assert back["单元编号"].astype(str).tolist() == ["0103", "0102", "0202"]
    assert back["名称"].tolist() == [XSS + "社区C", "村B", "0202"]
    assert back["人口(人)"].tolist() == [2000, 1500, 800]
    assert back["面积(km²)"].tolist() == pytest.approx([1.0, 1.0, 1.0])
    en = write_orders(co, tmp_path / f"orders_en{suffix}", lang="en")
    assert "To station" in table_from_file(en).columns
    assert "调入单元" in station_table(co).columns


def test_formula_names_are_text_in_spreadsheets(plans, tmp_path):
    ws, g, cur, after = plans
    cells = g.cells.copy()
    cells["name"] = ["=HYPERLINK(\"x\")"] + NAMES[1:]
    from planning.plan import district_graph
    g2 = district_graph(cells, g.stations, weights="incidents")
    a = Plan(g2, cur.assignment)
    b = a.moved(["0101"], "S2")
    back = table_from_file(write_orders(change_orders(a, b), tmp_path / "o.csv"))
    assert back["名称"].tolist() == ["'=HYPERLINK(\"x\")"]


def test_unit_plans_have_the_units_own_edges(plans):
    _, g, cur, after = plans
    jur = jurisdictions_from_plan(after).set_index("station_id")
    for sid in ("S1", "S2"):
        units = shapely.union_all(g.cells.geometry.values[after.assignment == g.station_index(sid)])
        assert jur.geometry[sid].symmetric_difference(units).area == pytest.approx(0.0, abs=1e-3)


def test_plan_by_ref_and_unknown_plan(plans, ws_path):
    ws, g, cur, after = plans
    pid = save_plan(ws_path, after, name="方案甲", author="li")
    ws = read_workspace(ws_path)
    assert plan_by_ref(ws, g, "current", current=cur) == cur
    assert plan_by_ref(ws, g, pid) == after and plan_by_ref(ws, g, "方案甲") == after
    with pytest.raises(InputError, match=r"`plan` was '9'.*1 方案甲"):
        plan_by_ref(ws, g, "9")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_orders(plans, ws_path, tmp_path, capsys):
    _, _, _, after = plans
    save_plan(ws_path, after, name="方案甲", author="li")
    code, out, err = run(capsys, "orders", str(ws_path), "--json", "--out", str(tmp_path / "o.xlsx"))
    assert code == 0, err
    j = json.loads(out)
    assert set(j) >= {"orders", "stations", "totals", "lines", "out", "warnings"}
    assert j["totals"]["units"] == 3 and j["totals"]["population"] == 4300
    assert [r["unit_id"] for r in j["orders"]] == ["0103", "0102", "0202"]
    assert set(j["orders"][0]) == {"unit_id", "name", "from_station", "from_name", "to_station",
                                   "to_name", "population", "incidents", "area_km2", "township"}
    assert table_from_file(tmp_path / "o.xlsx")["人口(人)"].sum() == 4300
    code, out, err = run(capsys, "orders", str(ws_path), "--plan", "current", "--against", "方案甲")
    assert code == 0 and "S1 ← S2: 村B、0202" in out
    code, out, err = run(capsys, "orders", str(ws_path), "--plan", "77")
    assert code == 2 and "--plan was '77'" in err and "1 方案甲" in err and "Traceback" not in err
    code, out, err = run(capsys, "orders", str(ws_path), "--against", "nope")
    assert code == 2 and "--against was 'nope'" in err
    code, out, err = run(capsys, "orders", str(ws_path), "--out", str(tmp_path / "o.txt"))
    assert code == 2 and ".csv or .xlsx" in err


def test_briefing_orders_section_escapes_names(plans, ws_path):
    _, _, _, after = plans
    save_plan(ws_path, after, name=XSS + "方案", author="li")
    ws = read_workspace(ws_path)
    for lang in ("zh", "en"):
        brief = build_briefing(ws, sections="orders", lang=lang)
        assert [s.key for s in brief.sections] == ["orders"]
        html = brief.to_html()
        assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;社区C" in html
        assert brief.facts["orders_units"] == 3


@pytest.mark.parametrize("method", [[], ["--least-change"]])
def test_redistrict_json_carries_the_change_orders(ws_path, capsys, method):
    """Both redistricting methods end with the orders against today's plan, and the orders
    add up to what the plan reports as moved."""
    # incidents S1 120, S2 90 (14 % off the mean): one unit must move to reach 5 %
    code, out, err = run(capsys, "redistrict", str(ws_path), "--weight", "incidents",
                         "--time-limit", "2", "--json", *method)
    assert code == 0, err
    j = json.loads(out)
    co = j["change_orders"]
    assert j["target_met"] and j["cells_changed"] >= 1
    assert co["totals"]["units"] == j["cells_changed"] == len(co["orders"])
    inc = dict(zip(read_workspace(ws_path).layer("cells")["cell_id"], INC))
    assert co["totals"]["incidents"] == sum(inc[r["unit_id"]] for r in co["orders"])
    ws = read_workspace(ws_path)
    pop = dict(zip(ws.layer("cells")["cell_id"], ws.layer("cells")["population"]))
    assert co["totals"]["population"] == sum(pop[r["unit_id"]] for r in co["orders"])
