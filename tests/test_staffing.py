"""Staffing norms: required officers (民警) and auxiliaries (辅警) against actual, by hand."""
from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, box

import cli
from geo.columns import guess_roles, staff_columns
from geo.errors import InputError
from geo.workspace import Workspace, read_workspace, write_workspace
from planning.editing import save_plan
from planning.staffing import (
    NORMS,
    check_norms,
    parse_norms,
    save_norms,
    staffing_context,
    staffing_for_plan,
    staffing_frame,
    staffing_json,
    workspace_norms,
)
from planning.study import current_plan, workspace_graph
from ui.briefing import build_briefing

from ._grids import METRIC

DEMO = Path(__file__).resolve().parents[1] / "data" / "boundaries" / "demo_county.gpkg"
# u1 is 2 km wide, the others 1 km: police district P1 = u1 + u2 stays with u1's station
XS = [(0, 2000), (2000, 3000), (3000, 4000), (4000, 5000)]
FACTOR = 365 / 200  # incidents from 2025-01-01 to 2025-07-19: 200 days


@pytest.fixture
def ws_path(tmp_path):
    geoms = [box(a, 0, b, 1000) for a, b in XS]
    cells = gpd.GeoDataFrame({"cell_id": ["u1", "u2", "u3", "u4"],
                              "population": [10000, 5000, 25000, 2000],
                              "incidents": [100, 50, 300, 10],
                              "station_id": ["S1", "S1", "S2", "S2"]}, geometry=geoms, crs=METRIC)
    st = gpd.GeoDataFrame({"station_id": ["S1", "S2"], "name": ["一所", "二所"],
                           "民警数": [3, 1], "辅警数": [4, 2]},  # Chinese headers
                          geometry=[Point(500, 500), Point(4500, 500)], crs=METRIC)
    comm = gpd.GeoDataFrame({"community_id": ["c1", "c2", "c3", "c4"],
                             "name": ["甲村", "乙村", "丙社区", "丁村"],
                             "kind": ["村", "村", "社区", "村"]}, geometry=geoms, crs=METRIC)
    pg = gpd.GeoDataFrame({"pgrid_id": ["P1", "P2"], "station_id": ["S1", "S2"],
                           "name": ["第一警务区", "第二警务区"], "officers": [1, 0], "auxiliaries": [1, 3]},
                          geometry=[box(0, 0, 3000, 1000), box(3000, 0, 5000, 1000)], crs=METRIC)
    inc = gpd.GeoDataFrame({"incident_id": ["i1", "i2"],
                            "time": ["2025-01-01T08:00:00", "2025-07-19T10:00:00"]},
                           geometry=[Point(100, 100), Point(4100, 100)], crs=METRIC)
    area = gpd.GeoDataFrame({"name": ["t"]}, geometry=[box(0, 0, 5000, 1000)], crs=METRIC)
    path = tmp_path / "ws.gpkg"
    write_workspace(Workspace(crs=cells.crs, layers={
        "area": area, "communities": comm, "stations": st, "police_grids": pg, "incidents": inc,
        "cells": cells}, meta={"name": "t"}), path)
    return path


def _run(path, norms=None, move=None):
    ws = read_workspace(path)
    g = workspace_graph(ws, weights="incidents")
    plan = current_plan(ws, g)
    if move:
        plan = plan.moved(*move)
    return staffing_for_plan(staffing_context(ws, g), plan, norms=norms)


def _by(rows, key):
    return {r[key]: r for r in rows}


def test_default_norms_by_hand(ws_path):
    res = _run(ws_path)
    assert res.period == {"basis": "time_span", "first": "2025-01-01", "last": "2025-07-19",
                          "days": 200, "factor": round(FACTOR, 6)}
    s = _by(res.stations, "station_id")
    assert (s["S1"]["police_districts"], s["S1"]["villages"], s["S1"]["communities"]) == (1, 2, 0)
    assert (s["S2"]["police_districts"], s["S2"]["villages"], s["S2"]["communities"]) == (1, 1, 1)
    assert s["S1"]["population"] == 15000 and s["S1"]["incidents"] == pytest.approx(150 * FACTOR, abs=0.06)
    # officers: 1 per district; auxiliaries: max(2 per district, 1 per village); 2 = 2 -> district first
    assert s["S1"]["officers"] == {"actual": 3, "required": 1, "shortfall": 0, "binding": "district",
                                   "by_norm": {"district": 1, "village": 0, "residents": 0, "incidents": 0}}
    assert (s["S1"]["auxiliaries"]["required"], s["S1"]["auxiliaries"]["binding"]) == (2, "district")
    assert (s["S2"]["auxiliaries"]["actual"], s["S2"]["auxiliaries"]["shortfall"]) == (2, 0)
    d = _by(res.police_districts, "pgrid_id")
    assert d["P1"]["villages"] == 2 and d["P2"]["villages"] == 1  # 丙社区 is not a village
    assert d["P1"]["auxiliaries"] == {"actual": 1, "required": 2, "shortfall": 1, "binding": "district",
                                      "by_norm": {"district": 2, "village": 2, "residents": 0, "incidents": 0}}
    assert (d["P2"]["officers"]["actual"], d["P2"]["officers"]["shortfall"]) == (0, 1)
    assert res.totals["police_districts"]["auxiliaries"]["shortfall"] == 1
    assert res.totals["stations"]["officers"] == {"actual": 4, "required": 2, "shortfall": 0, "short_rows": 0}


