"""The patrol problem from arrays (``PatrolProblem``) and a solution (``PatrolPlan``)."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from geo.errors import GridPatrolError, InputError, format_ids

_EPS = 1e-7


class PatrolInfeasible(GridPatrolError):
    """A patrol request that no route can satisfy; the message says why and what to change."""


@dataclass(frozen=True, eq=False)
class PatrolProblem:
    """A team orienteering problem with time windows (read-only arrays).

    Attributes
    ----------
    travel_min : (modes, sites, sites) minutes of travel between sites, per travel mode.
    visit_site : (V,) site of every visit; ``visit_hotspot`` (V,) the hotspot it belongs to.
    risk, dwell_min, open_min, close_min : (V,) prize, minutes spent on site, and the window
        (minutes from shift start) in which the unit must arrive.
    required : (V,) visits every plan must serve.
    start_site, end_site, budget_min, mode : (K,) per unit: where it starts and ends, the
        minutes it has (the shift), and its row of ``travel_min``.
    """

    travel_min: np.ndarray
    visit_site: np.ndarray
    visit_hotspot: np.ndarray
    risk: np.ndarray
    dwell_min: np.ndarray
    open_min: np.ndarray
    close_min: np.ndarray
    required: np.ndarray
    start_site: np.ndarray
    end_site: np.ndarray
    budget_min: np.ndarray
    mode: np.ndarray

    @property
    def n_visits(self) -> int:
        return len(self.risk)

    @property
    def n_units(self) -> int:
        return len(self.budget_min)

    @property
    def has_windows(self) -> bool:
        return bool(np.any(self.open_min > 0) or np.any(np.isfinite(self.close_min)))

    @classmethod
    def from_matrix(cls, travel_min: np.ndarray, risk: Sequence[float], *, starts: Sequence[int],
                    ends: Sequence[int] | None = None, budget_min: float | Sequence[float],
                    dwell_min: float | Sequence[float] = 5.0, unit_mode: Sequence[int] | None = None,
                    required: Sequence[bool] | None = None,
                    revisit_min: Sequence[float] | np.ndarray | None = None,
                    hotspot_site: Sequence[int] | None = None) -> "PatrolProblem":
        """Build a problem from a travel matrix.

        Parameters
        ----------
        travel_min : (S, S) or (modes, S, S) minutes between sites (``inf``: unreachable).
        risk : (H,) risk of each hotspot (>= 0).
        starts, ends : site index of each unit's start and end (``ends`` default: ``starts``);
            ``len(starts)`` is the number of units.
        budget_min : minutes each unit has (one number or one per unit).
        dwell_min : minutes spent at each hotspot visit (one number or one per hotspot).
        unit_mode : (K,) row of ``travel_min`` each unit travels with (default 0).
        required : (H,) hotspots that must be visited.
        revisit_min : (H,) revisit interval in minutes (``nan``/0: visit once).
        hotspot_site : (H,) site of each hotspot (default: hotspot h is site h).
        """
        T = np.asarray(travel_min, dtype=float)
        if T.ndim == 2:
            T = T[None, :, :]
        if T.ndim != 3 or T.shape[1] != T.shape[2]:
            raise InputError(f"travel_min has shape {T.shape}; give a square (S, S) or "
                             "(modes, S, S) matrix of minutes")
        if np.any(T < 0) or np.isnan(T).any():
            raise InputError("travel_min holds negative or NaN minutes; travel times are >= 0")
        S = T.shape[1]
        r = np.asarray(risk, dtype=float)
        H = len(r)
        if np.any(~np.isfinite(r)) or np.any(r < 0):
            raise InputError("risk must be finite and >= 0 for every hotspot")
        site = np.arange(H) if hotspot_site is None else np.asarray(hotspot_site, dtype=np.int64)
        starts = np.asarray(starts, dtype=np.int64).ravel()
        K = len(starts)
        if K == 0:
            raise InputError("`starts` was empty; give at least one patrol unit")
        ends = starts.copy() if ends is None else np.asarray(ends, dtype=np.int64).ravel()
        if len(ends) != K:
            raise InputError(f"{len(ends)} ends for {K} units; give one end per unit")
        for name, arr in (("starts", starts), ("ends", ends), ("hotspot sites", site)):
            if len(arr) and (arr.min() < 0 or arr.max() >= S):
                raise InputError(f"{name} name sites outside 0..{S - 1}")
        budget = np.broadcast_to(np.asarray(budget_min, dtype=float), (K,)).copy()
        if np.any(~(budget > 0)):
            raise InputError(f"the shift must be longer than 0 minutes; got {budget.tolist()}")
        dwell = np.broadcast_to(np.asarray(dwell_min, dtype=float), (H,)).copy()
        if np.any(~(dwell >= 0)):
            raise InputError("`dwell_min` must be >= 0 minutes")
        mode = np.zeros(K, dtype=np.int64) if unit_mode is None else np.asarray(unit_mode, dtype=np.int64)
        if len(mode) != K or (K and (mode.min() < 0 or mode.max() >= T.shape[0])):
            raise InputError(f"unit_mode must give one of 0..{T.shape[0] - 1} per unit")
        req = np.zeros(H, dtype=bool) if required is None else np.asarray(required, dtype=bool)
        rev = np.full(H, np.nan) if revisit_min is None else np.asarray(revisit_min, dtype=float)
        horizon = float(budget.max())
        vh, vo, vc = [], [], []
        for h in range(H):
            if np.isfinite(rev[h]) and rev[h] > 0:
                n = max(1, int(math.ceil(horizon / rev[h] - 1e-9)))
                for k in range(n):
                    vh.append(h)
                    vo.append(k * rev[h])
                    vc.append((k + 1) * rev[h])
            else:
                vh.append(h)
                vo.append(0.0)
                vc.append(np.inf)
        vh = np.asarray(vh, dtype=np.int64)
        return cls(travel_min=T, visit_site=site[vh], visit_hotspot=vh, risk=r[vh],
                   dwell_min=dwell[vh], open_min=np.asarray(vo, float), close_min=np.asarray(vc, float),
                   required=req[vh], start_site=starts, end_site=ends, budget_min=budget, mode=mode)

    # ---- evaluation -------------------------------------------------------------------------

    def schedule(self, unit: int, visits: Sequence[int]) -> tuple[np.ndarray, float] | None:
        """Service start minutes of ``visits`` in order, and the minute the unit reaches its end;
        None when the route breaks a window or the unit's budget."""
        T = self.travel_min[self.mode[unit]]
        t, prev = 0.0, self.start_site[unit]
        starts = np.empty(len(visits))
        for i, v in enumerate(visits):
            t += T[prev, self.visit_site[v]]
            if t > self.close_min[v] + _EPS:
                return None
            t = max(t, self.open_min[v])
            starts[i] = t
            t += self.dwell_min[v]
            prev = self.visit_site[v]
        t += T[prev, self.end_site[unit]]
        if not (t <= self.budget_min[unit] + _EPS):
            return None
        return starts, t

    def explain_infeasible(self) -> list[str]:
        """Reasons, found by arithmetic before solving, why no useful plan exists (empty: none)."""
        reasons: list[str] = []
        K = self.n_units
        direct = np.array([self.travel_min[self.mode[k], self.start_site[k], self.end_site[k]]
                           for k in range(K)])
        for k in range(K):
            if direct[k] > self.budget_min[k] + _EPS:
                reasons.append(f"unit {k + 1} needs {direct[k]:.1f} min just to get from its start "
                               f"to its end but has {self.budget_min[k]:.0f} min")
        if self.n_visits == 0:
            reasons.append("there are no hotspots to visit in this shift; choose another shift or "
                           "check the incidents layer")
            return reasons
        trip = np.full((K, self.n_visits), np.inf)
        for k in range(K):
            T = self.travel_min[self.mode[k]]
            arr = T[self.start_site[k], self.visit_site]
            ok = arr <= self.close_min + _EPS
            arr = np.maximum(arr, self.open_min)
            trip[k] = np.where(ok, arr + self.dwell_min + T[self.visit_site, self.end_site[k]], np.inf)
        shortest = trip.min(axis=0)
        fits = shortest[None, :] <= self.budget_min.max() + _EPS
        if not fits.any():
            best = float(np.min(shortest))
            v = int(np.argmin(shortest))
            reasons.append(f"the shift is {self.budget_min.max():.0f} min but the shortest round "
                           f"trip to any hotspot takes {best:.1f} min (travel "
                           f"{best - self.dwell_min[v] - max(self.open_min[v], 0):.1f} + dwell "
                           f"{self.dwell_min[v]:.0f}); lengthen the shift, shorten the dwell time or "
                           "start nearer the hotspots")
        req = np.flatnonzero(self.required & (shortest > self.budget_min.max() + _EPS))
        if len(req):
            reasons.append(f"required hotspots {format_ids(np.unique(self.visit_hotspot[req]))} "
                           "cannot be reached and left within the shift by any unit; drop them "
                           "from the required list or lengthen the shift")
        return reasons


