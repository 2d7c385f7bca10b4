"""Road networks: load, validate, set speeds and travel times, keep the largest strongly connected
component, and snap points to nodes.

A network comes in two forms, both built from the same validated node and edge tables:

* the sparse travel-time graph, ``geo.traveltime.TravelEngine`` (``engine_from_tables``,
  ``engine_from_file``, ``engine_from_workspace``): every node, no NetworkX graph in between;
  what travel times and coverage need. Points snap to it too (``snap_points``).
* a ``networkx.MultiDiGraph`` of the largest strongly connected component (``graph_from_*``),
  for the algorithms that need NetworkX (rings, routes, street tours). ``RoadNetwork`` holds
  both for a workspace and builds the graph only when asked.

A GridPatrol graph is a ``networkx.MultiDiGraph`` in a projected CRS (metres):

* ``G.graph["crs"]``: the pyproj CRS of the node coordinates; ``G.graph["dropped_nodes"]``:
  how many nodes fell outside the largest strongly connected component.
* nodes: string ids (``"64158"``), attributes ``x``, ``y`` (metres).
* edges: ``length_m`` (metres), ``speed_kmh``, ``travel_s`` (seconds), ``road_class``,
  ``oneway`` (bool), ``geometry`` (a LineString in the graph CRS). A two-way road is two
  directed edges; a one-way road is one.

Sources: OpenStreetMap files (``.osm``, ``.xml``, ``.osm.bz2``, ``.osm.gz``, ``.pbf``; read by
``geo.osm``: only the ways of the chosen network type, ``drive`` for patrol cars or ``walk`` for
foot patrols, with OSMnx's rules), GraphML (``.graphml``), node/edge tables in a GeoPackage (layers
``road_nodes``/``road_edges``, or the AequilibraE ``nodes``/``links`` layout with ``a_node``,
``b_node``, ``direction``, ``distance``, ``speed_ab``/``speed_ba``), CSV node/edge tables, TNTP
planning networks (``*_net.tntp`` with its ``*_node.tntp``), a GridPatrol workspace, and, when
the machine is online, a place name or polygon through OSMnx (``graph_from_place``,
``graph_from_polygon``).

Default speeds (km/h) by road class (``geo.road_classes``: expressway 100 … village road 20,
an unknown class 30), used where an edge has no speed of its own; override them with
``speeds={class: km/h}``, per edge with a ``speed_kmh`` column, or for every edge with
``speed_kmh=V`` (``--speed-kmh V``).
"""
from __future__ import annotations

import logging
import math
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from geo.crs import parse_crs, require_projected, utm_crs_for
from geo.errors import CRSError, InputError, Problem, ValidationError, format_ids
from geo.ids import normalise_ids
from geo.layers import LayerSource, read_layer, split_layer_spec
from geo.road_classes import DEFAULT_SPEED_KMH, ROAD_CLASS_RANK, SPEED_DEFAULTS_KMH, road_class_rank
from geo.traveltime import TravelEngine, engine_from_arrays

if TYPE_CHECKING:
    import networkx as nx
    from scipy.spatial import cKDTree

__all__ = [
    "SPEED_DEFAULTS_KMH", "DEFAULT_SPEED_KMH", "ROAD_CLASS_RANK", "SNAP_WARN_M", "SNAP_REFUSE_M",
    "CLIP_MARGIN_M",
    "graph_from_tables", "graph_from_file", "graph_from_workspace", "graph_from_place",
    "graph_from_polygon", "tables_from_file", "layers_from_file", "edges_from_links", "tables_from_graph",
    "graph_with_speeds",
    "largest_scc", "snap_points", "nodes_from_points", "cell_nodes", "road_class_rank",
    "engine_from_tables", "engine_from_file", "engine_from_workspace", "RoadNetwork",
    "road_network_from_workspace",
]

log = logging.getLogger(__name__)

SNAP_WARN_M = 500.0
# A point farther than this from every road node is not on the network (wrong CRS, swapped
# lon/lat, a file of another place): snapping it would report nonsense (a facility 11,000 km
# away "covering" the county), so snap_points refuses it where the caller asks (facilities).
SNAP_REFUSE_M = 5000.0
# Networks are clipped to the study area grown by this margin (metres) when a workspace is built:
# roads just outside the area that join places inside it stay.
CLIP_MARGIN_M = 2000.0


def _first(value: object) -> str:
    """The first class of an OSMnx list-valued attribute, as a string ('' for missing)."""
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _truthy(value: object) -> bool:
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return value != 0
    return str(value).strip().lower() in ("1", "true", "yes", "y", "t", "-1", "oneway", "是")


def _metric_crs(gdf: gpd.GeoDataFrame, crs: object | None) -> CRS:
    """The projected CRS (metres) to build the graph in: ``crs``, the layer's if metric, or its UTM zone."""
    if crs is not None:
        return require_projected(crs, what="the network CRS")
    own = CRS(gdf.crs)
    unit = own.axis_info[0].unit_name if own.axis_info else ""
    if own.is_projected and unit in ("metre", "meter"):
        return own
    return utm_crs_for(gdf)


# --------------------------------------------------------------------------------------------
# Building from tables

@dataclass(frozen=True, eq=False)
class _Directed:
    """A validated network as arrays: its nodes and its directed edges (a two-way road is two).

    Per node (table order): ``names`` (string ids), ``xy`` (metres in ``crs``). Per input edge
    row: ``length``, ``road_class``, ``own_speed``, ``oneway``, ``speed``, ``travel`` (seconds)
    and ``lines`` (LineStrings in ``crs``, None where not read). Per directed edge (input order,
    each row's u -> v then its v -> u): ``row`` (its input row), ``back`` (runs v -> u), ``src``
    and ``dst`` (node positions).
    """

    source: str
    crs: CRS
    names: np.ndarray
    xy: np.ndarray
    length: np.ndarray
    road_class: np.ndarray
    own_speed: np.ndarray
    oneway: np.ndarray
    speed: np.ndarray
    travel: np.ndarray
    lines: np.ndarray | None
    ends: tuple[np.ndarray, np.ndarray]
    row: np.ndarray
    back: np.ndarray
    src: np.ndarray
    dst: np.ndarray


