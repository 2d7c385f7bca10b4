"""Least change: reach the workload target while moving as little as possible from today's plan.

A planner adjusting jurisdictions wants every station within ``max_deviation`` of the mean
workload and, among such plans, the one that moves the least: least workload, then fewest
people, then fewest units (``order``). The balance is not polished beyond the target.

Method (all moves keep every district contiguous and holding its station; locked cells and
locked stations neither gain nor lose units):

1. **Route** the excess: a transport LP (HiGHS through ``scipy.optimize.linprog``) on the
   district adjacency graph moves workload from stations above ``(1 + t)·mean`` towards those
   below ``(1 - t)·mean``; stations inside the band may pass workload on or absorb it up to
   their band edge; total transfer is minimised.
2. **Realise** each transfer a -> b by moving boundary units of a that touch b (never a
   station's own unit, never a cut vertex of a, never a locked unit), growing from the shared
   border and ending with the unit that meets the transfer with the least overshoot.
3. **Repair** any district still outside the band by the cheapest single moves.
4. **Shrink** what moved: units go back to their baseline station, alone or with one
   compensating move of a cheaper unit (which replaces a big moved unit by a smaller one),
   while every district stays within the band; then a short annealing of single moves and
   reverts over the moved units' neighbourhood, keeping the best plan within the band.

``moved_bound`` is a lower bound no plan can beat: moving a unit of workload w lowers the
total excess above the band, or the total deficit below it, by at most w, so at least
max(excess, deficit) must move.
"""
from __future__ import annotations

import logging
import math
import random as _random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from geo.errors import InputError, format_ids
from planning.constraints import locked_positions, raise_if_infeasible
from planning.plan import DistrictGraph, Plan, _fill_unassigned, connected_within
from planning.redistrict import ScoreWeights, _Search

__all__ = ["LeastChangeResult", "least_change", "moved_bound", "moved_column_bound"]

log = logging.getLogger(__name__)

_TIE = 1e-3  # each later criterion of ``order`` weighs this much of the one before
_T0, _T1 = 1.0, 0.02  # annealing temperatures, in medians of a unit's cost
_PATIENCE = 16  # annealing rounds without improvement before stopping
_REHEAT = 1.3  # each round without improvement starts this much hotter


@dataclass(frozen=True)
class LeastChangeResult:
    """What ``least_change`` returned.

    Attributes
    ----------
    plan : the plan (contiguous, every station in its district).
    baseline : the plan changes are counted against.
    max_deviation : the target (fraction of the mean workload).
    target_met : every district within the target.
    moved_workload : share of the total workload in units whose station changed.
    moved_bound : the lower bound on ``moved_workload`` (share; see ``moved_bound``).
    excess, deficit : total workload above the band / below it in ``baseline`` (shares).
    bound_binds : ``"excess"`` or ``"deficit"``, whichever is larger.
    moved_ratio : ``moved_workload / moved_bound`` (None when the bound is 0).
    moved : totals moved per cell column (weight columns and ``population`` when present).
    moved_people, moved_people_bound : people moved and the lower bound on them, when
        ``population`` is one of the weight columns (else None).
    units_moved : number of units whose station changed.
    seconds : wall time.
    phases : moved workload share after each phase (route, repair, shrink, polish).
    """

    plan: Plan
    baseline: Plan
    max_deviation: float
    target_met: bool
    moved_workload: float
    moved_bound: float
    excess: float
    deficit: float
    bound_binds: str
    moved_ratio: float | None
    moved: dict
    moved_people: float | None
    moved_people_bound: float | None
    units_moved: int
    seconds: float
    phases: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """JSON-ready figures."""
        out = {
            "max_deviation_target": self.max_deviation,
            "max_workload_deviation": round(self.plan.max_deviation, 6),
            "target_met": self.target_met,
            "moved_workload": round(self.moved_workload, 6),
            "moved_bound": round(self.moved_bound, 6),
            "moved_ratio": None if self.moved_ratio is None else round(self.moved_ratio, 4),
            "moved_excess": round(self.excess, 6),
            "moved_deficit": round(self.deficit, 6),
            "moved_bound_binds": self.bound_binds,
            "units_moved": self.units_moved,
            "moved": {k: round(v, 3) for k, v in self.moved.items()},
        }
        if self.moved_people is not None and self.moved_people_bound is not None:  # set together
            out["moved_people"] = round(self.moved_people, 1)
            out["moved_people_bound"] = round(self.moved_people_bound, 1)
            out["moved_people_ratio"] = (round(self.moved_people / self.moved_people_bound, 4)
                                         if self.moved_people_bound else None)
        return out


