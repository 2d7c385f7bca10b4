"""Redistricting by local search: boundary moves and swaps that keep contiguity, annealed, as a generator.

``optimize`` is a generator (gerrychain's ``short_bursts`` style): it yields a progress dict
every few hundred iterations, holding the best plan so far, so a caller can draw a progress bar,
show live figures and stop whenever it likes. ``redistrict`` runs it to the end and returns the
best plan. Start plans come from the current jurisdictions (``Plan.from_labels`` then
``repaired_plan``) or from scratch (``grown_plan``: districts grown from the stations, the
lightest district taking its nearest free neighbour each step).

Moves keep every district contiguous and holding its station: a cell may leave its district
only when it is not an articulation point of the district's induced subgraph (Tarjan, cached
per district until the district changes), so no search of the whole district per move.
"""
from __future__ import annotations

import heapq
import logging
import math
import random as _random
import time
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

from geo.errors import format_ids
from planning.constraints import locked_positions, raise_if_infeasible
from planning.plan import DistrictGraph, Plan, articulation_points, connected_within

__all__ = ["ScoreWeights", "plan_score", "grown_plan", "repaired_plan", "optimize",
           "redistrict"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScoreWeights:
    """Weights of the terms of the score the local search minimises (all terms unit-free).

    balance : weight of max |deviation| + ``rms`` x root-mean-square deviation (fractions of
        the mean workload).
    over_target : weight of the part of the max deviation above the requested
        ``max_deviation`` (a stiff penalty: the target acts almost as a hard constraint).
    compactness : weight of the workload-weighted mean distance (or time) from the station,
        divided by the same figure when every cell goes to its nearest station (>= 1).
    perimeter : weight of the total length of district borders (inner borders between
        districts, metres) divided by 2·sqrt(area·stations), about 1 for round districts;
        ragged borders (low Polsby-Popper) cost more.
    change : weight of the share of cells whose station differs from the baseline plan.
    townships : weight per township split (splits forced by two stations in one township are
        not counted).
    """

    balance: float = 1.0
    rms: float = 0.25
    over_target: float = 10.0
    compactness: float = 0.3
    perimeter: float = 0.3
    change: float = 0.0
    townships: float = 0.0


def _cost_scale(graph: DistrictGraph) -> float:
    best = graph.cost.min(axis=1)
    total = graph.workload.sum()
    scale = float((graph.workload * best).sum() / total) if total > 0 else 0.0
    return scale if scale > 0 else float(best.mean() or 1.0)


def _cut_scale(graph: DistrictGraph) -> float:
    return 2.0 * math.sqrt(float(graph.area_m2.sum()) * graph.n_stations) or 1.0


def plan_score(plan: Plan, *, baseline: Plan | None = None, weights: ScoreWeights = ScoreWeights(),
               max_deviation: float | None = None) -> float:
    """The score ``optimize`` minimises, for any plan (lower is better; unit-free)."""
    g = plan.graph
    dev = plan.deviation.to_numpy()
    mx = float(np.abs(dev).max())
    score = weights.balance * (mx + weights.rms * float(np.sqrt(np.mean(dev ** 2))))
    if max_deviation is not None:
        score += weights.over_target * max(0.0, mx - max_deviation)
    if weights.compactness:
        own = g.cost[np.arange(g.n_cells), plan.assignment]
        score += weights.compactness * float((g.workload * own).sum() / g.workload.sum()) / _cost_scale(g)
    if weights.perimeter:
        a, b = g.pairs["a"].to_numpy(), g.pairs["b"].to_numpy()
        cut = float(g.pairs["shared_m"].to_numpy()[plan.assignment[a] != plan.assignment[b]].sum())
        score += weights.perimeter * cut / _cut_scale(g)
    if weights.change and baseline is not None:
        score += weights.change * float(np.mean(plan.assignment != baseline.assignment))
    if weights.townships and g.township is not None:
        score += weights.townships * _avoidable_splits(plan)
    return score


def _avoidable_splits(plan: Plan) -> int:
    g = plan.graph
    if g.township is None:
        return 0
    ts = [g.township[c] for c in g.station_cell]
    forced = {t for t in ts if t is not None and ts.count(t) > 1}
    return sum(1 for t in plan.township_split_ids if t not in forced)


def grown_plan(graph: DistrictGraph, *, locked: np.ndarray | None = None,
               baseline: Plan | None = None, name: str = "grown") -> Plan:
    """Districts grown from the station cells: the district with the least workload so far
    takes its nearest free neighbouring cell, until every cell is taken (region growing).

    Locked cells (mask, with their stations in ``baseline``) start in their districts. Cells no
    district reaches through the adjacency (islands) go to the nearest station. Every district
    is contiguous unless locked cells are cut off from their station.
    """
    g = graph
    k = g.n_stations
    assign = np.full(g.n_cells, -1, dtype=np.int64)
    if locked is not None and baseline is not None:
        assign[locked] = baseline.assignment[locked]
    assign[g.station_cell] = np.arange(k)
    load = np.bincount(assign[assign >= 0], weights=g.workload[assign >= 0], minlength=k)
    heaps: list[list[tuple[float, int]]] = [[] for _ in range(k)]

    def push_frontier(c: int, s: int) -> None:
        for n in g.neighbours[c]:
            if assign[n] < 0:
                heapq.heappush(heaps[s], (float(g.cost[n, s]), n))

    for c in np.flatnonzero(assign >= 0):
        push_frontier(int(c), int(assign[c]))
    active = [(float(load[s]), s) for s in range(k)]
    heapq.heapify(active)
    while active:
        _, s = heapq.heappop(active)
        while heaps[s] and assign[heaps[s][0][1]] >= 0:
            heapq.heappop(heaps[s])
        if not heaps[s]:
            continue
        _, c = heapq.heappop(heaps[s])
        assign[c] = s
        load[s] += g.workload[c]
        push_frontier(c, s)
        heapq.heappush(active, (float(load[s]), s))
    rest = np.flatnonzero(assign < 0)
    if len(rest):
        assign[rest] = np.argmin(g.cost[rest], axis=1)
        log.warning("%d cells are cut off from every station and joined the nearest one: %s",
                    len(rest), format_ids(g.cell_ids[rest]))
    return Plan(g, assign, name=name)


def repaired_plan(plan: Plan, *, name: str | None = None) -> Plan:
    """A contiguous copy of ``plan`` holding every station: each district keeps the piece that
    holds its station; cut-off pieces join the neighbouring district they share most edge with.

    Returns ``plan`` itself when nothing needs repair. The moved cell ids are logged.
    """
    g = plan.graph
    arr = plan.assignment.copy()
    arr[g.station_cell] = np.arange(g.n_stations)
    for s in range(g.n_stations):
        nodes = np.flatnonzero(arr == s).tolist()
        comps = connected_within(nodes, g.neighbours, start=int(g.station_cell[s]))
        for comp in comps[1:]:
            arr[list(comp)] = -1
    if np.array_equal(arr, plan.assignment):
        return plan
    from planning.plan import _fill_unassigned
    moved = np.flatnonzero(arr < 0)
    arr = _fill_unassigned(g, arr)
    log.warning("%d cells in pieces cut off from their station moved to a neighbouring "
                "district: %s", len(moved), format_ids(g.cell_ids[moved]))
    return Plan(g, arr, name=name or plan.name)


class _IndexedSet:
    """A set with O(1) add, discard and uniform random choice."""

    __slots__ = ("items", "pos")

    def __init__(self) -> None:
        self.items: list[int] = []
        self.pos: dict[int, int] = {}

    def add(self, x: int) -> None:
        if x not in self.pos:
            self.pos[x] = len(self.items)
            self.items.append(x)

    def discard(self, x: int) -> None:
        i = self.pos.pop(x, None)
        if i is None:
            return
        last = self.items.pop()
        if i < len(self.items):
            self.items[i] = last
            self.pos[last] = i

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, x: int) -> bool:
        return x in self.pos


