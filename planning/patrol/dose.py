"""Patrol dose: every unit patrols its whole shift, returning to hot places at their hot hours.

The visit-once mode (``search``) visits each hotspot once and stops; a unit whose hotspots are
all served goes home. Dose mode instead fills every unit's shift with short stays (dwell
10-15 minutes: Koper 1995, the residual deterrence of a stop grows up to about 15 minutes and
then flattens) at the places whose risk *in that hour* is high, coming back to a place after a
minimum gap, with a break taken at the station.

The problem (``DoseProblem``, from arrays)
-----------------------------------------
* ``risk`` (P, J): risk of place p in slot j of the shift (slot j = minutes ``[j s, (j + 1) s)``
  from the shift start, ``s = slot_min``, 60 by default; the last slot may be partial).
* ``travel_min`` (S, S) between sites; ``place_site`` the site of every place; per unit a start
  and an end site (the station) and the shift length ``shift_min``.
* A visit of place p is ``[start, start + dwell)`` with ``dwell`` in ``dwell_range``
  (default 10-15, nominal ``dwell_min`` 12). Two visits of the same place, by any units, are at
  least ``min_gap_min`` apart (the end of one to the start of the next); so no two units are
  ever at one place at once. A unit arrives ``travel`` minutes after leaving its last stop
  and may wait; it ends at its end site no later than ``shift_min``.
* Each unit takes one break of ``break_min`` at its start site (the station: meal and paperwork),
  near the middle of the shift; the units' breaks are staggered by ``break_min`` so that the
  others stay out while one rests.

The objective
-------------
The dose of place p in slot j, ``x[p, j]``, is the patrol (dwell) minutes spent there in that
slot. A plan maximises

    Φ = Σ_p Σ_j risk[p, j] · log(1 + x[p, j] / dwell_min)

a proportional-fair objective: at its optimum ``x[p, j] + dwell_min`` is proportional to
``risk[p, j]`` among the place-hours that get any dose (Lagrange condition of Φ under a fixed
number of patrol minutes), which is "time at each place in proportion to its risk in that hour";
a first visit is worth most, doubling a dose is worth less, so hot places get repeated visits
without starving the rest.

The solver (``solve_dose``)
---------------------------
An event-driven greedy: the unit that is free first chooses its next place by the gain in Φ per
minute of its time (travel + wait + dwell), among the places it can serve and still get home
in time; waiting for a place's gap to open counts against the choice, and instead of waiting the
unit stretches its current stay (up to the longest dwell). It is repeated with randomised choices
(a candidate list of the places within ``variety`` of the best ratio, GRASP), every other time
keeping the best plan up to a random minute and rebuilding the rest (ruin and recreate in time),
within a time limit, keeping the plan of highest Φ (among those filling ``fill_target`` of every
unit's shift, when any does). ``solve_random`` is the baseline: the same units, dwell,
gaps, breaks and travel, but each next place drawn at random.

Measures
--------
``DosePlan.minutes_used`` (travel + patrol + break; waiting is idle), ``share_of_shift``, and
``top_share``: the share of the patrol minutes spent in the top place-hours, the
``ceil(top_fraction · P · J)`` (place, slot) pairs of highest risk (default: the top 20 %).
"""
from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from geo.errors import GridPatrolError, InputError
from planning.patrol.problem import PatrolInfeasible

__all__ = ["DoseProblem", "DosePlan", "Stop", "solve_dose", "solve_random", "baseline_top_share",
           "top_pairs"]

_EPS = 1e-6