def moved_bound(plan: Plan, max_deviation: float) -> dict:
    """The lower bound on the workload any plan meeting ``max_deviation`` must move from ``plan``.

    Returns {``excess``, ``deficit``, ``bound``, ``binds``}: the total workload above
    ``(1 + t)·mean`` over stations, the total below ``(1 - t)·mean``, their maximum, and which
    one it is, all as shares of the total workload. Valid because moving a unit of workload w
    lowers either sum by at most w.
    """
    g = plan.graph
    total = float(g.workload.sum()) or 1.0
    load = plan.workload.to_numpy()
    m = g.mean_workload
    excess = float(np.clip(load - (1 + max_deviation) * m, 0, None).sum()) / total
    deficit = float(np.clip((1 - max_deviation) * m - load, 0, None).sum()) / total
    return {"excess": excess, "deficit": deficit, "bound": max(excess, deficit),
            "binds": "excess" if excess >= deficit else "deficit"}


def _knapsack_min(values: np.ndarray, weights: np.ndarray, need: float) -> float:
    """Least total ``values`` of a fractional selection whose ``weights`` sum to ``need``."""
    if need <= 0:
        return 0.0
    ok = weights > 0
    v, w = values[ok], weights[ok]
    order = np.argsort(v / w, kind="stable")
    got = 0.0
    cost = 0.0
    for i in order:
        take = min(1.0, (need - got) / w[i])
        cost += take * v[i]
        got += take * w[i]
        if got >= need - 1e-15:
            return cost
    return cost


def moved_column_bound(plan: Plan, max_deviation: float, column: str) -> float:
    """A lower bound on the total of ``column`` (e.g. people) over the units any plan meeting
    ``max_deviation`` must move from ``plan``.

    Each overloaded station must give away units carrying at least its excess workload; the
    fewest ``column`` that can carry it is a fractional knapsack over its own movable units
    (those with the best workload per ``column`` first). Likewise each underloaded station must
    receive its deficit from units of other stations. The bound is the larger of the two sums.
    """
    g = plan.graph
    col = g.column(column)
    movable = np.ones(g.n_cells, dtype=bool)
    movable[g.station_cell] = False
    m = g.mean_workload
    hi, lo = (1 + max_deviation) * m, (1 - max_deviation) * m
    load = plan.workload.to_numpy()
    out_sum = in_sum = 0.0
    for s in range(g.n_stations):
        if load[s] > hi:
            mask = movable & (plan.assignment == s)
            out_sum += _knapsack_min(col[mask], g.workload[mask], load[s] - hi)
        elif load[s] < lo:
            mask = movable & (plan.assignment != s)
            in_sum += _knapsack_min(col[mask], g.workload[mask], lo - load[s])
    return max(out_sum, in_sum)


def _cost_vector(g: DistrictGraph, order: Sequence[str]) -> np.ndarray:
    """Per-unit cost of moving it: the ``order`` criteria as shares of their totals, each later
    one weighted ``_TIE`` times the one before (near-lexicographic)."""
    known = {"workload", "units"} | {c for c in g.cells.columns if c != g.cells.geometry.name}
    bad = [o for o in order if o not in known]
    if not order or bad:
        raise InputError(f"`order` was {list(order)!r} but each item must be workload, units or "
                         f"a numeric unit column such as population; {bad or 'none given'}")
    cost = np.zeros(g.n_cells)
    scale = 1.0
    for name in order:
        if name == "workload":
            v = g.workload.astype(float)
        elif name == "units":
            v = np.ones(g.n_cells)
        else:
            v = g.column(name)
        total = float(v.sum())
        if total > 0:
            cost += scale * v / total
        scale *= _TIE
    return cost