def _directed_from_tables(nodes: gpd.GeoDataFrame, edges: pd.DataFrame, *, crs: object | None,
                          speed_kmh: float | None, speeds: Mapping[str, float] | None,
                          source: str | None, lines: bool) -> _Directed:
    """Validate node and edge tables (see ``graph_from_tables``) and return their arrays.

    ``lines`` False: edge geometries are reprojected only where an edge has no ``length_m`` of
    its own (its length comes from them) and ``_Directed.lines`` is None.
    """
    src = source or edges.attrs.get("source") or nodes.attrs.get("source") or "<network>"
    problems: list[Problem] = []

    def problem(layer: str, rule: str, message: str, fix: str, ids=()) -> None:
        problems.append(Problem(src, layer, rule, message, fix, tuple(ids)))

    if len(edges) == 0:
        problem("road_edges", "no_edges", "the network has no edges",
                "give a network file that holds road segments (edges with u and v)")
    missing_cols = [c for c in ("u", "v") if c not in edges.columns]
    if missing_cols:
        problem("road_edges", "missing_column", f"edges have no column(s) {missing_cols}; columns "
                f"are {[c for c in edges.columns if c != 'geometry']}",
                "name the from/to node columns u and v")
    if len(nodes) == 0:
        problem("road_nodes", "empty_layer", "the network has no nodes",
                "give the node table (node_id and point geometry)")
    elif "node_id" not in nodes.columns:
        problem("road_nodes", "missing_id_column", "nodes have no node_id column",
                "name the node id column node_id")
    if len(nodes) and getattr(nodes, "crs", None) is None:
        problem("road_nodes", "no_crs", "the node layer has no coordinate reference system",
                "say which CRS it is in (`source_crs`, an EPSG code)")
    if problems:
        raise ValidationError(problems)

    node_ids = normalise_ids(nodes["node_id"])
    dup = node_ids[node_ids.duplicated()].unique()
    if len(dup):
        problem("road_nodes", "duplicate_ids", f"{len(dup)} node ids are used more than once",
                "give every node its own node_id", dup)
    target = _metric_crs(nodes, crs)
    xy = shapely.get_coordinates(nodes.geometry.values)
    if len(xy) != len(nodes):
        problem("road_nodes", "wrong_geometry_type", "node geometries must be single points",
                "give a point layer for the nodes")
    elif not _same_crs(nodes.crs, target):  # the points' coordinates, as GeoSeries.to_crs would
        from pyproj import Transformer
        x, y = Transformer.from_crs(nodes.crs, target, always_xy=True).transform(xy[:, 0], xy[:, 1])
        xy = np.column_stack([x, y])
    if problems:
        raise ValidationError(problems)
    node_index = pd.Index(node_ids.to_numpy(dtype=object), dtype=object)

    index = edges.index
    u_ids = normalise_ids(edges["u"]).to_numpy(dtype=object)
    v_ids = normalise_ids(edges["v"]).to_numpy(dtype=object)
    ui = node_index.get_indexer(u_ids)
    vi = node_index.get_indexer(v_ids)

    def rows(mask: pd.Series) -> list[str]:
        """Row labels (#1 is the first edge) of the edges in ``mask``."""
        return [f"#{i + 1}" for i in np.flatnonzero(np.asarray(mask, dtype=bool))]

    dangling = pd.Series((ui < 0) | (vi < 0), index=index)
    if dangling.any():
        d = dangling.to_numpy()
        missing = sorted(set(u_ids[d]).union(v_ids[d]) - set(node_index), key=str)
        problem("road_edges", "missing_nodes", f"{int(dangling.sum())} edges point to node ids that "
                f"are not in the node table ({format_ids(missing)})",
                "add the missing nodes or delete those edges", rows(dangling))

    # Length: the edge's own, else its line's (reprojected), else the straight segment between
    # its nodes. Lines are reprojected only where they are kept or a length comes from them.
    length = pd.to_numeric(edges["length_m"], errors="coerce") if "length_m" in edges.columns else \
        pd.Series(np.nan, index=index)
    geom = None
    has_lines = isinstance(edges, gpd.GeoDataFrame) and edges.geometry.name in edges.columns
    if has_lines and (lines or length.isna().any()):
        take = np.ones(len(edges), bool) if lines else length.isna().to_numpy()
        gs = gpd.GeoSeries(edges.geometry.values[take], crs=edges.crs, index=index[take])
        if gs.crs is None and gs.notna().any():
            gs = gs.set_crs(nodes.crs)
        geom = gs.to_crs(target).values if gs.crs is not None and not _same_crs(gs.crs, target) \
            else gs.values
        from_geom = pd.Series(shapely.length(geom), index=index[take])
        length = length.fillna(from_geom.where(from_geom > 0))
        if not lines:
            geom = None
    ok = ~dangling
    if ok.any():
        okv = ok.to_numpy()
        a = xy[ui[okv]]
        b = xy[vi[okv]]
        straight = pd.Series(np.hypot(*(a - b).T), index=index[okv])
        length = length.fillna(straight.where(straight > 0))
    bad_len = ok & ~(length > 0)
    if bad_len.any():
        problem("road_edges", "bad_length", f"{int(bad_len.sum())} edges have a zero, negative or "
                "missing length", "give length_m in metres > 0 (or real geometry) for every edge, "
                "or delete those edges", rows(bad_len))
    own = (pd.to_numeric(edges["speed_kmh"], errors="coerce") if "speed_kmh" in edges.columns
           else pd.Series(np.nan, index=index))
    bad_sp = own.notna() & ~(own > 0)
    if bad_sp.any():
        problem("road_edges", "bad_speed", f"{int(bad_sp.sum())} edges have a zero or negative "
                "speed_kmh", "give speeds in km/h > 0 or leave them empty for the class default",
                rows(bad_sp))
    if problems:
        raise ValidationError(problems)

    # Everything below is column arithmetic.
    if speed_kmh is not None and not (speed_kmh > 0):
        raise InputError(f"`speed_kmh` was {speed_kmh!r} but must be a speed in km/h > 0, e.g. 60")
    table = {**SPEED_DEFAULTS_KMH, **(speeds or {})}
    bad = {k: s for k, s in table.items() if not (s > 0)}
    if bad:
        raise InputError(f"speeds {bad} are not > 0 km/h; give positive speeds")
    road_class = (_each_value(edges["road_class"], _first) if "road_class" in edges.columns
                  else np.full(len(edges), "", dtype=object))
    own_speed = own.to_numpy(dtype=float)
    oneway = (_each_value(edges["oneway"], _truthy).astype(bool) if "oneway" in edges.columns
              else np.zeros(len(edges), dtype=bool))
    length_v = length.to_numpy(dtype=float)
    # speed precedence as in graph_with_speeds: one speed > the edge's own > class table > default
    if speed_kmh is not None:
        speed_v = np.full(len(edges), float(speed_kmh))
    else:
        by_class = pd.Series(road_class).map(table).to_numpy(dtype=float)
        defaulted = np.isnan(by_class) & ~(own_speed > 0) & (road_class != "")
        if defaulted.any():
            unknown = pd.Series(road_class[defaulted]).value_counts()
            log.warning("network %s: %d edges have no speed of their own and a road class the "
                        "speed table does not list (%s); they were given %g km/h; give their "
                        "speeds (speeds={class: km/h}) or one speed for every road", src,
                        int(defaulted.sum()), format_ids(f"{c} ({n})" for c, n in unknown.items()),
                        DEFAULT_SPEED_KMH)
        by_class = np.where(np.isnan(by_class), DEFAULT_SPEED_KMH, by_class)
        speed_v = np.where(own_speed > 0, own_speed, by_class)
    travel_v = length_v * 3.6 / speed_v

    # directed edges in input order: each row's u -> v, then v -> u for two-way roads (not loops)
    back = ~oneway & (ui != vi)
    rows_d = np.concatenate([np.arange(len(edges)), np.flatnonzero(back)])
    is_back = np.concatenate([np.zeros(len(edges), bool), np.ones(int(back.sum()), bool)])
    order = np.argsort(rows_d * 2 + is_back, kind="stable")
    rows_d, is_back = rows_d[order], is_back[order]
    src_d = np.where(is_back, vi[rows_d], ui[rows_d])
    dst_d = np.where(is_back, ui[rows_d], vi[rows_d])
    lines_v = None
    if lines:
        lines_v = np.asarray(geom, dtype=object) if geom is not None else np.full(len(edges), None, dtype=object)
    return _Directed(source=src, crs=target, names=node_index.to_numpy(), xy=xy, length=length_v,
                     road_class=road_class, own_speed=own_speed, oneway=oneway, speed=speed_v,
                     travel=travel_v, lines=lines_v, ends=(ui, vi), row=rows_d, back=is_back,
                     src=src_d, dst=dst_d)


