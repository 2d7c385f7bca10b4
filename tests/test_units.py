"""Imported units (villages, communities, grids) as the base units of plans: `--units`."""
from __future__ import annotations

import json
import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

import cli
from geo.build import build_workspace
from geo.errors import ValidationError
from geo.layers import LayerSource
from geo.workspace import read_plan_cells, read_plans, read_workspace
from planning.plan import Plan
from planning.study import current_plan, workspace_graph

from .conftest import METRIC

IDS = ["0101", "0102", "0103", "0201", "0202", "0203"]
NAMES = ["村A", "村B", "社区C", "村D", "村E", "社区F"]
STATIONS = ["S1", "S1", "S2", "S1", "S1", "S2"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def files(tmp_path):
    """Six 1 km units (3 x 2, ids with leading zeros, Chinese names, own population and
    incidents), two stations, two jurisdictions splitting the middle column 40/60."""
    geoms = [box(x, y, x + 1000, y + 1000) for y in (0, 1000) for x in (0, 1000, 2000)]
    units = gpd.GeoDataFrame({"村编码": IDS, "村名": NAMES, "常住人口": [1000] * 6,
                              "migrants": [10, 20, 30, 40, 50, 60],
                              "incidents": [1, 2, 3, 4, 5, 6], "派出所": STATIONS},
                             geometry=geoms, crs=METRIC)
    units.to_file(tmp_path / "units.geojson")
    bad = units.copy()
    bad.loc[[1, 4], "派出所"] = ["S9", "S7"]
    bad.to_file(tmp_path / "bad_station.geojson")
    st = gpd.GeoDataFrame({"station_id": ["S1", "S2"]},
                          geometry=[Point(500, 500), Point(2500, 1500)], crs=METRIC)
    st.to_file(tmp_path / "stations.geojson")
    jur = gpd.GeoDataFrame({"station_id": ["S1", "S2"]},
                           geometry=[box(0, 0, 1400, 2000), box(1400, 0, 3000, 2000)], crs=METRIC)
    jur.to_file(tmp_path / "jur.geojson")
    return tmp_path


def _build(d, **kw):
    kw.setdefault("units", LayerSource(str(d / "units.geojson"), id_col="村编码"))
    return build_workspace(stations=LayerSource(str(d / "stations.geojson")),
                           working_crs="EPSG:32650", **kw)


def test_units_become_the_cells_with_the_given_stations(files):
    ws, warns = _build(files, unit_station="派出所")
    cells = ws.layer("cells")
    assert cells["cell_id"].tolist() == IDS  # text, leading zeros kept
    assert cells["name"].tolist() == NAMES  # guessed from 村名
    assert cells["station_id"].tolist() == STATIONS
    assert cells["population"].tolist() == [1000.0] * 6  # 常住人口 as given
    assert cells["incidents"].tolist() == [1, 2, 3, 4, 5, 6]
    assert cells["migrants"].tolist() == [10, 20, 30, 40, 50, 60]
    assert cells["area_m2"].tolist() == pytest.approx([1e6] * 6)
    assert ws.meta["units"] == "units.geojson" and ws.meta["unit_id"] == "村编码"
    # no area given: the union of the units
    assert ws.layer("area").geometry.area.sum() == pytest.approx(6e6)
    graph = workspace_graph(ws, weights="population")
    plan = current_plan(ws, graph)
    assert dict(zip(graph.cell_ids, plan.labels)) == dict(zip(IDS, STATIONS))
    assert not [w for w in warns if w.rule == "ambiguous_station"]


def test_stations_by_overlap_list_the_ambiguous_units(files, caplog):
    with caplog.at_level(logging.WARNING, logger="geo"):
        ws, warns = _build(files, jurisdictions=LayerSource(str(files / "jur.geojson")))
    # the middle column lies 40 % in S1 and 60 % in S2: S2, listed as ambiguous
    assert ws.layer("cells")["station_id"].tolist() == ["S1", "S2", "S2", "S1", "S2", "S2"]
    (amb,) = [w for w in warns if w.rule == "ambiguous_station"]
    assert amb.ids == ("0102 (村B: 60% in S2)", "0202 (村E: 60% in S2)")
    assert "0102 (村B: 60% in S2)" in caplog.text


def test_unknown_station_ids_are_an_error_naming_the_rows(files):
    with pytest.raises(ValidationError) as info:
        _build(files, units=LayerSource(str(files / "bad_station.geojson"), id_col="村编码"),
               unit_station="派出所")
    (p,) = [p for p in info.value.problems if p.rule == "unknown_station"]
    assert p.ids == ("0102: S9", "0202: S7")
    assert "`unit_station`" not in p.fix and "派出所" in p.fix


def test_duplicate_ids_and_empty_geometries_are_errors_overlaps_warn(files):
    units = gpd.read_file(files / "units.geojson")
    dup = units.copy()
    dup.loc[2, "村编码"] = "0101"
    dup.loc[5, "geometry"] = None
    dup.to_file(files / "dup.geojson")
    with pytest.raises(ValidationError) as info:
        _build(files, units=LayerSource(str(files / "dup.geojson"), id_col="村编码"))
    rules = {p.rule for p in info.value.problems}
    assert "duplicate_ids" in rules and "no_geometry" in rules
    (d,) = [p for p in info.value.problems if p.rule == "duplicate_ids"]
    assert d.ids == ("0101 (rows 1, 3)",)
    over = units.copy()
    over.loc[1, "geometry"] = box(900, 0, 2000, 1000)  # 10 % over 0101
    over.to_file(files / "over.geojson")
    area = gpd.GeoDataFrame({"name": ["县"]}, geometry=[box(0, 0, 3000, 2500)], crs=METRIC)
    area.to_file(files / "area.geojson")
    ws, warns = _build(files, units=LayerSource(str(files / "over.geojson"), id_col="村编码"),
                       area=LayerSource(str(files / "area.geojson")))
    (o,) = [w for w in warns if w.rule == "overlapping_units"]
    assert o.ids == ("0101 & 0102 (10%)",)
    (c,) = [w for w in warns if w.rule == "units_cover_less"]
    assert "80.0%" in c.message  # 6 of 7.5 km²


def test_attribute_population_is_not_apportioned_over_the_units_own(files):
    attr = gpd.GeoDataFrame({"pop": [60000], "jobs": [600]},
                            geometry=[box(0, 0, 3000, 2000)], crs=METRIC)
    attr.to_file(files / "attr.geojson")
    ws, warns = _build(files, attributes=[(LayerSource(str(files / "attr.geojson")),
                                           {"pop": "population", "jobs": "jobs"})])
    cells = ws.layer("cells")
    assert cells["population"].tolist() == [1000.0] * 6
    assert cells["jobs"].to_numpy() == pytest.approx([100.0] * 6)
    assert any(w.rule == "population_given" for w in warns)


def test_cli_import_units_redistrict_and_reload(capsys, files, tmp_path):
    ws_path = tmp_path / "ws.gpkg"
    code, out, err = run(capsys, "import", str(ws_path), "--units", str(files / "units.geojson"),
                         "--unit-id", "村编码", "--unit-station", "派出所", "--unit-name", "村名",
                         "--stations", str(files / "stations.geojson"), "--crs", "32650", "--json")
    assert code == 0, err
    assert json.loads(out)["layers"]["cells"] == 6
    ws = read_workspace(ws_path)
    assert ws.layer("cells")["cell_id"].tolist() == IDS
    assert ws.layer("cells")["station_id"].tolist() == STATIONS
    # S1 holds 4,000 people and S2 2,000: a 5 % plan moves one unit, 0102 or 0202 (or the
    # top row), and keeps both districts contiguous
    code, out, err = run(capsys, "redistrict", str(ws_path), "--weight", "population",
                         "--max-deviation", "0.05", "--save-plan", "村调整", "--json")
    assert code == 0, err
    saved = read_plan_cells(ws_path)
    assert sorted(saved["cell_id"].astype(str)) == sorted(IDS)
    labels = dict(zip(saved["cell_id"].astype(str), saved["station_id"].astype(str)))
    assert labels["0101"] == "S1" and labels["0203"] == "S2"
    assert sorted(np.unique(list(labels.values()), return_counts=True)[1]) == [3, 3]
    graph = workspace_graph(read_workspace(ws_path), weights="population")
    plan = Plan.from_labels(graph, pd.Series(labels))
    assert plan.contiguous and plan.labels.to_dict() == labels
    assert read_plans(ws_path)["name"].tolist()[-1] == "村调整"


def test_cli_unknown_station_exits_2_naming_the_rows(capsys, files, tmp_path):
    code, out, err = run(capsys, "import", str(tmp_path / "ws.gpkg"),
                         "--units", str(files / "bad_station.geojson"), "--unit-id", "村编码",
                         "--unit-station", "派出所", "--stations", str(files / "stations.geojson"),
                         "--crs", "32650")
    assert code == 2
    assert "0102: S9" in err and "0202: S7" in err and "Traceback" not in err
    code, out, err = run(capsys, "import", str(tmp_path / "ws.gpkg"),
                         "--units", str(files / "units.geojson"))
    assert code == 2 and "--unit-id" in err


def test_the_import_form_takes_units_as_the_command_line_does(files, tmp_path, capsys):
    from streamlit.testing.v1 import AppTest
    form = ("from ui import importer\nrequest = importer.build_form()\n"
            "if request is not None:\n    importer.run_build(request)\nimporter.show_fresh_report()\n")
    at = AppTest.from_string(form, default_timeout=180).run()
    for slot, name in (("units", "units.geojson"), ("stations", "stations.geojson")):
        data = (files / name).read_bytes()
        at.file_uploader(key=f"gp_up_{slot}").set_value([(name, data, "application/geo+json")])
        at = at.run()
    assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]
    # the id, station and name columns are guessed from the headers
    assert at.selectbox(key="gp_unit_id").value == "村编码"
    assert at.selectbox(key="gp_unit_station").value == "派出所"
    assert at.selectbox(key="gp_unit_name").value == "村名"
    assert not at.button(key="gp_build_go").disabled  # no area needed with units
    at.text_input(key="gp_build_crs").set_value("32650")
    at.text_input(key="gp_build_name").set_value("村")
    at.button(key="gp_build_go").click().run()
    assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]
    ws = read_workspace(at.session_state["gp_workspace_path"])
    out = tmp_path / "cli.gpkg"
    code = cli.main(["import", str(out), "--units", str(files / "units.geojson"),
                     "--unit-id", "村编码", "--unit-station", "派出所", "--unit-name", "村名",
                     "--stations", str(files / "stations.geojson"), "--crs", "32650",
                     "--name", "村"])
    assert code == 0, capsys.readouterr().err
    a, b = ws.layer("cells"), read_workspace(out).layer("cells")
    assert list(a.columns) == list(b.columns)
    assert a.drop(columns="geometry").astype(str).equals(b.drop(columns="geometry").astype(str))
    assert a["cell_id"].tolist() == IDS and a["station_id"].tolist() == STATIONS


