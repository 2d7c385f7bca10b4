"""A workspace's district study: the one place that turns a workspace into a ``DistrictGraph``
and its current plan, so the command line, the app, the briefing and the benchmarks all build
the same graph (same units, same adjacency rules, same current plan).

Adjacency respects barriers (``geo.barriers``): units touching only across a river, a railway
or a motorway are neighbours only where a road of the workspace's network crosses it, and
station-less islands are joined to their nearest unit with a warning.
"""
from __future__ import annotations

from typing import Mapping

from geo.barriers import BARRIERS, barrier_pairs
from geo.workspace import Workspace
from planning.plan import DistrictGraph, Plan, adjacency_pairs, district_graph

__all__ = ["workspace_graph", "current_plan", "STUDY_LAYERS", "BARRIER_LAYERS"]

# The layers barriers and crossings come from (read when present).
BARRIER_LAYERS = ["area", "rivers", "railways", "road_edges"]
# The layers a district study reads (read_workspace(path, layers=STUDY_LAYERS) is enough).
STUDY_LAYERS = ["cells", "stations", *BARRIER_LAYERS]


def workspace_graph(ws: Workspace, *, weights: str | Mapping[str, float] = "incidents",
                    adjacency: str = "rook",
                    barriers: tuple[str, ...] = BARRIERS) -> DistrictGraph:
    """The district graph of ``ws``: its units (``cells``: generated cells or imported units)
    and its stations, with the workload ``weights``.

    Units are neighbours when they touch (``adjacency``: ``rook`` or ``queen``), except across
    the ``barriers`` among ``("rivers", "railways", "motorway")`` found in the workspace
    (layers ``rivers``, ``railways``, motorway-class ``road_edges``), which are crossed only
    where a road edge crosses them; ``barriers=()`` ignores them. See ``geo.barriers``.
    """
    cells = ws.layer("cells")
    stations = ws.layer("stations")
    pairs = adjacency_pairs(cells, kind=adjacency)

    def layer(name: str):
        return ws.layer(name) if ws.has(name) else None

    pairs = barrier_pairs(cells, pairs, stations=stations, rivers=layer("rivers"),
                          railways=layer("railways"), road_edges=layer("road_edges"),
                          area=layer("area"), barriers=tuple(barriers), kind=adjacency)
    return district_graph(cells, stations, weights=weights, adjacency=adjacency,
                          barrier_pairs=pairs)


def current_plan(ws: Workspace, graph: DistrictGraph) -> Plan | None:
    """Today's jurisdictions as a plan (the units' ``station_id``), or None when the workspace
    has none (no jurisdictions were imported)."""
    cells = ws.layer("cells")
    if "station_id" not in cells.columns or not cells["station_id"].notna().any():
        return None
    return Plan.from_labels(graph, cells.set_index("cell_id")["station_id"], name="current")


def any_weights(ws: Workspace) -> str:
    """A workload the units carry, for studies whose result does not depend on it (change
    orders, staffing): ``incidents``, else ``population``, else ``area``."""
    cells = ws.layer("cells")
    return next((c for c in ("incidents", "population") if c in cells.columns
                 and (cells[c].fillna(0) != 0).any()), "area")
