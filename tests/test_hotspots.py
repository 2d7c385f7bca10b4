"""Hotspot scoring: a planted cluster is found, pure noise yields no hotspot, Gi* arithmetic."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from shapely.geometry import LineString, Point, box

from geo.errors import InputError
from geo.hotspots import (
    cell_risk,
    contiguity_weights,
    gi_star,
    hotspots_from_cells,
    incident_weights,
    segment_risk,
    shift_from_text,
    slot_mask,
)

METRIC = "EPSG:32650"


def _grid(n: int = 20, size: float = 100.0) -> gpd.GeoDataFrame:
    geoms = [box(i * size, j * size, (i + 1) * size, (j + 1) * size) for j in range(n) for i in range(n)]
    return gpd.GeoDataFrame({"cell_id": range(n * n)}, geometry=geoms, crs=METRIC)


def _incidents(xy: np.ndarray, hours: np.ndarray) -> gpd.GeoDataFrame:
    t = pd.Timestamp("2024-05-01") + pd.to_timedelta(hours, unit="h")
    return gpd.GeoDataFrame({"incident_id": range(len(xy)), "time": t, "category": "theft",
                             "priority": 3}, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=METRIC)


def test_shift_parsing_and_wrap():
    s = shift_from_text("22:00-06:00")
    assert s.minutes == 480
    assert list(s.contains(np.array([21 * 60, 23 * 60, 5 * 60, 6 * 60]))) == [False, True, True, False]
    assert shift_from_text("08:00-16:00").minutes == 480
    with pytest.raises(InputError, match="HH:MM-HH:MM"):
        shift_from_text("8-16")


def test_gi_star_matches_hand_computation():
    # 5 cells on a line; neighbours i-1, i+1.
    W = sparse.diags([np.ones(4), np.ones(4)], [-1, 1]).tocsr()
    x = np.array([1.0, 2.0, 3.0, 4.0, 10.0])
    res = gi_star(x, W, permutations=0)
    n, mean = 5, x.mean()
    s = np.sqrt((x ** 2).mean() - mean ** 2)
    # Cell 4: itself + cell 3, Wi = 2, S1 = 2.
    expected = (14.0 - mean * 2) / (s * np.sqrt((n * 2 - 4) / (n - 1)))
    assert res["gi_z"].iloc[4] == pytest.approx(expected)


def test_planted_cluster_is_found_and_nothing_else():
    rng = np.random.default_rng(1)
    cells = _grid()
    noise = rng.uniform(0, 2000, size=(400, 2))
    cluster = rng.uniform(800, 1100, size=(80, 2))  # a 3 x 3 block of cells, ~9 extra per cell
    xy = np.vstack([noise, cluster])
    inc = _incidents(xy, rng.uniform(0, 24 * 30, size=len(xy)))
    risk = cell_risk(cells, inc, half_life_days=None)
    hot = hotspots_from_cells(risk, permutations=199, rng=np.random.default_rng(2))
    found = hot.loc[hot["hotspot"]]
    assert len(found) > 0
    centres = found.geometry.centroid
    assert ((centres.x > 700) & (centres.x < 1200) & (centres.y > 700) & (centres.y < 1200)).all()
    assert risk.index.equals(cells.index) and "risk" not in cells.columns


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_pure_noise_yields_no_hotspot(seed):
    rng = np.random.default_rng(seed)
    cells = _grid()
    xy = rng.uniform(0, 2000, size=(800, 2))
    inc = _incidents(xy, rng.uniform(0, 24 * 30, size=len(xy)))
    hot = hotspots_from_cells(cell_risk(cells, inc, half_life_days=None), permutations=199,
                              rng=np.random.default_rng(seed))
    assert not hot["hotspot"].any()
    # An uncorrected 5 % test would flag cells here; the family-wise test does not.
    assert (hot["p_sim"] <= 0.05).sum() >= 1


def test_shift_slot_selects_incidents_by_time_of_day():
    rng = np.random.default_rng(6)
    cells = _grid(4)
    xy = rng.uniform(0, 400, size=(50, 2))
    hours = np.concatenate([np.full(25, 2.5), np.full(25, 12.0)])  # 02:30 and 12:00
    inc = _incidents(xy, hours)
    night = cell_risk(cells, inc, shift="22:00-06:00", half_life_days=None, neighbour_share=0)
    assert night["n_incidents"].sum() == 25
    assert slot_mask(inc, hour_of_week=2 + 2 * 24).sum() == 25  # 2024-05-01 is a Wednesday


def test_weights_priority_category_decay():
    inc = pd.DataFrame({"time": ["2024-01-01", "2024-01-31", "2024-01-31"],
                        "category": ["theft", "theft", "fight"], "priority": [3, 1, 3]})
    w = incident_weights(inc, category_weights={"fight": 2.0}, half_life_days=30)
    assert w.tolist() == pytest.approx([0.5, 3.0, 2.0])


def test_segment_risk_snaps_to_nearest_street():
    edges = gpd.GeoDataFrame({"u": [1, 2]}, geometry=[LineString([(0, 0), (100, 0)]),
                                                      LineString([(0, 100), (100, 100)])], crs=METRIC)
    inc = gpd.GeoDataFrame(geometry=[Point(50, 10), Point(50, 90), Point(50, 80), Point(50, 500)], crs=METRIC)
    r = segment_risk(edges, inc, max_distance_m=50)
    assert r.tolist() == [1.0, 2.0]


def test_contiguity_is_queen():
    W = contiguity_weights(_grid(3))
    assert W[4].sum() == 8 and W[0].sum() == 3
