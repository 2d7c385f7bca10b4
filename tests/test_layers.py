"""Reading layers: GeoPackage (with :layer), GeoJSON, zipped Shapefile, CSV, and their errors."""
from __future__ import annotations

import zipfile

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from geo import crs as gcrs
from geo.errors import GridPatrolWarning, InputError
from geo.layers import LayerSource, read_layer, split_layer_spec

from .conftest import METRIC


@pytest.fixture
def polys():
    return gpd.GeoDataFrame({"township_id": ["A", "B"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)],
                            crs=METRIC)


def test_geopackage_layer_spec(tmp_path, polys):
    path = tmp_path / "two.gpkg"
    polys.to_file(path, layer="townships")
    polys.to_file(path, layer="other")
    assert split_layer_spec(f"{path}:townships") == (path, "townships")
    gdf = read_layer(f"{path}:townships")
    assert len(gdf) == 2 and gdf.attrs["source"] == f"{path}:townships"
    with pytest.raises(InputError, match=r"several layers \['townships', 'other'\].*:<layer>"):
        read_layer(path)


def test_geojson_and_zipped_shapefile(tmp_path, polys):
    polys.to_file(tmp_path / "t.geojson")
    assert len(read_layer(tmp_path / "t.geojson")) == 2
    shp = tmp_path / "shp"
    shp.mkdir()
    polys.to_file(shp / "t.shp")
    with zipfile.ZipFile(tmp_path / "t.zip", "w") as z:
        for f in shp.iterdir():
            z.write(f, f"t/{f.name}")
        z.writestr("__MACOSX/t/._t.shp", b"junk")
    gdf = read_layer(tmp_path / "t.zip")
    assert len(gdf) == 2 and gdf.crs.to_epsg() == 32650


def test_zip_with_several_datasets_asks_which(tmp_path, polys):
    polys.to_file(tmp_path / "a.geojson")
    polys.to_file(tmp_path / "b.geojson")
    with zipfile.ZipFile(tmp_path / "ab.zip", "w") as z:
        z.write(tmp_path / "a.geojson", "a.geojson")
        z.write(tmp_path / "b.geojson", "b.geojson")
    with pytest.raises(InputError, match=r"several datasets.*name one as"):
        read_layer(tmp_path / "ab.zip")
    assert len(read_layer(f"{tmp_path / 'ab.zip'}:b.geojson")) == 2


def test_csv_lon_lat_detected_and_assumed_wgs84(tmp_path):
    (tmp_path / "s.csv").write_text("id,name,Longitude,Latitude\n1,a,116.4,39.9\n2,\"b\nmultiline\",116.5,39.8\n",
                                    encoding="utf-8")
    gdf = read_layer(tmp_path / "s.csv")
    assert gdf.crs.to_epsg() == 4326 and list(gdf.geometry.x) == [116.4, 116.5]


def test_csv_xy_columns_named_by_user_with_crs(tmp_path):
    (tmp_path / "s.csv").write_text("code,E,N\nA,500000,3800000\n", encoding="utf-8")
    gdf = read_layer(LayerSource(str(tmp_path / "s.csv"), x_col="E", y_col="N", crs="4547"))
    assert gdf.crs.to_epsg() == 4547 and gdf.geometry.iloc[0] == Point(500000, 3800000)
    # x/y without a CRS stays without one: validation reports it.
    assert read_layer(LayerSource(str(tmp_path / "s.csv"), x_col="E", y_col="N")).crs is None


def test_csv_rows_without_coordinates_are_left_out_by_line_and_errors_name_the_file(tmp_path):
    (tmp_path / "bad.csv").write_text("id,lon,lat\n1,116.4,39.9\n2,,39.8\n3,x,39.7\n", encoding="utf-8")
    with pytest.warns(GridPatrolWarning, match=r"bad\.csv: 2 of 3 rows cannot be placed and were "
                      r"left out: no numeric lon/lat in rows 3, 4"):
        gdf = read_layer(tmp_path / "bad.csv")
    assert list(gdf["id"]) == [1]
    (tmp_path / "none.csv").write_text("id,lon,lat\n1,,\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"none\.csv: none of the 1 rows can be placed"):
        read_layer(tmp_path / "none.csv")
    (tmp_path / "nocoords.csv").write_text("id,a,b\n1,2,3\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"no x/longitude column found.*`x_col`/`y_col`"):
        read_layer(tmp_path / "nocoords.csv")
    with pytest.raises(InputError, match=r"`x_col` was 'E', which is not a column"):
        read_layer(LayerSource(str(tmp_path / "nocoords.csv"), x_col="E", y_col="b"))


def test_csv_in_gbk_encoding(tmp_path):
    (tmp_path / "gbk.csv").write_bytes("名称,lon,lat\n城关派出所,113.9,34.3\n".encode("gb18030"))
    assert read_layer(tmp_path / "gbk.csv")["名称"].iloc[0] == "城关派出所"


def test_missing_file_folder_and_non_layer(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_layer(tmp_path / "nope.gpkg")
    with pytest.raises(InputError, match="is a folder"):
        read_layer(tmp_path)
    (tmp_path / "notes.geojson").write_text("this is not json", encoding="utf-8")
    with pytest.raises(InputError, match=r"notes\.geojson: not a layer GridPatrol can read"):
        read_layer(tmp_path / "notes.geojson")


def test_file_crs_wins_and_given_crs_fills_a_missing_one(tmp_path, polys):
    polys.set_crs(None, allow_override=True).to_file(tmp_path / "noprj.shp")
    assert read_layer(tmp_path / "noprj.shp").crs is None
    assert read_layer(LayerSource(str(tmp_path / "noprj.shp"), crs="3435")).crs.to_epsg() == 3435
    polys.to_file(tmp_path / "prj.shp")
    assert read_layer(LayerSource(str(tmp_path / "prj.shp"), crs="3435")).crs.to_epsg() == 32650


def test_gcj02_source_is_converted_on_read(tmp_path):
    glon, glat = 116.38404722455657, 39.91334545536069  # published GCJ-02 of a Beijing point
    (tmp_path / "amap.csv").write_text(f"id,lng,lat\n1,{glon},{glat}\n", encoding="utf-8")
    gdf = read_layer(LayerSource(str(tmp_path / "amap.csv"), source_crs="gcj02"))
    wlon, wlat = gcrs.gcj02_to_wgs84(glon, glat)
    assert gdf.geometry.iloc[0].x == pytest.approx(float(wlon)) and gdf.crs.to_epsg() == 4326
    assert abs(gdf.geometry.iloc[0].x - 116.377817) < 1e-5  # the published WGS84 point
