"""Least change: workload and people moved against the lower bound, vs the annealing optimiser
and, on small grids, vs the exact MIP optimum (objective "moved").

Run: ``.venv/bin/python bench/bench_least_change.py [--quick] [--time-limit S] [--mip-seconds S]``.

Demo county (data/boundaries/demo_county.gpkg), 5 % target, weights ``population`` and
``incidents=2,population``: moved share / bound (ratio) of ``planning.least_change`` and of the
annealing optimiser (``optimize`` with its default change weight 0.05, as ``gridpatrol
redistrict`` runs it) in the same run, on the workspace graph (barriers: rivers, railways,
motorways, crossed only at road crossings) and on the plain touching adjacency (the graph issue
13 measured on). Small grids (40-80 cells, 3-5 stations, Poisson workloads; baseline = nearest
station): least change vs the MIP optimum. ``--quick`` runs two small grids only.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import machine
from planning.exact import exact_plan
from planning.least_change import least_change, moved_bound, moved_column_bound
from planning.plan import Plan, district_graph
from planning.redistrict import ScoreWeights, optimize, repaired_plan

DEMO = ROOT / "data" / "boundaries" / "demo_county.gpkg"
SMALL_SEEDS = [s for s in range(30) if s not in (2, 5, 8)]  # 2, 5, 8: MIP not proven in 40 s


def _moved(plan: Plan, current: Plan) -> tuple[float, float]:
    g = plan.graph
    changed = plan.assignment != current.assignment
    return (float(g.workload[changed].sum() / g.workload.sum()),
            float(g.column("population")[changed].sum()))


def demo(weights: str, barriers: bool, time_limit: float) -> None:
    from geo.workspace import read_workspace
    from planning.study import current_plan, workspace_graph
    ws = read_workspace(DEMO)
    graph = workspace_graph(ws, weights=weights, **({} if barriers else {"barriers": ()}))
    current = current_plan(ws, graph)
    b = moved_bound(current, 0.05)
    people_bound = (moved_column_bound(current, 0.05, "population")
                    if "population" in graph.weights else None)
    adj = "workspace graph (barriers)" if barriers else "touching adjacency (no barriers)"
    print(f"demo, --weight {weights}, 5 %, {adj}: {graph.n_cells} cells, {graph.n_stations} "
          f"stations; current max deviation {current.max_deviation:.1%}; bound {b['bound']:.2%} "
          f"of the workload ({b['binds']}: excess {b['excess']:.2%}, deficit {b['deficit']:.2%})"
          + ("" if people_bound is None else f", people bound {people_bound:,.0f}"))
    t0 = time.perf_counter()
    res = least_change(current, baseline=current, max_deviation=0.05, time_limit_s=time_limit,
                       rng=np.random.default_rng(0))
    lc_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    last = None
    for last in optimize(repaired_plan(current), max_deviation=0.05, baseline=current,
                         weights=ScoreWeights(change=0.05), rng=np.random.default_rng(0)):
        pass
    an_s = time.perf_counter() - t0
    an = last["plan"]
    an_w, an_p = _moved(an, current)
    rows = [("least change", res.plan, res.moved_workload, res.moved["population"], lc_s),
            ("annealing (change weight 0.05)", an, an_w, an_p, an_s)]
    for name, plan, mw, mp, secs in rows:
        ratio = mw / b["bound"] if b["bound"] else float("nan")
        people = ("" if people_bound is None else
                  f"; {mp:,.0f} people moved (ratio {mp / people_bound:.2f})")
        print(f"  {name}: moved {mw:.2%} of the workload (ratio {ratio:.2f}){people}; "
              f"{plan.cells_changed(current)} cells; max deviation {plan.max_deviation:.2%}; "
              f"contiguous {plan.contiguous}; {secs:.1f} s")
    print(f"  least change / annealing moved workload: {res.moved_workload / an_w:.2f}; "
          f"phases {', '.join(f'{k} {v:.2%}' for k, v in res.phases.items())}")


def small(seeds: list[int], mip_seconds: float) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from tests._grids import random_instance
    print("small grids, 5 %: least change vs exact MIP (objective 'moved', flow contiguity)")
    ratios = []
    for seed in seeds:
        nx_, ny = [(8, 5), (8, 8), (10, 6), (9, 8), (10, 8)][seed % 5]
        k = 3 + seed % 3
        cells, st_ = random_instance(seed, nx_, ny, k)
        g = district_graph(cells, st_)
        base = repaired_plan(Plan(g, np.argmin(g.cost, axis=1)))
        t0 = time.perf_counter()
        res = least_change(base, max_deviation=0.05, order=("workload",), time_limit_s=10,
                           rng=np.random.default_rng(0))
        lc_s = time.perf_counter() - t0
        ex = exact_plan(g, objective="moved", baseline=base, max_deviation=0.05,
                        time_limit_s=mip_seconds)
        if ex.plan is None or not ex.optimal:
            print(f"  seed {seed}: {g.n_cells} cells, {k} stations: MIP {ex.status} after "
                  f"{ex.seconds:.0f} s (best {ex.value}, bound {ex.bound:.4f}); least change "
                  f"{res.moved_workload:.2%} in {lc_s:.1f} s")
            continue
        ratio = res.moved_workload / ex.value if ex.value else 1.0
        ratios.append(ratio)
        print(f"  seed {seed}: {g.n_cells} cells, {k} stations, current max dev "
              f"{base.max_deviation:.0%}: bound {res.moved_bound:.2%}, MIP optimum {ex.value:.2%} "
              f"({ex.seconds:.1f} s), least change {res.moved_workload:.2%} ({lc_s:.2f} s, "
              f"target met {res.target_met}, contiguous {res.plan.contiguous}); "
              f"heuristic / optimum {ratio:.4f}")
    if ratios:
        print(f"  {len(ratios)} instances proven optimal: heuristic / optimum mean "
              f"{np.mean(ratios):.4f}, worst {max(ratios):.4f}, within 2 %: "
              f"{sum(r <= 1.02 + 1e-12 for r in ratios)}/{len(ratios)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="two small grids only")
    ap.add_argument("--time-limit", type=float, default=None,
                    help="least-change time limit on the demo (default: its own, 5 + cells/200 s)")
    ap.add_argument("--mip-seconds", type=float, default=60)
    ap.add_argument("--skip-demo", action="store_true")
    args = ap.parse_args(argv)
    logging.disable(logging.WARNING)
    print("machine:", machine())
    if not args.quick and not args.skip_demo:
        for barriers in (True, False):
            for weights in ("population", "incidents=2,population"):
                demo(weights, barriers, args.time_limit)
    small(SMALL_SEEDS[:2] if args.quick else SMALL_SEEDS, 30 if args.quick else args.mip_seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
