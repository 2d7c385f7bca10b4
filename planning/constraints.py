"""Plan constraints (plan -> bool), a validator bundling them, and infeasibility explained before solving.

Constraints follow gerrychain's ``constraints.validity``: plain functions ``plan -> bool``, or
factories returning one when they need a parameter (``max_cost(3000)``, ``locked_cells(...)``).
``explain_infeasibility`` does the arithmetic that shows a request impossible before an
optimizer runs, and ``raise_if_infeasible`` raises every reason at once.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np

from geo.errors import Problem, ValidationError
from planning.plan import DistrictGraph, Plan, connected_within

__all__ = ["Constraint", "contiguous", "contains_station", "locked_cells", "locked_stations",
           "max_cost", "keep_townships_whole", "Validator", "InfeasibleError",
           "explain_infeasibility", "raise_if_infeasible", "locked_positions"]

Constraint = Callable[[Plan], bool]


class InfeasibleError(ValidationError):
    """The request cannot be met; ``problems`` say why (raised before solving where possible)."""


def contiguous(plan: Plan) -> bool:
    """Every district is one connected piece on the cell adjacency."""
    return plan.contiguous


def contains_station(plan: Plan) -> bool:
    """Every station's own cell is in its district."""
    return plan.contains_station


def locked_cells(baseline: Plan, cell_ids: Iterable[object]) -> Constraint:
    """A constraint: the listed cells keep the station they have in ``baseline``."""
    pos = baseline.graph.positions(cell_ids)
    want = baseline.assignment[pos].copy()

    def check(plan: Plan) -> bool:
        return bool(np.array_equal(plan.assignment[pos], want))
    check.__name__ = f"locked_cells({len(pos)})"
    return check


def locked_stations(baseline: Plan, station_ids: Iterable[object]) -> Constraint:
    """A constraint: the listed stations keep exactly their ``baseline`` districts."""
    g = baseline.graph
    idx = [g.station_index(s) for s in station_ids]
    mask = np.isin(baseline.assignment, idx)
    return locked_cells(baseline, g.cell_ids[mask])


def locked_positions(graph: DistrictGraph, baseline: Plan | None, *,
                     cells: Iterable[object] = (), stations: Iterable[object] = (),
                     station_cells: bool = True) -> np.ndarray:
    """Boolean mask of cells that may not move: the given cells, the districts of the given
    stations (in ``baseline``) and, with ``station_cells``, every station's own cell."""
    mask = np.zeros(graph.n_cells, dtype=bool)
    cells = list(cells)
    if cells:
        mask[graph.positions(cells)] = True
    stations = list(stations)
    if stations and baseline is not None:
        idx = [graph.station_index(s) for s in stations]
        mask |= np.isin(baseline.assignment, idx)
    if station_cells:
        mask[graph.station_cell] = True
    return mask


def max_cost(limit: float) -> Constraint:
    """A constraint: no cell is farther than ``limit`` from its station (metres, or minutes
    when the graph was built with travel times)."""
    def check(plan: Plan) -> bool:
        return bool(plan.max_cost.max() <= limit + 1e-9)
    check.__name__ = f"max_cost({limit:g})"
    return check


def keep_townships_whole(plan: Plan) -> bool:
    """No township is split between districts, except those that hold two or more stations
    (which cannot be whole)."""
    g = plan.graph
    if g.township is None:
        return True
    unavoidable = _multi_station_townships(g)
    return all(t in unavoidable for t in plan.township_split_ids)


def _multi_station_townships(graph: DistrictGraph) -> set[str]:
    if graph.township is None:
        return set()
    ts = [graph.township[c] for c in graph.station_cell]
    return {t for t in ts if t is not None and ts.count(t) > 1}


@dataclass(frozen=True)
class Validator:
    """All of ``constraints`` at once: ``Validator([...])(plan) -> bool``; ``failing`` names
    the ones that do not hold."""

    constraints: Sequence[Constraint]

    def __call__(self, plan: Plan) -> bool:
        return all(c(plan) for c in self.constraints)

    def failing(self, plan: Plan) -> list[str]:
        return [getattr(c, "__name__", repr(c)) for c in self.constraints if not c(plan)]


