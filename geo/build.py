"""Building a workspace from the user's files: read, validate every layer in one pass, grid.

``build_workspace`` is what ``gridpatrol import`` and the app's upload form call.
"""
from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Mapping, Sequence

import geopandas as gpd
import numpy as np

from geo.crs import choose_working_crs
from geo.errors import InputError, Problem, ValidationError
from geo.grid import cells_from_area, cells_with_attributes, check_cell_count
from geo.ids import normalise_ids
from geo.layers import LayerSource, read_layer, split_layer_spec
from geo.network import CLIP_MARGIN_M
from geo.overlay import intersection_table, label_by_largest_overlap
from geo.units import check_unit_stations, check_units, units_as_cells
from geo.validate import LAYERS, Checked, check_layer, check_stations_in_jurisdictions, raise_if_problems
from geo.warn import captured_warnings
from geo.workspace import Workspace

__all__ = ["build_workspace", "POINT_LAYERS", "POLYGON_LAYERS"]

log = logging.getLogger(__name__)

POLYGON_LAYERS = ("townships", "communities", "gov_grids", "jurisdictions", "police_grids")
POINT_LAYERS = ("stations", "posts", "checkpoints", "incidents")
# A unit is split between two layers when two or more units of the other layer each hold at
# least this share of its area (as the boundary audit's default ``min_share``).
SPLIT_SHARE = 0.05
_NOUNS = {"townships": ("township", "townships"), "communities": ("community", "communities"),
          "jurisdictions": ("jurisdiction", "jurisdictions"),
          "police_grids": ("police grid", "police grids"), "gov_grids": ("gov grid", "gov grids")}


def _read(source: LayerSource, layer: str, problems: list[Problem],
          notes: list[tuple[Problem, str]]) -> gpd.GeoDataFrame | None:
    """Read one layer; its reading warnings (rows left out, lon/lat assumed…) are appended to
    ``notes`` as (Problem with rule ``read``, the warning's own text)."""
    with captured_warnings() as captured:
        try:
            gdf = read_layer(source)
        except InputError as exc:
            problems.append(Problem(source.path, layer, "unreadable", str(exc), "see the message"))
            gdf = None
    path = str(split_layer_spec(source.path)[0])
    for note in captured:
        message = note
        for prefix in (f"{source.path}: ", f"{path}: "):  # Problem names the file already
            if message.startswith(prefix):
                message = message[len(prefix):]
                break
        notes.append((Problem(source.path, layer, "read", message.rstrip("."),
                              "check the file if this is not what was meant"), note))
    return gdf


def _split_units(units: gpd.GeoDataFrame, others: gpd.GeoDataFrame) -> np.ndarray:
    """Positions of ``units`` split between ``others``: two or more of them each hold at least
    ``SPLIT_SHARE`` of the unit's area (same projected CRS)."""
    table = intersection_table(units, others)
    if not len(table):
        return np.array([], dtype=int)
    area = units.geometry.area.to_numpy()
    big = table[table["area_m2"].to_numpy() >= SPLIT_SHARE * area[table["a"].to_numpy()]]
    counts = np.bincount(big["a"].to_numpy(), minlength=len(units))
    return np.flatnonzero(counts >= 2)


def _labelled(units: gpd.GeoDataFrame, layer: str, others: gpd.GeoDataFrame, other: str, *,
              column: str, source: str, fix: str, always: bool
              ) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """A copy of ``units`` (workspace layer ``layer``) with ``column`` set to the ``column`` of the
    ``others`` unit (workspace layer ``other``) that covers most of each; the warnings.

    With ``always`` the labelling is reported even when no unit is split (the file lacked a
    column it should have had); otherwise only split units and units overlapping none are.
    ``source`` names the file in the warnings.
    """
    id_col = LAYERS[layer].id_col
    what, (one, of) = _NOUNS[layer][1], _NOUNS[other]
    out = units.copy()
    out[column] = label_by_largest_overlap(units, others, column).to_numpy()
    split = units[id_col].to_numpy()[_split_units(units, others)]
    none = units[id_col].to_numpy()[out[column].isna().to_numpy()]
    warnings: list[Problem] = []
    if always or len(split):
        warnings.append(Problem(
            source, layer, f"{column}_by_overlap",
            f"{column} of {len(units)} {what} taken from the {one} covering most of each; "
            f"{len(split)} of them are split by more than {SPLIT_SHARE:.0%} between {of}",
            fix, tuple(split)))
    if len(none):
        warnings.append(Problem(source, layer, f"no_{column}",
                                f"{len(none)} {what} overlap no {one} and have no {column}",
                                f"check that the {what} and the {of} cover the same area",
                                tuple(none)))
    return out, warnings