def _each_value(values: pd.Series, fn) -> np.ndarray:
    """``fn`` of every value (an object array), computed once per distinct value; value by value
    where values cannot be hashed (OSMnx lists)."""
    try:
        codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=False)
    except TypeError:
        return np.array([fn(v) for v in values], dtype=object)
    return np.array([fn(u) for u in uniques], dtype=object)[codes]


def _directed_lines(d: _Directed) -> np.ndarray:
    """The line of every directed edge of ``d`` (built with ``lines``): its row's line, reversed
    for the v -> u copy of a two-way road, the straight line between its nodes where the row
    has none (``graph_from_tables``, ``geo.ring.ring_graph_from_tables``)."""
    ui, vi = d.ends
    lines = d.lines
    assert lines is not None  # built with lines=True
    straight = shapely.is_missing(lines) | shapely.is_empty(lines)
    if straight.any():
        ends = np.stack([d.xy[ui[straight]], d.xy[vi[straight]]], axis=1)
        lines = lines.copy()
        lines[straight] = shapely.linestrings(ends)
    geom_d = lines[d.row]
    if d.back.any():
        geom_d[d.back] = shapely.reverse(geom_d[d.back])
    return geom_d


def graph_from_tables(nodes: gpd.GeoDataFrame, edges: pd.DataFrame, *, crs: object | None = None,
                      speed_kmh: float | None = None, speeds: Mapping[str, float] | None = None,
                      keep_largest: bool = True, source: str | None = None) -> nx.MultiDiGraph:
    """A directed road graph (NetworkX) from a node table and an edge table.

    For travel times alone (coverage) ``engine_from_tables`` builds the sparse matrix from the
    same tables without a NetworkX graph; build this graph where a NetworkX algorithm needs it.

    Parameters
    ----------
    nodes : points with a ``node_id`` column, in any CRS (it must have one).
    edges : rows with ``u``, ``v`` (node ids) and optionally ``length_m`` (metres; from the
        geometry, or else the straight line between the nodes, where missing), ``speed_kmh``
        (a per-edge speed that overrides the class default), ``oneway`` (true: only u -> v;
        missing: two-way), ``road_class`` and a LineString ``geometry``.
    crs : projected CRS (metres) of the graph; default: the nodes' CRS if metric, else the
        UTM zone of the nodes.
    speed_kmh : one speed for every edge (planning exercises: 60 km/h); overrides everything.
    speeds : {road class: km/h} overriding ``SPEED_DEFAULTS_KMH``.
    keep_largest : keep only the largest strongly connected component (a warning counts the
        nodes and edges dropped).
    source : name of the input for messages.

    Raises
    ------
    ValidationError
        with every problem at once: no edges, missing ``u``/``v``, edges pointing to missing
        nodes, duplicate node ids, zero or negative lengths, nodes without CRS.
    """
    import networkx as nx
    d = _directed_from_tables(nodes, edges, crs=crs, speed_kmh=speed_kmh, speeds=speeds,
                              source=source, lines=True)
    geom_d = _directed_lines(d)

    n = len(d.names)
    keep_nodes = np.ones(n, bool)
    comps = 1
    if keep_largest:
        keep_nodes, comps = _largest_scc_mask(n, d.src, d.dst)
    keep_edges = keep_nodes[d.src] & keep_nodes[d.dst]

    G = nx.MultiDiGraph(crs=d.crs, dropped_nodes=0, dropped_edges=0, source=d.source)
    G.graph["speeds"] = dict(speeds or {})
    kept = np.flatnonzero(keep_nodes)
    G.add_nodes_from(zip(d.names[kept].tolist(), ({"x": x, "y": y} for x, y in d.xy[kept].tolist())))
    r = d.row[keep_edges]
    G.add_edges_from(zip(
        d.names[d.src[keep_edges]].tolist(), d.names[d.dst[keep_edges]].tolist(),
        ({"geometry": g, "length_m": lm, "road_class": rc, "own_speed_kmh": os_, "oneway": ow,
          "speed_kmh": sp, "travel_s": ts}
         for g, lm, rc, os_, ow, sp, ts in zip(
             geom_d[keep_edges].tolist(), d.length[r].tolist(), d.road_class[r].tolist(),
             d.own_speed[r].tolist(), d.oneway[r].tolist(), d.speed[r].tolist(), d.travel[r].tolist()))))
    if keep_largest:
        dn = n - len(kept)
        de = len(d.src) - int(keep_edges.sum())
        G.graph["dropped_nodes"], G.graph["dropped_edges"] = dn, de
        if dn:
            _warn_dropped(d.source, len(kept), dn, de, comps - 1)
    return G


def engine_from_tables(nodes: gpd.GeoDataFrame, edges: pd.DataFrame, *, crs: object | None = None,
                       speed_kmh: float | None = None, speeds: Mapping[str, float] | None = None,
                       source: str | None = None) -> TravelEngine:
    """The travel-time engine (``geo.traveltime.TravelEngine``) of node and edge tables: every
    node, no NetworkX graph in between.

    Tables, CRS, speeds and validation as ``graph_from_tables``; no component is dropped: a
    node outside the largest strongly connected component stays, so that travel times reach
    every node that can be reached (``engine.core`` marks the largest component, where points
    are snapped by location). Edge geometries are not needed, except to measure the edges
    that have no ``length_m``.

    Raises
    ------
    ValidationError, InputError
        as ``graph_from_tables``.
    """
    d = _directed_from_tables(nodes, edges, crs=crs, speed_kmh=speed_kmh, speeds=speeds,
                              source=source, lines=False)
    core, _ = _largest_scc_mask(len(d.names), d.src, d.dst)
    return engine_from_arrays(d.names, d.src, d.dst, d.travel[d.row], xy=d.xy, crs=d.crs,
                              core=None if core.all() else core)


def _same_crs(a: object, b: object) -> bool:
    """True when CRS ``a`` is ``b`` (so that reprojecting would change nothing)."""
    try:
        return a is not None and CRS(a) == CRS(b)
    except Exception:
        return False


