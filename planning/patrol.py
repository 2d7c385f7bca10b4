"""Patrol routes: team orienteering over hotspots for one station and shift, on the road network.

Two layers, as for every GridPatrol solver:

* ``PatrolProblem.from_matrix`` is the pure problem, built from arrays: travel minutes between
  sites, the risk (prize) and dwell of every hotspot visit, and per unit a start, an end, a
  time budget and a travel mode. ``solve_heuristic`` (greedy ratio insertion, then iterated
  local search: 2-opt, relocate, insert, replace, and perturbation by removing blocks of
  visits), ``solve_mip`` (the exact HiGHS model, for small instances, as a yardstick) and
  ``solve_nearest_first`` (the naive baseline) all take it and return a ``PatrolPlan``.
* ``plan_routes`` is the geo adapter: it snaps the hotspots and the station to the road graph,
  builds the travel-time matrix with ``geo.traveltime`` (one multi-source Dijkstra), delegates,
  and draws each leg along its shortest path (``PatrolRoutes``: lines, stops, timetable,
  GeoJSON/GPX export).

Times are minutes from the start of the shift. A visit is *served* when the unit arrives at its
hotspot no later than the visit's window closes (it waits when early) and stays ``dwell_min``.
A revisit interval ``r`` for a hotspot makes ``ceil(shift / r)`` visits of it, the k-th to be
made in ``[k r, (k + 1) r]``, each worth the hotspot's risk. Risk covered is the summed risk of
the served visits; its share is relative to the risk of all visits.

Randomised plans (``variety > 0`` with an ``rng``) choose each insertion among the candidates
whose ratio is within ``variety`` of the best, which gives different routes from day to day;
``plan_routes`` reports the loss in covered risk against the deterministic plan.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.sparse.csgraph import dijkstra

from geo.errors import GridPatrolError, InputError, format_ids
from geo.ids import id_str, normalise_ids
from geo.hotspots import Shift, shift_from_text

__all__ = ["PatrolInfeasible", "PatrolProblem", "PatrolPlan", "PatrolRoutes", "solve_heuristic",
           "solve_mip", "solve_nearest_first", "plan_routes", "routes_to_geojson",
           "routes_to_gpx", "write_routes", "leg_paths", "shift_hotspots", "plan_for_workspace"]

log = logging.getLogger(__name__)
_EPS = 1e-7


class PatrolInfeasible(GridPatrolError):
    """A patrol request that no route can satisfy; the message says why and what to change."""


# --------------------------------------------------------------------------------------------
# The problem, from arrays

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
                    revisit_min: Sequence[float] | None = None,
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
                    vh.append(h), vo.append(k * rev[h]), vc.append((k + 1) * rev[h])
            else:
                vh.append(h), vo.append(0.0), vc.append(np.inf)
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

    @property
    def starts(self) -> list[np.ndarray]:
        """Per unit, the service start minute of each visit."""
        return [self.problem.schedule(k, r)[0] for k, r in enumerate(self.routes)]

    @property
    def minutes_used(self) -> np.ndarray:
        """Per unit, the minute it reaches its end point (0 for a unit that stays)."""
        return np.array([self.problem.schedule(k, r)[1] if r else 0.0 for k, r in enumerate(self.routes)])

    @property
    def idle_min(self) -> np.ndarray:
        """Per unit, the minutes of the shift left after returning (plus waiting for windows)."""
        p = self.problem
        out = []
        for k, r in enumerate(self.routes):
            if not r:
                out.append(p.budget_min[k])
                continue
            starts, end = p.schedule(k, r)
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


# --------------------------------------------------------------------------------------------
# Heuristic

class _Search:
    """Mutable working state of the heuristic (routes as lists; never leaves this module)."""

    def __init__(self, p: PatrolProblem, rng: np.random.Generator, variety: float):
        self.p, self.rng, self.variety = p, rng, variety
        self.routes: list[list[int]] = [[] for _ in range(p.n_units)]
        self.free: set[int] = set(range(p.n_visits))
        self.T = [p.travel_min[p.mode[k]] for k in range(p.n_units)]
        self.windows = p.has_windows
        self._states: dict = {}
        self.power = 1.0  # ratio = risk ** power / added minutes

    # ---- helpers
    def value(self) -> tuple[float, float]:
        risk = sum(self.p.risk[r].sum() for r in self.routes if r)
        used = sum(self.duration(k, r) for k, r in enumerate(self.routes))
        return float(risk), -float(used)

    def duration(self, k: int, r: Sequence[int]) -> float:
        T, p = self.T[k], self.p
        sites = [p.start_site[k], *p.visit_site[list(r)], p.end_site[k]]
        return float(sum(T[a, b] for a, b in zip(sites[:-1], sites[1:])) + p.dwell_min[list(r)].sum())

    def state(self, k: int, route: Sequence[int]):
        """Sites, arrival, departure and allowed push-forward of every node of a route (cached)."""
        key = (k, tuple(route))
        got = self._states.get(key)
        if got is not None:
            return got
        if len(self._states) > 20000:
            self._states.clear()
        p, T = self.p, self.T[k]
        sites = np.array([p.start_site[k], *p.visit_site[list(route)], p.end_site[k]])
        L = len(route)
        arr = np.zeros(L + 2)
        st = np.zeros(L + 2)
        dep = np.zeros(L + 2)
        for i in range(1, L + 2):
            arr[i] = dep[i - 1] + T[sites[i - 1], sites[i]]
            if i <= L:
                v = route[i - 1]
                st[i] = max(arr[i], p.open_min[v])
                dep[i] = st[i] + p.dwell_min[v]
            else:
                st[i] = arr[i]
        wait = st - arr
        maxshift = np.zeros(L + 2)
        maxshift[L + 1] = p.budget_min[k] - arr[L + 1]
        for i in range(L, 0, -1):
            v = route[i - 1]
            maxshift[i] = min(p.close_min[v] - st[i], wait[i + 1] + maxshift[i + 1])
        allowed = wait[1:] + maxshift[1:]                     # (L+1,) per insertion position
        got = (sites, arr, dep, allowed, T[sites[:-1], sites[1:]])
        self._states[key] = got
        return got

    def table(self, k: int, route: Sequence[int], cands: np.ndarray):
        """Feasibility and added minutes of inserting each candidate after each route node."""
        p, T = self.p, self.T[k]
        sites, arr, dep, allowed, direct = self.state(k, route)
        sx = p.visit_site[cands]
        to_x = T[sites[:-1]][:, sx]                           # (L+1, X)
        from_x = T[sx][:, sites[1:]].T                        # (L+1, X)
        a = dep[:-1, None] + to_x
        s = np.maximum(a, p.open_min[cands][None, :])
        shift = s + p.dwell_min[cands][None, :] + from_x - arr[1:, None]
        ok = (a <= p.close_min[cands][None, :] + _EPS) & (shift <= allowed[:, None] + _EPS)
        delta = to_x + p.dwell_min[cands][None, :] + from_x - direct[:, None]
        return ok, delta

    # ---- construction and insertion
    def insert_greedy(self, only: Sequence[int] | None = None, *, cheapest: bool = False,
                      randomised: bool = False) -> bool:
        """Insert free visits (or ``only`` those) by best ratio risk / added minutes until none fits."""
        changed = False
        pool = set(self.free if only is None else only) & self.free
        cache: dict[int, tuple] = {}
        while pool:
            cands = np.fromiter(sorted(pool), dtype=np.int64)
            options = []  # (score, k, pos, visit)
            for k in range(self.p.n_units):
                if k not in cache:
                    ok, delta = self.table(k, self.routes[k], cands)
                    cache[k] = (cands, ok, delta)
                elif len(cache[k][0]) != len(cands):
                    keep = np.isin(cache[k][0], cands)
                    cache[k] = (cands, cache[k][1][:, keep], cache[k][2][:, keep])
                _, ok, delta = cache[k]
                if not ok.any():
                    continue
                if cheapest:
                    score = np.where(ok, -delta, -np.inf)
                else:
                    prize = self.p.risk[cands] ** self.power
                    score = np.where(ok, prize[None, :] / np.maximum(delta, 1e-3), -np.inf)
                pos = np.argmax(score, axis=0)
                best = score[pos, np.arange(len(cands))]
                for j in np.flatnonzero(np.isfinite(best)):
                    options.append((float(best[j]), k, int(pos[j]), int(cands[j])))
            if not options:
                break
            options.sort(key=lambda o: (-o[0], o[1], o[3]))
            choice = options[0]
            if randomised and self.variety > 0 and len(options) > 1:
                top = options[0][0]
                lim = top - self.variety * abs(top)
                rcl = [o for o in options if o[0] >= lim][:8]
                choice = rcl[int(self.rng.integers(len(rcl)))]
            _, k, pos, v = choice
            self.routes[k].insert(pos, v)
            self.free.discard(v)
            pool.discard(v)
            cache.pop(k, None)
            changed = True
        return changed

    # ---- local search
    def two_opt(self, k: int) -> bool:
        """Reverse segments of route ``k`` while that shortens it (asymmetric costs handled)."""
        improved_any = False
        while True:
            r = self.routes[k]
            L = len(r)
            if L < 2:
                return improved_any
            p, T = self.p, self.T[k]
            n = np.array([p.start_site[k], *p.visit_site[r], p.end_site[k]])
            fwd = T[n[:-1], n[1:]]
            bwd = T[n[1:], n[:-1]]
            F = np.concatenate([[0.0], np.cumsum(fwd)])
            B = np.concatenate([[0.0], np.cumsum(bwd)])
            i = np.arange(1, L + 1)[:, None]
            j = np.arange(1, L + 1)[None, :]
            valid = j > i
            ii, jj = np.broadcast_arrays(i, j)
            old = T[n[ii - 1], n[ii]] + (F[jj] - F[ii]) + T[n[jj], n[np.minimum(jj + 1, L + 1)]]
            new = T[n[ii - 1], n[jj]] + (B[jj] - B[ii]) + T[n[ii], n[np.minimum(jj + 1, L + 1)]]
            gain = np.where(valid, old - new, -np.inf)
            order = np.argsort(-gain, axis=None)
            done = False
            for flat in order[:20]:
                g = gain.flat[flat]
                if not (g > 1e-6):
                    break
                a, b = np.unravel_index(flat, gain.shape)
                cand = r[:a] + r[a:b + 1][::-1] + r[b + 1:]
                if not self.windows or p.schedule(k, cand) is not None:
                    self.routes[k] = cand
                    improved_any = done = True
                    break
            if not done:
                return improved_any

    def _saving(self, k: int, idx: int) -> float:
        p, T, r = self.p, self.T[k], self.routes[k]
        v = r[idx]
        prev = p.start_site[k] if idx == 0 else p.visit_site[r[idx - 1]]
        nxt = p.end_site[k] if idx == len(r) - 1 else p.visit_site[r[idx + 1]]
        s = p.visit_site[v]
        return float(T[prev, s] + p.dwell_min[v] + T[s, nxt] - T[prev, nxt])

    def relocate(self) -> bool:
        """Move single visits to the cheapest feasible place (same or another route) while that
        saves minutes: one batched insertion table per route for the moves between routes."""
        p = self.p
        improved = False
        for _ in range(4 * p.n_units + 10):
            where = {v: (k, i) for k, r in enumerate(self.routes) for i, v in enumerate(r)}
            if not where:
                return improved
            saving = {v: self._saving(k, i) for v, (k, i) in where.items()}
            best = (1e-6, None)
            for kk in range(p.n_units):
                cands = np.array([v for v, (k, _) in where.items() if k != kk], dtype=np.int64)
                if not len(cands):
                    continue
                ok, delta = self.table(kk, self.routes[kk], cands)
                d = np.where(ok, delta, np.inf)
                pos = np.argmin(d, axis=0)
                dmin = d[pos, np.arange(len(cands))]
                gain = np.array([saving[int(v)] for v in cands]) - dmin
                j = int(np.argmax(gain))
                if gain[j] > best[0]:
                    best = (float(gain[j]), (int(cands[j]), kk, int(pos[j])))
            if best[1] is None:
                break
            v, kk, pos = best[1]
            k, i = where[v]
            self.routes[k] = self.routes[k][:i] + self.routes[k][i + 1:]
            self.routes[kk] = self.routes[kk][:pos] + [v] + self.routes[kk][pos:]
            improved = True
        for k in range(p.n_units):
            idx = 0
            while idx < len(self.routes[k]):
                r = self.routes[k]
                v = r[idx]
                rest = r[:idx] + r[idx + 1:]
                ok, delta = self.table(k, rest, np.array([v]))
                d = np.where(ok[:, 0], delta[:, 0], np.inf)
                pos = int(np.argmin(d))
                if d[pos] < self._saving(k, idx) - 1e-6 and pos != idx:
                    self.routes[k] = rest[:pos] + [v] + rest[pos:]
                    improved = True
                idx += 1
        return improved

    def replace(self) -> bool:
        """Swap a served visit for a free one of higher risk where the free one fits in its place."""
        p = self.p
        improved = False
        if not self.free:
            return False
        for k in range(p.n_units):
            idx = 0
            while idx < len(self.routes[k]):
                r = self.routes[k]
                v = r[idx]
                if p.required[v]:
                    idx += 1
                    continue
                free = np.fromiter(sorted(self.free), dtype=np.int64)
                better = free[p.risk[free] > p.risk[v] + 1e-9]
                if len(better) == 0:
                    idx += 1
                    continue
                rest = r[:idx] + r[idx + 1:]
                ok, delta = self.table(k, rest, better)
                if ok.any():
                    gain = np.where(ok, p.risk[better][None, :] - delta * 1e-9, -np.inf)
                    pos, j = np.unravel_index(int(np.argmax(gain)), gain.shape)
                    u = int(better[j])
                    self.routes[k] = rest[:pos] + [u] + rest[pos:]
                    self.free.discard(u)
                    self.free.add(v)
                    improved = True
                idx += 1
        return improved

    def improve(self) -> None:
        for _ in range(50):
            before = self.value()
            for k in range(self.p.n_units):
                self.two_opt(k)
            self.relocate()
            self.insert_greedy()
            self.replace()
            self.insert_greedy()
            after = self.value()
            if not (after[0] > before[0] + 1e-9 or (after[0] >= before[0] - 1e-9 and after[1] > before[1] + 1e-6)):
                break

    def perturb(self, strength: float) -> None:
        """Remove a random block of consecutive visits from every route, or (every other call)
        a random share ``strength`` of all visits; required visits stay."""
        self._turn = getattr(self, "_turn", 0) + 1
        if self._turn % 2 == 0:
            for k in range(self.p.n_units):
                r = self.routes[k]
                drop = self.rng.random(len(r)) < strength
                drop &= ~self.p.required[r] if r else drop
                self.routes[k] = [v for v, d in zip(r, drop) if not d]
                self.free.update(v for v, d in zip(r, drop) if d)
            return
        for k in range(self.p.n_units):
            r = self.routes[k]
            if not r:
                continue
            size = max(1, int(self.rng.integers(1, max(2, int(math.ceil(strength * len(r)))) + 1)))
            at = int(self.rng.integers(0, len(r)))
            block = r[at:at + size]
            keep = [v for v in block if self.p.required[v]]
            self.routes[k] = r[:at] + keep + r[at + size:]
            self.free.update(v for v in block if not self.p.required[v])

    def force_insert(self, u: int) -> None:
        """Ruin and recreate: put free visit ``u`` at its cheapest place in the route where that
        costs the least risk, dropping that route's lowest risk-per-minute visits until it is
        feasible again (the local search then refills the room left)."""
        p = self.p
        best = None
        for k in range(p.n_units):
            T, r = self.T[k], self.routes[k]
            sites = [p.start_site[k], *p.visit_site[r], p.end_site[k]]
            s_u = p.visit_site[u]
            d = [T[a, s_u] + p.dwell_min[u] + T[s_u, b] - T[a, b] for a, b in zip(sites[:-1], sites[1:])]
            pos = int(np.argmin(d))
            route = r[:pos] + [u] + r[pos:]
            lost: list[int] = []
            while p.schedule(k, route) is None:
                cands = [i for i, v in enumerate(route) if v != u and not p.required[v]]
                if not cands:
                    route = None
                    break
                worst = min(cands, key=lambda i: p.risk[route[i]] / max(self._saving_in(k, route, i), 1e-3))
                lost.append(route.pop(worst))
            if route is None:
                continue
            cost = float(p.risk[lost].sum()) if lost else 0.0
            if best is None or cost < best[0]:
                best = (cost, k, route, lost)
        if best is None or best[0] >= p.risk[u] * 3:
            return
        _, k, route, lost = best
        self.routes[k] = route
        self.free.discard(u)
        self.free.update(lost)

    def _saving_in(self, k: int, route: list[int], idx: int) -> float:
        p, T = self.p, self.T[k]
        v = route[idx]
        prev = p.start_site[k] if idx == 0 else p.visit_site[route[idx - 1]]
        nxt = p.end_site[k] if idx == len(route) - 1 else p.visit_site[route[idx + 1]]
        s = p.visit_site[v]
        return float(T[prev, s] + p.dwell_min[v] + T[s, nxt] - T[prev, nxt])

    def snapshot(self) -> tuple[list[list[int]], set[int]]:
        return [list(r) for r in self.routes], set(self.free)

    def restore(self, snap) -> None:
        self.routes, self.free = [list(r) for r in snap[0]], set(snap[1])


def solve_heuristic(problem: PatrolProblem, *, rng: np.random.Generator | None = None,
                    variety: float = 0.0, iterations: int = 300, time_limit_s: float = 10.0,
                    patience: int = 40) -> PatrolPlan:
    """Routes by greedy ratio insertion and iterated local search.

    Construction: required visits by cheapest insertion, then the rest by risk / added minutes.
    Local search until no gain: asymmetric 2-opt, relocation (between and within routes),
    insertion, replacement by a higher-risk free visit. Each round perturbs (a random block of
    each route, or a random share of all visits; on instances up to 60 visits also a forced
    insertion of a risk-weighted random free visit that drops the cheapest visits to make room),
    re-inserts with a randomised ratio (risk or risk²), and searches again; after ``patience``
    rounds without gain it goes back to the best plan, and (up to 60 visits) after three times
    that it rebuilds from a randomised construction.

    Parameters
    ----------
    problem : the problem.
    rng : numpy Generator for the perturbations (and the randomised insertion); default
        ``default_rng(0)``, so that the same call gives the same plan.
    variety : 0 gives the best plan found; > 0 (e.g. 0.15) picks each construction step at
        random among candidates within that share of the best ratio (different plans per seed).
    iterations : perturbation rounds of the iterated local search (0: construction and one
        local search only).
    time_limit_s : wall-clock limit of the iterated local search (seconds).
    patience : rounds without improvement after which the search restarts from the best plan.

    Returns
    -------
    PatrolPlan; required visits that could not be placed are listed in ``missing_required``.
    """
    reasons = problem.explain_infeasible()
    if reasons:
        raise PatrolInfeasible("no patrol plan is possible: " + "; ".join(reasons))
    t0 = time.perf_counter()
    rng = rng if rng is not None else np.random.default_rng(0)
    s = _Search(problem, rng, variety)
    req = [int(v) for v in np.flatnonzero(problem.required)]
    if req:
        s.insert_greedy(req, cheapest=True)
    s.insert_greedy(randomised=variety > 0)
    s.improve()
    best, best_val = s.snapshot(), s.value()
    stale = 0
    for it in range(iterations):
        if time.perf_counter() - t0 > time_limit_s or not s.free:
            break
        small = problem.n_visits <= 60  # ruin-and-recreate and restarts pay off when moves are cheap
        if small and rng.random() < 0.5 and s.free:
            free = np.fromiter(sorted(s.free), dtype=np.int64)
            weights = problem.risk[free] + 1e-9
            s.force_insert(int(rng.choice(free, p=weights / weights.sum())))
        else:
            s.perturb(0.3 if stale < patience // 2 else 0.5)
        # Re-insertion after a perturbation draws among near-best candidates (diversification).
        s.variety, keep = max(variety, 0.2), s.variety
        s.power = 2.0 if rng.random() < 0.5 else 1.0  # alternate the ratio (Vansteenwegen: risk²)
        s.insert_greedy(randomised=True)
        s.variety, s.power = keep, 1.0
        s.improve()
        val = s.value()
        if val[0] > best_val[0] + 1e-9 or (val[0] >= best_val[0] - 1e-9 and val[1] > best_val[1] + 1e-6):
            best, best_val, stale = s.snapshot(), val, 0
        else:
            stale += 1
            if small and stale % (3 * patience) == 0:
                # Stuck in one basin: rebuild from scratch with a randomised construction.
                s.routes = [[] for _ in range(problem.n_units)]
                s.free = set(range(problem.n_visits))
                if req:
                    s.insert_greedy(req, cheapest=True)
                s.variety, keep = max(variety, 0.3), s.variety
                s.insert_greedy(randomised=True)
                s.variety = keep
                s.improve()
            elif stale % patience == 0:
                s.restore(best)
    s.restore(best)
    plan = PatrolPlan(problem, tuple(tuple(r) for r in s.routes), method="heuristic",
                      seconds=time.perf_counter() - t0)
    if plan.missing_required:
        log.warning("required hotspot visits %s could not be fitted into the shift",
                    format_ids(problem.visit_hotspot[plan.missing_required]))
    return plan


def solve_nearest_first(problem: PatrolProblem) -> PatrolPlan:
    """The naive baseline: each unit in turn drives to the nearest unvisited hotspot it can still
    serve and return from, until none fits."""
    t0 = time.perf_counter()
    reasons = problem.explain_infeasible()
    if reasons:
        raise PatrolInfeasible("no patrol plan is possible: " + "; ".join(reasons))
    free = set(range(problem.n_visits))
    routes = []
    for k in range(problem.n_units):
        T = problem.travel_min[problem.mode[k]]
        r: list[int] = []
        while free:
            here = problem.visit_site[r[-1]] if r else problem.start_site[k]
            order = sorted(free, key=lambda v: (T[here, problem.visit_site[v]], v))
            for v in order:
                if problem.schedule(k, r + [v]) is not None:
                    r.append(v)
                    free.discard(v)
                    break
            else:
                break
        routes.append(tuple(r))
    return PatrolPlan(problem, tuple(routes), method="nearest_first", seconds=time.perf_counter() - t0)


# --------------------------------------------------------------------------------------------
# Exact yardstick

def solve_mip(problem: PatrolProblem, *, time_limit_s: float = 60.0, mip_gap: float = 0.0) -> PatrolPlan:
    """The exact team orienteering MIP (arc variables per unit, time variables for sub-tour
    elimination and windows), solved with HiGHS. For small instances (about 15 visits, 3 units).

    Returns the best plan found; ``optimal`` says whether HiGHS proved it, ``bound`` is its
    upper bound of the risk.
    """
    import highspy

    reasons = problem.explain_infeasible()
    if reasons:
        raise PatrolInfeasible("no patrol plan is possible: " + "; ".join(reasons))
    t0 = time.perf_counter()
    p = problem
    V, K = p.n_visits, p.n_units
    h = highspy.Highs()
    h.silent()
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", float(mip_gap))
    S, E = -1, -2  # pseudo nodes start and end
    x: dict[tuple[int, int, int], object] = {}
    y: dict[tuple[int, int], object] = {}
    a: dict[tuple[int, int], object] = {}
    for k in range(K):
        T = p.travel_min[p.mode[k]]
        B = p.budget_min[k]
        site = lambda n: p.start_site[k] if n == S else (p.end_site[k] if n == E else p.visit_site[n])
        reach = [max(T[p.start_site[k], p.visit_site[v]], p.open_min[v]) for v in range(V)]
        latest = [min(p.close_min[v], B - p.dwell_min[v] - T[p.visit_site[v], p.end_site[k]])
                  for v in range(V)]
        for v in range(V):
            if reach[v] <= latest[v] + _EPS:
                y[k, v] = h.addBinary(obj=0.0)
                a[k, v] = h.addVariable(lb=float(reach[v]), ub=float(max(latest[v], reach[v])))
        nodes = [v for v in range(V) if (k, v) in y]
        if T[p.start_site[k], p.end_site[k]] <= B + _EPS:
            x[k, S, E] = h.addBinary()
        for j in nodes:
            x[k, S, j] = h.addBinary()
            x[k, j, E] = h.addBinary()
            for i in nodes:
                if i != j and reach[i] + p.dwell_min[i] + T[site(i), site(j)] <= p.close_min[j] + _EPS and \
                        reach[i] + p.dwell_min[i] + T[site(i), site(j)] + p.dwell_min[j] + \
                        T[site(j), p.end_site[k]] <= B + _EPS:
                    x[k, i, j] = h.addBinary()
        # The route's duration fits the budget (a knapsack cut the time variables alone lack).
        h.addConstr(sum(var * float(T[site(i), site(j)] + (p.dwell_min[j] if j >= 0 else 0.0))
                        for (kk, i, j), var in x.items() if kk == k) <= B)
        out_s = [x[key] for key in x if key[0] == k and key[1] == S]
        in_e = [x[key] for key in x if key[0] == k and key[2] == E]
        h.addConstr(sum(out_s) == 1)
        h.addConstr(sum(in_e) == 1)
        for v in nodes:
            h.addConstr(sum(x[key] for key in x if key[0] == k and key[1] == v) - y[k, v] == 0)
            h.addConstr(sum(x[key] for key in x if key[0] == k and key[2] == v) - y[k, v] == 0)
        for (kk, i, j), var in list(x.items()):
            if kk != k or i in (S,) or j in (E,):
                continue
            Tij = T[p.visit_site[i], p.visit_site[j]]
            # a_j >= a_i + dwell_i + T_ij when i -> j; big-M as small as the bounds allow.
            Mij = max(0.0, float(latest[i]) + p.dwell_min[i] + Tij - float(reach[j]))
            h.addConstr(a[k, i] + p.dwell_min[i] + Tij - a[k, j] - Mij * (1 - var) <= 0)
    identical = (len({(int(p.mode[k]), int(p.start_site[k]), int(p.end_site[k]), float(p.budget_min[k]))
                      for k in range(K)}) == 1)
    if identical:
        # Identical units: order routes by their lowest visit index (removes K! symmetric copies).
        for k in range(1, K):
            for v in range(V):
                if (k, v) in y:
                    h.addConstr(y[k, v] - sum(y[k - 1, u] for u in range(v) if (k - 1, u) in y) <= 0)
    for v in range(V):
        ys = [y[k, v] for k in range(K) if (k, v) in y]
        if not ys:
            continue
        if p.required[v]:
            h.addConstr(sum(ys) == 1)
        else:
            h.addConstr(sum(ys) <= 1)
    obj = sum(float(p.risk[v]) * var for (k, v), var in y.items())
    h.maximize(obj)
    status = h.modelStatusToString(h.getModelStatus())
    if h.getInfo().primal_solution_status < 2:
        raise PatrolInfeasible(f"the exact model found no plan ({status}); required hotspots may "
                               "not fit in the shift together")
    routes = []
    for k in range(K):
        succ = {i: j for (kk, i, j), var in x.items() if kk == k and h.val(var) > 0.5}
        r, cur = [], succ.get(S, E)
        while cur != E and len(r) <= V:
            r.append(int(cur))
            cur = succ[cur]
        routes.append(tuple(r))
    info = h.getInfo()
    return PatrolPlan(p, tuple(routes), method="mip", seconds=time.perf_counter() - t0,
                      bound=float(info.mip_dual_bound), optimal=status == "Optimal")


# --------------------------------------------------------------------------------------------
# The geo adapter

def leg_paths(engine, pairs: Sequence[tuple[object, object]]) -> list[list[object]]:
    """Node sequence of the shortest path for each (from node, to node) pair, on the engine's
    matrix (one Dijkstra with predecessors per distinct origin). Uses ``geo.traveltime``'s CSR."""
    if not pairs:
        return []
    origins = sorted({a for a, _ in pairs}, key=str)
    rows = engine.rows(origins, what="route nodes")
    _, pred = dijkstra(engine.matrix, directed=True, indices=rows, return_predecessors=True)
    pred = np.atleast_2d(pred)
    where = {o: i for i, o in enumerate(origins)}
    out = []
    for a, b in pairs:
        if a == b:
            out.append([a])
            continue
        pr = pred[where[a]]
        j = engine.index[b]
        seq = [j]
        while seq[-1] != engine.index[a]:
            nxt = pr[seq[-1]]
            if nxt < 0:
                raise PatrolInfeasible(f"node {b} cannot be reached from node {a} on the network")
            seq.append(nxt)
        out.append([engine.nodes[i] for i in seq[::-1]])
    return out


