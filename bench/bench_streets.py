"""Street coverage (rural postman) against the exact optimum, measured in one run.

1. Sleeping Giant (postman_problems' example, miles): our tour, the exact integer program, and the
   package's published rural-postman answer (32.12).
2. Random small mixed networks (one-way and two-way streets): the flow heuristic alone and the
   full method (heuristic + time-limited integer program) against the exact optimum.
3. The demo county's stations (street + arterial classes, one-way streets honoured): the flow
   heuristic, the full method, the lower bound, and the exact integer program on the whole network
   (within a time limit), with seconds.

Run: ``.venv/bin/python bench/bench_streets.py [--quick]``.
"""
from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import machine  # noqa: E402
from planning.streets import _postman_mip, directed_lengths, directed_postman_tour, postman_tour, rural_postman_mip  # noqa: E402

DEMO = ROOT / "data" / "boundaries" / "demo_county.gpkg"
GIANT = ROOT / "tests" / "data" / "sleeping_giant" / "edgelist_sleeping_giant.csv"


def sleeping_giant() -> None:
    e = pd.read_csv(GIANT)
    G = nx.MultiGraph()
    for r in e.itertuples():
        G.add_edge(r.node1, r.node2, length_m=float(r.distance))
    req = [(r.node1, r.node2) for r in e.itertuples() if r.required == 1]
    t0 = time.perf_counter()
    t = postman_tour(G, req, start="b_end_east")
    ours_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    exact = rural_postman_mip(G, req, start="b_end_east", oneway=False)
    mip_s = time.perf_counter() - t0
    print(f"Sleeping Giant ({len(req)} required trails of {G.number_of_edges()}): tour "
          f"{t.length_m:.2f} mi in {ours_s:.2f} s; exact (HiGHS) {exact:.2f} mi in {mip_s:.2f} s; "
          f"published 32.12 mi; ratio tour/exact {t.length_m / exact:.4f}, tour/published "
          f"{t.length_m / 32.12:.4f}")


def _random_mixed(rng, n: int):
    import geopandas as gpd
    from shapely.geometry import Point

    from geo.network import graph_from_tables
    pts = rng.uniform(0, 3000, (n, 2))
    nodes = gpd.GeoDataFrame({"node_id": [str(i) for i in range(n)]},
                             geometry=[Point(p) for p in pts], crs="EPSG:32650")
    rows = [{"u": str(i), "v": str((i + 1) % n), "oneway": True} for i in range(n)]
    for i, j in itertools.combinations(range(n), 2):
        if abs(i - j) not in (1, n - 1) and rng.random() < 0.3:
            rows.append({"u": str(i), "v": str(j), "oneway": bool(rng.random() < 0.3)})
    G = graph_from_tables(nodes, pd.DataFrame(rows).assign(speed_kmh=30.0))
    req = [(r["u"], r["v"]) for r in rows if rng.random() < 0.5] or [(rows[0]["u"], rows[0]["v"])]
    return G, req


def random_mixed(instances: int, n: int) -> None:
    rng = np.random.default_rng(7)
    heur, full, times = [], [], []
    for _ in range(instances):
        G, req = _random_mixed(rng, n)
        start = req[0][0]
        exact = rural_postman_mip(G, req, start=start)
        t0 = time.perf_counter()
        h = directed_postman_tour(G, req, start=start, exact_time_limit_s=None)
        times.append(time.perf_counter() - t0)
        f = directed_postman_tour(G, req, start=start)
        heur.append(h.length_m / exact - 1.0)
        full.append(f.length_m / exact - 1.0)
    heur, full = np.array(heur), np.array(full)
    print(f"random mixed networks ({instances} x {n} nodes): flow heuristic above the optimum by "
          f"{heur.mean():.1%} on average (max {heur.max():.1%}, optimal in {(heur < 1e-9).sum()}/"
          f"{instances}, {np.median(times) * 1000:.0f} ms median); full method {full.mean():.2%} "
          f"(max {full.max():.2%}, optimal in {(full < 1e-9).sum()}/{instances})")


def demo_stations(stations: list[str], exact_limit_s: float) -> None:
    from geo.network import graph_from_workspace, tables_from_graph
    from geo.workspace import read_workspace
    ws = read_workspace(DEMO)
    G = graph_from_workspace(ws)
    _, edges = tables_from_graph(G)
    juris = ws.layer("jurisdictions")
    mid = edges.geometry.interpolate(0.5, normalized=True)
    D = directed_lengths(G)
    print(f"demo county network: {G.number_of_nodes()} nodes, {D.number_of_edges()} arcs, "
          f"{int(edges['oneway'].sum())} one-way streets")
    for sid in stations:
        poly = juris[juris["station_id"].astype(str) == sid].geometry.iloc[0]
        sel = edges[mid.within(poly).to_numpy() & edges["road_class"].isin(["street", "arterial"]).to_numpy()]
        req = list(zip(sel["u"], sel["v"]))
        start = req[0][0]
        t0 = time.perf_counter()
        h = directed_postman_tour(G, req, start=start, exact_time_limit_s=None)
        hs = time.perf_counter() - t0
        t0 = time.perf_counter()
        f = directed_postman_tour(G, req, start=start, exact_time_limit_s=10.0)
        fs = time.perf_counter() - t0
        t0 = time.perf_counter()
        status, _, value = _postman_mip(D, req, start, weight="length_m", time_limit_s=exact_limit_s,
                                        max_rounds=50)
        es = time.perf_counter() - t0
        u = postman_tour(G, req, start=start)
        exact = f"{value / 1000:.2f} km in {es:.1f} s" if status == "optimal" else \
            f"not solved in {exact_limit_s:.0f} s ({status})"
        ratio = f"; full/exact {f.length_m / value:.4f}" if status == "optimal" else ""
        print(f"  {sid}: {len(req)} streets ({int(sel['oneway'].sum())} one-way), required "
              f"{f.required_m / 1000:.2f} km; heuristic {h.length_m / 1000:.2f} km in {hs:.1f} s; "
              f"full {f.length_m / 1000:.2f} km in {fs:.1f} s; bound {f.lower_bound_m / 1000:.2f} km; "
              f"exact on the whole network {exact}{ratio}; heuristic/full "
              f"{h.length_m / f.length_m:.3f}; ignoring one-way {u.length_m / 1000:.2f} km")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="fewer instances, one station")
    args = ap.parse_args(argv)
    print(machine())
    sleeping_giant()
    random_mixed(8 if args.quick else 40, 7 if args.quick else 9)
    if DEMO.exists():
        demo_stations(["S01"] if args.quick else ["S01", "S02", "S03", "S04"],
                      exact_limit_s=10.0 if args.quick else 120.0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
