"""Travel times on the road network: one sparse matrix per graph, multi-source Dijkstra in C.

A ``TravelEngine`` is the network as a ``scipy.sparse`` CSR matrix of edge travel times
(seconds), built once: from the directed edges of node/edge tables (``engine_from_arrays``;
``geo.network.engine_from_tables`` and ``engine_from_file`` validate and call it, with no
NetworkX graph in between) or from a NetworkX graph (``engine_from_graph``).
``nearest_facility`` runs one multi-source Dijkstra (``scipy.sparse.csgraph.dijkstra`` with
``min_only=True``) per distinct turnout delay and returns, for every node, the facility that
reaches it first and in how many minutes (turnout delay included); ``minutes_matrix`` gives
source x target minutes for the solvers (sealing, post placement). NetworkX is not used here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Hashable, Iterable, Mapping

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from geo.errors import InputError, format_ids
from geo.ids import id_str

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["TravelEngine", "engine_from_arrays", "engine_from_graph", "nearest_facility",
           "arrival_arrays", "facility_series", "facility_of", "node_labels", "minutes_matrix",
           "minutes_from"]


@dataclass(frozen=True, eq=False)
class TravelEngine:
    """The travel-time matrix of one road network. Read-only; build it once with
    ``geo.network.engine_from_tables``/``engine_from_file`` or ``engine_from_graph``.

    Attributes
    ----------
    nodes : node ids (strings) in matrix order.
    index : node id -> matrix row.
    matrix : CSR matrix, ``matrix[i, j]`` = seconds on the fastest edge i -> j (parallel
        edges reduced to the fastest; no self-loops).
    crs : the network's CRS (projected, metres).
    xy : node coordinates (n x 2, metres in ``crs``) in matrix order, or None.
    core : boolean mask (matrix order) of the nodes of the largest strongly connected
        component, where points are snapped by location (``geo.network.snap_points``); None
        when every node is in it (a graph already reduced to it).
    """

    nodes: np.ndarray
    index: Mapping[Hashable, int]
    matrix: csr_matrix
    crs: object = None
    xy: np.ndarray | None = None
    core: np.ndarray | None = None
    _transposed: list = field(default_factory=list, repr=False)
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def n(self) -> int:
        return len(self.nodes)

    @property
    def edge_count(self) -> int:
        """Directed edges of the matrix (parallel edges counted once)."""
        return int(self.matrix.nnz)

    def __contains__(self, node: object) -> bool:
        return node in self.index

    def oriented(self, reverse: bool) -> csr_matrix:
        """The matrix (``reverse`` False: from sources) or its transpose (travel towards them)."""
        if not reverse:
            return self.matrix
        if not self._transposed:
            self._transposed.append(self.matrix.T.tocsr())
        return self._transposed[0]

    def rows(self, node_ids: Iterable[object], *, what: str = "nodes") -> np.ndarray:
        """Matrix rows of ``node_ids``; InputError naming those not on the network."""
        node_ids = list(node_ids)
        missing = [n for n in node_ids if n not in self.index]
        if missing:
            raise InputError(f"{len(missing)} {what} are not nodes of the network: "
                             f"{format_ids(missing)}; snap them with geo.network.snap_points")
        return np.fromiter((self.index[n] for n in node_ids), dtype=np.int64, count=len(node_ids))


def engine_from_arrays(nodes: Iterable[object], src: np.ndarray, dst: np.ndarray,
                       seconds: np.ndarray, *, xy: np.ndarray | None = None, crs: object = None,
                       core: np.ndarray | None = None, weight: str = "travel_s") -> TravelEngine:
    """The engine of directed edges ``src[i] -> dst[i]`` taking ``seconds[i]``.

    Parameters
    ----------
    nodes : node ids, in the order ``src``/``dst`` count them (positions 0 … n-1).
    src, dst : integer node positions of each directed edge.
    seconds : travel time of each edge, seconds > 0. Self-loops are left out; of parallel
        edges the fastest counts.
    xy, crs, core : as the ``TravelEngine`` attributes.
    weight : what ``seconds`` is, for the message about bad values.

    Raises
    ------
    InputError
        naming the edges whose time is missing, zero or negative.
    """
    names = np.asarray(list(nodes) if not isinstance(nodes, np.ndarray) else nodes, dtype=object)
    n = len(names)
    src = np.asarray(src, dtype=np.int64)
    dst = np.asarray(dst, dtype=np.int64)
    w = np.asarray(seconds, dtype=float)
    keep = src != dst
    src, dst, w = src[keep], dst[keep], w[keep]
    bad = ~(w > 0) | ~np.isfinite(w)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"{int(bad.sum())} edges have {weight} that is not a time > 0 (the first: "
                         f"{names[src[i]]} -> {names[dst[i]]}, {weight}={w[i]!r}); travel times "
                         "must be > 0 (build the network with geo.network so that speeds are set)")
    # parallel edges: the fastest (sort by u, v, time; keep each pair's first)
    order = np.lexsort((w, dst, src))
    src, dst, w = src[order], dst[order], w[order]
    first = np.ones(len(src), bool)
    first[1:] = (src[1:] != src[:-1]) | (dst[1:] != dst[:-1])
    m = csr_matrix((w[first], (src[first], dst[first])), shape=(n, n))
    index = dict(zip(names.tolist(), range(n)))
    return TravelEngine(nodes=names, index=index, matrix=m, crs=crs,
                        xy=None if xy is None else np.asarray(xy, dtype=float), core=core)


def engine_from_graph(G: nx.MultiDiGraph, *, weight: str = "travel_s") -> TravelEngine:
    """Build the travel-time engine of ``G`` (edge attribute ``weight``, seconds > 0).

    The node coordinates (``x``, ``y``) come along where every node has them, so that points
    can be snapped onto the engine as onto ``G``.
    """
    nodes = np.array(list(G.nodes), dtype=object)
    index = {n: i for i, n in enumerate(nodes)}
    us, vs, ws = [], [], []
    for u, v, w in G.edges(data=weight):
        if u == v:
            continue
        if w is None or not (w > 0):
            raise InputError(f"edge {u} -> {v} has {weight}={w!r}; travel times must be > 0 "
                             "(build the graph with geo.network so that speeds are set)")
        us.append(index[u])
        vs.append(index[v])
        ws.append(float(w))
    try:
        xy = np.array([(G.nodes[n]["x"], G.nodes[n]["y"]) for n in nodes], dtype=float).reshape(-1, 2)
    except KeyError:
        xy = None
    return engine_from_arrays(nodes, np.array(us, dtype=np.int64), np.array(vs, dtype=np.int64),
                              np.array(ws, dtype=float), xy=xy, crs=G.graph.get("crs"), weight=weight)


def _delays(facilities: pd.Series, delays_min: Mapping | pd.Series | float | None) -> pd.Series:
    if delays_min is None:
        return pd.Series(0.0, index=facilities.index)
    if isinstance(delays_min, (Mapping, pd.Series)):
        d = pd.Series(delays_min, dtype=float).reindex(facilities.index)
        d = d.fillna(0.0)
    else:
        d = pd.Series(float(delays_min), index=facilities.index)
    bad = d[~(d >= 0)]
    if len(bad):
        raise InputError(f"turnout delays must be >= 0 minutes; facilities {format_ids(bad.index)} "
                         f"have {format_ids(bad.to_numpy())}")
    return d


def nearest_facility(engine: TravelEngine, facilities: Mapping | pd.Series, *,
                     delays_min: Mapping | pd.Series | float | None = None,
                     reverse: bool = False, limit_min: float | None = None) -> pd.DataFrame:
    """The first facility to reach every node, and when.

    Parameters
    ----------
    engine : from ``engine_from_graph``.
    facilities : facility id -> node id (several facilities may share a node).
    delays_min : turnout delay in minutes per facility id (or one number for all), added
        before departure. Exact: one multi-source Dijkstra per distinct delay value, then the
        minimum of (travel + delay) over the groups.
    reverse : False: travel from the facility to the node (response); True: node to facility.
    limit_min : stop searching beyond this many minutes (nodes farther get ``inf``).

    Returns
    -------
    DataFrame indexed by node id (``engine.nodes`` order) with ``facility`` (id, or None where
    unreachable), ``minutes`` (float, ``inf`` where unreachable) and ``travel_minutes``
    (without the delay). Ties go to the facility listed first.
    """
    fac = facility_series(facilities)
    who, minutes, travel = arrival_arrays(engine, fac, delays_min=delays_min, reverse=reverse,
                                          limit_min=limit_min)
    return pd.DataFrame({"facility": facility_of(fac, who), "minutes": minutes,
                         "travel_minutes": travel}, index=node_labels(engine), copy=False)


def facility_series(facilities: Mapping | pd.Series) -> pd.Series:
    """Facility id (string) -> node id, from a mapping or Series; InputError when empty."""
    fac = pd.Series(facilities)
    if len(fac) == 0:
        raise InputError("no facilities given; give at least one station or post")
    fac.index = pd.Index([id_str(i) for i in fac.index])
    return fac


def arrival_arrays(engine: TravelEngine, facilities: pd.Series, *,
                   delays_min: Mapping | pd.Series | float | None = None, reverse: bool = False,
                   limit_min: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``nearest_facility`` as arrays in matrix order, the fast core: (position in
    ``facilities`` of the first facility to reach each node, -1 where none does; minutes, delay
    included, ``inf`` where unreached; travel minutes without the delay). Minutes are rounded to
    1e-9 so that band edges (exactly 3 minutes) do not fall to float noise.

    ``facilities`` : facility id -> node id, as ``facility_series`` makes it.
    """
    rows = engine.rows(facilities.to_numpy(), what="facility nodes")
    graph = engine.oriented(reverse)
    n = engine.n
    positions = np.arange(len(facilities))
    if delays_min is None:  # one group, no delay
        groups = [(0.0, positions)]
    else:
        delays = _delays(facilities, delays_min).to_numpy(dtype=float)
        groups = [(float(d), positions[delays == d]) for d in np.unique(delays)]
    best, travel = np.full(n, np.inf), np.full(n, np.inf)
    who = np.full(n, -1, dtype=np.int64)
    for number, (delay, members) in enumerate(groups):
        # first facility (input order) at each node of this group
        node_rows, first = np.unique(rows[members], return_index=True)
        owner_at = np.full(n, -1, dtype=np.int64)  # matrix row -> facility position
        owner_at[node_rows] = members[first]
        limit = np.inf if limit_min is None else max(0.0, (limit_min - delay) * 60.0)
        dist, _, src = dijkstra(graph, directed=True, indices=node_rows, min_only=True,
                                return_predecessors=True, limit=limit)
        if number == 0:  # the first group: take it whole
            travel = dist / 60.0
            best = travel + delay
            reached = src >= 0
            who[reached] = owner_at[src[reached]]
            continue
        minutes = dist / 60.0 + delay
        better = minutes < best
        best[better] = minutes[better]
        travel[better] = dist[better] / 60.0
        who[better] = owner_at[src[better]]
    return who, np.round(best, 9), np.round(travel, 9)