def _path_line(G: nx.MultiDiGraph, path: list[object], weight: str) -> list[tuple[float, float]]:
    coords: list[tuple[float, float]] = []
    if len(path) == 1:
        n = path[0]
        return [(G.nodes[n]["x"], G.nodes[n]["y"])] * 2
    for u, v in zip(path[:-1], path[1:]):
        data = G.get_edge_data(u, v)
        d = min(data.values(), key=lambda e: e.get(weight, np.inf))
        geom = d.get("geometry")
        pts = list(geom.coords) if geom is not None else [(G.nodes[u]["x"], G.nodes[u]["y"]),
                                                          (G.nodes[v]["x"], G.nodes[v]["y"])]
        coords.extend(pts if not coords else pts[1:])
    return coords


@dataclass(frozen=True, eq=False)
class PatrolRoutes:
    """A plan placed on the network.

    Attributes
    ----------
    plan : the solved ``PatrolPlan``.
    lines : one row per unit: ``unit`` (1-based), ``minutes`` (used), ``idle_min``, ``risk``,
        ``stops`` (count), ``length_m`` and the route LineString (graph CRS).
    stops : one row per served visit: ``unit``, ``order`` (1-based), ``hotspot`` (id),
        ``arrive`` / ``depart`` (clock HH:MM), ``arrive_min`` (from shift start), ``risk``,
        ``node`` and the hotspot's point.
    legs : per unit, the node path of each leg (start -> stop 1 -> … -> end).
    shift : the shift; ``reference_risk`` the deterministic plan's risk when the plan is
        randomised (its loss is ``risk_loss_share``).
    """

    plan: PatrolPlan
    lines: gpd.GeoDataFrame
    stops: gpd.GeoDataFrame
    legs: tuple
    shift: Shift | None = None
    reference_risk: float | None = None
    notes: tuple[str, ...] = ()

    @property
    def risk_loss_share(self) -> float | None:
        if self.reference_risk is None or self.reference_risk <= 0:
            return None
        return max(0.0, 1.0 - self.plan.risk_covered / self.reference_risk)

    def timetable(self) -> pd.DataFrame:
        """The timetable: one row per stop, with the departure from and return to the start."""
        return pd.DataFrame(self.stops.drop(columns=self.stops.geometry.name))

    def summary(self) -> dict:
        """The JSON of ``gridpatrol patrol``: routes [{unit, minutes, stops, risk}], shares."""
        return {
            "routes": [{"unit": int(r.unit), "minutes": round(float(r.minutes), 1),
                        "stops": [str(h) for h in self.stops.loc[self.stops["unit"] == r.unit, "hotspot"]],
                        "risk": round(float(r.risk), 3), "idle_min": round(float(r.idle_min), 1)}
                       for r in self.lines.itertuples()],
            "risk_covered": round(self.plan.risk_covered, 3),
            "risk_covered_share": round(self.plan.risk_covered_share, 4),
            "shift_minutes": float(self.plan.problem.budget_min.max()),
            "risk_loss_vs_best": None if self.risk_loss_share is None else round(self.risk_loss_share, 4),
        }


