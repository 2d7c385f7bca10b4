"""Benchmark: ``gridpatrol coverage`` of 50 facilities on the Coquimbo road network against a plain
NetworkX script doing the same from the same GeoPackage, both measured in one run.

* End to end: each is started as its own process (``gridpatrol coverage ... --json`` and a
  script this benchmark writes to a temporary file: read the GeoPackage with geopandas, build an
  ``nx.MultiDiGraph``, ``multi_source_dijkstra_path_length`` with a 5-minute cutoff, count the
  1/3/5-minute bands), alternately, several times; the medians are compared.
* In process: the computation after loading (graph built, facilities on their nodes), in this
  process: GridPatrol's ``coverage_from_facilities`` on the sparse graph (one multi-source
  Dijkstra in C over every node, bands) against NetworkX's ``multi_source_dijkstra_path_length``
  with the cutoff and the band counts, on graphs built from the same file; and GridPatrol's
  ``coverage_from_network`` from the facility layer (snapping included).

Both answers are checked to agree (1/3/5-minute node counts). Run: ``python -m bench.bench_coverage
[--repeat N] [--facilities K]``; it needs ``../shared/data/coquimbo`` (skipped with a note
otherwise).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import machine  # noqa: E402

DATA = (ROOT / ".." / "shared" / "data").resolve()
COQUIMBO = DATA / "coquimbo" / "coquimbo_network_zones.gpkg"
BANDS = (1, 3, 5)

# The plain NetworkX script: what a planner would write without GridPatrol. Class speeds (km/h)
# for links without a speed of their own are the same OpenStreetMap defaults GridPatrol uses.
NX_SCRIPT = '''\
import json, sys, time
t0 = time.perf_counter()
import geopandas as gpd
import networkx as nx
SPEEDS = {"motorway": 100.0, "motorway_link": 60.0, "trunk": 70.0, "trunk_link": 50.0,
          "primary": 60.0, "primary_link": 40.0, "secondary": 50.0, "secondary_link": 40.0,
          "tertiary": 40.0, "tertiary_link": 30.0, "unclassified": 30.0, "residential": 30.0,
          "living_street": 10.0, "service": 20.0, "track": 20.0, "road": 30.0}
net, facilities = sys.argv[1], sys.argv[2]
links = gpd.read_file(net, layer="links")
nodes = gpd.read_file(net, layer="nodes")
G = nx.MultiDiGraph()
G.add_nodes_from(str(n) for n in nodes["node_id"])
for r in links.itertuples(index=False):
    a, b = str(r.a_node), str(r.b_node)
    default = SPEEDS.get(r.link_type, 30.0)
    if r.direction in (0, 1):
        G.add_edge(a, b, travel_s=r.distance * 3.6 / (r.speed_ab if r.speed_ab > 0 else default))
    if r.direction in (0, -1):
        G.add_edge(b, a, travel_s=r.distance * 3.6 / (r.speed_ba if r.speed_ba > 0 else default))
sources = {str(n) for n in gpd.read_file(facilities)["node_id"]}
t1 = time.perf_counter()
seconds = nx.multi_source_dijkstra_path_length(G, sources, cutoff=5 * 60, weight="travel_s")
within = {str(m): sum(1 for s in seconds.values() if s <= m * 60 + 1e-6) for m in (1, 3, 5)}
t2 = time.perf_counter()
print(json.dumps({"nodes": G.number_of_nodes(), "within": within,
                  "load_s": t1 - t0, "compute_s": t2 - t1}))
'''


def _facilities(path: Path, count: int, seed: int = 0):
    """``count`` facilities on nodes drawn from every node of the network (``node_id`` and a
    point), as a GeoDataFrame."""
    import geopandas as gpd
    import numpy as np
    import pyogrio
    nodes = pyogrio.read_dataframe(COQUIMBO, layer="nodes", columns=["node_id"])
    pick = nodes.iloc[np.sort(np.random.default_rng(seed).choice(len(nodes), count, replace=False))]
    fac = gpd.GeoDataFrame({"station_id": [f"F{i}" for i in range(count)],
                            "node_id": pick["node_id"].astype(str).to_numpy()},
                           geometry=pick.geometry.values, crs=nodes.crs)
    fac.to_file(path)
    return fac


def _gridpatrol_command() -> list[str]:
    """The installed ``gridpatrol`` script beside this Python, else ``python -c`` on cli.main."""
    script = Path(sys.executable).with_name("gridpatrol")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys, cli; sys.exit(cli.main())"]


def _timed(argv: list[str]) -> tuple[float, float, dict]:
    """(wall seconds, CPU seconds (user + system) of the process, its JSON output)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:3])}… exited {done.returncode}: {done.stderr[-2000:]}")
    return elapsed, cpu, json.loads(done.stdout)


