"""OpenStreetMap extracts as road tables: which ways a patrol car (or a foot patrol) may use,
one-way rules, ``maxspeed``; read with pyosmium (``.osm``, ``.xml``, ``.osm.bz2``, ``.osm.gz``,
``.pbf``) and simplified with OSMnx.

The rules are OSMnx's (2.x), so that a file imported here gives the graph OSMnx would build
from the same ways:

* **Which ways** (``OSM_WAY_FILTERS``): a way is kept when it has a ``highway`` tag and, for
  every (key, pattern) of its network type, the key is absent or its value does not contain the
  pattern (OSMnx's Overpass filter ``["key"!~"pattern"]``: an unanchored, case-sensitive regular
  expression). ``drive`` leaves out footways, cycleways, paths, steps, platforms, elevators,
  tracks, service roads, ``area=yes``, ``access=private``, ``motor_vehicle=no``,
  ``motorcar=no``; ``drive_service`` keeps service roads except parking aisles, driveways,
  emergency access and private ones; ``walk`` keeps footways and service roads and leaves out
  cycleways, motorways, ``foot=no`` and roads whose sidewalks are mapped separately.
  ``access=no`` alone does not remove a way (as in OSMnx).
* **Direction**: ``oneway`` = yes/true/1 (one way along the way), -1/reverse (against it),
  ``junction=roundabout`` (along it); ``reversible``/``alternating`` ways are two-way. Walk
  networks are two-way throughout.
* **Topology**: an edge joins consecutive nodes of a way; nodes the file lacks (an extract
  that cut a way) split the way there. The graph is simplified with
  ``osmnx.simplify_graph`` (interstitial nodes removed; lengths and travel times summed).
* **Speeds** (drive networks): the ``maxspeed`` tag where it can be read (``50``, ``50 km/h``,
  ``30 mph``, ``10 knots``, lane lists ``50|30`` averaged, national defaults such as
  ``DE:urban`` from OSMnx's table, ``DE:zone30``); otherwise the road-class table of
  ``geo.network``. An edge keeps a speed of its own (column ``speed_kmh``) only where at least
  one of its segments had a readable ``maxspeed``; the others take the class speed when the graph
  is built. Walk networks move at ``WALK_SPEED_KMH`` on every edge.
"""
from __future__ import annotations

import logging
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import InputError

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["OSM_NETWORK_TYPES", "OSM_WAY_FILTERS", "WALK_SPEED_KMH", "is_osm_file", "keeps_way",
           "way_direction", "maxspeed_kmh", "check_network_type", "tables_from_osm"]

log = logging.getLogger(__name__)

OSM_NETWORK_TYPES: tuple[str, ...] = ("drive", "drive_service", "walk")
WALK_SPEED_KMH = 5.0

_NOT_DRIVABLE = ("abandoned|bridleway|bus_guideway|construction|corridor|cycleway|elevator|"
                 "escalator|footway|no|path|pedestrian|planned|platform|proposed|raceway|razed|"
                 "rest_area|{service}services|steps|track")
# osmnx._overpass._get_network_filter (OSMnx 2.1), one tuple of (key, excluded pattern) per
# network type; tests/test_network_osm.py checks this table against the installed OSMnx.
OSM_WAY_FILTERS: dict[str, tuple[tuple[str, str], ...]] = {
    "drive": (
        ("area", "yes"), ("access", "private"),
        ("highway", _NOT_DRIVABLE.format(service="service|")),
        ("motor_vehicle", "no"), ("motorcar", "no"),
        ("service", "alley|driveway|emergency_access|parking|parking_aisle|private"),
    ),
    "drive_service": (
        ("area", "yes"), ("access", "private"),
        ("highway", _NOT_DRIVABLE.format(service="")),
        ("motor_vehicle", "no"), ("motorcar", "no"),
        ("service", "emergency_access|parking|parking_aisle|private"),
    ),
    "walk": (
        ("area", "yes"), ("access", "private"),
        ("highway", "abandoned|bus_guideway|construction|cycleway|motor|no|planned|platform|"
                    "proposed|raceway|razed|rest_area|services"),
        ("foot", "no"), ("service", "private"),
        ("sidewalk", "separate"), ("sidewalk:both", "separate"),
        ("sidewalk:left", "separate"), ("sidewalk:right", "separate"),
    ),
}
_COMPILED = {t: tuple((k, re.compile(p)) for k, p in rules) for t, rules in OSM_WAY_FILTERS.items()}
_BIDIRECTIONAL = ("walk",)  # osmnx.settings.bidirectional_network_types
_ONEWAY = {"yes", "true", "1", "-1", "reverse", "T", "F"}
_REVERSED = {"-1", "reverse", "T"}

