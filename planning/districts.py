"""Districts without stations: K balanced, contiguous, compact districts whose centres the
optimiser chooses (police beats; 警务区 inside one station's jurisdiction).

The method (``draw_districts``):

1. centres: a weighted k-means++ draw on the units' centroids, then a few alternate rounds of
   nearest-centre assignment and weighted-median re-centring (no contiguity yet);
2. districts: grown from the centres (``redistrict.grown_plan``: the lightest district takes
   its nearest free neighbour), so they are contiguous and roughly balanced;
3. improvement: the annealing of ``redistrict.optimize`` with the balance target as a stiff
   penalty and compactness (workload-weighted distance to the centre) as the objective;
4. re-centring (Lloyd): every district moves its centre to its weighted median unit (the unit
   of the district with the least workload-weighted distance to the others), and 3.-4. repeat
   until the centres stop moving; several starts are tried and the best kept.

The objective is the workload-weighted mean distance (metres between unit centroids) or travel
time (minutes on the road network, "road access") from each unit to its district's centre.

Yardsticks: ``p_median_bound`` (the capacitated p-median MIP: the same objective and balance
bound without contiguity, a lower bound for every contiguous plan) and ``exact_districts``
(the same MIP with single-commodity flow contiguity rooted at free centres; small cases).
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping, Sequence

import geopandas as gpd
import highspy
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely

from geo.errors import InputError, format_ids
from geo.ids import id_str
from planning.exact import flow_rows
from planning.plan import DistrictGraph, Plan, district_graph, parse_weights
from planning.redistrict import ScoreWeights, grown_plan, optimize

__all__ = ["DistrictsProblem", "DistrictsResult", "districts_problem", "draw_districts",
           "p_median_bound", "exact_districts", "DEFAULT_WEIGHTS", "police_grids_frame",
           "workspace_problem", "save_police_grids"]

log = logging.getLogger(__name__)

# The field's rule for community police districts: residents, migrants, incidents.
DEFAULT_WEIGHTS = ("population", "migrants", "incidents")
# Road travel times are computed between every pair of units up to this many units.
ROAD_MAX_UNITS = 2500


@dataclass(frozen=True, eq=False)
class DistrictsProblem:
    """The units to divide and the unit-to-unit cost, built once (``districts_problem``).

    Attributes
    ----------
    graph : the district graph of the units (adjacency, workload; its stations are
        placeholders that ``draw_districts`` replaces by the chosen centres).
    dist : (n, n) cost of serving unit i from centre unit j: metres between centroids, or
        travel minutes from j's road node to i's.
    cost_unit : ``"m"`` or ``"min"``.
    cost_source : ``"straight-line metres"`` or ``"road travel minutes"``.
    weights : {column: weight} used for the workload.
    station_id : the station whose jurisdiction the units are (``within_station``), or None.
    """

    graph: DistrictGraph
    dist: np.ndarray
    cost_unit: str
    cost_source: str
    weights: Mapping[str, float]
    station_id: str | None = None

    @property
    def n(self) -> int:
        return self.graph.n_cells

    @property
    def unit_ids(self) -> np.ndarray:
        return self.graph.cell_ids

    def centred(self, centres: Sequence[int] | np.ndarray, ids: Sequence[str]) -> DistrictGraph:
        """The district graph with the units ``centres`` (positions) as the district centres."""
        at = np.asarray(centres, dtype=np.int64)
        g = self.graph
        pts = shapely.point_on_surface(np.asarray(g.cells.geometry.values)[at])
        stations = gpd.GeoDataFrame({"station_id": list(ids)}, geometry=pts, crs=g.cells.crs)
        return replace(g, station_ids=tuple(ids), station_cell=at, stations=stations,
                       cost=self.dist[:, at], cost_unit=self.cost_unit, _index={})


@dataclass(frozen=True, eq=False)
class DistrictsResult:
    """K districts drawn by ``draw_districts``.

    Attributes
    ----------
    plan : the plan over the centred graph (district ids as station ids).
    assignment : district id per unit id.
    centres : district id -> unit id of its centre.
    table : one row per district: centre, units, workload_share, deviation, population,
        incidents (where the units have them), mean_distance.
    max_deviation : largest |workload / mean - 1|.
    objective : workload-weighted mean distance (m) or travel time (min) to the centre.
    cost_unit, cost_source : see ``DistrictsProblem``.
    contiguous : every district one connected piece.
    target : the ``max_deviation`` asked for; ``target_met`` whether it was reached.
    weights : {column: weight} used.
    station_id : the station the districts lie in (``within_station``), or None.
    seconds : wall time of the search.
    lower_bound : the p-median bound when computed (``p_median_bound``), else None.
    """

    plan: Plan
    assignment: pd.Series
    centres: dict
    table: pd.DataFrame
    max_deviation: float
    objective: float
    cost_unit: str
    cost_source: str
    contiguous: bool
    target: float
    weights: Mapping[str, float]
    station_id: str | None
    seconds: float
    lower_bound: float | None = None
    bound_info: dict = field(default_factory=dict)

    @property
    def target_met(self) -> bool:
        return self.max_deviation <= self.target + 1e-12

    def summary(self) -> dict:
        """JSON-ready figures (``gridpatrol redistrict --districts K --json``)."""
        rows = []
        for did, r in self.table.iterrows():
            row = {"district_id": did, "centre": r["centre"], "units": int(r["units"]),
                   "workload_share": round(float(r["workload_share"]), 6),
                   "deviation": round(float(r["deviation"]), 6)}
            for col in ("population", "migrants", "incidents"):
                if col in self.table.columns:
                    row[col] = round(float(r[col]), 3)
            row["mean_distance"] = round(float(r["mean_distance"]), 3)
            rows.append(row)
        out = {"districts": rows, "k": len(rows), "max_deviation": round(self.max_deviation, 6),
               "max_deviation_target": self.target, "target_met": self.target_met,
               "objective": round(self.objective, 4), "cost_unit": self.cost_unit,
               "cost_source": self.cost_source, "contiguous": self.contiguous,
               "weights": dict(self.weights), "station_id": self.station_id,
               "seconds": round(self.seconds, 3), "lower_bound": None}
        if self.lower_bound is not None:
            out["lower_bound"] = round(self.lower_bound, 4)
            out["gap_to_bound"] = round(self.objective / self.lower_bound - 1.0, 6) \
                if self.lower_bound > 0 else None
            out["bound"] = self.bound_info
        return out


# --- the problem ------------------------------------------------------------------------------

def _weights_for(cells: gpd.GeoDataFrame, weights, *, where: str) -> dict[str, float]:
    if weights is None or (isinstance(weights, str) and not weights.strip()):
        have = [c for c in DEFAULT_WEIGHTS
                if c in cells.columns and pd.to_numeric(cells[c], errors="coerce").fillna(0).sum() > 0]
        if not have:
            raise InputError(f"{where} has none of the columns {list(DEFAULT_WEIGHTS)}; give "
                             "the workload columns in `weight`, e.g. incidents or area")
        return {c: 1.0 for c in have}
    w = parse_weights(weights)
    unknown = [c for c in w if c != "area" and c not in cells.columns]
    if unknown:
        have = [c for c in cells.columns if c != cells.geometry.name]
        raise InputError(f"`weight` names {unknown}, which {where} lacks; its columns are {have}")
    return w


def districts_problem(units: gpd.GeoDataFrame, *, weights=None,
                      within: Iterable[object] | None = None, station_id: str | None = None,
                      road_graph=None, unit_id: str = "cell_id") -> DistrictsProblem:
    """The units to divide (``within``: only these unit ids) and their unit-to-unit cost.

    ``weights``: {column: weight}, ``"population,incidents=2"`` or None for the columns of
    ``DEFAULT_WEIGHTS`` the units have. ``road_graph``: a road graph (``geo.network``) or its
    travel-time engine (``geo.network.engine_from_workspace``, no NetworkX graph needed) whose
    travel minutes between the units' nodes become the cost; None for straight-line metres.
    """
    if unit_id not in units.columns:
        raise InputError(f"the units have no {unit_id!r} column; give `unit_id`")
    cells = units
    if within is not None:
        keep = set(map(id_str, within))
        cells = units[units[unit_id].map(id_str).isin(keep)]
    cells = cells.reset_index(drop=True)
    if not len(cells):
        raise InputError("there are no units to divide")
    w = _weights_for(cells, weights, where=f"the units ({len(cells)} of them)")
    first = gpd.GeoDataFrame({"station_id": ["_"]},
                             geometry=[shapely.point_on_surface(cells.geometry.iloc[0])],
                             crs=cells.crs)
    graph = _bridged(district_graph(cells, first, weights=w, cell_id=unit_id))
    cen = shapely.centroid(np.asarray(graph.cells.geometry.values))
    xy = np.column_stack([shapely.get_x(cen), shapely.get_y(cen)])
    source = "straight-line metres"
    unit = "m"
    if road_graph is not None and len(cells) <= ROAD_MAX_UNITS:
        dist = _road_minutes(graph, road_graph)
        unit, source = "min", "road travel minutes"
    else:
        if road_graph is not None:
            log.warning("%d units are too many for road travel times between every pair (at most "
                        "%d); straight-line distances are used", len(cells), ROAD_MAX_UNITS)
        dist = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    return DistrictsProblem(graph=graph, dist=dist, cost_unit=unit, cost_source=source,
                            weights=w, station_id=station_id)


def _bridged(graph: DistrictGraph) -> DistrictGraph:
    """The graph with every piece that touches no other (an enclave, an island, units of a
    jurisdiction cut off from the rest) linked to the nearest unit of the largest piece, so
    that districts can be contiguous; the linked units are named in a warning."""
    from planning.plan import connected_within
    comps = connected_within(range(graph.n_cells), graph.neighbours)
    if len(comps) <= 1:
        return graph
    comps.sort(key=len, reverse=True)
    cen = shapely.centroid(np.asarray(graph.cells.geometry.values))
    xy = np.column_stack([shapely.get_x(cen), shapely.get_y(cen)])
    main = np.array(sorted(comps[0]))
    nbrs = [list(x) for x in graph.neighbours]
    extra = []
    for comp in comps[1:]:
        part = np.array(sorted(comp))
        d = np.hypot(xy[part, None, 0] - xy[None, main, 0], xy[part, None, 1] - xy[None, main, 1])
        i, j = np.unravel_index(np.argmin(d), d.shape)
        a, b = int(part[i]), int(main[j])
        nbrs[a].append(b)
        nbrs[b].append(a)
        extra.append((min(a, b), max(a, b)))
        main = np.concatenate([main, part])
    pairs = pd.concat([graph.pairs, pd.DataFrame({"a": [e[0] for e in extra],
                                                  "b": [e[1] for e in extra],
                                                  "shared_m": 0.0})], ignore_index=True)
    cut_off = sorted(str(id_str(graph.cell_ids[c])) for comp in comps[1:] for c in comp)
    log.warning("%d unit(s) touch no other unit of the area (%s); each such piece counts as "
                "adjacent to the nearest unit so that districts can hold it",
                len(cut_off), format_ids(cut_off))
    return replace(graph, neighbours=tuple(tuple(x) for x in nbrs), pairs=pairs, _index={})


def _road_minutes(graph: DistrictGraph, road_graph) -> np.ndarray:
    from geo.network import snap_points
    from geo.traveltime import TravelEngine, engine_from_graph, minutes_matrix
    pts = gpd.GeoDataFrame({"uid": [id_str(c) for c in graph.cell_ids]},
                           geometry=shapely.point_on_surface(np.asarray(graph.cells.geometry.values)),
                           crs=graph.cells.crs)
    snapped = snap_points(pts, road_graph, id_col="uid", warn_m=float("inf"), what="units")
    engine = road_graph if isinstance(road_graph, TravelEngine) else engine_from_graph(road_graph)
    nodes = snapped["node"].tolist()
    m = minutes_matrix(engine, nodes, nodes)  # [j, i]: from j's node to i's node
    # access: the straight walk from the unit's point to its node, at 30 km/h
    access = snapped["distance_m"].to_numpy(dtype=float) / 500.0
    dist = m.T + access[:, None] + access[None, :]
    np.fill_diagonal(dist, 0.0)
    bad = ~np.isfinite(dist)
    if bad.any():
        finite = dist[~bad]
        dist[bad] = 2.0 * (finite.max() if finite.size else 1.0)
        log.warning("%d unit pairs have no road route between them; they count as %.0f minutes "
                    "apart", int(bad.sum()), 2.0 * (finite.max() if finite.size else 1.0))
    return dist


# --- the heuristic ----------------------------------------------------------------------------

def _objective(problem: DistrictsProblem, assign: np.ndarray, centres: np.ndarray) -> float:
    w = problem.graph.workload
    return float((w * problem.dist[np.arange(problem.n), centres[assign]]).sum() / w.sum())


def _medoid(problem: DistrictsProblem, members: np.ndarray) -> int:
    w = problem.graph.workload[members]
    if w.sum() <= 0:
        w = np.ones(len(members))
    cost = w @ problem.dist[np.ix_(members, members)]  # cost[j] = sum_i w_i d(i, j)
    return int(members[int(np.argmin(cost))])


def _seed_centres(problem: DistrictsProblem, k: int, rng: np.random.Generator) -> np.ndarray:
    """Weighted k-means++ on the cost, then alternate nearest assignment / medoids."""
    d, w = problem.dist, problem.graph.workload + 1e-12
    n = problem.n
    centres = [int(rng.choice(n, p=w / w.sum()))]
    near = d[:, centres[0]].copy()
    for _ in range(1, k):
        p = w * near ** 2
        p = p / p.sum() if p.sum() > 0 else np.full(n, 1.0 / n)
        c = int(rng.choice(n, p=p))
        if c in centres:
            c = int(next(i for i in np.argsort(-p) if i not in centres))
        centres.append(c)
        near = np.minimum(near, d[:, c])
    chosen = np.array(centres)
    for _ in range(10):
        assign = np.argmin(d[:, chosen], axis=1)
        assign[chosen] = np.arange(k)
        new = np.array([_medoid(problem, np.flatnonzero(assign == s)) for s in range(k)])
        if np.array_equal(new, chosen):
            break
        chosen = new
    return chosen


def _order_ids(problem: DistrictsProblem, centres: np.ndarray) -> np.ndarray:
    """Centres ordered north-west to south-east (district numbers read like a page)."""
    cen = shapely.centroid(np.asarray(problem.graph.cells.geometry.values)[centres])
    x, y = shapely.get_x(cen), shapely.get_y(cen)
    band = (y.max() - y) // max(1.0, (y.max() - y.min()) / max(1, round(math.sqrt(len(centres)))) + 1e-9)
    return np.lexsort((x, band))


def _district_ids(problem: DistrictsProblem, k: int) -> list[str]:
    prefix = f"{problem.station_id}-" if problem.station_id else "D"
    width = max(2, len(str(k)))
    return [f"{prefix}{i + 1:0{width}d}" for i in range(k)]


def _anneal(graph: DistrictGraph, assign: np.ndarray, *, target: float, seed: int,
            iterations: int, time_limit_s: float | None) -> np.ndarray:
    start = Plan(graph, assign)
    weights = ScoreWeights(balance=0.02, rms=0.0, over_target=40.0, compactness=1.0,
                           perimeter=0.02)
    from planning.constraints import InfeasibleError
    options: dict[str, Any] = dict(weights=weights, iterations=iterations,
                                   patience=max(2_000, 8 * graph.n_cells), time_limit_s=time_limit_s,
                                   rng=np.random.default_rng(seed))
    last = None
    try:
        for last in optimize(start, max_deviation=target, **options):
            pass
    except InfeasibleError:  # a unit alone outweighs the bound: balance as well as possible
        weights = ScoreWeights(balance=1.0, rms=0.25, compactness=1.0, perimeter=0.02)
        for last in optimize(start, max_deviation=None, **{**options, "weights": weights}):
            pass
    assert last is not None, "optimize yields at least its starting plan"
    return last["plan"].assignment.copy()


def _polish(problem: DistrictsProblem, graph: DistrictGraph, assign: np.ndarray,
            target: float) -> np.ndarray:
    """Greedy single-unit moves that lower the objective and keep balance and contiguity."""
    from planning.plan import articulation_points
    g = graph
    k = g.n_stations
    w = g.workload
    assign = assign.copy()
    load = np.bincount(assign, weights=w, minlength=k)
    lo, hi = (1 - target) * g.mean_workload, (1 + target) * g.mean_workload
    centre_set = set(g.station_cell.tolist())
    for _ in range(20):
        improved = False
        arts = {s: articulation_points(np.flatnonzero(assign == s).tolist(), g.neighbours,
                                       assign, s) for s in range(k)}
        for c in range(g.n_cells):
            a = assign[c]
            if c in centre_set or c in arts[a]:
                continue
            best, gain = -1, 1e-12
            for b in {int(assign[x]) for x in g.neighbours[c]} - {a}:
                if load[a] - w[c] < lo or load[b] + w[c] > hi:
                    continue
                d = w[c] * (g.cost[c, a] - g.cost[c, b])
                if d > gain:
                    best, gain = b, d
            if best >= 0:
                assign[c] = best
                load[a] -= w[c]
                load[best] += w[c]
                arts[a] = articulation_points(np.flatnonzero(assign == a).tolist(), g.neighbours,
                                              assign, a)
                arts[best] = articulation_points(np.flatnonzero(assign == best).tolist(),
                                                 g.neighbours, assign, best)
                improved = True
        if not improved:
            break
    return assign


class _Quiet(logging.Filter):
    """Hides the annealer's per-round "target not met" warnings (the final result warns)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "target not met" not in record.getMessage() and "cut off" not in record.getMessage()