def _largest_scc_mask(n: int, src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, int]:
    """(boolean mask of the nodes in the largest strongly connected component, number of
    components) of the directed graph with ``n`` nodes and edges ``src[i] -> dst[i]``.

    scipy finds the components in C; when two components tie for largest, networkx decides
    (its component order is the one ``largest_scc`` has always used).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    adj = coo_matrix((np.ones(len(src), np.int8), (src, dst)), shape=(n, n)).tocsr()
    count, labels = connected_components(adj, directed=True, connection="strong")
    sizes = np.bincount(labels, minlength=count)
    top = np.flatnonzero(sizes == sizes.max())
    if len(top) == 1:
        return labels == top[0], int(count)
    import networkx as nx
    D = nx.DiGraph()
    D.add_nodes_from(range(n))
    D.add_edges_from(zip(src.tolist(), dst.tolist()))
    biggest = max(nx.strongly_connected_components(D), key=len)
    mask = np.zeros(n, bool)
    mask[list(biggest)] = True
    return mask, int(count)


def _warn_dropped(source: str, kept: int, dn: int, de: int, others: int) -> None:
    log.warning("network %s: kept the largest strongly connected component (%d nodes); "
                "dropped %d nodes and %d edges in %d other components that cannot be both "
                "reached and left (one-way dead ends, islands)", source, kept, dn, de, others)


def graph_with_speeds(G: nx.MultiDiGraph, *, speed_kmh: float | None = None,
                      speeds: Mapping[str, float] | None = None,
                      overrides: Mapping[tuple, float] | None = None) -> nx.MultiDiGraph:
    """A copy of ``G`` with ``speed_kmh`` and ``travel_s`` (seconds) set on every edge.

    Precedence, highest first: ``speed_kmh`` (every edge), ``overrides`` {(u, v): km/h} or
    {(u, v, key): km/h}, the edge's own speed (``own_speed_kmh``, from the input table),
    ``speeds`` {road class: km/h} (remembered in ``graph["speeds"]``), ``SPEED_DEFAULTS_KMH``, ``DEFAULT_SPEED_KMH``.
    """
    if speed_kmh is not None and not (speed_kmh > 0):
        raise InputError(f"`speed_kmh` was {speed_kmh!r} but must be a speed in km/h > 0, e.g. 60")
    table = {**SPEED_DEFAULTS_KMH, **G.graph.get("speeds", {}), **(speeds or {})}
    bad = {k: s for k, s in table.items() if not (s > 0)}
    if bad:
        raise InputError(f"speeds {bad} are not > 0 km/h; give positive speeds")
    overrides = dict(overrides or {})
    H = G.copy()
    H.graph["speeds"] = {**G.graph.get("speeds", {}), **(speeds or {})}
    for u, v, k, d in H.edges(keys=True, data=True):
        if speed_kmh is not None:
            s = float(speed_kmh)
        elif (u, v, k) in overrides:
            s = float(overrides[(u, v, k)])
        elif (u, v) in overrides:
            s = float(overrides[(u, v)])
        elif d.get("own_speed_kmh") is not None and d["own_speed_kmh"] > 0:
            s = float(d["own_speed_kmh"])
        else:
            s = float(table.get(_first(d.get("road_class")), DEFAULT_SPEED_KMH))
        d["speed_kmh"] = s
        d["travel_s"] = d["length_m"] * 3.6 / s
    return H


def largest_scc(G: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """A copy of ``G`` reduced to its largest strongly connected component.

    Logs a warning counting the nodes and edges dropped; ``graph["dropped_nodes"]`` and
    ``graph["dropped_edges"]`` hold the counts.
    """
    if G.number_of_nodes() == 0:
        raise InputError("the network has no nodes; give a network file that holds roads")
    import networkx as nx
    comps = list(nx.strongly_connected_components(G))
    biggest = max(comps, key=len)
    H = G.subgraph(biggest).copy()
    dn = G.number_of_nodes() - H.number_of_nodes()
    de = G.number_of_edges() - H.number_of_edges()
    H.graph.update(G.graph)
    H.graph["dropped_nodes"] = G.graph.get("dropped_nodes", 0) + dn
    H.graph["dropped_edges"] = G.graph.get("dropped_edges", 0) + de
    if dn:
        _warn_dropped(G.graph.get("source", ""), H.number_of_nodes(), dn, de, len(comps) - 1)
    return H


# --------------------------------------------------------------------------------------------
# Files

def _tables_from_gpkg(path: Path, layer: str | None, *, edge_geometry: bool = True,
                      workspace: bool = False) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Node and edge tables of a GeoPackage (``road_nodes``/``road_edges``, or the AequilibraE
    ``nodes``/``links``). ``edge_geometry`` False leaves the edges' lines unread where every edge
    has its length (``length_m``, ``distance``); ``workspace``: say so when there is no network."""
    layers = {str(n) for n, _ in pyogrio.list_layers(path)}
    if {"road_nodes", "road_edges"} <= layers:
        nodes = pyogrio.read_dataframe(path, layer="road_nodes")
        edges = _read_edges(path, "road_edges", "length_m", edge_geometry)
        return nodes, edges
    if workspace:
        raise InputError(f"{path}: the workspace has no road network (road_nodes/road_edges); "
                         "build the workspace with a road network (`network`)")
    if {"nodes", "links"} <= layers:
        nodes = pyogrio.read_dataframe(path, layer="nodes", columns=["node_id"])
        links = _read_edges(path, "links", "distance", edge_geometry)
        return nodes, edges_from_links(links)
    raise InputError(f"{path}: a GeoPackage without a road network; it needs layers "
                     f"road_nodes and road_edges (or nodes and links); it has {sorted(layers)}")


def _read_edges(path: Path, layer: str, length_col: str, geometry: bool) -> pd.DataFrame:
    """An edge layer; without its lines when ``geometry`` is False and every row has a
    ``length_col`` (the lines are read after all where a length is missing)."""
    if geometry:
        return pyogrio.read_dataframe(path, layer=layer)
    edges = pyogrio.read_dataframe(path, layer=layer, read_geometry=False)
    if length_col in edges.columns and pd.to_numeric(edges[length_col], errors="coerce").notna().all():
        return edges
    return pyogrio.read_dataframe(path, layer=layer)


def edges_from_links(links: pd.DataFrame) -> pd.DataFrame:
    """Edges (u, v, length_m, speed_kmh, oneway, road_class) from the AequilibraE link layout.

    ``direction`` 1 means a -> b only, -1 b -> a only, 0 both ways; ``distance`` is metres;
    ``speed_ab``/``speed_ba`` (km/h) become per-edge speeds where given; ``link_type`` is the class.
    """
    need = [c for c in ("a_node", "b_node", "direction") if c not in links.columns]
    if need:
        raise InputError(f"links have no column(s) {need}; the AequilibraE layout needs a_node, "
                         "b_node and direction (1 a->b, -1 b->a, 0 both)")
    d = pd.to_numeric(links["direction"], errors="coerce")
    bad = d.isna() | ~d.isin([1, -1, 0])
    if bad.any():
        raise InputError(f"{int(bad.sum())} links have a direction other than 1, -1 or 0 (rows "
                         f"{format_ids(np.flatnonzero(bad.to_numpy()) + 1)}); fix the direction column")
    geom = links.geometry if isinstance(links, gpd.GeoDataFrame) else None
    cls = links["link_type"] if "link_type" in links.columns else pd.Series("", index=links.index)
    dist = pd.to_numeric(links["distance"], errors="coerce") if "distance" in links.columns else \
        pd.Series(np.nan, index=links.index)
    sab = pd.to_numeric(links.get("speed_ab", pd.Series(np.nan, index=links.index)), errors="coerce")
    sba = pd.to_numeric(links.get("speed_ba", pd.Series(np.nan, index=links.index)), errors="coerce")
    parts = []
    ab = d.isin([1, 0]).to_numpy()
    ba = d.isin([-1, 0]).to_numpy()
    frame_ab = pd.DataFrame({"u": links["a_node"], "v": links["b_node"], "length_m": dist,
                             "speed_kmh": sab, "oneway": True, "road_class": cls})[ab]
    frame_ba = pd.DataFrame({"u": links["b_node"], "v": links["a_node"], "length_m": dist,
                             "speed_kmh": sba, "oneway": True, "road_class": cls})[ba]
    if geom is not None:
        frame_ab = gpd.GeoDataFrame(frame_ab, geometry=geom.values[ab], crs=links.crs)
        frame_ba = gpd.GeoDataFrame(frame_ba, geometry=shapely.reverse(geom.values[ba]), crs=links.crs)
    parts = [frame_ab, frame_ba]
    out = pd.concat(parts, ignore_index=True)
    if geom is not None:
        out = gpd.GeoDataFrame(out, geometry="geometry", crs=links.crs)
    return out