# suffix -> libosmium format name
_FORMATS = {".osm": "osm", ".xml": "osm", ".osm.bz2": "osm.bz2", ".osm.gz": "osm.gz",
            ".xml.bz2": "osm.bz2", ".xml.gz": "osm.gz", ".pbf": "pbf", ".osm.pbf": "pbf"}


def _format(path: Path) -> str | None:
    name = path.name.lower()
    for suffix in sorted(_FORMATS, key=len, reverse=True):
        if name.endswith(suffix):
            return _FORMATS[suffix]
    return None


def is_osm_file(path: str | Path) -> bool:
    """True when ``path`` names an OSM file by its suffix (.osm, .xml, .osm.bz2, .osm.gz, .pbf)."""
    return _format(Path(path)) is not None


def check_network_type(network_type: str) -> str:
    """``network_type`` itself when it is one of ``OSM_NETWORK_TYPES``; else an InputError."""
    if network_type not in OSM_NETWORK_TYPES:
        raise InputError(f"`network_type` was {network_type!r} but is expected to be one of "
                         f"{list(OSM_NETWORK_TYPES)}; give 'drive' for patrol cars or 'walk' for "
                         "foot patrols")
    return network_type


def keeps_way(tags: Mapping[str, str], *, network_type: str = "drive") -> bool:
    """True when a way with these OSM tags belongs to the ``network_type`` network
    (``OSM_WAY_FILTERS``: it has a ``highway`` tag and no excluded value)."""
    if "highway" not in tags:
        return False
    for key, pattern in _COMPILED[check_network_type(network_type)]:
        value = tags.get(key)
        if value is not None and pattern.search(value):
            return False
    return True


def way_direction(tags: Mapping[str, str], *, network_type: str = "drive") -> int:
    """1 when a way is one-way along its nodes, -1 when one-way against them, 0 when two-way."""
    if network_type in _BIDIRECTIONAL:
        return 0
    oneway = tags.get("oneway")
    if oneway in _ONEWAY:
        return -1 if oneway in _REVERSED else 1
    if tags.get("junction") == "roundabout":
        return 1
    return 0


_SPEED = re.compile(r"^([0-9][.,0-9]*?)\s*(km/h|kmh|kph|mph|knots)?$")
_ZONE = re.compile(r"^[A-Z]{2}(?:-[A-Z0-9]+)?:zone:?([0-9]+)$")
_UNIT = {None: 1.0, "km/h": 1.0, "kmh": 1.0, "kph": 1.0, "mph": 1.609344, "knots": 1.852}


def _implicit_maxspeeds() -> Mapping[str, float]:
    """OSMnx's table of national default limits ("DE:urban": 50 …); empty if OSMnx moved it."""
    try:
        from osmnx.routing import _IMPLICIT_MAXSPEEDS
    except ImportError:  # pragma: no cover - depends on the OSMnx version
        return {}
    return _IMPLICIT_MAXSPEEDS


def maxspeed_kmh(value: object) -> float:
    """The speed limit in km/h of an OSM ``maxspeed`` value, NaN where it says none.

    Reads numbers (km/h), ``"50 km/h"``, ``"30 mph"``, ``"10 knots"``, lists (``"50|30"`` per
    lane, ``"50;30"``, or a Python list from a simplified OSMnx edge: the mean, as OSMnx),
    national defaults (``"DE:urban"``, from OSMnx's table) and zones (``"DE:zone30"``). ``none``,
    ``signals``, ``variable`` and other words give NaN (the road class decides).
    """
    if isinstance(value, (list, tuple, set)):
        speeds = [s for s in (maxspeed_kmh(v) for v in value) if not math.isnan(s)]
        return float(np.mean(speeds)) if speeds else math.nan
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.nan
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value) if value > 0 else math.nan
    text = str(value).strip()
    if "|" in text or ";" in text:
        return maxspeed_kmh([t for t in re.split(r"[|;]", text) if t.strip()])
    match = _SPEED.match(text.lower())
    if match:
        try:
            speed = float(match.group(1).replace(",", ".")) * _UNIT[match.group(2)]
        except ValueError:
            return math.nan
        return speed if speed > 0 else math.nan
    implicit = _implicit_maxspeeds().get(text)
    if implicit is not None:
        return float(implicit)
    zone = _ZONE.match(text)
    if zone:
        return float(zone.group(1))
    return math.nan


def _class_of_path(values: list) -> str:
    """The most important road class of the segments merged into one edge."""
    from geo.road_classes import road_class_rank
    return min((str(v) for v in values), key=lambda c: (road_class_rank(c), c))


