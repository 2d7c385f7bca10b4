"""Police facilities of a workspace as every front end needs them: station names and the facility layer.

The command line, the app's pages and the briefing all ask the same two questions of a
workspace's ``stations``, ``posts`` and ``jurisdictions`` layers; they are answered here once, by
one rule: ids are strings (``geo.ids``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd

from geo.ids import id_str, normalise_ids

if TYPE_CHECKING:
    from geo.workspace import Workspace

__all__ = ["FACILITY_UNITS", "station_names", "station_names_from_workspace", "facilities_from_workspace"]

#: Which layers make the facility layer: stations, posts (街面警务站/交巡警平台) or both.
FACILITY_UNITS = ("stations", "posts", "both")
_LAYERS = {"stations": ("stations",), "posts": ("posts",), "both": ("stations", "posts")}
_ID_COLUMN = {"stations": "station_id", "posts": "post_id"}
_UNIT = {"stations": "station", "posts": "post"}


def station_names(*frames: pd.DataFrame | None) -> dict[str, str]:
    """{station id: name} from the frames that have ``station_id`` and ``name`` columns.

    Ids are strings (``geo.ids.id_str``: ``7``, ``7.0`` and ``"7"`` are station ``"7"``); rows
    with a blank or missing name or id are left out, so ``names.get(sid, sid)`` falls back to the
    id. Where frames disagree, the later frame wins. Frames that are None or lack a column are
    skipped.
    """
    names: dict[str, str] = {}
    for frame in frames:
        if frame is None or not {"station_id", "name"} <= set(frame.columns):
            continue
        for sid, name in zip(normalise_ids(frame["station_id"]), frame["name"]):
            text = id_str(name)  # blank, None and NaN names are no names
            if sid is not None and text is not None:
                names[sid] = str(name).strip()
    return names


def station_names_from_workspace(ws: "Workspace") -> dict[str, str]:
    """{station id: name} of a workspace: the ``jurisdictions`` names, overridden by the
    ``stations`` names where both have one (``station_names``)."""
    return station_names(*(ws.layer(name) if ws.has(name) else None for name in ("jurisdictions", "stations")))


def facilities_from_workspace(ws: "Workspace", *, units: str = "both") -> gpd.GeoDataFrame:
    """Stations and/or posts of a workspace as one point layer, in the workspace CRS.

    Parameters
    ----------
    ws : the workspace; its ``stations`` (``station_id``) and ``posts`` (``post_id``) layers are
        read where present.
    units : ``"stations"``, ``"posts"`` or ``"both"`` (stations first).

    Returns
    -------
    GeoDataFrame with a fresh RangeIndex and the columns ``facility_id`` (the station or post id,
    a string; ``S1``, ``P1`` … by row where the layer has no id column), ``unit`` (``station`` or
    ``post``), ``name`` (the ``name`` column, else the id), ``kind`` (the post's ``kind``
    column, else the unit), ``turnout_min`` (minutes before a unit leaves: the ``turnout_min``
    column, missing values 0; 0 for a layer without one), ``hours`` (opening hours as the layer
    gives them, ``7x24`` for a layer without an hours column; ``geo.hours``) and ``node_id``
    (only when every row names its network node). Empty (with these columns) when the workspace
    has none of the layers.

    Raises
    ------
    ValueError
        when ``units`` is not one of ``FACILITY_UNITS``.
    """
    if units not in FACILITY_UNITS:
        raise ValueError(f"`units` was {units!r} but is expected to be in {list(FACILITY_UNITS)}")
    from geo.hours import hours_column
    parts = []
    for layer in _LAYERS[units]:
        if not ws.has(layer):
            continue
        gdf = ws.layer(layer)
        id_col, unit = _ID_COLUMN[layer], _UNIT[layer]
        ids = normalise_ids(gdf[id_col]) if id_col in gdf.columns else pd.Series(
            [f"{layer[0].upper()}{i + 1}" for i in range(len(gdf))], index=gdf.index, dtype=object)
        kind = (gdf["kind"].astype(str) if layer == "posts" and "kind" in gdf.columns
                else pd.Series(unit, index=gdf.index))
        turnout = (pd.to_numeric(gdf["turnout_min"], errors="coerce").fillna(0.0)
                   if "turnout_min" in gdf.columns else pd.Series(0.0, index=gdf.index))
        frame = pd.DataFrame({"facility_id": ids.to_numpy(), "unit": unit,
                              "name": gdf["name"].astype(str).to_numpy() if "name" in gdf.columns else ids.to_numpy(),
                              "kind": kind.to_numpy(), "turnout_min": turnout.to_numpy(dtype=float)})
        hcol = hours_column(gdf)
        frame["hours"] = gdf[hcol].to_numpy(dtype=object) if hcol is not None else "7x24"
        if "node_id" in gdf.columns:
            frame["node_id"] = gdf["node_id"].to_numpy(dtype=object)
        parts.append(gpd.GeoDataFrame(frame, geometry=gdf.geometry.values, crs=ws.crs))
    if not parts:
        return gpd.GeoDataFrame({"facility_id": [], "unit": [], "name": [], "kind": [], "turnout_min": [],
                                 "hours": []}, geometry=[], crs=ws.crs)
    out = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=ws.crs)
    if "node_id" in out.columns and out["node_id"].isna().any():
        out = out.drop(columns="node_id")  # some rows lack a node: snap them all by location
    return out
