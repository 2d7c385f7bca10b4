"""Patrol routes on the road network: snapping, the travel matrix, legs drawn along shortest paths."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.sparse.csgraph import dijkstra

from geo.errors import InputError, format_ids
from geo.hotspots import Shift, shift_from_text
from geo.ids import id_str, normalise_ids
from planning.patrol.problem import PatrolInfeasible, PatrolPlan, PatrolProblem
from planning.patrol.search import solve_heuristic

log = logging.getLogger(__name__)


def leg_paths(engine, pairs: Sequence[tuple[object, object]]) -> list[list[object]]:
    """Node sequence of the shortest path for each (from node, to node) pair, on the engine's
    matrix (one Dijkstra with predecessors per distinct origin). Uses ``geo.traveltime``'s CSR."""
    if not pairs:
        return []
    origins = sorted({a for a, _ in pairs}, key=str)
    rows = engine.rows(origins, what="route nodes")
    _, pred = dijkstra(engine.matrix, directed=True, indices=rows, return_predecessors=True)
    pred = np.atleast_2d(pred)
    where = {o: i for i, o in enumerate(origins)}
    out = []
    for a, b in pairs:
        if a == b:
            out.append([a])
            continue
        pr = pred[where[a]]
        j = engine.index[b]
        seq = [j]
        while seq[-1] != engine.index[a]:
            nxt = pr[seq[-1]]
            if nxt < 0:
                raise PatrolInfeasible(f"node {b} cannot be reached from node {a} on the network")
            seq.append(nxt)
        out.append([engine.nodes[i] for i in seq[::-1]])
    return out


def _path_line(G: nx.MultiDiGraph, path: list[object], weight: str) -> list[tuple[float, float]]:
    coords: list[tuple[float, float]] = []
    if len(path) == 1:
        n = path[0]
        return [(G.nodes[n]["x"], G.nodes[n]["y"])] * 2
    for u, v in zip(path[:-1], path[1:]):
        data = G.get_edge_data(u, v)
        d = min(data.values(), key=lambda e: e.get(weight, np.inf))
        geom = d.get("geometry")
        pts = list(geom.coords) if geom is not None else [(G.nodes[u]["x"], G.nodes[u]["y"]),
                                                          (G.nodes[v]["x"], G.nodes[v]["y"])]
        coords.extend(pts if not coords else pts[1:])
    return coords


@dataclass(frozen=True, eq=False)
class PatrolRoutes:
    """A plan placed on the network.

    Attributes
    ----------
    plan : the solved ``PatrolPlan``.
    lines : one row per unit: ``unit`` (1-based), ``minutes`` (used), ``idle_min``, ``risk``,
        ``stops`` (count), ``length_m`` and the route LineString (graph CRS).
    stops : one row per served visit: ``unit``, ``order`` (1-based), ``hotspot`` (id),
        ``arrive`` / ``depart`` (clock HH:MM), ``arrive_min`` (from shift start), ``risk``,
        ``node`` and the hotspot's point.
    legs : per unit, the node path of each leg (start -> stop 1 -> … -> end).
    shift : the shift; ``reference_risk`` the deterministic plan's risk when the plan is
        randomised (its loss is ``risk_loss_share``).
    """

    plan: PatrolPlan
    lines: gpd.GeoDataFrame
    stops: gpd.GeoDataFrame
    legs: tuple
    shift: Shift | None = None
    reference_risk: float | None = None
    notes: tuple[str, ...] = ()

    @property
    def risk_loss_share(self) -> float | None:
        if self.reference_risk is None or self.reference_risk <= 0:
            return None
        return max(0.0, 1.0 - self.plan.risk_covered / self.reference_risk)

    def timetable(self) -> pd.DataFrame:
        """The timetable: one row per stop, with the departure from and return to the start."""
        return pd.DataFrame(self.stops.drop(columns=self.stops.geometry.name))

    def summary(self) -> dict:
        """The JSON of ``gridpatrol patrol``: routes [{unit, minutes, stops, risk}], shares."""
        return {
            "routes": [{"unit": int(r.unit), "minutes": round(float(r.minutes), 1),
                        "stops": [str(h) for h in self.stops.loc[self.stops["unit"] == r.unit, "hotspot"]],
                        "risk": round(float(r.risk), 3), "idle_min": round(float(r.idle_min), 1)}
                       for r in self.lines.itertuples()],
            "risk_covered": round(self.plan.risk_covered, 3),
            "risk_covered_share": round(self.plan.risk_covered_share, 4),
            "shift_minutes": float(self.plan.problem.budget_min.max()),
            "risk_loss_vs_best": None if self.risk_loss_share is None else round(self.risk_loss_share, 4),
        }