def _tables_from_tntp(net: Path, crs: object | None) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """TNTP planning network: ``*_net.tntp`` (length in miles, speed in mph) and ``*_node.tntp``."""
    node_path = net.with_name(net.name.replace("_net.tntp", "_node.tntp"))
    if not node_path.exists():
        raise InputError(f"{net}: no node file {node_path.name} beside it; a TNTP network needs "
                         "both *_net.tntp and *_node.tntp")
    if crs is None:
        raise CRSError(f"{net}: TNTP files carry no CRS; give it (`source_crs`, e.g. 26771 for "
                       "the Chicago networks)")
    lines = net.read_text().splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip().startswith("~")), None)
    if start is None:
        raise InputError(f"{net}: not a TNTP network file (no '~' header line)")
    names = [t.strip() for t in lines[start].lstrip("~").split("\t") if t.strip() and t.strip() != ";"]
    rows = [line.strip().rstrip(";").split() for line in lines[start + 1:] if line.strip()]
    links = pd.DataFrame(rows, columns=names[:len(rows[0])] if rows else names).apply(pd.to_numeric)
    nodes = pd.read_csv(node_path, sep=r"\s+", usecols=[0, 1, 2])
    nodes.columns = ["node_id", "x", "y"]
    nodes = gpd.GeoDataFrame({"node_id": nodes["node_id"]},
                             geometry=gpd.points_from_xy(nodes["x"], nodes["y"]),
                             crs=parse_crs(crs, what="`source_crs`"))
    speed_mph = links.get("speed", pd.Series(0.0, index=links.index))
    edges = pd.DataFrame({
        "u": links["init_node"], "v": links["term_node"],
        "length_m": links["length"] * 1609.344,
        "speed_kmh": (speed_mph * 1.609344).where(speed_mph > 0),
        "oneway": True, "road_class": "tntp_" + links["link_type"].astype(int).astype(str)})
    return nodes, edges


def _tables_from_csv(path: Path, crs: object | None) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    if path.is_dir():
        node_path, edge_path = path / "nodes.csv", path / "edges.csv"
    else:
        edge_path = path
        node_path = path.with_name(path.name.replace("edges", "nodes"))
    if node_path == edge_path or not node_path.exists() or not edge_path.exists():
        raise InputError(f"{path}: a CSV network needs an edge table *edges*.csv with a node table "
                         "*nodes*.csv beside it (or a folder holding nodes.csv and edges.csv)")
    nodes = read_layer(LayerSource(str(node_path), crs=None if crs is None else str(crs)))
    edges = pd.read_csv(edge_path, encoding="utf-8-sig")
    if "geometry" in edges.columns or "wkt" in edges.columns:
        col = "geometry" if "geometry" in edges.columns else "wkt"
        edges = gpd.GeoDataFrame(edges.drop(columns=[col]),
                                 geometry=gpd.GeoSeries.from_wkt(edges[col]), crs=nodes.crs)
    edges.attrs["source"] = str(edge_path)
    return nodes, edges


