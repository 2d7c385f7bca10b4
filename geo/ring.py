"""Checkpoint rings: the road crossings of a ring polygon, which carry a checkpoint, and whether
the ring is closed (no path from outside to inside avoids every checkpoint), checked on the graph.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import CRSError, InputError, format_ids
from geo.ids import normalise_ids
from geo.road_classes import road_class_rank

if TYPE_CHECKING:
    import networkx as nx

    from geo.traveltime import TravelEngine

__all__ = ["Ring", "ring_polygon", "inside_nodes", "blocked_edges", "ring_crossings",
           "RingGraph", "ring_graph", "ring_graph_from_tables", "ring_graph_from_workspace",
           "EdgeCheckpoints", "edge_checkpoints",
           "DEFAULT_TOLERANCE_M", "RING_LEVELS", "RingSpec", "ring_level", "rings_from_workspace"]

DEFAULT_TOLERANCE_M = 50.0

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class RingGraph:
    """A road graph read once into arrays for the ring checks, so that several rings (and the
    fewest checkpoints of each) share one reading and their reachability and cuts run on
    ``scipy.sparse`` instead of NetworkX graphs built per ring (``ring_graph(G)``).

    Attributes
    ----------
    crs : the graph's CRS (metres).
    nodes : node ids in graph order; ``index`` node id -> position; ``xy`` coordinates (n x 2).
    keys : ``(u, v, key)`` of every directed edge in graph order (``G.edges(keys=True)``);
        ``src``/``dst`` the positions of its ends, ``data`` its attribute dict, ``lines`` its
        geometry (None where it has none).
    """

    crs: object
    nodes: list
    index: dict
    xy: np.ndarray
    keys: list
    src: np.ndarray
    dst: np.ndarray
    data: list
    lines: np.ndarray
    _tree: list = field(default_factory=list, repr=False)
    _engine: list = field(default_factory=list, repr=False)

    @property
    def n(self) -> int:
        return len(self.nodes)

    def tree(self) -> shapely.STRtree:
        """STRtree of the edge lines (built on first use)."""
        if not self._tree:
            self._tree.append(shapely.STRtree(self.lines))
        return self._tree[0]

    def inside(self, polygon) -> np.ndarray:
        """Boolean mask (node order): True where the node lies inside ``polygon``."""
        return np.asarray(shapely.contains_xy(polygon, self.xy[:, 0], self.xy[:, 1]), dtype=bool)

    def reached_from(self, sources: np.ndarray, keep: np.ndarray) -> np.ndarray:
        """Boolean mask of the nodes reachable from any node of the mask ``sources`` (those
        included) along the directed edges where ``keep`` is True (one breadth-first search
        from a super source)."""
        from scipy.sparse import csr_matrix
        from scipy.sparse.csgraph import breadth_first_order
        n = self.n
        starts = np.flatnonzero(sources)
        if len(starts) == 0:
            return np.zeros(n, bool)
        rows = np.concatenate([self.src[keep], np.full(len(starts), n)])
        cols = np.concatenate([self.dst[keep], starts])
        adj = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n + 1, n + 1))
        order = breadth_first_order(adj, n, directed=True, return_predecessors=False)
        out = np.zeros(n + 1, bool)
        out[order] = True
        return out[:n]

    def engine(self, weight: str = "travel_s") -> TravelEngine:
        """The travel-time engine of these nodes and edges (edge attribute ``weight``, seconds),
        the same as ``geo.traveltime.engine_from_graph`` of the graph; built once."""
        if not self._engine:
            from geo.traveltime import engine_from_arrays
            seconds = np.array([d.get(weight) for d in self.data], dtype=float)
            self._engine.append(engine_from_arrays(self.nodes, self.src, self.dst, seconds,
                                                   xy=self.xy, crs=self.crs, weight=weight))
        return self._engine[0]


def ring_graph(G: nx.MultiDiGraph | RingGraph) -> RingGraph:
    """The ``RingGraph`` of a road graph (metric CRS; nodes with ``x``, ``y``): one pass over
    its nodes and edges. A RingGraph is returned as it is."""
    if isinstance(G, RingGraph):
        return G
    nodes = list(G.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    xy = np.array([(d["x"], d["y"]) for _, d in G.nodes(data=True)], dtype=float).reshape(-1, 2)
    keys, data = [], []
    for u, v, k, d in G.edges(keys=True, data=True):
        keys.append((u, v, k))
        data.append(d)
    src = np.fromiter((index[u] for u, _, _ in keys), dtype=np.int64, count=len(keys))
    dst = np.fromiter((index[v] for _, v, _ in keys), dtype=np.int64, count=len(keys))
    lines = np.empty(len(data), dtype=object)
    lines[:] = [d.get("geometry") for d in data]
    return RingGraph(G.graph["crs"], nodes, index, xy, keys, src, dst, data, lines)


def ring_graph_from_tables(nodes: gpd.GeoDataFrame, edges: pd.DataFrame, *, crs: object | None = None,
                           speed_kmh: float | None = None, speeds: dict | None = None,
                           source: str | None = None) -> RingGraph:
    """The ``RingGraph`` of node and edge tables with no NetworkX graph in between: the same
    nodes, edges, order, keys and attributes as ``ring_graph(geo.network.graph_from_tables(...))``
    (the largest strongly connected component, the same warning about what is dropped), so
    that the ring checks give the same answers. Tables and options as ``graph_from_tables``.
    """
    from geo.network import _directed_from_tables, _directed_lines, _largest_scc_mask, _warn_dropped
    d = _directed_from_tables(nodes, edges, crs=crs, speed_kmh=speed_kmh, speeds=speeds,
                              source=source, lines=True)
    lines = _directed_lines(d)
    n = len(d.names)
    keep_nodes, comps = _largest_scc_mask(n, d.src, d.dst)
    keep = keep_nodes[d.src] & keep_nodes[d.dst]
    kept = np.flatnonzero(keep_nodes)
    if n - len(kept):
        _warn_dropped(d.source, len(kept), n - len(kept), len(d.src) - int(keep.sum()), comps - 1)
    at = np.full(n, -1, dtype=np.int64)
    at[kept] = np.arange(len(kept))
    src, dst, rows, lines = at[d.src[keep]], at[d.dst[keep]], d.row[keep], lines[keep]
    # NetworkX's edge order: by source node, then by the first edge of each (u, v) pair, then
    # as inserted; each pair's keys count 0, 1, … in insertion order
    i = np.arange(len(src))
    _, first, pair = np.unique(src * max(len(kept), 1) + dst, return_index=True, return_inverse=True)
    order = np.lexsort((i, first[pair], src))
    src, dst, rows, lines, pair = src[order], dst[order], rows[order], lines[order], pair[order]
    start = np.ones(len(pair), bool)
    start[1:] = pair[1:] != pair[:-1]
    keys = i - np.maximum.accumulate(np.where(start, i, 0))
    names = d.names[kept].tolist()
    data = [{"geometry": g, "length_m": lm, "road_class": rc, "own_speed_kmh": os_, "oneway": ow,
             "speed_kmh": sp, "travel_s": ts}
            for g, lm, rc, os_, ow, sp, ts in zip(
                lines.tolist(), d.length[rows].tolist(), d.road_class[rows].tolist(),
                d.own_speed[rows].tolist(), d.oneway[rows].tolist(), d.speed[rows].tolist(),
                d.travel[rows].tolist())]
    edge_keys = [(names[u], names[v], k) for u, v, k in zip(src.tolist(), dst.tolist(), keys.tolist())]
    out = np.empty(len(data), dtype=object)
    out[:] = [x["geometry"] for x in data]
    return RingGraph(d.crs, names, {nm: j for j, nm in enumerate(names)}, d.xy[kept], edge_keys,
                     src, dst, data, out)


def ring_graph_from_workspace(ws, *, speed_kmh: float | None = None) -> RingGraph:
    """``ring_graph_from_tables`` of a workspace's road network (``road_nodes``/``road_edges``)
    in its working CRS: ``ring_graph(geo.network.graph_from_workspace(ws))`` without NetworkX."""
    if not (ws.has("road_nodes") and ws.has("road_edges")):
        raise InputError("the workspace has no road network (road_nodes/road_edges); build it with "
                         "a road network (`network`)")
    return ring_graph_from_tables(ws.layer("road_nodes"), ws.layer("road_edges"), crs=ws.crs,
                                  speed_kmh=speed_kmh, source=str(ws.path or ws.name))


def ring_polygon(ring: gpd.GeoDataFrame | gpd.GeoSeries | shapely.Geometry,
                 G: nx.MultiDiGraph | RingGraph):
    """The ring as one (multi)polygon in the graph CRS. GeoDataFrames must carry a CRS;
    a bare shapely geometry is taken to be in the graph CRS."""
    if isinstance(ring, (gpd.GeoDataFrame, gpd.GeoSeries)):
        if ring.crs is None:
            raise CRSError("the ring layer has no CRS; set its CRS before checking the ring")
        if len(ring) == 0:
            raise InputError("the ring layer is empty; give the area boundary or a drawn ring polygon")
        crs = G.crs if isinstance(G, RingGraph) else G.graph["crs"]
        geom = shapely.union_all(ring.to_crs(crs).geometry.values)
    else:
        geom = ring
    if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise InputError(f"the ring must be a polygon, got {getattr(geom, 'geom_type', geom)!r}; "
                         "give the area boundary or a drawn ring polygon")
    return geom


def inside_nodes(G: nx.MultiDiGraph | RingGraph, polygon) -> pd.Series:
    """Boolean Series indexed by node id: True where the node lies inside ``polygon``."""
    rg = ring_graph(G)
    return pd.Series(rg.inside(polygon), index=pd.Index(rg.nodes, dtype=object))


class EdgeCheckpoints(NamedTuple):
    """The directed edges of a ``RingGraph`` that checkpoints close (``edge_checkpoints``).

    Attributes
    ----------
    blocked : boolean mask (edge order): a checkpoint lies within the tolerance of the road.
    ids : the nearest such checkpoint's id (edge order; None where none).
    """

    blocked: np.ndarray
    ids: np.ndarray


def edge_checkpoints(G: nx.MultiDiGraph | RingGraph, checkpoints: gpd.GeoDataFrame | None, *,
                     id_col: str | None = "checkpoint_id",
                     tolerance_m: float = DEFAULT_TOLERANCE_M) -> EdgeCheckpoints:
    """The checkpoint of every directed edge (``ring_graph(G)`` edge order): the edges whose
    road passes within ``tolerance_m`` metres of a checkpoint (one at a junction closes all
    its roads), each named by its nearest checkpoint. Compute it once for several rings.

    ``id_col`` names the checkpoints (None: the row index); a column that the layer does not
    have is an InputError listing the columns it has."""
    rg = ring_graph(G)
    if not (tolerance_m >= 0):
        raise InputError(f"`tolerance_m` was {tolerance_m!r} but must be metres >= 0, e.g. 50")
    blocked = np.zeros(len(rg.keys), bool)
    ids_out = np.full(len(rg.keys), None, dtype=object)
    if checkpoints is None or len(checkpoints) == 0:
        return EdgeCheckpoints(blocked, ids_out)
    if checkpoints.crs is None:
        raise CRSError("the checkpoint layer has no CRS; set its CRS first")
    if id_col is not None and id_col not in checkpoints.columns:
        cols = [c for c in checkpoints.columns if c != checkpoints.geometry.name]
        raise InputError(f"id_col was {id_col!r} but the checkpoints have no such column; "
                         f"columns are {cols}")
    pts = checkpoints.to_crs(rg.crs)
    ids = (normalise_ids(pts[id_col]).to_numpy() if id_col is not None
           else np.array([str(i) for i in pts.index], dtype=object))
    p_idx, e_idx = rg.tree().query(pts.geometry.values, predicate="dwithin", distance=tolerance_m)
    # nearest checkpoint first (ties in query order), so that each edge names the closest one
    d = shapely.distance(pts.geometry.values[p_idx], rg.lines[e_idx])
    order = np.argsort(d, kind="stable")
    edges, first = np.unique(e_idx[order], return_index=True)
    blocked[edges] = True
    ids_out[edges] = ids[p_idx[order][first]]
    return EdgeCheckpoints(blocked, ids_out)


def blocked_edges(G: nx.MultiDiGraph | RingGraph, checkpoints: gpd.GeoDataFrame | None, *,
                  id_col: str | None = "checkpoint_id",
                  tolerance_m: float = DEFAULT_TOLERANCE_M) -> dict:
    """{(u, v, key): checkpoint id} for every directed edge whose road passes within
    ``tolerance_m`` metres of a checkpoint (a checkpoint at a junction blocks all its roads);
    ``edge_checkpoints`` as a dict.

    ``id_col`` names the checkpoints (None: the row index); a column that the layer does not
    have is an InputError listing the columns it has."""
    rg = ring_graph(G)
    found = edge_checkpoints(rg, checkpoints, id_col=id_col, tolerance_m=tolerance_m)
    return {rg.keys[e]: found.ids[e] for e in np.flatnonzero(found.blocked).tolist()}


@dataclass(frozen=True, eq=False)
class Ring:
    """The crossings of a ring and whether its checkpoints close it.

    Attributes
    ----------
    crossings : one row per road crossing the ring: ``crossing_id``, ``u``, ``v`` (the road's
        ends), ``outside_node``, ``inside_node``, ``direction`` (``in``, ``out`` or ``both``:
        which way traffic may cross), ``road_class``, ``rank`` (0 = expressway … 7 = unknown),
        ``checkpoint_id`` (None if none within the tolerance), ``covered``, geometry: the point
        where the road crosses the ring. Sorted by rank, uncovered first.
    closed : True when no directed path leads from an outside node to an inside node without
        using a checkpointed road, and the ring can be judged at all (``reason`` is None).
    leaks : crossing ids still passable inbound (entries that reach the inside unchecked).
    outside_nodes, inside_nodes : counts.
    reason : None, or why the ring is not closed although no path leads in: it misses the
        network (no road node inside it), the network does not reach beyond it (no node
        outside), or no road crosses it. Such a ring says nothing about the checkpoints.
    """

    crossings: gpd.GeoDataFrame
    closed: bool
    leaks: list = field(default_factory=list)
    outside_nodes: int = 0
    inside_nodes: int = 0
    tolerance_m: float = DEFAULT_TOLERANCE_M
    reason: str | None = None

    @property
    def covered(self) -> list:
        return self.crossings.loc[self.crossings["covered"].to_numpy(dtype=bool), "crossing_id"].tolist()

    @property
    def uncovered(self) -> list:
        return self.crossings.loc[~self.crossings["covered"].to_numpy(dtype=bool), "crossing_id"].tolist()

    @property
    def entries(self) -> gpd.GeoDataFrame:
        """Crossings that traffic can use inbound (direction ``in`` or ``both``)."""
        return self.crossings[self.crossings["direction"] != "out"]

    def summary(self) -> dict:
        """The JSON of ``gridpatrol ring``."""
        rows = []
        for r in self.crossings.itertuples():
            rows.append({"crossing": r.crossing_id, "u": r.u, "v": r.v, "inside_node": r.inside_node,
                         "direction": r.direction, "road_class": r.road_class, "rank": int(r.rank),
                         "checkpoint": None if pd.isna(r.checkpoint_id) else r.checkpoint_id,
                         "covered": bool(r.covered)})
        return {"crossings": rows, "covered": self.covered, "uncovered": self.uncovered,
                "closed": self.closed, "leaks": self.leaks, "outside_nodes": self.outside_nodes,
                "inside_nodes": self.inside_nodes, "tolerance_m": self.tolerance_m,
                "reason": self.reason}


def ring_crossings(G: nx.MultiDiGraph | RingGraph, ring, *,
                   checkpoints: gpd.GeoDataFrame | None = None, id_col: str | None = "checkpoint_id",
                   tolerance_m: float = DEFAULT_TOLERANCE_M,
                   blocked: EdgeCheckpoints | None = None) -> Ring:
    """Find the road crossings of ``ring`` and check whether ``checkpoints`` close it.

    Parameters
    ----------
    G : road graph (metric CRS), or its ``RingGraph`` (``ring_graph(G)``, read once for
        several rings).
    ring : the ring polygon (GeoDataFrame with a CRS, or a shapely polygon in the graph CRS):
        the county boundary or a drawn inner ring.
    checkpoints : checkpoint points; a checkpoint covers every road within ``tolerance_m``
        metres of it.
    id_col : checkpoint id column.
    tolerance_m : metres between a checkpoint and a road for the road to count as checked.
    blocked : the roads the checkpoints close (``edge_checkpoints`` of the same graph,
        checkpoints, ``id_col`` and ``tolerance_m``), when several rings share them; computed
        here when None.

    Notes
    -----
    A crossing is a road with one end inside the ring and the other outside. The ring is
    closed when, after removing every checkpointed road, no inside node is reachable from an
    outside node (directed reachability, one-way streets honoured), which is the same as a
    minimum cut of value zero between outside and inside.

    A ring that cannot be checked is not closed (``closed`` False, ``reason`` says why, and a
    warning is logged): one with no road node inside (it misses the network: another place,
    or a CRS mix-up), one with no node outside (the network ends inside the ring; extend it
    beyond the ring) and one that no road crosses. Calling such a ring closed would report a
    sealed county where nothing was checked.
    """
    if not (tolerance_m >= 0):
        raise InputError(f"`tolerance_m` was {tolerance_m!r} but must be metres >= 0, e.g. 50")
    rg = ring_graph(G)
    poly = ring_polygon(ring, rg)
    is_in = rg.inside(poly)
    boundary = poly.boundary
    if blocked is None:
        blocked = edge_checkpoints(rg, checkpoints, id_col=id_col, tolerance_m=tolerance_m)
    roads: dict[tuple, dict] = {}
    for e in np.flatnonzero(is_in[rg.src] != is_in[rg.dst]).tolist():  # the crossing edges
        u, v, _ = rg.keys[e]
        d = rg.data[e]
        u_in = bool(is_in[rg.src[e]])
        a, b = (u, v) if str(u) <= str(v) else (v, u)
        rec = roads.setdefault((a, b), {"u": a, "v": b, "in": False, "out": False,
                                        "outside_node": v if u_in else u,
                                        "inside_node": u if u_in else v,
                                        "road_class": d.get("road_class", ""),
                                        "geometry": d.get("geometry"), "checkpoint_id": None})
        rec["out" if u_in else "in"] = True
        if blocked.blocked[e] and rec["checkpoint_id"] is None:
            rec["checkpoint_id"] = blocked.ids[e]
    rows = []
    for rec in roads.values():
        line = rec.pop("geometry")
        hit = line.intersection(boundary) if line is not None else None
        if hit is None or hit.is_empty:
            point = shapely.Point(rg.xy[rg.index[rec["inside_node"]]])
        else:
            point = shapely.get_geometry(hit, 0) if hit.geom_type.startswith("Multi") or \
                hit.geom_type == "GeometryCollection" else hit
            point = point.representative_point() if point.geom_type != "Point" else point
        rec["direction"] = "both" if rec["in"] and rec["out"] else ("in" if rec["in"] else "out")
        rec.pop("in"), rec.pop("out")
        rec["rank"] = road_class_rank(rec["road_class"])
        rec["covered"] = rec["checkpoint_id"] is not None
        rec["geometry"] = point
        rows.append(rec)
    cols = ["crossing_id", "u", "v", "outside_node", "inside_node", "direction", "road_class",
            "rank", "checkpoint_id", "covered", "geometry"]
    frame = pd.DataFrame(rows, columns=[c for c in cols if c != "crossing_id"])
    frame = frame.sort_values(["covered", "rank", "u", "v"], kind="stable").reset_index(drop=True)
    frame.insert(0, "crossing_id", [f"X{i + 1}" for i in range(len(frame))])
    crossings = gpd.GeoDataFrame(frame, geometry="geometry", crs=rg.crs)

    # Closure on the graph: reachability from the outside after removing checkpointed roads
    # (one breadth-first search on the sparse graph).
    reached = rg.reached_from(~is_in, ~blocked.blocked)
    inside_reached = reached & is_in
    at = [rg.index[n] for n in crossings["inside_node"]]
    reached_in = inside_reached[at] if at else np.zeros(0, bool)
    at = [rg.index[n] for n in crossings["outside_node"]]
    reached_out = reached[at] if at else np.zeros(0, bool)
    leaks = crossings.loc[(crossings["direction"] != "out").to_numpy() & reached_in & reached_out
                          & ~crossings["covered"].to_numpy(dtype=bool), "crossing_id"].tolist()
    n_inside = int(is_in.sum())
    n_outside = rg.n - n_inside
    reason = None
    if n_inside == 0:
        reason = (f"no road node lies inside the ring, so it misses the road network "
                  f"({rg.n} nodes); check that the ring and the network cover the "
                  "same place (and their CRS)")
    elif not n_outside:
        reason = (f"all {n_inside} road nodes lie inside the ring, so the network has no entries "
                  "to check; give a network that reaches beyond the ring")
    elif len(crossings) == 0:
        reason = (f"no road crosses the ring ({n_inside} nodes inside, {n_outside} outside); "
                  "check that the ring follows the boundary the network crosses")
    if reason is not None:
        log.warning("the checkpoint ring cannot be checked and is reported as not closed: %s", reason)
    return Ring(crossings=crossings, closed=reason is None and not inside_reached.any(), leaks=leaks,
                outside_nodes=n_outside, inside_nodes=n_inside, tolerance_m=tolerance_m,
                reason=reason)


# --------------------------------------------------------------------------------------------
# Layered rings (三圈三层): which polygons the rings are

#: The ring levels, outermost first: the county border, the town centres, the key areas.
RING_LEVELS = ("outer", "inner", "core")
_LEVEL_WORDS = {"outer": "outer", "外圈": "outer", "外围": "outer", "县界": "outer", "环县": "outer",
                "inner": "inner", "中圈": "inner", "城区": "inner", "环城": "inner",
                "core": "core", "内圈": "core", "核心": "core", "核心圈": "core", "重点": "core"}


def ring_level(value: object) -> str | None:
    """``outer``, ``inner`` or ``core`` for a ring name in English or Chinese (外圈/中圈/内圈,
    县界, 城区, 核心 …), None for anything else (blank, unknown)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return _LEVEL_WORDS.get(str(value).strip().lower())


