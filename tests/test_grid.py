"""Cells, apportioning by area, point counts and labels by largest overlap, checked by hand."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point, Polygon, box

from geo.errors import CRSError, InputError
from geo.grid import cells_from_area, cells_with_attributes
from geo.overlay import apportion_by_area, count_points, intersection_table, label_by_largest_overlap

from .conftest import METRIC


def test_square_cells_cover_the_area_exactly(tiny_area):
    cells = cells_from_area(tiny_area, size_m=500)
    assert len(cells) == 8 and cells["cell_id"].tolist() == list(range(8))
    assert cells.area.sum() == pytest.approx(2_000_000)
    # Row-major from the south-west: cell 0 is the SW corner, cell 4 starts the second row.
    assert cells.geometry.iloc[0].bounds == (0, 0, 500, 500)
    assert cells.geometry.iloc[4].bounds == (0, 500, 500, 1000)


def test_cells_are_clipped_to_an_irregular_area():
    triangle = gpd.GeoDataFrame(geometry=[Polygon([(0, 0), (1000, 0), (0, 1000)])], crs=METRIC)
    cells = cells_from_area(triangle, size_m=500)
    assert cells.area.sum() == pytest.approx(500_000)
    assert len(cells) == 3  # the NE cell touches the hypotenuse at one point only
    assert cells.is_valid.all()


def test_hex_cells_have_the_square_area_and_tile(tiny_area):
    hexes = cells_from_area(tiny_area, size_m=500, shape="hex")
    assert hexes.area.sum() == pytest.approx(2_000_000)
    assert hexes.area.max() == pytest.approx(250_000, rel=1e-9)
    overlaps = intersection_table(hexes, hexes, min_area_m2=1e-3)
    assert (overlaps["a"] == overlaps["b"]).all()  # no two hexagons overlap (beyond rounding)


def test_bad_grid_arguments(tiny_area):
    with pytest.raises(InputError, match=r"cell shape was 'tri'.*\['square', 'hex'\]"):
        cells_from_area(tiny_area, shape="tri")
    with pytest.raises(InputError, match="positive number of metres"):
        cells_from_area(tiny_area, size_m=0)
    with pytest.raises(CRSError, match="geographic"):
        cells_from_area(tiny_area.to_crs(4326))


def test_apportion_by_area_by_hand(tiny_area, tiny_townships):
    cells = cells_from_area(tiny_area, size_m=500)
    pop = apportion_by_area(cells, tiny_townships, {"population": "pop"})["pop"]
    # West township (1000 people) is 4 cells of equal area: 250 each; East: 750 each.
    assert pop.round(6).tolist() == [250, 250, 750, 750, 250, 250, 750, 750]
    assert pop.sum() == pytest.approx(4000)


def test_apportion_splits_a_polygon_straddling_two_cells():
    cells = gpd.GeoDataFrame(geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)], crs=METRIC)
    src = gpd.GeoDataFrame({"n": [90]}, geometry=[box(5, 0, 20, 10)], crs=METRIC)
    assert apportion_by_area(cells, src, ["n"])["n"].tolist() == pytest.approx([30, 60])


def test_count_points_counts_a_shared_edge_point_once():
    cells = gpd.GeoDataFrame(geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)], crs=METRIC)
    points = gpd.GeoDataFrame({"w": [1, 2, 4]}, geometry=[Point(5, 5), Point(10, 5), Point(50, 50)],
                              crs=METRIC)
    counts = count_points(cells, points)
    assert counts.sum() == 2 and counts.iloc[0] >= 1  # (10, 5) lies on the shared edge
    assert count_points(cells, points, weight="w").sum() == 3


def test_label_by_largest_overlap():
    cells = gpd.GeoDataFrame(geometry=[box(0, 0, 10, 10), box(100, 100, 110, 110)], crs=METRIC)
    zones = gpd.GeoDataFrame({"zid": ["small", "big"]}, geometry=[box(0, 0, 3, 10), box(3, 0, 10, 10)],
                             crs=METRIC)
    assert label_by_largest_overlap(cells, zones, "zid").tolist() == ["big", None]


def test_cells_with_attributes(tiny_area, tiny_townships):
    cells = cells_from_area(tiny_area, size_m=500)
    incidents = gpd.GeoDataFrame({"incident_id": ["1", "2", "3"]},
                                 geometry=[Point(100, 100), Point(120, 130), Point(1900, 900)], crs=METRIC)
    jur = gpd.GeoDataFrame({"station_id": ["S1", "S2"]},
                           geometry=[box(0, 0, 1200, 1000), box(1200, 0, 2000, 1000)], crs=METRIC)
    before = cells.copy()
    out = cells_with_attributes(cells, townships=tiny_townships, jurisdictions=jur,
                                incidents=incidents, population_from=tiny_townships)
    assert cells.equals(before)  # input untouched
    assert out["incidents"].tolist() == [2, 0, 0, 0, 0, 0, 0, 1]
    assert out["township_id"].tolist() == ["W", "W", "E", "E"] * 2
    assert out["station_id"].tolist() == ["S1", "S1", "S2", "S2"] * 2  # cell 1000-1500: 200 m in S1, 300 m in S2
    assert out["population"].sum() == pytest.approx(4000)
    assert np.issubdtype(out["incidents"].dtype, np.integer)
