"""Street coverage: a rural-postman tour over chosen street segments, split among patrol units.

``street_tour`` picks the tour: ``directed_postman_tour`` (one-way streets honoured: a
directed / mixed rural postman, min-cost flow plus a time-limited exact integer program, see
there) when the network has one-way streets and they apply (vehicles), else ``postman_tour``.
``rural_postman_mip`` is the exact optimum by an integer program (HiGHS) for checking.

``postman_tour`` covers every required segment at least once on the street network treated as
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
piece -> depot (one-way streets honoured for a directed tour), with the smallest longest unit
time (binary search on that time, greedy cuts); when the budgets cannot hold the tour, each unit
is filled up to its budget in tour order and a warning gives the share covered.
Shortest paths and distances come from ``geo.traveltime`` (one Dijkstra per source batch).
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Sequence

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.optimize import linear_sum_assignment

from geo.errors import InputError, format_ids
from geo.traveltime import engine_from_graph
from planning.patrol.problem import PatrolInfeasible
from planning.patrol.routes import _path_line, leg_paths

__all__ = ["StreetTour", "StreetSplit", "undirected_lengths", "directed_lengths", "postman_tour",
           "directed_postman_tour", "street_tour", "rural_postman_mip", "split_tour", "tour_lines"]

log = logging.getLogger(__name__)


def _ordered_components(components) -> list[list]:
    """Components as sorted lists in a fixed order: networkx yields sets, whose order for text
    node ids changes with Python's hash seed, and the tour (and the units' split) must not."""
    return sorted((sorted(c, key=str) for c in components), key=lambda c: str(c[0]))


def _simple_lengths(G: nx.Graph, *, directed: bool, weight: str) -> nx.Graph:
    """A simple (di)graph of ``G`` keeping the shortest ``weight`` (metres) of parallel edges,
    node ``x``/``y`` copied; ``directed``: a directed ``G`` keeps its arcs and an undirected one
    gives both arcs of every edge. The input is untouched."""
    H = nx.DiGraph(crs=G.graph.get("crs")) if directed else nx.Graph(crs=G.graph.get("crs"))
    for n, d in G.nodes(data=True):
        H.add_node(n, **{k: d[k] for k in ("x", "y") if k in d})
    data = G.edges(data=weight) if not G.is_multigraph() else G.edges(keys=False, data=weight)
    for u, v, w in data:
        if u == v:
            continue
        if w is None or not (w > 0):
            raise InputError(f"edge {u} - {v} has {weight}={w!r}; lengths must be > 0 metres")
        pairs = ((u, v), (v, u)) if directed and not G.is_directed() else ((u, v),)
        for a, b in pairs:
            if not H.has_edge(a, b) or H[a][b][weight] > w:
                H.add_edge(a, b, **{weight: float(w)})
    return H


def undirected_lengths(G: nx.Graph, *, weight: str = "length_m") -> nx.Graph:
    """A simple undirected graph of ``G`` with the shortest ``weight`` (metres) between each
    pair of adjacent nodes, and node ``x``/``y`` copied. The input is untouched."""
    return _simple_lengths(G, directed=False, weight=weight)


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
    directed: bool = False


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
    comps = _ordered_components(nx.connected_components(R))
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


# --- one-way streets: the directed / mixed rural postman ------------------------------------------

def directed_lengths(G: nx.Graph, *, weight: str = "length_m") -> nx.DiGraph:
    """A simple directed graph of ``G`` with the shortest ``weight`` (metres) of each arc, and
    node ``x``/``y`` copied. A two-way street of ``geo.network`` is two arcs, a one-way street
    one; an undirected ``G`` gives both arcs of every edge. The input is untouched."""
    return _simple_lengths(G, directed=True, weight=weight)


def _mm(metres: float) -> int:
    return int(round(metres * 1000.0))


def _balance_flow(D: nx.DiGraph, R: nx.MultiDiGraph, twoway: list[tuple], weight: str) -> tuple[float, dict]:
    """The min-cost flow that balances in- and out-degrees of ``R`` over the arcs of ``D``
    (key ``road``, cost its length in mm) and the capacity-2 free turn arcs of the two-way
    required streets (key ``turn``): (cost in metres, flow dict). Raises PatrolInfeasible when
    one-way streets make it impossible."""
    F = nx.MultiDiGraph()
    balance: dict = {}
    for u, v in R.edges():
        balance[u] = balance.get(u, 0) + 1
        balance[v] = balance.get(v, 0) - 1
    if not any(balance.values()):
        return 0.0, {}
    for n in D.nodes:
        F.add_node(n, demand=balance.get(n, 0))  # out - in: a node with more outs needs inflow
    for a, b, w in D.edges(data=weight):
        F.add_edge(a, b, key="road", weight=_mm(w))
    count = Counter(twoway)
    for (u, v), k in count.items():
        F.add_edge(v, u, key="turn", weight=0, capacity=2 * k)
    try:
        _, flow = nx.network_simplex(F)
    except nx.NetworkXUnfeasible:
        raise PatrolInfeasible("one-way streets leave some required street with no way back to "
                               "the others; check the one-way flags near the chosen streets") from None
    cost = sum(f * D[a][b][weight] for a, out in flow.items() for b, keyed in out.items()
               for key, f in keyed.items() if key == "road" and f)
    return float(cost), flow


def directed_postman_tour(G: nx.Graph, required: Iterable[tuple], *, start: object | None = None,
                          weight: str = "length_m", exact_time_limit_s: float | None = 10.0,
                          exact_margin_m: float | None = 1000.0) -> StreetTour:
    """A rural-postman tour of ``G`` that honours one-way streets.

    A required pair (u, v) is a one-way street when ``G`` has only one of the arcs u -> v and
    v -> u (it is then driven in that arc's direction, whichever order the pair is given in) and a
    two-way street when it has both (driven once in either direction). Deadheading uses any arc.

    Method (three constructions, the shortest is kept):

    1. the required arcs form a multigraph R, each two-way street first oriented as given;
    2. in- and out-degrees are balanced by a min-cost flow (NetworkX ``network_simplex``,
       lengths in millimetres) over the arcs of ``G`` (cost: length) plus, for each two-way
       required street u -> v, a free reverse arc v -> u of capacity 2 (a flow of 2 turns the
       street round; a flow of 1 means it is driven both ways and the second pass is charged as
       deadhead: this is where the mixed case is a heuristic);
    3. the pieces of R (and the start) are joined by a minimum spanning tree over the pieces:
       A) before balancing, by one directed shortest path per tree edge (Frederickson's order);
       B) after balancing, by a shortest path there and back between the same two nodes;
       C) (some two-way required street) the undirected optimum of ``postman_tour`` (matching),
          each of its passes taken as a required street (one-way ones their way, two-way ones as
          driven) and balanced by the flow of 2: even degrees keep the turns whole (the order of
          Frederickson's MIXED1);
    4. mixed case only (some two-way required street, and neither A nor B reaches the bound):
       the integer program of ``rural_postman_mip`` on the streets within ``exact_margin_m``
       metres of the required ones (None, or a network of at most 5000 arcs: the whole
       network), stopped after
       ``exact_time_limit_s`` seconds (None: not tried); its tour replaces A/B when shorter;
    5. an Euler circuit of the result is the tour.

    Exact (the optimum) when every required street is one-way and they form one piece holding
    the start (the flow is then the directed postman's), when A or B meets the bound, or when
    the integer program solved the whole network (``matching_exact`` says so). With a margin the
    program's tour is the best one that stays within it. ``lower_bound_m`` = required length +
    the flow's cost on the required streets alone (a relaxation: any tour orients its two-way
    streets and deadheads at least that much), or the program's optimum on the whole network.
    Raises InputError when a required street is not an edge, and PatrolInfeasible when one-way
    streets make a required street unreachable from the others and back.
    """
    t0 = time.perf_counter()
    D = directed_lengths(G, weight=weight)
    req = [tuple(e[:2]) for e in required]
    if not req:
        raise InputError("no street segments to cover; choose at least one segment")
    bad = [f"{u}-{v}" for u, v in req if not (D.has_edge(u, v) or D.has_edge(v, u))]
    if bad:
        raise InputError(f"{len(bad)} required segments are not edges of the network: "
                         f"{format_ids(bad)}; give pairs of adjacent node ids")
    if start is not None and start not in D:
        raise InputError(f"the start node {start!r} is not on the network; give a node id of it")
    R = nx.MultiDiGraph()
    twoway: list[tuple] = []
    for u, v in req:
        if not D.has_edge(u, v):
            u, v = v, u  # a one-way street given against its direction
        elif D.has_edge(v, u):
            twoway.append((u, v))
        R.add_edge(u, v, **{weight: D[u][v][weight]}, required=True)
    start = req[0][0] if start is None else start
    R.add_node(start)
    required_m = float(sum(d[weight] for *_, d in R.edges(data=True)))
    engine = engine_from_graph(D, weight=weight)

    def add_paths(pairs: list[tuple]) -> None:
        for path in leg_paths(engine, pairs):
            for x, y in zip(path[:-1], path[1:]):
                R.add_edge(x, y, **{weight: D[x][y][weight]}, required=False)

    R0 = R.copy()

    def apply(R: nx.MultiDiGraph, flow: dict) -> None:
        for a, out in flow.items():
            for b, keyed in out.items():
                for key, f in keyed.items():
                    if not f:
                        continue
                    if key == "road":
                        for _ in range(f):
                            R.add_edge(a, b, **{weight: D[a][b][weight]}, required=False)
                        continue
                    # The turn arc a -> b: each 2 units turn one required street b -> a round.
                    turned = 0
                    for k in [k for k, d in R.get_edge_data(b, a).items() if d["required"]]:
                        if turned + 2 > f:
                            break
                        d = R.edges[b, a, k]
                        R.remove_edge(b, a, key=k)
                        R.add_edge(a, b, **d)
                        turned += 2
                    if f - turned:  # driven both ways: the second pass is deadhead
                        R.add_edge(a, b, **{weight: D[a][b][weight]}, required=False)

    def join(R: nx.MultiDiGraph, *, round_trip: bool) -> None:
        """Join the weakly connected pieces of R by a minimum spanning tree over the pieces:
        one directed path each (the shorter direction), or a path there and back."""
        comps = _ordered_components(nx.weakly_connected_components(R))
        if len(comps) < 2:
            return
        all_nodes = np.array([n for c in comps for n in c], dtype=object)
        owner = np.concatenate([np.full(len(c), i) for i, c in enumerate(comps)])
        Dm = _metres(engine, list(all_nodes), list(all_nodes))
        C = nx.Graph()
        C.add_nodes_from(range(len(comps)))
        for i in range(len(comps)):
            for j in range(i + 1, len(comps)):
                in_i, in_j = owner == i, owner == j
                if round_trip:  # there and back between the same two nodes keeps the balance
                    sub = Dm[np.ix_(in_i, in_j)] + Dm[np.ix_(in_j, in_i)].T
                    a, b = np.unravel_index(int(np.argmin(sub)), sub.shape)
                    x, y = all_nodes[in_i][a], all_nodes[in_j][b]
                    w, pairs = float(sub[a, b]), [(x, y), (y, x)]
                else:
                    ways = []
                    for a_i, b_i in ((in_i, in_j), (in_j, in_i)):
                        sub = Dm[np.ix_(a_i, b_i)]
                        a, b = np.unravel_index(int(np.argmin(sub)), sub.shape)
                        ways.append((float(sub[a, b]), (all_nodes[a_i][a], all_nodes[b_i][b])))
                    w, pair = min(ways, key=lambda x: x[0])
                    pairs = [pair]
                if np.isfinite(w):
                    C.add_edge(i, j, weight=w, pairs=pairs)
        if not nx.is_connected(C):
            raise PatrolInfeasible("the required streets cannot all be reached from the start on "
                                   "the network (islands); choose streets of one connected area")
        for path in leg_paths(engine, [p for *_, d in nx.minimum_spanning_edges(C, data=True)
                                       for p in d["pairs"]]):
            for x, y in zip(path[:-1], path[1:]):
                R.add_edge(x, y, **{weight: D[x][y][weight]}, required=False)

    def length_of(R: nx.MultiDiGraph) -> float:
        return float(sum(d[weight] for *_, d in R.edges(data=True)))

    # The lower bound: balancing the required streets alone (connection ignored).
    bound_m, flow = _balance_flow(D, R0, twoway, weight)
    # A: join the pieces by one-way paths, then balance (Frederickson's order).
    RA = R0.copy()
    join(RA, round_trip=False)
    _, flowA = _balance_flow(D, RA, twoway, weight)
    apply(RA, flowA)
    # B: balance first, then join what is still apart by paths there and back.
    RB = R0.copy()
    apply(RB, flow)
    join(RB, round_trip=True)
    candidates = [RA, RB]
    if twoway:
        # C: the undirected optimum (matching), its passes oriented like required streets (one-way
        # ones their way, two-way ones as driven) and balanced by the same flow. Its degrees are
        # even, which is what keeps the flow's turns whole (Frederickson's MIXED1 order).
        ut = postman_tour(G.to_undirected(as_view=True) if G.is_directed() else G, req,
                          start=start, weight=weight)
        RC = nx.MultiDiGraph()
        RC.add_node(start)
        turnable = []
        for a, b in zip(ut.nodes[:-1], ut.nodes[1:]):
            if not D.has_edge(a, b):
                a, b = b, a  # a one-way street walked against its way: driven its way
            elif D.has_edge(b, a):
                turnable.append((a, b))
            RC.add_edge(a, b, **{weight: D[a][b][weight]}, required=True)
        _, flowC = _balance_flow(D, RC, turnable, weight)
        apply(RC, flowC)
        candidates.append(RC)
    exact = (not twoway and nx.is_weakly_connected(R0)) or length_of(min(candidates, key=length_of)) \
        <= required_m + bound_m + 1e-6
    if not exact and exact_time_limit_s:
        # The mixed case: the integer program (orientation and connection exact) on the streets
        # within ``exact_margin_m`` of the required ones, within a time limit; the heuristics
        # stay when it does not finish or does worse.
        Dz = D
        if exact_margin_m is not None and D.number_of_edges() > 5000:  # small networks: whole
            near = nx.multi_source_dijkstra_path_length(D.to_undirected(as_view=True),
                                                        set(R0.nodes), cutoff=exact_margin_m,
                                                        weight=weight)
            Dz = D.subgraph(near).copy()
        whole = Dz.number_of_nodes() == D.number_of_nodes()
        try:
            status, counts, value = _postman_mip(Dz, req, start, weight=weight,
                                                 time_limit_s=exact_time_limit_s, max_rounds=50)
        except InputError:
            status, counts, value = "a required street outside the zone", {}, np.nan
        if status == "optimal":
            RM = nx.MultiDiGraph()
            RM.add_node(start)
            for (a, b), k in counts.items():
                for _ in range(k):
                    RM.add_edge(a, b, **{weight: D[a][b][weight]}, required=False)
            candidates.append(RM)
            if whole:  # optimal on the whole network: the bound is the optimum
                bound_m = max(bound_m, value - required_m)
                exact = True
        else:
            log.info("street tour: the integer program ended (%s) within %g s; the flow "
                     "heuristic's tour is used", status, exact_time_limit_s)
    R = min(candidates, key=length_of)
    circuit = [u for u, v in nx.eulerian_circuit(R, source=start)] + [start] if R.number_of_edges() \
        else [start, start]
    length = float(sum(D[a][b][weight] for a, b in zip(circuit[:-1], circuit[1:]) if a != b))
    return StreetTour(nodes=tuple(circuit), length_m=length, required_m=required_m,
                      deadhead_m=length - required_m, matching_m=length - required_m,
                      lower_bound_m=required_m + bound_m, matching_exact=bool(exact),
                      required=tuple(req), seconds=time.perf_counter() - t0, directed=True)

def street_tour(G: nx.Graph, required: Iterable[tuple], *, start: object | None = None,
                oneway: bool = True, weight: str = "length_m",
                exact_time_limit_s: float | None = 10.0) -> StreetTour:
    """The street tour a front end wants: ``directed_postman_tour`` when ``oneway`` is True and
    ``G`` has one-way streets (an arc without its reverse), else ``postman_tour`` (undirected,
    exact matching: foot patrols, or a network with no one-way streets)."""
    if oneway and G.is_directed():
        D = directed_lengths(G, weight=weight)
        if any(not D.has_edge(v, u) for u, v in D.edges):
            return directed_postman_tour(G, required, start=start, weight=weight,
                                         exact_time_limit_s=exact_time_limit_s)
    return postman_tour(G, required, start=start, weight=weight)


def _postman_mip(D: nx.DiGraph, req: list[tuple], start: object, *, weight: str,
                 time_limit_s: float, max_rounds: int) -> tuple[str, dict, float]:
    """(status, {arc: times driven}, metres) of the exact rural-postman integer program on the
    simple directed graph ``D`` (see ``rural_postman_mip``); status "optimal" or why not."""
    from scipy.sparse import csc_matrix

    from planning.highs import new_highs
    from planning.placement import _pass, _solve
    arcs = list(D.edges)
    cost = np.array([D[a][b][weight] for a, b in arcs])
    col = {a: i for i, a in enumerate(arcs)}
    need: dict = {}
    for u, v in req:
        cols = tuple(sorted(col[p] for p in ((u, v), (v, u)) if p in col))
        if not cols:
            raise InputError(f"required segment {u}-{v} is not an edge of the network")
        need[cols] = need.get(cols, 0) + 1
    rows: list[tuple[list[int], float]] = [(list(c), float(k)) for c, k in need.items()]
    touched = {n for u, v in req for n in (u, v)}
    nodes = list(D.nodes)
    deadline = time.perf_counter() + time_limit_s
    for _ in range(max_rounds):
        data, ri, ci, lo, hi = [], [], [], [], []
        for r, (cols, lb) in enumerate(rows):
            ri += [r] * len(cols)
            ci += cols
            data += [1.0] * len(cols)
            lo.append(lb)
            hi.append(np.inf)
        base = len(rows)
        for k, n in enumerate(nodes):  # out - in = 0
            for m in D.successors(n):
                ri.append(base + k)
                ci.append(col[(n, m)])
                data.append(1.0)
            for m in D.predecessors(n):
                ri.append(base + k)
                ci.append(col[(m, n)])
                data.append(-1.0)
            lo.append(0.0)
            hi.append(0.0)
        A = csc_matrix((data, (ri, ci)), shape=(len(lo), len(arcs)))
        h = new_highs()
        _pass(h, cost, np.zeros(len(arcs)), np.full(len(arcs), np.inf), [True] * len(arcs), A,
              np.array(lo), np.array(hi), maximize=False)
        left = deadline - time.perf_counter()
        if left <= 0:
            return "time limit", {}, np.nan
        status, x, _, _, _ = _solve(h, left)
        if status != "optimal":
            return status, {}, np.nan
        x = np.round(x).astype(int)
        S = nx.Graph()
        S.add_node(start)
        S.add_edges_from(a for a, v in zip(arcs, x) if v > 0)
        pieces = [c for c in nx.connected_components(S) if start not in c and c & touched]
        if not pieces:
            return "optimal", {a: int(v) for a, v in zip(arcs, x) if v > 0}, float(cost @ x)
        for c in pieces:  # leave every piece away from the start at least once
            rows.append(([col[(a, b)] for a in c for b in D.successors(a) if b not in c], 1.0))
    return f"more than {max_rounds} rounds of cuts", {}, np.nan


def rural_postman_mip(G: nx.Graph, required: Iterable[tuple], *, start: object | None = None,
                      oneway: bool = True, weight: str = "length_m", time_limit_s: float = 60.0,
                      max_rounds: int = 200) -> float:
    """The optimal length (metres) of a rural-postman tour, by an integer program (HiGHS): one
    integer per arc (times driven), each required street driven at least once (a one-way one in
    its direction; a pair listed twice twice), in-degree = out-degree at every node, and
    connectivity cuts added while the solution falls into pieces (every set of nodes away from
    ``start`` holding a required street is left at least once). ``oneway`` False drives every
    street both ways. Raises PatrolInfeasible when HiGHS proves there is no tour or stops short
    of the optimum within ``time_limit_s``."""
    D = directed_lengths(G if oneway else undirected_lengths(G, weight=weight), weight=weight)
    req = [tuple(e[:2]) for e in required]
    if not req:
        raise InputError("no street segments to cover; choose at least one segment")
    start = req[0][0] if start is None else start
    status, _, value = _postman_mip(D, req, start, weight=weight, time_limit_s=time_limit_s,
                                    max_rounds=max_rounds)
    if status != "optimal":
        raise PatrolInfeasible(f"the street integer program ended: {status}")
    return value

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
    # A tour of ``directed_postman_tour`` is driven with the one-way rules, to and from the
    # depot too; else on the undirected view.
    U = directed_lengths(G, weight=weight) if tour.directed else undirected_lengths(G, weight=weight)
    depot = tour.nodes[0] if depot is None else depot
    if depot not in U:
        raise InputError(f"the depot {depot!r} is not on the network")
    engine = engine_from_graph(U, weight=weight) if tour.directed else _engine(U, weight)
    steps = [(a, b) for a, b in zip(tour.nodes[:-1], tour.nodes[1:]) if a != b]
    if not steps:
        raise InputError("the tour has no street to drive; choose at least one segment")
    seg = np.array([U[a][b][weight] for a, b in steps])
    nodes = list(dict.fromkeys(tour.nodes))
    dist = dict(zip(nodes, _metres(engine, [depot], nodes)[0]))  # depot -> node
    home = dict(zip(nodes, _metres(engine, nodes, [depot])[:, 0]))  # node -> depot
    to_m = lambda minutes: minutes * speed_kmh * 1000.0 / 60.0  # noqa: E731
    cap = np.inf if budget_min is None else to_m(budget_min)

    if budget_min is not None and min(dist[a] + s + home[b] for (a, b), s in zip(steps, seg)) > cap + 1e-6:
        raise PatrolInfeasible(f"the budget of {budget_min:.0f} min at {speed_kmh:g} km/h "
                               "does not reach any required segment and back; lengthen the "
                               "shift or start nearer the streets")

    def plan(steps: list, seg: np.ndarray) -> list[tuple[int, int]]:
        def cut(limit: float) -> list[tuple[int, int]]:
            pieces, i = [], 0
            while i < len(steps):
                a = steps[i][0]
                run, j = 0.0, i
                while j < len(steps) and dist[a] + run + seg[j] + home[steps[j][1]] <= limit + 1e-6:
                    run += seg[j]
                    j += 1
                if j == i:
                    return []  # one step alone does not fit
                pieces.append((i, j))
                i = j
            return pieces

        lo = max(dist[a] + s + home[b] for (a, b), s in zip(steps, seg))
        hi = max(lo, max(dist.values()) + max(home.values()) + float(seg.sum()))
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
            while len(pieces) < units:
                if i >= len(steps):
                    break
                a = steps[i][0]
                run, j = 0.0, i
                while j < len(steps) and dist[a] + run + seg[j] + home[steps[j][1]] <= cap + 1e-6:
                    run += seg[j]
                    j += 1
                if j == i:
                    i += 1  # this step does not fit anyone starting here; skip it
                    continue
                pieces.append((i, j))
                i = j
        return pieces

    # The circuit may be cut from any of its steps: try evenly spaced starts, keep the split
    # covering most, then with the shortest longest unit.
    best = None
    for offset in sorted({int(k) for k in np.linspace(0, len(steps), num=min(len(steps), 24),
                                                       endpoint=False)}):
        st = steps[offset:] + steps[:offset]
        sg = np.concatenate([seg[offset:], seg[:offset]])
        got = plan(st, sg)
        covered_m = float(sum(sg[i:j].sum() for i, j in got))
        longest = max((dist[st[i][0]] + sg[i:j].sum() + home[st[j - 1][1]] for i, j in got), default=0.0)
        score = (round(covered_m, 3), -longest)
        if best is None or score > best[0]:
            best = (score, st, sg, got)
    assert best is not None, "offset 0 is always tried"
    _, steps, seg, pieces = best
    covered = np.zeros(len(steps), dtype=bool)
    paths, lengths = [], []
    for i, j in pieces:
        covered[i:j] = True
        body = [steps[i][0]] + [b for _, b in steps[i:j]]
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
    share = float(seg[covered].sum() / seg.sum()) if seg.sum() else 1.0
    if uncovered:
        log.warning("the streets cannot all be covered within %d units of %.0f min each at %g "
                    "km/h: %.1f%% of the tour is covered, %d tour steps (%.2f km) are left over; "
                    "add units or lengthen the budget", units, budget_min, speed_kmh,
                    100.0 * share, len(uncovered), float(seg[~covered].sum()) / 1000.0)
    return StreetSplit(paths=tuple(paths), length_m=lengths,
                       minutes=lengths / (speed_kmh * 1000.0 / 60.0),
                       covered_share=share, uncovered=uncovered)


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
