"""Time to seal: units to every entry (one or several per entry, each unit leaving after its
turnout delay) so that the last entry has all its units as early as possible (exact bottleneck
assignment by threshold search over bipartite matching).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_bipartite_matching

from geo.errors import GridPatrolError, InputError, format_ids
from geo.network import SNAP_REFUSE_M, snap_points
from geo.traveltime import TravelEngine, minutes_matrix

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["Seal", "seal_from_cost_matrix", "seal_from_network", "SealInfeasible"]


class SealInfeasible(GridPatrolError):
    """No assignment closes every entry (too few units, or entries no unit can reach)."""


@dataclass(frozen=True, eq=False)
class Seal:
    """An optimal seal.

    Attributes
    ----------
    seal_minutes : the time by which every entry has all its units, minimised (minutes from
        the alarm: turnout delay plus travel).
    assignment : one row per unit sent: ``exit``, ``unit``, ``minutes`` (arrival: turnout +
        travel), ``travel_min``, ``turnout_min``; among all assignments with this seal time,
        the one with the least total minutes. Sorted by minutes, latest first.
    matchings : how many bipartite matchings the threshold search ran.
    units_needed : exit id -> units it needs (1 unless asked otherwise).
    """

    seal_minutes: float
    assignment: pd.DataFrame
    matchings: int = 0
    units_needed: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """The JSON of ``gridpatrol seal``."""
        rows = []
        for r in self.assignment.itertuples():
            row = {"exit": r.exit, "unit": r.unit, "minutes": float(r.minutes)}
            if hasattr(r, "travel_min"):
                row.update(travel_min=float(r.travel_min), turnout_min=float(r.turnout_min))
            rows.append(row)
        return {"seal_minutes": self.seal_minutes, "assignment": rows,
                "units_needed": dict(self.units_needed), "status": "optimal"}


def _perfect(cost: np.ndarray, threshold: float) -> tuple[bool, np.ndarray]:
    """Match every exit (row) to a distinct unit (column) using pairs with cost <= threshold."""
    graph = csr_matrix((np.isfinite(cost) & (cost <= threshold)).astype(np.int8))
    match = maximum_bipartite_matching(graph, perm_type="column")
    return bool((match >= 0).all()), match


def _per_item(values, n: int, name: str, what: str, *, integer: bool, default: float) -> np.ndarray:
    """``values`` (None, one number, or one per item) as an array of ``n`` checked numbers."""
    if values is None:
        return np.full(n, default, dtype=float)
    arr = np.asarray(values, dtype=float)
    arr = np.full(n, float(arr)) if arr.ndim == 0 else arr
    if arr.shape != (n,):
        raise InputError(f"`{name}` has {arr.size} values but there are {n} {what}; give one "
                         f"number, or one per {what[:-1]}")
    bad = ~np.isfinite(arr) | (arr < (1 if integer else 0)) | (integer and (arr != np.round(arr)))
    if bad.any():
        rule = "whole numbers >= 1" if integer else "minutes >= 0"
        raise InputError(f"`{name}` must be {rule}; {int(bad.sum())} {what} have "
                         f"{format_ids(arr[bad].tolist(), limit=5)}")
    return arr


def seal_from_cost_matrix(cost: np.ndarray, *, unit_ids: Sequence[object],
                          exit_ids: Sequence[object], units_needed=None,
                          turnout_min=None) -> Seal:
    """The exact bottleneck assignment from a units x exits matrix of minutes.

    Parameters
    ----------
    cost : array (units, exits), travel minutes for unit i to reach exit j (``inf`` =
        unreachable).
    unit_ids, exit_ids : labels of the rows and columns.
    units_needed : units each exit needs (one whole number >= 1 for all, or one per exit;
        default 1). A unit holds one exit.
    turnout_min : minutes each unit needs before it leaves (one number for all, or one per
        unit; default 0). A unit's arrival is its turnout plus its travel.

    Raises
    ------
    SealInfeasible
        before solving when the exits need more units than there are, or some exit fewer
        units can reach than it needs; after the search when no assignment gives every exit
        its units even with unlimited time (the message names the exits left short).

    Notes
    -----
    Each exit j needing k_j units is repeated k_j times; the problem is then the one-to-one
    bottleneck assignment, whose optimum is one of the distinct finite arrival times. Binary
    search over them, each step a maximum bipartite matching (Hopcroft-Karp) restricted to
    pairs at or under the threshold, finds the smallest threshold with a perfect matching:
    O(log(units * exits)) matchings. Among assignments achieving it, the total minutes are
    then minimised (Hungarian method).
    """
    cost = np.asarray(cost, dtype=float)
    unit_ids, exit_ids = list(map(str, unit_ids)), list(map(str, exit_ids))
    if cost.shape != (len(unit_ids), len(exit_ids)):
        raise InputError(f"cost matrix is {cost.shape} but there are {len(unit_ids)} units and "
                         f"{len(exit_ids)} exits")
    if len(exit_ids) == 0:
        raise InputError("no exits given; give the entries to seal (points or crossings)")
    need = _per_item(units_needed, len(exit_ids), "units_needed", "exits", integer=True,
                     default=1).astype(int)
    delay = _per_item(turnout_min, len(unit_ids), "turnout_min", "units", integer=False, default=0.0)
    total = int(need.sum())
    if len(unit_ids) < total:
        if (need == 1).all():
            raise SealInfeasible(f"{len(exit_ids)} exits but only {len(unit_ids)} units: one unit "
                                 f"per exit needs at least {len(exit_ids)} units; add units "
                                 "(posts, patrol cars) or seal fewer exits")
        raise SealInfeasible(f"{len(exit_ids)} exits need {total} units in all but there are only "
                             f"{len(unit_ids)} units; add units (posts, patrol cars), ask fewer "
                             "units per exit (`units_needed`) or seal fewer exits")
    if np.isnan(cost).any() or (cost < 0).any():
        raise InputError("the cost matrix holds NaN or negative minutes")
    dead = [exit_ids[j] for j in np.flatnonzero(~np.isfinite(cost).any(axis=0))]
    if dead:
        raise SealInfeasible(f"{len(dead)} exits cannot be reached by any unit: {format_ids(dead)}; "
                             "check that they are on the connected road network, or drop them")
    reach = np.isfinite(cost).sum(axis=0)
    short = [f"{exit_ids[j]} ({reach[j]} of {need[j]})" for j in np.flatnonzero(reach < need)]
    if short:
        raise SealInfeasible(f"{len(short)} exits need more units than can reach them: "
                             f"{format_ids(short)}; add units that can reach them or lower "
                             "`units_needed`")
    copies = np.repeat(np.arange(len(exit_ids)), need)   # exit of each slot
    arrive = cost + delay[:, None]
    c = arrive.T[copies]  # rows = exit slots, columns = units
    values = np.unique(c[np.isfinite(c)])
    ok, match = _perfect(c, np.inf)
    runs = 1
    if not ok:
        left = sorted({exit_ids[copies[j]] for j in np.flatnonzero(match < 0)})
        raise SealInfeasible(f"no assignment gives every exit its units: exits "
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
    table = pd.DataFrame({"exit": [exit_ids[copies[r]] for r in rows],
                          "unit": [unit_ids[k] for k in cols], "minutes": c[rows, cols],
                          "travel_min": cost[cols, copies[rows]], "turnout_min": delay[cols]})
    table = table.sort_values(["minutes", "exit", "unit"], ascending=[False, True, True]
                              ).reset_index(drop=True)
    return Seal(seal_minutes=best, assignment=table, matchings=runs,
                units_needed=dict(zip(exit_ids, need.tolist())))


def _column_or_value(frame: gpd.GeoDataFrame, value, name: str, what: str):
    """``value`` as given, or the numbers of ``frame``'s column ``value`` when it is a string."""
    if not isinstance(value, str):
        return value
    if value not in frame.columns:
        raise InputError(f"`{name}` was {value!r} but the {what} have no such column; columns are "
                         f"{[c for c in frame.columns if c != frame.geometry.name]}")
    col = pd.to_numeric(frame[value], errors="coerce")
    if col.isna().any():
        bad = frame.index[col.isna()].tolist()
        raise InputError(f"`{name}`: the {what}' column {value!r} is empty or not a number in rows "
                         f"{format_ids(bad)}; give a number in every row")
    return col.to_numpy(dtype=float)


