"""Tiny literal grids for the redistricting tests (shared helper, not a test module)."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
from shapely.geometry import box

METRIC = "EPSG:32650"


def grid_cells(nx: int, ny: int, *, values=None, size: float = 100.0, townships=None) -> gpd.GeoDataFrame:
    """nx x ny square cells, row-major from the south-west, with an ``incidents`` column."""
    n = nx * ny
    data = {"cell_id": np.arange(n), "incidents": np.ones(n) if values is None else np.asarray(values, float),
            "population": np.full(n, 10.0)}
    if townships is not None:
        data["township_id"] = list(townships)
    geoms = [box(i * size, j * size, (i + 1) * size, (j + 1) * size) for j in range(ny) for i in range(nx)]
    return gpd.GeoDataFrame(data, geometry=geoms, crs=METRIC)


def stations_at(cells: gpd.GeoDataFrame, positions, names=None) -> gpd.GeoDataFrame:
    names = names or [f"S{i}" for i in range(len(positions))]
    return gpd.GeoDataFrame({"station_id": names},
                            geometry=[cells.geometry.iloc[p].centroid for p in positions], crs=cells.crs)


def random_instance(seed: int, nx: int, ny: int, k: int):
    rng = np.random.default_rng(seed)
    cells = grid_cells(nx, ny, values=rng.poisson(8, nx * ny), size=500.0)
    idx = rng.choice(nx * ny, k, replace=False)
    return cells, stations_at(cells, idx)
