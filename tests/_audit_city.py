"""The synthetic city of the grid audit tests (tests/test_audit_grids.py, whose docstring draws it):
4 x 3 police grids of 1 km in two stations, each split into 4 governance grids of 500 m, with the
governance grids A, C, E and H moved across their police grid's boundary."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

METRIC = "EPSG:32650"
X0, Y0 = 500_000.0, 3_000_000.0
SIDE = 1000.0


def b(x0, y0, x1, y1):
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def _gov_boxes() -> dict[str, tuple[float, float, float, float]]:
    """Governance grid id -> (x0, y0, x1, y1) in local metres, with the moved boundaries."""
    boxes = {}
    for c in range(4):
        for r in range(3):
            for k, (dx, dy) in enumerate(((0, 0), (500, 0), (0, 500), (500, 500))):
                x, y = c * SIDE + dx, r * SIDE + dy
                boxes[f"G{c}{r}{k}"] = (x, y, x + 500, y + 500)
    # A = G101 (P10, south-east) takes x 2000-2200 of G200 (P20, south-west).
    boxes["G101"] = (1500, 0, 2200, 500)
    boxes["G200"] = (2200, 0, 2500, 500)
    # C = G012 (P01, north-west) takes y 2000-2100 of G020 (P02, south-west).
    boxes["G012"] = (0, 1500, 500, 2100)
    boxes["G020"] = (0, 2100, 500, 2500)
    # E = G303 (P30, north-east) takes a 2 m strip of G311 (P31, south-east): a sliver.
    boxes["G303"] = (3500, 500, 4000, 1002)
    boxes["G311"] = (3500, 1002, 4000, 1500)
    # H = G122 (P12, north-west) takes 20 m of P13 (outside the layout: grown upwards) -> no split.
    boxes["G122"] = (1000, 2500, 1500, 3020)
    return boxes


A, C, E, H = "G101", "G012", "G303", "G122"


def city() -> dict[str, gpd.GeoDataFrame]:
    """police_grids, gov_grids, jurisdictions, cells (population 100 each) and incidents."""
    pg_ids, pg_geoms, pg_station = [], [], []
    for c in range(4):
        for r in range(3):
            pg_ids.append(f"P{c}{r}")
            pg_geoms.append(b(c * SIDE, r * SIDE, (c + 1) * SIDE, (r + 1) * SIDE))
            pg_station.append("S1" if c < 2 else "S2")
    # P13 is a 4th row above column 1 only, so that H's 20 m land in a police grid.
    pg_ids.append("P13")
    pg_geoms.append(b(1000, 3000, 2000, 4000))
    pg_station.append("S1")
    police = gpd.GeoDataFrame({"pgrid_id": pg_ids, "station_id": pg_station}, geometry=pg_geoms, crs=METRIC)
    boxes = _gov_boxes()
    gov = gpd.GeoDataFrame({"grid_id": list(boxes)}, geometry=[b(*v) for v in boxes.values()], crs=METRIC)
    s1 = shapely.union_all([b(0, 0, 2000, 3000), b(2000, 1000, 2400, 2000), b(1000, 3000, 2000, 4000)])
    s2 = shapely.difference(b(2000, 0, 4000, 3000), s1)
    juris = gpd.GeoDataFrame({"station_id": ["S1", "S2"]}, geometry=[s1, s2], crs=METRIC)
    xs, ys = np.meshgrid(np.arange(0, 4000, 250.0), np.arange(0, 4000, 250.0))
    cells = gpd.GeoDataFrame({"cell_id": [f"c{i}" for i in range(xs.size)], "population": 100.0},
                             geometry=[b(x, y, x + 250, y + 250) for x, y in zip(xs.ravel(), ys.ravel())],
                             crs=METRIC)
    incidents = gpd.GeoDataFrame({"incident_id": ["i1", "i2", "i3"]},
                                 geometry=shapely.points([X0 + 2100, X0 + 1600, X0 + 100],
                                                         [Y0 + 250, Y0 + 250, Y0 + 2050]), crs=METRIC)
    return {"police_grids": police, "gov_grids": gov, "jurisdictions": juris, "cells": cells,
            "incidents": incidents}