class _State:
    """Least-change search state on top of ``redistrict._Search`` (loads, members, boundary,
    articulation points, contiguity-safe moves)."""

    def __init__(self, plan: Plan, baseline: Plan, *, locked: np.ndarray,
                 allowed: np.ndarray | None, closed: set[int], cost: np.ndarray, t: float):
        g = plan.graph
        zero = ScoreWeights(balance=0.0, rms=0.0, over_target=0.0, compactness=0.0,
                            perimeter=0.0, change=0.0, townships=0.0)
        self.s = _Search(plan, locked=locked, allowed=allowed, baseline=None, weights=zero,
                         target=None)
        self.g = g
        self.base = baseline.assignment.tolist()
        self.cost = cost.tolist()
        self.closed = closed
        m = g.mean_workload
        self.hi, self.lo = (1 + t) * m, (1 - t) * m
        self.eps = 1e-12 * max(1.0, m)
        self.total = float(g.workload.sum()) or 1.0

    # -- figures ---------------------------------------------------------------------------
    def moved_cost(self) -> float:
        a, b, c = self.s.assign, self.base, self.cost
        return sum(c[i] for i in range(len(a)) if a[i] != b[i])

    def violation_of(self, x: float) -> float:
        if x > self.hi + self.eps:
            return x - self.hi
        if x < self.lo - self.eps:
            return self.lo - x
        return 0.0

    def violation(self) -> float:
        return sum(self.violation_of(x) for x in self.s.load)

    def feasible(self) -> bool:
        return self.violation() <= 0.0

    def move_cost(self, c: int, a: int, b: int) -> float:
        """Change of the moved cost when unit c goes from a to b."""
        base = self.base[c]
        return self.cost[c] * ((b != base) - (a != base))

    def movable(self, c: int, a: int, b: int) -> bool:
        s = self.s
        return (a not in self.closed and b not in self.closed and s.can_join(c, b)
                and s.can_leave(c, a))

    def targets(self, c: int) -> set[int]:
        a = self.s.assign
        return {a[n] for n in self.s.nbrs[c] if a[n] != a[c]}

    def apply(self, c: int, b: int) -> None:
        self.s.apply(c, b)


def _repaired_towards_band(plan: Plan, *, closed: set[int]) -> Plan:
    """A contiguous copy of ``plan`` holding every station: each piece of a district cut off
    from its station (e.g. across a river without a bridge) joins the neighbouring district
    with the least workload so far (not a locked station's, where there is a choice), heaviest
    piece first; pieces no district touches follow ``repaired_plan``'s rule."""
    g = plan.graph
    arr = plan.assignment.copy()
    arr[g.station_cell] = np.arange(g.n_stations)
    pieces: list[list[int]] = []
    for s in range(g.n_stations):
        comps = connected_within(np.flatnonzero(arr == s).tolist(), g.neighbours,
                                 start=int(g.station_cell[s]))
        for comp in comps[1:]:
            arr[list(comp)] = -1
            pieces.append(sorted(comp))
    if not pieces:
        return plan
    load = np.bincount(arr[arr >= 0], weights=g.workload[arr >= 0], minlength=g.n_stations)
    pieces.sort(key=lambda p: -float(g.workload[p].sum()))
    moved = [c for p in pieces for c in p]
    progress = True
    while pieces and progress:
        progress = False
        for piece in list(pieces):
            near = {int(arr[n]) for c in piece for n in g.neighbours[c] if arr[n] >= 0}
            if not near:
                continue
            open_ = [d for d in near if d not in closed] or sorted(near)
            d = min(open_, key=lambda x: (load[x], x))
            arr[piece] = d
            load[d] += float(g.workload[piece].sum())
            pieces.remove(piece)
            progress = True
    if pieces:
        arr = _fill_unassigned(g, arr)
    log.warning("%d units in pieces cut off from their station joined a neighbouring "
                "district: %s", len(moved), format_ids(g.cell_ids[moved]))
    return Plan(g, arr, name=plan.name)


