"""Importing and validating the real reference layers in ../shared/data (see its README)."""
from __future__ import annotations

import json

import geopandas as gpd
import pytest

import cli
from geo.layers import LayerSource, read_layer
from geo.validate import check_layer, validate_layer
from tests.realdata.chicago import chicago_import_args

CHICAGO_POP_2010 = 2_695_598  # sum of POP2010 over the 77 community areas (Census 2010)


def test_chicago_import_in_one_command(shared_data, tmp_path, capsys):
    d = shared_data / "chicago"
    out = tmp_path / "chicago.gpkg"
    code = cli.main(chicago_import_args(d, out))
    stdout, err = capsys.readouterr()
    assert code == 0, err
    info = json.loads(stdout)
    assert info["layers"]["townships"] == 77 and info["layers"]["stations"] == 22
    assert info["layers"]["jurisdictions"] == 23  # 25 features, district 31 (airport) in 3 parts
    assert info["crs"] == "EPSG:32616"  # UTM 16N estimated from the area
    assert 580 < info["area_km2"] < 610  # Chicago's land area is about 589 km2 (606 with water)
    warnings = "\n".join(info["warnings"])
    assert "31 (x3)" in warnings and "US survey foot" in warnings
    assert "jurisdictions have no station point (rows: 31)" in warnings
    cells = gpd.read_file(out, layer="cells")
    assert cells["population"].sum() == pytest.approx(CHICAGO_POP_2010, rel=1e-6)
    # A few edge cells touch no district: the two official layers do not share one outline.
    assert cells["station_id"].isna().sum() <= 5
    stations = {str(i) for i in range(1, 26) if i not in (13, 21, 23)}
    assert stations <= set(cells["station_id"].dropna()) <= stations | {"31"}
    # Community areas come in feet (EPSG:3435): after reprojection the areas are in m2.
    towns = gpd.read_file(out, layer="townships")
    src = gpd.read_file(d / "community_areas.zip")
    assert towns.area.sum() == pytest.approx(src.area.sum() * 0.3048006096 ** 2, rel=1e-3)


def test_chicago_stations_lie_in_their_districts(shared_data):
    d = shared_data / "chicago"
    from pyproj import CRS

    from geo.validate import check_stations_in_jurisdictions
    utm = CRS(32616)
    st, _ = validate_layer(read_layer(d / "crime_counts_and_stations" / "Police_Stations.csv"), "stations",
                           id_col="DISTRICT", working_crs=utm, crs_chosen=True)
    jur, _ = validate_layer(read_layer(d / "police_districts.zip.geojson"), "jurisdictions",
                            id_col="DIST_NUM", working_crs=utm, crs_chosen=True)
    checked = check_stations_in_jurisdictions(st, jur)
    assert checked.problems == [] and sorted(st["station_id"], key=int)[:3] == ["1", "2", "3"]


def test_chicago77_without_prj_is_refused_unless_a_crs_is_given(shared_data, tmp_path, capsys):
    shp = shared_data / "chicago" / "Chicago77.shp"
    checked = check_layer(read_layer(shp), "townships", id_col="AREA_NUMBE")
    assert [p.rule for p in checked.problems] == ["no_crs"]
    # the library names the parameter, the command line its flag
    assert "Chicago77.shp [townships]" in str(checked.problems[0]) and "`layer_crs`" in str(checked.problems[0])
    code = cli.main(["import", str(tmp_path / "c.gpkg"), "--area", str(shp)])
    _, err = capsys.readouterr()
    assert code == 2 and "no coordinate reference system" in err and not (tmp_path / "c.gpkg").exists()
    assert "--layer-crs" in err and "`layer_crs`" not in err
    good = read_layer(LayerSource(str(shp), crs="3435"))
    ref = gpd.read_file(shared_data / "chicago" / "community_areas.zip")
    # The libpysal copy is a slightly different digitisation of the same 77 areas.
    assert good.to_crs(32616).area.sum() == pytest.approx(ref.to_crs(32616).area.sum(), rel=2e-3)


