"""CRS rules and the GCJ-02 / BD-09 conversions against published reference points."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from pyproj import Geod
from shapely.geometry import Point, Polygon

from geo import crs as gcrs
from geo.errors import CRSError

GEOD = Geod(ellps="WGS84")

# (wgs84 lon, lat, gcj02 lon, lat): googollee/eviltransform test suite (Shanghai, Shenzhen, Beijing).
EVILTRANSFORM = [
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),
]
# wandergis/coordtransform test/app.js, input (116.404, 39.915).
COORDTRANSFORM = {
    "bd09togcj02": (116.39762729119315, 39.90865673957631),
    "gcj02tobd09": (116.41036949371029, 39.92133699351021),
    "wgs84togcj02": (116.41024449916938, 39.91640428150164),
}
# A published WGS84 -> GCJ-02 -> BD-09 chain (geotool test suite, Jiaxing).
CHAIN = ((121.0917077, 30.6107779), (121.09626935575027, 30.608604331756705),
         (121.10271732371203, 30.61484572185035))


def metres(lon1, lat1, lon2, lat2) -> float:
    return float(np.max(GEOD.inv(lon1, lat1, lon2, lat2)[2]))


@pytest.mark.parametrize("wlon,wlat,glon,glat", EVILTRANSFORM)
def test_wgs84_to_gcj02_matches_published_points(wlon, wlat, glon, glat):
    lon, lat = gcrs.wgs84_to_gcj02(wlon, wlat)
    assert metres(lon, lat, glon, glat) < 0.01


@pytest.mark.parametrize("wlon,wlat,glon,glat", EVILTRANSFORM)
def test_gcj02_to_wgs84_recovers_published_points_within_1m(wlon, wlat, glon, glat):
    lon, lat = gcrs.gcj02_to_wgs84(glon, glat)
    assert metres(lon, lat, wlon, wlat) < 1.0


def test_bd09_conversions_match_coordtransform():
    assert metres(*gcrs.bd09_to_gcj02(116.404, 39.915), *COORDTRANSFORM["bd09togcj02"]) < 1.0
    assert metres(*gcrs.gcj02_to_bd09(116.404, 39.915), *COORDTRANSFORM["gcj02tobd09"]) < 0.01
    assert metres(*gcrs.wgs84_to_gcj02(116.404, 39.915), *COORDTRANSFORM["wgs84togcj02"]) < 0.01


def test_published_chain_round_trips_within_1m():
    wgs, gcj, bd = CHAIN
    assert metres(*gcrs.wgs84_to_gcj02(*wgs), *gcj) < 0.01
    assert metres(*gcrs.wgs84_to_bd09(*wgs), *bd) < 0.01
    assert metres(*gcrs.bd09_to_wgs84(*bd), *wgs) < 1.0
    assert metres(*gcrs.gcj02_to_wgs84(*gcj), *wgs) < 1.0


def test_round_trip_over_china_is_sub_millimetre():
    rng = np.random.default_rng(7)
    lon = rng.uniform(75, 134, 500)
    lat = rng.uniform(18, 53, 500)
    back = gcrs.gcj02_to_wgs84(*gcrs.wgs84_to_gcj02(lon, lat))
    assert metres(lon, lat, *back) < 1e-3
    back = gcrs.bd09_to_wgs84(*gcrs.wgs84_to_bd09(lon, lat))
    assert metres(lon, lat, *back) < 1e-3


def test_offset_is_hundreds_of_metres_in_china_and_zero_outside():
    # The GCJ-02 shift in Beijing is several hundred metres: converting matters.
    assert 100 < metres(116.404, 39.915, *gcrs.wgs84_to_gcj02(116.404, 39.915)) < 1000
    lon, lat = gcrs.wgs84_to_gcj02(-87.6, 41.8)  # Chicago: no offset outside China
    assert (lon, lat) == (-87.6, 41.8)


def test_to_wgs84_from_converts_every_vertex():
    ring = [(116.40, 39.91), (116.41, 39.91), (116.41, 39.92), (116.40, 39.91)]
    gdf = gpd.GeoDataFrame({"id": [1, 2]}, geometry=[Polygon(ring), Point(116.404, 39.915)],
                           crs="EPSG:4326")
    out = gcrs.to_wgs84_from(gdf, "gcj02")
    assert out.crs.to_epsg() == 4326 and gdf.geometry.iloc[1].x == 116.404  # input untouched
    x, y = gcrs.gcj02_to_wgs84(116.404, 39.915)
    assert out.geometry.iloc[1].x == pytest.approx(float(x), abs=1e-12)
    assert len(out.geometry.iloc[0].exterior.coords) == 4


def test_to_wgs84_from_refuses_projected_input_and_unknown_system():
    gdf = gpd.GeoDataFrame(geometry=[Point(500000, 4000000)], crs="EPSG:32650")
    with pytest.raises(CRSError, match="lon/lat degrees"):
        gcrs.to_wgs84_from(gdf, "gcj02")
    with pytest.raises(CRSError, match="expected to be one of"):
        gcrs.to_wgs84_from(gdf.set_crs(4326, allow_override=True), "wgs72")


def test_parse_and_require_projected():
    assert gcrs.parse_crs("4547").to_epsg() == 4547
    with pytest.raises(CRSError, match="not a known coordinate system"):
        gcrs.parse_crs("EPSG:999999")
    with pytest.raises(CRSError, match="geographic CRS in degrees"):
        gcrs.require_projected(4326, what="--crs")
    with pytest.raises(CRSError, match="unit is"):
        gcrs.require_projected(3435, what="--crs")  # Illinois East, US survey feet
    assert gcrs.require_projected(32650, what="--crs").to_epsg() == 32650


def test_working_crs_is_estimated_utm_or_the_requested_one():
    area = gpd.GeoDataFrame(geometry=[Point(113.9, 34.3).buffer(0.1)], crs="EPSG:4326")
    assert gcrs.choose_working_crs(area).to_epsg() == 32649
    assert gcrs.choose_working_crs(area, requested="4547").to_epsg() == 4547


def test_check_same_crs():
    a = gpd.GeoDataFrame(geometry=[Point(0, 0)], crs=32650)
    with pytest.raises(CRSError, match="different CRSs"):
        gcrs.check_same_crs(a, a.to_crs(4326))
    with pytest.raises(CRSError, match="no CRS"):
        gcrs.check_same_crs(a, a.set_crs(None, allow_override=True))


@pytest.mark.parametrize("lon,lat", [(113.9, 34.3), (-87.6, 41.8), (85.8, 20.3), (-71.3, -29.95), (179.9, 1.0)])
def test_utm_zone_arithmetic_matches_pyproj_estimate(lon, lat):
    area = gpd.GeoDataFrame(geometry=[Point(lon, lat).buffer(0.05)], crs="EPSG:4326")
    assert gcrs.utm_crs_for(area).equals(area.estimate_utm_crs())
