"""Districts without stations (planning.districts): hand-checked tiny grids, the heuristic
against the exact flow MIP with free centres, the p-median lower bound, --within a station,
police_grids saved through replace_layers (racing a plan save, surviving a crash), CLI errors."""
from __future__ import annotations

import json
import math
import threading
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import box

import cli
from geo.workspace import Workspace, append_plan, read_plans, read_workspace, replace_layers, write_workspace
from planning.districts import (
    districts_problem,
    draw_districts,
    exact_districts,
    p_median_bound,
    save_police_grids,
    workspace_problem,
)

from ._grids import grid_cells

CRS = "EPSG:32650"


def test_a_line_of_six_splits_in_the_middle_with_centres_at_2_and_5():
    r = draw_districts(grid_cells(6, 1), 2, weights="incidents")
    assert sorted(r.centres.values()) == ["1", "4"]
    groups = sorted(sorted(map(int, r.assignment[r.assignment == d].index)) for d in r.centres)
    assert groups == [[0, 1, 2], [3, 4, 5]]
    assert r.objective == pytest.approx(200.0 / 3.0)  # (100 + 0 + 100) / 3 in each
    assert r.contiguous and r.max_deviation == pytest.approx(0.0, abs=1e-12)


def test_a_four_by_two_grid_makes_two_squares():
    r = draw_districts(grid_cells(4, 2), 2, weights="incidents")
    groups = sorted(sorted(map(int, r.assignment[r.assignment == d].index)) for d in r.centres)
    assert groups == [[0, 1, 4, 5], [2, 3, 6, 7]]
    assert r.objective == pytest.approx(100.0 * (2 + math.sqrt(2)) / 4)
    table = r.table
    assert list(table["units"]) == [4, 4] and table["workload_share"].sum() == pytest.approx(1.0)


@pytest.mark.parametrize("seed,nx,ny,k", [(0, 5, 5, 3), (1, 5, 5, 3), (2, 5, 5, 3), (3, 6, 4, 4),
                                          (4, 5, 4, 2)])
def test_heuristic_within_two_percent_of_the_exact_flow_mip(seed, nx, ny, k):
    rng = np.random.default_rng(seed)
    cells = grid_cells(nx, ny, values=rng.poisson(8, nx * ny), size=500.0)
    problem = districts_problem(cells, weights="incidents")
    r = draw_districts(problem, k, max_deviation=0.1, seed=seed)
    exact = exact_districts(problem, k, max_deviation=0.1, time_limit_s=120)
    bound = p_median_bound(problem, k, max_deviation=0.1, time_limit_s=60)
    assert exact["optimal"]
    assert r.contiguous and r.max_deviation <= 0.1 + 1e-12
    assert r.objective <= exact["value"] * 1.02
    assert r.objective >= exact["value"] - 1e-6  # the MIP is optimal: nothing beats it
    assert bound["bound"] <= exact["value"] + 1e-6 <= r.objective + 1e-6
    # the exact plan is itself contiguous and balanced (an independent check of the MIP)
    a = exact["assignment"]
    load = np.bincount(a, weights=problem.graph.workload, minlength=k)
    assert np.abs(load / load.mean() - 1).max() <= 0.1 + 1e-9


def test_an_unreachable_balance_is_a_warning_with_the_figure(caplog):
    cells = grid_cells(3, 1, values=[10, 1, 1])
    with caplog.at_level("WARNING"):
        r = draw_districts(cells, 2, weights="incidents", max_deviation=0.05)
    assert r.contiguous and not r.target_met
    assert any("target not met" in m and f"{100 * r.max_deviation:.3g}" in m for m in caplog.messages)


def test_bad_k_and_unknown_weight_columns_are_input_errors():
    from geo.errors import InputError
    with pytest.raises(InputError, match="only 4 units"):
        draw_districts(grid_cells(2, 2), 5, weights="incidents")
    with pytest.raises(InputError, match="migrants"):
        draw_districts(grid_cells(2, 2), 2, weights="migrants")


# --- workspaces -------------------------------------------------------------------------------