def _routing(st: _State) -> dict[tuple[int, int], float]:
    """Step 1: the least total transfer between adjacent districts bringing every one into the
    band (LP); {(a, b): workload}. Empty when nothing is out of band or the LP fails."""
    from scipy.optimize import linprog

    s, k = st.s, st.s.k
    load = s.load
    if all(st.violation_of(x) == 0 for x in load):
        return {}
    arcs = set()
    for c in range(s.n):
        a = s.assign[c]
        for n in s.nbrs[c]:
            b = s.assign[n]
            if b != a and a not in st.closed and b not in st.closed:
                arcs.add((a, b))
    arcs = sorted(arcs)
    if not arcs:
        return {}
    A = np.zeros((k, len(arcs)))
    for j, (a, b) in enumerate(arcs):
        A[a, j] -= 1.0
        A[b, j] += 1.0
    L = np.asarray(load)
    # lo <= L + A f <= hi
    A_ub = np.vstack([A, -A])
    b_ub = np.concatenate([st.hi - L, L - st.lo])
    # a district cannot give away more than its movable workload
    res = linprog(np.ones(len(arcs)), A_ub=A_ub, b_ub=b_ub, bounds=(0, None), method="highs")
    if res.status != 0:
        log.debug("least-change routing LP: %s", res.message)
        return {}
    return {arc: float(f) for arc, f in zip(arcs, res.x) if f > 1e-12 * st.total}


def _realise(st: _State, flows: dict[tuple[int, int], float]) -> None:
    """Step 2: move boundary units a -> b carrying each routed transfer."""
    s = st.s
    w = s.work
    # sources first: a transfer out of a district that itself receives waits for its inflow
    inflow: dict[int, float] = {}
    for (a, b), f in flows.items():
        inflow[b] = inflow.get(b, 0.0) + f
    order = sorted(flows.items(), key=lambda kv: (inflow.get(kv[0][0], 0.0) > 0, -kv[1]))
    for (a, b), need in order:
        remaining = need
        while remaining > st.eps:
            cand = [c for c in s.boundary[a].items
                    if any(s.assign[n] == b for n in s.nbrs[c]) and st.movable(c, a, b)]
            if not cand:
                break
            # Units going back to b (their baseline) first; then finish with the smallest unit
            # that covers what remains, else grow along the border (most neighbours in b).
            back = [c for c in cand if st.base[c] == b]
            if back:
                c = max(back, key=lambda x: w[x])
                if w[c] > remaining:
                    fit = [x for x in back if w[x] >= remaining]
                    c = min(fit, key=lambda x: w[x])
            else:
                cover = [c for c in cand if w[c] >= remaining]
                if cover:
                    c = min(cover, key=lambda x: (st.cost[x], w[x]))
                else:
                    c = max(cand, key=lambda x: (sum(s.assign[n] == b for n in s.nbrs[x]),
                                                 w[x] / (st.cost[x] + 1e-300)))
            st.apply(c, b)
            remaining -= w[c]


def _best_single(st: _State, cells, lam: float) -> tuple[float, int, int] | None:
    """The single move among ``cells`` that most lowers cost + lam * violation."""
    s = st.s
    best = None
    for c in cells:
        a = s.assign[c]
        for b in st.targets(c):
            if not st.movable(c, a, b):
                continue
            la, lb = s.load[a], s.load[b]
            wc = s.work[c]
            dv = (st.violation_of(la - wc) + st.violation_of(lb + wc)
                  - st.violation_of(la) - st.violation_of(lb))
            d = st.move_cost(c, a, b) + lam * dv / st.total
            if best is None or d < best[0]:
                best = (d, c, b)
    return best