def test_editing_drafts_and_boundaries_on_units_with_text_ids(files, tmp_path, capsys):
    from planning.editing import (
        History,
        history_from_draft,
        jurisdictions_from_plan,
        plan_from_workspace,
        reassign,
        record_step,
        save_plan,
        start_draft,
    )
    ws_path = tmp_path / "ws.gpkg"
    assert cli.main(["import", str(ws_path), "--units", str(files / "units.geojson"),
                     "--unit-id", "村编码", "--unit-station", "派出所",
                     "--stations", str(files / "stations.geojson"), "--crs", "32650"]) == 0
    capsys.readouterr()
    ws = read_workspace(ws_path)
    graph = workspace_graph(ws, weights="population")
    current = current_plan(ws, graph)
    moved = reassign(current, ["0202"], "S2")  # the leading zero is part of the id
    assert moved.labels["0202"] == "S2" and moved.contiguous
    hist = History.start(current)
    draft = start_draft(ws_path, hist, author="t", base="current")
    after = hist.push(moved, "村E")
    record_step(ws_path, draft, hist, after, action="push", author="t")
    replayed, steps = history_from_draft(ws_path, draft, graph)
    assert steps == 2 and replayed.current.labels.equals(moved.labels)
    pid = save_plan(ws_path, moved, name="方案", author="t")
    assert plan_from_workspace(read_workspace(ws_path), graph, pid).labels.equals(moved.labels)
    # district boundaries are the units' own edges: S2 = 0103, 0202, 0203
    j = jurisdictions_from_plan(moved).set_index("station_id")
    units = ws.layer("cells").set_index("cell_id").geometry
    s2 = units[["0103", "0202", "0203"]].union_all()
    assert j.geometry["S2"].symmetric_difference(s2).area < 1e-3
    assert j.loc["S2", "cells"] == 3


