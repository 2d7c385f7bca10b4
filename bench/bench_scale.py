"""Benchmark of incident aggregation and the audit's crosswalk beyond one process (issue 16).

Aggregation: synthetic incidents over the demo county (points uniform inside the demo's cells,
cells drawn in proportion to their population; times uniform over three years), written once
per size to GeoParquet files in a cache folder. For each size (default 1, 2.5, 5 and 10 million)
the cells x hour-of-week table (``geo.scale.cell_hour_counts``) is computed by

- ``memory``: ``geopandas.read_parquet`` of the whole file, then the in-memory count;
- ``dask1`` / ``dask2``: a ``distributed.LocalCluster`` of 1 / 2 worker processes reading the file
  in partitions of ``--partition-rows`` rows;
- ``postgis``: ``geo.scale_sql.cell_hour_counts_sql`` in a throw-away PostgreSQL/PostGIS cluster
  (``tests/pgcluster.py``) holding the same incidents (loaded once; not timed).

Audit: a province-size layer set (by default 2,000 station jurisdictions, 20,000 townships and
200,000 governance grids: Voronoi cells of random points over a 400 km square), cached too; the
crosswalk areas (``geo.scale.crosswalk_areas``) of grids x townships and grids x jurisdictions,
in memory against dask with 1 and 2 workers.

Every engine runs in its own subprocess; ``seconds`` is the computation inside it (reading
included, cluster start-up excluded and shown apart), ``peak MB`` the largest summed resident
set size of that subprocess and all its children (the dask scheduler, nannies and workers)
sampled every 50 ms with psutil; for PostGIS the server's processes are sampled too and shown
as ``server MB``. All results of one engine and size are checked equal to the in-memory ones.
The load average of the machine is printed with each row: other programs sharing the CPUs
slow every engine and most of all the one with more processes.

Run: ``python -m bench.bench_scale [--sizes 1e6,2.5e6,5e6,1e7] [--engines memory,dask1,dask2,postgis]
[--partition-rows 250000] [--audit-sizes 2000,20000,200000] [--skip-audit] [--skip-aggregation]
[--cache DIR]`` (default cache: ``$GRIDPATROL_BENCH_CACHE`` or ``~/.cache/gridpatrol/bench_scale``).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import machine  # noqa: E402

DEMO = ROOT / "data" / "boundaries" / "demo_county.gpkg"
DEFAULT_SIZES = "1e6,2.5e6,5e6,1e7"
ENGINES = ("memory", "dask1", "dask2", "postgis")
GEN_CHUNK = 1_000_000
ROW_GROUP = 100_000
START = np.datetime64("2023-01-01T00:00:00")
SPAN_S = 3 * 365 * 86400  # three years of incidents


def cache_dir(given: str | None) -> Path:
    path = Path(given or os.environ.get("GRIDPATROL_BENCH_CACHE")
                or Path.home() / ".cache" / "gridpatrol" / "bench_scale")
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- synthetic incidents ----------------------------------------------------------------------------

def _cells():
    from geo.workspace import read_workspace
    return read_workspace(DEMO, layers=["cells"]).layer("cells")


def _points_in(geoms, rng: np.random.Generator, which: np.ndarray) -> np.ndarray:
    """One uniform point inside ``geoms[i]`` for each i of ``which`` (rejection in the bounds)."""
    import shapely
    bounds = shapely.bounds(geoms)
    xy = np.empty((len(which), 2))
    todo = np.arange(len(which))
    while len(todo):
        b = bounds[which[todo]]
        x = rng.uniform(b[:, 0], b[:, 2])
        y = rng.uniform(b[:, 1], b[:, 3])
        ok = shapely.contains_xy(geoms[which[todo]], x, y)
        xy[todo[ok]] = np.column_stack([x[ok], y[ok]])
        todo = todo[~ok]
    return xy


def _chunk(k: int, n: int, cells, offset: int):
    """Incidents ``offset``..``offset + n - 1`` of the synthetic stream (chunk ``k``'s seed)."""
    import pyarrow as pa
    import shapely
    rng = np.random.default_rng([16, k])
    pop = cells["population"].to_numpy(float)
    p = pop / pop.sum() if pop.sum() > 0 else np.full(len(pop), 1.0 / len(pop))
    which = rng.choice(len(cells), size=n, p=p)
    geoms = np.asarray(cells.geometry.values)
    xy = _points_in(geoms, rng, which)
    seconds = rng.integers(0, SPAN_S, n)
    wkb = shapely.to_wkb(shapely.points(xy))
    return pa.table({"incident_id": pa.array(np.arange(offset, offset + n, dtype=np.int64)),
                     "time": pa.array(START + seconds.astype("timedelta64[s]")),
                     "geometry": pa.array(wkb, type=pa.binary())})


def incidents_file(size: int, cache: Path) -> Path:
    """The GeoParquet file of the first ``size`` synthetic incidents (written once)."""
    import pyarrow.parquet as pq
    path = cache / f"incidents_{size}.parquet"
    if path.exists():
        return path
    cells = _cells()
    geo = {"version": "1.0.0", "primary_column": "geometry",
           "columns": {"geometry": {"encoding": "WKB", "geometry_types": ["Point"],
                                    "crs": cells.crs.to_json_dict()}}}
    tmp = path.with_suffix(".tmp")
    writer = None
    done, k = 0, 0
    while done < size:
        n = min(GEN_CHUNK, size - done)
        table = _chunk(k, GEN_CHUNK, cells, done).slice(0, n)
        if writer is None:
            schema = table.schema.with_metadata({b"geo": json.dumps(geo).encode()})
            writer = pq.ParquetWriter(tmp, schema)
        writer.write_table(table.replace_schema_metadata(writer.schema.metadata), row_group_size=ROW_GROUP)
        done += n
        k += 1
    writer.close()
    tmp.rename(path)
    return path


# --- measuring a subprocess -------------------------------------------------------------------------

def _tree_rss(proc) -> int:
    import psutil
    total = 0
    try:
        procs = [proc] + proc.children(recursive=True)
    except psutil.Error:
        return 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def measured(argv: list[str], *, server_pid: int | None = None) -> dict:
    """Run ``python -m bench.bench_scale --one ...`` and sample the RSS of its process tree (and
    of the PostgreSQL server's, when given); its JSON result with ``peak_mb``/``server_mb``."""
    import psutil
    load = os.getloadavg()[0]
    proc = subprocess.Popen([sys.executable, "-m", "bench.bench_scale", *argv], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    me = psutil.Process(proc.pid)
    server = psutil.Process(server_pid) if server_pid else None
    peak = [0, 0]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], _tree_rss(me))
            if server is not None:
                peak[1] = max(peak[1], _tree_rss(server))
            time.sleep(0.05)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    out, err = proc.communicate()
    stop.set()
    thread.join()
    if proc.returncode:
        return {"error": (err or out).strip().splitlines()[-1:] or ["failed"], "load": load}
    result = json.loads(out.strip().splitlines()[-1])
    result.update(peak_mb=peak[0] / 2**20, server_mb=peak[1] / 2**20 if server else None, load=load)
    return result