def explain_infeasibility(graph: DistrictGraph, *, max_deviation: float | None = None,
                          locked: np.ndarray | None = None, baseline: Plan | None = None,
                          max_cost_limit: float | None = None) -> list[Problem]:
    """Reasons, found by arithmetic alone, why no plan can meet the request.

    Checks: parts of the cell graph that hold no station (they can join no district
    contiguously); a single cell heavier than the allowed maximum district workload; locked
    cells (``locked`` mask with their stations in ``baseline``) whose workload already exceeds
    a station's allowed maximum, or districts wholly locked that fall below the allowed
    minimum; cells farther than ``max_cost_limit`` from every station. Returns the problems
    (empty when nothing is shown impossible; the optimizer may still fall short).
    """
    problems: list[Problem] = []
    g = graph
    comps = connected_within(range(g.n_cells), g.neighbours)
    has_station = np.zeros(g.n_cells, dtype=bool)
    has_station[g.station_cell] = True
    orphan = [c for comp in comps if not has_station[list(comp)].any() for c in comp]
    if orphan:
        problems.append(Problem("plan", "cells", "unreachable_cells",
                                f"{len(orphan)} cells lie in parts of the map (islands, or cut "
                                "off on the road graph) that hold no station, so no contiguous "
                                "district can take them",
                                "add the missing adjacency (a bridge or road), a station there, "
                                "or remove those cells", tuple(g.cell_ids[orphan][:50])))
    mean = g.mean_workload
    if max_deviation is not None:
        hi, lo = (1 + max_deviation) * mean, (1 - max_deviation) * mean
        heavy = np.flatnonzero(g.workload > hi + 1e-12)
        if len(heavy):
            problems.append(Problem("plan", "cells", "cell_over_share",
                                    f"{len(heavy)} cells alone carry more than the allowed "
                                    f"district workload ({1 + max_deviation:.0%} of the mean)",
                                    "allow a larger `max_deviation` or use smaller cells",
                                    tuple(g.cell_ids[heavy][:50])))
        if locked is not None and baseline is not None and locked.any():
            held = baseline.assignment.copy()
            held[g.station_cell] = np.arange(g.n_stations)
            mask = locked.copy()
            mask[g.station_cell] = True  # station cells never leave their station
            fixed = np.bincount(held[mask], weights=g.workload[mask], minlength=g.n_stations)
            over = [s for s in range(g.n_stations) if fixed[s] > hi + 1e-12]
            if over:
                detail = "; ".join(f"{g.station_ids[s]}: locked {fixed[s] / mean:.0%} of the "
                                   f"mean" for s in over)
                problems.append(Problem("plan", "cells", "locked_over_share",
                                        "locked cells alone give stations more workload than "
                                        f"the allowed {1 + max_deviation:.0%} of the mean ({detail})",
                                        "unlock some of these cells or allow a larger "
                                        "`max_deviation`",
                                        tuple(g.station_ids[s] for s in over)))
            whole = [s for s in range(g.n_stations)
                     if np.all(locked[baseline.assignment == s]) and fixed[s] < lo - 1e-12]
            if whole:
                problems.append(Problem("plan", "cells", "locked_under_share",
                                        "districts locked whole carry less than the allowed "
                                        f"{1 - max_deviation:.0%} of the mean",
                                        "unlock them or allow a larger `max_deviation`",
                                        tuple(g.station_ids[s] for s in whole)))
        # Pigeonhole: more stations than the total allows (every district needs >= lo).
        if g.workload.sum() < lo * g.n_stations - 1e-9:
            problems.append(Problem("plan", "stations", "too_many_stations",
                                    "the total workload cannot give every station its minimum",
                                    "allow a larger `max_deviation`"))
    if max_cost_limit is not None:
        far = np.flatnonzero(g.cost.min(axis=1) > max_cost_limit)
        if len(far):
            problems.append(Problem("plan", "cells", "beyond_max_cost",
                                    f"{len(far)} cells are farther than {max_cost_limit:g} "
                                    f"{g.cost_unit} from every station",
                                    "raise the limit or add a station",
                                    tuple(g.cell_ids[far][:50])))
    return problems


def raise_if_infeasible(graph: DistrictGraph, **kwargs) -> None:
    """Raise InfeasibleError with every reason ``explain_infeasibility`` finds (none: return)."""
    problems = explain_infeasibility(graph, **kwargs)
    if problems:
        raise InfeasibleError(problems)
