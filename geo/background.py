"""The drawn background of a map: a workspace's own roads, water and boundaries, ready to draw
beneath the data when no basemap tiles are shown (police intranets have no internet).

One function, ``background_layers``, used by the app's maps (``ui.basemap``) and by the
briefing, so that both show the same context. Everything comes out in EPSG:4326, simplified in
the workspace's metric CRS first (tolerances are metres), and capped in size: roads keep the most
important classes first (``geo.road_classes.road_class_rank``) and are joined into one feature
per class, so a county of 20,000 road segments becomes a handful of features.
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.ids import normalise_ids
from geo.road_classes import road_class_rank
from geo.workspace import Workspace

__all__ = ["BACKGROUND_LAYERS", "MAX_BACKGROUND_ROADS", "background_layers", "roads_by_class"]

#: The layers of the drawn background, in drawing order (bottom first).
BACKGROUND_LAYERS = ("area_fill", "water", "townships", "roads", "area")
#: The most road segments a background keeps (minor classes are dropped first).
MAX_BACKGROUND_ROADS = 6000
_MAP_CRS = "EPSG:4326"


def _empty() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=_MAP_CRS), crs=_MAP_CRS)


def _for_map(geoms: gpd.GeoSeries, *, tolerance_m: float) -> gpd.GeoSeries:
    """``geoms`` simplified by ``tolerance_m`` metres (when projected), in EPSG:4326, rounded to
    1e-5 degrees (about 1 m); empty results are left for the caller to drop."""
    if tolerance_m > 0 and geoms.crs is not None and geoms.crs.is_projected:
        geoms = geoms.simplify(tolerance_m, preserve_topology=True)
    out = geoms.to_crs(_MAP_CRS) if geoms.crs is not None else geoms.set_crs(_MAP_CRS)
    return gpd.GeoSeries(shapely.set_precision(out.values, 1e-5, mode="pointwise"), index=out.index,
                         crs=_MAP_CRS)


def _polygons(ws: Workspace, layer: str, *, tolerance_m: float) -> gpd.GeoDataFrame:
    if not ws.has(layer):
        return _empty()
    gdf = ws.layer(layer)
    if not isinstance(gdf, gpd.GeoDataFrame) or not len(gdf):
        return _empty()
    geoms = gdf.geometry[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    shown = _for_map(geoms, tolerance_m=tolerance_m)
    shown = shown[~shown.is_empty]
    return gpd.GeoDataFrame(geometry=shown.reset_index(drop=True), crs=_MAP_CRS)


def roads_by_class(edges: gpd.GeoDataFrame, *, max_roads: int = MAX_BACKGROUND_ROADS,
                   tolerance_m: float = 10.0) -> gpd.GeoDataFrame:
    """Road edges as one line feature per road class, for drawing.

    Parameters
    ----------
    edges : road edges (``road_edges`` of a workspace: LineStrings in a projected CRS, optional
        ``u``, ``v`` node ids and ``road_class``). Not modified.
    max_roads : the most segments kept after the two directions of a two-way street are counted
        once; the most important classes are kept first (rank 0 = expressway).
    tolerance_m : simplification tolerance in metres.

    Returns
    -------
    GeoDataFrame in EPSG:4326 with ``road_class`` (as in the data; ``""`` when missing) and
    ``rank`` (``geo.road_classes.road_class_rank``), ordered from the least to the most important
    class (the drawing order: main roads on top). Empty when there are no roads.
    """
    if edges is None or not len(edges):
        return gpd.GeoDataFrame({"road_class": [], "rank": []}, geometry=gpd.GeoSeries([], crs=_MAP_CRS),
                                crs=_MAP_CRS)
    out = edges[~(edges.geometry.isna() | edges.geometry.is_empty)]
    if "u" in out.columns and "v" in out.columns:
        u, v = normalise_ids(out["u"]), normalise_ids(out["v"])
        pair = pd.Series(np.where(u <= v, u + "|" + v, v + "|" + u), index=out.index)
        out = out.loc[~pair.duplicated()]
    classes = (out["road_class"].astype(object).where(out["road_class"].notna(), "").astype(str)
               if "road_class" in out.columns else pd.Series("", index=out.index))
    rank = classes.map(road_class_rank).astype(int)
    order = np.argsort(rank.to_numpy(), kind="stable")[:max(int(max_roads), 0)]
    geoms = out.geometry.values[order]
    classes, rank = classes.to_numpy()[order], rank.to_numpy()[order]
    rows, lines = [], []
    for cls in pd.unique(classes):
        parts = shapely.get_parts(geoms[classes == cls])
        parts = parts[shapely.get_type_id(parts) == 1]  # LineStrings only
        if len(parts):
            rows.append((str(cls), int(rank[classes == cls][0])))
            lines.append(shapely.line_merge(shapely.multilinestrings(parts)))
    frame = gpd.GeoDataFrame(pd.DataFrame(rows, columns=["road_class", "rank"]),
                             geometry=gpd.GeoSeries(lines, crs=edges.crs), crs=edges.crs)
    frame = frame.set_geometry(_for_map(frame.geometry, tolerance_m=tolerance_m).values)
    frame = frame[~frame.geometry.is_empty]
    return frame.sort_values("rank", ascending=False, kind="stable").reset_index(drop=True)


def background_layers(ws: Workspace, *, max_roads: int = MAX_BACKGROUND_ROADS,
                      tolerance_m: float = 10.0) -> dict[str, gpd.GeoDataFrame]:
    """The drawn background of a workspace: what a map shows when it has no basemap tiles.

    Parameters
    ----------
    ws : the workspace (any projected working CRS); not modified. Every layer is optional.
    max_roads : the most road segments kept (``roads_by_class``).
    tolerance_m : simplification tolerance in metres (polygons use twice as much: they are
        drawn as thin outlines or flat fills).

    Returns
    -------
    ``{name: GeoDataFrame in EPSG:4326}`` for the names of ``BACKGROUND_LAYERS`` (each present,
    possibly empty): ``area_fill`` and ``area`` the study area (a light fill and its outline),
    ``water`` the ``rivers`` layer (polygons and lines), ``townships`` the township boundaries,
    ``roads`` one feature per road class (``road_class``, ``rank``; see ``roads_by_class``).
    """
    area = _polygons(ws, "area", tolerance_m=2 * tolerance_m)
    edges = ws.layer("road_edges") if ws.has("road_edges") else None
    return {
        "area_fill": area,
        "water": _polygons(ws, "rivers", tolerance_m=tolerance_m),
        "townships": _polygons(ws, "townships", tolerance_m=2 * tolerance_m),
        "roads": roads_by_class(edges, max_roads=max_roads, tolerance_m=tolerance_m),
        "area": area.copy(),
    }
