"""Tiny literal road networks for the network tests (metric CRS, 60 km/h: 1 km = 1 minute)."""
from __future__ import annotations

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point

from geo.network import graph_from_tables

METRIC = "EPSG:32650"


def tables(coords: dict, edges: list[tuple], **columns) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Node table from {id: (x, y)} and edge table from (u, v[, oneway]) tuples."""
    nodes = gpd.GeoDataFrame({"node_id": list(coords)},
                             geometry=[Point(xy) for xy in coords.values()], crs=METRIC)
    rows = [{"u": e[0], "v": e[1], "oneway": e[2] if len(e) > 2 else False} for e in edges]
    frame = pd.DataFrame(rows)
    for name, values in columns.items():
        frame[name] = values
    return nodes, frame


def graph(coords: dict, edges: list[tuple], *, speed_kmh: float | None = 60.0,
          keep_largest: bool = True, **columns):
    """A graph from literal nodes and edges (straight lines)."""
    nodes, frame = tables(coords, edges, **columns)
    return graph_from_tables(nodes, frame, speed_kmh=speed_kmh, keep_largest=keep_largest)


def points(coords: dict, id_col: str = "id", crs: str | None = METRIC) -> gpd.GeoDataFrame:
    """Point layer {id: (x, y)}."""
    return gpd.GeoDataFrame({id_col: list(coords)}, geometry=[Point(xy) for xy in coords.values()],
                            crs=crs)


# A line A-B-C-D-E, 1 km apart, two-way.
LINE = {"A": (0, 0), "B": (1000, 0), "C": (2000, 0), "D": (3000, 0), "E": (4000, 0)}
LINE_EDGES = [("A", "B"), ("B", "C"), ("C", "D"), ("D", "E")]
