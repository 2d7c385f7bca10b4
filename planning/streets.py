"""Street coverage: a rural-postman tour over chosen street segments, split among patrol units.

The tour covers every required segment at least once on the street network treated as
undirected (foot and bicycle patrols; one-way rules are not applied). Method (Frederickson's
heuristic, exact when the required segments form one connected piece):

1. the required segments form a multigraph R; if R falls into several pieces (or the depot is
   off R), the pieces are joined by the shortest paths of a minimum spanning tree over the
   pieces' shortest-path distances;
2. the odd-degree nodes of R are paired by a NetworkX minimum-weight perfect matching on
   shortest-path distances (all pairs up to ``exact_matching_max`` odd nodes, else each node's
   ``k_nearest`` odd neighbours, then improved by swapping partners between pairs), and each
   pair's shortest path is added;
3. an Euler circuit of the result is the tour.

``lower_bound_m`` = required length + a lower bound of the odd-node matching (the exact matching
when it was solved on all pairs; else half the optimal assignment on the same distances, which
no perfect matching can beat). The bound ignores the cost of joining pieces, so it is also a
bound when R is disconnected.

``split_tour`` cuts the circuit into consecutive pieces, one per unit, each driven depot ->
piece -> depot, with the smallest longest unit time (binary search on that time, greedy cuts).
Shortest paths and distances come from ``geo.traveltime`` (one Dijkstra per source batch).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Iterable, Sequence

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.optimize import linear_sum_assignment

from geo.errors import InputError, format_ids
from planning.patrol.problem import PatrolInfeasible
from planning.patrol.routes import _path_line, leg_paths

__all__ = ["StreetTour", "StreetSplit", "undirected_lengths", "postman_tour", "split_tour",
           "tour_lines"]

log = logging.getLogger(__name__)


def undirected_lengths(G: nx.Graph, *, weight: str = "length_m") -> nx.Graph:
    """A simple undirected graph of ``G`` with the shortest ``weight`` (metres) between each
    pair of adjacent nodes, and node ``x``/``y`` copied. The input is untouched."""
    U = nx.Graph(crs=G.graph.get("crs"))
    for n, d in G.nodes(data=True):
        U.add_node(n, **{k: d[k] for k in ("x", "y") if k in d})
    data = G.edges(data=weight) if not G.is_multigraph() else G.edges(keys=False, data=weight)
    for u, v, w in data:
        if u == v:
            continue
        if w is None or not (w > 0):
            raise InputError(f"edge {u} - {v} has {weight}={w!r}; lengths must be > 0 metres")
        if not U.has_edge(u, v) or U[u][v][weight] > w:
            U.add_edge(u, v, **{weight: float(w)})
    return U


def _engine(U: nx.Graph, weight: str):
    from geo.traveltime import engine_from_graph
    return engine_from_graph(U.to_directed(as_view=True), weight=weight)


def _metres(engine, sources: Sequence, targets: Sequence) -> np.ndarray:
    from geo.traveltime import minutes_matrix
    return minutes_matrix(engine, sources, targets) * 60.0  # the engine's "seconds" are metres


def _improved_pairs(D: np.ndarray, pairs, *, max_rounds: int = 5000) -> set[tuple[int, int]]:
    """Swap partners between two pairs while that shortens the pairing (2-opt on a matching)."""
    P = np.array(sorted(pairs), dtype=np.int64)
    if len(P) < 2:
        return {tuple(p) for p in P}
    for _ in range(max_rounds):
        a, b = P[:, 0], P[:, 1]
        now = D[a, b]
        cur = now[:, None] + now[None, :]
        alt1 = D[a[:, None], a[None, :]] + D[b[:, None], b[None, :]]
        alt2 = D[a[:, None], b[None, :]] + D[b[:, None], a[None, :]]
        gain1, gain2 = cur - alt1, cur - alt2
        np.fill_diagonal(gain1, 0.0)
        np.fill_diagonal(gain2, 0.0)
        i1, i2 = np.unravel_index(np.argmax(gain1), gain1.shape), np.unravel_index(np.argmax(gain2), gain2.shape)
        g1, g2 = gain1[i1], gain2[i2]
        if max(g1, g2) <= 1e-6:
            break
        if g1 >= g2:
            i, j = i1
            P[i], P[j] = (a[i], a[j]), (b[i], b[j])
        else:
            i, j = i2
            P[i], P[j] = (a[i], b[j]), (b[i], a[j])
    return {(int(x), int(y)) for x, y in P}


def _matching_bound(D: np.ndarray, exact_max: int = 200) -> float:
    """A lower bound of the minimum perfect matching on distance matrix ``D``: the exact
    matching for small sets, else half the optimal assignment (no matching is shorter)."""
    n = len(D)
    if n <= exact_max:
        M = nx.Graph()
        iu, ju = np.triu_indices(n, 1)
        M.add_weighted_edges_from((int(i), int(j), float(D[i, j])) for i, j in zip(iu, ju))
        return float(sum(D[i, j] for i, j in nx.min_weight_matching(M)))
    A = D.copy()
    np.fill_diagonal(A, 1e18)
    r, c = linear_sum_assignment(A)
    return float(A[r, c].sum()) / 2.0


@dataclass(frozen=True, eq=False)
class StreetTour:
    """A closed tour covering the required segments.

    Attributes
    ----------
    nodes : the circuit as a node sequence (first == last).
    length_m : its length in metres; ``required_m`` the required segments' length,
        ``deadhead_m`` the rest (joins and matching paths).
    matching_m : length of the odd-node pairing used; ``lower_bound_m`` see the module docstring;
        ``matching_exact`` whether the pairing was solved on all pairs.
    required : the required segments as (u, v) pairs (as given).
    seconds : time to build it.
    """

    nodes: tuple
    length_m: float
    required_m: float
    deadhead_m: float
    matching_m: float
    lower_bound_m: float
    matching_exact: bool
    required: tuple
    seconds: float


def postman_tour(G: nx.Graph, required: Iterable[tuple], *, start: object | None = None,
                 weight: str = "length_m", exact_matching_max: int = 120,
                 k_nearest: int = 10) -> StreetTour:
    """A rural-postman tour of ``G`` (undirected view) covering every ``required`` segment.

    Parameters
    ----------
    G : road graph (``geo.network`` MultiDiGraph, or any graph with ``weight`` in metres).
    required : (u, v) node pairs of the segments to cover (direction ignored; a pair listed
        twice is covered twice).
    start : node the tour starts and ends at (default: a node of the first segment); it is
        joined to the required segments like another piece when off them.
    exact_matching_max : pair odd nodes over all pairs up to this many odd nodes (NetworkX's
        blossom matching is pure Python: all pairs of 700 odd nodes take minutes).
    k_nearest : otherwise, candidate partners per odd node (shortest-path distance).
    """
    t0 = time.perf_counter()
    U = undirected_lengths(G, weight=weight)
    req = [tuple(e[:2]) for e in required]
    if not req:
        raise InputError("no street segments to cover; choose at least one segment")
    bad = [f"{u}-{v}" for u, v in req if not U.has_edge(u, v)]
    if bad:
        raise InputError(f"{len(bad)} required segments are not edges of the network: "
                         f"{format_ids(bad)}; give pairs of adjacent node ids")
    if start is not None and start not in U:
        raise InputError(f"the start node {start!r} is not on the network; give a node id of it")
    R = nx.MultiGraph()
    for u, v in req:
        R.add_edge(u, v, **{weight: U[u][v][weight]}, required=True)
    start = req[0][0] if start is None else start
    R.add_node(start)
    required_m = float(sum(d[weight] for *_, d in R.edges(data=True)))
    engine = _engine(U, weight)

    def add_paths(pairs: list[tuple]) -> None:
        for path in leg_paths(engine, pairs):  # one Dijkstra per distinct origin
            for x, y in zip(path[:-1], path[1:]):
                R.add_edge(x, y, **{weight: U[x][y][weight]}, required=False)

    odd_required = [n for n, deg in R.degree() if deg % 2]
    # 1. Join the pieces of R (Frederickson): MST over shortest distances between pieces.
    comps = [list(c) for c in nx.connected_components(R)]
    if len(comps) > 1:
        C = nx.Graph()
        members = [np.array(c, dtype=object) for c in comps]
        all_nodes = np.concatenate(members)
        owner = np.concatenate([np.full(len(c), i) for i, c in enumerate(comps)])
        D = _metres(engine, list(all_nodes), list(all_nodes))
        for i in range(len(comps)):
            rows = owner == i
            for j in range(i + 1, len(comps)):
                cols = owner == j
                sub = D[np.ix_(rows, cols)]
                a, b = np.unravel_index(int(np.argmin(sub)), sub.shape)
                C.add_edge(i, j, weight=float(sub[a, b]), pair=(all_nodes[rows][a], all_nodes[cols][b]))
        # Parity is repaired by the matching below.
        add_paths([d["pair"] for _, _, d in nx.minimum_spanning_edges(C, data=True)])
    # 2. Pair the odd nodes.
    odd = [n for n, deg in R.degree() if deg % 2]
    matching_m, exact, bound_matching = 0.0, True, 0.0
    if odd:
        D = _metres(engine, odd, odd)
        n = len(odd)
        M = nx.Graph()
        exact = n <= exact_matching_max
        if exact:
            iu, ju = np.triu_indices(n, 1)
        else:
            k = min(k_nearest, n - 1)
            nearest = np.argsort(D + np.diag(np.full(n, np.inf)), axis=1)[:, :k]
            iu = np.repeat(np.arange(n), k)
            ju = nearest.ravel()
        M.add_weighted_edges_from((int(i), int(j), float(D[i, j])) for i, j in zip(iu, ju) if i != j)
        pairs = {tuple(sorted(p)) for p in nx.min_weight_matching(M)}
        if 2 * len(pairs) != n:
            # The k-nearest candidates admit no perfect matching: pair the leftovers greedily
            # by shortest distance (rare; the tour stays valid, only possibly longer).
            left = sorted(set(range(n)) - {i for p in pairs for i in p})
            log.info("odd-node pairing: %d nodes paired greedily outside the k-nearest matching",
                     len(left))
            sub = D[np.ix_(left, left)] + np.diag(np.full(len(left), np.inf))
            while left:
                a, b = np.unravel_index(int(np.argmin(sub)), sub.shape)
                pairs.add((left[a], left[b]))
                keep = [x for x in range(len(left)) if x not in (a, b)]
                left = [left[x] for x in keep]
                sub = sub[np.ix_(keep, keep)]
        if not exact:
            pairs = _improved_pairs(D, pairs)
        matching_m = float(sum(D[i, j] for i, j in pairs))
        bound_matching = matching_m if exact else _matching_bound(D, exact_max=0)
        add_paths([(odd[i], odd[j]) for i, j in pairs])
    if len(comps) > 1:
        # The bound must come from the odd nodes of the required segments alone.
        bound_matching = _matching_bound(_metres(engine, odd_required, odd_required)) if odd_required else 0.0
    circuit = [u for u, v in nx.eulerian_circuit(R, source=start)] + [start]
    length = float(sum(U[a][b][weight] for a, b in zip(circuit[:-1], circuit[1:])))
    return StreetTour(nodes=tuple(circuit), length_m=length, required_m=required_m,
                      deadhead_m=length - required_m, matching_m=matching_m,
                      lower_bound_m=required_m + bound_matching, matching_exact=exact,
                      required=tuple(req), seconds=time.perf_counter() - t0)


@dataclass(frozen=True, eq=False)
class StreetSplit:
    """A tour cut into one piece per unit.

    Attributes
    ----------
    paths : per unit, its node sequence depot -> piece -> depot (empty for an idle unit).
    length_m, minutes : per unit, metres walked or driven and minutes at ``speed_kmh``.
    covered_share : share of the tour's length that the units cover within their budgets.
    uncovered : (u, v) tour steps that no unit reaches within its budget.
    """

    paths: tuple
    length_m: np.ndarray
    minutes: np.ndarray
    covered_share: float
    uncovered: tuple


def split_tour(G: nx.Graph, tour: StreetTour, *, units: int, speed_kmh: float,
               budget_min: float | None = None, depot: object | None = None,
               weight: str = "length_m") -> StreetSplit:
    """Cut ``tour`` into ``units`` consecutive pieces with the smallest longest unit time.

    Each unit goes from ``depot`` (default: the tour's start) by the shortest path to its
    piece, follows it, and returns. With ``budget_min`` (minutes per unit) the pieces are cut so
    that every unit stays within it; what is left over is reported in ``uncovered`` rather than
    silently dropped. Raises PatrolInfeasible when no unit can cover even one segment.
    """
    if not isinstance(units, (int, np.integer)) or units < 1:
        raise InputError(f"units was {units!r}; give at least one patrol unit")
    if not speed_kmh > 0:
        raise InputError(f"speed_kmh was {speed_kmh!r}; give km/h > 0 (foot patrol 5)")
    U = undirected_lengths(G, weight=weight)
    depot = tour.nodes[0] if depot is None else depot
    if depot not in U:
        raise InputError(f"the depot {depot!r} is not on the network")
    engine = _engine(U, weight)
    steps = list(zip(tour.nodes[:-1], tour.nodes[1:]))
    seg = np.array([U[a][b][weight] for a, b in steps])
    nodes = list(dict.fromkeys(tour.nodes))
    dist = dict(zip(nodes, _metres(engine, [depot], nodes)[0]))
    to_m = lambda minutes: minutes * speed_kmh * 1000.0 / 60.0  # noqa: E731
    cap = np.inf if budget_min is None else to_m(budget_min)

    def cut(limit: float) -> list[tuple[int, int]]:
        pieces, i = [], 0
        while i < len(steps):
            a = steps[i][0]
            run, j = 0.0, i
            while j < len(steps) and dist[a] + run + seg[j] + dist[steps[j][1]] <= limit + 1e-6:
                run += seg[j]
                j += 1
            if j == i:
                return []  # one step alone does not fit
            pieces.append((i, j))
            i = j
        return pieces

    lo = max(dist[a] + s + dist[b] for (a, b), s in zip(steps, seg))
    hi = max(lo, 2 * max(dist.values()) + float(seg.sum()))
    if lo > cap:
        if budget_min is not None and min(dist[a] + s + dist[b] for (a, b), s in zip(steps, seg)) > cap:
            raise PatrolInfeasible(f"the budget of {budget_min:.0f} min at {speed_kmh:g} km/h "
                                   "does not reach any required segment and back; lengthen the "
                                   "shift or start nearer the streets")
    pieces: list[tuple[int, int]] = []
    if len(cut(min(hi, cap) if np.isfinite(cap) else hi)) <= units and lo <= cap:
        for _ in range(60):
            mid = (lo + hi) / 2.0
            got = cut(mid)
            if got and len(got) <= units:
                hi = mid
            else:
                lo = mid
            if hi - lo < 1.0:
                break
        pieces = cut(hi)
    else:
        # The budget is binding: fill each unit up to the budget, in tour order.
        i = 0
        for _ in range(units):
            if i >= len(steps):
                break
            a = steps[i][0]
            run, j = 0.0, i
            while j < len(steps) and dist[a] + run + seg[j] + dist[steps[j][1]] <= cap + 1e-6:
                run += seg[j]
                j += 1
            if j == i:
                i += 1  # this step does not fit anyone starting here; skip it
                continue
            pieces.append((i, j))
            i = j
    covered = np.zeros(len(steps), dtype=bool)
    paths, lengths = [], []
    for i, j in pieces:
        covered[i:j] = True
        body = list(tour.nodes[i:j + 1])
        go = leg_paths(engine, [(depot, body[0])])[0]
        back = leg_paths(engine, [(body[-1], depot)])[0]
        path = go[:-1] + body + back[1:]
        paths.append(tuple(path))
        lengths.append(float(sum(U[a][b][weight] for a, b in zip(path[:-1], path[1:]))))
    while len(paths) < units:
        paths.append(())
        lengths.append(0.0)
    lengths = np.array(lengths)
    uncovered = tuple(s for s, c in zip(steps, covered) if not c)
    if uncovered:
        log.warning("%d tour steps are beyond the units' budget and not covered", len(uncovered))
    return StreetSplit(paths=tuple(paths), length_m=lengths,
                       minutes=lengths / (speed_kmh * 1000.0 / 60.0),
                       covered_share=float(seg[covered].sum() / seg.sum()) if seg.sum() else 1.0,
                       uncovered=uncovered)


def tour_lines(G: nx.MultiDiGraph, split: StreetSplit, *, weight: str = "length_m") -> gpd.GeoDataFrame:
    """One LineString per unit (``unit``, ``length_m``, ``minutes``) in ``G.graph["crs"]``,
    following the edge geometries in either direction."""
    rows, geoms = [], []
    for k, path in enumerate(split.paths):
        if not path:
            continue
        coords: list = []
        for a, b in zip(path[:-1], path[1:]):
            if G.has_edge(a, b):
                c = _path_line(G, [a, b], weight)
            else:
                c = _path_line(G, [b, a], weight)[::-1]
            coords.extend(c if not coords else c[1:])
        rows.append({"unit": k + 1, "length_m": float(split.length_m[k]),
                     "minutes": float(split.minutes[k])})
        geoms.append(shapely.LineString(coords if len(coords) > 1 else coords * 2))
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=["unit", "length_m", "minutes"]),
                            geometry=geoms, crs=G.graph.get("crs"))
