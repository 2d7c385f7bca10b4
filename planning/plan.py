"""Jurisdiction plans: the district graph of cells and stations, and immutable plans with cached metrics.

A ``DistrictGraph`` is built once per study (cells, their adjacency, the station each district
must contain, the per-cell workload and the station-to-cell distances). A ``Plan`` is an
immutable cell -> station assignment over that graph; moving cells returns a new plan, and every
metric is computed on first use and cached (in the manner of gerrychain's ``Partition``).

Station ids are compared as strings everywhere in ``planning`` (``7`` and ``"7"`` are the same
station).
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterable, Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import check_same_crs, require_projected
from geo.errors import InputError, Problem, ValidationError, format_ids
from geo.ids import id_str, normalise_ids

__all__ = ["DistrictGraph", "Plan", "district_graph", "parse_weights", "adjacency_pairs",
           "articulation_points", "connected_within"]

log = logging.getLogger(__name__)

_SNAP_M = 1e-3  # coordinates closer than a millimetre are the same point when comparing edges


def parse_weights(text: str | Mapping[str, float] | Sequence[str]) -> dict[str, float]:
    """Parse a workload weighting ``"incidents=2,population"`` into {column: weight}.

    A column without ``=W`` has weight 1. Mappings are returned as a dict of floats. Raises
    InputError naming the bad item when a weight is not a non-negative number.
    """
    items: list[tuple[str, Any]]  # weights as given: numbers or text, read by float() below
    if isinstance(text, Mapping):
        items = [(str(k), v) for k, v in text.items()]
    else:
        parts = text.split(",") if isinstance(text, str) else list(text)
        items = []
        for part in parts:
            part = str(part).strip()
            if not part:
                continue
            col, eq, w = part.partition("=")
            items.append((col.strip(), w.strip() if eq else 1.0))
    out: dict[str, float] = {}
    for col, w in items:
        try:
            value = float(w)
        except (TypeError, ValueError):
            raise InputError(f"`weight` item {col}={w!r}: the weight is not a number; write "
                             "COL=W with W >= 0, e.g. incidents=2,population=1") from None
        if not (value >= 0) or not math.isfinite(value):
            raise InputError(f"`weight` item {col}={w!r}: the weight must be a number >= 0")
        out[col] = out.get(col, 0.0) + value
    if not out or sum(out.values()) <= 0:
        raise InputError(f"`weight` was {text!r} but names no column with a positive weight; "
                         "give e.g. incidents or incidents=2,population=1")
    return out


def adjacency_pairs(cells: gpd.GeoDataFrame | gpd.GeoSeries, *, kind: str = "rook",
                    tolerance_m: float = _SNAP_M) -> pd.DataFrame:
    """Pairs of neighbouring polygons and the length of boundary they share.

    Parameters
    ----------
    cells : polygons in a projected CRS (metres).
    kind : ``"rook"`` (neighbours share an edge longer than 1 cm) or ``"queen"`` (neighbours
        touch, a corner is enough).
    tolerance_m : polygons closer than this are treated as touching (floating-point slivers).

    Returns
    -------
    DataFrame with ``a`` < ``b`` (0-based positions) and ``shared_m`` (metres of common edge),
    one row per unordered pair, computed with one spatial-index query.
    """
    if kind not in ("rook", "queen"):
        raise InputError(f"adjacency was {kind!r} but is expected to be one of ['rook', 'queen']")
    geoms = np.asarray(cells.geometry.values if hasattr(cells, "geometry") else cells.values)
    tree = shapely.STRtree(geoms)
    ia, ib = tree.query(geoms, predicate="dwithin", distance=tolerance_m)
    keep = ia < ib
    ia, ib = ia[keep], ib[keep]
    if len(ia) == 0:
        return pd.DataFrame({"a": np.array([], int), "b": np.array([], int), "shared_m": []})
    union = shapely.union(geoms[ia], geoms[ib], grid_size=tolerance_m)
    perim = shapely.length(geoms)
    shared = np.maximum(0.0, (perim[ia] + perim[ib] - shapely.length(union)) / 2.0)
    if kind == "rook":
        ok = shared > 0.01
        ia, ib, shared = ia[ok], ib[ok], shared[ok]
    return pd.DataFrame({"a": ia.astype(np.int64), "b": ib.astype(np.int64), "shared_m": shared})


def articulation_points(nodes: Iterable[int], neighbours: Sequence[Sequence[int]],
                        member: np.ndarray | Sequence[int] | None = None, label: int | None = None) -> set[int]:
    """The articulation points (cut vertices) of the subgraph induced by ``nodes``.

    ``neighbours[i]`` lists the neighbours of node ``i`` in the whole graph; a neighbour counts
    only if it is in ``nodes`` (or, faster, when ``member[j] == label``). Iterative Tarjan,
    O(nodes + edges). The induced subgraph is assumed connected; in a disconnected one the
    points are those of each component.
    """
    nodes = list(nodes)
    if member is None:
        inside = set(nodes)
        def ok(j: int) -> bool:
            return j in inside
    else:
        def ok(j: int) -> bool:
            return member[j] == label
    disc: dict[int, int] = {}
    low: dict[int, int] = {}
    points: set[int] = set()
    counter = 0
    for root in nodes:
        if root in disc:
            continue
        disc[root] = low[root] = counter
        counter += 1
        root_children = 0
        stack = [(root, -1, iter(neighbours[root]))]
        while stack:
            v, parent, it = stack[-1]
            advanced = False
            for w in it:
                if not ok(w):
                    continue
                if w not in disc:
                    disc[w] = low[w] = counter
                    counter += 1
                    stack.append((w, v, iter(neighbours[w])))
                    advanced = True
                    break
                if w != parent and disc[w] < low[v]:
                    low[v] = disc[w]
            if advanced:
                continue
            stack.pop()
            if parent >= 0:
                if low[v] < low[parent]:
                    low[parent] = low[v]
                if parent == root:
                    root_children += 1
                elif low[v] >= disc[parent]:
                    points.add(parent)
        if root_children > 1:
            points.add(root)
    return points


def connected_within(nodes: Iterable[int], neighbours: Sequence[Sequence[int]], *,
                     start: int | None = None) -> list[set[int]]:
    """The connected components (sets of node positions) of the subgraph induced by ``nodes``.

    The component holding ``start`` (if given and present) comes first; the rest follow by
    decreasing size.
    """
    todo = set(nodes)
    comps: list[set[int]] = []
    order = ([start] if start is not None and start in todo else []) + sorted(todo)
    for seed in order:
        if seed not in todo:
            continue
        comp = {seed}
        todo.discard(seed)
        stack = [seed]
        while stack:
            v = stack.pop()
            for w in neighbours[v]:
                if w in todo:
                    todo.discard(w)
                    comp.add(w)
                    stack.append(w)
        comps.append(comp)
    if len(comps) > 1:
        comps = comps[:1] + sorted(comps[1:], key=len, reverse=True)
    return comps


@dataclass(frozen=True, eq=False)
class DistrictGraph:
    """The fixed context every plan of one study shares. Build it with ``district_graph``.

    Attributes
    ----------
    cells : the cell polygons (projected CRS, metres), in graph order; treat as read-only.
    cell_ids : the ``cell_id`` of each position.
    station_ids : station ids (strings), in graph order (position = district index).
    station_cell : position of the cell holding each station's point.
    stations : the station points (one row per station, in graph order).
    workload : per-cell workload, the weighted sum of column shares (see ``district_graph``).
    weights : {column: weight} that made ``workload``.
    cost : (n_cells, n_stations) straight-line metres from station to cell centroid, or the
        travel minutes given to ``district_graph``.
    cost_unit : ``"m"`` or ``"min"``.
    neighbours : per cell, the positions of its neighbours (tuples).
    pairs : adjacency table (``a``, ``b``, ``shared_m``).
    area_m2, perimeter_m : per cell.
    township : per cell township id (strings) or None when the cells carry none.
    """

    cells: gpd.GeoDataFrame
    cell_ids: np.ndarray
    station_ids: tuple[str, ...]
    station_cell: np.ndarray
    stations: gpd.GeoDataFrame
    workload: np.ndarray
    weights: Mapping[str, float]
    cost: np.ndarray
    cost_unit: str
    neighbours: tuple[tuple[int, ...], ...]
    pairs: pd.DataFrame
    area_m2: np.ndarray
    perimeter_m: np.ndarray
    township: np.ndarray | None = None
    adjacency: str = "rook"
    _index: dict = field(default_factory=dict, repr=False)

    @property
    def n_cells(self) -> int:
        return len(self.cell_ids)

    @property
    def n_stations(self) -> int:
        return len(self.station_ids)

    @cached_property
    def mean_workload(self) -> float:
        """Total workload / number of stations: the share every district aims at."""
        return float(self.workload.sum()) / self.n_stations

    def positions(self, cell_ids: Iterable[object]) -> np.ndarray:
        """Positions of ``cell_ids``; raises InputError listing ids that are not cells."""
        index = self._index
        if not index:
            index.update({id_str(c): i for i, c in enumerate(self.cell_ids)})
        ids = list(cell_ids)
        missing = [c for c in ids if id_str(c) not in index]
        if missing:
            try:
                known = f"ids run {self.cell_ids.min()}..{self.cell_ids.max()}"
            except TypeError:  # ids of mixed types have no order
                known = f"ids such as {format_ids(self.cell_ids[:5], limit=5)}"
            raise InputError(f"cell ids {format_ids(missing)} are not cells of this plan "
                             f"({self.n_cells} cells, {known}); give ids of its cells")
        return np.array([index[id_str(c)] for c in ids], dtype=np.int64)

    def station_index(self, station_id: object) -> int:
        """Position of ``station_id``; raises InputError listing the known stations."""
        key = id_str(station_id)
        try:
            return self.station_ids.index(key)
        except ValueError:
            raise InputError(f"station {station_id!r} is not a station of this plan; choose "
                             f"one of {format_ids(self.station_ids, limit=40)}") from None

    def column(self, name: str) -> np.ndarray:
        """A numeric cell column as floats (0 where missing or not numeric)."""
        if name == "area":
            return self.area_m2.copy()
        if name not in self.cells.columns:
            return np.zeros(self.n_cells)
        return pd.to_numeric(self.cells[name], errors="coerce").fillna(0.0).to_numpy(dtype=float)


def district_graph(cells: gpd.GeoDataFrame, stations: gpd.GeoDataFrame, *,
                   weights: str | Mapping[str, float] = "incidents", adjacency: str = "rook",
                   road_pairs: Sequence[tuple[object, object]] | None = None,
                   barrier_pairs: pd.DataFrame | None = None,
                   travel_minutes: np.ndarray | pd.DataFrame | None = None,
                   cell_id: str = "cell_id", station_id: str = "station_id",
                   township_id: str | None = "township_id") -> DistrictGraph:
    """Build the district graph: cell adjacency, station cells, workload and costs, once.

    Parameters
    ----------
    cells : cell polygons in a projected CRS (metres) with ``cell_id`` and the weight columns.
    stations : station points in the same CRS with ``station_id``; each must lie in a cell.
    weights : {column: weight} or ``"incidents=2,population"``. Each column is first turned
        into shares of its total (so columns with different units can be mixed), then the
        shares are weighted and summed: a cell's workload is sum_k W_k * col_k / total_k.
        ``area`` may be named without a column (cell areas).
    adjacency : ``"rook"`` (shared edge) or ``"queen"`` (shared corner is enough).
    road_pairs : optional (cell_id, cell_id) pairs joined by a road; when given, contiguity is
        on these pairs only (a river without a bridge then separates).
    barrier_pairs : optional adjacency table (``a`` < ``b`` cell positions, ``shared_m``) that
        replaces the geometric adjacency, e.g. ``geo.barriers.barrier_pairs`` (touching pairs
        not cut by a river, railway or motorway, plus crossings and island links).
    travel_minutes : optional (n_cells, n_stations) travel times in minutes, rows in cell
        order and columns in station order (a DataFrame is aligned by cell_id index and
        station_id columns); replaces straight-line metres as the cost.
    township_id : the cells' township column, if any (None to ignore).

    Raises
    ------
    ValidationError
        Listing every problem at once: unknown or empty weight columns, negative values,
        stations outside every cell, two stations in one cell, duplicate cell ids.
    """
    require_projected(cells.crs, what="the cells' CRS")
    check_same_crs(cells, stations, what="the cells and the stations")
    problems: list[Problem] = []
    w = parse_weights(weights)
    cols = [c for c in cells.columns if c != cells.geometry.name]
    if cell_id not in cells.columns:
        problems.append(Problem("cells", "cells", "missing_column", f"no {cell_id!r} column",
                                f"choose among {cols}"))
    elif normalise_ids(cells[cell_id]).duplicated().any():
        dup = cells.loc[normalise_ids(cells[cell_id]).duplicated(), cell_id].tolist()
        problems.append(Problem("cells", "cells", "duplicate_ids", "duplicate cell ids",
                                "give every cell a unique id", tuple(dup)))
    if station_id not in stations.columns:
        problems.append(Problem("stations", "stations", "missing_column",
                                f"no {station_id!r} column",
                                f"choose among {[c for c in stations.columns if c != stations.geometry.name]}"))
    areas = shapely.area(np.asarray(cells.geometry.values))
    total_by_col: dict[str, np.ndarray] = {}
    for col, weight in w.items():
        if col == "area" and col not in cells.columns:
            values = areas.astype(float)
        elif col not in cells.columns:
            problems.append(Problem("cells", "cells", "unknown_weight_column",
                                    f"weight column {col!r} is not a cell column",
                                    f"choose among {cols} or area"))
            continue
        else:
            raw = pd.to_numeric(cells[col], errors="coerce")
            if raw.isna().all() or float(raw.fillna(0).abs().sum()) == 0.0:
                problems.append(Problem("cells", "cells", "empty_weight_column",
                                        f"weight column {col!r} is empty (all zero or missing)",
                                        "fill it (e.g. rebuild the workspace with population polygons, "
                                        "`attributes`) or weight another column"))
                continue
            if (raw < 0).any():
                problems.append(Problem("cells", "cells", "negative_weight",
                                        f"weight column {col!r} has negative values",
                                        "workload columns must be counts or amounts >= 0",
                                        tuple(cells.loc[raw < 0, cell_id].tolist()[:50])
                                        if cell_id in cells.columns else ()))
                continue
            values = raw.fillna(0.0).to_numpy(dtype=float)
        total_by_col[col] = values
    if problems:
        raise ValidationError(problems)

    # Stations: the cell holding each point.
    sid = normalise_ids(stations[station_id]).tolist()
    dup = sorted({s for s in sid if sid.count(s) > 1})
    if dup:
        problems.append(Problem("stations", "stations", "duplicate_ids",
                                "several station points share an id", "give each station one "
                                "point and a unique id", tuple(dup)))
    geoms = np.asarray(cells.geometry.values)
    tree = shapely.STRtree(geoms)
    pts = np.asarray(stations.geometry.values)
    ipt, icell = tree.query(pts, predicate="intersects")
    station_cell = np.full(len(pts), -1, dtype=np.int64)
    for p, c in zip(ipt, icell):
        if station_cell[p] < 0:
            station_cell[p] = c
    outside = [sid[i] for i in np.flatnonzero(station_cell < 0)]
    if outside:
        problems.append(Problem("stations", "stations", "station_outside_cells",
                                "stations lie outside every cell", "move the station points "
                                "into the study area or extend the area", tuple(outside)))
    used: dict[int, list[str]] = {}
    for i, c in enumerate(station_cell):
        if c >= 0:
            used.setdefault(int(c), []).append(sid[i])
    shared = [f"{'+'.join(v)} in cell {cells[cell_id].iloc[c]}" for c, v in used.items() if len(v) > 1]
    if shared:
        problems.append(Problem("stations", "stations", "stations_share_cell",
                                "several stations fall in one cell, which can belong to one "
                                "district only: " + "; ".join(shared),
                                "use smaller cells or merge the stations"))
    if problems:
        raise ValidationError(problems)

    workload = np.zeros(len(cells))
    for col, values in total_by_col.items():
        workload += w[col] * values / values.sum()

    if barrier_pairs is not None:
        pairs_df = barrier_pairs[["a", "b", "shared_m"]].astype(
            {"a": np.int64, "b": np.int64, "shared_m": float}).reset_index(drop=True)
    else:
        pairs_df = adjacency_pairs(cells, kind=adjacency)
    if road_pairs is not None:
        index = {id_str(c): i for i, c in enumerate(cells[cell_id].tolist())}
        rows = [(index[id_str(a)], index[id_str(b)]) for a, b in road_pairs
                if id_str(a) in index and id_str(b) in index and id_str(a) != id_str(b)]
        rp = pd.DataFrame(rows, columns=["a", "b"]) if rows else pd.DataFrame({"a": [], "b": []})
        lo, hi = np.minimum(rp["a"], rp["b"]), np.maximum(rp["a"], rp["b"])
        rp = pd.DataFrame({"a": lo.astype(np.int64), "b": hi.astype(np.int64)}).drop_duplicates()
        pairs_df = rp.merge(pairs_df, on=["a", "b"], how="left").fillna({"shared_m": 0.0})
    nbrs: list[list[int]] = [[] for _ in range(len(cells))]
    for a, b in zip(pairs_df["a"].to_numpy(), pairs_df["b"].to_numpy()):
        nbrs[a].append(int(b))
        nbrs[b].append(int(a))

    if travel_minutes is not None:
        if isinstance(travel_minutes, pd.DataFrame):
            tm = travel_minutes.copy()
            tm.columns = [str(c) for c in tm.columns]
            cost = tm.reindex(index=cells[cell_id].tolist(), columns=sid).to_numpy(dtype=float)
        else:
            cost = np.asarray(travel_minutes, dtype=float)
        if cost.shape != (len(cells), len(sid)) or np.isnan(cost).any():
            raise InputError(f"travel_minutes has shape {cost.shape} or gaps but must give a "
                             f"time for every (cell, station): ({len(cells)}, {len(sid)})")
        unit = "min"
    else:
        cen = shapely.centroid(geoms)
        cx, cy = shapely.get_x(cen), shapely.get_y(cen)
        sx, sy = shapely.get_x(pts), shapely.get_y(pts)
        cost = np.hypot(cx[:, None] - sx[None, :], cy[:, None] - sy[None, :])
        unit = "m"
    township = None
    if township_id and township_id in cells.columns:
        township = cells[township_id].astype(object).where(cells[township_id].notna(), None)
        township = np.array([None if t is None else str(t) for t in township], dtype=object)
    cell_ids = cells[cell_id].to_numpy()
    return DistrictGraph(
        cells=cells, cell_ids=cell_ids, station_ids=tuple(sid), station_cell=station_cell,
        stations=stations, workload=workload, weights=w, cost=cost, cost_unit=unit,
        neighbours=tuple(tuple(n) for n in nbrs), pairs=pairs_df, area_m2=areas,
        perimeter_m=shapely.length(geoms), township=township, adjacency=adjacency)


class Plan:
    """An immutable assignment of every cell of a ``DistrictGraph`` to one station.

    Build one with ``Plan(graph, assignment)`` (station positions per cell), ``Plan.from_labels``
    (station ids per cell) or the optimizers. ``moved`` returns a new plan. Metrics are
    properties computed on first use and cached; the per-station ones are Series indexed by
    station id.
    """

    def __init__(self, graph: DistrictGraph, assignment: Sequence[int] | np.ndarray, *,
                 name: str | None = None):
        arr = np.array(assignment, dtype=np.int64, copy=True)
        if arr.shape != (graph.n_cells,):
            raise InputError(f"assignment has {arr.size} entries but the graph has "
                             f"{graph.n_cells} cells")
        if len(arr) and (arr.min() < 0 or arr.max() >= graph.n_stations):
            bad = graph.cell_ids[(arr < 0) | (arr >= graph.n_stations)]
            raise InputError(f"cells {format_ids(bad)} have no station; every cell needs one "
                             "(use Plan.from_labels(..., fill=True) to give them a neighbour's)")
        arr.flags.writeable = False
        self.graph = graph
        self.assignment = arr
        self.name = name

    # --- construction -------------------------------------------------------------------------
    @classmethod
    def from_labels(cls, graph: DistrictGraph, labels: Sequence[object] | pd.Series, *,
                    fill: bool = True, force_station_cells: bool = True,
                    name: str | None = None) -> "Plan":
        """A plan from a station id per cell (a Series is aligned on cell ids when its index
        holds them, else taken in graph order).

        With ``fill``, cells whose label is missing or not a station (e.g. Chicago's airport
        district, which has no station) join the adjacent district they share most edge with,
        spreading outwards; the filled cell ids are logged as a warning. With
        ``force_station_cells`` each station's own cell is given to its station.
        """
        if isinstance(labels, pd.Series) and set(map(id_str, labels.index)) >= set(map(id_str, graph.cell_ids)):
            labels = labels.rename(index=id_str).reindex([id_str(c) for c in graph.cell_ids])
        values = list(labels)
        if len(values) != graph.n_cells:
            raise InputError(f"labels has {len(values)} entries but the graph has {graph.n_cells} cells")
        lookup: dict[str | None, int] = {s: i for i, s in enumerate(graph.station_ids)}
        arr = np.array([lookup.get(id_str(v), -1) for v in values], dtype=np.int64)
        if force_station_cells:
            arr[graph.station_cell] = np.arange(graph.n_stations)
        missing = np.flatnonzero(arr < 0)
        if len(missing):
            if not fill:
                raise InputError(f"cells {format_ids(graph.cell_ids[missing])} have no station")
            arr = _fill_unassigned(graph, arr)
            log.warning("%d cells had no station and joined a neighbouring district: %s",
                        len(missing), format_ids(graph.cell_ids[missing]))
        return cls(graph, arr, name=name)

    def moved(self, cells: Iterable[object], station_id: object, *,
              name: str | None = None) -> "Plan":
        """A new plan with ``cells`` (cell ids) given to ``station_id``; this plan is untouched."""
        pos = self.graph.positions(cells)
        s = self.graph.station_index(station_id)
        arr = self.assignment.copy()
        arr[pos] = s
        return Plan(self.graph, arr, name=name)

    def with_assignment(self, assignment: np.ndarray, *, name: str | None = None) -> "Plan":
        """A new plan over the same graph with another assignment (station positions)."""
        return Plan(self.graph, assignment, name=name)

    # --- labels -------------------------------------------------------------------------------
    @cached_property
    def labels(self) -> pd.Series:
        """Station id per cell, indexed by cell id."""
        ids = np.asarray(self.graph.station_ids, dtype=object)
        return pd.Series(ids[self.assignment], index=pd.Index(self.graph.cell_ids, name="cell_id"),
                         name="station_id")

    def station_of(self, cell_id: object) -> str:
        """The station a cell belongs to."""
        return self.graph.station_ids[self.assignment[self.graph.positions([cell_id])[0]]]

    def cells_of(self, station_id: object) -> np.ndarray:
        """Cell ids of one station's district."""
        s = self.graph.station_index(station_id)
        return self.graph.cell_ids[self.assignment == s]

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Plan) and other.graph is self.graph
                and np.array_equal(other.assignment, self.assignment))

    def __hash__(self) -> int:
        return hash(self.assignment.tobytes())

    def __repr__(self) -> str:
        return (f"Plan({self.name or 'unnamed'}: {self.graph.n_cells} cells, "
                f"{self.graph.n_stations} stations, max deviation {self.max_deviation:.1%})")

    # --- metrics ------------------------------------------------------------------------------
    def _per_station(self, values: np.ndarray) -> pd.Series:
        sums = np.bincount(self.assignment, weights=values, minlength=self.graph.n_stations)
        return pd.Series(sums, index=pd.Index(self.graph.station_ids, name="station_id"))

    @cached_property
    def workload(self) -> pd.Series:
        """Workload per station (shares of the weighted columns; sums to the total weight)."""
        return self._per_station(self.graph.workload)

    def totals(self, column: str) -> pd.Series:
        """Sum of a cell column (``population``, ``incidents``, ``area`` in m²) per station."""
        return self._per_station(self.graph.column(column))

    @cached_property
    def deviation(self) -> pd.Series:
        """Workload / mean workload - 1 per station (0.05 = 5 % above the mean)."""
        return self.workload / self.graph.mean_workload - 1.0

    @cached_property
    def max_deviation(self) -> float:
        """Largest absolute deviation from the mean workload (fraction)."""
        return float(self.deviation.abs().max())

    @cached_property
    def deviation_spread(self) -> float:
        """Largest minus smallest deviation (fraction of the mean)."""
        return float(self.deviation.max() - self.deviation.min())

    @cached_property
    def components(self) -> dict[str, int]:
        """Number of connected pieces of each district (1 = contiguous, 0 = empty)."""
        g = self.graph
        out = {}
        for s, sid in enumerate(g.station_ids):
            nodes = np.flatnonzero(self.assignment == s).tolist()
            out[sid] = len(connected_within(nodes, g.neighbours)) if nodes else 0
        return out

    @cached_property
    def contiguous_by_station(self) -> pd.Series:
        """True per station whose district is one connected piece."""
        return pd.Series({k: v == 1 for k, v in self.components.items()}, dtype=bool)

    @cached_property
    def contiguous(self) -> bool:
        """True when every district is one connected piece on the cell adjacency."""
        return bool(self.contiguous_by_station.all())

    @cached_property
    def contains_station(self) -> bool:
        """True when every station's cell belongs to its own district."""
        g = self.graph
        return bool(np.array_equal(self.assignment[g.station_cell], np.arange(g.n_stations)))

    @cached_property
    def polsby_popper(self) -> pd.Series:
        """4πA/P² of each dissolved district (1 = a disc; a square is 0.785).

        The perimeter is the cells' perimeters less twice the edges shared inside the district,
        which equals the perimeter of the dissolved polygon for a gap-free tiling.
        """
        g = self.graph
        area = self._per_station(g.area_m2).to_numpy()
        perim = self._per_station(g.perimeter_m).to_numpy()
        a, b = g.pairs["a"].to_numpy(), g.pairs["b"].to_numpy()
        same = self.assignment[a] == self.assignment[b]
        inner = np.bincount(self.assignment[a][same], weights=g.pairs["shared_m"].to_numpy()[same],
                            minlength=g.n_stations)
        perim = perim - 2.0 * inner
        with np.errstate(divide="ignore", invalid="ignore"):
            pp = np.where(perim > 0, 4.0 * math.pi * area / perim ** 2, 0.0)
        return pd.Series(pp, index=pd.Index(g.station_ids, name="station_id"))

    @cached_property
    def _own_cost(self) -> np.ndarray:
        return self.graph.cost[np.arange(self.graph.n_cells), self.assignment]

    @cached_property
    def mean_cost(self) -> pd.Series:
        """Workload-weighted mean distance (m) or travel time (min) from the station, per station."""
        g = self.graph
        num = self._per_station(g.workload * self._own_cost)
        den = self.workload.replace(0.0, np.nan)
        return (num / den).fillna(0.0)

    @cached_property
    def max_cost(self) -> pd.Series:
        """Largest distance (m) or travel time (min) from the station to a cell centroid, per station."""
        out = np.zeros(self.graph.n_stations)
        np.maximum.at(out, self.assignment, self._own_cost)
        return pd.Series(out, index=pd.Index(self.graph.station_ids, name="station_id"))

    @cached_property
    def township_split_ids(self) -> list[str]:
        """Townships whose cells belong to more than one district."""
        g = self.graph
        if g.township is None:
            return []
        df = pd.DataFrame({"t": g.township, "s": self.assignment}).dropna()
        n = df.groupby("t")["s"].nunique()
        return sorted(n.index[n > 1].tolist())

    @cached_property
    def township_splits(self) -> int:
        """Number of townships split between districts."""
        return len(self.township_split_ids)

    def changed_cells(self, baseline: "Plan") -> np.ndarray:
        """Cell ids whose station differs from ``baseline`` (same graph)."""
        if baseline.graph is not self.graph:
            raise InputError("the two plans are on different district graphs; compare plans "
                             "built from the same cells and stations")
        return self.graph.cell_ids[self.assignment != baseline.assignment]

    def cells_changed(self, baseline: "Plan") -> int:
        """Number of cells whose station differs from ``baseline``."""
        return int(len(self.changed_cells(baseline)))

    def moved_total(self, baseline: "Plan", column: str) -> float:
        """Sum of a cell column (``population``, ``incidents``…) over cells changed vs ``baseline``."""
        changed = self.assignment != baseline.assignment
        return float(self.graph.column(column)[changed].sum())

    def table(self, *, columns: Sequence[str] = ("population", "incidents")) -> pd.DataFrame:
        """One row per station: cells, workload, deviation, sums of ``columns``, area_km2,
        Polsby-Popper, mean and max cost, contiguity."""
        g = self.graph
        unit = g.cost_unit
        df = pd.DataFrame({
            "cells": self._per_station(np.ones(g.n_cells)).astype(int),
            "workload": self.workload,
            "deviation": self.deviation,
        })
        for col in columns:
            if col in g.cells.columns:
                df[col] = self.totals(col)
        df["area_km2"] = self._per_station(g.area_m2) / 1e6
        df["polsby_popper"] = self.polsby_popper
        df[f"mean_{'distance_m' if unit == 'm' else 'minutes'}"] = self.mean_cost
        df[f"max_{'distance_m' if unit == 'm' else 'minutes'}"] = self.max_cost
        df["contiguous"] = self.contiguous_by_station
        return df

    def summary(self, baseline: "Plan | None" = None) -> dict:
        """The plan-level figures as plain numbers (JSON-ready)."""
        out = {
            "districts": self.graph.n_stations,
            "contiguous": self.contiguous,
            "contains_station": self.contains_station,
            "max_workload_deviation": round(self.max_deviation, 6),
            "deviation_spread": round(self.deviation_spread, 6),
            "township_splits": self.township_splits,
            "mean_polsby_popper": round(float(self.polsby_popper.mean()), 4),
            f"max_{'distance_m' if self.graph.cost_unit == 'm' else 'minutes'}":
                round(float(self.max_cost.max()), 2),
        }
        if baseline is not None:
            out["cells_changed"] = self.cells_changed(baseline)
            if "population" in self.graph.cells.columns:
                out["population_changed"] = round(self.moved_total(baseline, "population"), 1)
        return out


def _fill_unassigned(graph: DistrictGraph, arr: np.ndarray) -> np.ndarray:
    """Give each unassigned cell (-1) the district it shares most edge with, spreading outwards.

    Cells in a part of the graph no district reaches take the nearest station.
    """
    arr = arr.copy()
    shared: dict[tuple[int, int], float] = {}
    for a, b, m in zip(graph.pairs["a"], graph.pairs["b"], graph.pairs["shared_m"]):
        shared[(a, b)] = shared[(b, a)] = float(m)
    while True:
        todo = np.flatnonzero(arr < 0)
        if not len(todo):
            break
        new = {}
        for c in todo:
            score: dict[int, float] = {}
            for n in graph.neighbours[c]:
                if arr[n] >= 0:
                    s_n = int(arr[n])
                    score[s_n] = score.get(s_n, 0.0) + shared.get((int(c), int(n)), 0.0) + 1e-9
            if score:
                new[c] = max(score, key=lambda s: (score[s], -s))
        if not new:
            for c in todo:
                arr[c] = int(np.argmin(graph.cost[c]))
            break
        for c, s in new.items():
            arr[c] = s
    return arr