def _workspace(path) -> Workspace:
    """6 x 4 cells of 100 m: station A holds columns 0-2, B columns 3-5; a police grid per
    station and 24 gov grids (one per cell)."""
    cells = grid_cells(6, 4, values=np.full(24, 2.0))
    cells["cell_id"] = cells["cell_id"].astype(str)
    cells["migrants"] = 3.0
    cells["station_id"] = ["A" if i % 6 < 3 else "B" for i in range(24)]
    stations = gpd.GeoDataFrame({"station_id": ["A", "B"], "name": ["甲所", "乙所"]},
                                geometry=[cells.geometry.iloc[7].centroid, cells.geometry.iloc[10].centroid],
                                crs=CRS)
    police = gpd.GeoDataFrame({"pgrid_id": ["A1", "B1"], "station_id": ["A", "B"], "name": ["a", "b"]},
                              geometry=[box(0, 0, 300, 400), box(300, 0, 600, 400)], crs=CRS)
    gov = gpd.GeoDataFrame({"grid_id": [f"G{i}" for i in range(24)],
                            "pgrid_id": ["A1" if i % 6 < 3 else "B1" for i in range(24)]},
                           geometry=cells.geometry.values, crs=CRS)
    ws = Workspace(crs=cells.crs, meta={"name": "tiny"},
                   layers={"stations": stations, "cells": cells, "police_grids": police, "gov_grids": gov})
    write_workspace(ws, path)
    return ws


def test_within_keeps_every_unit_inside_the_station_and_saves_its_police_grids(tmp_path):
    path = tmp_path / "ws.gpkg"
    ws = _workspace(path)
    problem = workspace_problem(read_workspace(path), within_station="A")
    assert set(problem.weights) == {"population", "migrants", "incidents"}
    assert problem.cost_source == "straight-line metres"
    r = draw_districts(problem, 3)
    a_cells = set(ws.layer("cells").query("station_id == 'A'")["cell_id"])
    assert set(r.assignment.index) == a_cells
    assert r.contiguous and r.target_met and list(r.centres) == ["A-01", "A-02", "A-03"]
    info = save_police_grids(path, r, author="tester")
    assert info == {"written": 3, "kept": 1, "gov_grids_relinked": 24}
    after = read_workspace(path)
    pg = after.layer("police_grids")
    assert sorted(pg["pgrid_id"]) == ["A-01", "A-02", "A-03", "B1"]
    assert set(pg.loc[pg["pgrid_id"] != "B1", "station_id"]) == {"A"}
    # gov grid i is cell i: its police grid is that cell's district (or B1 in station B)
    gov = after.layer("gov_grids").set_index("grid_id")["pgrid_id"]
    for i in range(24):
        want = r.assignment.get(str(i), "B1")
        assert gov[f"G{i}"] == want
    assert after.meta["layer_police_grids_by"] == "tester"
    assert len(after.layer("cells")) == 24  # the rest untouched


def test_replace_layers_crash_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "ws.gpkg"
    _workspace(path)
    append_plan(path, pd.DataFrame({"cell_id": ["0"], "station_id": ["A"]}), name="p", author="x")
    before = path.read_bytes()
    new = read_workspace(path).layer("police_grids").iloc[:1]

    def boom(*a, **k):
        raise RuntimeError("disk full")
    monkeypatch.setattr(pyogrio, "write_dataframe", boom)
    with pytest.raises(RuntimeError):
        replace_layers(path, {"police_grids": new}, author="x")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_plan_save_racing_replace_layers_is_kept(tmp_path, monkeypatch):
    path = tmp_path / "ws.gpkg"
    _workspace(path)
    new = read_workspace(path).layer("police_grids").iloc[:1]
    real = pyogrio.write_dataframe
    inside = threading.Event()

    def slow(*a, **k):  # the replacement holds the lock while the save tries to commit
        inside.set()
        time.sleep(1.0)
        return real(*a, **k)
    monkeypatch.setattr(pyogrio, "write_dataframe", slow)
    ids = []

    def save():
        inside.wait(10)
        ids.append(append_plan(path, pd.DataFrame({"cell_id": ["0"], "station_id": ["B"]}),
                               name="during", author="planner"))
    t = threading.Thread(target=save)
    t.start()
    replace_layers(path, {"police_grids": new}, author="x")
    t.join(30)
    monkeypatch.setattr(pyogrio, "write_dataframe", real)
    assert ids == [1]
    assert list(read_plans(path)["name"]) == ["during"]  # in the new file, not the unlinked one
    assert list(read_workspace(path).layer("police_grids")["pgrid_id"]) == ["A1"]


