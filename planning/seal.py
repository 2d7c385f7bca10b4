"""Time to seal: one unit to each entry so that the last entry is closed as early as possible
(exact bottleneck assignment by threshold search over bipartite matching).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_bipartite_matching

from geo.errors import GridPatrolError, InputError, format_ids
from geo.network import SNAP_REFUSE_M, snap_points
from geo.traveltime import TravelEngine, minutes_matrix

__all__ = ["Seal", "seal_from_cost_matrix", "seal_from_network", "SealInfeasible"]


class SealInfeasible(GridPatrolError):
    """No assignment closes every entry (too few units, or entries no unit can reach)."""


@dataclass(frozen=True, eq=False)
class Seal:
    """An optimal seal.

    Attributes
    ----------
    seal_minutes : the latest arrival, minimised (minutes).
    assignment : one row per entry: ``exit``, ``unit``, ``minutes``; among all assignments
        with this latest arrival, the one with the least total minutes. Sorted by minutes,
        latest first.
    matchings : how many bipartite matchings the threshold search ran.
    """

    seal_minutes: float
    assignment: pd.DataFrame
    matchings: int = 0

    def summary(self) -> dict:
        """The JSON of ``gridpatrol seal``."""
        return {"seal_minutes": self.seal_minutes,
                "assignment": [{"exit": r.exit, "unit": r.unit, "minutes": float(r.minutes)}
                               for r in self.assignment.itertuples()],
                "status": "optimal"}


def _perfect(cost: np.ndarray, threshold: float) -> tuple[bool, np.ndarray]:
    """Match every exit (row) to a distinct unit (column) using pairs with cost <= threshold."""
    graph = csr_matrix((np.isfinite(cost) & (cost <= threshold)).astype(np.int8))
    match = maximum_bipartite_matching(graph, perm_type="column")
    return bool((match >= 0).all()), match


def seal_from_cost_matrix(cost: np.ndarray, *, unit_ids: Sequence[object],
                          exit_ids: Sequence[object]) -> Seal:
    """The exact bottleneck assignment from a units x exits matrix of minutes.

    Parameters
    ----------
    cost : array (units, exits), minutes for unit i to reach exit j (``inf`` = unreachable).
    unit_ids, exit_ids : labels of the rows and columns.

    Raises
    ------
    SealInfeasible
        before solving when there are fewer units than exits, or some exit no unit can reach;
        after the search when no one-to-one assignment exists even with unlimited time (the
        message names the exits left over).

    Notes
    -----
    The optimum is one of the distinct finite costs. Binary search over them, each step a
    maximum bipartite matching (Hopcroft-Karp) restricted to pairs at or under the threshold,
    finds the smallest threshold with a perfect matching: O(log(units * exits)) matchings.
    Among assignments achieving it, the total minutes are then minimised (Hungarian method).
    """
    cost = np.asarray(cost, dtype=float)
    unit_ids, exit_ids = list(map(str, unit_ids)), list(map(str, exit_ids))
    if cost.shape != (len(unit_ids), len(exit_ids)):
        raise InputError(f"cost matrix is {cost.shape} but there are {len(unit_ids)} units and "
                         f"{len(exit_ids)} exits")
    if len(exit_ids) == 0:
        raise InputError("no exits given; give the entries to seal (points or crossings)")
    if len(unit_ids) < len(exit_ids):
        raise SealInfeasible(f"{len(exit_ids)} exits but only {len(unit_ids)} units: one unit per "
                             f"exit needs at least {len(exit_ids)} units; add units (posts, patrol "
                             "cars) or seal fewer exits")
    if np.isnan(cost).any() or (cost < 0).any():
        raise InputError("the cost matrix holds NaN or negative minutes")
    dead = [exit_ids[j] for j in np.flatnonzero(~np.isfinite(cost).any(axis=0))]
    if dead:
        raise SealInfeasible(f"{len(dead)} exits cannot be reached by any unit: {format_ids(dead)}; "
                             "check that they are on the connected road network, or drop them")
    c = cost.T  # rows = exits, columns = units
    values = np.unique(c[np.isfinite(c)])
    ok, match = _perfect(c, np.inf)
    runs = 1
    if not ok:
        left = [exit_ids[j] for j in np.flatnonzero(match < 0)]
        raise SealInfeasible(f"no one-to-one assignment reaches every exit: exits "
                             f"{format_ids(left)} compete for the same few units that can reach "
                             "them; add units that can reach them")
    lo, hi = 0, len(values) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        feasible, _ = _perfect(c, values[mid])
        runs += 1
        if feasible:
            hi = mid
        else:
            lo = mid + 1
    best = float(values[lo])
    big = 1e9
    penalised = np.where(c <= best, c, big)
    rows, cols = linear_sum_assignment(penalised)
    table = pd.DataFrame({"exit": [exit_ids[r] for r in rows], "unit": [unit_ids[k] for k in cols],
                          "minutes": c[rows, cols]})
    table = table.sort_values(["minutes", "exit"], ascending=[False, True]).reset_index(drop=True)
    return Seal(seal_minutes=best, assignment=table, matchings=runs)


def seal_from_network(G: nx.MultiDiGraph, engine: TravelEngine, units: gpd.GeoDataFrame,
                      exits: gpd.GeoDataFrame, *, unit_id: str | None = None,
                      exit_id: str | None = None) -> Seal:
    """The optimal seal of ``exits`` by ``units`` on the road network (travel from unit to exit).

    Units and exits are snapped to their nearest node, or named by a ``node_id`` column; the
    id columns default to the index. A point farther than ``SNAP_REFUSE_M`` from the network
    is an InputError (it is not on it). Infeasibility is explained before solving.
    """
    u = snap_points(units, G, id_col=unit_id, what="units", refuse_m=SNAP_REFUSE_M)
    x = snap_points(exits, G, id_col=exit_id, what="exits", refuse_m=SNAP_REFUSE_M)
    for frame, what in ((u, "unit"), (x, "exit")):
        dup = frame["id"][frame["id"].duplicated()].unique()
        if len(dup):
            raise InputError(f"{what} ids are used more than once: {format_ids(dup)}; give every "
                             f"{what} its own id")
    cost = minutes_matrix(engine, u["node"].tolist(), x["node"].tolist())
    return seal_from_cost_matrix(cost, unit_ids=u["id"].tolist(), exit_ids=x["id"].tolist())
