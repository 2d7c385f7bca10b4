"""The workspace GeoPackage: round trip, atomic writes, reproducible bytes, clear errors."""
from __future__ import annotations

import hashlib

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest

from geo.errors import InputError
from geo.workspace import Workspace, read_workspace, workspace_info, write_workspace


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def ws(tiny_area, tiny_townships, tiny_stations) -> Workspace:
    plans = pd.DataFrame({"plan_id": [1], "parent_id": [None], "name": ["current"],
                          "created": ["2026-01-01"], "note": ["baseline"]})
    return Workspace(crs=tiny_area.crs, layers={"area": tiny_area, "townships": tiny_townships,
                                                "stations": tiny_stations, "plans": plans},
                     meta={"name": "tiny 小县"})


def test_round_trip_keeps_layers_tables_crs_and_meta(tmp_path, ws):
    path = write_workspace(ws, tmp_path / "w.gpkg")
    back = read_workspace(path)
    assert back.crs.equals(ws.crs) and back.name == "tiny 小县"
    assert list(back.layers) == ["area", "townships", "stations", "plans", "plan_cells"]
    assert back.layer("plans")["name"].tolist() == ["current"] and back.layer("plan_cells").empty
    assert isinstance(back.layer("plans"), pd.DataFrame) and not isinstance(back.layer("plans"), gpd.GeoDataFrame)
    assert back.layer("townships")["population"].tolist() == [1000.0, 3000.0]
    info = workspace_info(back)
    assert info["area_km2"] == 2.0 and info["layers"]["stations"] == 2 and info["crs"] == "EPSG:32650"
    assert pyogrio.list_layers(path) is not None  # a plain GeoPackage other GIS can open


def test_workspace_is_immutable(ws, tiny_stations):
    w2 = ws.with_layers(posts=tiny_stations.rename(columns={"station_id": "post_id"}))
    assert "posts" in w2.layers and "posts" not in ws.layers
    with pytest.raises(TypeError):
        ws.layers["x"] = tiny_stations  # type: ignore[index]


def test_interrupted_save_leaves_the_previous_file_intact(tmp_path, ws, monkeypatch):
    path = write_workspace(ws, tmp_path / "w.gpkg")
    before = digest(path)
    calls = {"n": 0}
    real = pyogrio.write_dataframe

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(pyogrio, "write_dataframe", failing)
    with pytest.raises(OSError, match="disk full"):
        write_workspace(ws.with_meta(name="changed"), path, overwrite_plans=True)
    assert digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.gpkg"]  # no temporary left behind


def test_layer_in_another_crs_is_refused_before_anything_is_replaced(tmp_path, ws, tiny_stations):
    path = write_workspace(ws, tmp_path / "w.gpkg")
    before = digest(path)
    bad = ws.with_layers(stations=tiny_stations.to_crs(4326))
    with pytest.raises(InputError, match="not in the workspace CRS"):
        write_workspace(bad, path, overwrite_plans=True)
    assert digest(path) == before


def test_fixed_timestamp_gives_identical_bytes(tmp_path, ws):
    a = write_workspace(ws, tmp_path / "a.gpkg", timestamp="2026-01-01T00:00:00Z")
    b = write_workspace(ws, tmp_path / "b.gpkg", timestamp="2026-01-01T00:00:00Z")
    assert digest(a) == digest(b)


def test_read_errors_say_what_to_do(tmp_path, tiny_area):
    with pytest.raises(InputError, match=r"workspace not found.*gridpatrol demo"):
        read_workspace(tmp_path / "none.gpkg")
    (tmp_path / "junk.gpkg").write_text("not sqlite", encoding="utf-8")
    with pytest.raises(InputError, match="not a GeoPackage"):
        read_workspace(tmp_path / "junk.gpkg")
    tiny_area.to_file(tmp_path / "plain.gpkg", layer="area")
    with pytest.raises(InputError, match="not a GridPatrol workspace"):
        read_workspace(tmp_path / "plain.gpkg")


def test_missing_layer_message(ws):
    with pytest.raises(InputError, match=r"has no layer 'checkpoints' \(it has: area, townships"):
        ws.layer("checkpoints")