def end_to_end(repeat: int, fac_path: Path, script: Path) -> dict:
    """Wall and CPU times (s) of the two processes, run alternately ``repeat`` times."""
    ours_argv = [*_gridpatrol_command(), "coverage", "--network", str(COQUIMBO), "--facilities",
                 str(fac_path), "--minutes", "1,3,5", "--json"]
    theirs_argv = [sys.executable, str(script), str(COQUIMBO), str(fac_path)]
    _timed(ours_argv), _timed(theirs_argv)  # warm the file cache for both
    runs: dict = {"ours": [], "theirs": [], "ours_cpu": [], "theirs_cpu": []}
    for _ in range(repeat):
        for who, argv in (("ours", ours_argv), ("theirs", theirs_argv)):
            wall, cpu, out = _timed(argv)
            runs[who].append(wall)
            runs[f"{who}_cpu"].append(cpu)
            runs[f"{who}_out"] = out
    return runs


def in_process(fac, repeat: int) -> dict:
    """Best times (s) of the computation after loading, GridPatrol's and NetworkX's, called
    alternately ``repeat`` times each.

    Loading ends, for both, with the graph built and the facilities on their nodes (the script
    makes its set of source nodes before its clock starts). The computation: GridPatrol's
    ``coverage_from_facilities`` (one multi-source Dijkstra over every node, no cutoff; bands)
    and NetworkX's ``multi_source_dijkstra_path_length`` with the 5-minute cutoff and the band
    counts. Also timed: ``coverage_from_network`` from the facility layer (snapping included).
    """
    import logging

    import networkx as nx
    import pandas as pd

    from geo.coverage import coverage_from_facilities, coverage_from_network
    from geo.network import engine_from_file, snap_points
    t0 = time.perf_counter()
    engine = engine_from_file(COQUIMBO)
    load_ours = time.perf_counter() - t0
    scope: dict = {}
    # the script's graph building, run here (its first lines up to the Dijkstra)
    body = NX_SCRIPT.split("sources = ")[0].replace("net, facilities = sys.argv[1], sys.argv[2]",
                                                    f"net = {str(COQUIMBO)!r}")
    t0 = time.perf_counter()
    exec(compile(body, "nx_script", "exec"), scope)
    load_theirs = time.perf_counter() - t0
    G = scope["G"]
    sources = set(fac["node_id"])
    snapped = snap_points(fac, engine, id_col="station_id", what="facilities")
    on_nodes = pd.Series(snapped["node"].to_numpy(), index=snapped["id"].to_numpy())

    def ours():
        return coverage_from_facilities(engine, on_nodes, bands=BANDS).within

    def ours_from_layer():
        return coverage_from_network(engine, fac, id_col="station_id", bands=BANDS).within

    def theirs():
        seconds = nx.multi_source_dijkstra_path_length(G, sources, cutoff=5 * 60, weight="travel_s")
        return {str(m): sum(1 for s in seconds.values() if s <= m * 60 + 1e-6) for m in BANDS}

    logging.getLogger("geo").setLevel(logging.ERROR)  # the unreachable-node warning, once is enough
    fns = {"ours": ours, "ours_layer": ours_from_layer, "theirs": theirs}
    times: dict = {k: [] for k in fns}
    out: dict = {}
    for _ in range(repeat):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            out[k] = fn()
            times[k].append(time.perf_counter() - t0)
    return {"ours": min(times["ours"]), "ours_layer": min(times["ours_layer"]),
            "theirs": min(times["theirs"]), "within_ours": out["ours"],
            "within_layer": out["ours_layer"], "within_theirs": out["theirs"],
            "load_ours": load_ours, "load_theirs": load_theirs, "nodes": engine.n,
            "edges": engine.edge_count}


