"""Every validation rule on tiny literal layers, and the wording of its message."""
from __future__ import annotations

import geopandas as gpd
import pytest
from pyproj import CRS
from shapely.geometry import LineString, Point, Polygon, box

from geo.errors import ValidationError
from geo.validate import check_layer, check_stations_in_jurisdictions, normalise_ids, validate_layer

from .conftest import METRIC

BOWTIE = Polygon([(0, 0), (10, 10), (10, 0), (0, 10), (0, 0)])  # self-intersecting


def pts(ids, xy, crs=METRIC, col="station_id"):
    return gpd.GeoDataFrame({col: ids}, geometry=[Point(*p) for p in xy], crs=crs)


def test_clean_layer_passes_and_is_not_modified(tiny_stations):
    before = tiny_stations.copy()
    out, warnings = validate_layer(tiny_stations, "stations", source="s.csv")
    assert list(out["station_id"]) == ["S1", "S2"] and warnings == []
    assert tiny_stations.equals(before)


def test_empty_layer(raises_problem):
    with raises_problem("empty_layer", "stations", match=r"s\.csv \[stations\]: the layer has no features"):
        validate_layer(pts([], []), "stations", source="s.csv")


def test_missing_id_column_lists_the_columns(raises_problem):
    gdf = pts(["A"], [(0, 0)], col="code")
    with raises_problem("missing_id_column", match=r"no id column 'station_id'.*one of \['code'\]"):
        validate_layer(gdf, "stations", source="s.csv")
    with raises_problem("missing_id_column", match="no id column 'DIST'"):
        validate_layer(gdf, "stations", id_col="DIST", source="s.csv")


def test_null_ids_name_the_rows(raises_problem):
    gdf = pts(["A", None, "C", None], [(0, 0), (1, 1), (2, 2), (3, 3)])
    with raises_problem("null_ids", match=r"2 features have no station_id \(rows: #2, #4\)"):
        validate_layer(gdf, "stations", source="s.csv")


def test_duplicate_point_ids_are_an_error(raises_problem):
    gdf = pts(["A", "A", "B"], [(0, 0), (1, 1), (2, 2)])
    with raises_problem("duplicate_ids", match=r"rows: A \(x2\).*give every point its own"):
        validate_layer(gdf, "stations", source="s.csv")


def test_duplicate_polygon_ids_are_dissolved_with_a_warning():
    gdf = gpd.GeoDataFrame({"DIST": [31, 31, 31, 1]},
                           geometry=[box(0, 0, 1, 1), box(5, 5, 6, 6), box(8, 8, 9, 9), box(2, 0, 3, 1)],
                           crs=METRIC)
    out, warnings = validate_layer(gdf, "jurisdictions", id_col="DIST", source="d.geojson")
    assert sorted(out["station_id"]) == ["1", "31"]
    part = out.set_index("station_id").geometry["31"]
    assert part.geom_type == "MultiPolygon" and part.area == pytest.approx(3.0)
    (w,) = warnings
    assert w.rule == "dissolved_parts" and "31 (x3)" in str(w)


def test_no_crs_says_how_to_fix(raises_problem):
    gdf = pts(["A"], [(0, 0)], crs=None)
    with raises_problem("no_crs", match=r"no coordinate reference system.*`layer_crs`"):
        validate_layer(gdf, "stations", source="s.shp")


def test_unknown_crs(raises_problem):
    local = CRS.from_wkt('LOCAL_CS["site grid",UNIT["metre",1],AXIS["X",EAST],AXIS["Y",NORTH]]')
    gdf = pts(["A"], [(0, 0)], crs=local)
    with raises_problem("unknown_crs", match="not a known geographic or projected"):
        validate_layer(gdf, "stations", source="s.shp")


def test_geographic_layer_is_reprojected_with_a_warning_unless_crs_chosen():
    gdf = pts(["A"], [(117.0, 31.0)], crs="EPSG:4326")
    out, warnings = validate_layer(gdf, "stations", working_crs=CRS(METRIC), source="s.csv")
    assert CRS(out.crs).equals(CRS(METRIC)) and 400_000 < out.geometry.x.iloc[0] < 600_000
    assert [w.rule for w in warnings] == ["reprojected"] and "degree" in str(warnings[0])
    out, warnings = validate_layer(gdf, "stations", working_crs=CRS(METRIC), crs_chosen=True)
    assert warnings == []