class _Search:
    """The mutable state of one local search (private; plans stay immutable outside)."""

    def __init__(self, plan: Plan, *, locked: np.ndarray, allowed: np.ndarray | None,
                 baseline: Plan | None, weights: ScoreWeights, target: float | None):
        g = plan.graph
        self.g = g
        self.k = g.n_stations
        self.nbrs = g.neighbours
        shared = {}
        for a, b, m in zip(g.pairs["a"].tolist(), g.pairs["b"].tolist(), g.pairs["shared_m"].tolist()):
            shared[(a, b)] = shared[(b, a)] = m
        self.lens = [[shared[(c, n)] for n in nb] for c, nb in enumerate(g.neighbours)]
        self.pscale = _cut_scale(g)
        self.work = g.workload.tolist()
        self.cost = g.cost.tolist()
        self.mean = g.mean_workload
        self.locked = locked.tolist()
        self.allowed = allowed.tolist() if allowed is not None else None
        self.base = baseline.assignment.tolist() if baseline is not None else None
        self.w = weights
        self.target = target
        self.cscale = _cost_scale(g) * float(g.workload.sum())
        self.n = g.n_cells
        town = g.township if (weights.townships and g.township is not None) else None
        self.town = town.tolist() if town is not None else None
        ts = [g.township[c] for c in g.station_cell] if g.township is not None else []
        self.forced = {t for t in ts if t is not None and ts.count(t) > 1}
        self.load_from(plan.assignment)

    def load_from(self, assignment: np.ndarray) -> None:
        self.assign = [int(a) for a in assignment]
        k, assign, nbrs = self.k, self.assign, self.nbrs
        self.load = [0.0] * k
        self.members: list[set[int]] = [set() for _ in range(k)]
        for c, s in enumerate(assign):
            self.load[s] += self.work[c]
            self.members[s].add(c)
        self.boundary = [_IndexedSet() for _ in range(k)]
        for c, s in enumerate(assign):
            if any(assign[n] != s for n in nbrs[c]):
                self.boundary[s].add(c)
        self.art: list[set[int] | None] = [None] * k
        self.csum = sum(self.work[c] * self.cost[c][s] for c, s in enumerate(assign))
        self.cut = sum(m for c, s in enumerate(assign)
                       for n, m in zip(nbrs[c], self.lens[c]) if assign[n] != s) / 2.0
        self.changed = sum(1 for c, s in enumerate(assign) if self.base and s != self.base[c])
        self.tcount: dict[object, dict[int, int]] = {}
        self.splits = 0
        if self.town is not None:
            for c, s in enumerate(assign):
                t = self.town[c]
                if t is not None:
                    d = self.tcount.setdefault(t, {})
                    d[s] = d.get(s, 0) + 1
            self.splits = sum(1 for t, d in self.tcount.items() if len(d) > 1 and t not in self.forced)

    # --- score ------------------------------------------------------------------------------
    def balance(self, load: Sequence[float]) -> float:
        mean = self.mean
        mx = 0.0
        sq = 0.0
        for x in load:
            d = x / mean - 1.0
            sq += d * d
            if d < 0:
                d = -d
            if d > mx:
                mx = d
        bal = self.w.balance * (mx + self.w.rms * math.sqrt(sq / len(load)))
        if self.target is not None and mx > self.target:
            bal += self.w.over_target * (mx - self.target)
        return bal

    def max_dev(self) -> float:
        return max(abs(x / self.mean - 1.0) for x in self.load)

    def score(self) -> float:
        s = self.balance(self.load)
        if self.w.compactness:
            s += self.w.compactness * self.csum / self.cscale
        if self.w.perimeter:
            s += self.w.perimeter * self.cut / self.pscale
        if self.w.change and self.base is not None:
            s += self.w.change * self.changed / self.n
        if self.town is not None:
            s += self.w.townships * self.splits
        return s

    def cut_delta(self, moves: Sequence[tuple[int, int, int]]) -> float:
        """Change of the total inner border length when ``moves`` are applied in order."""
        overlay: dict[int, int] = {}
        assign = self.assign
        d = 0.0
        for c, a, b in moves:
            for n, m in zip(self.nbrs[c], self.lens[c]):
                s = overlay.get(n, assign[n])
                d += m * ((s != b) - (s != a))
            overlay[c] = b
        return d

    def delta(self, moves: Sequence[tuple[int, int, int]]) -> float:
        """Score change of moving cells (cell, from, to), evaluated without applying."""
        load = self.load.copy()
        dc = 0.0
        dch = 0
        for c, a, b in moves:
            wc = self.work[c]
            load[a] -= wc
            load[b] += wc
            dc += wc * (self.cost[c][b] - self.cost[c][a])
            if self.base is not None:
                dch += (b != self.base[c]) - (a != self.base[c])
        d = self.balance(load) - self.balance(self.load)
        if self.w.compactness:
            d += self.w.compactness * dc / self.cscale
        if self.w.perimeter:
            d += self.w.perimeter * self.cut_delta(moves) / self.pscale
        if self.w.change and self.base is not None:
            d += self.w.change * dch / self.n
        if self.town is not None:
            d += self.w.townships * self._split_delta(moves)
        return d

    def _split_delta(self, moves: Sequence[tuple[int, int, int]]) -> int:
        if self.town is None:
            return 0
        touched: dict[object, dict[int, int]] = {}
        for c, a, b in moves:
            t = self.town[c]
            if t is None or t in self.forced:
                continue
            d = touched.setdefault(t, dict(self.tcount[t]))
            d[a] -= 1
            if not d[a]:
                del d[a]
            d[b] = d.get(b, 0) + 1
        return sum((len(d) > 1) - (len(self.tcount[t]) > 1) for t, d in touched.items())

    # --- moves ------------------------------------------------------------------------------
    def arts(self, s: int) -> set[int]:
        a = self.art[s]
        if a is None:
            a = articulation_points(self.members[s], self.nbrs, self.assign, s)
            self.art[s] = a
        return a

    def can_leave(self, c: int, a: int) -> bool:
        """Cell c may leave district a: not locked and not a cut vertex of a.

        A local test first (c's neighbours in a stay joined through their own neighbours);
        only when it fails is the district's articulation set computed (and cached).
        """
        if self.locked[c]:
            return False
        art = self.art[a]
        if art is not None:
            return c not in art
        assign, nbrs = self.assign, self.nbrs
        same = [n for n in nbrs[c] if assign[n] == a]
        if len(same) <= 1:
            return True
        ring = set(same)
        for n in same:
            ring.update(x for x in nbrs[n] if assign[x] == a)
        ring.discard(c)
        seen = {same[0]}
        stack = [same[0]]
        while stack:
            v = stack.pop()
            for x in nbrs[v]:
                if x in ring and x not in seen:
                    seen.add(x)
                    stack.append(x)
        if all(n in seen for n in same):
            return True
        return c not in self.arts(a)

    def can_join(self, c: int, b: int) -> bool:
        return self.allowed is None or self.allowed[c][b]

    def apply(self, c: int, b: int) -> None:
        a = self.assign[c]
        assign, nbrs = self.assign, self.nbrs
        self.cut += self.cut_delta([(c, a, b)])
        assign[c] = b
        wc = self.work[c]
        self.load[a] -= wc
        self.load[b] += wc
        self.members[a].discard(c)
        self.members[b].add(c)
        self.art[a] = self.art[b] = None
        self.csum += wc * (self.cost[c][b] - self.cost[c][a])
        if self.base is not None:
            self.changed += (b != self.base[c]) - (a != self.base[c])
        if self.town is not None:
            t = self.town[c]
            if t is not None:
                d = self.tcount[t]
                was = len(d) > 1
                d[a] -= 1
                if not d[a]:
                    del d[a]
                d[b] = d.get(b, 0) + 1
                if t not in self.forced:
                    self.splits += (len(d) > 1) - was
        self.boundary[a].discard(c)
        for x in (c, *nbrs[c]):
            s = assign[x]
            if any(assign[n] != s for n in nbrs[x]):
                self.boundary[s].add(x)
            else:
                self.boundary[s].discard(x)