def _read_ways(path: Path, network_type: str) -> tuple[list, dict[int, tuple[float, float]], int, int]:
    """(kept ways as (node refs, tags), {node id: (lon, lat)}, ways with a highway tag, ways
    cut by the extract) of an OSM file."""
    try:
        import osmium
    except ImportError:
        raise InputError(f"{path}: reading OpenStreetMap files needs the osmium package (pip "
                         "install osmium), which the GridPatrol set-up installs; install it, or "
                         "give the network as a GeoPackage or GraphML") from None
    ways: list[tuple[list[int], dict[str, str]]] = []
    coords: dict[int, tuple[float, float]] = {}
    seen = cut = 0
    try:
        source = osmium.io.File(str(path), _format(path) or "")  # "": osmium guesses by suffix
        reader = (osmium.FileProcessor(source, osmium.osm.NODE | osmium.osm.WAY)
                  .with_locations()
                  .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
                  .with_filter(osmium.filter.KeyFilter("highway")))
        for way in reader:
            if not isinstance(way, osmium.osm.Way):  # the entity filter passes ways only
                continue
            seen += 1
            tags = {t.k: t.v for t in way.tags}
            if not keeps_way(tags, network_type=network_type):
                continue
            refs = []
            missing = False
            for n in way.nodes:
                loc = n.location
                if loc.valid():
                    coords[n.ref] = (loc.lon, loc.lat)
                else:
                    missing = True
                refs.append(n.ref)
            cut += missing
            ways.append((refs, tags))
    except RuntimeError as exc:  # libosmium: unreadable, truncated, not OSM
        detail = " ".join(str(exc).split())[:200]
        raise InputError(f"{path}: not a readable OpenStreetMap file ({detail}); export it again "
                         "(.osm XML or .osm.pbf), or give a GeoPackage") from None
    return ways, coords, seen, cut