def test_each_norm_a_floor_the_largest_binds(ws_path):
    norms = {"auxiliaries_per_10k_residents": 1.5, "officers_per_100_incidents": 0.5}
    res = _run(ws_path, norms)
    s = _by(res.stations, "station_id")
    # S1: residents 15,000 * 1.5 / 10k = 2.25 > 2 (district) = 2 (villages) -> 3
    assert (s["S1"]["auxiliaries"]["required"], s["S1"]["auxiliaries"]["binding"]) == (3, "residents")
    # S1 officers: 150 * 365/200 = 273.75 a year * 0.5 / 100 = 1.37 -> 2, by incidents
    assert (s["S1"]["officers"]["required"], s["S1"]["officers"]["binding"]) == (2, "incidents")
    # S2: 27,000 -> 4.05 -> 5 auxiliaries (2 on strength: 3 short); 310 * 1.825 * 0.005 = 2.83 -> 3 officers
    assert s["S2"]["auxiliaries"] == {"actual": 2, "required": 5, "shortfall": 3, "binding": "residents",
                                      "by_norm": {"district": 2, "village": 1, "residents": 4.05,
                                                  "incidents": 0}}
    assert (s["S2"]["officers"]["required"], s["S2"]["officers"]["shortfall"]) == (3, 2)
    d = _by(res.police_districts, "pgrid_id")  # apportioned from the units (no own population)
    assert d["P2"]["population"] == 27000 and d["P2"]["incidents"] == pytest.approx(310 * FACTOR, abs=0.06)
    assert (d["P2"]["officers"]["required"], d["P2"]["officers"]["shortfall"]) == (3, 3)
    assert res.totals["stations"]["auxiliaries"]["shortfall"] == 3
    # communities counted as villages: 丙社区 joins S2's villages
    res = _run(ws_path, {"communities_count": 1, "auxiliaries_per_village": 3})
    assert _by(res.stations, "station_id")["S2"]["villages"] == 2
    assert _by(res.stations, "station_id")["S2"]["auxiliaries"]["required"] == 6


def test_a_plan_moving_a_village_changes_villages_and_required(ws_path):
    norms = {"auxiliaries_per_village": 3}
    before = _by(_run(ws_path, norms).stations, "station_id")
    after_res = _run(ws_path, norms, move=(["u2"], "S2"))
    after = _by(after_res.stations, "station_id")
    assert (before["S1"]["villages"], after["S1"]["villages"]) == (2, 1)
    assert (before["S2"]["villages"], after["S2"]["villages"]) == (1, 2)
    assert (before["S1"]["auxiliaries"]["required"], after["S1"]["auxiliaries"]["required"]) == (6, 3)
    assert (before["S2"]["auxiliaries"]["required"], after["S2"]["auxiliaries"]["required"]) == (3, 6)
    assert after["S2"]["auxiliaries"]["actual"] == 2  # actual staff stay with their station
    assert after["S2"]["population"] == 32000
    d = _by(after_res.police_districts, "pgrid_id")
    assert d["P1"]["station_id"] == "S1"  # 2 of its 3 km² stay with S1


def test_norms_persisted_and_checked(ws_path):
    assert workspace_norms(read_workspace(ws_path)) == NORMS
    stored = save_norms(ws_path, {"auxiliaries_per_village": 2, "officers_per_10k_residents": "1.5"})
    assert stored["auxiliaries_per_village"] == 2 and stored["officers_per_10k_residents"] == 1.5
    back = workspace_norms(read_workspace(ws_path))
    assert back == {**NORMS, "auxiliaries_per_village": 2.0, "officers_per_10k_residents": 1.5}
    assert save_norms(ws_path, {"auxiliaries_per_village": None})["auxiliaries_per_village"] == 1.0
    with pytest.raises(InputError, match=r"`norms` named \['aux_per_hut'\].*auxiliaries_per_village"):
        check_norms({"aux_per_hut": 1})
    with pytest.raises(InputError, match="expected a number >= 0"):
        parse_norms(["officers_per_district=-1"])
    with pytest.raises(InputError, match="0 or 1"):
        parse_norms(["communities_count=2"])
    with pytest.raises(InputError, match="not NAME=VALUE"):
        parse_norms(["officers_per_district"])


def test_staff_columns_from_chinese_headers():
    frame = pd.DataFrame({"名称": ["a"], "民警数": [3], "辅警人数": [5], "人口": [100]})
    assert staff_columns(frame) == {"officers": "民警数", "auxiliaries": "辅警人数"}
    roles = guess_roles(frame, layer="stations")
    assert roles["民警数"] == "officers" and roles["辅警人数"] == "auxiliaries" and roles["人口"] == "population"