def _allocate(problem: DistrictsProblem, centres: np.ndarray, target: float,
              time_limit_s: float, integer: bool = True) -> np.ndarray | None:
    """The balanced assignment to fixed centres (location-allocation; no contiguity): minimise
    the workload-weighted cost with every district within ``target``, by MIP (``integer``,
    stopped at 0.5 % gap or the time limit) or by its LP, each unit given to its largest share
    (a basic solution splits at most k units)."""
    g = problem.graph
    n, k = problem.n, len(centres)
    w = g.workload / g.workload.sum() * k
    cost = (w[:, None] * problem.dist[:, centres]).ravel()
    ii = np.repeat(np.arange(n), k)
    ss = np.tile(np.arange(k), n)
    rows = np.concatenate([ii, n + ss])
    cols = np.concatenate([ii * k + ss, ii * k + ss])
    vals = np.concatenate([np.ones(n * k), w[ii]])
    mat = sp.csc_matrix((vals, (rows, cols)), shape=(n + k, n * k))
    mat.sort_indices()
    lower = np.zeros(n * k)
    upper = np.ones(n * k)
    lower[centres * k + np.arange(k)] = 1.0
    from planning.highs import new_highs
    h = new_highs()
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", 5e-3)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n * k, n + k
    lp.col_cost_ = cost
    lp.col_lower_, lp.col_upper_ = lower, upper
    lp.row_lower_ = np.concatenate([np.ones(n), np.full(k, 1 - target)])
    lp.row_upper_ = np.concatenate([np.ones(n), np.full(k, 1 + target)])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = mat.indptr.astype(np.int32)
    lp.a_matrix_.index_ = mat.indices.astype(np.int32)
    lp.a_matrix_.value_ = mat.data
    if integer:
        lp.integrality_ = [highspy.HighsVarType.kInteger] * (n * k)
    h.passModel(lp)
    h.run()
    if h.getInfo().primal_solution_status != 2:
        return None
    return np.asarray(h.getSolution().col_value).reshape(n, k).argmax(axis=1)


