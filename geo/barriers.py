"""Barriers to adjacency: rivers, railways and motorways that units touch across but cannot be
patrolled across, and the crossings (bridges, underpasses) that join units despite them.

The rule (``barrier_pairs``):

1. **Barrier zone** Z: the union of the ``rivers`` polygons as they are (river lines are buffered
   by half their ``width_m``, else by 10 m), the ``railways`` lines buffered by 10 m and the road
   edges of motorway class (``expressway``/``motorway``/``高速公路``: rank 0 of
   ``geo.road_classes``) buffered by 15 m. ``barriers`` chooses which of
   ``("rivers", "railways", "motorway")`` apply.
2. **Banks**: the land regions are the connected parts of (study area − Z). Each unit belongs to
   the region holding most of its land, its *bank*. A unit that straddles a barrier (the demo's
   500 m cells are not cut by the river) goes wholly with the bank holding most of its land; its
   other pieces join nothing. A unit with no land outside Z (a water body as a unit) has no bank.
3. **Touching pairs**: two touching units stay neighbours iff they have the same bank and their
   bank parts share boundary outside Z (a shared edge lying in the river does not count). Pairs
   in which neither unit meets Z are kept as they are (their shared edge is land).
4. **Crossings**: every road edge that meets Z and is not itself a barrier (a motorway, when
   motorways are barriers) is a crossing: the units it passes through, in order along the line,
   are joined one to the next, so a bridge joins the units at both of its ends even when they
   do not touch. Without a road network every barrier is closed (one warning says so).
5. **Islands**: a component of the resulting unit graph holding no station could belong to no
   contiguous district. Each is joined to the nearest unit of another component (smallest gap)
   and a warning names its units, their people, the barrier and the link, so that the planner
   can add the missing bridge or ferry to the road network.

District perimeters (compactness) count the blocked shared edges as district boundary.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from geo.errors import InputError, format_ids
from geo.ids import id_str
from geo.road_classes import road_class_rank

__all__ = ["BARRIERS", "BarrierZone", "barrier_zone", "barrier_pairs", "check_barrier_layer",
           "motorway_mask", "RIVER_LINE_WIDTH_M",
           "RAILWAY_BUFFER_M", "MOTORWAY_BUFFER_M"]

log = logging.getLogger(__name__)

BARRIERS = ("rivers", "railways", "motorway")
RIVER_LINE_WIDTH_M = 20.0   # a river line without ``width_m`` is buffered by half of this
RAILWAY_BUFFER_M = 10.0
MOTORWAY_BUFFER_M = 15.0
_MIN_SHARED_M = 0.01        # rook neighbours share more than a centimetre of land boundary
_TOL_M = 1e-3
_NOUN = {"rivers": "river", "railways": "railway", "motorway": "motorway"}


@dataclass(frozen=True)
class BarrierZone:
    """The barrier zone: its union and the part of each kind (``rivers``, ``railways``,
    ``motorway``); ``zone`` is None when no barrier applies."""

    zone: object | None
    parts: dict

    @property
    def kinds(self) -> list[str]:
        return list(self.parts)


def check_barrier_layer(gdf: gpd.GeoDataFrame, layer: str, *, working_crs, source: str
                        ) -> tuple[gpd.GeoDataFrame | None, list, list]:
    """A ``rivers`` (polygons or lines, optional ``width_m``) or ``railways`` (lines) layer as
    read, checked and reprojected to ``working_crs``: (the layer, problems, warnings) as
    ``geo.errors.Problem`` records. Features without geometry or of another kind are left out
    with a warning; a layer without a CRS or without any usable feature is a problem."""
    from geo.errors import Problem
    problems: list[Problem] = []
    warnings: list[Problem] = []
    if gdf.crs is None:
        problems.append(Problem(source, layer, "no_crs", "the layer has no coordinate reference "
                                "system", "add the .prj file, or say which CRS the file is in "
                                "(`layer_crs`)"))
        return None, problems, warnings
    geoms = np.asarray(gdf.geometry.values)
    allowed = [1, 2, 5, 3, 6] if layer == "rivers" else [1, 5]
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms)) & np.isin(
        shapely.get_type_id(geoms), allowed)
    if not ok.all():
        kinds = "polygons or lines" if layer == "rivers" else "lines"
        warnings.append(Problem(source, layer, "left_out", f"{int((~ok).sum())} features have no "
                                f"geometry or are not {kinds}; they were left out",
                                "check these features in a GIS",
                                tuple(f"#{i + 1}" for i in np.flatnonzero(~ok))))
    if not ok.any():
        problems.append(Problem(source, layer, "empty_layer", f"the layer has no {layer[:-1]} "
                                "to use as a barrier", "give a file of lines or polygons"))
        return None, problems, warnings
    out = gdf[ok].copy()
    bad = ~out.geometry.is_valid.to_numpy()
    if bad.any():
        out.loc[out.index[bad], out.geometry.name] = shapely.make_valid(
            np.asarray(out.geometry.values)[bad])
    return out.to_crs(working_crs).reset_index(drop=True), problems, warnings


def _road_class_column(edges: pd.DataFrame) -> str | None:
    for col in ("road_class", "highway", "class", "fclass", "kind"):
        if col in edges.columns:
            return col
    return None


def motorway_mask(edges: pd.DataFrame) -> np.ndarray:
    """True for road edges of motorway class (rank 0 in ``geo.road_classes``)."""
    col = _road_class_column(edges)
    if col is None:
        return np.zeros(len(edges), dtype=bool)
    try:
        codes, classes = pd.factorize(edges[col])
    except TypeError:  # list-valued classes (OSMnx): one by one
        return np.array([road_class_rank(v) == 0 for v in edges[col].tolist()], dtype=bool)
    top = np.array([road_class_rank(c) == 0 for c in classes] + [False], dtype=bool)
    return top[codes]  # code -1 (missing) picks the final False


def barrier_zone(*, rivers: gpd.GeoDataFrame | None = None,
                 railways: gpd.GeoDataFrame | None = None,
                 road_edges: gpd.GeoDataFrame | None = None,
                 barriers: tuple[str, ...] = BARRIERS) -> BarrierZone:
    """The barrier zone Z of the layers given (projected CRS, metres), by kind.

    ``barriers`` names the kinds that apply, among ``("rivers", "railways", "motorway")``.
    """
    unknown = [b for b in barriers if b not in BARRIERS]
    if unknown:
        raise InputError(f"`barriers` was {list(barriers)!r} but is expected to hold only "
                         f"{list(BARRIERS)}")
    parts: dict[str, shapely.Geometry] = {}
    if "rivers" in barriers and rivers is not None and len(rivers):
        geoms = np.asarray(rivers.geometry.values)
        geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
        types = shapely.get_type_id(geoms)
        polys = geoms[np.isin(types, [3, 6])]
        lines = np.isin(types, [1, 2, 5])
        pieces = list(polys)
        if lines.any():
            width = (pd.to_numeric(rivers["width_m"], errors="coerce").to_numpy(dtype=float)
                     if "width_m" in rivers.columns else np.full(len(rivers), np.nan))
            width = width[~(shapely.is_missing(np.asarray(rivers.geometry.values))
                            | shapely.is_empty(np.asarray(rivers.geometry.values)))]
            w = np.where(np.isfinite(width) & (width > 0), width, RIVER_LINE_WIDTH_M)[lines]
            pieces += list(shapely.buffer(geoms[lines], w / 2.0))
        if pieces:
            parts["rivers"] = shapely.union_all(pieces)
    if "railways" in barriers and railways is not None and len(railways):
        geoms = np.asarray(railways.geometry.values)
        geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
        if len(geoms):
            parts["railways"] = shapely.union_all(shapely.buffer(geoms, RAILWAY_BUFFER_M))
    if "motorway" in barriers and road_edges is not None and len(road_edges):
        m = motorway_mask(road_edges)
        if m.any():
            parts["motorway"] = shapely.union_all(
                shapely.buffer(np.asarray(road_edges.geometry.values)[m], MOTORWAY_BUFFER_M))
    parts = {k: v for k, v in parts.items() if v is not None and not v.is_empty}
    zone = shapely.union_all(list(parts.values())) if parts else None
    return BarrierZone(zone=zone, parts=parts)


def _banks(geoms: np.ndarray, hit: np.ndarray, zone, area
           ) -> tuple[np.ndarray, dict[int, object], np.ndarray]:
    """(bank region of every unit, -1 when it has no land; bank part of each unit in ``hit``;
    the land regions)."""
    n = len(geoms)
    if area is None:
        area = shapely.union_all(geoms, grid_size=_TOL_M)
    land = shapely.difference(area, zone)
    regions = np.asarray(shapely.get_parts(land))
    regions = regions[shapely.area(regions) > 0]
    bank = np.full(n, -1, dtype=np.int64)
    part: dict[int, object] = {}
    if not len(regions):
        return bank, part, regions
    rtree = shapely.STRtree(regions)
    free = np.setdiff1d(np.arange(n), hit)
    if len(free):  # wholly on land: the region holding a point of the unit
        pts = shapely.point_on_surface(geoms[free])
        ip, ir = rtree.query(pts, predicate="intersects")
        found = np.full(len(free), -1, dtype=np.int64)
        found[ip[::-1]] = ir[::-1]  # first match wins
        missing = np.flatnonzero(found < 0)  # outside the study area: the nearest region
        if len(missing):
            found[missing] = rtree.query_nearest(pts[missing], all_matches=False)[1]
        bank[free] = found
    if len(hit):
        lands = shapely.difference(geoms[hit], zone)
        iu, ir = rtree.query(lands, predicate="intersects")
        if len(iu):
            areas = shapely.area(shapely.intersection(lands[iu], regions[ir]))
            best: dict[int, tuple[float, int]] = {}
            for u, r, a in zip(iu.tolist(), ir.tolist(), areas.tolist()):
                if a > best.get(u, (0.0, -1))[0]:
                    best[u] = (a, r)
            for u, (a, r) in best.items():
                if a > 1e-9 * max(float(shapely.area(geoms[hit[u]])), 1.0):
                    bank[hit[u]] = r
                    part[int(hit[u])] = shapely.intersection(lands[u], regions[r])
        for u in range(len(hit)):
            if bank[hit[u]] < 0 and shapely.area(lands[u]) > 0:
                # land outside the study area only: its largest piece
                pieces = shapely.get_parts(lands[u])
                part[int(hit[u])] = pieces[np.argmax(shapely.area(pieces))]
                bank[hit[u]] = len(regions) + int(hit[u])  # a bank of its own
    return bank, part, regions


def _owner(point, region: int, bank: np.ndarray, tree: shapely.STRtree) -> int:
    """The unit of bank ``region`` at (or nearest to, within 2 km) ``point``; -1 if none."""
    dist = _TOL_M
    while dist <= 2000.0:
        cand = tree.query(point, predicate="dwithin", distance=dist)
        cand = cand[bank[cand] == region]
        if len(cand):
            if len(cand) == 1:
                return int(cand[0])
            d = shapely.distance(tree.geometries[cand], point)
            return int(cand[np.argmin(d)])
        dist = 50.0 if dist < 50.0 else dist * 4.0
    return -1


def _crossing_pairs(geoms: np.ndarray, edges: np.ndarray, zone, regions: np.ndarray,
                    bank: np.ndarray) -> list[tuple[int, int]]:
    """Units joined by the crossings ``edges`` (road lines meeting the barrier ``zone``).

    Crossing edges whose parts in Z touch form one crossing (a bridge split into several
    edges). The parts of its edges outside Z (the landings) each lie on a land region; the
    landing's owner is the unit of that bank at (or nearest to) the point where the road leaves
    Z — not a straddling unit of the other bank whose sliver the road lands on. The owners of
    one crossing are joined along a minimum spanning tree of their landing points.
    """
    if not len(edges) or not len(regions):
        return []
    inside = shapely.intersection(edges, zone)
    # crossings: edges whose parts in Z touch
    itree = shapely.STRtree(inside)
    ia, ib = itree.query(inside, predicate="dwithin", distance=_TOL_M)
    group = _components(len(edges), ia, ib)
    outside = shapely.difference(edges, zone)
    pieces, idx = shapely.get_parts(outside, return_index=True)
    ok = np.isin(shapely.get_type_id(pieces), [1, 2]) & (shapely.length(pieces) > _TOL_M)
    pieces, idx = pieces[ok], idx[ok]
    if not len(pieces):
        return []
    rtree = shapely.STRtree(regions)
    mids = shapely.line_interpolate_point(pieces, 0.5, normalized=True)
    ip, ir = rtree.query(mids, predicate="intersects")
    region = np.full(len(pieces), -1, dtype=np.int64)
    region[ip[::-1]] = ir[::-1]
    ends = np.stack([shapely.get_point(pieces, 0), shapely.get_point(pieces, -1)], axis=1)
    dist = shapely.distance(ends, zone)
    landing = np.where(dist[:, 0] <= dist[:, 1], ends[:, 0], ends[:, 1])
    utree = shapely.STRtree(geoms)
    owners: dict[int, list[tuple[int, object]]] = {}
    for k in np.flatnonzero(region >= 0):
        o = _owner(landing[k], int(region[k]), bank, utree)
        if o >= 0:
            owners.setdefault(int(group[idx[k]]), []).append((o, landing[k]))
    from scipy.sparse.csgraph import minimum_spanning_tree
    out: set[tuple[int, int]] = set()
    for items in owners.values():
        units = [u for u, _ in items]
        if len(set(units)) < 2:
            continue
        if len(items) == 2:
            edges_mst = [(0, 1)]
        else:
            pts = np.array([p for _, p in items], dtype=object)
            d = shapely.distance(pts[:, None], pts[None, :]) + 1e-6  # 0 would mean no edge
            np.fill_diagonal(d, 0.0)
            mst = minimum_spanning_tree(d).tocoo()
            edges_mst = list(zip(mst.row.tolist(), mst.col.tolist()))
        for i, j in edges_mst:
            x, y = units[i], units[j]
            if x != y:
                out.add((min(x, y), max(x, y)))
    return sorted(out)


def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    m = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    return connected_components(m, directed=False)[1]


def _island_links(geoms: np.ndarray, pairs: pd.DataFrame, station_units: np.ndarray,
                  ids: list[str], people: np.ndarray, bz: BarrierZone,
                  have_network: bool) -> list[tuple[int, int, float]]:
    """Links (a, b, gap_m) joining every station-less component to its nearest other unit."""
    n = len(geoms)
    if not len(station_units) or n < 2:
        return []
    a = pairs["a"].to_numpy(dtype=np.int64)
    b = pairs["b"].to_numpy(dtype=np.int64)
    tree = shapely.STRtree(geoms)
    links: list[tuple[int, int, float]] = []
    for _ in range(n):
        la = np.array([x for x, _, _ in links], dtype=np.int64)
        lb = np.array([y for _, y, _ in links], dtype=np.int64)
        comp = _components(n, np.concatenate([a, la]), np.concatenate([b, lb]))
        with_station = set(comp[station_units].tolist())
        lonely = sorted(set(comp.tolist()) - with_station)
        if not lonely:
            break
        # the largest station-less component first
        sizes = np.bincount(comp)
        c = max(lonely, key=lambda k: (sizes[k], -k))
        members = np.flatnonzero(comp == c)
        mgeoms = geoms[members]
        dist = 50.0
        while True:
            im, io = tree.query(mgeoms, predicate="dwithin", distance=dist)
            other = comp[io] != c
            if other.any():
                im, io = im[other], io[other]
                d = shapely.distance(mgeoms[im], geoms[io])
                k = int(np.argmin(d))
                x, y, gap = int(members[im[k]]), int(io[k]), float(d[k])
                break
            dist *= 4.0
            if dist > 1e8:
                return links
        links.append((min(x, y), max(x, y), gap))
        line = shapely.shortest_line(geoms[x], geoms[y])
        kinds = [_NOUN[k] for k, g in bz.parts.items()
                 if shapely.intersects(g, line) or shapely.intersects(g, geoms[x])]
        unit_ids = format_ids([ids[i] for i in members], limit=10)
        pop = float(people[members].sum())
        noun = "unit" if len(members) == 1 else "units"
        if kinds:
            what = " and ".join(dict.fromkeys(kinds))
            bridge = ("no bridge in the road network" if have_network
                      else "no road network to give the bridges")
            log.warning("%s %s (%s people) are cut off by the %s with %s; joined to unit %s "
                        "across the barrier, %.0f m, so they can belong to a district; add the "
                        "bridge or ferry to the road network to make this explicit",
                        noun, unit_ids, f"{pop:,.0f}", what, bridge, ids[y], gap)
        else:
            log.warning("%s %s (%s people) touch no unit of a district with a station (a gap of "
                        "%.0f m); joined to unit %s so they can belong to a district; close the "
                        "gap in the units' file or add the road that joins them",
                        noun, unit_ids, f"{pop:,.0f}", gap, ids[y])
    return links


def barrier_pairs(units: gpd.GeoDataFrame, pairs: pd.DataFrame, *,
                  stations: gpd.GeoDataFrame | None = None,
                  rivers: gpd.GeoDataFrame | None = None,
                  railways: gpd.GeoDataFrame | None = None,
                  road_edges: gpd.GeoDataFrame | None = None,
                  area: gpd.GeoDataFrame | None = None,
                  barriers: tuple[str, ...] = BARRIERS, kind: str = "rook",
                  id_col: str = "cell_id", population: str = "population") -> pd.DataFrame:
    """The neighbour pairs of ``units`` once barriers and crossings are applied (module rule).

    Parameters
    ----------
    units : unit polygons (projected CRS, metres), in graph order.
    pairs : their touching pairs (``a`` < ``b`` positions, ``shared_m``), as from
        ``planning.plan.adjacency_pairs``.
    stations : station points; components of the graph without one are joined (islands).
    rivers, railways, road_edges : barrier layers (any may be None); ``road_edges`` gives the
        motorways and the crossings.
    area : the study area (default: the union of the units).
    barriers : the kinds that apply (``rivers``, ``railways``, ``motorway``).
    kind : ``rook`` or ``queen``, as ``pairs`` were computed.

    Returns
    -------
    DataFrame ``a``, ``b`` (positions, ``a`` < ``b``), ``shared_m`` (metres of boundary shared,
    0 where joined only by a crossing or an island link) and ``link`` (``touch``, ``crossing``
    or ``island``).
    """
    geoms = np.asarray(units.geometry.values)
    n = len(geoms)
    ids = [id_str(v) or "" for v in units[id_col].tolist()] if id_col in units.columns else \
        [str(i) for i in range(n)]
    people = (pd.to_numeric(units[population], errors="coerce").fillna(0.0).to_numpy(dtype=float)
              if population in units.columns else np.zeros(n))
    out = pairs[["a", "b", "shared_m"]].copy()
    out["link"] = "touch"
    bz = barrier_zone(rivers=rivers, railways=railways, road_edges=road_edges, barriers=barriers)
    if bz.zone is not None and n:
        zone = bz.zone
        shapely.prepare(zone)
        hit = np.sort(shapely.STRtree(geoms).query(zone, predicate="intersects"))
        if len(hit):
            area_geom = (shapely.union_all(np.asarray(area.geometry.values))
                         if area is not None and len(area) else None)
            bank, part, regions = _banks(geoms, hit, zone, area_geom)
            a = out["a"].to_numpy(dtype=np.int64)
            b = out["b"].to_numpy(dtype=np.int64)
            is_hit = np.zeros(n, dtype=bool)
            is_hit[hit] = True
            near = is_hit[a] | is_hit[b]
            keep = ~near
            rows = np.flatnonzero(near & (bank[a] == bank[b]) & (bank[a] >= 0))
            if len(rows):
                pa = np.array([part.get(int(i), geoms[i]) for i in a[rows]], dtype=object)
                pb = np.array([part.get(int(i), geoms[i]) for i in b[rows]], dtype=object)
                union = shapely.union(pa, pb, grid_size=_TOL_M)
                shared = np.maximum(0.0, (shapely.length(pa) + shapely.length(pb)
                                          - shapely.length(union)) / 2.0)
                ok = shared > _MIN_SHARED_M
                if kind == "queen":
                    ok |= shapely.dwithin(pa, pb, _TOL_M)
                keep[rows[ok]] = True
            out = out[keep]
        crossing: list[tuple[int, int]] = []
        if road_edges is not None and len(road_edges):
            if len(hit):
                eg = np.asarray(road_edges.geometry.values)
                barrier_road = (motorway_mask(road_edges) if "motorway" in barriers
                                else np.zeros(len(eg), dtype=bool))
                cand = shapely.STRtree(eg).query(zone, predicate="intersects")
                cand = cand[~barrier_road[cand]]
                crossing = _crossing_pairs(geoms, eg[cand], zone, regions, bank)
        else:
            log.warning("barriers (%s) are closed everywhere: the workspace has no road network, "
                        "and bridges and crossings come from the road network; import one "
                        "(`network`) to let districts cross at bridges",
                        ", ".join(_NOUN[k] for k in bz.parts))
        if crossing:
            cp = pd.DataFrame(crossing, columns=["a", "b"]).drop_duplicates()
            cp = cp.merge(pairs[["a", "b", "shared_m"]], on=["a", "b"], how="left")
            cp["shared_m"] = cp["shared_m"].fillna(0.0)
            cp["link"] = "crossing"
            cp = cp.merge(out[["a", "b"]], on=["a", "b"], how="left", indicator=True)
            cp = cp[cp["_merge"] == "left_only"].drop(columns="_merge")
            out = pd.concat([out, cp], ignore_index=True)
    if stations is not None and len(stations) and n:
        ip, iu = shapely.STRtree(geoms).query(np.asarray(stations.geometry.values),
                                              predicate="intersects")
        links = _island_links(geoms, out, np.unique(iu), ids, people, bz,
                              road_edges is not None and len(road_edges) > 0)
        if links:
            lk = pd.DataFrame(links, columns=["a", "b", "gap_m"])
            lk = lk.merge(pairs[["a", "b", "shared_m"]], on=["a", "b"], how="left")
            lk["shared_m"] = lk["shared_m"].fillna(0.0)
            lk["link"] = "island"
            out = pd.concat([out, lk.drop(columns="gap_m")], ignore_index=True)
    out = out.astype({"a": np.int64, "b": np.int64, "shared_m": float})
    return out.sort_values(["a", "b"], kind="stable").reset_index(drop=True)
