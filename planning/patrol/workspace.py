"""Patrol planning on a workspace: the shift's hotspots and the routes of a station's units."""
from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np

from geo.errors import InputError, format_ids
from geo.hotspots import Shift, shift_from_text
from geo.ids import id_str, normalise_ids
from planning.patrol.problem import PatrolInfeasible
from planning.patrol.routes import PatrolRoutes, plan_routes


def shift_hotspots(cells: gpd.GeoDataFrame, incidents: gpd.GeoDataFrame, *, shift: Shift | str,
                   station_id: object | None = None, max_hotspots: int = 200,
                   half_life_days: float | None = 90.0, permutations: int = 199,
                   rng: np.random.Generator | None = None, scale=None) -> gpd.GeoDataFrame:
    """The cells to patrol in a shift: risk > 0, the ``max_hotspots`` riskiest, with Gi* flags.

    ``cells`` of the station ``station_id`` only (column ``station_id``) when given. Returns a
    copy of those cells with ``risk``, ``weighted``, ``n_incidents``, ``gi_z``, ``p_fwer`` and
    ``hotspot`` (significant Gi*, see ``geo.hotspots``), sorted by ``risk`` descending.
    With a ``geo.scale.Scale`` the risk is counted on dask partitions (``incidents`` may then be
    a file or ``geo.scale.IncidentSource``, see ``geo.scale.workspace_incidents``).
    """
    from geo.hotspots import cell_risk, hotspots_from_cells

    if station_id is not None and "station_id" in cells.columns:
        mine = (normalise_ids(cells["station_id"]) == id_str(station_id)).to_numpy()
        if not mine.any():
            raise InputError(f"no cells belong to station {station_id!r}; check the cells' "
                             "station_id column (import the jurisdictions)")
    else:
        mine = np.ones(len(cells), dtype=bool)
    if not (isinstance(max_hotspots, (int, np.integer)) and max_hotspots >= 1):
        raise InputError(f"max_hotspots was {max_hotspots!r}; give a whole number >= 1")
    # Risk and Gi* over every cell (neighbours across the jurisdiction border count, and the
    # test compares with the whole area), then the station's cells are kept.
    if scale is None:
        risk = cell_risk(cells, incidents, shift=shift, half_life_days=half_life_days)
    else:
        from geo.scale import cell_risk as partitioned_risk
        risk = partitioned_risk(cells, incidents, shift=shift, half_life_days=half_life_days,
                                scale=scale)
    if len(risk) >= 3:
        risk = hotspots_from_cells(risk, permutations=permutations, rng=rng)
    else:
        risk = risk.assign(gi_z=0.0, p_fwer=1.0, hotspot=False)
    risk = risk[mine]
    hot = risk[risk["risk"] > 0].sort_values("risk", ascending=False, kind="stable")
    return hot.head(int(max_hotspots))


def station_start(ws, station: object, G=None) -> tuple[gpd.GeoDataFrame, object, nx.MultiDiGraph]:
    """The row of ``station`` in the workspace's stations, where its units start (its
    ``node_id`` when that is a node of the road graph, else its point, to be snapped) and the
    road graph (``G``, else the workspace's, built once the station is known). Raises
    InputError naming a missing layer (stations, cells, incidents), an unknown station (with
    the known ones) or a station without a location."""
    from geo.network import graph_from_workspace
    for name in ("stations", "cells", "incidents"):
        ws.layer(name)  # InputError naming the missing layer
    stations = ws.layer("stations")
    station_ids = normalise_ids(stations["station_id"])
    hit = stations[(station_ids == id_str(station)).to_numpy()]
    if not len(hit):
        have = sorted(station_ids.dropna())
        raise InputError(f"station was {station!r} but the workspace's stations are "
                         f"{format_ids(have, limit=30)}; give one of them")
    G = G if G is not None else graph_from_workspace(ws)
    node = hit["node_id"].iloc[0] if "node_id" in hit.columns else None
    if node is not None and id_str(node) in G:
        return hit, id_str(node), G
    point = hit.geometry.iloc[0]
    if point is None or point.is_empty:
        raise InputError(f"station {station!r} has no location; give it a point or a node_id")
    return hit, point, G


def plan_for_workspace(ws, *, station: object, units: int, shift: Shift | str, dwell_min: float = 10.0,
                       seed: int | None = None, max_hotspots: int = 200,
                       speed_kmh: float | None = None, time_limit_s: float = 10.0,
                       iterations: int = 300, G: nx.MultiDiGraph | None = None,
                       engine=None) -> tuple[PatrolRoutes, gpd.GeoDataFrame]:
    """Patrol routes of one station's units for one shift, from a workspace.

    Hotspots are the station's cells weighted by the incidents of the shift (``shift_hotspots``);
    units start and end at the station (its ``node_id`` when the stations layer has one, else
    the nearest road node). ``seed`` None gives the best plan found; a seed gives a randomised
    plan (different per seed) whose loss against the best is reported. ``speed_kmh`` makes every
    unit travel at that speed over shortest distances (foot patrol 5); default road speeds.
    Returns the routes and the hotspot cells used.
    """

    if not isinstance(units, (int, np.integer)) or units < 1:
        raise InputError(f"`units` was {units!r}; give at least one patrol unit (a whole number >= 1)")
    sh = shift_from_text(shift) if isinstance(shift, str) else shift
    if not (dwell_min >= 0):
        raise InputError(f"`dwell_min` was {dwell_min!r}; give minutes >= 0")
    _, start, G = station_start(ws, station, G)
    rng = np.random.default_rng(seed) if seed is not None else np.random.default_rng(0)
    hot = shift_hotspots(ws.layer("cells"), ws.layer("incidents"), shift=sh, station_id=station,
                         max_hotspots=max_hotspots, rng=np.random.default_rng(0))
    if not len(hot):
        raise PatrolInfeasible(f"station {station} has no incidents in the shift {sh}, so there "
                               "are no hotspots to patrol; choose another shift or station")
    speeds = None if speed_kmh is None else [float(speed_kmh)] * int(units)
    routes = plan_routes(G, hot, start, units=int(units), shift=sh, dwell_min=dwell_min,
                         speeds_kmh=speeds, id_col="cell_id" if "cell_id" in hot.columns else None,
                         rng=rng, variety=0.15 if seed is not None else 0.0,
                         time_limit_s=time_limit_s, iterations=iterations, engine=engine)
    return routes, hot