# --- one engine in a subprocess ------------------------------------------------------------------

def _digest(table: np.ndarray) -> list:
    """A small fingerprint of a cells x hour table to compare engines: total, weighted sums."""
    w = np.arange(1, table.shape[0] + 1, dtype=np.float64)[:, None] * np.arange(1, 169)[None, :]
    return [int(table.sum()), float((table * w).sum()), int(table.max())]


def run_one(args: argparse.Namespace) -> dict:
    """The ``--one`` mode: one engine on one input, printing a JSON line."""
    import warnings
    warnings.simplefilter("ignore")
    from geo import scale
    if args.one in ("memory", "dask1", "dask2"):
        cells = _cells()
        started = time.perf_counter()
        if args.one == "memory":
            import geopandas as gpd
            frame = gpd.read_parquet(args.input)
            got = scale.cell_hour_counts(cells, frame, scale=scale.Scale(engine="memory"))
            return {"seconds": time.perf_counter() - started, "startup_s": 0.0,
                    "digest": _digest(got.table.to_numpy())}
        workers = 1 if args.one == "dask1" else 2
        from distributed import LocalCluster
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        startup = time.perf_counter() - started
        try:
            s = scale.Scale(engine="dask", scheduler=cluster.scheduler_address,
                            partition_rows=args.partition_rows)
            started = time.perf_counter()
            got = scale.cell_hour_counts(cells, args.input, scale=s)
            seconds = time.perf_counter() - started
        finally:
            cluster.close()
        return {"seconds": seconds, "startup_s": startup, "digest": _digest(got.table.to_numpy())}
    if args.one == "postgis":
        from geo.scale_sql import cell_hour_counts_sql
        started = time.perf_counter()
        got = cell_hour_counts_sql(args.input, incidents_layer=args.layer)
        return {"seconds": time.perf_counter() - started, "startup_s": 0.0,
                "digest": _digest(got.table.to_numpy())}
    if args.one.startswith("audit-"):
        import geopandas as gpd
        layers = {name: gpd.read_parquet(Path(args.input) / f"{name}.parquet")
                  for name in ("jurisdictions", "townships", "grids")}
        engine = args.one.split("-", 1)[1]
        startup, cluster = 0.0, None
        started = time.perf_counter()
        if engine == "memory":
            s = scale.Scale(engine="memory")
        else:
            from distributed import LocalCluster
            cluster = LocalCluster(n_workers=1 if engine == "dask1" else 2, threads_per_worker=1,
                                   processes=True, dashboard_address=None)
            startup = time.perf_counter() - started
            s = scale.Scale(engine="dask", scheduler=cluster.scheduler_address,
                            partition_rows=args.partition_rows, workers=1 if engine == "dask1" else 2)
        try:
            started = time.perf_counter()
            out = {}
            for police, admin in (("grids", "townships"), ("grids", "jurisdictions")):
                table = scale.crosswalk_areas(layers[police], layers[admin], police_id="uid",
                                              admin_id="uid", scale=s)
                out[f"{police}x{admin}"] = [len(table), float(table["area_m2"].sum())]
            seconds = time.perf_counter() - started
        finally:
            if cluster is not None:
                cluster.close()
        return {"seconds": seconds, "startup_s": startup, "digest": out}
    raise SystemExit(f"unknown --one {args.one!r}")