def _clock(shift: Shift | None, minutes: float) -> str:
    base = shift.start_min if shift is not None else 0
    m = int(round(base + minutes)) % 1440
    return f"{m // 60:02d}:{m % 60:02d}"


def plan_routes(G: nx.MultiDiGraph, hotspots: gpd.GeoDataFrame, start: object, *, units: int = 2,
                shift: Shift | str | float = 480.0, dwell_min: float = 10.0,
                speeds_kmh: Sequence[float | None] | None = None, risk_col: str = "risk",
                id_col: str | None = None, end: object | None = None,
                required: Sequence[object] = (), revisit_min: dict | None = None,
                rng: np.random.Generator | None = None, variety: float = 0.0,
                compare_with_best: bool = True, time_limit_s: float = 10.0,
                iterations: int = 300, max_snap_m: float = 1000.0, engine=None,
                length_engine=None) -> PatrolRoutes:
    """Patrol routes for one station and one shift on the road network.

    Parameters
    ----------
    G : road graph from ``geo.network`` (projected CRS, ``travel_s`` on edges).
    hotspots : points or polygons (their centroids are used) in any CRS, with ``risk_col``.
    start : where units start: a node id of ``G`` or a shapely Point in the graph's CRS (a
        point farther than ``max_snap_m`` metres from every node is an error).
    units : number of patrol units (>= 1).
    shift : ``"HH:MM-HH:MM"``, a ``Shift``, or its length in minutes.
    dwell_min : minutes spent at each hotspot.
    speeds_kmh : per unit, ``None`` (drive at the network's road speeds) or a speed in km/h
        over shortest distances (foot patrol: 5, bicycle: 15). Default: all drive.
    id_col : hotspot id column (default: the index).
    end : where units end (default: ``start``).
    required : hotspot ids that must be visited; ``revisit_min`` {hotspot id: minutes}.
    rng, variety : randomisation (see ``solve_heuristic``); with ``variety > 0`` and
        ``compare_with_best`` the deterministic plan is solved too and the loss reported.
    engine, length_engine : prebuilt ``geo.traveltime`` engines of ``G`` (time and metres) to
        reuse across calls.

    Raises
    ------
    InputError for bad arguments (zero units, a start not on the network…), PatrolInfeasible
    when arithmetic shows that no plan exists (a shift shorter than any round trip).
    """
    from geo.network import snap_points
    from geo.traveltime import engine_from_graph, minutes_matrix

    if not isinstance(units, (int, np.integer)) or units < 1:
        raise InputError(f"`units` was {units!r}; give at least one patrol unit (a whole number >= 1)")
    if isinstance(shift, str):
        shift = shift_from_text(shift)
    shift_len = float(shift.minutes if isinstance(shift, Shift) else shift)
    if not shift_len > 0:
        raise InputError(f"the shift was {shift!r}; give a shift longer than 0 minutes")
    if risk_col not in hotspots.columns:
        raise InputError(f"the hotspots have no {risk_col!r} column; columns are "
                         f"{[c for c in hotspots.columns if c != 'geometry']}")
    if len(hotspots) == 0:
        raise PatrolInfeasible("there are no hotspots to visit in this shift; choose another shift "
                               "or check the incidents layer")
    speeds = list(speeds_kmh) if speeds_kmh is not None else [None] * units
    if len(speeds) != units:
        raise InputError(f"speeds_kmh has {len(speeds)} values for {units} units; give one per unit")
    for s in speeds:
        if s is not None and not s > 0:
            raise InputError(f"unit speed was {s!r}; give km/h > 0 (foot patrol 5) or None to drive")

    def node_of(where: object, what: str) -> object:
        if isinstance(where, shapely.Point):
            snapped = snap_points(gpd.GeoDataFrame(geometry=[where], crs=G.graph["crs"]), G,
                                  warn_m=max_snap_m, what=what)
            d = float(snapped["distance_m"].iloc[0])
            if d > max_snap_m:
                raise InputError(f"the {what} lies {d:.0f} m from the nearest road node, farther "
                                 f"than {max_snap_m:.0f} m; it is not on the network: move it onto a "
                                 "road or give a network that reaches it")
            return snapped["node"].iloc[0]
        node = id_str(where)
        if node not in G:
            raise InputError(f"the {what} node {where!r} is not on the network (or not in its "
                             "largest strongly connected component); give a node id of the network "
                             "or a point on it")
        return node

    start_node = node_of(start, "station")
    end_node = start_node if end is None else node_of(end, "end point")
    snapped, ids, keep, notes = snapped_sites(hotspots, G, id_col=id_col, max_snap_m=max_snap_m,
                                              what="hotspots")
    hs = hotspots.loc[keep]
    hs_ids = ids[keep]
    hs_nodes = snapped["node"].to_numpy()[keep]
    risk = pd.to_numeric(hs[risk_col], errors="coerce").fillna(0.0).to_numpy()
    sites = list(dict.fromkeys([*hs_nodes, start_node, end_node]))
    site_of = {n: i for i, n in enumerate(sites)}
    engine = engine if engine is not None else engine_from_graph(G)
    modes = sorted({s for s in speeds if s is not None})
    mats = [minutes_matrix(engine, sites, sites)]
    if modes:
        length_engine = length_engine if length_engine is not None else engine_from_graph(G, weight="length_m")
        metres = minutes_matrix(length_engine, sites, sites) * 60.0
        mats += [metres / (s * 1000.0 / 60.0) for s in modes]
    unit_mode = [0 if s is None else 1 + modes.index(s) for s in speeds]
    req_ids = {id_str(r) for r in required}
    unknown = req_ids - set(hs_ids)
    if unknown:
        raise InputError(f"required hotspots {format_ids(sorted(unknown, key=str))} are not among the "
                         "hotspots; give ids from the hotspot layer")
    rev = np.full(len(hs_ids), np.nan)
    for hid, r in (revisit_min or {}).items():
        match = np.flatnonzero(hs_ids == id_str(hid))
        if not len(match):
            raise InputError(f"revisit_min names hotspot {hid!r}, which is not among the hotspots")
        rev[match] = float(r)
    problem = PatrolProblem.from_matrix(
        np.stack(mats), risk, starts=[site_of[start_node]] * units, ends=[site_of[end_node]] * units,
        budget_min=shift_len, dwell_min=dwell_min, unit_mode=unit_mode,
        required=[h in req_ids for h in hs_ids], revisit_min=rev,
        hotspot_site=[site_of[n] for n in hs_nodes])
    reasons = problem.explain_infeasible()
    if reasons:
        raise PatrolInfeasible("no patrol plan is possible: " + "; ".join(reasons))
    plan = solve_heuristic(problem, rng=rng, variety=variety, time_limit_s=time_limit_s,
                           iterations=iterations)
    reference = None
    if variety > 0 and compare_with_best:
        reference = solve_heuristic(problem, rng=np.random.default_rng(0), variety=0.0,
                                    time_limit_s=time_limit_s, iterations=iterations).risk_covered
        reference = max(reference, plan.risk_covered)
    if plan.missing_required:
        notes.append("required hotspots not served: "
                     f"{format_ids(hs_ids[problem.visit_hotspot[plan.missing_required]])}")
        log.warning(notes[-1])
    return _place(G, plan, engine, length_engine, speeds, modes, sites, start_node, end_node,
                  hs, hs_ids, shift if isinstance(shift, Shift) else None, reference, tuple(notes))