def seal_from_network(G: nx.MultiDiGraph | None, engine: TravelEngine, units: gpd.GeoDataFrame,
                      exits: gpd.GeoDataFrame, *, unit_id: str | None = None,
                      exit_id: str | None = None, units_needed: int | str | None = None,
                      turnout_min: float | str | None = None) -> Seal:
    """The optimal seal of ``exits`` by ``units`` on the road network (travel from unit to exit).

    Units and exits are snapped to their nearest node of ``G``, or of ``engine`` when ``G`` is
    None (its largest strongly connected component, the nodes ``G`` would have), or named by a
    ``node_id`` column; the id columns default to the index. A point farther than ``SNAP_REFUSE_M`` from the network
    is an InputError (it is not on it). ``units_needed`` is a number for every exit or the
    name of an exits column (default 1); ``turnout_min`` a number of minutes for every unit or
    the name of a units column (default 0). Infeasibility is explained before solving.
    """
    on = engine if G is None else G
    u = snap_points(units, on, id_col=unit_id, what="units", refuse_m=SNAP_REFUSE_M)
    x = snap_points(exits, on, id_col=exit_id, what="exits", refuse_m=SNAP_REFUSE_M)
    for frame, what in ((u, "unit"), (x, "exit")):
        dup = frame["id"][frame["id"].duplicated()].unique()
        if len(dup):
            raise InputError(f"{what} ids are used more than once: {format_ids(dup)}; give every "
                             f"{what} its own id")
    need = _column_or_value(exits, units_needed, "units_needed", "exits")
    delay = _column_or_value(units, turnout_min, "turnout_min", "units")
    cost = minutes_matrix(engine, u["node"].tolist(), x["node"].tolist())
    return seal_from_cost_matrix(cost, unit_ids=u["id"].tolist(), exit_ids=x["id"].tolist(),
                                 units_needed=need, turnout_min=delay)