# --- PostGIS ----------------------------------------------------------------------------------------

def postgis_workspace(largest: Path, sizes: list[int], workdir: Path):
    """A throw-away cluster holding the demo cells and, per size N, a table ``incidents_N`` of
    the first N incidents with a GiST index; (cluster, url, load seconds, server pid)."""
    from tests.pgcluster import start_cluster
    cluster = start_cluster(workdir)
    try:
        return _load(cluster, largest, sizes)
    except BaseException:
        cluster.stop()
        raise


def _load(cluster, largest: Path, sizes: list[int]):
    import psycopg
    import pyarrow.parquet as pq
    import shapely

    from geo.workspace import Workspace, write_workspace
    started = time.perf_counter()
    cells = _cells()
    url = cluster.url("gridpatrol", "bench_scale")
    write_workspace(Workspace(crs=cells.crs, layers={"cells": cells}, meta={"name": "bench"}), url)
    with psycopg.connect(cluster.dsn, autocommit=True) as con:
        srid = con.execute("SELECT Find_SRID('bench_scale', 'cells', 'geom')").fetchone()[0]
        con.execute(f"CREATE TABLE bench_scale.incidents (fid bigserial PRIMARY KEY, time timestamp, "
                    f"geom geometry(Point, {srid}))")
        pf = pq.ParquetFile(largest)
        with con.cursor().copy("COPY bench_scale.incidents (time, geom) FROM STDIN") as copy:
            for batch in pf.iter_batches(batch_size=200_000, columns=["time", "geometry"]):
                times = batch.column(0).to_numpy(zero_copy_only=False).astype("datetime64[s]").astype(str)
                geoms = shapely.set_srid(shapely.from_wkb(batch.column(1).to_numpy(zero_copy_only=False)), srid)
                hexes = shapely.to_wkb(geoms, hex=True, include_srid=True)
                copy.write("".join(f"{t}\t{h}\n" for t, h in zip(times.tolist(), hexes.tolist())).encode())
        for n in sizes:  # one table per size, with its GiST index as a workspace layer has
            con.execute(f"CREATE TABLE bench_scale.incidents_{n} AS SELECT * FROM "
                        f"bench_scale.incidents WHERE fid <= {n} ORDER BY fid")
            con.execute(f"ALTER TABLE bench_scale.incidents_{n} ADD PRIMARY KEY (fid)")
            con.execute(f"CREATE INDEX ON bench_scale.incidents_{n} USING GIST (geom)")
            con.execute(f"ANALYZE bench_scale.incidents_{n}")
        con.execute("DROP TABLE bench_scale.incidents")
    postmaster = int((cluster.datadir / "postmaster.pid").read_text().split()[0])
    return cluster, url, time.perf_counter() - started, postmaster


# --- province-size layers ---------------------------------------------------------------------------

def province_layers(counts: list[int], cache: Path, extent_m: float = 400_000.0) -> Path:
    """Voronoi partitions of ``counts`` random points each over a square of side ``extent_m``
    (jurisdictions, townships, grids), cached as GeoParquet in a folder; the folder."""
    import geopandas as gpd
    import shapely
    folder = cache / f"province_{'_'.join(str(c) for c in counts)}"
    if (folder / "grids.parquet").exists():
        return folder
    folder.mkdir(exist_ok=True)
    x0, y0 = 300_000.0, 3_000_000.0
    frame = shapely.box(x0, y0, x0 + extent_m, y0 + extent_m)
    for name, n, seed in zip(("jurisdictions", "townships", "grids"), counts, (1, 2, 3)):
        rng = np.random.default_rng(seed)
        xy = rng.uniform(0, extent_m, size=(n, 2)) + [x0, y0]
        cells = np.asarray(shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(xy),
                                                                       extend_to=frame)))
        cells = shapely.intersection(cells, frame)
        gpd.GeoDataFrame({"uid": [f"{name[0].upper()}{i}" for i in range(len(cells))]},
                         geometry=cells, crs="EPSG:32650").to_parquet(folder / f"{name}.parquet")
    return folder


