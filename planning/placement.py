"""New posts and checkpoints: maximal covering and set covering with existing sites fixed (exact
MIP with HiGHS), and the fewest checkpoints that close a ring (minimum cut).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Iterator, Sequence

import geopandas as gpd
import highspy
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csc_matrix, csr_matrix, hstack, identity, vstack

from geo.errors import GridPatrolError, InputError, format_ids
from geo.ids import id_str
from geo.ring import blocked_edges, inside_nodes, ring_polygon
from geo.traveltime import TravelEngine, minutes_matrix, nearest_facility

__all__ = ["Placement", "maximal_covering", "set_covering", "cover_from_cost_matrix",
           "iter_place_posts", "place_posts", "Cut", "fewest_checkpoints", "demand_from_cells"]

log = logging.getLogger(__name__)

_STATUS = {highspy.HighsModelStatus.kOptimal: "optimal",
           highspy.HighsModelStatus.kTimeLimit: "time_limit",
           highspy.HighsModelStatus.kInfeasible: "infeasible",
           highspy.HighsModelStatus.kInterrupt: "interrupted"}


@dataclass(frozen=True, eq=False)
class Placement:
    """The sites chosen by a covering model.

    Attributes
    ----------
    chosen : candidate ids chosen (in candidate order).
    objective : weight covered (maximal covering: including what existing sites cover) or
        number of sites (set covering).
    status : ``optimal``, ``time_limit`` (best found when the limit stopped HiGHS) …
    gap : relative optimality gap (0 when optimal; the bound is the solver's dual bound).
    bound : the solver's bound on the objective.
    seconds : solve time.
    uncoverable : demand ids no candidate or existing site reaches within the time (excluded).
    """

    chosen: list
    objective: float
    status: str
    gap: float
    bound: float
    seconds: float
    model: str
    uncoverable: list = field(default_factory=list)
    before: dict = field(default_factory=dict)
    after: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """The JSON of ``gridpatrol place-posts``."""
        return {"model": self.model, "chosen": self.chosen, "objective": self.objective,
                "status": self.status, "gap": self.gap, "bound": self.bound,
                "seconds": round(self.seconds, 3), "uncoverable": self.uncoverable,
                "before": self.before, "after": self.after}


def cover_from_cost_matrix(cost: np.ndarray, minutes: float) -> csr_matrix:
    """Sparse boolean (demand x candidates) coverage from candidates x demand minutes."""
    return csr_matrix((np.asarray(cost) <= minutes).T)


def _new_highs() -> highspy.Highs:
    """A HiGHS instance whose start-up banner goes to stderr: the constructor prints it on the
    C-level stdout before any option can silence it, which would spoil ``--json`` output."""
    import os
    import sys
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):  # no real stdout (embedded interpreters)
        return highspy.Highs()
    try:
        os.dup2(2, 1)
        return highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _solve(h: highspy.Highs, time_limit_s: float | None) -> tuple[str, np.ndarray, float, float, float]:
    h.silent()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    if time_limit_s is not None:
        h.setOptionValue("time_limit", float(time_limit_s))
    t0 = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - t0
    status = _STATUS.get(h.getModelStatus(), h.modelStatusToString(h.getModelStatus()))
    info = h.getInfo()
    values = np.array(h.getSolution().col_value)
    return status, values, float(info.mip_gap), float(info.mip_dual_bound), seconds


def _pass(h: highspy.Highs, cost, lower, upper, integer, A: csc_matrix, row_lower, row_upper,
          maximize: bool) -> None:
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = A.shape[1], A.shape[0]
    lp.col_cost_ = np.asarray(cost, dtype=float)
    lp.col_lower_ = np.asarray(lower, dtype=float)
    lp.col_upper_ = np.asarray(upper, dtype=float)
    lp.row_lower_ = np.asarray(row_lower, dtype=float)
    lp.row_upper_ = np.asarray(row_upper, dtype=float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr.astype(np.int32)
    lp.a_matrix_.index_ = A.indices.astype(np.int32)
    lp.a_matrix_.value_ = A.data.astype(float)
    lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                       for i in integer]
    lp.sense_ = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
    h.passModel(lp)


def maximal_covering(cover: csr_matrix, weights: np.ndarray, *, k: int,
                     covered: np.ndarray | None = None, candidate_ids: Sequence[object] | None = None,
                     demand_ids: Sequence[object] | None = None,
                     time_limit_s: float | None = 60.0) -> Placement:
    """Choose at most ``k`` candidates to maximise the weight covered (pure core).

    Parameters
    ----------
    cover : (demand x candidates) boolean sparse matrix: candidate j reaches demand i in time.
    weights : demand weights (population, incidents), >= 0.
    k : number of new sites, >= 1.
    covered : demand already covered by the existing sites (fixed; they count but need no site).
    candidate_ids, demand_ids : labels.
    time_limit_s : HiGHS time limit; when it stops the search the status is ``time_limit``
        and ``gap`` states how far from proven optimal the answer may be.

    Notes
    -----
    max sum_i w_i y_i  s.t.  y_i <= sum_{j in N_i} x_j,  sum_j x_j <= k,  x binary,
    0 <= y <= 1 (y is integral at an optimum). Existing coverage is fixed: those demand rows
    are left out and their weight added to the objective.
    """
    cover = csr_matrix(cover, dtype=bool)
    n_dem, n_cand = cover.shape
    weights = np.asarray(weights, dtype=float)
    cand = list(candidate_ids) if candidate_ids is not None else list(range(n_cand))
    dem = list(demand_ids) if demand_ids is not None else list(range(n_dem))
    if not (isinstance(k, (int, np.integer)) and k >= 1):
        raise InputError(f"`k` was {k!r} but must be a whole number of new sites >= 1")
    if len(weights) != n_dem or (weights < 0).any() or np.isnan(weights).any():
        raise InputError("demand weights must be one number >= 0 per demand point")
    covered = np.zeros(n_dem, bool) if covered is None else np.asarray(covered, bool)
    base = float(weights[covered].sum())
    reach = np.asarray(cover.sum(axis=1)).ravel() > 0
    open_rows = np.flatnonzero(~covered & reach & (weights > 0))
    uncoverable = [dem[i] for i in np.flatnonzero(~covered & ~reach & (weights > 0))]
    if len(open_rows) == 0 or n_cand == 0:
        return Placement([], base, "optimal", 0.0, base, 0.0, "max_cover", uncoverable)
    sub = cover[open_rows]
    m = len(open_rows)
    # columns: x_0..x_{n-1}, y_0..y_{m-1}; rows: y_i - sum x_j <= 0 ; sum x <= k
    A_cov = csr_matrix(sub, dtype=float)
    top = hstack([-A_cov, identity(m, format="csr")])
    bottom = hstack([csr_matrix(np.ones((1, n_cand))), csr_matrix((1, m))])
    A = vstack([top, bottom]).tocsc()
    h = _new_highs()
    _pass(h, np.r_[np.zeros(n_cand), weights[open_rows]], np.zeros(n_cand + m), np.ones(n_cand + m),
          [True] * n_cand + [False] * m, A, np.r_[np.full(m, -highspy.kHighsInf), -highspy.kHighsInf],
          np.r_[np.zeros(m), float(k)], maximize=True)
    status, values, gap, bound, seconds = _solve(h, time_limit_s)
    if status not in ("optimal", "time_limit") or len(values) == 0:
        raise GridPatrolError(f"the maximal covering model ended with status {status!r}")
    x = values[:n_cand] > 0.5
    chosen = [cand[j] for j in np.flatnonzero(x)]
    got = base + float(weights[open_rows][np.asarray(sub[:, x].sum(axis=1)).ravel() > 0].sum())
    gap = 0.0 if status == "optimal" else max(0.0, gap)
    return Placement(chosen, got, status, gap, base + bound, seconds, "max_cover", uncoverable)


def set_covering(cover: csr_matrix, *, required: np.ndarray | None = None,
                 covered: np.ndarray | None = None, candidate_ids: Sequence[object] | None = None,
                 demand_ids: Sequence[object] | None = None,
                 time_limit_s: float | None = 60.0) -> Placement:
    """The fewest candidates so that every required demand is reached in time (pure core).

    Demand already ``covered`` by existing sites needs nothing. Demand that no candidate
    reaches is reported in ``uncoverable`` and left out (the rest is still covered).
    """
    cover = csr_matrix(cover, dtype=bool)
    n_dem, n_cand = cover.shape
    cand = list(candidate_ids) if candidate_ids is not None else list(range(n_cand))
    dem = list(demand_ids) if demand_ids is not None else list(range(n_dem))
    required = np.ones(n_dem, bool) if required is None else np.asarray(required, bool)
    covered = np.zeros(n_dem, bool) if covered is None else np.asarray(covered, bool)
    reach = np.asarray(cover.sum(axis=1)).ravel() > 0
    need = np.flatnonzero(required & ~covered & reach)
    uncoverable = [dem[i] for i in np.flatnonzero(required & ~covered & ~reach)]
    if len(need) == 0:
        return Placement([], 0.0, "optimal", 0.0, 0.0, 0.0, "set_cover", uncoverable)
    A = csr_matrix(cover[need], dtype=float).tocsc()
    h = _new_highs()
    _pass(h, np.ones(n_cand), np.zeros(n_cand), np.ones(n_cand), [True] * n_cand, A,
          np.ones(len(need)), np.full(len(need), highspy.kHighsInf), maximize=False)
    status, values, gap, bound, seconds = _solve(h, time_limit_s)
    if status not in ("optimal", "time_limit") or len(values) == 0:
        raise GridPatrolError(f"the set covering model ended with status {status!r}")
    chosen = [cand[j] for j in np.flatnonzero(values > 0.5)]
    gap = 0.0 if status == "optimal" else max(0.0, gap)
    return Placement(chosen, float(len(chosen)), status, gap, bound, seconds, "set_cover", uncoverable)


def demand_from_cells(cells: gpd.GeoDataFrame, cell_nodes: pd.Series, *, weight: str) -> pd.Series:
    """Demand weight per network node: the ``weight`` column of the cells summed by the node
    each cell's centroid snaps to."""
    if weight not in cells.columns:
        raise InputError(f"weight was {weight!r} but the cells have no such column; columns are "
                         f"{[c for c in cells.columns if c != cells.geometry.name]}")
    w = pd.to_numeric(cells[weight], errors="coerce").fillna(0.0).to_numpy()
    return pd.Series(w, index=pd.Index(np.asarray(cell_nodes), dtype=object)).groupby(level=0).sum()


def _coverage_figures(engine: TravelEngine, facilities: pd.Series, demand: pd.Series,
                      minutes: float, delays) -> dict:
    if len(facilities) == 0:
        return {"sites": 0, "weight_within": 0.0, "share_within": 0.0, "demand_within": 0}
    near = nearest_facility(engine, facilities, delays_min=delays, limit_min=minutes)
    within = near["minutes"].reindex(demand.index).to_numpy() <= minutes
    total = float(demand.sum())
    got = float(demand.to_numpy()[within].sum())
    return {"sites": int(len(facilities)), "weight_within": got,
            "share_within": got / total if total else 0.0, "demand_within": int(within.sum())}


def iter_place_posts(engine: TravelEngine, demand: pd.Series, *, minutes: float,
                     existing: pd.Series | None = None, candidates: Sequence[object] | None = None,
                     k: int | None = None, model: str = "max_cover", delays_min=None,
                     time_limit_s: float | None = 60.0, chunk: int = 256) -> Iterator[dict]:
    """Progress of a post placement, then the result: yields ``{"stage", "done", "total"}``
    dicts and finally ``{"stage": "done", "result": Placement}``.

    Parameters
    ----------
    engine : travel-time engine.
    demand : weight per demand node (node id -> weight >= 0).
    minutes : response standard T (minutes).
    existing : existing site id -> node id (fixed).
    candidates : candidate node ids (default: the demand nodes).
    k : new sites (``max_cover``); ignored by ``set_cover``.
    model : ``max_cover`` or ``set_cover``.
    delays_min : turnout delay (minutes) of the existing sites (new sites: none).
    """
    if model not in ("max_cover", "set_cover"):
        raise InputError(f"`model` was {model!r} but is expected to be one of ['max_cover', 'set_cover']")
    if not (minutes > 0):
        raise InputError(f"`minutes` was {minutes!r} but must be minutes > 0")
    if model == "max_cover" and k is None:
        raise InputError("maximal covering needs `k`, the number of new sites")
    existing = pd.Series(dtype=object) if existing is None else pd.Series(existing)
    existing.index = existing.index.map(id_str)
    demand = pd.Series(demand, dtype=float)
    cand = list(dict.fromkeys(candidates if candidates is not None else demand.index))
    taken = set(existing.to_numpy())
    cand = [c for c in cand if c not in taken]
    if not cand:
        raise InputError("no candidate sites left once the existing sites are removed; give candidates")
    dem_nodes = list(demand.index)
    blocks = []
    for start in range(0, len(cand), chunk):
        part = cand[start:start + chunk]
        cost = minutes_matrix(engine, part, dem_nodes, limit_min=minutes)
        blocks.append(csr_matrix(cost <= minutes))
        yield {"stage": "travel times", "done": min(start + chunk, len(cand)), "total": len(cand)}
    cover = vstack(blocks).T.tocsr()
    before = _coverage_figures(engine, existing, demand, minutes, delays_min)
    if len(existing):
        near = nearest_facility(engine, existing, delays_min=delays_min, limit_min=minutes)
        covered = near["minutes"].reindex(dem_nodes).to_numpy() <= minutes
    else:
        covered = np.zeros(len(dem_nodes), bool)
    yield {"stage": "solving", "done": 0, "total": 1}
    if model == "max_cover":
        result = maximal_covering(cover, demand.to_numpy(), k=k, covered=covered,
                                  candidate_ids=cand, demand_ids=dem_nodes, time_limit_s=time_limit_s)
    else:
        result = set_covering(cover, required=demand.to_numpy() > 0, covered=covered,
                              candidate_ids=cand, demand_ids=dem_nodes, time_limit_s=time_limit_s)
    new = pd.Series(result.chosen, index=[f"new{i + 1}" for i in range(len(result.chosen))], dtype=object)
    all_sites = pd.concat([existing, new])
    delays = None
    if delays_min is not None:
        d = pd.Series(delays_min, dtype=float) if not np.isscalar(delays_min) else \
            pd.Series(float(delays_min), index=existing.index)
        delays = d.reindex(all_sites.index).fillna(0.0)
    after = _coverage_figures(engine, all_sites, demand, minutes, delays)
    if model == "set_cover" and after["share_within"] < 1.0 - 1e-9:
        log.warning("coverage target not met: the sites reach %s %% of the demand weight within "
                    "%g min, not all of it; %d demand nodes no candidate reaches in time%s",
                    f"{100 * after['share_within']:.3g}", minutes, len(result.uncoverable),
                    f" ({format_ids(result.uncoverable)})" if result.uncoverable else "")
    if result.status == "time_limit":
        log.warning("the %s solver stopped at time_limit_s (%g s) before proving the answer "
                    "optimal; it may be up to %s %% from the best", model, time_limit_s,
                    f"{100 * result.gap:.3g}")
    result = Placement(result.chosen, result.objective, result.status, result.gap, result.bound,
                       result.seconds, result.model, result.uncoverable, before, after)
    yield {"stage": "done", "done": 1, "total": 1, "result": result}


def place_posts(engine: TravelEngine, demand: pd.Series, **options) -> Placement:
    """``iter_place_posts`` run to the end: the Placement (see there for the options)."""
    result = None
    for step in iter_place_posts(engine, demand, **options):
        result = step.get("result", result)
    return result


# --------------------------------------------------------------------------------------------
# Fewest checkpoints to close a ring

@dataclass(frozen=True, eq=False)
class Cut:
    """The fewest new checkpoints that close a ring.

    Attributes
    ----------
    count : number of new checkpoints (the minimum cut value).
    sites : GeoDataFrame, one row per new checkpoint: ``kind`` (``road`` or ``junction``),
        ``u``, ``v`` (the road; ``node`` for a junction), ``road_class``, point geometry.
    """

    count: int
    sites: gpd.GeoDataFrame

    def summary(self) -> dict:
        return {"new_checkpoints": self.count,
                "sites": [{"kind": r.kind, "u": r.u, "v": r.v, "node": r.node,
                           "road_class": r.road_class} for r in self.sites.itertuples()]}


def fewest_checkpoints(G: nx.MultiDiGraph, ring, *, checkpoints: gpd.GeoDataFrame | None = None,
                       id_col: str | None = "checkpoint_id", tolerance_m: float = 50.0,
                       band_m: float = 0.0, junctions: bool = False) -> Cut:
    """The fewest new checkpoints that close ``ring``, with the existing ``checkpoints`` kept.

    Parameters
    ----------
    G : road graph.
    ring : ring polygon (see ``geo.ring.ring_crossings``).
    checkpoints : existing checkpoints (their roads are already closed).
    band_m : checkpoints may be placed on roads within this many metres of the ring on either
        side (0: only on the crossing roads themselves).
    junctions : also allow a checkpoint at a junction (one site closes all its roads).

    Notes
    -----
    A minimum s-t cut (max-flow) on an auxiliary graph: nodes farther than ``band_m`` outside
    the ring are merged into the source, those farther than ``band_m`` inside into the sink;
    each road has capacity 1 (a two-way road is one gadget so that closing it closes both
    directions), each junction capacity 1 when ``junctions`` else unlimited. The cut is exact.
    """
    poly = ring_polygon(ring, G)
    inside = inside_nodes(G, poly)
    ids = list(G.nodes)
    dist = pd.Series(shapely.distance(poly.boundary, shapely.points(
        [(G.nodes[n]["x"], G.nodes[n]["y"]) for n in ids])), index=pd.Index(ids, dtype=object))
    S, T = ("__S__",), ("__T__",)

    def term(n):
        if dist[n] > band_m or band_m == 0:
            return T if inside[n] else S
        return None

    blocked = blocked_edges(G, checkpoints, id_col=id_col, tolerance_m=tolerance_m)
    F = nx.DiGraph()
    F.add_nodes_from([S, T])

    def head(n):  # entering a node
        t = term(n)
        return t if t is not None else (("in", n) if junctions else ("n", n))

    def tail(n):  # leaving a node
        t = term(n)
        return t if t is not None else (("out", n) if junctions else ("n", n))

    if junctions:
        for n in ids:
            if term(n) is None:
                F.add_edge(("in", n), ("out", n), capacity=1)
    roads: dict[tuple, dict] = {}
    for u, v, k, d in G.edges(keys=True, data=True):
        if (u, v, k) in blocked or u == v:
            continue
        a, b = (u, v) if str(u) <= str(v) else (v, u)
        rec = roads.setdefault((a, b, round(d.get("length_m", 0.0), 1)),
                               {"dirs": set(), "road_class": d.get("road_class", ""),
                                "geometry": d.get("geometry")})
        rec["dirs"].add((u, v))
    for (a, b, _), rec in roads.items():
        if term(a) is not None and term(a) == term(b):
            continue
        r_in, r_out = ("road_in", a, b, id(rec)), ("road_out", a, b, id(rec))
        F.add_edge(r_in, r_out, capacity=1)
        for u, v in rec["dirs"]:
            F.add_edge(tail(u), r_in)
            F.add_edge(r_out, head(v))
        rec["nodes"] = (r_in, r_out)
    if not (F.has_node(S) and F.has_node(T)) or not nx.has_path(F, S, T):
        return Cut(0, gpd.GeoDataFrame({"kind": [], "u": [], "v": [], "node": [], "road_class": []},
                                       geometry=[], crs=G.graph["crs"]))
    value, (reach, _) = nx.minimum_cut(F, S, T)
    rows, geoms = [], []
    for (a, b, _), rec in roads.items():
        if "nodes" in rec and rec["nodes"][0] in reach and rec["nodes"][1] not in reach:
            line = rec["geometry"]
            rows.append({"kind": "road", "u": a, "v": b, "node": None, "road_class": rec["road_class"]})
            geoms.append(line.interpolate(0.5, normalized=True) if line is not None else None)
    if junctions:
        for n in ids:
            if ("in", n) in reach and ("out", n) not in reach and F.has_node(("out", n)):
                rows.append({"kind": "junction", "u": None, "v": None, "node": n, "road_class": ""})
                geoms.append(shapely.Point(G.nodes[n]["x"], G.nodes[n]["y"]))
    sites = gpd.GeoDataFrame(pd.DataFrame(rows, columns=["kind", "u", "v", "node", "road_class"]),
                             geometry=geoms, crs=G.graph["crs"])
    if len(sites) != int(round(value)):
        raise GridPatrolError(f"internal: cut value {value} but {len(sites)} sites read back")
    return Cut(int(round(value)), sites)