def _graph_from_osmnx(G0: nx.MultiDiGraph, crs: object | None, source: str) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Node and edge tables of a graph OSMnx built (downloads, GraphML it saved)."""
    import osmnx as ox

    from geo.osm import maxspeed_kmh
    if G0.number_of_edges() == 0:
        nodes = gpd.GeoDataFrame({"node_id": []}, geometry=[], crs="EPSG:4326")
        return nodes, pd.DataFrame({"u": [], "v": []})
    nodes, edges = ox.convert.graph_to_gdfs(G0)
    nodes = nodes.reset_index().rename(columns={"osmid": "node_id"})
    edges = edges.reset_index()
    # OSMnx adds both directions of two-way streets already: every row is one direction.
    out = gpd.GeoDataFrame({
        "u": edges["u"], "v": edges["v"],
        "length_m": pd.to_numeric(edges["length"], errors="coerce") if "length" in edges else np.nan,
        "speed_kmh": pd.to_numeric(edges["maxspeed"].map(maxspeed_kmh), errors="coerce")
        if "maxspeed" in edges else np.nan,
        "oneway": True,
        "road_class": edges["highway"].map(_first) if "highway" in edges else ""},
        geometry=edges.geometry.values, crs=edges.crs)
    out.attrs["source"] = source
    return nodes[["node_id", "geometry"]], out


def _read_graphml(path: Path):
    import osmnx as ox
    try:
        return ox.load_graphml(path)
    except Exception:
        try:
            import networkx as nx
            G0 = nx.read_graphml(path)
        except Exception as exc:
            raise InputError(f"{path}: not a readable GraphML file ({exc})") from None
        return G0


def _tables_from_graphml(G0: nx.Graph, crs: object | None, source: str) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    if "crs" in G0.graph and all("x" in d and "y" in d for _, d in G0.nodes(data=True)) \
            and all("length" in d for *_, d in G0.edges(data=True)):
        import networkx as nx
        return _graph_from_osmnx(nx.MultiDiGraph(G0), crs, source)
    gcrs = G0.graph.get("crs", crs)
    if gcrs is None:
        raise CRSError(f"{source}: the GraphML graph carries no CRS; give one (`source_crs`)")
    ids, xs, ys = [], [], []
    for n, d in G0.nodes(data=True):
        if "x" not in d or "y" not in d:
            raise InputError(f"{source}: node {n} has no x/y attributes; GraphML nodes need x and y")
        ids.append(n)
        xs.append(float(d["x"]))
        ys.append(float(d["y"]))
    nodes = gpd.GeoDataFrame({"node_id": ids}, geometry=gpd.points_from_xy(xs, ys),
                             crs=parse_crs(gcrs, what="the GraphML crs"))
    rows = []
    for u, v, d in G0.edges(data=True):
        rows.append({"u": u, "v": v, "length_m": d.get("length_m", d.get("length")),
                     "speed_kmh": d.get("speed_kmh"), "road_class": d.get("road_class", d.get("highway")),
                     "oneway": True if G0.is_directed() else d.get("oneway", False)})
    return nodes, pd.DataFrame(rows, columns=["u", "v", "length_m", "speed_kmh", "road_class", "oneway"])


def tables_from_file(path: str | Path, *, crs: object | None = None,
                     source_crs: object | None = None, network_type: str = "drive",
                     clip_area: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
                     clip_margin_m: float = CLIP_MARGIN_M,
                     edge_geometry: bool = True) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Read a network file into raw (node, edge) tables, unvalidated and in the file's CRS.

    Parameters
    ----------
    path : a network file (see the module docstring); ``file.gpkg:layer`` names a layer.
    crs : unused by the readers (kept for ``graph_from_file``).
    source_crs : the CRS to assume where the file carries none (CSV x/y, TNTP, GraphML).
    network_type : for OpenStreetMap files, which ways make the network: ``"drive"`` (patrol
        cars, OSMnx's ``drive``), ``"drive_service"`` (also service roads) or ``"walk"`` (foot
        patrols, two-way throughout); see ``geo.osm``. Other files are taken as they are.
    clip_area : polygons with a CRS (the study area); when given, only the edges with at least
        one end inside the area grown by ``clip_margin_m`` metres are kept.
    clip_margin_m : the margin in metres around ``clip_area`` (default 2,000 m), so that roads
        just outside the area that connect places inside it stay in the network.
    edge_geometry : False: a GeoPackage's edge lines are not read where every edge has its
        length (travel times need no lines: ``engine_from_file``); other files keep theirs.

    Use ``graph_from_file`` for a validated graph, and ``tables_from_graph`` for the workspace
    layers ``road_nodes``/``road_edges`` in a working CRS.
    """
    from geo.osm import check_network_type, is_osm_file, tables_from_osm
    check_network_type(network_type)
    zone = None if clip_area is None else _clip_zone(clip_area, clip_margin_m)
    p, layer = split_layer_spec(path)
    if not p.exists():
        raise InputError(f"{p}: network file not found; check the path")
    suffix = p.suffix.lower()
    name = str(path)
    if suffix == ".gpkg":
        from geo.workspace import is_workspace
        is_ws = is_workspace(p)
        try:
            if not is_ws or not edge_geometry:
                nodes, edges = _tables_from_gpkg(p, layer, edge_geometry=edge_geometry, workspace=is_ws)
        except (sqlite3.DatabaseError, pyogrio.errors.DataSourceError,
                pyogrio.errors.DataLayerError) as exc:
            detail = " ".join(str(exc).split(";")[0].split())[:200]
            raise InputError(f"{p}: not a readable GeoPackage ({detail}); give a workspace or a "
                             "GeoPackage with road_nodes/road_edges (or nodes/links)") from None
        if is_ws and edge_geometry:
            from geo.workspace import read_workspace
            ws = read_workspace(p, layers=["road_nodes", "road_edges"])
            if not (ws.has("road_nodes") and ws.has("road_edges")):
                raise InputError(f"{p}: the workspace has no road network (road_nodes/road_edges); "
                                 "build the workspace with a road network (`network`)")
            nodes, edges = ws.layer("road_nodes"), ws.layer("road_edges")
    elif is_osm_file(p) and not p.is_dir():
        nodes, edges = tables_from_osm(p, network_type=network_type, clip_zone=zone)
    elif suffix == ".graphml":
        nodes, edges = _tables_from_graphml(_read_graphml(p), source_crs, name)
    elif suffix == ".tntp":
        nodes, edges = _tables_from_tntp(p, source_crs)
    elif suffix == ".csv" or p.is_dir():
        nodes, edges = _tables_from_csv(p, source_crs)
    else:
        raise InputError(f"the network was {name!r}, a {suffix or 'file without suffix'}; a network "
                         "is a .gpkg (road_nodes/road_edges, nodes/links, or a workspace), .osm, "
                         ".osm.bz2, .pbf, .graphml, *_net.tntp or *edges.csv file")
    if nodes.crs is None and source_crs is not None:
        nodes = nodes.set_crs(parse_crs(source_crs, what="`source_crs`"))
    if zone is not None:
        nodes, edges = _clipped(nodes, edges, zone, name)
    nodes.attrs["source"] = edges.attrs["source"] = name
    return nodes, edges


def _clip_zone(area: gpd.GeoDataFrame | gpd.GeoSeries, margin_m: float) -> gpd.GeoSeries:
    """The area grown by ``margin_m`` metres, one polygon in a metric CRS."""
    if not (margin_m >= 0):
        raise InputError(f"`clip_margin_m` was {margin_m!r}; give a margin in metres >= 0, e.g. 2000")
    if area.crs is None:
        raise CRSError("the area to clip the network to has no CRS; set one")
    if len(area) == 0:
        raise InputError("the area to clip the network to is empty; give at least one polygon")
    target = _metric_crs(area, None)
    metric = area if _same_crs(area.crs, target) else area.to_crs(target)
    geoms = metric.geometry.values if isinstance(metric, gpd.GeoDataFrame) else metric.values
    zone = shapely.buffer(shapely.union_all(geoms), margin_m)
    return gpd.GeoSeries([zone], crs=metric.crs)


def _clipped(nodes: gpd.GeoDataFrame, edges: pd.DataFrame, zone: gpd.GeoSeries,
             source: str) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """The edges with at least one end node inside ``zone``, and the nodes they use."""
    if nodes.crs is None or "node_id" not in nodes.columns or not {"u", "v"} <= set(edges.columns) \
            or len(nodes) == 0:
        return nodes, edges  # graph_from_tables will say what is missing
    ids = normalise_ids(nodes["node_id"])
    xy = shapely.get_coordinates(nodes.to_crs(zone.crs).geometry.values)
    if len(xy) != len(nodes):
        return nodes, edges
    area = zone.values[0]
    shapely.prepare(area)
    inside = pd.Series(shapely.contains_xy(area, xy[:, 0], xy[:, 1]), index=ids.to_numpy())
    inside = inside[~inside.index.duplicated()]
    u, v = normalise_ids(edges["u"]), normalise_ids(edges["v"])
    keep = (inside.reindex(u.to_numpy()).fillna(False).to_numpy(dtype=bool)
            | inside.reindex(v.to_numpy()).fillna(False).to_numpy(dtype=bool))
    if keep.all():
        return nodes, edges
    if not keep.any():
        raise InputError(f"{source}: no road of the network lies inside the study area or "
                         "its margin; check that the network covers the area and that both are in the "
                         "right CRS")
    kept_edges = edges[keep]
    used = set(u[keep]) | set(v[keep])
    kept_nodes = nodes[ids.isin(used).to_numpy()]
    log.info("network %s: kept %d of %d edges, those with an end within the study area and its "
             "margin", source, int(keep.sum()), len(edges))
    return kept_nodes, kept_edges


def graph_from_file(path: str | Path, *, crs: object | None = None, source_crs: object | None = None,
                    speed_kmh: float | None = None, speeds: Mapping[str, float] | None = None,
                    keep_largest: bool = True, network_type: str = "drive",
                    clip_area: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
                    clip_margin_m: float = CLIP_MARGIN_M) -> nx.MultiDiGraph:
    """A validated road graph from any supported network file (see the module docstring).

    ``crs``: projected CRS (metres) of the graph (default: the file's if metric, else its UTM
    zone); ``source_crs``: CRS of files that carry none; ``network_type``, ``clip_area`` and
    ``clip_margin_m`` as ``tables_from_file``. Other options as ``graph_from_tables``.
    """
    nodes, edges = tables_from_file(path, crs=crs, source_crs=source_crs, network_type=network_type,
                                    clip_area=clip_area, clip_margin_m=clip_margin_m)
    return graph_from_tables(nodes, edges, crs=crs, speed_kmh=speed_kmh, speeds=speeds,
                             keep_largest=keep_largest, source=str(path))