def facility_of(facilities: pd.Series, who: np.ndarray):
    """The facility id at each position of ``who`` (``arrival_arrays``), missing where -1: a
    take from the few facility labels (an array for a DataFrame column)."""
    return pd.Series(facilities.index.to_numpy(dtype=object)).array.take(who, allow_fill=True)


def node_labels(engine: TravelEngine) -> pd.Index:
    """The node ids of ``engine`` as a pandas Index named ``node`` (matrix order), built once per
    engine: results indexed by node share it."""
    labels = engine._cache.get("node_labels")
    if labels is None:
        labels = engine._cache["node_labels"] = pd.Index(engine.nodes, name="node")
    return labels


def minutes_matrix(engine: TravelEngine, sources: Iterable[object], targets: Iterable[object] | None = None,
                   *, reverse: bool = False, limit_min: float | None = None) -> np.ndarray:
    """Travel minutes from each source node (rows) to each target node (columns).

    ``targets`` None means every node in ``engine.nodes`` order. ``reverse`` True gives the
    minutes from each target to each source instead (still indexed [source, target]).
    Unreachable pairs (or beyond ``limit_min``) are ``inf``.
    """
    sources = list(sources)
    rows = engine.rows(sources, what="source nodes")
    uniq, inverse = np.unique(rows, return_inverse=True)
    limit = np.inf if limit_min is None else limit_min * 60.0
    dist = dijkstra(engine.oriented(reverse), directed=True, indices=uniq, limit=limit)
    dist = np.round(np.atleast_2d(dist)[inverse] / 60.0, 9)
    if targets is not None:
        dist = dist[:, engine.rows(list(targets), what="target nodes")]
    return dist


def minutes_from(engine: TravelEngine, source: object, *, reverse: bool = False) -> pd.Series:
    """Minutes from one node to every node (``inf`` where unreachable), indexed by node id."""
    return pd.Series(minutes_matrix(engine, [source], reverse=reverse)[0], index=node_labels(engine))