# --- command line -------------------------------------------------------------------------------

def _run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_draws_and_saves_police_districts(capsys, tmp_path):
    path = tmp_path / "ws.gpkg"
    _workspace(path)
    code, out, err = _run(capsys, "redistrict", str(path), "--districts", "2", "--from", "scratch",
                          "--within", "B", "--save-districts", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert [d["district_id"] for d in data["districts"]] == ["B-01", "B-02"]
    assert data["contiguous"] and data["max_deviation"] <= 0.05
    assert data["lower_bound"] <= data["objective"] + 1e-6  # small: the bound comes anyway
    assert data["weights"] == {"population": 1.0, "migrants": 1.0, "incidents": 1.0}
    assert data["saved"]["kept"] == 1
    assert sorted(read_workspace(path).layer("police_grids")["pgrid_id"]) == ["A1", "B-01", "B-02"]


@pytest.mark.parametrize("args,message", [
    (["--districts", "2"], "--from scratch"),
    (["--districts", "2", "--from", "scratch", "--within", "Z"], "station 'Z'"),
    (["--districts", "13", "--from", "scratch", "--within", "A"], "only 12 units"),
    (["--districts", "2", "--from", "scratch", "--weight", "nope"], "nope"),
    (["--within", "A"], "--districts"),
])
def test_cli_errors_exit_2(capsys, tmp_path, args, message):
    path = tmp_path / "ws.gpkg"
    _workspace(path)
    code, out, err = _run(capsys, "redistrict", str(path), *args)
    assert code == 2 and message in err and "Traceback" not in err


# --- app page -------------------------------------------------------------------------------------

def test_app_page_draws_and_saves_police_districts(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from tests._apptest import APP
    path = tmp_path / "ws.gpkg"
    _workspace(path)
    monkeypatch.setenv("GRIDPATROL_WORKSPACE", str(path))
    monkeypatch.setenv("GRIDPATROL_PAGE", "districts")
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception and not at.error
    at.selectbox(key="gp_pd_station").set_value("B")
    at.number_input(key="gp_pd_k").set_value(2)
    at.button(key="gp_pd_draw").click().run()
    assert not at.exception and not at.error, [e.value for e in at.exception]
    assert any("2 个警务区" in i.value for i in at.info)
    at.button(key="gp_pd_save").click().run()
    assert not at.exception and not at.error
    assert sorted(read_workspace(path).layer("police_grids")["pgrid_id"]) == ["A1", "B-01", "B-02"]


def test_district_map_roads_are_those_of_the_station_with_their_class_colours():
    """The police-district map draws the streets under the districts (context a commander
    reads): only edges meeting the station's units, coloured by road class, in EPSG:4326."""
    from pathlib import Path

    import shapely
    import shapely.geometry

    from geo.workspace import read_workspace
    from ui.colors import road_style
    from ui.maps import roads_for_map
    demo = Path(__file__).resolve().parents[1] / "data" / "boundaries" / "demo_county.gpkg"
    ws = read_workspace(demo, layers=["cells", "road_edges"])
    cells = ws.layer("cells")
    mine = shapely.union_all(cells.loc[cells["station_id"] == "S05"].geometry.values)
    roads = roads_for_map(ws.layer("road_edges"), within=mine)
    assert roads["features"]
    colours = {road_style(c)[0] for c in ws.layer("road_edges")["road_class"].unique()}
    assert {f["properties"]["_colour"] for f in roads["features"]} <= colours
    area = gpd.GeoSeries([mine], crs=cells.crs).to_crs("EPSG:4326").iloc[0].buffer(0.01)
    assert all(area.intersects(shapely.geometry.shape(f["geometry"])) for f in roads["features"])