def _clock(shift: Shift | None, minutes: float) -> str:
    base = shift.start_min if shift is not None else 0
    m = int(round(base + minutes)) % 1440
    return f"{m // 60:02d}:{m % 60:02d}"


def plan_routes(G: nx.MultiDiGraph, hotspots: gpd.GeoDataFrame, start: object, *, units: int = 2,
                shift: Shift | str | float = 480.0, dwell_min: float = 10.0,
                speeds_kmh: Sequence[float | None] | None = None, risk_col: str = "risk",
                id_col: str | None = None, end: object | None = None,
                required: Sequence[object] = (), revisit_min: dict | None = None,
                rng: np.random.Generator | None = None, variety: float = 0.0,
                compare_with_best: bool = True, time_limit_s: float = 10.0,
                iterations: int = 300, max_snap_m: float = 1000.0, engine=None,
                length_engine=None) -> PatrolRoutes:
    """Patrol routes for one station and one shift on the road network.

    Parameters
    ----------
    G : road graph from ``geo.network`` (projected CRS, ``travel_s`` on edges).
    hotspots : points or polygons (their centroids are used) in any CRS, with ``risk_col``.
    start : where units start: a node id of ``G`` or a shapely Point in the graph's CRS (a
        point farther than ``max_snap_m`` metres from every node is an error).
    units : number of patrol units (>= 1).
    shift : ``"HH:MM-HH:MM"``, a ``Shift``, or its length in minutes.
    dwell_min : minutes spent at each hotspot.
    speeds_kmh : per unit, ``None`` (drive at the network's road speeds) or a speed in km/h
        over shortest distances (foot patrol: 5, bicycle: 15). Default: all drive.
    id_col : hotspot id column (default: the index).
    end : where units end (default: ``start``).
    required : hotspot ids that must be visited; ``revisit_min`` {hotspot id: minutes}.
    rng, variety : randomisation (see ``solve_heuristic``); with ``variety > 0`` and
        ``compare_with_best`` the deterministic plan is solved too and the loss reported.
    engine, length_engine : prebuilt ``geo.traveltime`` engines of ``G`` (time and metres) to
        reuse across calls.

    Raises
    ------
    InputError for bad arguments (zero units, a start not on the network…), PatrolInfeasible
    when arithmetic shows that no plan exists (a shift shorter than any round trip).
    """
    from geo.network import snap_points
    from geo.traveltime import engine_from_graph, minutes_matrix

    if not isinstance(units, (int, np.integer)) or units < 1:
        raise InputError(f"`units` was {units!r}; give at least one patrol unit (a whole number >= 1)")
    if isinstance(shift, str):
        shift = shift_from_text(shift)
    shift_len = float(shift.minutes if isinstance(shift, Shift) else shift)
    if not shift_len > 0:
        raise InputError(f"the shift was {shift!r}; give a shift longer than 0 minutes")
    if risk_col not in hotspots.columns:
        raise InputError(f"the hotspots have no {risk_col!r} column; columns are "
                         f"{[c for c in hotspots.columns if c != 'geometry']}")
    if len(hotspots) == 0:
        raise PatrolInfeasible("there are no hotspots to visit in this shift; choose another shift "
                               "or check the incidents layer")
    speeds = list(speeds_kmh) if speeds_kmh is not None else [None] * units
    if len(speeds) != units:
        raise InputError(f"speeds_kmh has {len(speeds)} values for {units} units; give one per unit")
    for s in speeds:
        if s is not None and not s > 0:
            raise InputError(f"unit speed was {s!r}; give km/h > 0 (foot patrol 5) or None to drive")

    def node_of(where: object, what: str) -> object:
        if isinstance(where, shapely.Point):
            snapped = snap_points(gpd.GeoDataFrame(geometry=[where], crs=G.graph["crs"]), G,
                                  warn_m=max_snap_m, what=what)
            d = float(snapped["distance_m"].iloc[0])
            if d > max_snap_m:
                raise InputError(f"the {what} lies {d:.0f} m from the nearest road node, farther "
                                 f"than {max_snap_m:.0f} m; it is not on the network: move it onto a "
                                 "road or give a network that reaches it")
            return snapped["node"].iloc[0]
        node = id_str(where)
        if node not in G:
            raise InputError(f"the {what} node {where!r} is not on the network (or not in its "
                             "largest strongly connected component); give a node id of the network "
                             "or a point on it")
        return node

    start_node = node_of(start, "station")
    end_node = start_node if end is None else node_of(end, "end point")
    ids = (normalise_ids(hotspots[id_col]) if id_col is not None
           else pd.Series([str(i) for i in hotspots.index], index=hotspots.index))
    snapped = snap_points(hotspots, G, warn_m=max_snap_m, what="hotspots")
    far = snapped["distance_m"].to_numpy() > max_snap_m
    notes = []
    if far.any():
        notes.append(f"{int(far.sum())} hotspots lie farther than {max_snap_m:.0f} m from a road "
                     f"and were left out: {format_ids(ids[far])}")
        log.warning(notes[-1])
    keep = ~far
    hs = hotspots.loc[keep]
    hs_ids = ids[keep].to_numpy()
    hs_nodes = snapped["node"].to_numpy()[keep]
    risk = pd.to_numeric(hs[risk_col], errors="coerce").fillna(0.0).to_numpy()
    sites = list(dict.fromkeys([*hs_nodes, start_node, end_node]))
    site_of = {n: i for i, n in enumerate(sites)}
    engine = engine if engine is not None else engine_from_graph(G)
    modes = sorted({s for s in speeds if s is not None})
    mats = [minutes_matrix(engine, sites, sites)]
    if modes:
        length_engine = length_engine if length_engine is not None else engine_from_graph(G, weight="length_m")
        metres = minutes_matrix(length_engine, sites, sites) * 60.0
        mats += [metres / (s * 1000.0 / 60.0) for s in modes]
    unit_mode = [0 if s is None else 1 + modes.index(s) for s in speeds]
    req_ids = {id_str(r) for r in required}
    unknown = req_ids - set(hs_ids)
    if unknown:
        raise InputError(f"required hotspots {format_ids(sorted(unknown))} are not among the "
                         "hotspots; give ids from the hotspot layer")
    rev = np.full(len(hs_ids), np.nan)
    for hid, r in (revisit_min or {}).items():
        match = np.flatnonzero(hs_ids == id_str(hid))
        if not len(match):
            raise InputError(f"revisit_min names hotspot {hid!r}, which is not among the hotspots")
        rev[match] = float(r)
    problem = PatrolProblem.from_matrix(
        np.stack(mats), risk, starts=[site_of[start_node]] * units, ends=[site_of[end_node]] * units,
        budget_min=shift_len, dwell_min=dwell_min, unit_mode=unit_mode,
        required=np.isin(hs_ids, list(req_ids)), revisit_min=rev,
        hotspot_site=[site_of[n] for n in hs_nodes])
    reasons = problem.explain_infeasible()
    if reasons:
        raise PatrolInfeasible("no patrol plan is possible: " + "; ".join(reasons))
    plan = solve_heuristic(problem, rng=rng, variety=variety, time_limit_s=time_limit_s,
                           iterations=iterations)
    reference = None
    if variety > 0 and compare_with_best:
        reference = solve_heuristic(problem, rng=np.random.default_rng(0), variety=0.0,
                                    time_limit_s=time_limit_s, iterations=iterations).risk_covered
        reference = max(reference, plan.risk_covered)
    if plan.missing_required:
        notes.append("required hotspots not served: "
                     f"{format_ids(hs_ids[problem.visit_hotspot[plan.missing_required]])}")
    return _place(G, plan, engine, length_engine, speeds, modes, sites, start_node, end_node,
                  hs, hs_ids, shift if isinstance(shift, Shift) else None, reference, tuple(notes))