def snapped_sites(sites: gpd.GeoDataFrame, G: nx.MultiDiGraph, *, id_col: str | None,
                  max_snap_m: float, what: str) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, list[str]]:
    """``sites`` snapped to ``G``: the snapping table, their ids as text (``id_col``, else the
    index), the mask of those within ``max_snap_m`` of a road, and the note (also logged) that
    names the ones left out."""
    from geo.network import snap_points
    ids = (normalise_ids(sites[id_col]) if id_col is not None
           else pd.Series([str(i) for i in sites.index], index=sites.index)).to_numpy()
    snapped = snap_points(sites, G, warn_m=max_snap_m, what=what)
    far = snapped["distance_m"].to_numpy() > max_snap_m
    notes = []
    if far.any():
        notes.append(f"{int(far.sum())} {what} lie farther than {max_snap_m:.0f} m from a road and "
                     f"were left out: {format_ids(ids[far])}")
        log.warning(notes[-1])
    return snapped, ids, ~far, notes


def route_line(G: nx.MultiDiGraph, engine, seq: list, weight: str) -> tuple[list[list], shapely.LineString]:
    """The shortest path of every leg of the node sequence ``seq`` and the route drawn along
    them as one line (a point-like line when the route stays put)."""
    paths = leg_paths(engine, list(zip(seq[:-1], seq[1:])))
    coords: list = []
    for path in paths:
        c = _path_line(G, path, weight)
        coords.extend(c if not coords else c[1:])
    return paths, shapely.LineString(coords if len(coords) > 1 else coords * 2)