@dataclass(frozen=True, eq=False)
class RingSpec:
    """One ring of the layered rings: what it is and where its polygon came from.

    Attributes
    ----------
    level : ``outer``, ``inner`` or ``core``.
    name : the ring's name (the rings layer's ``name``, else the level).
    polygon : (multi)polygon in the workspace CRS (metres).
    source : how the polygon was made: ``rings layer``, ``area``, ``hull of checkpoints``
        or ``townships 街道``.
    units_needed : units each entry needs when sealing (the rings layer's ``units_needed``
        column), None for the default of the level.
    """

    level: str
    name: str
    polygon: object
    source: str
    units_needed: int | None = None


def _rings_from_layer(layer: gpd.GeoDataFrame, crs) -> list[RingSpec]:
    if layer.crs is None:
        raise CRSError("the rings layer has no CRS; set its CRS before checking the rings")
    if "ring" not in layer.columns:
        cols = [c for c in layer.columns if c != layer.geometry.name]
        raise InputError(f"the rings layer has no `ring` column (outer, inner or core); columns "
                         f"are {cols}; add one naming each polygon's ring")
    levels = layer["ring"].map(ring_level)
    bad = layer.index[levels.isna()].tolist()
    if bad:
        held = format_ids(layer.loc[bad, 'ring'].astype(str).unique())
        raise InputError(f"the rings layer's `ring` column holds {held} in rows {format_ids(bad)}; "
                         "give outer, inner or core (外圈, 中圈, 内圈)")
    kinds = set(layer.geometry.geom_type.dropna())
    if not kinds <= {"Polygon", "MultiPolygon"}:
        raise InputError(f"the rings layer must hold polygons, it holds {sorted(kinds)}; draw each ring "
                         "as a polygon")
    layer = layer.to_crs(crs)
    names = (layer["name"].astype(str).where(layer["name"].notna(), levels)
             if "name" in layer.columns else levels)
    need = (pd.to_numeric(layer["units_needed"], errors="coerce")
            if "units_needed" in layer.columns else pd.Series(np.nan, index=layer.index))
    out = []
    for (level, name), rows in layer.groupby([levels, names], sort=False).groups.items():
        k = need.loc[rows].dropna()
        out.append(RingSpec(level, str(name), shapely.union_all(layer.geometry.loc[rows].values),
                            "rings layer", int(k.max()) if len(k) else None))
    return out