def _allowed_mask(graph: DistrictGraph, max_cost: float | None) -> np.ndarray | None:
    if max_cost is None:
        return None
    ok = graph.cost <= max_cost
    ok[graph.station_cell, np.arange(graph.n_stations)] = True
    return ok


def optimize(plan: Plan, *, max_deviation: float | None = 0.05, baseline: Plan | None = None,
             locked_cells: Sequence[object] = (), locked_stations: Sequence[object] = (),
             max_cost: float | None = None, keep_townships: bool = False,
             weights: ScoreWeights | None = None, iterations: int | None = None,
             time_limit_s: float | None = None, patience: int | None = None,
             progress_every: int = 500, rng: np.random.Generator | None = None
             ) -> Iterator[dict]:
    """Improve ``plan`` by simulated annealing over boundary moves and swaps; yield progress.

    Parameters
    ----------
    plan : the start plan; it must be contiguous and hold every station (use
        ``repaired_plan``), and is left untouched.
    max_deviation : the workload balance aimed at (fraction of the mean, 0.05 = ±5 %); the
        score penalises the excess strongly. None: just balance as well as possible.
    baseline : the plan whose changes count against the ``change`` weight and whose stations
        hold the locked cells (default: ``plan``).
    locked_cells, locked_stations : cell ids that may not move; stations whose district may
        not change (it neither loses nor gains cells). Station cells never move.
    max_cost : no cell may join a station farther than this (metres, or minutes with travel
        times); cells already beyond it stay where they are.
    keep_townships : add a township-split term (``townships`` weight 0.05 when unset) and
        moves that carry a whole township piece at once.
    weights : score weights (see ``ScoreWeights``).
    iterations : move proposals to try (default 60 per cell, at least 20,000).
    time_limit_s : stop after this many seconds.
    patience : stop once the target balance is met and the best score has not improved for
        this many proposals (default 30 per cell, at least 5,000).
    progress_every : proposals between progress reports.
    rng : numpy Generator (``np.random.default_rng(seed)``) for reproducible runs.

    Yields
    ------
    dict with ``iteration``, ``iterations``, ``fraction`` (0..1), ``best_score``,
    ``max_deviation`` (of the best plan), ``temperature``, ``accepted``, ``seconds``,
    ``target_reached_s`` (seconds when the best first met ``max_deviation``, or None),
    ``done`` and ``plan`` (the best plan so far). The last one has ``done`` True.

    Raises
    ------
    InfeasibleError
        Before any search, when arithmetic shows the request impossible (see
        ``planning.constraints.explain_infeasibility``).
    """
    g = plan.graph
    rng = rng if rng is not None else np.random.default_rng()
    baseline = baseline if baseline is not None else plan
    if not plan.contains_station or not plan.contiguous:
        raise ValueError("the start plan must be contiguous and hold every station; pass it "
                         "through repaired_plan first")
    user_locked = locked_positions(g, baseline, cells=locked_cells, stations=locked_stations,
                                   station_cells=False)
    raise_if_infeasible(g, max_deviation=max_deviation, locked=user_locked, baseline=baseline,
                        max_cost_limit=max_cost)
    locked = user_locked.copy()
    locked[g.station_cell] = True
    if weights is None:
        weights = ScoreWeights(townships=0.05 if keep_townships else 0.0)
    elif keep_townships and not weights.townships:
        weights = ScoreWeights(**{**weights.__dict__, "townships": 0.05})
    n = g.n_cells
    iterations = iterations if iterations is not None else max(20_000, 60 * n)
    patience = patience if patience is not None else max(5_000, 30 * n)
    allowed = _allowed_mask(g, max_cost)
    if len(list(locked_stations)):
        # A locked station neither loses units (locked above) nor gains any.
        if allowed is None:
            allowed = np.ones((g.n_cells, g.n_stations), dtype=bool)
        for s in {g.station_index(x) for x in locked_stations}:
            allowed[:, s] = plan.assignment == s
    st = _Search(plan, locked=locked, allowed=allowed, baseline=baseline,
                 weights=weights, target=max_deviation)
    start = time.perf_counter()
    cur = st.score()
    best, best_assign, best_iter = cur, list(st.assign), 0
    target_at = 0.0 if (max_deviation is not None and st.max_dev() <= max_deviation) else None
    # Temperature: about the typical score change of one move, cooled geometrically.
    t0 = 0.5 * max(1e-6, float(np.median(g.workload)) / st.mean)
    t_end = t0 * 1e-3
    temp = t0
    stall_limit = max(2_000, 10 * n)
    accepted = 0
    fast = _random.Random(int(rng.integers(2 ** 62)))  # seeded from rng: same rng, same run
    random = fast.random
    integers = fast.randrange

    def report(i: int, done: bool) -> dict:
        return {"iteration": i, "iterations": iterations, "fraction": min(1.0, i / iterations),
                "best_score": best, "max_deviation": _max_dev(g, best_assign),
                "temperature": temp, "accepted": accepted,
                "seconds": time.perf_counter() - start, "target_reached_s": target_at,
                "done": done, "plan": Plan(g, best_assign, name="optimised")}

    yield report(0, False)
    i = 0
    for i in range(1, iterations + 1):
        temp = t0 * (t_end / t0) ** (i / iterations)
        r = random()
        moves = _propose(st, r, random, integers)
        if moves is not None:
            d = st.delta(moves)
            if d <= 0 or random() < math.exp(-d / temp):
                for c, _, b in moves:
                    st.apply(c, b)
                cur += d
                accepted += 1
                if cur < best - 1e-12:
                    best, best_assign, best_iter = cur, list(st.assign), i
                    if target_at is None and max_deviation is not None and st.max_dev() <= max_deviation:
                        target_at = time.perf_counter() - start
        if i - best_iter > stall_limit and i % stall_limit == 0:
            # Escape a drift: restart from the best plan found (short bursts).
            st.load_from(np.asarray(best_assign))
            cur = st.score()
            best = cur
        if i % progress_every == 0:
            yield report(i, False)
            if time_limit_s is not None and time.perf_counter() - start > time_limit_s:
                break
            met = max_deviation is None or _max_dev(g, best_assign) <= max_deviation
            if met and i - best_iter > patience:
                break
    final = report(i, True)
    if max_deviation is not None and final["max_deviation"] > max_deviation:
        log.warning("workload target not met: the best plan found is %s %% from the mean, above "
                    "max_deviation %s %%; allow more time or a larger deviation",
                    f"{100 * final['max_deviation']:.3g}", f"{100 * max_deviation:.3g}")
    yield final


