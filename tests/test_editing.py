"""Hand editing: reassign by ids/lasso/township, undo/redo, plan versions, compare, export, CLI."""
from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.geometry import Point, box

from geo.errors import InputError
from geo.workspace import Workspace, read_workspace, write_workspace
from planning.editing import (
    History,
    compare_plans,
    jurisdictions_from_plan,
    plan_from_workspace,
    plan_versions,
    reassign,
    reassign_by_polygon,
    reassign_township,
    save_plan,
    write_plan,
)
from planning.plan import Plan, district_graph
from tests._grids import grid_cells, stations_at


@pytest.fixture
def strip():
    cells = grid_cells(4, 2, townships=["A", "A", "B", "B"] * 2)
    cells["station_id"] = ["S0", "S0", "S1", "S1"] * 2
    st = stations_at(cells, [0, 3])
    g = district_graph(cells, st)
    return cells, st, g, Plan.from_labels(g, cells.set_index("cell_id")["station_id"])


def test_reassign_three_ways(strip):
    _, _, g, plan = strip
    assert reassign(plan, [2], "S0").labels[2] == "S0"
    lasso = box(150, 0, 260, 200)  # centroids x=150 and 250 of both rows
    moved = reassign_by_polygon(plan, lasso, "S1")
    assert moved.labels.loc[[1, 2, 5, 6]].tolist() == ["S1"] * 4
    assert reassign_township(plan, "A", "S1").labels.loc[[1, 5]].tolist() == ["S1", "S1"]
    with pytest.raises(InputError, match="no cell centre"):
        reassign_by_polygon(plan, box(1000, 1000, 1100, 1100), "S1")
    assert plan.labels[2] == "S1"  # the original is untouched


def test_history_undo_redo_lock(strip):
    _, _, _, plan = strip
    h = History.start(plan)
    h = h.push(reassign(plan, [2], "S0"), "move 2")
    h = h.push(reassign(h.current, [6], "S0"), "move 6")
    assert h.current.labels[6] == "S0" and h.can_undo
    h2 = h.undo()
    assert h2.current.labels[6] == "S1" and h2.can_redo
    assert h2.redo().current == h.current
    assert h2.undo().current == plan and not h2.undo().can_undo
    assert h.lock([1, 2.0]).unlock(["2"]).locked == {"1"}  # ids by the one rule: text


def test_compare(strip):
    _, _, _, plan = strip
    after = reassign(plan, [2, 6], "S0")
    diff = compare_plans(plan, after)
    assert diff["cells_moved"] == 2
    assert diff["changed"]["cell_id"].tolist() == [2, 6]
    assert diff["moved"]["population"] == 20.0
    assert diff["stations"].loc["S0", "cells_change"] == 2


def test_jurisdictions_tile_without_gaps_or_overlaps(strip):
    cells, _, _, plan = strip
    jur = jurisdictions_from_plan(reassign(plan, [2], "S0"))
    assert jur.geometry.is_valid.all()
    assert jur.geometry.area.sum() == pytest.approx(cells.geometry.area.sum())
    assert shapely.intersection(jur.geometry.iloc[0], jur.geometry.iloc[1]).area == pytest.approx(0.0)


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".shp"])
def test_write_plan(strip, tmp_path, suffix):
    _, _, _, plan = strip
    files = write_plan(plan, tmp_path / f"plan{suffix}")
    assert files[0].exists()
    if suffix == ".gpkg":
        names = [n for n, _ in pyogrio.list_layers(files[0])]
        assert set(names) == {"plan_cells", "jurisdictions"}
    else:
        assert len(gpd.read_file(files[0])) == 2


def _workspace(tmp_path, cells, st):
    path = tmp_path / "ws.gpkg"
    area = gpd.GeoDataFrame({"name": ["t"]}, geometry=[shapely.union_all(cells.geometry.values)],
                            crs=cells.crs)
    write_workspace(Workspace(crs=cells.crs, layers={"area": area, "cells": cells, "stations": st},
                              meta={"name": "t"}), path)
    return path


def test_save_plan_versions_append_only(strip, tmp_path):
    cells, st, g, plan = strip
    path = _workspace(tmp_path, cells, st)
    first = save_plan(path, plan, name="current", note="as imported", author="li")
    second = save_plan(path, reassign(plan, [2], "S0"), name="edit", parent_id=first, author="wang")
    ws = read_workspace(path)
    versions = plan_versions(ws)
    assert versions["plan_id"].tolist() == [1, 2] and versions["parent_id"].iloc[1] == 1
    assert versions["author"].tolist() == ["li", "wang"]
    assert plan_from_workspace(ws, g, first) == plan
    assert plan_from_workspace(ws, g, second).labels[2] == "S0"
    with pytest.raises(InputError, match="`parent_id` was 9"):
        save_plan(path, plan, name="x", parent_id=9, author="li")
    with pytest.raises(InputError, match="`name` was empty"):
        save_plan(path, plan, name="  ", author="li")
    assert plan_versions(read_workspace(path))["plan_id"].tolist() == [1, 2]


def test_cli_redistrict(strip, tmp_path, capsys):
    from cli import main
    cells, st, _, _ = strip
    cells = cells.copy()
    cells["incidents"] = [5.0, 1, 1, 1, 5, 1, 1, 1]
    path = _workspace(tmp_path, cells, st)
    out = tmp_path / "plan.gpkg"
    code = main(["redistrict", str(path), "--weight", "incidents", "--max-deviation", "0.5",
                 "--out", str(out), "--save-plan", "balanced", "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 0
    for key in ("districts", "contiguous", "max_workload_deviation", "township_splits",
                "cells_changed", "seconds", "current_max_deviation"):
        assert key in payload
    assert payload["contiguous"] and payload["max_workload_deviation"] <= 0.5
    assert out.exists() and plan_versions(read_workspace(path))["name"].tolist() == ["balanced"]


@pytest.mark.parametrize("args,match", [
    (["--weight", "nope"], "not a cell column"),
    (["--weight", "empty"], "empty"),
    (["--lock", "0,4", "--max-deviation", "0.2"], "locked cells alone"),
])
def test_cli_bad_input_exits_2_and_writes_nothing(strip, tmp_path, capsys, args, match):
    from cli import main
    cells, st, _, _ = strip
    cells = cells.copy()
    cells["empty"] = 0.0
    cells["incidents"] = [5.0, 1, 1, 1, 5, 1, 1, 1]
    path = _workspace(tmp_path, cells, st)
    before = path.read_bytes()
    out = tmp_path / "plan.gpkg"
    code = main(["redistrict", str(path), "--out", str(out), "--save-plan", "x", *args])
    assert code == 2 and match in capsys.readouterr().err
    assert not out.exists() and path.read_bytes() == before


def test_cli_station_outside_every_cell(strip, tmp_path, capsys):
    from cli import main
    cells, st, _, _ = strip
    st = pd.concat([st, gpd.GeoDataFrame({"station_id": ["far"]}, geometry=[Point(9000, 9000)],
                                         crs=st.crs)], ignore_index=True)
    path = _workspace(tmp_path, cells, st)
    assert main(["redistrict", str(path)]) == 2
    assert "outside every cell" in capsys.readouterr().err
