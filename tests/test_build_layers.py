"""Communities, police grids and gov grids through ``build_workspace`` and ``gridpatrol import``.

Tiny literal layers in UTM 50N (metres), a 2 km x 1 km county:

    townships      W [0, 1000]            E [1000, 2000]
    jurisdictions  S1 [0, 1200]                 S2 [1200, 2000]
    communities    C1 (south) C2 (north) of W   C3 = E
    police grids   P1 [0, 1100]   P2 [1100, 1600]   P3 [1600, 1800] + [1800, 2000] (two rows)
    gov grids      G1 (south) G2 (north) of W   G3 [1000, 1500]   G4 [1500, 2000]

P2 lies 20 % in S1 and 80 % in S2; G3 lies 20 % in P1 / 80 % in P2 and 40 % in S1 / 60 % in S2.
Expected labels are worked out by hand from these boxes.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box

import cli
from geo.build import build_workspace
from geo.layers import LayerSource

from .conftest import METRIC


def _frame(ids: dict[str, tuple], col: str, **extra) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({col: list(ids), **extra}, geometry=[box(*b) for b in ids.values()],
                            crs=METRIC)


@pytest.fixture
def files(tmp_path) -> Path:
    _frame({"county": (0, 0, 2000, 1000)}, "name").to_file(tmp_path / "area.gpkg")
    _frame({"W": (0, 0, 1000, 1000), "E": (1000, 0, 2000, 1000)}, "township_id").to_file(
        tmp_path / "town.gpkg")
    _frame({"S1": (0, 0, 1200, 1000), "S2": (1200, 0, 2000, 1000)}, "station_id").to_file(
        tmp_path / "jur.gpkg")
    _frame({"C1": (0, 0, 1000, 500), "C2": (0, 500, 1000, 1000), "C3": (1000, 0, 2000, 1000)},
           "社区编码", name=["东关社区", "西关社区", "王庄村"]).to_file(tmp_path / "comm.gpkg")
    gpd.GeoDataFrame({"警务区": ["P1", "P2", "P3", "P3"], "所属派出所": ["S1", "S2", "S2", "S2"]},
                     geometry=[box(0, 0, 1100, 1000), box(1100, 0, 1600, 1000),
                               box(1600, 0, 1800, 1000), box(1800, 0, 2000, 1000)],
                     crs=METRIC).to_file(tmp_path / "pg.gpkg")
    _frame({"G1": (0, 0, 1000, 500), "G2": (0, 500, 1000, 1000), "G3": (1000, 0, 1500, 1000),
            "G4": (1500, 0, 2000, 1000)}, "网格编码").to_file(tmp_path / "grid.gpkg")
    return tmp_path


def _build(d: Path, **kwargs):
    layers = {"area": LayerSource(str(d / "area.gpkg")),
              "townships": LayerSource(str(d / "town.gpkg")),
              "jurisdictions": LayerSource(str(d / "jur.gpkg")),
              "communities": LayerSource(str(d / "comm.gpkg"), id_col="社区编码"),
              "police_grids": LayerSource(str(d / "pg.gpkg"), id_col="警务区"),
              "gov_grids": LayerSource(str(d / "grid.gpkg"), id_col="网格编码")}
    return build_workspace(**(layers | kwargs), working_crs=METRIC, cell_size_m=500)


def _by(warnings, rule: str, layer: str):
    hits = [w for w in warnings if w.rule == rule and w.layer == layer]
    assert len(hits) == 1, [(w.rule, w.layer, str(w)) for w in warnings]
    return hits[0]


def test_parents_by_largest_overlap_with_warnings(files):
    ws, warnings = _build(files)
    comm = ws.layer("communities").set_index("community_id")
    assert comm["township_id"].to_dict() == {"C1": "W", "C2": "W", "C3": "E"}
    assert comm["name"].to_dict()["C3"] == "王庄村"                 # other columns are kept
    w = _by(warnings, "township_id_by_overlap", "communities")
    assert "township_id of 3 communities taken from the township covering most of each" in str(w)
    assert "0 of them are split" in w.message and w.ids == ()

    pg = ws.layer("police_grids").set_index("pgrid_id")
    assert pg["station_id"].to_dict() == {"P1": "S1", "P2": "S2", "P3": "S2"}   # no station column
    w = _by(warnings, "station_id_by_overlap", "police_grids")
    assert "1 of them are split by more than 5% between jurisdictions" in w.message and w.ids == ("P2",)
    assert "police_grid_station" in w.fix
    assert "P3 (x2)" in str(_by(warnings, "dissolved_parts", "police_grids"))
    assert pg.loc["P3"].geometry.area == pytest.approx(400_000)

    grid = ws.layer("gov_grids").set_index("grid_id")
    assert grid.loc["G1", ["community_id", "township_id", "pgrid_id", "station_id"]].tolist() == \
        ["C1", "W", "P1", "S1"]
    assert grid.loc["G3", ["community_id", "township_id", "pgrid_id", "station_id"]].tolist() == \
        ["C3", "E", "P2", "S2"]
    assert grid.loc["G4", ["pgrid_id", "station_id"]].tolist() == ["P3", "S2"]  # 20 % in P2
    w = _by(warnings, "pgrid_id_by_overlap", "gov_grids")
    assert w.ids == ("G3", "G4") and "2 of them are split" in w.message
    # gov grids nested in their communities and townships: nothing to report for those
    assert not [w for w in warnings if w.layer == "gov_grids" and w.rule in
                ("community_id_by_overlap", "township_id_by_overlap")]
    split = _by(warnings, "station_id_by_overlap", "gov_grids")
    assert split.ids == ("G3",) and "split by more than 5% between jurisdictions" in split.message


def test_the_police_grids_own_station_column(files):
    ws, warnings = _build(files, police_grid_station="所属派出所")
    pg = ws.layer("police_grids").set_index("pgrid_id")
    assert pg["station_id"].to_dict() == {"P1": "S1", "P2": "S2", "P3": "S2"}
    assert "所属派出所" not in pg.columns
    assert not [w for w in warnings if w.layer == "police_grids" and "station" in w.rule]


def test_own_parent_columns_are_kept_as_text_ids(files, tmp_path):
    comm = gpd.read_file(files / "comm.gpkg").assign(township_id=[7, 7, 8])
    comm.to_file(tmp_path / "comm2.gpkg")
    ws, warnings = _build(files, communities=LayerSource(str(tmp_path / "comm2.gpkg"), id_col="社区编码"))
    assert ws.layer("communities")["township_id"].tolist() == ["7", "7", "8"]
    assert not [w for w in warnings if w.layer == "communities"]


def test_without_the_parent_layers_a_warning_says_what_is_missing(files):
    ws, warnings = _build(files, townships=None, jurisdictions=None)
    assert "township_id" not in ws.layer("communities").columns
    assert "the communities have no township_id column and no townships" in str(
        _by(warnings, "no_township_id", "communities"))
    assert "give the jurisdictions" in _by(warnings, "no_station_id", "police_grids").fix
    # gov grids are labelled with what there is, silently where nothing is split
    grid = ws.layer("gov_grids")
    assert {"community_id", "pgrid_id"} <= set(grid.columns)
    assert not {"township_id", "station_id"} & set(grid.columns)


@pytest.mark.parametrize("layer, id_col", [("communities", "社区编码"), ("police_grids", "警务区"),
                                           ("gov_grids", "网格编码")])
def test_a_missing_id_column_names_the_layer_and_the_columns(files, raises_problem, layer, id_col):
    path = {"communities": "comm.gpkg", "police_grids": "pg.gpkg", "gov_grids": "grid.gpkg"}[layer]
    with raises_problem("missing_id_column", layer, match=rf"\[{layer}\]: no id column 'nope'.*{id_col}"):
        _build(files, **{layer: LayerSource(str(files / path), id_col="nope")})


def test_a_missing_station_column_names_the_parameter(files, raises_problem):
    with raises_problem("missing_station_column", "police_grids",
                        match=r"`police_grid_station` was '派出所' but .*one of \[.*'所属派出所'"):
        _build(files, police_grid_station="派出所")


def test_reading_warnings_are_build_warnings(files, tmp_path):
    comm = gpd.read_file(files / "comm.gpkg")
    comm.to_file(tmp_path / "comm.shp", encoding="gbk")
    (tmp_path / "comm.cpg").unlink(missing_ok=True)  # a Chinese export without .cpg
    ws, warnings = _build(files, communities=LayerSource(str(tmp_path / "comm.shp"), id_col="社区编码"))
    assert sorted(ws.layer("communities")["name"]) == ["东关社区", "王庄村", "西关社区"]
    w = _by(warnings, "read", "communities")
    assert "no .cpg file" in w.message and "GB18030" in w.message
    assert str(w).startswith(f"{tmp_path / 'comm.shp'} [communities]: the Shapefile does not say")


# --- gridpatrol import ------------------------------------------------------------------------

def _run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _import_args(d: Path, out: Path) -> list:
    return ["import", out, "--area", d / "area.gpkg", "--crs", "32650", "--cell-size", "500",
            "--townships", d / "town.gpkg", "--jurisdictions", d / "jur.gpkg",
            "--communities", d / "comm.gpkg", "--community-id", "社区编码",
            "--police-grids", d / "pg.gpkg", "--police-grid-id", "警务区",
            "--gov-grids", d / "grid.gpkg", "--gov-grid-id", "网格编码"]


def test_import_and_info_list_the_new_layers(capsys, files, tmp_path):
    out = tmp_path / "ws.gpkg"
    code, stdout, err = _run(capsys, *_import_args(files, out), "--json")
    assert code == 0, err
    info = json.loads(stdout)
    assert {k: info["layers"][k] for k in ("communities", "gov_grids", "police_grids")} == \
        {"communities": 3, "gov_grids": 4, "police_grids": 3}
    assert any("station_id of 3 police grids taken from the jurisdiction" in w and "P2" in w
               for w in info["warnings"])
    assert len(set(info["warnings"])) == len(info["warnings"])
    assert err.count("gridpatrol import: warning: ") == len(info["warnings"])
    pg = gpd.read_file(out, layer="police_grids").set_index("pgrid_id")
    assert pg["station_id"].to_dict() == {"P1": "S1", "P2": "S2", "P3": "S2"}
    code, stdout, _ = _run(capsys, "info", out)
    assert code == 0
    for layer, n in (("communities", 3), ("gov_grids", 4), ("police_grids", 3)):
        assert re.search(rf"^\s+{layer}\s+{n}$", stdout, re.MULTILINE), stdout
    code, stdout, err = _run(capsys, *_import_args(files, tmp_path / "ws2.gpkg"),
                             "--police-grid-station", "所属派出所", "--json")
    assert code == 0, err
    assert not any("police grids taken from" in w for w in json.loads(stdout)["warnings"])


def test_import_names_the_flags_of_missing_columns(capsys, files, tmp_path):
    args = _import_args(files, tmp_path / "ws.gpkg")
    args[args.index("--community-id") + 1] = "nope"
    code, stdout, err = _run(capsys, *args, "--police-grid-station", "派出所")
    assert code == 2 and stdout == "" and not (tmp_path / "ws.gpkg").exists()
    assert "comm.gpkg [communities]: no id column 'nope'" in err and "give it as --community-id COL" in err
    assert "--police-grid-station was '派出所' but the police grids have no such column" in err


def test_import_prints_each_reading_warning_once(capsys, files, tmp_path):
    (tmp_path / "inc.csv").write_text(  # a row without coordinates is left out, with a warning
        "incident_id,lon,lat\nI1,113.001,0.001\nI2,,0.002\n", encoding="utf-8")
    area = gpd.read_file(files / "area.gpkg").to_crs(4326)
    area.assign(geometry=area.geometry.translate(113.0, 0.0)).to_file(tmp_path / "area.geojson")
    code, stdout, err = _run(capsys, "import", tmp_path / "ws.gpkg", "--area", tmp_path / "area.geojson",
                             "--incidents", tmp_path / "inc.csv", "--json")
    assert code == 0, err
    warnings = json.loads(stdout)["warnings"]
    placed = [w for w in warnings if "cannot be placed" in w]
    assumed = [w for w in warnings if "read as WGS84 longitude/latitude" in w]
    assert len(placed) == 1 and len(assumed) == 1, warnings
    assert err.count("cannot be placed") == 1 and err.count("read as WGS84") == 1
    assert err.count("gridpatrol import: warning: ") == len(warnings)
    # the build's own list holds them as Problems of rule "read", for the app's import report
    _, build_warnings = build_workspace(area=LayerSource(str(tmp_path / "area.geojson")),
                                        incidents=LayerSource(str(tmp_path / "inc.csv")))
    reads = [w for w in build_warnings if w.rule == "read"]
    assert {w.layer for w in reads} == {"incidents"} and len(reads) == 2
    assert any("cannot be placed" in w.message for w in reads)