def _repair(graph: DistrictGraph, assign: np.ndarray) -> np.ndarray:
    from planning.redistrict import repaired_plan
    return repaired_plan(Plan(graph, assign)).assignment.copy()


def _improve(problem: DistrictsProblem, graph: DistrictGraph, assign: np.ndarray, *,
             target: float, seed: int, iterations: int, deadline: float | None) -> np.ndarray:
    left = None if deadline is None else max(0.5, deadline - time.perf_counter())
    assign = _anneal(graph, assign, target=target, seed=seed, iterations=iterations,
                     time_limit_s=left)
    return _polish(problem, graph, assign, target)


def _one_start(problem: DistrictsProblem, k: int, *, target: float, seed: int, rounds: int,
               iterations: int, deadline: float | None) -> tuple[float, float, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ids = [f"_{i}" for i in range(k)]
    centres = _seed_centres(problem, k, rng)
    graph = problem.centred(centres, ids)
    assign = grown_plan(graph).assignment.copy()
    best = None
    seen: set[bytes] = set()
    for r in range(rounds):
        candidates = [assign]
        alloc = _allocate(problem, centres, target, time_limit_s=3.0)
        if alloc is not None:
            candidates.append(_repair(graph, alloc))
        round_best = None
        for cand in candidates:
            out = _improve(problem, graph, cand, target=target, seed=seed * 101 + r,
                           iterations=iterations, deadline=deadline)
            plan = Plan(graph, out)
            key = (max(0.0, plan.max_deviation - target), _objective(problem, out, centres))
            if plan.contiguous and (round_best is None or key < round_best[:2]):
                round_best = (key[0], key[1], out)
        if round_best is None:
            break
        if best is None or round_best[:2] < best[:2]:
            best = (round_best[0], round_best[1], round_best[2].copy(), centres.copy())
        assign = round_best[2]
        seen.add(centres.tobytes())
        new = np.array([_medoid(problem, np.flatnonzero(assign == s)) for s in range(k)])
        if new.tobytes() in seen or (deadline is not None and time.perf_counter() > deadline):
            break
        centres = new
        graph = problem.centred(centres, ids)
    if best is None:  # no contiguous plan (cannot happen with the annealer's moves)
        best = (max(0.0, Plan(graph, assign).max_deviation - target),
                _objective(problem, assign, centres), assign, centres)
    return best


def draw_districts(units: gpd.GeoDataFrame | DistrictsProblem, k: int, *, weights=None,
                   within: Sequence[object] | None = None, station_id: str | None = None,
                   road_graph=None, max_deviation: float = 0.05, seed: int = 0,
                   starts: int | None = None, rounds: int = 6,
                   time_limit_s: float | None = None, unit_id: str = "cell_id") -> DistrictsResult:
    """Draw ``k`` balanced, contiguous, compact districts with centres chosen among the units.

    Parameters
    ----------
    units : unit polygons (projected CRS) with ``unit_id`` and the weight columns, or a
        ``DistrictsProblem`` built by ``districts_problem`` (then ``weights``, ``within``,
        ``road_graph`` are ignored).
    k : number of districts, 1 <= k <= number of units.
    weights : workload columns (see ``districts_problem``).
    within, station_id : only these unit ids (one station's jurisdiction), named after it.
    road_graph : a road graph or travel-time engine for travel-minute costs ("road access");
        None: straight line.
    max_deviation : workload balance bound (fraction of the mean).
    seed : random seed; ``starts`` independent starts (default 4, fewer for big cases) and
        ``rounds`` re-centring rounds each; ``time_limit_s`` bounds the whole search.

    The result warns (log) with the figure reached when the balance bound was not met.
    """
    started = time.perf_counter()
    problem = units if isinstance(units, DistrictsProblem) else districts_problem(
        units, weights=weights, within=within, station_id=station_id, road_graph=road_graph,
        unit_id=unit_id)
    n = problem.n
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise InputError(f"`k` was {k!r} but must be a whole number of districts >= 1")
    if k > n:
        raise InputError(f"`k` was {k} but there are only {n} units to divide; choose at most {n}")
    if not (0 < max_deviation < 1):
        raise InputError(f"`max_deviation` was {max_deviation} but must be a fraction between 0 "
                         "and 1, e.g. 0.05")
    if starts is None:
        starts = 4 if n <= 600 else 2
    iterations = max(3_000, 60 * n) if n < 350 else 40 * n
    deadline = None if time_limit_s is None else started + time_limit_s
    best = None
    quiet = _Quiet()
    logging.getLogger("planning.redistrict").addFilter(quiet)
    try:
        for i in range(starts):
            res = _one_start(problem, k, target=max_deviation, seed=seed * 7919 + i,
                             rounds=rounds, iterations=iterations, deadline=deadline)
            if best is None or res[:2] < best[:2]:
                best = res
            if deadline is not None and time.perf_counter() > deadline:
                break
    finally:
        logging.getLogger("planning.redistrict").removeFilter(quiet)
    assert best is not None, "the first start is always kept"
    _, _, assign, centres = best
    result = _result(problem, assign, centres, target=max_deviation,
                     seconds=time.perf_counter() - started)
    if not result.target_met:
        log.warning("workload target not met: the districts are up to %s %% from the mean, above "
                    "max_deviation %s %%; allow a larger deviation or fewer districts",
                    f"{100 * result.max_deviation:.3g}", f"{100 * max_deviation:.3g}")
    return result


def _result(problem: DistrictsProblem, assign: np.ndarray, centres: np.ndarray, *,
            target: float, seconds: float) -> DistrictsResult:
    k = len(centres)
    order = _order_ids(problem, centres)
    centres = centres[order]
    remap = np.empty(k, dtype=np.int64)
    remap[order] = np.arange(k)
    assign = remap[assign]
    ids = _district_ids(problem, k)
    graph = problem.centred(centres, ids)
    plan = Plan(graph, assign, name="districts")
    g = problem.graph
    table = pd.DataFrame(index=pd.Index(ids, name="district_id"))
    table["centre"] = [id_str(g.cell_ids[c]) for c in centres]
    table["units"] = np.bincount(assign, minlength=k)
    table["workload_share"] = plan.workload.to_numpy() / g.workload.sum()
    table["deviation"] = plan.deviation.to_numpy()
    for col in ("population", "migrants", "incidents"):
        if col in g.cells.columns:
            table[col] = plan.totals(col).to_numpy()
    table["mean_distance"] = plan.mean_cost.to_numpy()
    labels = pd.Series(np.asarray(ids, dtype=object)[assign],
                       index=pd.Index([id_str(c) for c in g.cell_ids], name="unit_id"),
                       name="district_id")
    return DistrictsResult(
        plan=plan, assignment=labels, centres=dict(zip(ids, table["centre"])), table=table,
        max_deviation=plan.max_deviation, objective=_objective(problem, assign, centres),
        cost_unit=problem.cost_unit, cost_source=problem.cost_source, contiguous=plan.contiguous,
        target=target, weights=dict(problem.weights), station_id=problem.station_id,
        seconds=seconds)


# --- yardsticks: the capacitated p-median MIP, with and without flow contiguity ---------------

def _median_mip(problem: DistrictsProblem, k: int, max_deviation: float, *, contiguous: bool,
                time_limit_s: float, mip_rel_gap: float, start: DistrictsResult | None) -> dict:
    """x[i, j] = unit i served by centre unit j; x[j, j] = j is a centre."""
    g = problem.graph
    n = problem.n
    w = g.workload / g.workload.sum() * k  # mean district load = 1
    obj = (w[:, None] * problem.dist).ravel() / k  # = workload-weighted mean cost
    rows: list = []  # constraint blocks: row indices, column indices, values, lower and upper bounds
    cols: list = []
    vals: list = []
    rlo: list = []
    rhi: list = []
    r = 0
    ii = np.repeat(np.arange(n), n)
    jj = np.tile(np.arange(n), n)
    # every unit in exactly one district
    rows.append(ii)
    cols.append(ii * n + jj)
    vals.append(np.ones(n * n))
    rlo.append(np.ones(n))
    rhi.append(np.ones(n))
    r += n
    # k centres
    rows.append(np.full(n, r))
    cols.append(np.arange(n) * n + np.arange(n))
    vals.append(np.ones(n))
    rlo.append([k])
    rhi.append([k])
    r += 1
    # x[i, j] <= x[j, j]
    off = ii != jj
    m = int(off.sum())
    rr = r + np.arange(m)
    rows.append(np.concatenate([rr, rr]))
    cols.append(np.concatenate([(ii * n + jj)[off], (jj * n + jj)[off]]))
    vals.append(np.concatenate([np.ones(m), -np.ones(m)]))
    rlo.append(np.full(m, -np.inf))
    rhi.append(np.zeros(m))
    r += m
    # balance: (1 - d) x[j, j] <= sum_i w_i x[i, j] <= (1 + d) x[j, j]
    for bound, lo, hi in ((1 + max_deviation, -np.inf, 0.0), (1 - max_deviation, 0.0, np.inf)):
        rr_ = r + jj
        rows.append(np.concatenate([rr_, r + np.arange(n)]))
        cols.append(np.concatenate([ii * n + jj, np.arange(n) * n + np.arange(n)]))
        vals.append(np.concatenate([w[ii], np.full(n, -bound)]))
        rlo.append(np.full(n, lo))
        rhi.append(np.full(n, hi))
        r += n
    ncol = n * n
    nb: list[list[int]] = [list(x) for x in g.neighbours]
    if contiguous:
        pairs = g.pairs[["a", "b"]].to_numpy()
        arcs = np.concatenate([pairs, pairs[:, ::-1]])
        big = float(n - 1)
        for j in range(n):
            fa = arcs[arcs[:, 1] != j]
            fcol = ncol + np.arange(len(fa))
            ncol += len(fa)
            r = flow_rows(fa, j, n, fcol, np.arange(n) * n + j, big, r, rows, cols, vals, rlo, rhi)
            nonroot = np.array([i for i in range(n) if i != j], dtype=np.int64)
            # a non-centre unit of district j has a neighbour in j
            for i in nonroot:
                rows.append(np.full(len(nb[i]) + 1, r))
                cols.append(np.array([i * n + j] + [x * n + j for x in nb[i]]))
                vals.append(np.array([1.0] + [-1.0] * len(nb[i])))
                rlo.append([-np.inf])
                rhi.append([0.0])
                r += 1
    cost = np.zeros(ncol)
    cost[:n * n] = obj
    lower = np.zeros(ncol)
    upper = np.full(ncol, highspy.kHighsInf)
    upper[:n * n] = 1.0
    mat = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                        shape=(r, ncol))
    mat.sort_indices()
    from planning.highs import new_highs
    h = new_highs()
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = ncol, r
    lp.col_cost_ = cost
    lp.col_lower_, lp.col_upper_ = lower, upper
    inf = highspy.kHighsInf
    rl, rh = np.concatenate([np.asarray(x, float) for x in rlo]), np.concatenate([np.asarray(x, float) for x in rhi])
    lp.row_lower_ = np.where(np.isinf(rl), -inf, rl)
    lp.row_upper_ = np.where(np.isinf(rh), inf, rh)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = mat.indptr.astype(np.int32)
    lp.a_matrix_.index_ = mat.indices.astype(np.int32)
    lp.a_matrix_.value_ = mat.data
    lp.integrality_ = [highspy.HighsVarType.kInteger] * (n * n) + \
        [highspy.HighsVarType.kContinuous] * (ncol - n * n)
    h.passModel(lp)
    if start is not None and not contiguous:
        col = np.zeros(ncol)
        pos = {id_str(c): i for i, c in enumerate(g.cell_ids)}
        cen = {d: pos[u] for d, u in start.centres.items()}
        for u, d in start.assignment.items():
            col[pos[u] * n + cen[d]] = 1.0
        sol = highspy.HighsSolution()
        sol.col_value = col.tolist()
        sol.value_valid = True
        h.setSolution(sol)
    t0 = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - t0
    status = h.getModelStatus()
    info = h.getInfo()
    value = None
    assignment = centres = None
    if info.primal_solution_status == 2:
        x = np.asarray(h.getSolution().col_value[:n * n]).reshape(n, n)
        centre_of = x.argmax(axis=1)
        centres = np.flatnonzero(np.diag(x) > 0.5)
        value = _objective(problem, np.searchsorted(centres, centre_of), centres) \
            if set(centre_of) <= set(centres) else None
        assignment = np.searchsorted(centres, centre_of)
    bound = float(info.mip_dual_bound) if np.isfinite(info.mip_dual_bound) else 0.0
    return {"status": h.modelStatusToString(status),
            "optimal": status == highspy.HighsModelStatus.kOptimal,
            "infeasible": status == highspy.HighsModelStatus.kInfeasible,
            "value": value, "bound": max(0.0, bound), "seconds": seconds,
            "assignment": assignment, "centres": centres, "n_cols": ncol, "n_rows": r}