@pytest.mark.parametrize("page", ["redistrict", "overview"])
def test_app_pages_work_on_units_with_text_ids(files, tmp_path, capsys, monkeypatch, page):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest
    ws_path = tmp_path / "ws.gpkg"
    assert cli.main(["import", str(ws_path), "--units", str(files / "units.geojson"),
                     "--unit-id", "村编码", "--unit-station", "派出所",
                     "--stations", str(files / "stations.geojson"), "--crs", "32650"]) == 0
    capsys.readouterr()
    monkeypatch.setenv("GRIDPATROL_WORKSPACE", str(ws_path))
    monkeypatch.setenv("GRIDPATROL_PAGE", page)
    app = str(Path(__file__).resolve().parents[1] / "app.py")
    at = AppTest.from_file(app, default_timeout=300).run()
    assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]
    if page == "redistrict":
        plan = at.session_state["gp_rd_hist"].current
        assert plan.labels.to_dict() == dict(zip(IDS, STATIONS))
        at.text_input(key="gp_rd_ids").input("0202")
        at.selectbox(key="gp_rd_ids_st").set_value("S2")
        at.button(key="gp_rd_apply_ids").click().run()
        assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]
        edited = at.session_state["gp_rd_hist"].current
        assert edited.changed_cells(plan).tolist() == ["0202"]
