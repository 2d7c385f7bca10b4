"""The Patrol page's map (ui.page_patrol.patrol_map) on hand-made routes."""
from __future__ import annotations

from types import SimpleNamespace

import geopandas as gpd
from shapely.geometry import LineString, Point, box

from ui.offline import self_contained
from ui.page_patrol import patrol_map

UTM = "EPSG:32650"


def _routes():
    x0, y0 = 500_000, 3_800_000
    lines = gpd.GeoDataFrame({"unit": [1, 2], "minutes": [40.0, 0.0], "stops": [2, 0]},
                             geometry=[LineString([(x0, y0), (x0 + 1000, y0)]), LineString()], crs=UTM)
    # The second stop lies 3 km beyond the route's end (e.g. reached on foot): it must be in view.
    stops = gpd.GeoDataFrame({"unit": [1, 1], "order": [1, 2], "hotspot": ["c1", "c2"],
                              "arrive": ["08:00", "08:20"], "depart": ["08:10", "08:30"]},
                             geometry=[Point(x0 + 500, y0), Point(x0 + 4000, y0 + 2000)], crs=UTM)
    hot = gpd.GeoDataFrame({"risk": [2.0, 1.0], "hotspot": [True, False], "cell_id": ["c1", "c2"]},
                           geometry=[box(x0 + 400, y0 - 100, x0 + 600, y0 + 100),
                                     box(x0 + 3900, y0 + 1900, x0 + 4100, y0 + 2100)], crs=UTM)
    return SimpleNamespace(lines=lines, stops=stops), hot


def test_patrol_map_frames_every_stop_and_the_station_and_draws_offline():
    routes, hot = _routes()
    station = gpd.GeoSeries([Point(499_000, 3_799_000)], crs=UTM).to_crs("EPSG:4326").iloc[0]
    m = patrol_map(routes, hot, station)
    fit = next(el for el in m._children.values() if type(el).__name__ == "_FitArea")  # ui.maps.fit_area
    (s, w), (n, e) = fit.bounds
    for p in [*routes.stops.to_crs("EPSG:4326").geometry, station]:
        assert w <= p.x <= e and s <= p.y <= n, (p, fit.bounds)
    html = self_contained(m).get_root().render()  # raises for scripts that are not embedded
    assert "★" in html or "\\u2605" in html