# --- main -----------------------------------------------------------------------------------------

def _sizes(text: str) -> list[int]:
    return [int(float(t)) for t in text.split(",") if t.strip()]


def _row(label: str, engine: str, r: dict, ref: dict | None) -> str:
    if "error" in r:
        return f"{label:>12s}  {engine:8s}  failed: {r['error']}  (load {r['load']:.1f})"
    same = "" if ref is None or "digest" not in ref else ("  = memory" if r["digest"] == ref["digest"] else "  DIFFERS")
    server = f"  server {r['server_mb']:6.0f} MB" if r.get("server_mb") else ""
    return (f"{label:>12s}  {engine:8s}  {r['seconds']:8.1f} s  (+{r['startup_s']:4.1f} s start)  "
            f"peak {r['peak_mb']:7.0f} MB{server}  load {r['load']:.1f}{same}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench_scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help=f"incident counts ({DEFAULT_SIZES})")
    parser.add_argument("--engines", default=",".join(ENGINES), help="memory,dask1,dask2,postgis")
    parser.add_argument("--partition-rows", type=int, default=250_000)
    parser.add_argument("--audit-sizes", default="2000,20000,200000",
                        help="jurisdictions,townships,grids of the province layer set")
    parser.add_argument("--audit-partition-rows", type=int, default=25_000)
    parser.add_argument("--skip-audit", action="store_true")
    parser.add_argument("--skip-aggregation", action="store_true")
    parser.add_argument("--cache", help="folder for the synthetic files")
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--layer", default="incidents", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args)))
        return 0
    print(machine(), flush=True)
    print(f"cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.1f} at start "
          "(other programs sharing the CPUs slow every engine)", flush=True)
    cache = cache_dir(args.cache)
    results: dict = {"machine": machine(), "aggregation": [], "audit": []}
    engines = [e for e in args.engines.split(",") if e]
    if not args.skip_aggregation:
        sizes = sorted(_sizes(args.sizes))
        started = time.perf_counter()
        files = {n: incidents_file(n, cache) for n in sizes}
        print(f"incident files ready in {time.perf_counter() - started:.0f} s ({cache})", flush=True)
        pg = None
        if "postgis" in engines:
            try:
                tmp = Path(tempfile.mkdtemp(prefix="bench-scale-pg-"))
                pg = postgis_workspace(files[sizes[-1]], sizes, tmp)
                print(f"PostGIS: {sizes[-1]:,} incidents loaded in {pg[2]:.0f} s", flush=True)
            except Exception as exc:  # noqa: BLE001 - no server here: the engine is skipped
                print(f"PostGIS skipped: {exc}", flush=True)
        print(f"\ncells x hour-of-week table of the demo county's {len(_cells())} cells; "
              f"partitions of {args.partition_rows:,} incidents", flush=True)
        try:
            for n in sizes:
                ref = None
                for engine in engines:
                    if engine == "postgis":
                        if pg is None:
                            continue
                        r = measured(["--one", "postgis", "--input", pg[1], "--layer", f"incidents_{n}"],
                                     server_pid=pg[3])
                    else:
                        r = measured(["--one", engine, "--input", str(files[n]),
                                      "--partition-rows", str(args.partition_rows)])
                    ref = r if engine == "memory" and "error" not in r else ref
                    print(_row(f"{n:,}", engine, r, ref), flush=True)
                    results["aggregation"].append({"size": n, "engine": engine, **r})
        finally:
            if pg is not None:
                pg[0].stop()
    if not args.skip_audit:
        counts = _sizes(args.audit_sizes)
        started = time.perf_counter()
        folder = province_layers(counts, cache)
        print(f"\nprovince layers ready in {time.perf_counter() - started:.0f} s: "
              f"{counts[0]:,} jurisdictions, {counts[1]:,} townships, {counts[2]:,} grids over "
              "400 km x 400 km; crosswalk areas grids x townships and grids x jurisdictions, "
              f"partitions of {args.audit_partition_rows:,} grids", flush=True)
        ref = None
        for engine in [e for e in engines if e != "postgis"]:
            r = measured(["--one", f"audit-{engine}", "--input", str(folder),
                          "--partition-rows", str(args.audit_partition_rows)])
            ref = r if engine == "memory" and "error" not in r else ref
            print(_row("audit", engine, r, ref), flush=True)
            results["audit"].append({"engine": engine, **r})
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