@dataclass(frozen=True, eq=False)
class DoseProblem:
    """A patrol-dose problem (read-only arrays; see the module docstring for the rules).

    Attributes
    ----------
    travel_min : (S, S) minutes between sites.
    risk : (P, J) risk of each place in each slot; ``slot_min`` the slot length (minutes).
    place_site : (P,) site of each place.
    start_site, end_site : (K,) per unit.
    shift_min : shift length (minutes).
    dwell_min : nominal stay; ``dwell_lo``/``dwell_hi`` the bounds of a stay (minutes).
    min_gap_min : minutes between two visits of one place (end to start, any units).
    break_min : the break of every unit, at its start site (0: none).
    """

    travel_min: np.ndarray
    risk: np.ndarray
    place_site: np.ndarray
    start_site: np.ndarray
    end_site: np.ndarray
    shift_min: float
    slot_min: float = 60.0
    dwell_min: float = 12.0
    dwell_lo: float = 10.0
    dwell_hi: float = 15.0
    min_gap_min: float = 45.0
    break_min: float = 30.0

    @property
    def n_places(self) -> int:
        return self.risk.shape[0]

    @property
    def n_slots(self) -> int:
        return self.risk.shape[1]

    @property
    def n_units(self) -> int:
        return len(self.start_site)

    @classmethod
    def from_matrix(cls, travel_min: np.ndarray, risk: np.ndarray, *, starts: Sequence[int],
                    ends: Sequence[int] | None = None, shift_min: float, slot_min: float = 60.0,
                    dwell_min: float = 12.0, dwell_range: tuple[float, float] = (10.0, 15.0),
                    min_gap_min: float = 45.0, break_min: float = 30.0,
                    place_site: Sequence[int] | None = None) -> "DoseProblem":
        """Build and check a problem.

        Parameters
        ----------
        travel_min : (S, S) minutes between sites (``inf``: unreachable; >= 0).
        risk : (P, J) risk of each place per slot of ``slot_min`` minutes from the shift start,
            ``J = ceil(shift_min / slot_min)``; >= 0.
        starts, ends : site of each unit's start and end (``ends`` default: ``starts``).
        shift_min : the shift (minutes); dwell_min : nominal stay within ``dwell_range``.
        min_gap_min : minutes between visits of one place; break_min : each unit's break (0: none).
        place_site : (P,) site of each place (default: place p is site p).
        """
        T = np.asarray(travel_min, dtype=float)
        if T.ndim != 2 or T.shape[0] != T.shape[1]:
            raise InputError(f"travel_min has shape {T.shape}; give a square (S, S) matrix of minutes")
        if np.isnan(T).any() or (T < 0).any():
            raise InputError("travel_min holds negative or NaN minutes; travel times are >= 0")
        R = np.asarray(risk, dtype=float)
        if R.ndim == 1:
            R = R[:, None]
        if R.ndim != 2 or not np.isfinite(R).all() or (R < 0).any():
            raise InputError("`risk` must be a (places, slots) array of finite values >= 0")
        if not (shift_min > 0):
            raise InputError(f"`shift_min` was {shift_min!r}; give a shift longer than 0 minutes")
        if not (slot_min > 0):
            raise InputError(f"`slot_min` was {slot_min!r}; give minutes > 0 (60: hours)")
        need = int(math.ceil(shift_min / slot_min - 1e-9))
        if R.shape[1] != need:
            raise InputError(f"`risk` has {R.shape[1]} slots but a {shift_min:g}-minute shift has "
                             f"{need} slots of {slot_min:g} minutes; give one column per slot")
        lo, hi = (float(v) for v in dwell_range)
        if not (0 < lo <= dwell_min <= hi):
            raise InputError(f"`dwell_min` was {dwell_min!r} with dwell_range {dwell_range!r}; give "
                             "0 < shortest <= dwell_min <= longest (Koper: 10 <= 12 <= 15)")
        if not (min_gap_min >= 0):
            raise InputError(f"`min_gap_min` was {min_gap_min!r}; give minutes >= 0")
        if not (0 <= break_min < shift_min):
            raise InputError(f"`break_min` was {break_min!r}; give minutes >= 0 and shorter than "
                             f"the shift ({shift_min:g})")
        S = T.shape[0]
        site = np.arange(R.shape[0]) if place_site is None else np.asarray(place_site, dtype=np.int64)
        starts = np.asarray(starts, dtype=np.int64).ravel()
        if len(starts) == 0:
            raise InputError("`starts` was empty; give at least one patrol unit")
        ends = starts.copy() if ends is None else np.asarray(ends, dtype=np.int64).ravel()
        if len(site) != R.shape[0]:
            raise InputError(f"place_site has {len(site)} sites for {R.shape[0]} places")
        if len(ends) != len(starts):
            raise InputError(f"{len(ends)} ends for {len(starts)} units; give one end per unit")
        for name, arr in (("starts", starts), ("ends", ends), ("place_site", site)):
            if len(arr) and (arr.min() < 0 or arr.max() >= S):
                raise InputError(f"`{name}` names sites outside 0..{S - 1}")
        return cls(travel_min=T, risk=R, place_site=site, start_site=starts, end_site=ends,
                   shift_min=float(shift_min), slot_min=float(slot_min), dwell_min=float(dwell_min),
                   dwell_lo=lo, dwell_hi=hi, min_gap_min=float(min_gap_min), break_min=float(break_min))

    def overlap(self, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Minutes of each interval ``[start, end)`` in each slot: (n, J)."""
        edges = np.arange(self.n_slots + 1) * self.slot_min
        lo = np.maximum(np.asarray(start, float)[:, None], edges[None, :-1])
        hi = np.minimum(np.asarray(end, float)[:, None], edges[None, 1:])
        return np.clip(hi - lo, 0.0, None)

    def value(self, dose: np.ndarray) -> float:
        """Φ of a (P, J) dose matrix (patrol minutes per place and slot)."""
        return float((self.risk * np.log1p(np.asarray(dose) / self.dwell_min)).sum())

    def max_patrol_min(self) -> float:
        """An upper bound of the patrol minutes all places can hold in the shift under the gap
        rule: per place, the most of ``min(n · dwell_hi, shift - (n - 1) · min_gap_min)`` over
        the number of visits n (travel, breaks and the units' number ignored)."""
        L, g, hi, lo = self.shift_min, self.min_gap_min, self.dwell_hi, self.dwell_lo
        n_max = int((L + g) // (lo + g)) if lo + g > 0 else 1
        n = np.arange(1, max(n_max, 1) + 1)
        per_place = float(np.max(np.minimum(n * hi, L - (n - 1) * g)))
        return per_place * self.n_places

    def break_time(self, unit: int) -> float:
        """The minute around which ``unit`` should start its break (staggered by ``break_min``)."""
        K = self.n_units
        mid = self.shift_min / 2 - self.break_min / 2 + (unit - (K - 1) / 2) * self.break_min
        return float(np.clip(mid, 0.0, max(0.0, self.shift_min - self.break_min)))


@dataclass(frozen=True)
class Stop:
    """One stop of a unit: ``place`` (index; -1 for the break at the station), the minute it
    ``arrive``s, ``start``s (after waiting) and ``depart``s (minutes from the shift start)."""

    place: int
    arrive: float
    start: float
    depart: float

    @property
    def is_break(self) -> bool:
        return self.place < 0


@dataclass(frozen=True, eq=False)
class DosePlan:
    """Stops of every unit of a ``DoseProblem`` and the minute each is back at its end site.

    ``method`` is ``dose``, ``random`` (the baseline) or the name of a peer; ``seconds`` the
    solve time. Checked on construction (``violations``): a plan breaking a rule raises.
    """

    problem: DoseProblem
    stops: tuple[tuple[Stop, ...], ...]
    end_min: tuple[float, ...]
    method: str = "dose"
    seconds: float = 0.0

    def __post_init__(self) -> None:
        bad = self.violations()
        if bad:
            raise GridPatrolError(f"{self.method} dose plan breaks the rules (internal error): "
                                  + "; ".join(bad[:5]))

    def violations(self) -> list[str]:
        """Every broken rule (empty: the plan is feasible)."""
        p, out = self.problem, []
        T = p.travel_min
        for k, stops in enumerate(self.stops):
            here, t = p.start_site[k], 0.0
            for i, s in enumerate(stops):
                site = p.start_site[k] if s.is_break else p.place_site[s.place]
                if s.arrive < t + T[here, site] - _EPS:
                    out.append(f"unit {k + 1} stop {i + 1} arrives before it can")
                if s.start < s.arrive - _EPS:
                    out.append(f"unit {k + 1} stop {i + 1} starts before it arrives")
                length = s.depart - s.start
                if s.is_break:
                    if abs(length - p.break_min) > _EPS:
                        out.append(f"unit {k + 1} break lasts {length:.1f} min")
                elif not (p.dwell_lo - _EPS <= length <= p.dwell_hi + _EPS):
                    out.append(f"unit {k + 1} stop {i + 1} dwells {length:.1f} min")
                here, t = site, s.depart
            if self.end_min[k] < t + T[here, p.end_site[k]] - _EPS:
                out.append(f"unit {k + 1} is back before it can be")
            if self.end_min[k] > p.shift_min + _EPS:
                out.append(f"unit {k + 1} is back after the shift ends")
        for place, visits in self.visits_by_place().items():
            for (a0, a1, _), (b0, b1, _) in zip(visits[:-1], visits[1:]):
                if b0 < a1 + p.min_gap_min - _EPS:
                    out.append(f"place {place} visited again {b0 - a1:.1f} min after a visit")
        return out

    def visits_by_place(self) -> dict[int, list[tuple[float, float, int]]]:
        """{place: [(start, depart, unit), ...] by start}."""
        out: dict[int, list] = {}
        for k, stops in enumerate(self.stops):
            for s in stops:
                if not s.is_break:
                    out.setdefault(s.place, []).append((s.start, s.depart, k))
        return {pl: sorted(v) for pl, v in out.items()}

    @property
    def dose(self) -> np.ndarray:
        """(P, J) patrol minutes per place and slot."""
        p = self.problem
        x = np.zeros((p.n_places, p.n_slots))
        vis = [s for stops in self.stops for s in stops if not s.is_break]
        if vis:
            ov = p.overlap(np.array([s.start for s in vis]), np.array([s.depart for s in vis]))
            np.add.at(x, np.array([s.place for s in vis]), ov)
        return x

    @property
    def objective(self) -> float:
        """Φ (see the module docstring)."""
        return self.problem.value(self.dose)

    def _minutes(self, k: int) -> tuple[float, float, float, float]:
        """(travel, patrol, break, wait) minutes of unit ``k``."""
        p = self.problem
        T, here, t = p.travel_min, p.start_site[k], 0.0
        travel = patrol = brk = wait = 0.0
        for s in self.stops[k]:
            site = p.start_site[k] if s.is_break else p.place_site[s.place]
            travel += T[here, site]
            wait += (s.arrive - t - T[here, site]) + (s.start - s.arrive)
            if s.is_break:
                brk += s.depart - s.start
            else:
                patrol += s.depart - s.start
            here, t = site, s.depart
        travel += T[here, p.end_site[k]]
        wait += self.end_min[k] - t - T[here, p.end_site[k]]
        return travel, patrol, brk, wait

    @property
    def patrol_min(self) -> np.ndarray:
        """Per unit, minutes at places (dwell)."""
        return np.array([self._minutes(k)[1] for k in range(self.problem.n_units)])

    @property
    def travel_min(self) -> np.ndarray:
        return np.array([self._minutes(k)[0] for k in range(self.problem.n_units)])

    @property
    def minutes_used(self) -> np.ndarray:
        """Per unit, travel + patrol + break minutes (what is left of the shift is idle)."""
        return np.array([sum(self._minutes(k)[:3]) for k in range(self.problem.n_units)])

    @property
    def share_of_shift(self) -> np.ndarray:
        return self.minutes_used / self.problem.shift_min

    def top_share(self, *, top_fraction: float = 0.2) -> float:
        """Share of the patrol minutes spent in the top place-hours (``top_pairs``)."""
        x = self.dose
        total = x.sum()
        return float(x[top_pairs(self.problem.risk, top_fraction=top_fraction)].sum() / total) if total > 0 else 0.0


def top_pairs(risk: np.ndarray, *, top_fraction: float = 0.2) -> np.ndarray:
    """Boolean (P, J) mask of the ``ceil(top_fraction · P · J)`` place-slot pairs of highest
    risk (ties broken by place, then slot order)."""
    if not (0 < top_fraction <= 1):
        raise InputError(f"`top_fraction` was {top_fraction!r}; give a share in (0, 1], e.g. 0.2")
    r = np.asarray(risk, float)
    n = int(math.ceil(top_fraction * r.size - 1e-9))
    order = np.argsort(-r, axis=None, kind="stable")[:n]
    mask = np.zeros(r.size, dtype=bool)
    mask[order] = True
    return mask.reshape(r.shape)


def _simulate(p: DoseProblem, rng: np.random.Generator | None, variety: float,
              randomly: bool = False, no_wait: bool = True,
              keep: tuple[tuple[Stop, ...], ...] | None = None
              ) -> tuple[tuple[tuple[Stop, ...], ...], tuple[float, ...]]:
    """One event-driven construction (see the module docstring); ``randomly`` draws each next
    place uniformly among those that fit (the baseline); ``no_wait`` keeps to the places reached
    without waiting whenever there are such; ``keep`` is a start of every unit's stops (a
    plan cut at one minute) from which the construction goes on."""
    K, P = p.n_units, p.n_places
    T = p.travel_min
    t = np.zeros(K)
    here = p.start_site.astype(np.int64).copy()
    stops: list[list[Stop]] = [[] for _ in range(K)]
    done_break = np.full(K, p.break_min <= 0)
    ready = np.full(P, -np.inf)        # earliest start of the next visit of each place
    last_of: list[tuple[int, int] | None] = [None] * P  # (unit, index) of each place's latest visit
    x = np.zeros((P, p.n_slots))
    for k, kept in enumerate(keep or ()):
        for s in kept:
            stops[k].append(s)
            t[k] = s.depart
            if s.is_break:
                here[k], done_break[k] = p.start_site[k], True
                continue
            here[k] = p.place_site[s.place]
            x[s.place] += p.overlap(np.array([s.start]), np.array([s.depart]))[0]
            if s.depart + p.min_gap_min >= ready[s.place]:
                ready[s.place] = s.depart + p.min_gap_min
                last_of[s.place] = (k, len(stops[k]) - 1)
    end = np.full(K, np.nan)
    active = set(range(K))
    lo, nominal = p.dwell_lo, p.dwell_min
    while active:
        k = min(active, key=lambda u: (t[u], u))
        c, tk = here[k], t[k]
        home, fin = p.start_site[k], p.end_site[k]
        if not done_break[k] and tk + T[c, home] >= p.break_time(k) - 0.5 * nominal:
            _take_break(p, stops, k, t, here)
            done_break[k] = True
            continue
        a = tk + T[c, p.place_site]
        s = np.maximum(a, ready)
        limit = p.shift_min - T[p.place_site, fin]
        # Time of the rest of the shift the break still needs (it is taken at the station).
        if not done_break[k]:
            limit = np.minimum(limit, p.shift_min - p.break_min - T[home, fin]
                               - T[p.place_site, home])
        d = np.minimum(nominal, limit - s)
        ok = (d >= lo - _EPS) & np.isfinite(a)
        if not ok.any():
            # Nothing fits: stretch the current stay if that is allowed, then go home.
            if not done_break[k]:
                _take_break(p, stops, k, t, here)  # no visit fits before it: take it now
                done_break[k] = True
                continue
            _stretch(p, stops, last_of, ready, x, k, t, limit_end=p.shift_min - T[c, fin])
            end[k] = t[k] + T[here[k], fin]
            active.discard(k)
            continue
        idx = np.flatnonzero(ok)
        if not randomly and no_wait:
            # Waiting is idle time: keep to the places reached without waiting longer than the
            # current stay can still be stretched; if there are none, to the shortest waits.
            wait = s[idx] - a[idx]
            room = _stretch_room(p, stops, last_of, k)
            fits = wait <= room + _EPS
            idx = idx[fits] if fits.any() else idx[wait <= wait.min() + 1.0]
        ov = p.overlap(s[idx], s[idx] + d[idx])
        gain = (p.risk[idx] * (np.log1p((x[idx] + ov) / nominal) - np.log1p(x[idx] / nominal))).sum(axis=1)
        spent = s[idx] + d[idx] - tk
        if randomly:
            assert rng is not None, "a random construction needs an rng"
            short = idx[(s[idx] - a[idx]) <= nominal]
            pick = int(rng.choice(short if len(short) else idx))
        else:
            score = gain / np.maximum(spent, 1e-6)
            best = score.max()
            if variety > 0 and rng is not None and len(idx) > 1:
                cand = np.flatnonzero(score >= best - variety * abs(best) - 1e-12)
                j = int(rng.choice(cand))
            else:
                j = int(np.lexsort((spent, -score))[0])
            pick = int(idx[j])
        wait = s[pick] - a[pick]
        if wait > _EPS and not randomly:
            # Rather than wait at the next place, stay longer at the current one.
            t_before = t[k]
            _stretch(p, stops, last_of, ready, x, k, t, limit_end=tk + wait)
            if t[k] > t_before + _EPS:
                continue  # re-decide from the later minute
        st = float(s[pick])
        dd = float(d[pick])
        stops[k].append(Stop(pick, float(a[pick]), st, st + dd))
        x[pick] += p.overlap(np.array([st]), np.array([st + dd]))[0]
        ready[pick] = st + dd + p.min_gap_min
        last_of[pick] = (k, len(stops[k]) - 1)
        t[k], here[k] = st + dd, p.place_site[pick]
    return tuple(tuple(s) for s in stops), tuple(float(e) for e in end)


def _take_break(p: DoseProblem, stops, k: int, t: np.ndarray, here: np.ndarray) -> None:
    """Unit ``k`` drives to its start site (the station) and rests ``break_min`` there, when
    that still lets it end in time."""
    T, home, fin = p.travel_min, p.start_site[k], p.end_site[k]
    arrive = t[k] + T[here[k], home]
    if arrive + p.break_min + T[home, fin] <= p.shift_min + _EPS:
        stops[k].append(Stop(-1, float(arrive), float(arrive), float(arrive + p.break_min)))
        t[k], here[k] = arrive + p.break_min, home


def _stretch_room(p: DoseProblem, stops, last_of, k: int) -> float:
    """Minutes unit ``k``'s current stay may still be stretched (0 if it may not)."""
    if not stops[k] or stops[k][-1].is_break:
        return 0.0
    s = stops[k][-1]
    if last_of[s.place] != (k, len(stops[k]) - 1):
        return 0.0
    return max(0.0, s.start + p.dwell_hi - s.depart)


def _stretch(p: DoseProblem, stops, last_of, ready, x, k: int, t: np.ndarray, *, limit_end: float) -> None:
    """Lengthen unit ``k``'s last stay (a place visit that is still that place's latest) up to
    the longest dwell and up to ``limit_end``; updates the state in place."""
    if not stops[k] or stops[k][-1].is_break:
        return
    s = stops[k][-1]
    if last_of[s.place] != (k, len(stops[k]) - 1):
        return
    new_depart = min(s.start + p.dwell_hi, limit_end)
    if new_depart <= s.depart + _EPS:
        return
    x[s.place] += p.overlap(np.array([s.depart]), np.array([new_depart]))[0]
    stops[k][-1] = Stop(s.place, s.arrive, s.start, new_depart)
    ready[s.place] = new_depart + p.min_gap_min
    t[k] = new_depart


def _check(problem: DoseProblem) -> None:
    reasons = []
    T = problem.travel_min
    for k in range(problem.n_units):
        trip = (T[problem.start_site[k], problem.place_site] + problem.dwell_lo
                + T[problem.place_site, problem.end_site[k]])
        if problem.n_places and not (trip.min() + problem.break_min <= problem.shift_min + _EPS):
            reasons.append(f"unit {k + 1}: the shortest round trip to a place takes "
                           f"{trip.min():.1f} min (with a {problem.break_min:g}-min break), longer "
                           f"than the {problem.shift_min:g}-min shift; lengthen the shift or start "
                           "nearer the places")
    if problem.n_places == 0:
        reasons.append("there are no places to patrol; choose another shift or check the incidents")
    if reasons:
        raise PatrolInfeasible("no patrol dose plan is possible: " + "; ".join(reasons))


def _key(plan: DosePlan, fill_target: float) -> tuple[float, float]:
    return (min(float(plan.share_of_shift.min()), fill_target), plan.objective)


def solve_dose(problem: DoseProblem, *, rng: np.random.Generator | None = None,
               variety: float = 0.0, iterations: int = 200, time_limit_s: float = 5.0,
               fill_target: float = 0.9) -> DosePlan:
    """The plan of highest Φ found by greedy construction and randomised repeats (GRASP).

    Every other repeat keeps the best plan so far up to a random minute of the shift and
    rebuilds the rest (a ruin-and-recreate local search in time). One construction in four may
    wait at a place whose gap has not yet run out even when another place could be served at
    once. Among the constructions, a plan in which every unit uses at least ``fill_target`` of its
    shift beats one in which some unit does not (then the higher least share wins); among those
    that reach it, the higher Φ wins.

    Parameters
    ----------
    problem : the problem.
    rng : numpy Generator for the randomised repeats (default ``default_rng(0)``: the same call
        gives the same plan).
    variety : 0 starts from the deterministic greedy and keeps the best of it and the repeats;
        > 0 (e.g. 0.15) makes every construction randomised (choices within that share of the
        best ratio), so that different seeds give different plans.
    iterations, time_limit_s : randomised repeats, and their wall-clock limit (seconds).

    Raises PatrolInfeasible when arithmetic shows that no unit can make a single visit.
    """
    _check(problem)
    if not (0 <= fill_target <= 1):
        raise InputError(f"`fill_target` was {fill_target!r}; give a share of the shift in 0..1")
    t0 = time.perf_counter()
    rng = rng if rng is not None else np.random.default_rng(0)
    best = None
    if variety <= 0:
        stops, end = _simulate(problem, None, 0.0)
        best = DosePlan(problem, stops, end, method="dose")
    for it in range(iterations):
        if best is not None and time.perf_counter() - t0 > time_limit_s:
            break
        v = variety if variety > 0 else float(rng.choice([0.05, 0.1, 0.2]))
        keep = None
        if best is not None and it % 2 == 1:
            # Local search: keep the best plan up to a random minute, rebuild the rest.
            cut = float(rng.uniform(0.0, problem.shift_min))
            keep = tuple(tuple(itertools.takewhile(lambda s: s.depart <= cut, stops_k))
                         for stops_k in best.stops)
        stops, end = _simulate(problem, rng, v, no_wait=bool(it % 4 != 3), keep=keep)
        plan = DosePlan(problem, stops, end, method="dose")
        if best is None or _key(plan, fill_target) > _key(best, fill_target):
            best = plan
    if best is None:  # no repeat ran (iterations 0 with variety): the deterministic construction
        stops, end = _simulate(problem, None, 0.0)
        best = DosePlan(problem, stops, end, method="dose")
    return DosePlan(problem, best.stops, best.end_min, method="dose", seconds=time.perf_counter() - t0)


def solve_random(problem: DoseProblem, *, rng: np.random.Generator) -> DosePlan:
    """The baseline: same units, dwell, gaps, break and travel; each next place at random."""
    _check(problem)
    t0 = time.perf_counter()
    stops, end = _simulate(problem, rng, 0.0, randomly=True)
    return DosePlan(problem, stops, end, method="random", seconds=time.perf_counter() - t0)


def baseline_top_share(problem: DoseProblem, *, rng: np.random.Generator | None = None,
                       draws: int = 10, top_fraction: float = 0.2) -> float:
    """Mean ``top_share`` of ``draws`` random patrols (``solve_random``) of the problem."""
    rng = rng if rng is not None else np.random.default_rng(0)
    return float(np.mean([solve_random(problem, rng=rng).top_share(top_fraction=top_fraction)
                          for _ in range(max(1, int(draws)))]))