def _with_ids(gdf: gpd.GeoDataFrame, column: str) -> gpd.GeoDataFrame:
    """A copy of ``gdf`` whose ``column`` holds ids as text (``geo.ids``)."""
    out = gdf.copy()
    out[column] = normalise_ids(out[column]).to_numpy()
    return out


def _nested_layers(layers: dict[str, gpd.GeoDataFrame], *, sources: Mapping[str, LayerSource],
                   police_grid_station: str | None) -> list[Problem]:
    """Fill the parent columns of ``communities``, ``police_grids`` and ``gov_grids`` in
    ``layers`` (replacing those frames) by largest overlap where the files lack them; the warnings.

    - communities: ``township_id`` from ``townships``;
    - police grids: ``station_id`` (the file's ``police_grid_station`` column, else its
      ``station_id``, else from ``jurisdictions``);
    - gov grids: ``community_id``, ``township_id``, ``pgrid_id`` and ``station_id`` from the
      layers present, each where the file has no such column.
    """
    warnings: list[Problem] = []
    if "communities" in layers:
        gdf = layers["communities"]
        if "township_id" in gdf.columns:
            layers["communities"] = _with_ids(gdf, "township_id")
        elif "townships" in layers:
            layers["communities"], w = _labelled(
                gdf, "communities", layers["townships"], "townships", column="township_id",
                source=sources["communities"].path, always=True,
                fix="add a township_id column to the communities to use your own")
            warnings += w
        else:
            warnings.append(Problem(sources["communities"].path, "communities", "no_township_id",
                                    "the communities have no township_id column and no townships "
                                    "were given to find it", "give the townships, or add a "
                                    "township_id column to the communities"))
    if "police_grids" in layers:
        gdf = layers["police_grids"]
        if police_grid_station and police_grid_station != "station_id":
            gdf = gdf.drop(columns=["station_id"], errors="ignore").rename(
                columns={police_grid_station: "station_id"})
        if "station_id" in gdf.columns:
            layers["police_grids"] = _with_ids(gdf, "station_id")
        elif "jurisdictions" in layers:
            layers["police_grids"], w = _labelled(
                gdf, "police_grids", layers["jurisdictions"], "jurisdictions", column="station_id",
                source=sources["police_grids"].path, always=True,
                fix="name the police grids' station column (`police_grid_station`) to use "
                "your own")
            warnings += w
        else:
            layers["police_grids"] = gdf
            warnings.append(Problem(sources["police_grids"].path, "police_grids", "no_station_id",
                                    "the police grids have no station_id column and no "
                                    "jurisdictions were given to find it", "give the jurisdictions, "
                                    "or name the police grids' station column (`police_grid_station`)"))
    if "gov_grids" in layers:
        gdf = layers["gov_grids"]
        for column, other in (("community_id", "communities"), ("township_id", "townships"),
                              ("pgrid_id", "police_grids"), ("station_id", "jurisdictions")):
            if column in gdf.columns:
                gdf = _with_ids(gdf, column)
            elif other in layers:
                gdf, w = _labelled(gdf, "gov_grids", layers[other], other, column=column,
                                   source=sources["gov_grids"].path, always=False,
                                   fix=f"none needed; add a {column} column to the gov grids "
                                   "to use your own")
                warnings += w
        layers["gov_grids"] = gdf
    return warnings