def test_wrong_geometry_type(raises_problem):
    gdf = gpd.GeoDataFrame({"township_id": ["A", "B"]},
                           geometry=[box(0, 0, 1, 1), LineString([(0, 0), (1, 1)])], crs=METRIC)
    with raises_problem("wrong_geometry_type",
                        match=r"1 features are LineString, the layer needs polygons \(rows: B\)"):
        validate_layer(gdf, "townships", source="t.gpkg")


def test_missing_geometry(raises_problem):
    gdf = gpd.GeoDataFrame({"township_id": ["A", "B"]}, geometry=[box(0, 0, 1, 1), None], crs=METRIC)
    with raises_problem("no_geometry", match=r"rows: B"):
        validate_layer(gdf, "townships", source="t.gpkg")


def test_invalid_polygons_are_repaired_with_a_warning_naming_rows():
    gdf = gpd.GeoDataFrame({"township_id": ["ok", "bow"]}, geometry=[box(20, 20, 30, 30), BOWTIE],
                           crs=METRIC)
    out, warnings = validate_layer(gdf, "townships", source="t.gpkg")
    assert out.is_valid.all() and out.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    assert out.geometry.iloc[1].area == pytest.approx(50.0)  # two triangles of 25 m2
    (w,) = warnings
    assert w.rule == "repaired_geometry" and "rows: bow" in str(w)


def test_required_columns_of_road_edges(raises_problem):
    gdf = gpd.GeoDataFrame({"u": [1]}, geometry=[LineString([(0, 0), (1, 1)])], crs=METRIC)
    with raises_problem("missing_column", "road_edges", match="no column 'v'"):
        validate_layer(gdf, "road_edges", source="e.gpkg")


def test_points_outside_the_area(tiny_area, raises_problem):
    gdf = pts(["in", "near", "far"], [(10, 10), (2050, 500), (9000, 9000)])
    with raises_problem("outside_area", match=r"1 points lie more than 100 m outside.*rows: far"):
        validate_layer(gdf, "stations", area=tiny_area, source="s.csv")


def test_incidents_outside_the_area_are_dropped_with_a_warning(tiny_area):
    gdf = pts(["1", "2"], [(10, 10), (9000, 9000)], col="incident_id")
    out, warnings = validate_layer(gdf, "incidents", area=tiny_area, source="i.csv")
    assert list(out["incident_id"]) == ["1"]
    assert warnings[0].rule == "outside_area" and "rows: 2" in str(warnings[0])


def test_all_problems_are_collected_in_one_raise():
    gdf = gpd.GeoDataFrame({"station_id": [None, "B"]}, geometry=[Point(0, 0), box(0, 0, 1, 1)])
    with pytest.raises(ValidationError) as exc:
        validate_layer(gdf, "stations", source="s.gpkg")
    rules = {p.rule for p in exc.value.problems}
    assert rules == {"null_ids", "no_crs", "wrong_geometry_type"}
    assert str(exc.value).startswith("3 problems found:")


def test_station_outside_its_own_jurisdiction(tiny_townships):
    jur = tiny_townships.rename(columns={"township_id": "station_id"})
    stations = pts(["W", "E", "X"], [(1500, 500), (1500, 500), (10, 10)])
    checked = check_stations_in_jurisdictions(stations, jur)
    rules = {p.rule: p for p in checked.problems}
    assert "rows: W" in str(rules["station_outside_jurisdiction"])
    assert "rows: X" in str(rules["station_without_jurisdiction"])
    orphan = check_stations_in_jurisdictions(pts(["E"], [(1500, 500)]), jur).warnings
    assert orphan[0].rule == "jurisdiction_without_station" and "rows: W" in str(orphan[0])


def test_ids_are_strings_as_they_appear():
    import pandas as pd
    assert list(normalise_ids(pd.Series([7, 7.0, " 12 ", None, "A-1"]))) == ["7", "7", "12", None, "A-1"]


def test_check_layer_does_not_raise_and_reports_warnings_and_problems():
    checked = check_layer(pts(["A", None], [(0, 0), (1, 1)]), "stations", source="s.csv")
    assert checked.gdf is None and [p.rule for p in checked.problems] == ["null_ids"]