def _repair(st: _State, lam: float = 4.0, max_steps: int | None = None) -> None:
    """Step 3: greedy single moves out of / into districts outside the band."""
    s = st.s
    steps = 0
    max_steps = max_steps if max_steps is not None else 4 * s.n
    while steps < max_steps:
        bad = [d for d in range(s.k) if st.violation_of(s.load[d]) > 0]
        if not bad:
            return
        cells: set[int] = set()
        for d in bad:
            cells.update(s.boundary[d].items)
            if s.load[d] < st.lo:  # pull: neighbours' border units
                for c in s.boundary[d].items:
                    cells.update(n for n in s.nbrs[c] if s.assign[n] != d)
        best = _best_single(st, cells, lam)
        if best is None or best[0] >= 0:
            return
        st.apply(best[1], best[2])
        steps += 1


def _fits(st: _State, changes: dict[int, float]) -> bool:
    return all(st.lo - st.eps <= st.s.load[d] + x <= st.hi + st.eps for d, x in changes.items())


def _shrink(st: _State, deadline: float) -> int:
    """Step 4: reverts, alone or with one compensating move, while every district stays in the
    band. Returns the number of improvements."""
    s = st.s
    w = s.work
    improved = 0
    progress = True
    while progress and time.perf_counter() < deadline:
        progress = False
        moved = [c for c in range(s.n) if s.assign[c] != st.base[c]]
        moved.sort(key=lambda c: -st.cost[c])
        for c in moved:
            if time.perf_counter() > deadline:
                break
            a, b0 = s.assign[c], st.base[c]
            if a == b0 or not any(s.assign[n] == b0 for n in s.nbrs[c]):
                continue
            if not st.movable(c, a, b0):
                continue
            wc = w[c]
            if _fits(st, {a: -wc, b0: wc}):
                st.apply(c, b0)
                improved += 1
                progress = True
                continue
            # Revert c, then the cheapest compensating single move that restores the band.
            gain = st.cost[c]
            st.apply(c, b0)
            over = [d for d in (a, b0) if st.violation_of(s.load[d]) > 0]
            pool: set[int] = set()
            for d in over:
                pool.update(s.boundary[d].items)
                if s.load[d] < st.lo:
                    for x in s.boundary[d].items:
                        pool.update(n for n in s.nbrs[x] if s.assign[n] != d)
            pool.discard(c)
            best = None
            for y in pool:
                ya = s.assign[y]
                for yb in st.targets(y):
                    d_cost = st.move_cost(y, ya, yb)
                    if d_cost >= gain - 1e-15 or (best is not None and d_cost >= best[0]):
                        continue
                    wy = w[y]
                    ch = {ya: -wy}
                    ch[yb] = ch.get(yb, 0.0) + wy
                    for d in (a, b0):
                        ch.setdefault(d, 0.0)
                    if not _fits(st, ch):
                        continue
                    if not st.movable(y, ya, yb):
                        continue
                    best = (d_cost, y, yb)
            if best is None:
                st.apply(c, a)  # undo
                continue
            st.apply(best[1], best[2])
            improved += 1
            progress = True
    return improved