def p_median_bound(problem: DistrictsProblem, k: int, *, max_deviation: float = 0.05,
                   time_limit_s: float = 60.0, mip_rel_gap: float = 1e-4,
                   start: DistrictsResult | None = None) -> dict:
    """The capacitated p-median MIP (HiGHS) on ``problem``'s units: open ``k`` centres among the
    units, serve every unit from one open centre, each district's workload within
    ±``max_deviation`` of the mean, minimise the workload-weighted mean cost to the centre. No
    contiguity: its optimum (and the solver's proven dual bound, ``bound``) is a lower bound
    for every contiguous plan within the balance bound. Returns ``bound`` (None when HiGHS
    proves no assignment meets the balance bound), ``value`` (its best solution), ``optimal``,
    ``infeasible``, ``status``, ``seconds``. ``start``: a ``draw_districts`` result given as first incumbent.
    """
    out = _median_mip(problem, k, max_deviation, contiguous=False, time_limit_s=time_limit_s,
                      mip_rel_gap=mip_rel_gap, start=start)
    res = {key: out[key] for key in ("bound", "value", "optimal", "infeasible", "status",
                                     "seconds", "n_cols", "n_rows")}
    if out["infeasible"]:  # no plan meets the balance bound at all: nothing to bound
        res["bound"] = None
    return res