def layers_from_file(path: str | Path, *, crs: object, source_crs: object | None = None,
                     speed_kmh: float | None = None, network_type: str = "drive",
                     clip_area: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
                     clip_margin_m: float = CLIP_MARGIN_M) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The workspace layers ``road_nodes`` and ``road_edges`` of a network file, validated,
    clipped to ``clip_area`` and its margin when given, reduced to the largest strongly connected
    component and in the working CRS ``crs`` (what ``gridpatrol import --network NET`` stores).
    ``network_type`` chooses the OpenStreetMap ways (``"drive"`` or ``"walk"``, see
    ``tables_from_file``). Raises ValidationError/InputError."""
    return tables_from_graph(graph_from_file(path, crs=crs, source_crs=source_crs,
                                             speed_kmh=speed_kmh, network_type=network_type,
                                             clip_area=clip_area, clip_margin_m=clip_margin_m))


def graph_from_workspace(ws, *, speed_kmh: float | None = None,
                         speeds: Mapping[str, float] | None = None) -> nx.MultiDiGraph:
    """The road graph of a workspace (layers ``road_nodes``/``road_edges``) in its working CRS."""
    if not (ws.has("road_nodes") and ws.has("road_edges")):
        raise InputError("the workspace has no road network (road_nodes/road_edges); build it with "
                         "a road network (`network`)")
    return graph_from_tables(ws.layer("road_nodes"), ws.layer("road_edges"), crs=ws.crs,
                             speed_kmh=speed_kmh, speeds=speeds, source=str(ws.path or ws.name))


def engine_from_file(path: str | Path, *, crs: object | None = None, source_crs: object | None = None,
                     speed_kmh: float | None = None, speeds: Mapping[str, float] | None = None,
                     network_type: str = "drive",
                     clip_area: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
                     clip_margin_m: float = CLIP_MARGIN_M) -> TravelEngine:
    """The travel-time engine of a network file (any that ``graph_from_file`` reads, a
    workspace included) over every node, with no NetworkX graph: the tables go straight to the
    sparse matrix (``engine_from_tables``). A GeoPackage's edge lines are not read where every
    edge has its length. Options as ``graph_from_file``."""
    nodes, edges = tables_from_file(path, crs=crs, source_crs=source_crs, network_type=network_type,
                                    clip_area=clip_area, clip_margin_m=clip_margin_m,
                                    edge_geometry=False)
    return engine_from_tables(nodes, edges, crs=crs, speed_kmh=speed_kmh, speeds=speeds,
                              source=str(path))


def engine_from_workspace(ws, *, speed_kmh: float | None = None,
                          speeds: Mapping[str, float] | None = None) -> TravelEngine:
    """The travel-time engine of a workspace's road network over every node, in its working CRS
    (``engine_from_tables`` of ``road_nodes``/``road_edges``)."""
    if not (ws.has("road_nodes") and ws.has("road_edges")):
        raise InputError("the workspace has no road network (road_nodes/road_edges); build it with "
                         "a road network (`network`)")
    return engine_from_tables(ws.layer("road_nodes"), ws.layer("road_edges"), crs=ws.crs,
                              speed_kmh=speed_kmh, speeds=speeds, source=str(ws.path or ws.name))


@dataclass(frozen=True, eq=False)
class RoadNetwork:
    """A workspace's road network, built once and shared read-only by everything that asks.

    Attributes
    ----------
    engine : the sparse travel-time graph of every node (``engine_from_workspace``): coverage
        and travel times.
    speed_kmh : the one speed every road was given, or None (speeds by road class).

    ``graph()`` gives the NetworkX graph (largest strongly connected component) and its own
    engine, for the algorithms that need NetworkX (rings, routes, street tours); it is built on
    first use, once. Never modify what either returns: it is shared (app sessions).
    """

    engine: TravelEngine
    speed_kmh: float | None
    _ws: object = field(repr=False)
    _graph: list = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def graph(self) -> tuple[nx.MultiDiGraph, TravelEngine]:
        """(NetworkX graph of the largest strongly connected component, its travel-time engine)."""
        with self._lock:
            if not self._graph:
                from geo.traveltime import engine_from_graph
                G = graph_from_workspace(self._ws, speed_kmh=self.speed_kmh)
                self._graph.append((G, engine_from_graph(G)))
            return self._graph[0]


def road_network_from_workspace(ws, *, speed_kmh: float | None = None) -> RoadNetwork:
    """The ``RoadNetwork`` of a workspace (its layers ``road_nodes``/``road_edges``): the sparse
    graph now, the NetworkX graph when first asked for. Front ends cache it per workspace file
    and layers version (``geo.workspace.layers_version``). InputError when there is no network."""
    from geo.workspace import Workspace
    roads = Workspace(crs=ws.crs, layers={k: ws.layer(k) for k in ("road_nodes", "road_edges")
                                          if ws.has(k)}, meta=dict(ws.meta), path=ws.path)
    return RoadNetwork(engine=engine_from_workspace(roads, speed_kmh=speed_kmh), speed_kmh=speed_kmh,
                       _ws=roads)


def graph_from_place(query: str, *, crs: object | None = None, network_type: str = "drive",
                     speed_kmh: float | None = None) -> nx.MultiDiGraph:
    """Download the road network of a place name through OSMnx (needs internet; not tested here).

    Example: ``graph_from_place("Haidian District, Beijing, China")``.
    """
    import osmnx as ox
    G0 = ox.graph_from_place(query, network_type=network_type)
    nodes, edges = _graph_from_osmnx(G0, crs, query)
    return graph_from_tables(nodes, edges, crs=crs, speed_kmh=speed_kmh, source=query)


def graph_from_polygon(polygon: gpd.GeoDataFrame, *, crs: object | None = None,
                       network_type: str = "drive", speed_kmh: float | None = None) -> nx.MultiDiGraph:
    """Download the road network inside a polygon layer through OSMnx (needs internet; not tested)."""
    import osmnx as ox
    if polygon.crs is None:
        raise CRSError("the polygon has no CRS; set one before downloading its network")
    shape = shapely.union_all(polygon.to_crs("EPSG:4326").geometry.values)
    G0 = ox.graph_from_polygon(shape, network_type=network_type)
    nodes, edges = _graph_from_osmnx(G0, crs, "polygon")
    return graph_from_tables(nodes, edges, crs=crs or polygon.crs, speed_kmh=speed_kmh, source="polygon")


def tables_from_graph(G: nx.MultiDiGraph) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The workspace layers ``road_nodes`` (node_id) and ``road_edges`` (u, v, length_m,
    speed_kmh, travel_s, oneway, road_class, geometry) of a graph, in ``G.graph["crs"]``.

    Each two-way road is written once with ``oneway`` False.
    """
    crs = G.graph["crs"]
    ids = list(G.nodes)
    nodes = gpd.GeoDataFrame({"node_id": ids},
                             geometry=gpd.points_from_xy([G.nodes[n]["x"] for n in ids],
                                                         [G.nodes[n]["y"] for n in ids]), crs=crs)
    rows, geoms, seen = [], [], set()
    for u, v, k, d in G.edges(keys=True, data=True):
        twoway = not d.get("oneway", False)
        if twoway:
            if (v, u, k) in seen:
                continue
            seen.add((u, v, k))
        rows.append({"u": u, "v": v, "length_m": d["length_m"], "speed_kmh": d["speed_kmh"],
                     "travel_s": d["travel_s"], "oneway": not twoway, "road_class": d.get("road_class", "")})
        geoms.append(d.get("geometry"))
    edges = gpd.GeoDataFrame(pd.DataFrame(rows, columns=["u", "v", "length_m", "speed_kmh", "travel_s",
                                                         "oneway", "road_class"]),
                             geometry=geoms, crs=crs)
    return nodes, edges


