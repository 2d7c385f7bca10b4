"""Exact redistricting by mixed-integer programming (HiGHS), with flow-based contiguity: the yardstick.

The model (after Shirabe 2009 / Validi, Buchanan & Lykhovyd 2022, single-commodity flow per
district): binary x[c, s] puts cell c in district s; each district's station cell is its root
and sends one unit of flow to every other cell of the district, along arcs between adjacent
cells of that district only, which forces every district to be connected. The objective is the
largest absolute deviation of a district's workload from the mean, t, reported as ``1 + t``
(max workload / mean) so that the solver's relative gap is a gap on the largest load.

It solves instances of some tens to a few hundred cells; ``solve_from_arrays`` is the pure
solver on arrays, ``exact_plan`` the adapter from a ``DistrictGraph``.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp

from geo.errors import Problem
from planning.constraints import InfeasibleError, explain_infeasibility
from planning.plan import DistrictGraph, Plan

__all__ = ["ExactResult", "solve_from_arrays", "exact_plan"]


@dataclass(frozen=True)
class ExactResult:
    """What the MIP returned.

    Attributes
    ----------
    plan : the best plan found (None when the solver found none in time).
    status : HiGHS model status in words (``Optimal``, ``Time limit reached``…).
    optimal : True when proven optimal within ``mip_rel_gap``.
    objective : ``"max_deviation"``, ``"distance"`` or ``"moved"``.
    value : the objective of ``plan``: the largest |workload / mean - 1| (fraction), the
        workload-weighted mean distance (m) / time (min), or the moved workload share; None
        without a plan.
    bound : the proven lower bound on ``value``.
    gap : relative gap; for ``max_deviation`` on max load / mean, (t - bound) / (1 + t).
    seconds : solver wall time.
    n_cols, n_rows : model size.
    """

    plan: Plan | None
    status: str
    optimal: bool
    objective: str
    value: float | None
    bound: float
    gap: float
    seconds: float
    n_cols: int
    n_rows: int


def flow_rows(arcs: np.ndarray, root: int, n: int, fcol: np.ndarray, xcol: np.ndarray, big: float,
              r: int, rows: list, cols: list, vals: list, rlo: list, rhi: list) -> int:
    """Append the single-commodity flow rows that keep one district contiguous around ``root``
    (row blocks of a sparse MIP; returns the next free row).

    ``arcs`` are the directed adjacency arcs not entering ``root``, ``fcol`` their flow columns,
    ``xcol[i]`` the column of "unit i is in this district". Rows: flow conservation at every
    non-root unit (in - out - x[i] = 0) and capacity f(a->b) <= big x[b], f(a->b) <= big x[a].
    Shared by the exact plan (``exact.solve_from_arrays``) and the police-district MIP."""
    node_row = np.full(n, -1)
    nonroot = np.array([i for i in range(n) if i != root], dtype=np.int64)
    node_row[nonroot] = r + np.arange(len(nonroot))
    tail, head = arcs[:, 0], arcs[:, 1]
    into = node_row[head] >= 0  # always true: arcs into the root were dropped
    rows.append(node_row[head][into])
    cols.append(fcol[into])
    vals.append(np.ones(into.sum()))
    out = node_row[tail] >= 0
    rows.append(node_row[tail][out])
    cols.append(fcol[out])
    vals.append(-np.ones(out.sum()))
    rows.append(node_row[nonroot])
    cols.append(xcol[nonroot])
    vals.append(-np.ones(len(nonroot)))
    rlo.append(np.zeros(len(nonroot)))
    rhi.append(np.zeros(len(nonroot)))
    r += len(nonroot)
    m = len(arcs)
    for end in (head, tail):
        rr = r + np.arange(m)
        rows.append(np.concatenate([rr, rr]))
        cols.append(np.concatenate([fcol, xcol[end]]))
        vals.append(np.concatenate([np.ones(m), np.full(m, -big)]))
        rlo.append(np.full(m, -np.inf))
        rhi.append(np.zeros(m))
        r += m
    return r


def solve_from_arrays(workload: np.ndarray, pairs: np.ndarray, roots: np.ndarray, *,
                      allowed: np.ndarray | None = None, fixed: np.ndarray | None = None,
                      objective: str = "max_deviation", cost: np.ndarray | None = None,
                      max_deviation: float | None = None, unit: float | None = None,
                      start: np.ndarray | None = None, time_limit_s: float = 60.0,
                      mip_rel_gap: float = 1e-4, threads: int = 1, seed: int = 0) -> dict:
    """Minimise the largest workload deviation over contiguous districts rooted at ``roots``.

    Parameters
    ----------
    workload : (n,) cell workloads (any positive scale; normalised to mean 1 per district).
    pairs : (E, 2) adjacent cell positions (undirected, each pair once).
    roots : (k,) the cell position of each district's station.
    allowed : optional (n, k) boolean, False where cell c may not join district s.
    fixed : optional (n,) district index per cell (-1 = free), for locked cells.
    objective : ``"max_deviation"``: minimise t = max |load / mean - 1| (reported as 1 + t);
        ``"distance"``: minimise sum of workload x cost[c, s] (workload-weighted distance or
        time from the station) subject to |load / mean - 1| <= ``max_deviation``.
    cost : (n, k) station-to-cell cost for ``"distance"``.
    max_deviation : the balance bound (fraction); required for ``"distance"``, optional
        upper bound on t for ``"max_deviation"``.
    unit : when every workload is a whole multiple of ``unit`` (counts), loads are too, and
        t >= the rounding of the mean to whole units is added as a valid bound.
    start : optional (n,) contiguous assignment given to HiGHS as a first incumbent (flows
        are derived from a spanning tree of each district).
    time_limit_s, mip_rel_gap, threads, seed : HiGHS options.

    Returns
    -------
    dict with ``assignment`` ((n,) district per cell, or None), ``status`` (str),
    ``optimal`` (bool), ``infeasible`` (bool), ``objective`` (1 + t, or the workload-weighted
    mean cost), ``bound`` (the proven lower bound on it), ``gap`` (relative),
    ``seconds``, ``n_cols``, ``n_rows``.
    """
    w = np.asarray(workload, dtype=float)
    n, k = len(w), len(roots)
    a = w * k / w.sum()  # mean district workload = 1
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    arcs = np.concatenate([pairs, pairs[:, ::-1]])  # directed i -> j
    big = float(n - k + 1)

    # Column layout: x (n*k), t (1), flows per district s over arcs not entering its root.
    nx = n * k
    it = nx
    flow_arcs = []
    for s in range(k):
        keep = arcs[:, 1] != roots[s]
        flow_arcs.append(arcs[keep])
    offsets = np.cumsum([0] + [len(f) for f in flow_arcs])
    ncol = nx + 1 + int(offsets[-1])

    def xi(c, s):
        return c * k + s

    lower = np.zeros(ncol)
    upper = np.full(ncol, highspy.kHighsInf)
    upper[:nx] = 1.0
    for s, r in enumerate(roots):
        lower[xi(r, s)] = 1.0
        for s2 in range(k):
            if s2 != s:
                upper[xi(r, s2)] = 0.0
    if allowed is not None:
        bad = np.argwhere(~np.asarray(allowed, dtype=bool))
        upper[bad[:, 0] * k + bad[:, 1]] = np.minimum(upper[bad[:, 0] * k + bad[:, 1]], 0.0)
    if fixed is not None:
        for c in np.flatnonzero(np.asarray(fixed) >= 0):
            lower[xi(c, int(fixed[c]))] = 1.0
    if objective not in ("max_deviation", "distance"):
        raise ValueError(f"objective was {objective!r} but is expected to be one of "
                         "['max_deviation', 'distance']")
    obj = np.zeros(ncol)
    if objective == "max_deviation":
        obj[it] = 1.0
        if unit:
            m = w.sum() / k / unit  # mean load in units; loads are whole units
            lo_gap = max(math.ceil(m - 1e-9) - m, m - math.floor(m + 1e-9))
            lower[it] = max(0.0, lo_gap / m - 1e-9)
        if max_deviation is not None:
            upper[it] = max_deviation
    else:
        if cost is None or max_deviation is None:
            raise ValueError("objective 'distance' needs cost and max_deviation")
        c_ = np.asarray(cost, dtype=float)
        obj[:nx] = (w[:, None] * c_).ravel() / w.sum()
        upper[it] = max_deviation

    rows, cols, vals, rlo, rhi = [], [], [], [], []
    r = 0
    # 1. each cell in exactly one district
    cc = np.repeat(np.arange(n), k)
    ss = np.tile(np.arange(k), n)
    rows.append(cc)
    cols.append(cc * k + ss)
    vals.append(np.ones(n * k))
    rlo.append(np.ones(n))
    rhi.append(np.ones(n))
    r += n
    # 2. |load_s - 1| <= t  as  load_s - t <= 1 and load_s + t >= 1
    for sign, lo, hi in ((-1.0, -np.inf, 1.0), (1.0, 1.0, np.inf)):
        rr = np.concatenate([r + ss, r + np.arange(k)])
        ccol = np.concatenate([cc * k + ss, np.full(k, it)])
        vv = np.concatenate([a[cc], np.full(k, sign)])
        rows.append(rr)
        cols.append(ccol)
        vals.append(vv)
        rlo.append(np.full(k, lo))
        rhi.append(np.full(k, hi))
        r += k
    # 3. flow conservation at every non-root cell: in - out - x[i, s] = 0
    # 4. capacity: f(i->j) <= big x[j, s] and f(i->j) <= big x[i, s]
    for s in range(k):
        fa = flow_arcs[s]
        fcol = nx + 1 + offsets[s] + np.arange(len(fa))
        r = flow_rows(fa, int(roots[s]), n, fcol, np.arange(n) * k + s, big, r, rows, cols, vals, rlo, rhi)
    # 5. (valid inequality) a non-root cell of s has a neighbour in s
    nb: list[list[int]] = [[] for _ in range(n)]
    for i, j in pairs:
        nb[i].append(j)
        nb[j].append(i)
    for s in range(k):
        for j in range(n):
            if j == roots[s]:
                continue
            rows.append(np.full(len(nb[j]) + 1, r))
            cols.append(np.array([xi(j, s)] + [xi(i, s) for i in nb[j]]))
            vals.append(np.array([1.0] + [-1.0] * len(nb[j])))
            rlo.append(np.array([-np.inf]))
            rhi.append(np.array([0.0]))
            r += 1
    nrow = r
    mat = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                        shape=(nrow, ncol))
    mat.sort_indices()

    from planning.highs import new_highs  # silent (its log with GP_HIGHS_LOG set)
    h = new_highs(threads=threads)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    h.setOptionValue("random_seed", int(seed))
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = ncol, nrow
    lp.col_cost_ = obj
    lp.col_lower_, lp.col_upper_ = lower, upper
    inf = highspy.kHighsInf
    lp.row_lower_ = np.where(np.isinf(np.concatenate(rlo)), -inf, np.concatenate(rlo))
    lp.row_upper_ = np.where(np.isinf(np.concatenate(rhi)), inf, np.concatenate(rhi))
    lp.offset_ = 1.0 if objective == "max_deviation" else 0.0
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = mat.indptr.astype(np.int32)
    lp.a_matrix_.index_ = mat.indices.astype(np.int32)
    lp.a_matrix_.value_ = mat.data
    integ = [highspy.HighsVarType.kInteger] * nx + [highspy.HighsVarType.kContinuous] * (ncol - nx)
    lp.integrality_ = integ
    h.passModel(lp)
    if start is not None:
        h.setSolution(_start_solution(np.asarray(start), a, nb, roots, flow_arcs, offsets, ncol))
    t0 = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - t0
    status = h.getModelStatus()
    info = h.getInfo()
    text = h.modelStatusToString(status)
    assignment = None
    value = None
    if info.primal_solution_status == 2:  # feasible
        xval = np.asarray(h.getSolution().col_value[:nx]).reshape(n, k)
        assignment = xval.argmax(axis=1)
        load = np.bincount(assignment, weights=a, minlength=k)
        if objective == "max_deviation":
            value = 1.0 + float(np.abs(load - 1.0).max())
        else:
            value = float(obj[:nx][np.arange(n) * k + assignment].sum())
    floor = 1.0 if objective == "max_deviation" else 0.0
    bound = float(info.mip_dual_bound) if np.isfinite(info.mip_dual_bound) else floor
    bound = max(floor, bound)
    gap = (value - bound) / value if value else (0.0 if value == 0 else float("inf"))
    return {"assignment": assignment, "status": text,
            "optimal": status == highspy.HighsModelStatus.kOptimal,
            "infeasible": status == highspy.HighsModelStatus.kInfeasible,
            "objective": value, "bound": bound, "gap": max(0.0, gap), "seconds": seconds,
            "n_cols": ncol, "n_rows": nrow}


def _start_solution(assign: np.ndarray, a: np.ndarray, nb: list[list[int]], roots: np.ndarray,
                    flow_arcs: list[np.ndarray], offsets: np.ndarray, ncol: int):
    """A full HiGHS solution (x, t, flows along BFS trees) for a contiguous assignment."""
    n, k = len(assign), len(roots)
    col = np.zeros(ncol)
    col[np.arange(n) * k + assign] = 1.0
    load = np.bincount(assign, weights=a, minlength=k)
    col[n * k] = float(np.abs(load - 1.0).max())
    for s in range(k):
        parent = {int(roots[s]): -1}
        order = [int(roots[s])]
        for v in order:
            for w in nb[v]:
                if assign[w] == s and w not in parent:
                    parent[w] = v
                    order.append(w)
        size = {v: 1 for v in order}
        for v in reversed(order[1:]):
            size[parent[v]] += size[v]
        pos = {(int(i), int(j)): p for p, (i, j) in enumerate(flow_arcs[s])}
        for v in order[1:]:
            col[n * k + 1 + offsets[s] + pos[(parent[v], v)]] = size[v]
    sol = highspy.HighsSolution()
    sol.col_value = col.tolist()
    sol.value_valid = True
    return sol


def exact_plan(graph: DistrictGraph, *, objective: str = "max_deviation",
               max_deviation: float | None = None, max_cost: float | None = None,
               locked: np.ndarray | None = None, baseline: Plan | None = None,
               start: Plan | None = None, time_limit_s: float = 60.0,
               mip_rel_gap: float = 1e-4, threads: int = 1, seed: int = 0) -> ExactResult:
    """The best contiguous plan holding every station, by MIP (see the module docstring).

    Parameters
    ----------
    graph : the district graph (workload, adjacency, station cells and cost are used).
    objective : ``"max_deviation"`` (smallest largest deviation from the mean workload),
        ``"distance"`` (smallest workload-weighted mean distance/time from the station with
        every district within ``max_deviation``) or ``"moved"`` (smallest share of the total
        workload in units whose station differs from ``baseline``, every district within
        ``max_deviation``: the yardstick of ``planning.least_change``).
    max_deviation : the balance bound (fraction of the mean); required for ``"distance"``.
    max_cost : cells may not join a station farther than this (metres or minutes).
    locked, baseline : a mask of cells fixed to their station in ``baseline`` (which is also
        the plan ``"moved"`` counts changes against).
    start : a contiguous plan handed to HiGHS as its first incumbent (default: districts
        grown from the stations, ``redistrict.grown_plan``, for ``"max_deviation"`` when
        nothing is locked or limited).
    time_limit_s : stop the solver after this many seconds (the result says whether the
        plan is proven optimal, and the gap otherwise).

    When the workload is one column of whole counts, loads are whole counts too and the
    rounding bound on the deviation is given to the solver.

    Raises
    ------
    InfeasibleError
        When arithmetic shows the request impossible before solving, or HiGHS proves it
        infeasible.
    """
    problems = explain_infeasibility(graph, locked=locked, baseline=baseline,
                                     max_cost_limit=max_cost, max_deviation=max_deviation)
    if problems:
        raise InfeasibleError(problems)
    allowed = None
    if max_cost is not None:
        allowed = graph.cost <= max_cost
        allowed[graph.station_cell, np.arange(graph.n_stations)] = True
    fixed = None
    if locked is not None and baseline is not None:
        fixed = np.where(locked, baseline.assignment, -1)
        fixed[graph.station_cell] = np.arange(graph.n_stations)
    cost = graph.cost
    if objective == "moved":
        if baseline is None or max_deviation is None:
            raise ValueError("objective 'moved' needs baseline and max_deviation")
        cost = (np.arange(graph.n_stations)[None, :] != baseline.assignment[:, None]).astype(float)
    elif objective not in ("max_deviation", "distance"):
        raise ValueError(f"objective was {objective!r} but is expected to be one of "
                         "['max_deviation', 'distance', 'moved']")
    pairs = graph.pairs[["a", "b"]].to_numpy()
    if (start is None and objective == "max_deviation" and allowed is None and fixed is None
            and max_deviation is None):
        from planning.redistrict import grown_plan
        start = grown_plan(graph)
    unit = None
    if len(graph.weights) == 1:
        (col, weight), = graph.weights.items()
        raw = graph.column(col)
        if raw.sum() > 0 and np.allclose(raw, np.round(raw)):
            unit = weight / raw.sum()  # the workload of one count
    out = solve_from_arrays(graph.workload, pairs, graph.station_cell, allowed=allowed,
                            fixed=fixed, objective="distance" if objective == "moved" else objective,
                            cost=cost,
                            max_deviation=max_deviation, unit=unit,
                            start=None if start is None else start.assignment,
                            time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap,
                            threads=threads, seed=seed)
    if out["infeasible"]:
        raise InfeasibleError([Problem("plan", "cells", "mip_infeasible",
                                       "HiGHS proved that no contiguous plan meets the "
                                       "balance bound, locks and distance limits",
                                       "allow a larger deviation, unlock cells or raise the "
                                       "distance limit")])
    plan = Plan(graph, out["assignment"], name="exact") if out["assignment"] is not None else None
    if objective == "max_deviation":
        value = None if out["objective"] is None else out["objective"] - 1.0
        bound = out["bound"] - 1.0
    else:
        value, bound = out["objective"], out["bound"]
    return ExactResult(plan=plan, status=out["status"], optimal=out["optimal"],
                       objective=objective, value=value, bound=bound, gap=out["gap"],
                       seconds=out["seconds"], n_cols=out["n_cols"], n_rows=out["n_rows"])
