"""Workspace-derived tables the briefing's sections read: station names, cells with their
station, workload per station, stations and posts as one facility layer, the checkpoints a seal
covers, and the saved plans.

Station names and the facility layer come from ``geo.stations``, as for the CLI and the pages.
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.errors import InputError
from geo.ids import normalise_ids
from geo.road_classes import TRUNK_MAX_RANK, road_class_rank
from geo.stations import facilities_from_workspace, station_names_from_workspace
from geo.workspace import Workspace
from ui.colors import natural_key

__all__ = ["SEAL_MAX_RANK", "station_names", "cells_with_station", "station_workload",
           "coverage_facilities", "seal_exits", "plan_names", "resolve_plan"]

SEAL_MAX_RANK = TRUNK_MAX_RANK  # checkpoints on expressways, national and provincial roads are sealed


def station_names(ws: Workspace) -> dict[str, str]:
    """{station id: name} of the workspace (``geo.stations.station_names_from_workspace``)."""
    return station_names_from_workspace(ws)


def cells_with_station(ws: Workspace) -> gpd.GeoDataFrame:
    """A copy of the cells with a string ``station_id`` (from the column, else from the
    jurisdiction holding the cell's representative point)."""
    cells = ws.layer("cells").copy()
    if "station_id" not in cells.columns or cells["station_id"].isna().all():
        if not ws.has("jurisdictions"):
            raise InputError("the cells carry no station_id and the workspace has no jurisdictions")
        pts = gpd.GeoDataFrame(geometry=cells.geometry.representative_point(), crs=cells.crs)
        hit = gpd.sjoin(pts, ws.layer("jurisdictions")[["station_id", "geometry"]], how="left",
                        predicate="within")
        hit = hit[~hit.index.duplicated()]
        cells["station_id"] = hit["station_id"].reindex(cells.index).to_numpy()
    cells["station_id"] = normalise_ids(cells["station_id"]).to_numpy()
    return cells


def station_workload(ws: Workspace, *, workload: str = "incidents") -> pd.DataFrame:
    """Per station (index ``station_id``, natural order): ``name``, ``cells``, ``population``,
    ``incidents``, ``area_km2``, ``workload`` (the sum of the cells' ``workload`` column) and
    ``deviation`` (workload / mean workload over the stations - 1; 0.05 = 5 % above the mean).

    Cells belong to the station in their ``station_id`` column. Stations without cells show 0.
    """
    cells = cells_with_station(ws)
    if workload not in cells.columns:
        raise InputError(f"workload was {workload!r} but the cells have no such column; columns "
                         f"are {[c for c in cells.columns if c != cells.geometry.name]}")
    frame = pd.DataFrame({"station_id": cells["station_id"], "cells": 1,
                          "area_km2": cells.geometry.area.to_numpy() / 1e6})
    for col in ("population", "incidents", workload):
        if col in cells.columns:
            frame[col] = pd.to_numeric(cells[col], errors="coerce").fillna(0.0).to_numpy()
    frame = frame.loc[:, ~frame.columns.duplicated()]
    sums = frame.dropna(subset=["station_id"]).groupby("station_id").sum(numeric_only=True)
    ids = set(sums.index)
    if ws.has("stations"):
        ids |= {str(s) for s in ws.layer("stations")["station_id"]}
    order = sorted(ids, key=natural_key)
    out = sums.reindex(order).fillna(0.0)
    out.index.name = "station_id"
    out["cells"] = out["cells"].astype(int)
    out["workload"] = out[workload]
    mean = float(out["workload"].mean()) if len(out) else 0.0
    out["deviation"] = out["workload"] / mean - 1.0 if mean > 0 else 0.0
    names = station_names(ws)
    out.insert(0, "name", [names.get(i, i) for i in out.index])
    return out


def coverage_facilities(ws: Workspace) -> gpd.GeoDataFrame:
    """Stations and posts as one facility layer (``geo.stations.facilities_from_workspace``);
    an error when the workspace has neither."""
    out = facilities_from_workspace(ws, units="both")
    if not len(out):
        raise InputError("the workspace has neither stations nor posts; load stations to see coverage")
    return out


def seal_exits(checkpoints: gpd.GeoDataFrame, *, max_rank: int = SEAL_MAX_RANK) -> gpd.GeoDataFrame:
    """The checkpoints the briefing seals: those on trunk roads (``road_class`` rank at most
    ``max_rank``: expressway, national, provincial); all of them when none carries a class."""
    if "road_class" not in checkpoints.columns:
        return checkpoints
    rank = checkpoints["road_class"].map(road_class_rank)
    major = checkpoints[rank <= max_rank]
    return major if len(major) else checkpoints


def plan_names(ws: Workspace) -> list[str]:
    """Names (or ids) of the plans saved in the workspace, oldest first."""
    if "plans" not in ws.layers or "plan_cells" not in ws.layers or not len(ws.layers["plans"]):
        return []
    plans = pd.DataFrame(ws.layers["plans"])
    return [str(n) if n is not None and str(n) not in ("", "nan") else str(i)
            for i, n in zip(plans["plan_id"], plans.get("name", plans["plan_id"]))]


def resolve_plan(ws: Workspace, plan: str | None) -> tuple[int, str] | None:
    """(plan_id, name) of the saved plan named ``plan`` (name or id), the latest when ``plan``
    is None; None when the workspace holds no saved plan and none was asked for."""
    if "plans" not in ws.layers or "plan_cells" not in ws.layers or not len(ws.layers["plans"]):
        if plan is not None:
            raise InputError(f"--plan was {plan!r} but the workspace holds no saved plans; save "
                             "one with `gridpatrol redistrict ... --save-plan NAME`")
        return None
    plans = pd.DataFrame(ws.layers["plans"])
    ids = pd.to_numeric(plans["plan_id"], errors="coerce")
    names = plans["name"].astype(str) if "name" in plans.columns else ids.astype(str)
    if plan is None:
        k = int(np.nanargmax(ids.to_numpy(dtype=float)))
    else:
        hit = np.flatnonzero((names == str(plan)).to_numpy() | (ids.astype(str) == str(plan)).to_numpy())
        if not len(hit):
            raise InputError(f"--plan was {plan!r} but the workspace's plans are "
                             f"{plan_names(ws)}; give one of these names or ids")
        k = int(hit[-1])
    return int(ids.iloc[k]), str(names.iloc[k])