def _hull_of(points: gpd.GeoDataFrame, buffer_m: float):
    hull = shapely.convex_hull(shapely.union_all(points.geometry.values))
    return hull.buffer(buffer_m) if hull.geom_type == "Polygon" else None


def rings_from_workspace(ws, rings: gpd.GeoDataFrame | None = None, *,
                         hull_buffer_m: float = 10.0) -> list[RingSpec]:
    """The layered rings (三圈三层) of a workspace, outermost first.

    Parameters
    ----------
    ws : the workspace (its ``area``, ``checkpoints`` and ``townships`` layers are read).
    rings : a polygon layer with a ``ring`` column (outer/inner/core, or 外圈/中圈/内圈) and
        optionally ``name`` and ``units_needed``; default: the workspace's ``rings`` layer.
    hull_buffer_m : metres the hull of a level's checkpoints is widened by, so that the ring
        runs just outside the checkpoints that stand on it.

    Returns
    -------
    list of RingSpec, sorted outer, inner, core (then by name).

    Notes
    -----
    With a rings layer, its polygons are the rings (rows with the same ring and name are one
    ring). Without one: outer is the study ``area``; each other level named in the
    checkpoints' ``ring`` column is the convex hull of those checkpoints widened by
    ``hull_buffer_m`` (a level with fewer than three checkpoints not on a line gives no
    polygon and is left out with a warning); when no checkpoint is inner, the inner ring is
    the union of the townships of kind 街道 (the county seat's urban subdistricts: the town
    centre). Core rings (key areas) come only from a rings layer or core checkpoints.
    """
    if rings is None and ws.has("rings"):
        rings = ws.layer("rings")
    if rings is not None and len(rings):
        specs = _rings_from_layer(rings, ws.crs)
    else:
        specs = []
        if ws.has("area"):
            specs.append(RingSpec("outer", "outer", shapely.union_all(ws.layer("area").geometry.values),
                                  "area"))
        cps = ws.layer("checkpoints") if ws.has("checkpoints") else None
        levels = (cps["ring"].map(ring_level) if cps is not None and "ring" in cps.columns
                  else pd.Series(dtype=object))
        for level in RING_LEVELS[1:]:
            on = cps[(levels == level).to_numpy()] if cps is not None and len(levels) else None
            if on is None or len(on) == 0:
                continue
            poly = _hull_of(on, hull_buffer_m)
            if poly is None:
                log.warning("the %d %s checkpoints (%s) do not span an area, so they give no %s ring; "
                            "give at least three not on one line, or a rings layer", len(on), level,
                            format_ids(on.get("checkpoint_id", on.index)), level)
                continue
            specs.append(RingSpec(level, level, poly, "hull of checkpoints"))
        if not any(s.level == "inner" for s in specs) and ws.has("townships"):
            towns = ws.layer("townships")
            if "kind" in towns.columns:
                seat = towns[towns["kind"].astype(str).str.strip() == "街道"]
                if len(seat):
                    specs.append(RingSpec("inner", "inner", shapely.union_all(seat.geometry.values),
                                          "townships 街道"))
    if not specs:
        raise InputError("the workspace has no rings: give a rings layer (polygons with a `ring` "
                         "column), or an area")
    order = {lv: i for i, lv in enumerate(RING_LEVELS)}
    return sorted(specs, key=lambda s: (order[s.level], s.name))