@dataclass(frozen=True, eq=False)
class PatrolPlan:
    """Routes for every unit of a ``PatrolProblem``.

    Attributes
    ----------
    problem : the problem solved.
    routes : per unit, the visits in order (indices into the problem's visit arrays).
    method : ``heuristic``, ``mip`` or ``nearest_first``.
    seconds : solve time.
    bound : for ``mip``, the solver's upper bound of the risk (None otherwise).
    optimal : for ``mip``, whether optimality was proven.
    """

    problem: PatrolProblem
    routes: tuple[tuple[int, ...], ...]
    method: str = "heuristic"
    seconds: float = 0.0
    bound: float | None = None
    optimal: bool | None = None

    def __post_init__(self) -> None:
        seen: set[int] = set()
        for k, r in enumerate(self.routes):
            if seen.intersection(r):
                raise GridPatrolError("a visit appears in two routes (internal error)")
            seen.update(r)
            if self.problem.schedule(k, r) is None:
                raise GridPatrolError(f"route of unit {k + 1} is infeasible (internal error)")

    def _schedule(self, k: int, route: tuple[int, ...]) -> tuple[np.ndarray, float]:
        """(start minutes, end minute) of unit ``k``'s route, feasible by construction."""
        found = self.problem.schedule(k, route)
        assert found is not None, "routes are checked feasible in __post_init__"
        return found

    @property
    def starts(self) -> list[np.ndarray]:
        """Per unit, the service start minute of each visit."""
        return [self._schedule(k, r)[0] for k, r in enumerate(self.routes)]

    @property
    def minutes_used(self) -> np.ndarray:
        """Per unit, the minute it reaches its end point (0 for a unit that stays)."""
        return np.array([self._schedule(k, r)[1] if r else 0.0 for k, r in enumerate(self.routes)])

    @property
    def idle_min(self) -> np.ndarray:
        """Per unit, the minutes of the shift left after returning (plus waiting for windows)."""
        p = self.problem
        out = []
        for k, r in enumerate(self.routes):
            if not r:
                out.append(p.budget_min[k])
                continue
            starts, end = self._schedule(k, r)
            T = p.travel_min[p.mode[k]]
            sites = [p.start_site[k], *p.visit_site[list(r)], p.end_site[k]]
            busy = sum(T[a, b] for a, b in zip(sites[:-1], sites[1:])) + p.dwell_min[list(r)].sum()
            out.append(p.budget_min[k] - busy)
        return np.array(out)

    @property
    def unit_risk(self) -> np.ndarray:
        return np.array([self.problem.risk[list(r)].sum() if r else 0.0 for r in self.routes])

    @property
    def risk_covered(self) -> float:
        return float(self.unit_risk.sum())

    @property
    def risk_total(self) -> float:
        return float(self.problem.risk.sum())

    @property
    def risk_covered_share(self) -> float:
        return self.risk_covered / self.risk_total if self.risk_total > 0 else 0.0

    @property
    def missing_required(self) -> list[int]:
        served = {v for r in self.routes for v in r}
        return [int(v) for v in np.flatnonzero(self.problem.required) if v not in served]
