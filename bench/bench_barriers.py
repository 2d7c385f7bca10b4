"""The district graph of the demo county with barriers (river, motorway, bridges from the road
network) against the plain geometric adjacency, measured in one run.

Run: ``.venv/bin/python bench/bench_barriers.py [--repeat 5]``. Prints the best of ``repeat``
runs of each step in milliseconds (reading the layers; the plain graph; the barrier pairs; the
whole ``workspace_graph``), the ratio of the barrier graph to the plain one, the pairs each
keeps, and the machine.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import machine  # noqa: E402
from geo.barriers import barrier_pairs  # noqa: E402
from geo.workspace import read_workspace  # noqa: E402
from planning.plan import adjacency_pairs, district_graph  # noqa: E402
from planning.study import STUDY_LAYERS, workspace_graph  # noqa: E402

DEMO = ROOT / "data" / "boundaries" / "demo_county.gpkg"


def _best(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    weights = "incidents=2,population"
    t_read_plain, _ = _best(lambda: read_workspace(DEMO, layers=["cells", "stations"]), args.repeat)
    t_read, ws = _best(lambda: read_workspace(DEMO, layers=STUDY_LAYERS), args.repeat)
    cells, stations = ws.layer("cells"), ws.layer("stations")
    t_plain, plain = _best(lambda: district_graph(cells, stations, weights=weights), args.repeat)
    t_adj, pairs = _best(lambda: adjacency_pairs(cells), args.repeat)
    t_bar, bp = _best(lambda: barrier_pairs(cells, pairs, stations=stations,
                                            rivers=ws.layer("rivers"), area=ws.layer("area"),
                                            road_edges=ws.layer("road_edges")), args.repeat)
    t_graph, graph = _best(lambda: workspace_graph(ws, weights=weights), args.repeat)
    print(f"machine: {machine()}")
    print(f"demo county: {plain.n_cells} cells, {len(ws.layer('road_edges')):,} road edges, "
          f"{len(ws.layer('rivers'))} river polygon")
    print(f"read cells+stations {t_read_plain * 1e3:.0f} ms; with area, rivers, road_edges "
          f"{t_read * 1e3:.0f} ms")
    print(f"plain district_graph {t_plain * 1e3:.0f} ms ({len(plain.pairs):,} pairs; of which "
          f"adjacency_pairs {t_adj * 1e3:.0f} ms)")
    print(f"barrier pairs {t_bar * 1e3:.0f} ms ({(bp['link'] == 'touch').sum():,} touching pairs "
          f"kept, {(bp['link'] == 'crossing').sum()} crossings, {(bp['link'] == 'island').sum()} "
          "island links)")
    print(f"workspace_graph with barriers {t_graph * 1e3:.0f} ms ({len(graph.pairs):,} pairs): "
          f"{t_graph / t_plain:.2f} x the plain graph")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