def run(capsys, *argv: str):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_staffing(ws_path, capsys):
    code, out, err = run(capsys, "staffing", str(ws_path), "--json", "--set", "auxiliaries_per_village=3")
    assert code == 0, err
    j = json.loads(out)
    assert set(j) >= {"norms", "stations", "police_districts", "totals", "incidents_period", "warnings"}
    row = j["stations"][0]
    assert set(row) >= {"station_id", "name", "officers", "auxiliaries", "police_districts", "villages",
                        "population", "incidents", "binding"}
    assert set(row["officers"]) >= {"actual", "required", "shortfall"}
    assert j["norms"]["auxiliaries_per_village"] == 3 and row["auxiliaries"]["required"] == 6
    assert workspace_norms(read_workspace(ws_path))["auxiliaries_per_village"] == 3
    ws = read_workspace(ws_path)
    g = workspace_graph(ws, weights="incidents")
    save_plan(ws_path, current_plan(ws, g).moved(["u2"], "S2"), name="方案", author="li")
    code, out, err = run(capsys, "staffing", str(ws_path), "--json", "--plan", "方案")
    j = json.loads(out)
    assert code == 0 and j["stations"][0]["villages"] == 1 and j["current"]["stations"][0]["villages"] == 2
    code, out, err = run(capsys, "staffing", str(ws_path), "--set", "aux_per_hut=1")
    assert code == 2 and "--set named ['aux_per_hut']" in err and "Traceback" not in err
    code, out, err = run(capsys, "staffing", str(ws_path), "--plan", "nope")
    assert code == 2 and "--plan was 'nope'" in err and "1 方案" in err
    code, out, err = run(capsys, "staffing", str(ws_path), "--set", "auxiliaries_per_village=default")
    assert code == 0 and workspace_norms(read_workspace(ws_path))["auxiliaries_per_village"] == 1


def test_frame_and_briefing_section(ws_path):
    res = _run(ws_path)
    flat = staffing_frame(res.police_districts, level="police_districts")
    assert flat.loc[0, "auxiliaries_shortfall"] == 1 and flat.loc[0, "auxiliaries_binding"] == "district"
    json.dumps(staffing_json(res), ensure_ascii=False)
    brief = build_briefing(read_workspace(ws_path), sections="staffing", lang="en")
    assert [s.key for s in brief.sections] == ["staffing"]
    assert brief.facts["staffing_totals"]["police_districts"]["auxiliaries"]["shortfall"] == 1


@pytest.mark.skipif(not DEMO.exists(), reason="demo workspace not built")
def test_the_demo_is_short_somewhere():
    ws = read_workspace(DEMO)
    assert {"officers", "auxiliaries"} <= set(ws.layer("police_grids").columns)
    g = workspace_graph(ws, weights="incidents")
    res = staffing_for_plan(staffing_context(ws, g), current_plan(ws, g), norms=workspace_norms(ws))
    assert res.totals["police_districts"]["auxiliaries"]["shortfall"] > 0
    assert res.totals["police_districts"]["officers"]["shortfall"] > 0
    assert res.totals["stations"]["auxiliaries"]["short_rows"] > 0
    assert res.period["basis"] == "time_span" and res.period["days"] == 365


def test_redistricting_page_shows_orders_and_staffing(tmp_path, monkeypatch):
    """The page on the demo: an edit gives change orders (table, sentences, CSV/XLSX) and the
    staffing section compares today with the edited plan, shortfalls shown."""
    import shutil

    from streamlit.testing.v1 import AppTest
    if not DEMO.exists():
        pytest.skip("demo workspace not built")
    path = tmp_path / "demo.gpkg"
    shutil.copy(DEMO, path)
    monkeypatch.setenv("GRIDPATROL_WORKSPACE", str(path))
    monkeypatch.setenv("GRIDPATROL_PAGE", "redistrict")
    app = str(Path(__file__).resolve().parents[1] / "app.py")
    at = AppTest.from_file(app, default_timeout=300).run()
    assert not at.exception, [e.value for e in at.exception]
    plan = at.session_state["gp_rd_hist"].current
    moved = plan.cells_of("S10")[:4].tolist()
    at.text_input(key="gp_rd_ids").input(",".join(map(str, moved)))
    at.selectbox(key="gp_rd_ids_st").set_value("S11")
    at.button(key="gp_rd_apply_ids").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    text = " ".join(m.value for m in at.markdown)
    assert "S11 ← S10:" in text.replace("\\", "")
    frames = [df.value for df in at.dataframe]
    orders = [f for f in frames if isinstance(f, pd.DataFrame) and "调入派出所" in f.columns]
    assert orders and len(orders[0]) == 4
    staff = [f for f in frames if "辅警缺口 · 现状辖区" in f.columns]
    assert staff, "no staffing table"
    assert len(staff[0]) == 11 and (staff[0]["辅警缺口 · 现状辖区"] > 0).any()
    # the edited plan gives S10's units to S11: S11's population grows, actual staff stay
    rows = staff[0].set_index("派出所编号")
    assert rows.loc["S11", "人口 · 按方案"] > rows.loc["S11", "人口 · 现状辖区"]
    assert "辅警实有" in rows.columns
