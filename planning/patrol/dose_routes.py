"""Patrol dose on the road network and on a workspace: risk per place and hour, routes, timetable.

``place_hour_risk`` spreads each place's shift risk over the hours of the shift by the place's
own hour-of-day profile of incidents, smoothed: the place's counts by hour are shrunk towards the
profile of all the places (``prior_incidents`` pseudo-incidents distributed like the places
together), then averaged with the neighbouring hours (weights 1/4, 1/2, 1/4, around midnight
too). The risk of place p in a minute of the shift is ``risk_p × profile_p(hour) / Σ profile_p``
over the shift's minutes, so that the slots of a place add up to its shift risk.

``dose_routes`` snaps places and the station to the graph, builds the travel matrix, solves
(``planning.patrol.dose.solve_dose``), measures the random baseline in the same run, and draws
each unit's legs; ``dose_for_workspace`` does it for a station's shift on a workspace.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from geo.errors import InputError
from geo.hotspots import Shift, shift_from_text
from geo.ids import id_str
from planning.patrol.dose import DosePlan, DoseProblem, baseline_top_share, solve_dose
from planning.patrol.problem import PatrolInfeasible
from planning.patrol.routes import _clock, route_line, snapped_sites

__all__ = ["DoseRoutes", "place_hour_risk", "place_names", "dose_routes", "dose_for_workspace",
           "TIMETABLE_COLUMNS"]

log = logging.getLogger(__name__)

TIMETABLE_COLUMNS = ["unit", "from", "to", "from_min", "to_min", "minutes", "activity", "place",
                     "name"]


def _hour_counts(places: gpd.GeoDataFrame, incidents: gpd.GeoDataFrame, time_col: str) -> np.ndarray:
    """(P, 24) incidents inside each place by hour of day of their ``time_col``."""
    counts = np.zeros((len(places), 24))
    if not len(incidents) or time_col not in incidents.columns:
        return counts
    t = pd.to_datetime(incidents[time_col], errors="coerce")
    ok = t.notna().to_numpy()
    pts = np.asarray(incidents.geometry.values)[ok]
    hours = t[ok].dt.hour.to_numpy()
    geoms = np.asarray(places.geometry.values)
    tree = shapely.STRtree(geoms)
    pi, ci = tree.query(pts, predicate="intersects")
    first = ~pd.Series(pi).duplicated().to_numpy()
    np.add.at(counts, (ci[first], hours[pi[first]]), 1.0)
    return counts


def place_hour_risk(places: gpd.GeoDataFrame, incidents: gpd.GeoDataFrame, *, shift: Shift | str,
                    risk_col: str = "risk", slot_min: float = 60.0, prior_incidents: float = 20.0,
                    time_col: str = "time") -> np.ndarray:
    """Risk of each place in each slot of the shift: (P, J), ``J = ceil(shift / slot_min)``.

    Parameters
    ----------
    places : polygons (cells) with ``risk_col`` (the place's risk over the shift), in the
        incidents' CRS.
    incidents : points with ``time_col`` (all hours: the profile is of the whole day).
    shift : the shift; slot j covers minutes ``[j slot_min, (j + 1) slot_min)`` from its start.
    prior_incidents : weight of the places' common profile in each place's own (see the module
        docstring); 0 uses each place's counts alone.
    """
    sh = shift_from_text(shift) if isinstance(shift, str) else shift
    if risk_col not in places.columns:
        raise InputError(f"the places have no {risk_col!r} column; columns are "
                         f"{[c for c in places.columns if c != 'geometry']}")
    if not (prior_incidents >= 0):
        raise InputError(f"`prior_incidents` was {prior_incidents!r}; give a number >= 0")
    risk = pd.to_numeric(places[risk_col], errors="coerce").fillna(0.0).to_numpy(dtype=float)
    counts = _hour_counts(places, incidents, time_col)
    common = counts.sum(axis=0) + 1.0   # + 1: no hour is ever impossible
    common = common / common.sum()
    own = (counts + prior_incidents * common[None, :]) / (counts.sum(axis=1, keepdims=True)
                                                          + prior_incidents)
    own = np.where(np.isfinite(own), own, common[None, :])
    smooth = 0.5 * own + 0.25 * np.roll(own, 1, axis=1) + 0.25 * np.roll(own, -1, axis=1)
    L = int(sh.minutes)
    hour = ((sh.start_min + np.arange(L)) // 60) % 24
    per_min = smooth[:, hour]
    per_min = per_min / per_min.sum(axis=1, keepdims=True) * risk[:, None]
    J = int(np.ceil(L / slot_min - 1e-9))
    slot = (np.arange(L) // slot_min).astype(int)
    out = np.zeros((len(places), J))
    np.add.at(out.T, slot, per_min.T)
    return out


def place_names(places: gpd.GeoDataFrame, edges: gpd.GeoDataFrame | None, *,
                max_distance_m: float = 300.0) -> list[str]:
    """The name of the nearest named road within ``max_distance_m`` metres of each place's
    centroid ("" where none); ``edges`` with a ``name`` column, in the places' CRS."""
    if edges is None or "name" not in edges.columns or not len(places):
        return [""] * len(places)
    named = edges[edges["name"].notna() & (edges["name"].astype(str).str.strip() != "")]
    if not len(named):
        return [""] * len(places)
    if named.crs is not None and places.crs is not None and named.crs != places.crs:
        named = named.to_crs(places.crs)
    pts = np.asarray(places.geometry.centroid.values)
    tree = shapely.STRtree(np.asarray(named.geometry.values))
    pi, ei = tree.query_nearest(pts, max_distance=max_distance_m, all_matches=False)
    out = [""] * len(places)
    names = named["name"].astype(str).to_numpy()
    for i, e in zip(pi, ei):
        out[int(i)] = names[int(e)]
    return out


@dataclass(frozen=True, eq=False)
class DoseRoutes:
    """A dose plan placed on the network.

    Attributes
    ----------
    plan : the solved ``DosePlan``; ``baseline`` the top share of the random patrols.
    place_ids, names : id and road name ("" if none) of every place; ``station`` the station's id
        and ``station_name`` its name.
    lines : one row per unit: ``unit``, ``minutes`` (= ``minutes_used``), ``share_of_shift``,
        ``patrol_min``, ``stops`` (visits), ``length_m`` and the LineString (graph CRS).
    stops : one row per visit: ``unit``, ``order``, ``hotspot`` (place id), ``name``, ``arrive`` /
        ``depart`` (clock), ``arrive_min``, ``start_min``, ``depart_min``, ``risk`` (risk of the
        place in the visit's minutes), ``node`` and the place's point.
    reference_objective : Φ of the unseeded plan when this one is seeded.
    """

    plan: DosePlan
    lines: gpd.GeoDataFrame
    stops: gpd.GeoDataFrame
    legs: tuple
    place_ids: tuple[str, ...]
    names: tuple[str, ...]
    baseline: float
    shift: Shift | None = None
    station: str = ""
    station_name: str = ""
    reference_objective: float | None = None
    top_fraction: float = 0.2
    notes: tuple[str, ...] = ()

    @property
    def dose_top_share(self) -> float:
        return self.plan.top_share(top_fraction=self.top_fraction)

    @property
    def loss_share(self) -> float | None:
        """1 - Φ / Φ of the unseeded plan (None for an unseeded plan)."""
        if self.reference_objective is None or self.reference_objective <= 0:
            return None
        return max(0.0, 1.0 - self.plan.objective / self.reference_objective)

    def clock(self, minute: float) -> str:
        return _clock(self.shift, minute)

    def timetable(self) -> pd.DataFrame:
        """Per unit, in time order: travel / patrol / wait / break / return rows with ``from`` and
        ``to`` (clock), ``from_min``/``to_min`` (from the shift start), ``minutes``, ``place``
        (place id, or the station for a break) and ``name`` (road name or station name)."""
        p = self.plan.problem
        T = p.travel_min
        rows = []

        def row(k, a, b, what, place="", name=""):
            if b - a > 1e-6 or what in ("patrol", "break"):
                rows.append({"unit": k + 1, "from": self.clock(a), "to": self.clock(b),
                             "from_min": round(float(a), 2), "to_min": round(float(b), 2),
                             "minutes": round(float(b - a), 1), "activity": what,
                             "place": place, "name": name})

        for k, stops in enumerate(self.plan.stops):
            here, t = p.start_site[k], 0.0
            for s in stops:
                if s.is_break:
                    site, place, name = p.start_site[k], self.station, self.station_name
                else:
                    site, place, name = p.place_site[s.place], self.place_ids[s.place], self.names[s.place]
                row(k, t, t + T[here, site], "travel", place, name)
                row(k, s.arrive, s.start, "wait", place, name)
                row(k, s.start, s.depart, "break" if s.is_break else "patrol", place, name)
                here, t = site, s.depart
            row(k, t, t + T[here, p.end_site[k]], "return", self.station, self.station_name)
        return pd.DataFrame(rows, columns=TIMETABLE_COLUMNS)

    def summary(self) -> dict:
        """The JSON of ``gridpatrol patrol`` in dose mode."""
        p, plan = self.plan.problem, self.plan
        used, share = plan.minutes_used, plan.share_of_shift
        patrol, travel = plan.patrol_min, plan.travel_min
        routes = []
        for k, stops in enumerate(plan.stops):
            visits = [{"place": self.place_ids[s.place], "arrive_min": round(s.arrive, 2),
                       "start_min": round(s.start, 2), "depart_min": round(s.depart, 2)}
                      for s in stops if not s.is_break]
            brk = [{"start_min": round(s.start, 2), "end_min": round(s.depart, 2)} for s in stops if s.is_break]
            routes.append({"unit": k + 1, "minutes": round(float(used[k]), 1),
                           "minutes_used": round(float(used[k]), 1),
                           "share_of_shift": round(float(share[k]), 4),
                           "patrol_min": round(float(patrol[k]), 1), "travel_min": round(float(travel[k]), 1),
                           "break": brk[0] if brk else None,
                           "back_min": round(float(plan.end_min[k]), 2),
                           "stops": [v["place"] for v in visits], "visits": visits})
        return {"mode": "dose", "routes": routes,
                "dose_top_share": round(self.dose_top_share, 4),
                "baseline_top_share": round(self.baseline, 4),
                "top_fraction": self.top_fraction,
                "objective": round(plan.objective, 3),
                "objective_loss_vs_best": None if self.loss_share is None else round(self.loss_share, 4),
                "shift_minutes": float(p.shift_min), "places": int(p.n_places),
                "dwell_min": p.dwell_min, "dwell_range": [p.dwell_lo, p.dwell_hi],
                "min_gap_min": p.min_gap_min, "break_min": p.break_min,
                "min_share_of_shift": round(float(share.min()), 4)}


def dose_routes(G: nx.MultiDiGraph, places: gpd.GeoDataFrame, risk_by_slot: np.ndarray, start: object, *,
                units: int = 2, shift: Shift | str, dwell_min: float = 12.0,
                dwell_range: tuple[float, float] = (10.0, 15.0), min_gap_min: float = 45.0,
                break_min: float = 30.0, id_col: str | None = None, names: Sequence[str] | None = None,
                station: str = "", station_name: str = "", rng: np.random.Generator | None = None,
                variety: float = 0.0, compare_with_best: bool = True, time_limit_s: float = 5.0,
                iterations: int = 200, speed_kmh: float | None = None, top_fraction: float = 0.2,
                baseline_draws: int = 10, max_snap_m: float = 1000.0, engine=None) -> DoseRoutes:
    """Dose patrols of ``units`` units starting and ending at node ``start`` of ``G``.

    ``places`` (polygons or points, any CRS) with ``risk_by_slot`` (P, J) from
    ``place_hour_risk``; ``speed_kmh`` makes units travel at that speed over shortest distances
    (foot patrol 5) instead of road speeds. ``variety > 0`` (with ``rng``) randomises the plan,
    and with ``compare_with_best`` the unseeded plan is solved too and the loss in Φ reported.
    The random baseline (``baseline_draws`` patrols) is drawn with ``default_rng(0)``.
    """
    from geo.traveltime import engine_from_graph, minutes_matrix

    if not isinstance(units, (int, np.integer)) or units < 1:
        raise InputError(f"`units` was {units!r}; give at least one patrol unit (a whole number >= 1)")
    sh = shift_from_text(shift) if isinstance(shift, str) else shift
    if len(places) == 0:
        raise PatrolInfeasible("there are no places to patrol in this shift; choose another shift "
                               "or check the incidents layer")
    if speed_kmh is not None and not speed_kmh > 0:
        raise InputError(f"`speed_kmh` was {speed_kmh!r}; give km/h > 0 (foot patrol 5) or None to drive")
    start_node = id_str(start)
    if start_node not in G:
        raise InputError(f"the station node {start!r} is not on the network")
    snapped, ids, keep, notes = snapped_sites(places, G, id_col=id_col, max_snap_m=max_snap_m,
                                              what="patrol places")
    nodes = snapped["node"].to_numpy()[keep]
    ids = ids[keep]
    R = np.asarray(risk_by_slot, float)[keep]
    nm = list(np.asarray(names if names is not None else [""] * len(keep), dtype=object)[keep])
    sites = list(dict.fromkeys([*nodes, start_node]))
    site_of = {n: i for i, n in enumerate(sites)}
    engine = engine if engine is not None else engine_from_graph(G)
    if speed_kmh is None:
        T = minutes_matrix(engine, sites, sites)
        draw_engine, weight = engine, "travel_s"
    else:
        draw_engine, weight = engine_from_graph(G, weight="length_m"), "length_m"
        T = minutes_matrix(draw_engine, sites, sites) * 60.0 / (speed_kmh * 1000.0 / 60.0)
    problem = DoseProblem.from_matrix(
        T, R, starts=[site_of[start_node]] * units, shift_min=float(sh.minutes), dwell_min=dwell_min,
        dwell_range=dwell_range, min_gap_min=min_gap_min, break_min=break_min,
        place_site=[site_of[n] for n in nodes])
    plan = solve_dose(problem, rng=rng, variety=variety, time_limit_s=time_limit_s, iterations=iterations)
    reference = None
    if variety > 0 and compare_with_best:
        best = solve_dose(problem, time_limit_s=time_limit_s, iterations=iterations)
        reference = max(best.objective, plan.objective)
    base = baseline_top_share(problem, rng=np.random.default_rng(0), draws=baseline_draws,
                              top_fraction=top_fraction)
    low = np.flatnonzero(plan.share_of_shift < 0.9)
    if len(low):
        cap = problem.max_patrol_min()
        notes.append("units " + ", ".join(str(k + 1) for k in low) + " patrol less than 90 % of the "
                     "shift (" + ", ".join(f"{plan.share_of_shift[k]:.0%}" for k in low) + "): the "
                     f"{problem.n_places} places hold at most {cap:.0f} patrol minutes in this shift "
                     f"with `min_gap_min` {problem.min_gap_min:g} ({cap / units:.0f} per unit); add "
                     "places, lower the gap or plan fewer units")
        log.warning(notes[-1])
    return _place(G, plan, draw_engine, weight, sites, start_node, places.loc[keep], ids, nm, base,
                  sh, station, station_name, reference, top_fraction, tuple(notes))


def _place(G, plan: DosePlan, engine, weight, sites, start_node, places, ids, names, base, shift,
           station, station_name, reference, top_fraction, notes) -> DoseRoutes:
    p = plan.problem
    crs = G.graph["crs"]
    geo = places.geometry.to_crs(crs) if places.crs is not None else places.geometry
    points = geo.centroid.to_numpy()
    line_rows, line_geoms, stop_rows, stop_geoms, legs = [], [], [], [], []
    used, share, patrol = plan.minutes_used, plan.share_of_shift, plan.patrol_min
    for k, stops in enumerate(plan.stops):
        seq = [start_node, *[start_node if s.is_break else sites[p.place_site[s.place]] for s in stops],
               start_node]
        paths, geom = route_line(G, engine, seq, weight)
        legs.append(tuple(tuple(x) for x in paths))
        visits = [s for s in stops if not s.is_break]
        line_rows.append({"unit": k + 1, "minutes": float(used[k]), "share_of_shift": float(share[k]),
                          "patrol_min": float(patrol[k]), "stops": len(visits), "length_m": float(geom.length)})
        line_geoms.append(geom)
        for order, s in enumerate(visits, start=1):
            ov = p.overlap(np.array([s.start]), np.array([s.depart]))[0]
            risk = float((p.risk[s.place] * ov / p.slot_min).sum())
            stop_rows.append({"unit": k + 1, "order": order, "hotspot": ids[s.place], "name": names[s.place],
                              "arrive": _clock(shift, s.start), "depart": _clock(shift, s.depart),
                              "arrive_min": round(s.arrive, 2), "start_min": round(s.start, 2),
                              "depart_min": round(s.depart, 2), "risk": risk,
                              "node": sites[p.place_site[s.place]]})
            stop_geoms.append(points[s.place])
    lines = gpd.GeoDataFrame(pd.DataFrame(line_rows, columns=["unit", "minutes", "share_of_shift", "patrol_min",
                                                              "stops", "length_m"]),
                             geometry=line_geoms, crs=crs)
    stops = gpd.GeoDataFrame(pd.DataFrame(stop_rows, columns=["unit", "order", "hotspot", "name", "arrive",
                                                              "depart", "arrive_min", "start_min",
                                                              "depart_min", "risk", "node"]),
                             geometry=stop_geoms, crs=crs)
    return DoseRoutes(plan=plan, lines=lines, stops=stops, legs=tuple(legs), place_ids=tuple(ids),
                      names=tuple(names), baseline=base, shift=shift, station=station,
                      station_name=station_name, reference_objective=reference,
                      top_fraction=top_fraction, notes=notes)


def dose_for_workspace(ws, *, station: object, units: int, shift: Shift | str, dwell_min: float = 12.0,
                       min_gap_min: float = 45.0, break_min: float = 30.0, max_places: int = 30,
                       seed: int | None = None, speed_kmh: float | None = None,
                       time_limit_s: float = 5.0, iterations: int = 200,
                       G: nx.MultiDiGraph | None = None, engine=None) -> tuple[DoseRoutes, gpd.GeoDataFrame]:
    """Dose patrols of one station's units for one shift, from a workspace.

    Places are the station's ``max_places`` riskiest cells of the shift
    (``planning.patrol.shift_hotspots``); their risk is spread over the shift's hours by
    ``place_hour_risk``; units start, break and end at the station (its ``node_id``, else the
    nearest road node). ``seed`` None gives the best plan found; a seed a randomised plan whose
    loss against the best is reported. Returns the routes and the place cells.
    """
    from geo.network import snap_points
    from planning.patrol.workspace import shift_hotspots, station_start

    if not isinstance(units, (int, np.integer)) or units < 1:
        raise InputError(f"`units` was {units!r}; give at least one patrol unit (a whole number >= 1)")
    if not (isinstance(max_places, (int, np.integer)) and max_places >= 1):
        raise InputError(f"`max_places` was {max_places!r}; give a whole number >= 1")
    sh = shift_from_text(shift) if isinstance(shift, str) else shift
    hit, start, G = station_start(ws, station, G)
    if not isinstance(start, str):  # the station's point: its nearest road node
        start = snap_points(hit.iloc[[0]], G, what="station")["node"].iloc[0]
    incidents = ws.layer("incidents")
    hot = shift_hotspots(ws.layer("cells"), incidents, shift=sh, station_id=station,
                         max_hotspots=max_places, rng=np.random.default_rng(0))
    if not len(hot):
        raise PatrolInfeasible(f"station {station} has no incidents in the shift {sh}, so there "
                               "are no places to patrol; choose another shift or station")
    R = place_hour_risk(hot, incidents, shift=sh)
    edges = ws.layer("road_edges") if ws.has("road_edges") else None
    names = place_names(hot, edges)
    st_name = str(hit["name"].iloc[0]) if "name" in hit.columns else ""
    rng = np.random.default_rng(seed) if seed is not None else np.random.default_rng(0)
    routes = dose_routes(G, hot, R, start, units=int(units), shift=sh, dwell_min=dwell_min,
                         min_gap_min=min_gap_min, break_min=break_min,
                         id_col="cell_id" if "cell_id" in hot.columns else None, names=names,
                         station=id_str(station) or "", station_name=st_name, rng=rng,
                         variety=0.15 if seed is not None else 0.0, time_limit_s=time_limit_s,
                         iterations=iterations, speed_kmh=speed_kmh, engine=engine)
    return routes, hot
