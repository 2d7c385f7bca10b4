"""Map caching on the analysis pages: each map is rebuilt exactly when something it shows changes.

``MapSpy`` drives a page under AppTest and records, per map (``show_map``'s ``key``), how many
times the page's map-building function ran and what reached the browser component (the payload's
``key``: streamlit-folium's hash of the script with folium's random element ids stripped, i.e.
of the map's content). The page tests (tests/test_page_*.py) use it; the Patrol page's caching
and the digest helpers are tested here.
"""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from tests._apptest import MapSpy, assert_rebuilt
from ui.mapview import array_digest, frame_digest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "boundaries" / "demo_county.gpkg"


# ----------------------------------------------------------------------------------------------
# Digests of what a map is drawn from (ui.mapview)

def test_frame_digest_changes_with_values_geometry_crs_and_index():
    digest = frame_digest
    frame = gpd.GeoDataFrame({"id": ["a", "b"], "v": [1.0, 2.0]},
                             geometry=[shapely.Point(0, 0), shapely.Point(1, 1)], crs="EPSG:32650")
    d = digest(frame)
    assert d == digest(frame.copy()) and isinstance(d, str)
    changed = [frame.assign(v=[1.0, 2.5]), frame.assign(id=["a", "c"]),
               frame.set_geometry([shapely.Point(0, 0), shapely.Point(1, 2)]), frame.to_crs("EPSG:4326"),
               frame.set_crs("EPSG:32651", allow_override=True), frame.set_index(pd.Index([1, 2])),
               frame.rename(columns={"v": "w"}), frame.iloc[:1], frame.assign(extra=True)]
    assert len({d, *(digest(f) for f in changed)}) == len(changed) + 1
    assert digest(frame, frame) != d and digest(frame, None) != d
    empty = frame.set_geometry([None, shapely.Point(1, 1)])  # a missing geometry is hashed too
    assert digest(empty) not in (d, None)
    assert digest(pd.DataFrame({"x": [[1], [2]]})) is None  # unhashable: the map is not cached


def test_plan_digest_follows_the_assignment():
    _digest = array_digest

    a = np.array([0, 1, 1, 0], dtype=np.int64)
    assert _digest(a) == _digest(a.copy()) and _digest(None) is None
    assert _digest(a) != _digest(np.array([0, 1, 0, 0], dtype=np.int64))


# ----------------------------------------------------------------------------------------------
# The Patrol page (the demo county: the tiny workspace has no incident times)

@pytest.mark.skipif(not DEMO.exists(), reason="data/boundaries/demo_county.gpkg not generated yet")
def test_patrol_map_is_cached_until_the_plan_changes(monkeypatch):
    import ui.page_patrol

    spy = MapSpy(monkeypatch, ui.page_patrol, "patrol_map")
    at = spy.open(monkeypatch, DEMO, "patrol")
    first = dict(spy.sent)
    assert spy.built == {"gp_pt_map": 1}

    spy.run(at)  # a rerun changing nothing (e.g. a download click): the stored map is sent
    assert_rebuilt(spy, first, changed=set(), kept={"gp_pt_map"})

    at.number_input(key="gp_pt_dwell_dose").set_value(15)  # longer stays: other times in the tooltips
    spy.run(at)
    assert_rebuilt(spy, first, changed={"gp_pt_map"})
    longer = dict(spy.sent)

    at.selectbox(key="gp_pt_station").set_value("S02")
    spy.run(at)
    assert at.selectbox(key="gp_pt_station").value == "S02"
    assert_rebuilt(spy, longer, changed={"gp_pt_map"})
    other = dict(spy.sent)

    at.sidebar.radio(key="lang").set_value("en")
    spy.run(at)
    assert_rebuilt(spy, other, changed={"gp_pt_map"})
