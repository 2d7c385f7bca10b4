"""Building a workspace from the user's files: read, validate every layer in one pass, grid.

``build_workspace`` is what ``gridpatrol import`` and the app's upload form call.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

import geopandas as gpd

from geo.crs import choose_working_crs
from geo.errors import InputError, Problem, ValidationError
from geo.grid import cells_from_area, cells_with_attributes, check_cell_count
from geo.layers import LayerSource, read_layer
from geo.network import CLIP_MARGIN_M
from geo.validate import Checked, check_layer, check_stations_in_jurisdictions, raise_if_problems
from geo.workspace import Workspace

__all__ = ["build_workspace", "POINT_LAYERS", "POLYGON_LAYERS"]

log = logging.getLogger(__name__)

POLYGON_LAYERS = ("townships", "jurisdictions")
POINT_LAYERS = ("stations", "posts", "checkpoints", "incidents")


def _read(source: LayerSource, layer: str, problems: list[Problem]) -> gpd.GeoDataFrame | None:
    try:
        return read_layer(source)
    except InputError as exc:
        problems.append(Problem(source.path, layer, "unreadable", str(exc), "see the message"))
        return None


def _join_station(points: gpd.GeoDataFrame, jurisdictions: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A copy of ``points`` with the ``station_id`` of the jurisdiction holding each point."""
    joined = gpd.sjoin(points, jurisdictions[["station_id", jurisdictions.geometry.name]],
                       how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    out = points.copy()
    out["station_id"] = joined["station_id"].reindex(points.index).to_numpy()
    return out


def build_workspace(*, area: LayerSource, townships: LayerSource | None = None,
                    stations: LayerSource | None = None, jurisdictions: LayerSource | None = None,
                    posts: LayerSource | None = None, checkpoints: LayerSource | None = None,
                    incidents: LayerSource | None = None,
                    attributes: list[tuple[LayerSource, dict[str, str]]] = (),
                    network: LayerSource | None = None, network_type: str = "drive",
                    clip_margin_m: float = CLIP_MARGIN_M,
                    working_crs: str | None = None, cell_size_m: float = 500.0,
                    cell_shape: str = "square", name: str | None = None) -> tuple[Workspace, list[Problem]]:
    """Read, validate and grid the user's layers into a new (unsaved) workspace.

    Every layer is read and checked before anything fails, and all problems of all layers are
    raised together as one ValidationError. ``area`` is any polygon layer; its features are
    unioned into the study area. ``working_crs`` is the projected CRS (metres) to work in;
    without it the UTM zone of the area is used (and reprojection is reported as a warning).
    ``attributes`` are polygon layers whose columns are apportioned to cells by area, each with
    a mapping {source column: cell column} (map a column to ``population`` to fill the cells'
    population). ``network`` is a road network file (see ``geo.network.tables_from_file``; its
    ``crs`` is assumed where the file carries none); it is stored as ``road_nodes``/``road_edges``,
    clipped to the study area grown by ``clip_margin_m`` metres (edges with at least one end
    inside) and reduced to its largest strongly connected component. ``network_type`` chooses
    the ways of an OpenStreetMap file: ``"drive"`` (patrol cars; OSMnx's drive network),
    ``"drive_service"`` (also service roads) or ``"walk"`` (foot patrols); it is kept in the
    workspace meta as ``network_type``. Returns the workspace and the warnings.
    """
    problems: list[Problem] = []
    warnings: list[Problem] = []
    sources = {"area": area, "townships": townships, "stations": stations,
               "jurisdictions": jurisdictions, "posts": posts, "checkpoints": checkpoints,
               "incidents": incidents}
    raw = {k: _read(v, k, problems) for k, v in sources.items() if v is not None}
    attr_raw = [(_read(src, "attributes", problems), src, mapping) for src, mapping in attributes]

    # The working CRS comes from the area (or the user).
    crs = None
    checked_area: Checked | None = None
    if raw.get("area") is not None:
        checked_area = check_layer(raw["area"], "area", source=area.path)
        problems += checked_area.problems
        if checked_area.gdf is not None:
            try:
                crs = choose_working_crs(checked_area.gdf, requested=working_crs)
            except InputError as exc:
                problems.append(Problem(area.path, "area", "working_crs", str(exc), "give --crs"))
    if crs is None:
        raise_if_problems(problems or [Problem(area.path, "area", "no_area",
                                               "no usable study area", "give --area")])
    chosen = working_crs is not None
    area_gdf = checked_area.gdf.to_crs(crs)
    if not chosen and not checked_area.gdf.crs.equals(crs):
        warnings.append(Problem(area.path, "area", "working_crs",
                                f"working CRS chosen from the area: {crs.to_string()} ({crs.name})",
                                "give --crs to choose another (e.g. a CGCS2000 Gauss-Kruger zone)"))
    layers: dict[str, gpd.GeoDataFrame] = {"area": area_gdf}
    try:  # the grid's size is known now: refuse one too fine before anything else is done
        check_cell_count(area_gdf, size_m=cell_size_m)
    except InputError as exc:
        problems.append(Problem(area.path, "cells", "too_many_cells", str(exc),
                                "give a larger cell size"))
    for layer, gdf in raw.items():
        if layer == "area" or gdf is None:
            continue
        src = sources[layer]
        c = check_layer(gdf, layer, id_col=src.id_col, working_crs=crs, crs_chosen=chosen,
                        area=area_gdf if layer in POINT_LAYERS else None, source=src.path)
        problems += c.problems
        warnings += c.warnings
        if c.gdf is not None:
            layers[layer] = c.gdf
    attr_layers = []
    for gdf, src, mapping in attr_raw:
        if gdf is None:
            continue
        missing = [col for col in mapping if col not in gdf.columns]
        if missing:
            cols = [c for c in gdf.columns if c != gdf.geometry.name]
            problems.append(Problem(src.path, "attributes", "missing_column",
                                    f"no column {', '.join(map(repr, missing))}",
                                    f"choose among {cols}"))
            continue
        c = check_layer(gdf, "attributes", working_crs=crs, crs_chosen=True, source=src.path)
        problems += c.problems
        if c.gdf is not None:
            attr_layers.append((c.gdf, mapping))
    if "stations" in layers and "jurisdictions" in layers:
        c = check_stations_in_jurisdictions(layers["stations"], layers["jurisdictions"])
        problems += c.problems
        warnings += c.warnings
    if network is not None:
        from geo.network import layers_from_file
        try:
            layers["road_nodes"], layers["road_edges"] = layers_from_file(
                network.path, crs=crs, source_crs=network.crs, network_type=network_type,
                clip_area=area_gdf, clip_margin_m=clip_margin_m)
        except ValidationError as exc:
            problems += exc.problems
        except InputError as exc:
            problems.append(Problem(network.path, "road_edges", "unreadable", str(exc), "see the message"))
    raise_if_problems(problems)

    if "jurisdictions" in layers:
        for layer in ("posts", "checkpoints", "incidents"):
            if layer in layers and "station_id" not in layers[layer].columns:
                layers[layer] = _join_station(layers[layer], layers["jurisdictions"])
    cells = cells_from_area(area_gdf, size_m=cell_size_m, shape=cell_shape)
    cells = cells_with_attributes(
        cells, townships=layers.get("townships"), jurisdictions=layers.get("jurisdictions"),
        incidents=layers.get("incidents"), attributes=attr_layers,
        population_from=layers.get("townships"))
    layers["cells"] = cells
    meta = {
        "name": name or area_gdf["name"].iloc[0],
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "sources": json.dumps({k: v.path for k, v in sources.items() if v is not None}
                              | {"attributes": [s.path for s, _ in attributes]}
                              | ({"network": network.path} if network else {}), ensure_ascii=False),
        "cell_size_m": str(cell_size_m),
        "cell_shape": cell_shape,
    }
    if network is not None:
        meta |= {"network_type": network_type, "network_clip_margin_m": str(clip_margin_m)}
    for w in warnings:
        log.warning("%s", w)
    return Workspace(crs=crs, layers=layers, meta=meta), warnings