# --------------------------------------------------------------------------------------------
# Points on the network

def _node_tree(network: nx.MultiDiGraph | TravelEngine) -> tuple[np.ndarray, cKDTree]:
    """(node ids, KD-tree of their coordinates) of the nodes that points snap to: every node of
    a graph; of an engine, the nodes of its largest strongly connected component (kept with
    the engine, built once)."""
    from scipy.spatial import cKDTree
    if isinstance(network, TravelEngine):
        cached = network._cache.get("snap_tree")
        if cached is None:
            if network.xy is None:
                raise InputError("the travel-time engine has no node coordinates, so points cannot "
                                 "be snapped onto it; build it with geo.network.engine_from_tables")
            keep = np.ones(network.n, bool) if network.core is None else network.core
            cached = (network.nodes[keep], cKDTree(network.xy[keep]))
            network._cache["snap_tree"] = cached
        return cached
    ids = np.array(list(network.nodes), dtype=object)
    xy = np.array([(network.nodes[n]["x"], network.nodes[n]["y"]) for n in ids])
    return ids, cKDTree(xy)


def snap_points(points: gpd.GeoDataFrame, G: nx.MultiDiGraph | TravelEngine, *, id_col: str | None = None,
                node_col: str = "node_id", warn_m: float = SNAP_WARN_M,
                refuse_m: float | None = None, what: str = "points") -> pd.DataFrame:
    """The network node of every point: its ``node_col`` value, or else the nearest node.

    Parameters
    ----------
    points : point layer; must carry a CRS unless it names nodes through ``node_col``.
    G : the road graph (``G.graph["crs"]`` metric), or a travel-time engine with node
        coordinates (``engine_from_tables``), whose points snap to the nearest node of its
        largest strongly connected component (a point by a one-way dead end is not stranded
        there); ``node_col`` may name any of its nodes.
    id_col : column naming the points in messages and in the result (default: the index).
    warn_m : points farther than this (metres) from their node are named in a warning.
    refuse_m : points farther than this (metres) from every node are an InputError naming
        them (they are not on this network); None snaps them anyway, with the warning. Give
        ``SNAP_REFUSE_M`` for points that must be on the network (facilities, units, exits),
        keep None for demand (cells, hotspots), which may lie far from roads.
    what : what the points are, for messages ("facilities", "exits"…).

    Returns
    -------
    DataFrame indexed like ``points`` with ``id`` (string), ``node`` (node id) and
    ``distance_m`` (metres to the node; 0 for points given by ``node_col``).

    Raises
    ------
    InputError, CRSError
        when the layer is empty, has no CRS, names nodes that are not on the network, or has
        points farther than ``refuse_m`` from it.
    """
    if len(points) == 0:
        raise InputError(f"the {what} layer is empty; give at least one point")
    ids = (normalise_ids(points[id_col]) if id_col is not None
           else pd.Series([str(i) for i in points.index], index=points.index))
    if id_col is not None and id_col not in points.columns:
        raise InputError(f"the {what} have no column {id_col!r}; columns are {list(points.columns)}")
    if node_col in points.columns:
        nodes = normalise_ids(points[node_col])
        off = [f"{i} (node {n})" for i, n in zip(ids, nodes) if n not in G]
        if off:
            raise InputError(f"{len(off)} {what} name nodes that are not on the network (or not in "
                             f"its largest strongly connected component): {format_ids(off)}; use "
                             f"node ids of the network or drop the {node_col} column to snap by location")
        return pd.DataFrame({"id": ids, "node": nodes, "distance_m": 0.0}, index=points.index)
    if getattr(points, "crs", None) is None:
        raise CRSError(f"the {what} layer has no CRS, so it cannot be placed on the network; set "
                       f"its CRS (the .prj, or a lon/lat CSV) or give a {node_col} column")
    pts = points.to_crs(G.crs if isinstance(G, TravelEngine) else G.graph["crs"])
    geoms = pts.geometry.values
    empty = shapely.is_empty(geoms) | pd.isna(geoms)
    if empty.any():
        raise InputError(f"{int(empty.sum())} {what} have no geometry ({format_ids(ids[empty])}); "
                         "give them coordinates or delete them")
    xy = shapely.get_coordinates(shapely.centroid(geoms))
    node_ids, tree = _node_tree(G)
    dist, idx = tree.query(xy)
    if refuse_m is not None and (dist > refuse_m).any():
        off = dist > refuse_m
        raise InputError(
            f"{int(off.sum())} {what} lie farther than {refuse_m / 1000:g} km from the road network, "
            f"so they are not on it: "
            f"{format_ids(f'{i} ({d / 1000:,.1f} km)' for i, d in zip(ids[off], dist[off]))}; check "
            "their coordinates and CRS (swapped lon/lat, GCJ-02/BD-09 offsets, a file of another "
            f"place), give a {node_col} column, or give a network that reaches them")
    far = dist > warn_m
    if far.any():
        log.warning("%d %s lie farther than %g m from the road network (snapped anyway): %s",
                    int(far.sum()), what, warn_m,
                    format_ids(f"{i} ({d:.0f} m)" for i, d in zip(ids[far], dist[far])))
    return pd.DataFrame({"id": ids, "node": node_ids[idx], "distance_m": dist}, index=points.index)


def nodes_from_points(points: gpd.GeoDataFrame, G: nx.MultiDiGraph, **kwargs) -> pd.Series:
    """Point id -> network node id (see ``snap_points``)."""
    snapped = snap_points(points, G, **kwargs)
    return pd.Series(snapped["node"].to_numpy(), index=snapped["id"].to_numpy(), name="node")


def cell_nodes(cells: gpd.GeoDataFrame, G: nx.MultiDiGraph) -> pd.Series:
    """The network node of every cell: its centroid, taken in the graph's metric CRS, snapped to
    the nearest node (cells far from every road are named in a warning, never refused: demand
    may lie off the roads). A Series of node ids indexed like ``cells``; ``cells`` must have a
    ``cell_id`` column and a CRS."""
    if "cell_id" not in cells.columns:
        raise InputError("the cells have no cell_id column; give each cell an id")
    return snap_points(cells[["cell_id", cells.geometry.name]], G, id_col="cell_id",
                       what="cell centroids")["node"]