def _max_dev(g: DistrictGraph, assign: Sequence[int]) -> float:
    load = np.bincount(np.asarray(assign), weights=g.workload, minlength=g.n_stations)
    return float(np.abs(load / g.mean_workload - 1.0).max())


def _propose(st: _Search, r: float, random, integers) -> list[tuple[int, int, int]] | None:
    """One candidate move (single cell, swap or township piece) that keeps contiguity."""
    k = st.k
    # Half the time work on the district furthest from the mean, else a random one.
    if r < 0.5:
        mean = st.mean
        s = max(range(k), key=lambda j: abs(st.load[j] - mean))
        pull = st.load[s] < mean
    else:
        s = int(integers(k))
        pull = random() < 0.5
    bnd = st.boundary[s]
    if not len(bnd):
        return None
    c = bnd.items[int(integers(len(bnd)))]
    others = [st.assign[n] for n in st.nbrs[c] if st.assign[n] != s]
    if not others:
        return None
    if pull:
        # Take a neighbouring cell from another district into s.
        cand = [n for n in st.nbrs[c] if st.assign[n] != s]
        x = cand[int(integers(len(cand)))]
        a = st.assign[x]
        if not st.can_join(x, s) or not st.can_leave(x, a):
            return None
        moves = [(x, a, s)]
        src, dst, moved = a, s, x
    else:
        b = others[int(integers(len(others)))]
        if not st.can_join(c, b) or not st.can_leave(c, s):
            return None
        moves = [(c, s, b)]
        src, dst, moved = s, b, c
    if st.town is not None and random() < 0.2:
        block = _township_piece(st, moved, src)
        if block is not None and _block_ok(st, block, src, dst):
            return [(x, src, dst) for x in block]
    if random() < 0.15:
        # Swap: a cell of dst that touches src (not only through ``moved``) goes the other way.
        bd = st.boundary[dst]
        for _ in range(4):
            y = bd.items[int(integers(len(bd)))]
            if y == moved:
                continue
            if not any(st.assign[n] == src and n != moved for n in st.nbrs[y]):
                continue
            if not any(st.assign[n] == dst and n != y for n in st.nbrs[moved]):
                continue
            if st.can_join(y, src) and st.can_leave(y, dst):
                return moves + [(y, dst, src)]
    return moves


def _township_piece(st: _Search, c: int, a: int) -> list[int] | None:
    town = st.town
    if town is None:
        return None
    t = town[c]
    if t is None:
        return None
    piece = [x for x in st.members[a] if town[x] == t]
    if len(piece) < 2 or len(piece) > 400 or any(st.locked[x] for x in piece):
        return None
    return piece


def _block_ok(st: _Search, block: list[int], a: int, b: int) -> bool:
    """Moving ``block`` from a to b keeps both districts connected (a BFS on each)."""
    if st.allowed is not None and not all(st.allowed[x][b] for x in block):
        return False
    bs = set(block)
    rest = st.members[a] - bs
    if not rest:
        return False
    if len(connected_within(rest, st.nbrs)) != 1:
        return False
    return len(connected_within(st.members[b] | bs, st.nbrs)) == 1


def redistrict(plan: Plan, **options) -> Plan:
    """Run ``optimize`` to the end and return the best plan (same options)."""
    last = None
    for last in optimize(plan, **options):
        pass
    assert last is not None, "optimize yields at least its starting plan"
    return last["plan"]
