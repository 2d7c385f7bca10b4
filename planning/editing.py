"""Hand editing of plans: reassign by ids, lasso or township; undo/redo; plan versions; compare; export.

Every edit returns a new ``Plan``; ``History`` is an immutable undo/redo stack (safe to keep in
a Streamlit session). Plan versions are appended to the workspace tables ``plans`` and
``plan_cells``, and each step of a draft's history to ``plan_edits``, each in one transaction
(``geo.workspace.append_plan`` / ``append_edit``): nothing is ever overwritten, and a reload
replays the draft (``history_from_draft``).
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from geo.atomic import atomic_path
from geo.errors import InputError
from geo.ids import id_str
from geo.markup import spreadsheet_safe
from geo.workspace import Workspace, append_edit, append_plan, read_edits, read_plan_cells, read_plans
from planning.plan import DistrictGraph, Plan

__all__ = ["cells_in_polygon", "reassign", "reassign_by_polygon", "reassign_township", "History",
           "save_plan", "plan_versions", "plan_from_workspace", "compare_plans",
           "jurisdictions_from_plan", "write_plan", "reassign_unlocked", "rebased_history",
           "new_draft_id", "start_draft", "record_step", "history_from_draft"]

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


def _norm(c: object) -> str | None:
    """A cell id by the one rule of ``geo.ids``: text (``7``, ``7.0`` and ``"7"`` are one id)."""
    return id_str(c)


# --- plan versions in the workspace -------------------------------------------------------------

def plan_versions(ws: Workspace) -> pd.DataFrame:
    """The plan versions of a workspace (plan_id, parent_id, name, created, note, author,
    draft, draft_seq), oldest first; empty when none was saved. For a workspace read from a
    file the table is read afresh (others may have saved since it was opened)."""
    if ws.path is not None:
        return read_plans(ws.path)
    if "plans" in ws.layers:
        return pd.DataFrame(ws.layers["plans"]).copy()
    return pd.DataFrame({"plan_id": pd.Series(dtype="Int64"), "parent_id": pd.Series(dtype="Int64"),
                         "name": pd.Series(dtype=object), "created": pd.Series(dtype=object),
                         "note": pd.Series(dtype=object), "author": pd.Series(dtype=object)})


def save_plan(path: str | Path, plan: Plan, *, name: str, author: str, note: str = "",
              parent_id: int | None = None, created: str | None = None,
              draft: str | None = None, draft_seq: int | None = None) -> int:
    """Append ``plan`` as a new version to the workspace at ``path`` and return its plan_id.

    One transaction inserts the version and its cell -> station rows
    (``geo.workspace.append_plan``): earlier versions are never changed, concurrent saves
    each keep theirs, a killed save leaves the workspace as it was. ``author`` is recorded;
    ``parent_id`` names the version this one was derived from; ``draft``/``draft_seq`` the
    edit history it came from (``record_step``).
    """
    labels = plan.labels
    cells = pd.DataFrame({"cell_id": labels.index.to_numpy(), "station_id": labels.to_numpy(dtype=str)})
    return append_plan(path, cells, name=name, author=author, note=note, parent_id=parent_id,
                       created=created, draft=draft, draft_seq=draft_seq)


def plan_from_workspace(ws: Workspace, graph: DistrictGraph, plan_id: int) -> Plan:
    """The saved version ``plan_id`` as a Plan over ``graph``."""
    if ws.path is not None:
        pc = read_plan_cells(ws.path, int(plan_id))
        known = plan_versions(ws)["plan_id"].dropna().astype(int).tolist()
    else:
        pc = pd.DataFrame(ws.layers.get("plan_cells", pd.DataFrame(columns=["plan_id", "cell_id", "station_id"])))
        known = sorted(pd.to_numeric(pc["plan_id"]).unique().tolist())
        pc = pc[pd.to_numeric(pc["plan_id"], errors="coerce") == int(plan_id)]
    if pc.empty:
        if not known:
            raise InputError("the workspace holds no saved plans; save one first")
        raise InputError(f"plan {plan_id} is not in the workspace; choose one of {known[:50]}")
    labels = pd.Series(pc["station_id"].to_numpy(), index=pc["cell_id"].to_numpy())
    plans = plan_versions(ws)
    hit = plans[pd.to_numeric(plans["plan_id"], errors="coerce") == int(plan_id)]
    name = str(hit["name"].iloc[0]) if len(hit) else None
    return Plan.from_labels(graph, labels, name=name)


# --- the edit history of a draft, kept in the workspace -----------------------------------------

def new_draft_id() -> str:
    """A fresh id for a draft (the edit history of one planner's plan in progress)."""
    return uuid.uuid4().hex


def _pairs(before: Plan, after: Plan) -> list[list[str]]:
    changed = after.changed_cells(before)
    labels = after.labels
    return [[id_str(c) or "", id_str(labels[c]) or ""] for c in changed]


def start_draft(path: str | Path, history: History, *, author: str, base: str) -> str:
    """Record ``history.current`` as the start of a new draft in the workspace; return the draft
    id. ``base`` says where it came from (``current``, ``scratch``, ``plan:<id>``)."""
    draft = new_draft_id()
    labels = history.current.labels
    append_edit(path, draft=draft, action="start", author=author, label=base, base=base,
                payload={"cells": [[id_str(c), id_str(s)] for c, s in labels.items()],
                         "locked": sorted(map(_norm, history.locked), key=str)})
    return draft


def record_step(path: str | Path, draft: str, before: History, after: History, *, action: str,
                author: str) -> int:
    """Append the step from ``before`` to ``after`` to the draft's history in the workspace and
    return its sequence number. ``action`` is ``push`` (an edit, an optimiser result or a loaded
    plan: the moved cells are stored), ``undo``, ``redo``, ``lock`` or ``unlock``."""
    if action == "push":
        payload: object = {"moves": _pairs(before.current, after.current)}
        label = after.labels[-1] if after.labels else "edit"
    elif action in ("undo", "redo"):
        payload, label = None, action
    elif action in ("lock", "unlock"):
        payload = {"cells": sorted(map(_norm, before.locked ^ after.locked), key=str)}
        label = action
    else:
        raise InputError(f"`action` was {action!r} but is expected to be one of push, undo, redo, "
                         "lock, unlock")
    return append_edit(path, draft=draft, action=action, author=author, label=label, payload=payload)


def history_from_draft(path: str | Path, draft: str, graph: DistrictGraph) -> tuple[History, int] | None:
    """The History recorded as ``draft`` in the workspace, replayed over ``graph``, and the
    number of steps; None when the draft is unknown or does not fit ``graph`` (other cells or
    stations: the workspace was rebuilt)."""
    steps = read_edits(path, draft)
    if not steps or steps[0]["action"] != "start":
        return None
    try:
        first = steps[0]["payload"]
        labels = pd.Series({c: s for c, s in first["cells"]})
        if len(labels) != graph.n_cells:
            return None
        hist = History.start(Plan.from_labels(graph, labels))
        hist = hist.lock(first.get("locked", []))
        for step in steps[1:]:
            action, payload = step["action"], step["payload"]
            if action == "push":
                cur = hist.current.labels.copy()
                for c, s in payload["moves"]:
                    cur[_cell_key(cur.index, c)] = s
                hist = hist.push(Plan.from_labels(graph, cur), step["label"] or "edit")
            elif action == "undo":
                hist = hist.undo()
            elif action == "redo":
                hist = hist.redo()
            elif action == "lock":
                hist = hist.lock(payload["cells"])
            elif action == "unlock":
                hist = hist.unlock(payload["cells"])
    except (InputError, KeyError, TypeError, ValueError):
        return None
    return hist, len(steps)


def _cell_key(index: pd.Index, cell: str) -> object:
    """The index entry of ``cell`` (ids are stored as text; the graph's may be numbers)."""
    if cell in index:
        return cell
    for v in index[:1]:
        try:
            return type(v)(cell)
        except (TypeError, ValueError):
            break
    raise KeyError(cell)


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
        raise InputError(f"`path` was {str(path)!r} but is expected to end in one of "
                         f"{sorted(_DRIVERS)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    jur = jurisdictions_from_plan(plan)
    g = plan.graph
    cells = gpd.GeoDataFrame({"cell_id": g.cell_ids, "station_id": plan.labels.to_numpy(dtype=str)},
                             geometry=g.cells.geometry.values, crs=g.cells.crs)
    written = [path]
    if driver == "GPKG":
        with atomic_path(path) as tmp:
            pyogrio.write_dataframe(cells, tmp, layer="plan_cells", driver=driver)
            pyogrio.write_dataframe(jur, tmp, layer="jurisdictions", driver=driver, append=False)
    elif driver == "GeoJSON":
        with atomic_path(path) as tmp:
            pyogrio.write_dataframe(jur.to_crs("EPSG:4326"), tmp, driver=driver)
    else:  # a Shapefile is several files: written in place
        pyogrio.write_dataframe(jur, path, driver=driver)
    if driver != "GPKG":
        csv = path.with_name(f"{path.stem}_cells.csv")
        with atomic_path(csv) as tmp:
            spreadsheet_safe(pd.DataFrame(cells.drop(columns="geometry"))).to_csv(tmp, index=False)
        written.append(csv)
    return written
