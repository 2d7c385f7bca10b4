"""Station names and the facility layer of a workspace (geo/stations.py), one rule for every front end."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import CRS

from geo.stations import facilities_from_workspace, station_names, station_names_from_workspace
from geo.workspace import Workspace

METRIC = CRS.from_epsg(32650)


def _ws(**layers) -> Workspace:
    return Workspace(crs=METRIC, layers=layers)


def _points(n: int) -> list:
    return [shapely.Point(100.0 * i, 0.0) for i in range(n)]


def test_names_are_keyed_by_string_ids_and_blank_names_are_left_out():
    stations = pd.DataFrame({"station_id": [7, 8.0, "009", 10, None],
                             "name": ["南关所", " 北关所 ", "", np.nan, "无号"]})
    # 7 and 8.0 are stations "7" and "8"; "009" has a blank name, 10 none, the last no id
    assert station_names(stations) == {"7": "南关所", "8": "北关所"}


def test_later_frames_win_and_frames_without_the_columns_are_skipped():
    jur = pd.DataFrame({"station_id": ["S1", "S2"], "name": ["辖区一", "辖区二"]})
    st = pd.DataFrame({"station_id": ["S2", "S3"], "name": ["二所", "三所"]})
    assert station_names(jur, st) == {"S1": "辖区一", "S2": "二所", "S3": "三所"}
    assert station_names(None, pd.DataFrame({"station_id": ["S1"]}), st) == {"S2": "二所", "S3": "三所"}
    ws = _ws(jurisdictions=gpd.GeoDataFrame(jur, geometry=_points(2), crs=METRIC),
             stations=gpd.GeoDataFrame(st, geometry=_points(2), crs=METRIC))
    assert station_names_from_workspace(ws) == {"S1": "辖区一", "S2": "二所", "S3": "三所"}
    assert station_names_from_workspace(_ws()) == {}


def _facility_ws(*, post_nodes: bool = True) -> Workspace:
    stations = gpd.GeoDataFrame({"station_id": [1, 2], "name": ["南关", "北关"], "node_id": ["A", "E"]},
                                geometry=_points(2), crs=METRIC)
    posts = gpd.GeoDataFrame({"post_id": ["P1", "P2"], "kind": ["平台", "警务站"], "turnout_min": [0.5, np.nan],
                              "开放时间": ["08:00-20:00", None],
                              "node_id": ["B", "D"] if post_nodes else ["B", None]},
                             geometry=_points(2), crs=METRIC)
    return _ws(stations=stations, posts=posts)


def test_the_facility_layer_joins_stations_and_posts():
    fac = facilities_from_workspace(_facility_ws())
    assert fac["facility_id"].tolist() == ["1", "2", "P1", "P2"]  # ids as strings
    assert fac["unit"].tolist() == ["station", "station", "post", "post"]
    assert fac["kind"].tolist() == ["station", "station", "平台", "警务站"]
    assert fac["name"].tolist() == ["南关", "北关", "P1", "P2"]  # posts without names: their ids
    assert fac["turnout_min"].tolist() == [0.0, 0.0, 0.5, 0.0]
    assert fac["hours"].tolist()[:3] == ["7x24", "7x24", "08:00-20:00"] and pd.isna(fac["hours"].iloc[3])
    assert fac["node_id"].tolist() == ["A", "E", "B", "D"]
    assert fac.crs == METRIC and list(fac.index) == [0, 1, 2, 3]
    assert facilities_from_workspace(_facility_ws(), units="stations")["facility_id"].tolist() == ["1", "2"]
    assert "node_id" not in facilities_from_workspace(_facility_ws(post_nodes=False)).columns


def test_a_workspace_without_facilities_gives_an_empty_layer_and_bad_units_are_refused():
    empty = facilities_from_workspace(_ws())
    assert len(empty) == 0 and {"facility_id", "turnout_min", "hours"} <= set(empty.columns)
    with pytest.raises(ValueError, match="`units` was 'cars'"):
        facilities_from_workspace(_facility_ws(), units="cars")