def _polish(st: _State, deadline: float, rng: _random.Random, iterations: int,
            heat: float = 1.0) -> None:
    """Annealing of single moves near the moved units on cost + lam * violation; keeps the
    best plan within the band."""
    s = st.s
    w = s.work
    lam = 3.0
    cur_cost = st.moved_cost()
    cur_v = st.violation()
    best_cost = cur_cost if cur_v <= 0 else math.inf
    best_assign = list(s.assign)
    least_v, least_assign = cur_v, list(s.assign)  # the plan nearest the band, if none is in it
    typical = float(np.median([st.cost[c] for c in range(s.n)])) or 1e-9
    t0, t1 = heat * _T0 * typical, _T1 * typical
    for i in range(iterations):
        if i % 256 == 0 and time.perf_counter() > deadline:
            break
        temp = t0 * (t1 / t0) ** (i / max(1, iterations))
        # a unit at or next to a moved unit, or on the border of a district out of band
        d = rng.randrange(s.k)
        bnd = s.boundary[d]
        if not len(bnd):
            continue
        c = bnd.items[rng.randrange(len(bnd))]
        a = s.assign[c]
        tg = list(st.targets(c))
        if not tg:
            continue
        b = tg[rng.randrange(len(tg))]
        if not st.movable(c, a, b):
            continue
        wc = w[c]
        la, lb = s.load[a], s.load[b]
        dv = (st.violation_of(la - wc) + st.violation_of(lb + wc)
              - st.violation_of(la) - st.violation_of(lb))
        dcost = st.move_cost(c, a, b)
        delta = dcost + lam * dv / st.total
        if delta <= 0 or rng.random() < math.exp(-delta / temp):
            st.apply(c, b)
            cur_cost += dcost
            cur_v += dv
            if cur_v <= 1e-12 * st.total and cur_cost < best_cost - 1e-15:
                if st.feasible():
                    best_cost = cur_cost
                    best_assign = list(s.assign)
            elif best_cost == math.inf and cur_v < least_v - 1e-15:
                least_v, least_assign = cur_v, list(s.assign)
    s.load_from(np.asarray(best_assign if best_cost < math.inf else least_assign))


def least_change(plan: Plan, *, baseline: Plan | None = None, max_deviation: float = 0.05,
                 locked_cells: Sequence[object] = (), locked_stations: Sequence[object] = (),
                 max_cost: float | None = None,
                 order: Sequence[str] = ("workload", "population", "units"),
                 time_limit_s: float | None = None,
                 rng: np.random.Generator | None = None) -> LeastChangeResult:
    """The plan meeting ``max_deviation`` that moves the least from ``baseline``.

    Parameters
    ----------
    plan : the start plan (usually today's, through ``repaired_plan``); repaired when it is
        not contiguous or a station is outside its district.
    baseline : the plan changes are counted against (default ``plan``); locked cells and
        stations keep their ``baseline`` station.
    max_deviation : the target: every district within this fraction of the mean workload.
    locked_cells : cell ids that keep their station.
    locked_stations : stations whose district neither gains nor loses units.
    max_cost : no unit may join a station farther than this (metres, or minutes).
    order : what to minimise, most important first: ``workload``, a unit column such as
        ``population``, ``units`` (count). Later criteria break near-ties of earlier ones.
    time_limit_s : stop improving after this many seconds (default: 5 + n_cells / 200).
    rng : numpy Generator for the annealing step (reproducible with a seed).

    Returns
    -------
    LeastChangeResult. When the target is not met, a warning gives the deviation reached.

    Raises
    ------
    InfeasibleError
        When arithmetic shows the request impossible (see ``explain_infeasibility``).
    InputError
        For an unknown ``order`` item or a bad ``max_deviation``.
    """
    started = time.perf_counter()
    g = plan.graph
    if not (0 < max_deviation < 1):
        raise InputError(f"`max_deviation` was {max_deviation} but must be a fraction between "
                         "0 and 1, e.g. 0.05")
    baseline = baseline if baseline is not None else plan
    if baseline.graph is not g:
        raise InputError("`baseline` is on another district graph than `plan`; build both from "
                         "the same cells and stations")
    cost = _cost_vector(g, order)
    rng = rng if rng is not None else np.random.default_rng(0)
    pyrng = _random.Random(int(rng.integers(2 ** 62)))
    time_limit_s = time_limit_s if time_limit_s is not None else 5.0 + g.n_cells / 200.0
    deadline = started + time_limit_s
    user_locked = locked_positions(g, baseline, cells=locked_cells, stations=locked_stations,
                                   station_cells=False)
    raise_if_infeasible(g, max_deviation=max_deviation, locked=user_locked, baseline=baseline,
                        max_cost_limit=max_cost)
    start = plan
    if not start.contains_station or not start.contiguous:
        start = _repaired_towards_band(start, closed={g.station_index(s) for s in locked_stations})
    locked = user_locked.copy()
    locked[g.station_cell] = True
    closed = {g.station_index(s) for s in locked_stations}
    allowed = None
    if max_cost is not None:
        allowed = g.cost <= max_cost
        allowed[g.station_cell, np.arange(g.n_stations)] = True
        allowed[np.arange(g.n_cells), start.assignment] = True  # staying is always allowed
    st = _State(start, baseline, locked=locked, allowed=allowed, closed=closed, cost=cost,
                t=max_deviation)
    phases: dict[str, float] = {}

    def share() -> float:
        a = np.asarray(st.s.assign)
        return float(g.workload[a != baseline.assignment].sum()) / st.total

    rounds = 0
    while not st.feasible() and rounds < 8 and time.perf_counter() < deadline:
        # Route on the districts' adjacency as it is now, realise, repair; again while some
        # district is still out of band (overshoots pass on; new borders open new routes).
        rounds += 1
        _realise(st, _routing(st))
        phases.setdefault("route", share())
        _repair(st)
    phases["repair"] = share()
    tries = 0
    while not st.feasible() and tries < 6 and time.perf_counter() < deadline:
        # Still out of band: let the annealing look for a plan within it.
        tries += 1
        _polish(st, deadline, pyrng, iterations=max(50_000, 100 * g.n_cells))
        _repair(st)
    _shrink(st, deadline)
    phases["shrink"] = share()
    best_assign = list(st.s.assign)
    if st.feasible():
        best_cost = st.moved_cost()
        # Polish: anneal from the best plan, then shrink again; keep the best; stop after
        # ``patience`` rounds without improvement or at the deadline.
        stale, patience = 0, _PATIENCE
        while time.perf_counter() < deadline and stale < patience and best_cost > 0:
            # each round without improvement starts hotter (x _REHEAT), to leave the basin
            _polish(st, deadline, pyrng, iterations=max(20_000, 40 * g.n_cells),
                    heat=_REHEAT ** stale)
            _shrink(st, deadline)
            c = st.moved_cost()
            if st.feasible() and c < best_cost - 1e-15:
                best_cost, best_assign, stale = c, list(st.s.assign), 0
            else:
                stale += 1
                st.s.load_from(np.asarray(best_assign))
        phases["polish"] = float(g.workload[np.asarray(best_assign) != baseline.assignment].sum()) / st.total
    result = Plan(g, np.asarray(best_assign), name="least change")
    return _result(result, baseline, max_deviation, started, phases)