def exact_districts(problem: DistrictsProblem, k: int, *, max_deviation: float = 0.05,
                    time_limit_s: float = 60.0, mip_rel_gap: float = 1e-6) -> dict:
    """The exact yardstick on small cases: the capacitated p-median MIP with single-commodity
    flow contiguity rooted at each free centre (n² flow commodities: tens of units). Returns
    ``value`` (the best contiguous plan's objective), ``bound``, ``optimal``, ``assignment``
    (district position per unit), ``centres`` (unit positions), ``status``, ``seconds``."""
    return _median_mip(problem, k, max_deviation, contiguous=True, time_limit_s=time_limit_s,
                       mip_rel_gap=mip_rel_gap, start=None)


# --- saving -------------------------------------------------------------------------------------

def police_grids_frame(result: DistrictsResult, *, station_of_centre: Mapping[str, str] | None = None,
                       names: Mapping[str, str] | None = None) -> gpd.GeoDataFrame:
    """The districts as a ``police_grids`` layer: pgrid_id, station_id, name, population,
    incidents (where the units have them), units, workload_share, centre, geometry (the
    units dissolved). ``station_of_centre``: unit id -> station, for districts drawn without
    ``within_station`` (each district takes its centre's current station)."""
    g = result.plan.graph
    cells = gpd.GeoDataFrame({"district_id": result.assignment.to_numpy()},
                             geometry=g.cells.geometry.values, crs=g.cells.crs)
    geom = cells.dissolve("district_id").geometry
    t = result.table
    out = gpd.GeoDataFrame({"pgrid_id": list(t.index)},
                           geometry=geom.reindex(t.index).values, crs=g.cells.crs)
    if result.station_id is not None:
        out["station_id"] = result.station_id
    else:
        sm = station_of_centre or {}
        out["station_id"] = [sm.get(c) for c in t["centre"]]
    out["name"] = [(names or {}).get(d, f"{d}警务区") for d in t.index]
    for col in ("population", "migrants", "incidents"):
        if col in t.columns:
            out[col] = t[col].to_numpy()
    out["units"] = t["units"].to_numpy()
    out["workload_share"] = t["workload_share"].to_numpy()
    out["centre"] = t["centre"].to_numpy()
    return out[[c for c in out.columns if c != "geometry"] + ["geometry"]]


