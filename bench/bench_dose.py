"""Patrol dose benchmark: whole-shift dose plans against a random patrol and against OR-Tools.

Run: ``.venv/bin/python bench/bench_dose.py [--seconds 5] [--ortools-seconds 10] [--quick]``.

On the demo county's stations and shifts (places: a station's riskiest cells, risk per place and
hour from ``place_hour_risk``), the same ``DoseProblem`` is solved by

* ours (``solve_dose``: greedy + randomised repeats), and its first greedy construction alone;
* the random patrol (``solve_random``, 10 draws): same units, dwell, gaps, breaks and travel;
* the time-expanded team orienteering problem with time windows, one optional visit per place
  and hour (arrive within the hour, prize = the place's risk in that hour, dwell 12, shift less
  the break), solved by our visit-once heuristic (``solve_heuristic``) and by OR-Tools routing
  (``AddDisjunction`` penalties, a time dimension with waiting): neither models the gap between
  visits nor two units at one place, so their breaches of those rules are counted.

Every plan is measured the same way: Φ (the dose objective), the least share of the shift a unit
uses (travel + patrol + break), the share of patrol minutes in the top 20 % place-hours, and the
breaches. OR-Tools comes with the ``bench`` extra (``pip install -e .[bench]``); without it the
peer is skipped with a note.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import machine  # noqa: E402
from planning.patrol.dose import DoseProblem, solve_dose, solve_random, top_pairs  # noqa: E402
from planning.patrol.problem import PatrolProblem  # noqa: E402
from planning.patrol.search import solve_heuristic  # noqa: E402

DEMO = ROOT / "data" / "boundaries" / "demo_county.gpkg"
CASES = [("S01", 2, "08:00-16:00"), ("S05", 3, "22:00-06:00"), ("S10", 2, "16:00-24:00"),
         ("S07", 3, "08:00-16:00")]


def demo_problem(ws, G, engine, station: str, units: int, shift: str) -> DoseProblem:
    """The ``DoseProblem`` that ``dose_for_workspace`` solves (places, risk, travel)."""
    from geo.ids import id_str, normalise_ids
    from geo.network import snap_points
    from geo.traveltime import minutes_matrix
    from planning.patrol import shift_hotspots
    from planning.patrol.dose_routes import place_hour_risk
    hot = shift_hotspots(ws.layer("cells"), ws.layer("incidents"), shift=shift, station_id=station,
                         max_hotspots=30, permutations=0)
    R = place_hour_risk(hot, ws.layer("incidents"), shift=shift)
    st = ws.layer("stations")
    home = id_str(st.loc[(normalise_ids(st["station_id"]) == station).to_numpy(), "node_id"].iloc[0])
    nodes = list(snap_points(hot, G, what="places")["node"])
    sites = list(dict.fromkeys([*nodes, home]))
    T = minutes_matrix(engine, sites, sites)
    from geo.hotspots import shift_from_text
    return DoseProblem.from_matrix(T, R, starts=[sites.index(home)] * units,
                                   shift_min=shift_from_text(shift).minutes,
                                   place_site=[sites.index(n) for n in nodes])


def measure(p: DoseProblem, visits: list[list[tuple[int, float, float]]], back: list[float],
            has_break: bool) -> dict:
    """Φ, least share of shift used, top-20 % share and rule breaches of a plan given as, per
    unit, (place, start, depart) stays and the minute it is back (its own check: no solver's)."""
    x = np.zeros((p.n_places, p.n_slots))
    used = []
    for k, vs in enumerate(visits):
        here, travel, patrol = p.start_site[k], 0.0, 0.0
        for q, s, d in vs:
            travel += p.travel_min[here, p.place_site[q]]
            patrol += d - s
            x[q] += p.overlap(np.array([s]), np.array([d]))[0]
            here = p.place_site[q]
        travel += p.travel_min[here, p.end_site[k]]
        used.append(travel + patrol + (p.break_min if has_break else 0.0))
    by_place: dict[int, list] = {}
    for vs in visits:
        for q, s, d in vs:
            by_place.setdefault(q, []).append((s, d))
    gap_breaches = together = 0
    for vs in by_place.values():
        vs.sort()
        for (a0, a1), (b0, b1) in zip(vs[:-1], vs[1:]):
            together += b0 < a1 - 1e-6
            gap_breaches += b0 < a1 + p.min_gap_min - 1e-6
    top = top_pairs(p.risk)
    return {"phi": p.value(x), "fill": min(used) / p.shift_min,
            "top": float(x[top].sum() / x.sum()) if x.sum() > 0 else 0.0,
            "gap_breaches": gap_breaches, "together": together}


def dose_measure(plan) -> dict:
    vis = [[(s.place, s.start, s.depart) for s in stops if not s.is_break] for stops in plan.stops]
    m = measure(plan.problem, vis, list(plan.end_min), has_break=True)
    m["fill"] = float(plan.share_of_shift.min())  # breaks skipped at the end are not counted
    return m


def time_expanded(p: DoseProblem) -> tuple[PatrolProblem, np.ndarray, np.ndarray]:
    """One optional visit per place and slot: arrive within the slot (leaving a full dwell in
    it), prize = the place's risk in the slot; the budget is the shift less the break."""
    P, J = p.risk.shape
    vp = np.repeat(np.arange(P), J)
    vj = np.tile(np.arange(J), P)
    opens = vj * p.slot_min
    closes = np.minimum((vj + 1) * p.slot_min, p.shift_min) - p.dwell_min
    keep = (closes >= opens) & (p.risk[vp, vj] > 0)
    vp, vj, opens, closes = vp[keep], vj[keep], opens[keep], closes[keep]
    K = p.n_units
    prob = PatrolProblem(travel_min=p.travel_min[None], visit_site=p.place_site[vp], visit_hotspot=vp,
                         risk=p.risk[vp, vj], dwell_min=np.full(len(vp), p.dwell_min),
                         open_min=opens.astype(float), close_min=closes.astype(float),
                         required=np.zeros(len(vp), bool), start_site=p.start_site.copy(),
                         end_site=p.end_site.copy(), budget_min=np.full(K, p.shift_min - p.break_min),
                         mode=np.zeros(K, dtype=np.int64))
    return prob, vp, vj


def ortools_routes(tp: PatrolProblem, seconds: float):
    """OR-Tools routing with time windows and optional visits on the time-expanded problem:
    per unit, the visits in order (None and a note when OR-Tools is missing or fails)."""
    try:
        from ortools.constraint_solver import pywrapcp, routing_enums_pb2
    except ImportError:
        return None, "OR-Tools not installed (pip install -e .[bench]); peer skipped"
    V, K = tp.n_visits, tp.n_units
    depot = int(tp.start_site[0])
    site = np.concatenate([[depot], tp.visit_site])
    dwell = np.concatenate([[0.0], tp.dwell_min])
    sec = np.ceil((tp.travel_min[0][np.ix_(site, site)] + dwell[:, None]) * 60.0).astype(np.int64)
    manager = pywrapcp.RoutingIndexManager(V + 1, K, 0)
    routing = pywrapcp.RoutingModel(manager)
    cb = routing.RegisterTransitCallback(lambda i, j: int(sec[manager.IndexToNode(i), manager.IndexToNode(j)]))
    routing.SetArcCostEvaluatorOfAllVehicles(cb)
    horizon = int(tp.budget_min[0] * 60)
    routing.AddDimension(cb, horizon, horizon, False, "Time")
    dim = routing.GetDimensionOrDie("Time")
    for v in range(V):
        idx = manager.NodeToIndex(v + 1)
        dim.CumulVar(idx).SetRange(int(np.ceil(tp.open_min[v] * 60)), int(np.floor(tp.close_min[v] * 60)))
    for k in range(K):
        dim.CumulVar(routing.Start(k)).SetRange(0, 0)
    scale = 1e6 / max(tp.risk.max(), 1e-9)
    for v in range(V):
        routing.AddDisjunction([manager.NodeToIndex(v + 1)], int(round(tp.risk[v] * scale)))
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(int(seconds * 1000))
    sol = routing.SolveWithParameters(params)
    if sol is None:
        return None, "OR-Tools found no solution"
    routes = []
    for k in range(K):
        i, r = sol.Value(routing.NextVar(routing.Start(k))), []
        while not routing.IsEnd(i):
            r.append((manager.IndexToNode(i) - 1, sol.Min(dim.CumulVar(i)) / 60.0))
            i = sol.Value(routing.NextVar(i))
        routes.append(r)
    return routes, "ok"


def routes_as_visits(tp: PatrolProblem, vp: np.ndarray, routes) -> tuple[list, list]:
    """Per unit (place, start, depart) and the minute back, scheduling each route at the
    earliest times (arrive, wait for the window's opening)."""
    visits, back = [], []
    T = tp.travel_min[0]
    for k, r in enumerate(routes):
        t, here, vs = 0.0, tp.start_site[k], []
        for v in r:
            t = max(t + T[here, tp.visit_site[v]], tp.open_min[v])
            vs.append((int(vp[v]), t, t + tp.dwell_min[v]))
            t += tp.dwell_min[v]
            here = tp.visit_site[v]
        visits.append(vs)
        back.append(t + T[here, tp.end_site[k]])
    return visits, back


def row(name: str, m: dict, seconds: float, ref: dict | None = None) -> str:
    ratio = f"  Φ/ours {m['phi'] / ref['phi']:.3f}" if ref else ""
    return (f"  {name:<30s} Φ {m['phi']:9.1f}  least fill {m['fill']:6.1%}  top-20% share {m['top']:6.1%}"
            f"  gap breaches {m['gap_breaches']:5.1f}  together {m['together']:5.1f}  {seconds:6.2f} s{ratio}")


def compare(label: str, p: DoseProblem, seconds: float, ort_seconds: float) -> None:
    print(f"\n== {label}: {p.n_places} places x {p.n_slots} hours, {p.n_units} units, shift "
          f"{p.shift_min:.0f} min, dwell {p.dwell_min:g} ({p.dwell_lo:g}-{p.dwell_hi:g}), gap "
          f"{p.min_gap_min:g}, break {p.break_min:g}")
    t0 = time.perf_counter()
    greedy = solve_dose(p, iterations=0)
    t_greedy = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = solve_dose(p, time_limit_s=seconds, iterations=100000)
    t_ours = time.perf_counter() - t0
    ref = dose_measure(ours)
    print(row("ours (greedy + GRASP)", ref, t_ours))
    print(row("ours, greedy only", dose_measure(greedy), t_greedy, ref))
    seeded = [solve_dose(p, rng=np.random.default_rng(s), variety=0.15, time_limit_s=seconds / 2,
                         iterations=100000) for s in (1, 2, 3)]
    print("  seeded x3 (variety 0.15): Φ loss vs ours "
          + ", ".join(f"{1 - s.objective / ours.objective:.2%}" for s in seeded))
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    rand = [dose_measure(solve_random(p, rng=rng)) for _ in range(10)]
    t_rand = (time.perf_counter() - t0) / 10
    mean = {k: float(np.mean([r[k] for r in rand])) for k in rand[0]}
    print(row("random patrol (mean of 10)", mean, t_rand, ref)
          + f"   -> top share ours/random {ref['top'] / mean['top']:.2f}")
    tp, vp, _ = time_expanded(p)
    t0 = time.perf_counter()
    te = solve_heuristic(tp, time_limit_s=seconds, iterations=100000)
    t_te = time.perf_counter() - t0
    vis, back = routes_as_visits(tp, vp, te.routes)
    print(row("time-expanded, our TOPTW ILS", measure(p, vis, back, has_break=True), t_te, ref))
    t0 = time.perf_counter()
    routes, status = ortools_routes(tp, ort_seconds)
    t_ort = time.perf_counter() - t0
    if routes is None:
        print(f"  OR-Tools: {status}")
        return
    vis, back = routes_as_visits(tp, vp, [[v for v, _ in r] for r in routes])
    print(row("time-expanded, OR-Tools GLS", measure(p, vis, back, has_break=True), t_ort, ref))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0, help="our time limit per plan (5)")
    ap.add_argument("--ortools-seconds", type=float, default=10.0, help="OR-Tools' time limit (10)")
    ap.add_argument("--quick", action="store_true", help="one small case, short limits (tests)")
    args = ap.parse_args(argv)
    print("machine:", machine())
    if not DEMO.exists():
        print(f"demo workspace {DEMO} not built; run `gridpatrol demo` first")
        return 0
    from geo.network import graph_from_workspace
    from geo.traveltime import engine_from_graph
    from geo.workspace import read_workspace
    ws = read_workspace(DEMO)
    G = graph_from_workspace(ws)
    engine = engine_from_graph(G)
    cases = CASES[:1] if args.quick else CASES
    secs, ort = (0.3, 1.0) if args.quick else (args.seconds, args.ortools_seconds)
    for station, units, shift in cases:
        compare(f"demo {station}, {units} units, {shift}", demo_problem(ws, G, engine, station, units, shift),
                secs, ort)
    return 0


if __name__ == "__main__":
    sys.exit(main())
