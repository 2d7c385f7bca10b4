"""The patrol heuristics: greedy ratio insertion + iterated local search, and the naive nearest-first baseline."""
from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence

import numpy as np

from geo.errors import format_ids
from planning.patrol.problem import _EPS, PatrolInfeasible, PatrolPlan, PatrolProblem

log = logging.getLogger(__name__)


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
            feasible = True
            while p.schedule(k, route) is None:
                cands = [i for i, v in enumerate(route) if v != u and not p.required[v]]
                if not cands:
                    feasible = False
                    break
                worst = min(cands, key=lambda i: p.risk[route[i]] / max(self._saving_in(k, route, i), 1e-3))
                lost.append(route.pop(worst))
            if not feasible:
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
