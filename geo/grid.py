"""Analysis cells: square and hexagonal grids clipped to the study area, with their attributes."""
from __future__ import annotations

import math
from typing import Sequence

import geopandas as gpd
import numpy as np
import shapely

from geo.crs import require_projected
from geo.errors import InputError
from geo.overlay import apportion_by_area, count_points, label_by_largest_overlap

__all__ = ["cells_from_area", "cells_with_attributes", "CELL_SHAPES", "MAX_CELLS", "cell_count",
           "check_cell_count"]

CELL_SHAPES = ("square", "hex")

# The most cells a grid may have: beyond it the grid and every analysis on it run out of memory
# or time (5 m cells over a county: 30 million cells, minutes, then out of memory). A grid is
# refused before it is built. Candidate cells over the bounding box (what is generated before
# clipping) may be a few times more, for areas that fill little of their box.
MAX_CELLS = 200_000
_MAX_CANDIDATES = 5 * MAX_CELLS


def _nice_ceil(x: float) -> float:
    """``x`` rounded up to two significant digits (104.3 -> 110, 7.31 -> 7.4)."""
    if not (x > 0) or not math.isfinite(x):
        return x
    step = 10.0 ** (math.floor(math.log10(x)) - 1)
    return round(math.ceil(x / step - 1e-9) * step, 10)


def cell_count(area: gpd.GeoDataFrame, *, size_m: float) -> tuple[int, int]:
    """(cells, candidates): about how many cells a grid of ``size_m`` cells keeps over ``area``
    (its area / size_m²) and how many candidate cells cover its bounding box. Squares and
    hexagons of the same ``size_m`` have the same area, so the counts hold for both. Cheap: no
    cell is built."""
    geoms = np.asarray(area.geometry.values)
    total = float(shapely.area(geoms).sum())
    minx, miny, maxx, maxy = area.total_bounds
    cells = math.ceil(total / (size_m * size_m))
    candidates = (math.ceil((maxx - minx) / size_m) + 1) * (math.ceil((maxy - miny) / size_m) + 1)
    return int(cells), int(candidates)


def check_cell_count(area: gpd.GeoDataFrame, *, size_m: float, max_cells: int = MAX_CELLS) -> None:
    """Raise InputError when a grid of ``size_m`` cells over ``area`` (projected CRS, metres)
    would have more than ``max_cells`` cells, saying the count and the smallest size allowed."""
    if not (size_m > 0) or not math.isfinite(size_m):
        raise InputError(f"cell size was {size_m!r} but must be a positive number of metres")
    cells, candidates = cell_count(area, size_m=size_m)
    max_candidates = _MAX_CANDIDATES * max_cells // MAX_CELLS
    if cells <= max_cells and candidates <= max_candidates:
        return
    total = float(shapely.area(np.asarray(area.geometry.values)).sum())
    minx, miny, maxx, maxy = area.total_bounds

    def fits(size: float) -> bool:
        c, k = cell_count(area, size_m=size)
        return c <= max_cells and k <= max_candidates

    smallest = _nice_ceil(1.001 * max(math.sqrt(total / max_cells),
                                      math.sqrt((maxx - minx) * (maxy - miny) / max_candidates)))
    while not fits(smallest):
        smallest = _nice_ceil(smallest * 1.05)
    raise InputError(f"the cell size was {size_m:g} m, which would make about {cells:,} cells over "
                     f"the {total / 1e6:,.1f} km² area, more than the {max_cells:,} allowed; give "
                     f"a cell size of at least {smallest:g} m")


def _hex_side(size_m: float) -> float:
    # A hexagon with the same area as a size_m square: 3*sqrt(3)/2 * s^2 = size_m^2.
    return size_m * math.sqrt(2.0 / (3.0 * math.sqrt(3.0)))