def test_chicago_beats_are_275_after_dissolving_parts(shared_data):
    gdf, warnings = validate_layer(read_layer(shared_data / "chicago" / "police_beats.zip.geojson"),
                                   "police_grids", id_col="BEAT_NUM")
    assert len(gdf) == 275 and warnings[0].rule == "dissolved_parts"


def test_bhubaneswar_layers(shared_data, tmp_path, capsys):
    d = shared_data / "bhubaneswar"
    out = tmp_path / "bbsr.gpkg"
    code = cli.main(["import", str(out), "--area", str(d / "BMC_Boundary.GeoJSON"),
                     "--townships", str(d / "Wards_no_contacts.geojson"), "--township-id", "wardno",
                     "--jurisdictions", str(d / "Police_Jurisdiction.geojson"), "--jurisdiction-id", "OBJECTID",
                     "--attributes", str(d / "Wards_no_contacts.geojson"),
                     "--columns", "totalwardpopulation=population", "--json"])
    stdout, err = capsys.readouterr()
    assert code == 0, err
    info = json.loads(stdout)
    assert info["layers"]["townships"] == 67 and info["layers"]["jurisdictions"] == 17
    assert info["crs"] == "EPSG:32645"
    jur = gpd.read_file(out, layer="jurisdictions")
    wards = gpd.read_file(out, layer="townships")
    # The README: stations cover 946 km2, wards 147 km2.
    assert jur.area.sum() / 1e6 == pytest.approx(946, rel=0.01)
    assert wards.area.sum() / 1e6 == pytest.approx(147, rel=0.01)
    cells = gpd.read_file(out, layer="cells")
    ward_pop = gpd.read_file(d / "Wards_no_contacts.geojson")["totalwardpopulation"].sum()
    # Cells cover the municipal boundary; wards reach a little beyond it.
    assert cells["population"].sum() == pytest.approx(ward_pop, rel=0.02)


def test_coquimbo_zones_and_nodes(shared_data):
    path = shared_data / "coquimbo" / "coquimbo_network_zones.gpkg"
    zones, _ = validate_layer(read_layer(f"{path}:zones"), "townships", id_col="zone_id")
    assert len(zones) == 133 and zones["population"].sum() == 451_834
    nodes, _ = validate_layer(read_layer(f"{path}:nodes"), "road_nodes")
    assert len(nodes) == 15_724
    links = check_layer(read_layer(f"{path}:links"), "road_edges")
    # Links name their ends a_node/b_node, not u/v: validation says so instead of guessing.
    assert {p.rule for p in links.problems} == {"missing_column"}
    zones_utm, warnings = validate_layer(read_layer(f"{path}:zones"), "townships", id_col="zone_id",
                                         working_crs=zones.estimate_utm_crs())
    assert 380 < zones_utm.area.sum() / 1e6 < 395  # the README: 388 km2


def test_coquimbo_import_with_its_road_network(shared_data, tmp_path, capsys):
    path = shared_data / "coquimbo" / "coquimbo_network_zones.gpkg"
    out = tmp_path / "coquimbo.gpkg"
    code = cli.main(["import", str(out), "--area", f"{path}:zones", "--townships", f"{path}:zones",
                     "--township-id", "zone_id", "--network", str(path), "--json"])
    stdout, err = capsys.readouterr()
    assert code == 0, err
    info = json.loads(stdout)
    assert info["name"] == "coquimbo_network_zones" and info["crs"] == "EPSG:32719"
    # The README: the largest strongly connected component honouring `direction` has 15,624 nodes.
    assert info["layers"]["road_nodes"] == 15_624
    cells = gpd.read_file(out, layer="cells")
    assert cells["population"].sum() == pytest.approx(451_834, rel=1e-6)