def _result(plan: Plan, baseline: Plan, t: float, started: float,
            phases: dict) -> LeastChangeResult:
    g = plan.graph
    total = float(g.workload.sum()) or 1.0
    changed = plan.assignment != baseline.assignment
    b = moved_bound(baseline, t)
    moved_w = float(g.workload[changed].sum()) / total
    cols = list(dict.fromkeys([c for c in g.weights if c in g.cells.columns]
                              + (["population"] if "population" in g.cells.columns else [])))
    moved = {c: float(g.column(c)[changed].sum()) for c in cols}
    people = people_bound = None
    if "population" in g.weights and "population" in g.cells.columns:
        people = moved["population"]
        people_bound = moved_column_bound(baseline, t, "population")
    met = bool(plan.max_deviation <= t + 1e-9)
    if not met:
        log.warning("workload target not met: the least-change plan is %s %% from the mean, "
                    "above max_deviation %s %%; allow a larger deviation or unlock cells",
                    f"{100 * plan.max_deviation:.3g}", f"{100 * t:.3g}")
    return LeastChangeResult(
        plan=plan, baseline=baseline, max_deviation=t, target_met=met, moved_workload=moved_w,
        moved_bound=b["bound"], excess=b["excess"], deficit=b["deficit"], bound_binds=b["binds"],
        moved_ratio=(moved_w / b["bound"]) if b["bound"] > 0 else None, moved=moved,
        moved_people=people, moved_people_bound=people_bound, units_moved=int(changed.sum()),
        seconds=time.perf_counter() - started, phases=phases)