# --- workspaces -----------------------------------------------------------------------------------

def workspace_problem(ws, *, weights=None, within_station: object | None = None,
                      cost: str = "auto") -> DistrictsProblem:
    """The districts problem of a workspace: its units (``cells``), all of them or only those of
    ``within_station``'s current jurisdiction (``planning.study.current_plan``). ``cost``:
    ``"auto"`` (road travel minutes when the workspace has a road network, else straight-line
    metres), ``"road"`` or ``"straight"``."""
    from planning.study import current_plan, workspace_graph
    if cost not in ("auto", "road", "straight"):
        raise InputError(f"`cost` was {cost!r} but is expected to be one of "
                         "['auto', 'road', 'straight']")
    cells = ws.layer("cells")
    within = None
    station = None
    if within_station is not None:
        graph = workspace_graph(ws, weights="area")
        s = graph.station_index(within_station)  # InputError listing the stations
        station = graph.station_ids[s]
        current = current_plan(ws, graph)
        if current is None:
            raise InputError("the units carry no station_id (no jurisdictions were imported), so "
                             f"station {station}'s units are unknown; import jurisdictions or "
                             "draw districts without `within_station`")
        within = current.cells_of(station)
    road = None
    has_roads = ws.has("road_nodes") and ws.has("road_edges")
    if cost == "road" and not has_roads:
        raise InputError("`cost` was 'road' but the workspace has no road network; import one "
                         "or use straight-line distances")
    if cost in ("auto", "road") and has_roads:
        from geo.network import engine_from_workspace  # travel times only: no NetworkX graph
        road = engine_from_workspace(ws)
    where = f"the units of station {station}" if station else "the units"
    if weights is None:
        sub = cells if within is None else cells[cells["cell_id"].map(id_str).isin(set(map(id_str, within)))]
        weights = _weights_for(sub, None, where=where)
    return districts_problem(cells, weights=weights, within=within, station_id=station,
                             road_graph=road)