def _join_station(points: gpd.GeoDataFrame, jurisdictions: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A copy of ``points`` with the ``station_id`` of the jurisdiction holding each point."""
    joined = gpd.sjoin(points, jurisdictions[["station_id", jurisdictions.geometry.name]],
                       how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    out = points.copy()
    out["station_id"] = joined["station_id"].reindex(points.index).to_numpy()
    return out


def build_workspace(*, area: LayerSource | None = None, townships: LayerSource | None = None,
                    stations: LayerSource | None = None, jurisdictions: LayerSource | None = None,
                    posts: LayerSource | None = None, checkpoints: LayerSource | None = None,
                    incidents: LayerSource | None = None, communities: LayerSource | None = None,
                    police_grids: LayerSource | None = None, gov_grids: LayerSource | None = None,
                    police_grid_station: str | None = None,
                    attributes: Sequence[tuple[LayerSource, dict[str, str]]] = (),
                    network: LayerSource | None = None, network_type: str = "drive",
                    clip_margin_m: float = CLIP_MARGIN_M,
                    working_crs: str | None = None, cell_size_m: float = 500.0,
                    cell_shape: str = "square", name: str | None = None,
                    units: LayerSource | None = None, unit_station: str | None = None,
                    unit_name: str | None = None, rivers: LayerSource | None = None,
                    railways: LayerSource | None = None) -> tuple[Workspace, list[Problem]]:
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
    workspace meta as ``network_type``.

    ``communities`` (社区/村, id ``community_id``), ``police_grids`` (警务区, id ``pgrid_id``) and
    ``gov_grids`` (综治网格, id ``grid_id``) are optional polygon layers, stored as they are
    plus their parent columns: a community without a ``township_id`` column gets the township
    covering most of it, a police grid the station whose jurisdiction covers most of it (unless
    ``police_grid_station`` names its station column, or it has ``station_id``), each with a
    warning; gov grids get ``community_id``, ``township_id``, ``pgrid_id`` and ``station_id``
    from the layers given, where they lack them, with a warning naming grids split by more than
    5 % of their area. Reading warnings (rows left out, lon/lat assumed…) are warnings of rule
    ``read``.

    ``units`` (polygons, id column ``units.id_col``: villages/communities, governance grids,
    beats) become the ``cells`` layer instead of generated cells (see ``geo.units``): each
    unit's station is its ``unit_station`` column where given (every value must be a station id
    of ``stations``, else of ``jurisdictions``), else the jurisdiction covering most of it;
    ``unit_name`` names the name column (default: guessed). Without ``area`` the study area is
    the union of the units. The meta records ``units`` (the file name) and ``unit_id``.
    ``rivers`` (water polygons, or lines with an optional ``width_m``) and ``railways`` (lines)
    are kept as layers of those names: barriers that units touching across them are not
    neighbours across (``geo.barriers``) except where a road of ``network`` crosses them.
    Returns the workspace and the warnings (Problem records).
    """
    problems: list[Problem] = []
    notes: list[tuple[Problem, str]] = []
    sources = {"area": area, "units": units, "townships": townships, "communities": communities,
               "gov_grids": gov_grids, "stations": stations, "jurisdictions": jurisdictions,
               "police_grids": police_grids, "posts": posts, "checkpoints": checkpoints,
               "incidents": incidents, "rivers": rivers, "railways": railways}
    given: dict[str, LayerSource] = {k: v for k, v in sources.items() if v is not None}
    raw = {k: _read(v, k, problems, notes) for k, v in given.items()}
    attr_raw = [(_read(src, "attributes", problems, notes), src, mapping) for src, mapping in attributes]
    warnings: list[Problem] = [w for w, _ in notes]

    # The working CRS comes from the area (or the user).
    crs = None
    checked_area: Checked | None = None
    area_src = area if area is not None else units  # without an area: the units' union
    area_path = area_src.path if area_src is not None else "area"
    if area_src is None:
        problems.append(Problem("area", "area", "no_area", "no study area was given",
                                "give `area`, or `units` to take their union as the area"))
    unit_problems: list[Problem] = []
    if units is not None and raw.get("units") is not None:
        unit_problems = check_units(raw["units"], source=units.path, id_col=units.id_col,
                                    station_col=unit_station, name_col=unit_name)
        problems += unit_problems
    area_raw = raw.get("area") if area is not None else raw.get("units")
    if area_raw is not None:
        checked_area = check_layer(area_raw, "area", source=area_path)
        problems += (checked_area.problems if area is not None else
                     [replace(p, layer="units") for p in checked_area.problems])
        if checked_area.gdf is not None:
            try:
                crs = choose_working_crs(checked_area.gdf, requested=working_crs)
            except InputError as exc:
                problems.append(Problem(area_path, "area", "working_crs", str(exc), "give --crs"))
    if crs is None:
        raise_if_problems(problems or [Problem(area_path, "area", "no_area",
                                               "no usable study area", "give `area`")])
    assert crs is not None and checked_area is not None and checked_area.gdf is not None  # else raised
    chosen = working_crs is not None
    area_gdf = checked_area.gdf.to_crs(crs)
    if not chosen and not checked_area.gdf.crs.equals(crs):
        warnings.append(Problem(area_path, "area", "working_crs",
                                f"working CRS chosen from the area: {crs.to_string()} ({crs.name})",
                                "give --crs to choose another (e.g. a CGCS2000 Gauss-Kruger zone)"))
    layers: dict[str, gpd.GeoDataFrame] = {"area": area_gdf}
    try:  # the grid's size is known now: refuse one too fine before anything else is done
        if units is None:
            check_cell_count(area_gdf, size_m=cell_size_m)
    except InputError as exc:
        problems.append(Problem(area_path, "cells", "too_many_cells", str(exc),
                                "give a larger cell size"))
    unit_gdf = None
    for layer, gdf in raw.items():
        if layer == "area" or gdf is None:
            continue
        src = given[layer]
        if layer in ("rivers", "railways"):
            from geo.barriers import check_barrier_layer
            g, p, w = check_barrier_layer(gdf, layer, working_crs=crs, source=src.path)
            problems += p
            warnings += w
            if g is not None:
                layers[layer] = g
            continue
        if layer == "units":  # checked as cells (id cell_id), reported as units
            if unit_problems or (area is None and checked_area.problems):
                continue
            c = check_layer(gdf, "cells", id_col=src.id_col, working_crs=crs, crs_chosen=chosen,
                            source=src.path)
            problems += [replace(p, layer="units") for p in c.problems]
            warnings += [replace(p, layer="units") for p in c.warnings]
            unit_gdf = c.gdf
            continue
        c = check_layer(gdf, layer, id_col=src.id_col, working_crs=crs, crs_chosen=chosen,
                        area=area_gdf if layer in POINT_LAYERS else None, source=src.path)
        problems += c.problems
        warnings += c.warnings
        if c.gdf is not None:
            layers[layer] = c.gdf
    if unit_gdf is not None and unit_station:
        if "stations" in layers:
            known, known_from = set(layers["stations"]["station_id"].dropna()), "stations"
        elif "jurisdictions" in layers:
            known, known_from = set(layers["jurisdictions"]["station_id"].dropna()), "jurisdictions"
        else:
            known, known_from = None, ""
        problems += check_unit_stations(unit_gdf, unit_station, known, source=given["units"].path,
                                        known_from=known_from)
    pg = layers.get("police_grids")
    if police_grid_station and pg is not None and police_grid_station not in pg.columns:
        cols = [c for c in pg.columns if c != pg.geometry.name]
        problems.append(Problem(given["police_grids"].path, "police_grids", "missing_station_column",
                                f"`police_grid_station` was {police_grid_station!r} but the "
                                "police grids have no such column",
                                f"name the station column (one of {cols}), or leave it out to "
                                "take the station covering most of each grid"))
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

    warnings += _nested_layers(layers, sources=given, police_grid_station=police_grid_station)
    if "jurisdictions" in layers:
        for layer in ("posts", "checkpoints", "incidents"):
            if layer in layers and "station_id" not in layers[layer].columns:
                layers[layer] = _join_station(layers[layer], layers["jurisdictions"])
    if unit_gdf is not None:
        cells, w = units_as_cells(
            unit_gdf, source=given["units"].path, area=area_gdf if area is not None else None,
            townships=layers.get("townships"), jurisdictions=layers.get("jurisdictions"),
            incidents=layers.get("incidents"), attributes=attr_layers,
            station_col=unit_station, name_col=unit_name)
        warnings += w
    else:
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
    if unit_gdf is not None:
        meta |= {"units": Path(split_layer_spec(given["units"].path)[0]).name, "unit_id": str(given["units"].id_col),
                 "cell_shape": "units"}
        if unit_station:
            meta["unit_station"] = unit_station
    if network is not None:
        meta |= {"network_type": network_type, "network_clip_margin_m": str(clip_margin_m)}
    read = {id(w): note for w, note in notes}
    for warning in warnings:  # a reading warning in its own words: callers capturing it see it once
        log.warning("%s", read.get(id(warning), warning))
    return Workspace(crs=crs, layers=layers, meta=meta), warnings
