"""Redistricting benchmark: Chicago time-to-5 % against GerryChain, and exact MIP vs local search.

Run: ``.venv/bin/python bench/bench_redistrict.py [--peer-seconds 120] [--mip-seconds 60]``.
Prints absolute figures, the ratios and the machine. Needs ../shared/data; GerryChain is
optional (``pip install gerrychain``), and its absence is reported.
"""
from __future__ import annotations

import argparse
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import machine  # noqa: E402
from bench.chicago_cells import chicago_instance  # noqa: E402
from planning.exact import exact_plan  # noqa: E402
from planning.plan import Plan, connected_within, district_graph  # noqa: E402
from planning.redistrict import ScoreWeights, grown_plan, optimize, redistrict, repaired_plan  # noqa: E402


def ours(graph, current) -> dict:
    start = repaired_plan(current)
    t0 = time.perf_counter()
    last = None
    for last in optimize(start, max_deviation=0.05, baseline=current, time_limit_s=120,
                         weights=ScoreWeights(change=0.05), rng=np.random.default_rng(0)):
        pass
    plan = last["plan"]
    return {"seconds_total": time.perf_counter() - t0, "seconds_to_5pct": last["target_reached_s"],
            "max_dev": plan.max_deviation, "contiguous": plan.contiguous,
            "stations_held": int((plan.assignment[graph.station_cell] == np.arange(graph.n_stations)).sum()),
            "pp": float(plan.polsby_popper.mean()), "changed": plan.cells_changed(current)}


def gerrychain_peer(graph, current, seconds: float) -> dict:
    try:
        import networkx as nx
        from gerrychain import Graph, Partition, updaters
        from gerrychain.constraints import contiguous
        from gerrychain.optimization import SingleMetricOptimizer
        from gerrychain.proposals import recom
    except ImportError as exc:
        return {"error": f"gerrychain not installed ({exc})"}
    G = nx.Graph()
    for c in range(graph.n_cells):
        G.add_node(c, work=float(graph.workload[c]))
    G.add_edges_from(zip(graph.pairs["a"].tolist(), graph.pairs["b"].tolist()))
    gg = Graph.from_networkx(G)
    start = repaired_plan(current)
    part = Partition(gg, assignment={c: int(s) for c, s in enumerate(start.assignment)},
                     updaters={"work": updaters.Tally("work", alias="work")})
    ideal = graph.mean_workload
    proposal = partial(recom, pop_col="work", pop_target=ideal, epsilon=0.05, node_repeats=0)

    def max_dev(p) -> float:
        return max(abs(v / ideal - 1) for v in p["work"].values())

    opt = SingleMetricOptimizer(proposal=proposal, constraints=[contiguous], initial_state=part,
                                optimization_metric=max_dev, maximize=False)
    import random
    random.seed(0)
    t0 = time.perf_counter()
    reached = None
    steps = 0
    best = part
    error = None
    try:
      for p in opt.short_bursts(burst_length=10, num_bursts=10_000):
        steps += 1
        if max_dev(p) < max_dev(best):
            best = p
        if reached is None and max_dev(best) <= 0.05:
            reached = time.perf_counter() - t0
        if time.perf_counter() - t0 > seconds or reached is not None and steps > 200:
            break
    except RuntimeError as exc:  # ReCom gives up when a merged pair cannot be split within 5 %
        error = str(exc)
    assign = np.array([best.assignment[c] for c in range(graph.n_cells)])
    held = int((assign[graph.station_cell] == np.arange(graph.n_stations)).sum())
    contig = all(len(connected_within(np.flatnonzero(assign == s).tolist(), graph.neighbours)) == 1
                 for s in range(graph.n_stations))
    plan = Plan(graph, assign)
    return {"seconds_total": time.perf_counter() - t0, "seconds_to_5pct": reached,
            "max_dev": max_dev(best), "contiguous": contig, "stations_held": held,
            "pp": float(plan.polsby_popper.mean()), "changed": plan.cells_changed(current),
            "steps": steps, "stopped_by": error}