def _place(G, plan, engine, length_engine, speeds, modes, sites, start_node, end_node, hs, hs_ids,
           shift, reference, notes) -> PatrolRoutes:
    p = plan.problem
    crs = G.graph["crs"]
    centroids = hs.geometry.to_crs(crs).centroid.to_numpy() if hs.crs is not None else hs.geometry.centroid.to_numpy()
    line_rows, line_geoms, stop_rows, stop_geoms, legs = [], [], [], [], []
    starts = plan.starts
    used = plan.minutes_used
    idle = plan.idle_min
    for k, route in enumerate(plan.routes):
        seq = [start_node, *[sites[p.visit_site[v]] for v in route], end_node]
        eng, weight = (engine, "travel_s") if speeds[k] is None else (length_engine, "length_m")
        paths, geom = route_line(G, eng, seq, weight)
        legs.append(tuple(tuple(x) for x in paths))
        line_rows.append({"unit": k + 1, "minutes": float(used[k]), "idle_min": float(idle[k]),
                          "risk": float(p.risk[list(route)].sum()) if route else 0.0,
                          "stops": len(route), "length_m": float(geom.length)})
        line_geoms.append(geom)
        for order, (v, st) in enumerate(zip(route, starts[k]), start=1):
            h = int(p.visit_hotspot[v])
            stop_rows.append({"unit": k + 1, "order": order, "hotspot": hs_ids[h],
                              "arrive": _clock(shift, st), "depart": _clock(shift, st + p.dwell_min[v]),
                              "arrive_min": round(float(st), 2), "risk": float(p.risk[v]),
                              "node": sites[p.visit_site[v]]})
            stop_geoms.append(centroids[h])
    lines = gpd.GeoDataFrame(pd.DataFrame(line_rows, columns=["unit", "minutes", "idle_min", "risk",
                                                              "stops", "length_m"]),
                             geometry=line_geoms, crs=crs)
    stops = gpd.GeoDataFrame(pd.DataFrame(stop_rows, columns=["unit", "order", "hotspot", "arrive",
                                                              "depart", "arrive_min", "risk", "node"]),
                             geometry=stop_geoms, crs=crs)
    return PatrolRoutes(plan=plan, lines=lines, stops=stops, legs=tuple(legs), shift=shift,
                        reference_risk=reference, notes=notes)
