"""Cells as an id raster (ui.cell_raster): which pixel belongs to which cell, checked against
point-in-polygon on the pixel centres, and the layer's payload."""
from __future__ import annotations

import base64
import io
import json

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from PIL import Image
from shapely.geometry import LineString, MultiPolygon, Polygon, box

from ui.cell_raster import CellRaster, cell_ids, decode_ids

MERCATOR = "EPSG:3857"


def _pixels(ids) -> np.ndarray:
    raw = base64.b64decode(ids.png.split(",", 1)[1])
    return decode_ids(np.asarray(Image.open(io.BytesIO(raw)).convert("RGB")))


def test_a_two_by_two_grid_fills_its_quadrants():
    cells = gpd.GeoSeries([box(0, 0, 100, 100), box(100, 0, 200, 100),
                           box(0, 100, 100, 200), MultiPolygon([box(100, 100, 200, 200)])], crs=MERCATOR)
    ids = cell_ids(cells, pixels_per_cell=10)
    assert (ids.width, ids.height) == (20, 20)
    assert ids.mercator == (0.0, 0.0, 200.0, 200.0)
    px = _pixels(ids)
    # Row 0 of the picture is the north: cells 3 and 4 on top, 1 and 2 below.
    assert (px[:10, :10] == 3).all() and (px[:10, 10:] == 4).all()
    assert (px[10:, :10] == 1).all() and (px[10:, 10:] == 2).all()
    assert ids.drawn == 4


def test_pixels_belong_to_the_cell_under_their_centre_in_another_crs():
    # Hexagon-like irregular cells in UTM 50N, a hole in one: compare every pixel with
    # point-in-polygon of its centre (reprojected), a method independent of the drawing.
    rng = np.random.default_rng(3)
    pts = shapely.points(rng.uniform(0, 3000, 40) + 500_000, rng.uniform(0, 2000, 40) + 3_800_000)
    frame = box(500_000, 3_800_000, 503_000, 3_802_000)
    polys = [p.intersection(frame) for p in shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts)))]
    polys[0] = polys[0].difference(polys[0].centroid.buffer(60))
    cells = gpd.GeoSeries(polys, crs="EPSG:32650")
    ids = cell_ids(cells, pixels_per_cell=30, max_pixels=400)
    px = _pixels(ids)
    minx, miny, maxx, maxy = ids.mercator
    sx, sy = (maxx - minx) / ids.width, (maxy - miny) / ids.height
    assert sx == pytest.approx(sy)
    jj, ii = np.meshgrid(np.arange(ids.width), np.arange(ids.height))
    centres = gpd.GeoSeries(shapely.points(minx + (jj.ravel() + 0.5) * sx, maxy - (ii.ravel() + 0.5) * sy),
                            crs=MERCATOR).to_crs(cells.crs)
    hit = gpd.sjoin(gpd.GeoDataFrame(geometry=centres), gpd.GeoDataFrame(geometry=cells),
                    predicate="within", how="left")
    hit = hit[~hit.index.duplicated()]
    expected = (hit["index_right"].fillna(-1).to_numpy() + 1).astype(int).reshape(px.shape)
    assert (expected != px).sum() == 0, "every pixel belongs to the cell under its centre"
    hole = cells.iloc[[0]].geometry.iloc[0].interiors[0]
    centre = gpd.GeoSeries([Polygon(hole).centroid], crs=cells.crs).to_crs(MERCATOR).iloc[0]
    j, i = int((centre.x - minx) / sx), int((maxy - centre.y) / sy)
    assert px[i, j] == 0, "the hole is not part of the cell"
    assert ids.drawn == len(cells)


def test_latlon_bounds_are_the_mercator_corners():
    cells = gpd.GeoSeries([box(113.8, 34.2, 114.0, 34.4)], crs="EPSG:4326")
    ids = cell_ids(cells, pixels_per_cell=50)
    (s, w), (n, e) = ids.latlon_bounds
    back = gpd.GeoSeries(shapely.points([w, e], [s, n]), crs="EPSG:4326").to_crs(MERCATOR)
    minx, miny, maxx, maxy = ids.mercator
    assert back.x.tolist() == pytest.approx([minx, maxx], abs=1e-6)
    assert back.y.tolist() == pytest.approx([miny, maxy], abs=1e-6)
    assert (w, n) == pytest.approx((113.8, 34.4), abs=1e-9)
    assert 34.2 - (34.4 - 34.2) / ids.height * 1.01 <= s <= 34.2, "the picture ends at most a pixel beyond"


def test_bad_cells_are_refused_in_words():
    with pytest.raises(ValueError, match="no CRS"):
        cell_ids(gpd.GeoSeries([box(0, 0, 1, 1)]))
    line_only = cell_ids(gpd.GeoSeries([box(0, 0, 10, 10), LineString([(0, 0), (5, 5)])], crs=MERCATOR))
    assert line_only.drawn == 1, "a line has no area to draw"
    with pytest.raises(ValueError, match="no geometry"):
        cell_ids(gpd.GeoSeries([Polygon()], crs=MERCATOR))


def _packed(layer: CellRaster) -> dict:
    text = layer.packed.replace("\\'", "'").replace("\\\\", "\\")
    return json.loads(text)


def test_layer_payload_carries_classes_palette_and_attributes():
    cells = gpd.GeoSeries([box(0, 0, 100, 100), box(100, 0, 200, 100), box(200, 0, 300, 100)], crs=MERCATOR)
    ids = cell_ids(cells)
    attrs = pd.DataFrame({"cell_id": [7, 8, 9], "station_id": ["S1", "S2", "S1"],
                          "note": ['a "quoted" <b>', "it's", None]})
    layer = CellRaster(ids, ["#ff0000", None, "#00ff00"], attributes=attrs, name="cells")
    d = _packed(layer)
    assert d["palette"] == ["#00ff00", "#ff0000"] and d["cls"] == [1, -1, 0]
    assert d["a"]["k"] == ["cell_id", "station_id", "note"]
    assert d["a"]["v"][0] == [7, 8, 9]
    codes, values = d["a"]["v"][1], d["a"]["d"]["station_id"]
    assert [values[c] for c in codes] == ["S1", "S2", "S1"]
    notes = d["a"]["v"][2] if "note" not in d["a"]["d"] else [d["a"]["d"]["note"][c] for c in d["a"]["v"][2]]
    assert notes == ['a "quoted" <b>', "it's", None]
    assert "<b>" not in layer.packed, "no raw markup inside the <script>"
    m = folium.Map()
    layer.add_to(m)
    folium.LayerControl().add_to(m)
    html = m.get_root().render()
    assert layer.get_name() in html and '"cells"' in html
    assert np.allclose(m.get_bounds(), ids.latlon_bounds)
    with pytest.raises(ValueError, match="2 attribute rows for 3 cells"):
        CellRaster(ids, ["#ff0000"] * 3, attributes=attrs.iloc[:2])