def exact_vs_local(mip_seconds: float) -> list[dict]:
    sys.path.insert(0, str(ROOT / "tests"))
    from tests._grids import random_instance
    rows = []
    for seed, nx_, ny, k in [(11, 8, 8, 4), (13, 10, 10, 5), (14, 12, 12, 6), (15, 14, 14, 7)]:
        cells, st = random_instance(seed, nx_, ny, k)
        g = district_graph(cells, st)
        res = exact_plan(g, objective="distance", max_deviation=0.05, time_limit_s=mip_seconds)
        t0 = time.perf_counter()
        best = redistrict(grown_plan(g), max_deviation=0.05, rng=np.random.default_rng(0),
                          weights=ScoreWeights(balance=0.0, rms=0.0, perimeter=0.0,
                                               compactness=1.0, over_target=100.0))
        tl = time.perf_counter() - t0
        own = g.cost[np.arange(g.n_cells), best.assignment]
        local = float((g.workload * own).sum() / g.workload.sum())
        rows.append({"cells": g.n_cells, "k": k, "mip_status": res.status, "mip_value_m": res.value,
                     "mip_bound_m": res.bound, "mip_gap": res.gap, "mip_s": res.seconds,
                     "local_value_m": local, "local_max_dev": best.max_deviation, "local_s": tl,
                     "gap_to_mip": local / res.value - 1 if res.value else None,
                     "time_ratio": res.seconds / tl})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--peer-seconds", type=float, default=120)
    ap.add_argument("--mip-seconds", type=float, default=60)
    ap.add_argument("--skip-exact", action="store_true")
    args = ap.parse_args(argv)
    print("machine:", machine())
    data = (ROOT / ".." / "shared" / "data").resolve()
    cells, stations = chicago_instance(data)
    graph = district_graph(cells, stations, weights="incidents")
    current = Plan.from_labels(graph, cells.set_index("cell_id")["station_id"])
    print(f"Chicago: {graph.n_cells} cells of 500 m, {graph.n_stations} stations, workload = 2016 "
          f"crimes; current districts max deviation {current.max_deviation:.1%}")
    a = ours(graph, current)
    b = gerrychain_peer(graph, current, args.peer_seconds)
    for name, r in (("GridPatrol local search", a), ("GerryChain ReCom short bursts", b)):
        if "error" in r:
            print(f"  {name}: {r['error']}")
            continue
        to5 = "not reached" if r["seconds_to_5pct"] is None else f"{r['seconds_to_5pct']:.2f} s"
        print(f"  {name}: to 5 %: {to5}; final max dev {r['max_dev']:.2%} after "
              f"{r['seconds_total']:.1f} s; contiguous {r['contiguous']}; stations held "
              f"{r['stations_held']}/{graph.n_stations}; mean Polsby-Popper {r['pp']:.3f}; "
              f"cells changed {r['changed']}" + (f"; stopped: {r['stopped_by']}" if r.get("stopped_by") else ""))
    if "error" not in b and a["seconds_to_5pct"] and b["seconds_to_5pct"]:
        print(f"  ratio (GerryChain / GridPatrol time to 5 %): {b['seconds_to_5pct'] / a['seconds_to_5pct']:.1f}x")
    if not args.skip_exact:
        print("exact MIP (HiGHS, flow contiguity; min workload-weighted distance s.t. ±5 %) vs local search:")
        for r in exact_vs_local(args.mip_seconds):
            gap = "n/a" if r["gap_to_mip"] is None else f"{r['gap_to_mip']:+.2%}"
            print(f"  {r['cells']:4d} cells, {r['k']} stations: MIP {r['mip_status']}, "
                  f"{r['mip_value_m']:.1f} m (bound {r['mip_bound_m']:.1f}, gap {r['mip_gap']:.2%}) "
                  f"in {r['mip_s']:.1f} s; local {r['local_value_m']:.1f} m, max dev "
                  f"{r['local_max_dev']:.1%}, in {r['local_s']:.2f} s; local vs MIP {gap}; "
                  f"time ratio MIP/local {r['time_ratio']:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
