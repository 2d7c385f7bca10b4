"""A workspace's district study: the one place that turns a workspace into a ``DistrictGraph``
and its current plan, so the command line, the app, the briefing and the benchmarks all build
the same graph (same units, same adjacency rules, same current plan).
"""
from __future__ import annotations

from typing import Mapping

from geo.workspace import Workspace
from planning.plan import DistrictGraph, Plan, district_graph

__all__ = ["workspace_graph", "current_plan", "STUDY_LAYERS"]

# The layers a district study reads (read_workspace(path, layers=STUDY_LAYERS) is enough).
STUDY_LAYERS = ["cells", "stations"]


def workspace_graph(ws: Workspace, *, weights: str | Mapping[str, float] = "incidents",
                    adjacency: str = "rook") -> DistrictGraph:
    """The district graph of ``ws``: its units (``cells``: generated cells or imported units)
    and its stations, with the workload ``weights``."""
    return district_graph(ws.layer("cells"), ws.layer("stations"), weights=weights,
                          adjacency=adjacency)


def current_plan(ws: Workspace, graph: DistrictGraph) -> Plan | None:
    """Today's jurisdictions as a plan (the units' ``station_id``), or None when the workspace
    has none (no jurisdictions were imported)."""
    cells = ws.layer("cells")
    if "station_id" not in cells.columns or not cells["station_id"].notna().any():
        return None
    return Plan.from_labels(graph, cells.set_index("cell_id")["station_id"], name="current")
