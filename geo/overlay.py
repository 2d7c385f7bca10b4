"""Overlays of two polygon layers: intersection areas by spatial index, apportioning, labelling.

One mechanism serves grids (population to cells, township of a cell) and the boundary audit:
``intersection_table`` lists every intersecting pair with its area, computed on the pairs a
spatial index proposes, vectorised in shapely.
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import check_same_crs

__all__ = ["intersection_table", "apportion_by_area", "label_by_largest_overlap", "count_points"]


def intersection_table(a: gpd.GeoDataFrame | gpd.GeoSeries, b: gpd.GeoDataFrame | gpd.GeoSeries,
                       *, min_area_m2: float = 0.0, keep_geometry: bool = False) -> pd.DataFrame:
    """Every pair of intersecting polygons of ``a`` and ``b`` with the area they share.

    Both layers must be in the same projected CRS (metres). Returns a DataFrame with columns
    ``a`` and ``b`` (positions, 0-based, into the inputs) and ``area_m2``, pairs sharing more
    than ``min_area_m2`` only (touching neighbours share 0 and are dropped). With
    ``keep_geometry`` a ``geometry`` column (shapely objects) holds each shared piece.
    """
    check_same_crs(a, b, what="the two polygon layers")
    ga = np.asarray(a.geometry.values if hasattr(a, "geometry") else a.values)
    gb = np.asarray(b.geometry.values if hasattr(b, "geometry") else b.values)
    tree = shapely.STRtree(gb)
    ia, ib = tree.query(ga, predicate="intersects")
    if len(ia) == 0:
        empty = {"a": np.array([], int), "b": np.array([], int), "area_m2": np.array([], float)}
        if keep_geometry:
            empty["geometry"] = np.array([], dtype=object)
        return pd.DataFrame(empty)
    # Pairs where one side lies wholly inside the other need no intersection computed.
    pa, pb = ga[ia], gb[ib]
    shapely.prepare(pb)
    within = shapely.contains_properly(pb, pa)
    area = np.empty(len(ia))
    area[within] = shapely.area(pa[within])
    rest = ~within
    pieces = pa.copy()  # the pieces' geometry, returned when keep_geometry
    if rest.any():
        cut = shapely.intersection(pa[rest], pb[rest], grid_size=None)
        area[rest] = shapely.area(cut)
        pieces[rest] = cut
    keep = area > min_area_m2
    out = pd.DataFrame({"a": ia[keep], "b": ib[keep], "area_m2": area[keep]})
    if keep_geometry:
        out["geometry"] = pieces[keep]
    return out


def apportion_by_area(target: gpd.GeoDataFrame, source: gpd.GeoDataFrame,
                      columns: list[str] | dict[str, str]) -> pd.DataFrame:
    """Share the counts in ``source`` columns out to ``target`` polygons in proportion to area.

    Each source polygon's value is split by the share of its area that falls in each target
    polygon (extensive apportioning: totals are kept where the target covers the source).
    ``columns`` lists source columns, or maps source column -> output name. Returns a DataFrame
    indexed like ``target``; targets touching no source get 0.
    """
    mapping = dict(columns) if isinstance(columns, dict) else {c: c for c in columns}
    table = intersection_table(target, source)
    src_area = shapely.area(np.asarray(source.geometry.values))
    share = table["area_m2"].to_numpy() / src_area[table["b"].to_numpy()]
    out = pd.DataFrame(index=target.index)
    for col, name in mapping.items():
        values = pd.to_numeric(source[col], errors="coerce").fillna(0.0).to_numpy(dtype=float)
        sums = np.bincount(table["a"].to_numpy(), weights=values[table["b"].to_numpy()] * share,
                           minlength=len(target))
        out[name] = sums
    return out


def label_by_largest_overlap(target: gpd.GeoDataFrame, source: gpd.GeoDataFrame,
                             id_col: str) -> pd.Series:
    """For each ``target`` polygon, the ``source[id_col]`` of the source polygon it overlaps most.

    Returns a Series indexed like ``target`` (None where a target overlaps no source polygon).
    """
    table = intersection_table(target, source)
    result = pd.Series([None] * len(target), index=target.index, dtype=object)
    if len(table):
        best = table.sort_values(["a", "area_m2"], ascending=[True, False]).drop_duplicates("a")
        result.iloc[best["a"].to_numpy()] = source[id_col].to_numpy()[best["b"].to_numpy()]
    return result


def count_points(polygons: gpd.GeoDataFrame, points: gpd.GeoDataFrame, *,
                 weight: str | None = None) -> pd.Series:
    """Number of ``points`` inside each polygon (or the sum of their ``weight`` column).

    A point on a shared edge is counted once, in the first polygon the index returns. Returns a
    float Series indexed like ``polygons``.
    """
    check_same_crs(polygons, points, what="the polygons and the points")
    tree = shapely.STRtree(np.asarray(points.geometry.values))
    ipoly, ipt = tree.query(np.asarray(polygons.geometry.values), predicate="covers")
    order = np.argsort(ipt, kind="stable")
    ipt, ipoly = ipt[order], ipoly[order]
    first = np.r_[True, ipt[1:] != ipt[:-1]] if len(ipt) else np.array([], bool)
    ipt, ipoly = ipt[first], ipoly[first]
    w = (np.ones(len(points)) if weight is None
         else pd.to_numeric(points[weight], errors="coerce").fillna(0.0).to_numpy(dtype=float))
    sums = np.bincount(ipoly, weights=w[ipt], minlength=len(polygons))
    return pd.Series(sums, index=polygons.index, dtype=float)