def _place(G, plan, engine, length_engine, speeds, modes, sites, start_node, end_node, hs, hs_ids,
           shift, reference, notes) -> PatrolRoutes:
    p = plan.problem
    crs = G.graph["crs"]
    centroids = hs.geometry.to_crs(crs).centroid.to_numpy() if hs.crs is not None else hs.geometry.centroid.to_numpy()
    line_rows, line_geoms, stop_rows, stop_geoms, legs = [], [], [], [], []
    starts = plan.starts
    used = plan.minutes_used
    idle = plan.idle_min
    for k, route in enumerate(plan.routes):
        seq = [start_node, *[sites[p.visit_site[v]] for v in route], end_node]
        eng, weight = (engine, "travel_s") if speeds[k] is None else (length_engine, "length_m")
        paths = leg_paths(eng, list(zip(seq[:-1], seq[1:])))
        legs.append(tuple(tuple(x) for x in paths))
        coords: list = []
        for path in paths:
            c = _path_line(G, path, weight)
            coords.extend(c if not coords else c[1:])
        geom = shapely.LineString(coords if len(coords) > 1 else coords * 2)
        line_rows.append({"unit": k + 1, "minutes": float(used[k]), "idle_min": float(idle[k]),
                          "risk": float(p.risk[list(route)].sum()) if route else 0.0,
                          "stops": len(route), "length_m": float(geom.length)})
        line_geoms.append(geom)
        for order, (v, st) in enumerate(zip(route, starts[k]), start=1):
            h = int(p.visit_hotspot[v])
            stop_rows.append({"unit": k + 1, "order": order, "hotspot": hs_ids[h],
                              "arrive": _clock(shift, st), "depart": _clock(shift, st + p.dwell_min[v]),
                              "arrive_min": round(float(st), 2), "risk": float(p.risk[v]),
                              "node": sites[p.visit_site[v]]})
            stop_geoms.append(centroids[h])
    lines = gpd.GeoDataFrame(pd.DataFrame(line_rows, columns=["unit", "minutes", "idle_min", "risk",
                                                              "stops", "length_m"]),
                             geometry=line_geoms, crs=crs)
    stops = gpd.GeoDataFrame(pd.DataFrame(stop_rows, columns=["unit", "order", "hotspot", "arrive",
                                                              "depart", "arrive_min", "risk", "node"]),
                             geometry=stop_geoms, crs=crs)
    return PatrolRoutes(plan=plan, lines=lines, stops=stops, legs=tuple(legs), shift=shift,
                        reference_risk=reference, notes=notes)