def main(argv: list[str] | None = None) -> int:
    """Run both comparisons and print the ratios, times and machine."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=5, help="runs of each process (median) (5)")
    p.add_argument("--facilities", type=int, default=50, help="facilities (50)")
    p.add_argument("--calls", type=int, default=30,
                   help="in-process calls of each computation; the best counts (30)")
    args = p.parse_args(argv)
    print(machine())
    print(f"cpu count {os.cpu_count()}, usable {len(os.sched_getaffinity(0))}, load average "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if not COQUIMBO.exists():
        print(f"{COQUIMBO} not found: coverage benchmark skipped")
        return 0
    with tempfile.TemporaryDirectory(prefix="gp_bench_cov_") as tmp:
        tmp = Path(tmp)
        fac_path, script = tmp / "facilities.gpkg", tmp / "nx_coverage.py"
        fac = _facilities(fac_path, args.facilities)
        script.write_text(NX_SCRIPT, encoding="utf-8")
        e2e = end_to_end(args.repeat, fac_path, script)
        inp = in_process(fac, args.calls)
    ours, theirs = statistics.median(e2e["ours"]), statistics.median(e2e["theirs"])
    ours_cpu, theirs_cpu = statistics.median(e2e["ours_cpu"]), statistics.median(e2e["theirs_cpu"])
    w_ours, w_theirs = e2e["ours_out"]["within"], e2e["theirs_out"]["within"]
    print(f"Coquimbo: {inp['nodes']:,} nodes, {inp['edges']:,} directed edges, "
          f"{args.facilities} facilities on nodes; bands 1/3/5 min")
    print(f"  end to end (own process, median of {args.repeat}):")
    print(f"    gridpatrol coverage --json : {ours:.2f} s  (runs {', '.join(f'{t:.2f}' for t in e2e['ours'])})")
    print(f"    plain NetworkX script      : {theirs:.2f} s  (runs {', '.join(f'{t:.2f}' for t in e2e['theirs'])})")
    print(f"    ratio (script / command)   : {theirs / ours:.2f} (goal >= 1)")
    print(f"    CPU seconds (median)       : gridpatrol {ours_cpu:.2f} s, script {theirs_cpu:.2f} s, "
          f"ratio {theirs_cpu / ours_cpu:.2f}")
    print(f"    nodes within 1/3/5 min     : gridpatrol {'/'.join(str(w_ours[str(b)]) for b in BANDS)}, "
          f"networkx {'/'.join(str(w_theirs[str(b)]) for b in BANDS)}; agree: {w_ours == w_theirs}; "
          f"reached by no facility: {e2e['ours_out']['unreachable']}")
    print(f"  in process, after loading (best of {args.calls} alternate calls each):")
    print(f"    gridpatrol coverage_from_facilities (every node, no cutoff): {inp['ours'] * 1000:.1f} ms")
    print(f"    networkx multi_source_dijkstra_path_length (5-min cutoff): {inp['theirs'] * 1000:.1f} ms")
    print(f"    ratio                      : {inp['theirs'] / inp['ours']:.0f}x (goal >= 20x); "
          f"agree: {inp['within_ours'] == inp['within_theirs']}")
    print(f"    with snapping the facility layer (coverage_from_network): {inp['ours_layer'] * 1000:.1f} ms, "
          f"ratio {inp['theirs'] / inp['ours_layer']:.0f}x")
    print(f"    loading in process         : gridpatrol engine_from_file {inp['load_ours']:.2f} s, "
          f"networkx script's graph {inp['load_theirs']:.2f} s")
    ok = w_ours == w_theirs and inp["within_ours"] == inp["within_theirs"] == inp["within_layer"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