def cells_from_area(area: gpd.GeoDataFrame, *, size_m: float = 500.0,
                    shape: str = "square") -> gpd.GeoDataFrame:
    """Cover the study area with square or hexagonal cells, clipped to it.

    Parameters
    ----------
    area : polygons of the study area in a projected CRS (metres); they are unioned.
    size_m : the side of a square cell; hexagons (flat-topped) have the same area, size_m².
    shape : ``"square"`` or ``"hex"``.

    Returns
    -------
    GeoDataFrame with ``cell_id`` (0..n-1, row-major from the south-west), ``area_m2`` and the
    clipped polygon, in the area's CRS. Cells that touch the area only along an edge are left out.

    Raises
    ------
    InputError
        Before building, when the grid would have more than ``MAX_CELLS`` cells (see
        ``check_cell_count``: the message gives the count and the smallest size allowed).
    """
    require_projected(area.crs, what="the study area's CRS")
    if shape not in CELL_SHAPES:
        raise InputError(f"cell shape was {shape!r} but is expected to be one of {list(CELL_SHAPES)}")
    check_cell_count(area, size_m=size_m)  # before anything is built
    boundary = shapely.union_all(area.geometry.values)
    minx, miny, maxx, maxy = boundary.bounds
    if shape == "square":
        xs = np.arange(minx, maxx, size_m)
        ys = np.arange(miny, maxy, size_m)
        mx, my = np.meshgrid(xs, ys)
        gx, gy = mx.ravel(), my.ravel()
        candidates = shapely.box(gx, gy, gx + size_m, gy + size_m)
    else:
        s = _hex_side(size_m)
        dx, dy = 1.5 * s, math.sqrt(3.0) * s
        cols = np.arange(0, int(math.ceil((maxx - minx) / dx)) + 2)
        rows = np.arange(0, int(math.ceil((maxy - miny) / dy)) + 2)
        gc, gr = np.meshgrid(cols, rows)
        cx = minx + gc.ravel() * dx
        cy = miny + gr.ravel() * dy + np.where(gc.ravel() % 2 == 1, dy / 2.0, 0.0)
        angles = np.deg2rad(np.arange(0, 360, 60))
        ring_x = cx[:, None] + s * np.cos(angles)[None, :]
        ring_y = cy[:, None] + s * np.sin(angles)[None, :]
        coords = np.stack([ring_x, ring_y], axis=-1)
        coords = np.concatenate([coords, coords[:, :1, :]], axis=1)
        candidates = shapely.polygons(coords)
    shapely.prepare(boundary)
    hit = shapely.intersects(boundary, candidates)
    candidates = candidates[hit]
    inside = shapely.contains_properly(boundary, candidates)
    clipped = candidates.copy()
    if (~inside).any():
        clipped[~inside] = shapely.intersection(candidates[~inside], boundary)
    # Keep only polygonal parts with area (drop edge-touching and line leftovers).
    types = shapely.get_type_id(clipped)
    mixed = np.flatnonzero(~np.isin(types, [3, 6]))
    for i in mixed:
        parts = [p for p in shapely.get_parts(clipped[i]) if shapely.get_type_id(p) in (3, 6)]
        clipped[i] = shapely.union_all(parts) if parts else shapely.Polygon()
    areas = shapely.area(clipped)
    keep = areas > 1e-6 * size_m * size_m
    # Row-major order from the south-west, by the candidate cell's centre.
    centres = shapely.centroid(candidates[keep])
    cx, cy = shapely.get_x(centres), shapely.get_y(centres)
    order = np.lexsort((cx, np.round(cy, 3)))
    geoms = clipped[keep][order]
    return gpd.GeoDataFrame({"cell_id": np.arange(len(geoms), dtype=np.int64),
                             "area_m2": areas[keep][order]}, geometry=geoms, crs=area.crs)


def cells_with_attributes(cells: gpd.GeoDataFrame, *, townships: gpd.GeoDataFrame | None = None,
                          jurisdictions: gpd.GeoDataFrame | None = None,
                          incidents: gpd.GeoDataFrame | None = None,
                          attributes: Sequence[tuple[gpd.GeoDataFrame, dict[str, str]]] = (),
                          population_from: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """Return a copy of ``cells`` with the workspace cell columns filled in.

    - ``township_id`` / ``station_id``: the township / jurisdiction each cell overlaps most;
    - ``incidents``: incident points inside the cell;
    - each ``attributes`` entry (polygons, {source column: cell column}) apportioned by area;
    - ``population``: from ``attributes`` if one maps to it, else from ``population_from``'s
      ``population`` column (apportioned by area), else left as it is (or 0).
    All layers must share the cells' projected CRS.
    """
    out = cells.copy()
    for polygons, mapping in attributes:
        share = apportion_by_area(out, polygons, mapping)
        for col in share.columns:
            out[col] = share[col].to_numpy()
    if "population" not in out.columns:
        if population_from is not None and "population" in population_from.columns:
            out["population"] = apportion_by_area(out, population_from, ["population"])["population"].to_numpy()
        else:
            out["population"] = 0.0
    if incidents is not None and len(incidents):
        out["incidents"] = count_points(out, incidents).to_numpy().astype(np.int64)
    elif "incidents" not in out.columns:
        out["incidents"] = np.zeros(len(out), dtype=np.int64)
    if townships is not None:
        out["township_id"] = label_by_largest_overlap(out, townships, "township_id").to_numpy()
    if jurisdictions is not None:
        out["station_id"] = label_by_largest_overlap(out, jurisdictions, "station_id").to_numpy()
    return out