# --------------------------------------------------------------------------------------------
# Export

def routes_to_geojson(routes: PatrolRoutes) -> dict:
    """A GeoJSON FeatureCollection (EPSG:4326) of the route lines and the numbered stops."""
    import json
    lines = routes.lines.to_crs("EPSG:4326").assign(kind="route")
    stops = routes.stops.to_crs("EPSG:4326").assign(kind="stop")
    out = json.loads(lines.to_json(drop_id=True))
    out["features"] += json.loads(stops.to_json(drop_id=True))["features"]
    return out


def routes_to_gpx(routes: PatrolRoutes) -> str:
    """GPX 1.1 text: one track per unit, one waypoint per stop (named ``unit-order hotspot``)."""
    from xml.sax.saxutils import escape
    lines = routes.lines.to_crs("EPSG:4326")
    stops = routes.stops.to_crs("EPSG:4326")
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<gpx version="1.1" creator="GridPatrol" xmlns="http://www.topografix.com/GPX/1/1">']
    for s in stops.itertuples():
        out.append(f'  <wpt lat="{s.geometry.y:.7f}" lon="{s.geometry.x:.7f}"><name>'
                   f'{escape(f"{s.unit}-{s.order} {s.hotspot}")}</name><desc>{escape(f"arrive {s.arrive}, depart {s.depart}")}'
                   '</desc></wpt>')
    for r in lines.itertuples():
        out.append(f"  <trk><name>unit {r.unit}</name><trkseg>")
        out += [f'    <trkpt lat="{y:.7f}" lon="{x:.7f}"/>' for x, y in r.geometry.coords]
        out.append("  </trkseg></trk>")
    out.append("</gpx>")
    return "\n".join(out) + "\n"


