"""Travel times on the road network: one sparse matrix per graph, multi-source Dijkstra in C.

``engine_from_graph`` builds a ``scipy.sparse`` CSR matrix of edge travel times (seconds) once;
``nearest_facility`` runs one multi-source Dijkstra (``scipy.sparse.csgraph.dijkstra`` with
``min_only=True``) per distinct turnout delay and returns, for every node, the facility that
reaches it first and in how many minutes (turnout delay included); ``minutes_matrix`` gives
source x target minutes for the solvers (sealing, post placement). NetworkX is not used here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping

import networkx as nx
import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from geo.errors import InputError, format_ids
from geo.ids import id_str

__all__ = ["TravelEngine", "engine_from_graph", "nearest_facility", "minutes_matrix",
           "minutes_from"]


@dataclass(frozen=True, eq=False)
class TravelEngine:
    """The travel-time matrix of one graph. Read-only; build it once with ``engine_from_graph``.

    Attributes
    ----------
    nodes : node ids in matrix order.
    index : node id -> matrix row.
    matrix : CSR matrix, ``matrix[i, j]`` = seconds on the fastest edge i -> j (parallel
        edges reduced to the fastest).
    crs : the graph's CRS.
    """

    nodes: np.ndarray
    index: Mapping[str, int]
    matrix: csr_matrix
    crs: object = None
    _transposed: list = field(default_factory=list, repr=False)

    @property
    def n(self) -> int:
        return len(self.nodes)

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


def engine_from_graph(G: nx.MultiDiGraph, *, weight: str = "travel_s") -> TravelEngine:
    """Build the travel-time engine of ``G`` (edge attribute ``weight``, seconds > 0)."""
    nodes = np.array(list(G.nodes), dtype=object)
    index = {n: i for i, n in enumerate(nodes)}
    us, vs, ws = [], [], []
    for u, v, w in G.edges(data=weight):
        if u == v:
            continue
        if w is None or not (w > 0):
            raise InputError(f"edge {u} -> {v} has {weight}={w!r}; travel times must be > 0 "
                             "(build the graph with geo.network so that speeds are set)")
        us.append(index[u]), vs.append(index[v]), ws.append(float(w))
    frame = pd.DataFrame({"u": us, "v": vs, "w": ws}).groupby(["u", "v"], sort=False)["w"].min()
    u = frame.index.get_level_values(0).to_numpy()
    v = frame.index.get_level_values(1).to_numpy()
    m = csr_matrix((frame.to_numpy(), (u, v)), shape=(len(nodes), len(nodes)))
    return TravelEngine(nodes=nodes, index=index, matrix=m, crs=G.graph.get("crs"))


def _delays(facilities: pd.Series, delays_min: Mapping | pd.Series | float | None) -> pd.Series:
    if delays_min is None:
        return pd.Series(0.0, index=facilities.index)
    if np.isscalar(delays_min):
        d = pd.Series(float(delays_min), index=facilities.index)
    else:
        d = pd.Series(delays_min, dtype=float).reindex(facilities.index)
        d = d.fillna(0.0)
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
    fac = pd.Series(facilities)
    if len(fac) == 0:
        raise InputError("no facilities given; give at least one station or post")
    fac.index = fac.index.map(id_str)
    rows = engine.rows(fac.to_numpy(), what="facility nodes")
    delays = _delays(fac, delays_min)
    graph = engine.oriented(reverse)
    best = np.full(engine.n, np.inf)
    travel = np.full(engine.n, np.inf)
    who = np.full(engine.n, -1, dtype=np.int64)
    positions = np.arange(len(fac))
    for delay in sorted(delays.unique()):
        members = positions[(delays == delay).to_numpy()]
        # first facility (input order) at each node of this group
        node_rows, first = np.unique(rows[members], return_index=True)
        owner_of_row = dict(zip(node_rows, members[first]))
        limit = np.inf if limit_min is None else max(0.0, (limit_min - delay) * 60.0)
        dist, _, src = dijkstra(graph, directed=True, indices=node_rows, min_only=True,
                                return_predecessors=True, limit=limit)
        minutes = dist / 60.0 + delay
        better = minutes < best
        best[better] = minutes[better]
        travel[better] = dist[better] / 60.0
        who[better] = [owner_of_row[s] for s in src[better]]
    fac_ids = fac.index.to_numpy(dtype=object)
    facility = np.where(who >= 0, fac_ids[np.maximum(who, 0)], None)
    # rounded to 1e-9 min so that band edges (exactly 3 minutes) do not fall to float noise
    return pd.DataFrame({"facility": facility, "minutes": np.round(best, 9),
                         "travel_minutes": np.round(travel, 9)},
                        index=pd.Index(engine.nodes, name="node"))


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
    return pd.Series(minutes_matrix(engine, [source], reverse=reverse)[0],
                     index=pd.Index(engine.nodes, name="node"))
