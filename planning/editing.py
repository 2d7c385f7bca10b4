"""Hand editing of plans: reassign by ids, lasso or township; undo/redo; plan versions; compare; export.

Every edit returns a new ``Plan``; ``History`` is an immutable undo/redo stack (safe to keep in
a Streamlit session). Plan versions are appended to the workspace tables ``plans`` and
``plan_cells`` (never overwritten) through ``geo.workspace.write_workspace``, which writes
atomically.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from geo.errors import InputError
from geo.workspace import Workspace, read_workspace, write_workspace
from planning.plan import DistrictGraph, Plan

__all__ = ["cells_in_polygon", "reassign", "reassign_by_polygon", "reassign_township", "History",
           "save_plan", "plan_versions", "plan_from_workspace", "compare_plans",
           "jurisdictions_from_plan", "write_plan", "reassign_unlocked", "rebased_history"]

_SNAP_M = 1e-3


def cells_in_polygon(graph: DistrictGraph, polygon: shapely.Geometry) -> np.ndarray:
    """Cell ids whose centroid lies inside ``polygon`` (a lasso drawn in the cells' CRS)."""
    cen = shapely.centroid(np.asarray(graph.cells.geometry.values))
    shapely.prepare(polygon)
    return graph.cell_ids[shapely.contains(polygon, cen) | shapely.touches(polygon, cen)]


def reassign(plan: Plan, cell_ids: Iterable[object], station_id: object) -> Plan:
    """A new plan with ``cell_ids`` given to ``station_id`` (contiguity is reported by the plan,
    not enforced: hand edits are the planner's call)."""
    return plan.moved(cell_ids, station_id)


def reassign_by_polygon(plan: Plan, polygon: shapely.Geometry, station_id: object) -> Plan:
    """A new plan with the cells whose centroid is inside ``polygon`` given to ``station_id``.

    ``polygon`` must be in the cells' CRS (reproject a lasso drawn on a web map first).
    Raises InputError when it holds no cell centroid.
    """
    ids = cells_in_polygon(plan.graph, polygon)
    if not len(ids):
        raise InputError("the drawn polygon holds no cell centre; draw around the cells to move")
    return plan.moved(ids, station_id)


def reassign_township(plan: Plan, township_id: object, station_id: object) -> Plan:
    """A new plan with every cell of ``township_id`` given to ``station_id``."""
    g = plan.graph
    if g.township is None:
        raise InputError("the cells carry no township_id; import townships to edit by township")
    mask = g.township == str(township_id)
    if not mask.any():
        known = sorted({t for t in g.township if t is not None})
        raise InputError(f"township {township_id!r} is not in the cells; choose one of "
                         f"{known[:30]}")
    return plan.moved(g.cell_ids[mask], station_id)


@dataclass(frozen=True)
class History:
    """An immutable undo/redo history of plans and locked cells.

    ``History.start(plan)`` begins one; ``push`` records an edit; ``undo``/``redo`` move along
    it; ``current`` is the plan shown. Each method returns a new History.
    """

    past: tuple[Plan, ...]
    current: Plan
    future: tuple[Plan, ...] = ()
    locked: frozenset = field(default_factory=frozenset)
    labels: tuple[str, ...] = ()

    @classmethod
    def start(cls, plan: Plan) -> "History":
        return cls(past=(), current=plan)

    def push(self, plan: Plan, label: str = "edit") -> "History":
        if plan == self.current:
            return self
        return replace(self, past=self.past + (self.current,), current=plan, future=(),
                       labels=self.labels + (label,))

    @property
    def can_undo(self) -> bool:
        return bool(self.past)

    @property
    def can_redo(self) -> bool:
        return bool(self.future)

    def undo(self) -> "History":
        if not self.past:
            return self
        return replace(self, past=self.past[:-1], current=self.past[-1],
                       future=(self.current,) + self.future)

    def redo(self) -> "History":
        if not self.future:
            return self
        return replace(self, past=self.past + (self.current,), current=self.future[0],
                       future=self.future[1:])

    def lock(self, cell_ids: Iterable[object]) -> "History":
        """Lock cells (the optimizer leaves them where they are)."""
        return replace(self, locked=self.locked | {_norm(c) for c in cell_ids})

    def unlock(self, cell_ids: Iterable[object]) -> "History":
        return replace(self, locked=self.locked - {_norm(c) for c in cell_ids})


def reassign_unlocked(plan: Plan, cell_ids: Iterable[object], station_id: object, *,
              locked_cells: Iterable[object] = (), locked_stations: Iterable[object] = ()
              ) -> tuple[Plan, list[object]]:
    """Give ``cell_ids`` to ``station_id`` except locked cells, cells of locked stations and
    other stations' own cells. Returns the new plan and the ids that were kept where they were.

    Raises InputError when an id is not a cell, the station is unknown or locked, or no cell
    is left to move.
    """
    g = plan.graph
    target = g.station_index(station_id)
    locked_st = {g.station_index(s) for s in locked_stations}
    if target in locked_st:
        raise InputError(f"station {g.station_ids[target]} is locked; unlock it before giving it cells")
    ids = list(cell_ids)
    if not ids:
        raise InputError("no cell ids given; type ids such as 12, 13, 20-25")
    pos = np.unique(g.positions(ids))
    locked = np.zeros(g.n_cells, dtype=bool)
    locked_list = list(locked_cells)
    if locked_list:
        locked[g.positions(locked_list)] = True
    station_cell = np.zeros(g.n_cells, dtype=bool)
    station_cell[g.station_cell] = True
    keep = locked[pos] | np.isin(plan.assignment[pos], list(locked_st)) | \
        (station_cell[pos] & (plan.assignment[pos] != target))
    kept = g.cell_ids[pos[keep]].tolist()
    move = g.cell_ids[pos[~keep]]
    if not len(move):
        raise InputError(f"all {len(pos)} cells are locked or hold a station; nothing moved")
    return reassign(plan, move, g.station_ids[target]), kept


def rebased_history(history: History, graph: DistrictGraph) -> History | None:
    """``history`` with every plan moved onto ``graph`` (same cells and stations, e.g. rebuilt
    after a save or with other weights); None when the cells or stations differ."""
    old = history.current.graph
    if old is graph:
        return history
    if old.station_ids != graph.station_ids or not np.array_equal(old.cell_ids, graph.cell_ids):
        return None

    def move(p: Plan) -> Plan:
        return Plan(graph, p.assignment, name=p.name)
    return replace(history, past=tuple(map(move, history.past)), current=move(history.current),
                   future=tuple(map(move, history.future)))


def _norm(c: object) -> object:
    return int(c) if isinstance(c, (np.integer,)) else c


# --- plan versions in the workspace -------------------------------------------------------------

def plan_versions(ws: Workspace) -> pd.DataFrame:
    """The ``plans`` table of a workspace (plan_id, parent_id, name, created, note); empty
    when none was saved."""
    if "plans" in ws.layers:
        return pd.DataFrame(ws.layers["plans"]).copy()
    return pd.DataFrame({"plan_id": pd.Series(dtype="int64"), "parent_id": pd.Series(dtype="Int64"),
                         "name": pd.Series(dtype=str), "created": pd.Series(dtype=str),
                         "note": pd.Series(dtype=str)})


def save_plan(path: str | Path, plan: Plan, *, name: str, note: str = "",
              parent_id: int | None = None, created: str | None = None) -> int:
    """Append ``plan`` as a new version to the workspace at ``path`` and return its plan_id.

    Earlier versions are never changed; the workspace is rewritten atomically (a crash leaves
    the previous file). ``parent_id`` names the version this one was derived from.
    """
    ws = read_workspace(path)
    plans = plan_versions(ws)
    ids = pd.to_numeric(plans["plan_id"], errors="coerce")
    new_id = int(ids.max()) + 1 if len(ids.dropna()) else 1
    if parent_id is not None and parent_id not in set(ids.dropna().astype(int)):
        raise InputError(f"parent plan {parent_id} is not in the workspace; choose one of "
                         f"{sorted(ids.dropna().astype(int).tolist())}")
    row = pd.DataFrame({"plan_id": [new_id],
                        "parent_id": [parent_id if parent_id is not None else pd.NA],
                        "name": [name], "note": [note],
                        "created": [created or datetime.now(timezone.utc).isoformat(timespec="seconds")]})
    plans = pd.concat([plans, row], ignore_index=True) if len(plans) else row
    plans["parent_id"] = pd.array(plans["parent_id"], dtype="Int64")
    labels = plan.labels
    cells = pd.DataFrame({"plan_id": np.full(len(labels), new_id, dtype=np.int64),
                          "cell_id": labels.index.to_numpy(), "station_id": labels.to_numpy(dtype=str)})
    old = ws.layers.get("plan_cells")
    if old is not None and len(old):
        cells = pd.concat([pd.DataFrame(old), cells], ignore_index=True)
    write_workspace(ws.with_layers(plans=plans[["plan_id", "parent_id", "name", "created", "note"]],
                                   plan_cells=cells), path)
    return new_id


def plan_from_workspace(ws: Workspace, graph: DistrictGraph, plan_id: int) -> Plan:
    """The saved version ``plan_id`` as a Plan over ``graph``."""
    if "plan_cells" not in ws.layers:
        raise InputError("the workspace holds no saved plans; save one first")
    pc = pd.DataFrame(ws.layers["plan_cells"])
    rows = pc[pd.to_numeric(pc["plan_id"], errors="coerce") == int(plan_id)]
    if rows.empty:
        raise InputError(f"plan {plan_id} is not in the workspace; choose one of "
                         f"{sorted(pd.to_numeric(pc['plan_id']).unique().tolist())}")
    labels = pd.Series(rows["station_id"].to_numpy(), index=rows["cell_id"].to_numpy())
    name = None
    plans = plan_versions(ws)
    hit = plans[pd.to_numeric(plans["plan_id"], errors="coerce") == int(plan_id)]
    if len(hit):
        name = str(hit["name"].iloc[0])
    return Plan.from_labels(graph, labels, name=name)


# --- compare ------------------------------------------------------------------------------------

def compare_plans(before: Plan, after: Plan, *,
                  columns: Sequence[str] = ("population", "incidents")) -> dict:
    """What changes from ``before`` to ``after`` (same graph).

    Returns
    -------
    dict with ``cells_moved`` (int), ``changed`` (DataFrame cell_id, from_station,
    to_station), ``moved`` ({column: total over moved cells}, plus ``area_km2``) and
    ``stations`` (DataFrame per station: ``<col>_before``, ``<col>_after``, ``<col>_change``
    for cells, workload, deviation and each column).
    """
    changed_ids = after.changed_cells(before)
    g = before.graph
    pos = g.positions(changed_ids)
    ids = np.asarray(g.station_ids, dtype=object)
    changed = pd.DataFrame({"cell_id": changed_ids, "from_station": ids[before.assignment[pos]],
                            "to_station": ids[after.assignment[pos]]})
    cols = [c for c in columns if c in g.cells.columns]
    moved = {c: after.moved_total(before, c) for c in cols}
    moved["area_km2"] = float(g.area_m2[after.assignment != before.assignment].sum() / 1e6)
    tb, ta = before.table(columns=cols), after.table(columns=cols)
    parts = {}
    for c in ["cells", "workload", "deviation", *cols]:
        parts[f"{c}_before"] = tb[c]
        parts[f"{c}_after"] = ta[c]
        parts[f"{c}_change"] = ta[c] - tb[c]
    return {"cells_moved": int(len(changed_ids)), "changed": changed, "moved": moved,
            "stations": pd.DataFrame(parts)}


# --- export -------------------------------------------------------------------------------------

def jurisdictions_from_plan(plan: Plan) -> gpd.GeoDataFrame:
    """One dissolved polygon per station (station_id, cells, workload, area_km2), valid and
    without gaps or overlaps between stations (cells are unioned on a 1 mm precision grid)."""
    g = plan.graph
    geoms = np.asarray(g.cells.geometry.values)
    out = []
    for s, sid in enumerate(g.station_ids):
        mask = plan.assignment == s
        geom = shapely.union_all(geoms[mask], grid_size=_SNAP_M) if mask.any() else shapely.Polygon()
        if not geom.is_valid:
            geom = shapely.make_valid(geom)
        out.append(geom)
    return gpd.GeoDataFrame({"station_id": list(g.station_ids),
                             "cells": np.bincount(plan.assignment, minlength=g.n_stations),
                             "workload": plan.workload.to_numpy(),
                             "deviation": plan.deviation.to_numpy(),
                             "area_km2": [shapely.area(x) / 1e6 for x in out]},
                            geometry=out, crs=g.cells.crs)


_DRIVERS = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON", ".shp": "ESRI Shapefile"}


def write_plan(plan: Plan, path: str | Path) -> list[Path]:
    """Export ``plan``: GeoPackage gets layers ``plan_cells`` (cell_id, station_id, cell polygon)
    and ``jurisdictions`` (dissolved); GeoJSON/Shapefile get the jurisdictions, with the cell
    table beside them as ``<stem>_cells.csv``. Files are written to a temporary name and
    renamed into place. Returns the files written.
    """
    path = Path(path)
    driver = _DRIVERS.get(path.suffix.lower())
    if driver is None:
        raise InputError(f"--out was {str(path)!r} but is expected to end in one of "
                         f"{sorted(_DRIVERS)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    jur = jurisdictions_from_plan(plan)
    g = plan.graph
    cells = gpd.GeoDataFrame({"cell_id": g.cell_ids, "station_id": plan.labels.to_numpy(dtype=str)},
                             geometry=g.cells.geometry.values, crs=g.cells.crs)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    written = [path]
    try:
        if driver == "GPKG":
            pyogrio.write_dataframe(cells, tmp, layer="plan_cells", driver=driver)
            pyogrio.write_dataframe(jur, tmp, layer="jurisdictions", driver=driver, append=False)
            tmp.replace(path)
        elif driver == "GeoJSON":
            pyogrio.write_dataframe(jur.to_crs("EPSG:4326"), tmp, driver=driver)
            tmp.replace(path)
        else:
            pyogrio.write_dataframe(jur, path, driver=driver)
        if driver != "GPKG":
            csv = path.with_name(f"{path.stem}_cells.csv")
            pd.DataFrame(cells.drop(columns="geometry")).to_csv(csv, index=False)
            written.append(csv)
    finally:
        if tmp.exists():
            tmp.unlink()
    return written