def write_routes(routes: PatrolRoutes, path: str | Path) -> Path:
    """Write routes and stops as GeoJSON (``.geojson``/``.json``) or GPX (``.gpx``), atomically."""
    import json
    from geo.atomic import write_text_atomic
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".geojson", ".json", ".gpx"):
        raise InputError(f"`path` was {str(path)!r} but routes are written as GeoJSON or GPX; give "
                         "a path ending in .geojson or .gpx")
    text = routes_to_gpx(routes) if suffix == ".gpx" else json.dumps(routes_to_geojson(routes),
                                                                      ensure_ascii=False)
    return write_text_atomic(path, text)


# --------------------------------------------------------------------------------------------
# A workspace in, routes out (the command line and the app call this)

def shift_hotspots(cells: gpd.GeoDataFrame, incidents: gpd.GeoDataFrame, *, shift: Shift | str,
                   station_id: object | None = None, max_hotspots: int = 200,
                   half_life_days: float | None = 90.0, permutations: int = 199,
                   rng: np.random.Generator | None = None) -> gpd.GeoDataFrame:
    """The cells to patrol in a shift: risk > 0, the ``max_hotspots`` riskiest, with Gi* flags.

    ``cells`` of the station ``station_id`` only (column ``station_id``) when given. Returns a
    copy of those cells with ``risk``, ``weighted``, ``n_incidents``, ``gi_z``, ``p_fwer`` and
    ``hotspot`` (significant Gi*, see ``geo.hotspots``), sorted by ``risk`` descending.
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
    risk = cell_risk(cells, incidents, shift=shift, half_life_days=half_life_days)
    if len(risk) >= 3:
        risk = hotspots_from_cells(risk, permutations=permutations, rng=rng)
    else:
        risk = risk.assign(gi_z=0.0, p_fwer=1.0, hotspot=False)
    risk = risk[mine]
    hot = risk[risk["risk"] > 0].sort_values("risk", ascending=False, kind="stable")
    return hot.head(int(max_hotspots))


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
    from geo.network import graph_from_workspace

    if not isinstance(units, (int, np.integer)) or units < 1:
        raise InputError(f"`units` was {units!r}; give at least one patrol unit (a whole number >= 1)")
    sh = shift_from_text(shift) if isinstance(shift, str) else shift
    if not (dwell_min >= 0):
        raise InputError(f"`dwell_min` was {dwell_min!r}; give minutes >= 0")
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
    node_col = hit["node_id"].iloc[0] if "node_id" in hit.columns else None
    if node_col is not None and id_str(node_col) in G:
        start = id_str(node_col)
    else:
        start = hit.geometry.iloc[0]
        if start is None or start.is_empty:
            raise InputError(f"station {station!r} has no location; give it a point or a node_id")
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