def save_police_grids(path, result: DistrictsResult, *, author: str) -> dict:
    """Save ``result`` as the workspace's ``police_grids`` layer (``geo.workspace.replace_layers``).

    Districts drawn within one station replace only that station's police grids (the others
    are kept); districts drawn over the whole workspace replace them all, each taking the
    station of its centre's current jurisdiction. When the workspace has ``gov_grids`` their
    ``pgrid_id`` is recomputed (the police grid covering most of each). Returns ``kept`` (other
    stations' grids kept), ``written`` and ``gov_grids_relinked``.
    """
    from geo.overlay import label_by_largest_overlap
    from geo.workspace import read_workspace, replace_layers
    want = ["police_grids", "gov_grids", "cells"]
    ws = read_workspace(path, layers=want)
    station_of = None
    if result.station_id is None and "station_id" in ws.layer("cells").columns:
        cells = ws.layer("cells")
        station_of = dict(zip(cells["cell_id"].map(id_str), cells["station_id"].map(
            lambda v: None if pd.isna(v) else id_str(v))))
    new = police_grids_frame(result, station_of_centre=station_of)
    new = new.to_crs(ws.crs) if new.crs is not None and not new.crs.equals(ws.crs) else new
    kept = 0
    frame = new
    if result.station_id is not None and ws.has("police_grids"):
        old = ws.layer("police_grids")
        others = old[old["station_id"].map(lambda v: None if pd.isna(v) else id_str(v))
                     != result.station_id] if "station_id" in old.columns else old.iloc[0:0]
        kept = len(others)
        frame = pd.concat([others, new], ignore_index=True)
        frame = gpd.GeoDataFrame(frame, geometry="geometry", crs=ws.crs)
        frame["pgrid_id"] = frame["pgrid_id"].map(id_str)
    layers = {"police_grids": frame}
    relinked = 0
    if ws.has("gov_grids"):
        gov = ws.layer("gov_grids").copy()
        gov["pgrid_id"] = label_by_largest_overlap(gov, frame, "pgrid_id").to_numpy()
        relinked = int(gov["pgrid_id"].notna().sum())
        layers["gov_grids"] = gov
    replace_layers(path, layers, author=author)
    return {"written": len(new), "kept": kept, "gov_grids_relinked": relinked}