def tables_from_osm(path: str | Path, *, network_type: str = "drive",
                    clip_zone: gpd.GeoSeries | None = None) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The (nodes, edges) road tables of an OSM file for one network type, in EPSG:4326.

    Parameters
    ----------
    path : an ``.osm``/``.xml`` (optionally ``.bz2``/``.gz``) or ``.pbf`` file.
    network_type : ``"drive"`` (patrol cars; OSMnx's ``drive``), ``"drive_service"`` (also the
        service roads a car may use) or ``"walk"`` (foot patrols; two-way throughout).
    clip_zone : polygons with a CRS; a road segment is kept when at least one of its nodes lies
        inside them (``None``: the whole file).

    Returns
    -------
    nodes : ``node_id`` (the OSM node id) and point geometry, the nodes of the edges only.
    edges : ``u``, ``v``, ``length_m`` (great-circle metres), ``speed_kmh`` (from ``maxspeed``,
        NaN where no segment had one; ``WALK_SPEED_KMH`` for walk), ``oneway`` (True: u -> v
        only; False: a two-way road given once), ``road_class`` (the ``highway`` value, the most
        important one where segments were merged) and a LineString ``geometry``.

    Raises
    ------
    InputError
        when the file cannot be read, or no way of it belongs to the network.
    """
    import osmnx as ox

    from geo.road_classes import DEFAULT_SPEED_KMH, SPEED_DEFAULTS_KMH
    check_network_type(network_type)
    path = Path(path)
    ways, coords, seen, cut = _read_ways(path, network_type)
    if cut:
        log.warning("network %s: %d ways run past the edge of the extract; their segments to "
                    "nodes the file lacks were left out", path, cut)

    # segments as arrays: way index, from node, to node (consecutive duplicates removed, as OSMnx)
    w_idx, a, b = [], [], []
    for i, (refs, _) in enumerate(ways):
        refs = [r for j, r in enumerate(refs) if j == 0 or r != refs[j - 1]]
        for p, q in zip(refs[:-1], refs[1:]):
            if p in coords and q in coords:
                w_idx.append(i)
                a.append(p)
                b.append(q)
    w_idx, a, b = np.asarray(w_idx, dtype=np.int64), np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    if len(a) and clip_zone is not None:
        ids = np.unique(np.concatenate([a, b]))
        lonlat = np.array([coords[n] for n in ids.tolist()])
        pts = gpd.GeoSeries(gpd.points_from_xy(lonlat[:, 0], lonlat[:, 1]), crs="EPSG:4326")
        xy = shapely.get_coordinates(pts.to_crs(clip_zone.crs).values)
        zone = shapely.union_all(clip_zone.values)
        shapely.prepare(zone)
        inside = pd.Series(shapely.contains_xy(zone, xy[:, 0], xy[:, 1]), index=ids)
        keep = inside.reindex(a).to_numpy() | inside.reindex(b).to_numpy()
        w_idx, a, b = w_idx[keep], a[keep], b[keep]
    if len(a) == 0:
        where = " inside the study area and its margin" if clip_zone is not None else ""
        raise InputError(f"{path}: no road of the file belongs to the {network_type!r} network"
                         f"{where} ({seen} ways with a highway tag, {len(ways)} of them kept by "
                         "the filter); check that the file covers the study area, or choose "
                         "another network type")

    # per segment: length, speed (maxspeed, else class, else default), direction, class
    la = np.array([coords[n] for n in a.tolist()])
    lb = np.array([coords[n] for n in b.tolist()])
    length = ox.distance.great_circle(la[:, 1], la[:, 0], lb[:, 1], lb[:, 0])
    per_way = pd.DataFrame([(t.get("highway", ""), t.get("maxspeed"), way_direction(t, network_type=network_type))
                            for _, t in ways], columns=["highway", "maxspeed", "direction"])
    limit = per_way["maxspeed"].map(maxspeed_kmh).to_numpy(dtype=float)
    by_class = per_way["highway"].map(SPEED_DEFAULTS_KMH).to_numpy(dtype=float)
    if network_type == "walk":
        limit = np.full(len(per_way), WALK_SPEED_KMH)
    speed_way = np.where(np.isnan(limit), np.where(np.isnan(by_class), DEFAULT_SPEED_KMH, by_class), limit)
    seg_speed = speed_way[w_idx]
    seg_limited = ~np.isnan(limit[w_idx])
    direction = per_way["direction"].to_numpy()[w_idx]
    highway = per_way["highway"].to_numpy(dtype=object)[w_idx]
    travel = length * 3.6 / seg_speed

    # the unsimplified graph, as osmnx.graph._create_graph builds it, then osmnx simplifies it
    import networkx as nx
    G = nx.MultiDiGraph(crs="EPSG:4326")
    used = np.unique(np.concatenate([a, b])).tolist()
    G.add_nodes_from((n, {"x": coords[n][0], "y": coords[n][1]}) for n in used)
    attrs = [{"length": float(len_m), "travel_s": float(t), "limited": int(m), "road_class": str(h),
              "oneway": bool(d != 0)} for len_m, t, m, h, d in
             zip(length.tolist(), travel.tolist(), seg_limited.tolist(), highway.tolist(), direction.tolist())]
    fwd = direction >= 0
    G.add_edges_from((int(u), int(v), d) for u, v, d, f in zip(a.tolist(), b.tolist(), attrs, fwd) if f)
    G.add_edges_from((int(v), int(u), dict(d)) for u, v, d, dr in
                     zip(a.tolist(), b.tolist(), attrs, direction.tolist()) if dr <= 0)
    G = ox.simplify_graph(G, edge_attr_aggs={"length": sum, "travel_s": sum, "limited": sum,
                                             "road_class": _class_of_path, "oneway": all})
    G.remove_nodes_from([n for n in list(G.nodes) if G.degree(n) == 0])
    return _tables(G, network_type, str(path))


def _tables(G: nx.MultiDiGraph, network_type: str, source: str) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Node and edge tables of a simplified lon/lat graph; two-way roads once (``oneway`` False)."""
    nodes = gpd.GeoDataFrame({"node_id": list(G.nodes)},
                             geometry=gpd.points_from_xy([d["x"] for _, d in G.nodes(data=True)],
                                                         [d["y"] for _, d in G.nodes(data=True)]),
                             crs="EPSG:4326")
    # pair u->v with v->u of the same two-way road (same length); loops stay directed
    open_back: dict[tuple, list[tuple[int, float]]] = {}
    rows, geoms = [], []
    for u, v, k, d in G.edges(keys=True, data=True):
        twoway = not d["oneway"] and u != v
        if twoway:
            waiting = open_back.get((u, v), [])
            match = next((i for i, (_, ln) in enumerate(waiting) if abs(ln - d["length"]) < 1e-6), None)
            if match is not None:
                waiting.pop(match)
                continue
            open_back.setdefault((v, u), []).append((k, d["length"]))
        speed = d["length"] * 3.6 / d["travel_s"] if d["limited"] else np.nan
        rows.append((u, v, d["length"], speed, not twoway, _road_class(d["road_class"])))
        geom = d.get("geometry")
        if geom is None:
            geom = shapely.LineString([(G.nodes[u]["x"], G.nodes[u]["y"]), (G.nodes[v]["x"], G.nodes[v]["y"])])
        geoms.append(geom)
    edges = gpd.GeoDataFrame(pd.DataFrame(rows, columns=["u", "v", "length_m", "speed_kmh", "oneway",
                                                         "road_class"]),
                             geometry=geoms, crs="EPSG:4326")
    if network_type == "walk":
        edges["speed_kmh"] = WALK_SPEED_KMH
    nodes.attrs["source"] = edges.attrs["source"] = source
    return nodes, edges


def _road_class(value: object) -> str:
    return _class_of_path(list(value)) if isinstance(value, (list, tuple, set)) else str(value)
