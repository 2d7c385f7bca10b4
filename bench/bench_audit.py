"""Benchmark of the boundary audit: city size (real Chicago layers) and national size (synthetic).

Each case times ``geo.audit.audit_partitions`` end to end and, in the same run, a straightforward
baseline (``geopandas.overlay(how="intersection")`` + groupby shares + split counts), and prints
both with their ratio. Peak memory is the peak resident set size of a forked child process that
runs one case (it includes the input layers, which are built before the fork).

Run: ``python -m bench.bench_audit [--n 40000] [--skip-national]``.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import machine  # noqa: E402
from geo.audit import audit_files, audit_partitions  # noqa: E402

SHARED = (ROOT / ".." / "shared" / "data").resolve()
METRIC = "EPSG:32650"


def voronoi_partition(n: int, *, extent_m: float, rng: np.random.Generator, prefix: str) -> gpd.GeoDataFrame:
    """``n`` Voronoi cells of random points, clipped to a square of side ``extent_m`` (metres)."""
    xy = rng.uniform(0, extent_m, size=(n, 2)) + [400_000.0, 3_000_000.0]
    pts = shapely.multipoints(xy)
    frame = shapely.box(400_000.0, 3_000_000.0, 400_000.0 + extent_m, 3_000_000.0 + extent_m)
    cells = np.asarray(shapely.get_parts(shapely.voronoi_polygons(pts, extend_to=frame)))
    cells = shapely.intersection(cells, frame)
    return gpd.GeoDataFrame({"uid": [f"{prefix}{i}" for i in range(len(cells))]}, geometry=cells, crs=METRIC)


def baseline(police: gpd.GeoDataFrame, admin: gpd.GeoDataFrame, pid: str, aid: str,
             min_share: float = 0.05) -> tuple[int, int]:
    """geopandas.overlay + groupby: shares of each side, units with 2+ counterparts >= min_share."""
    p = police[[pid, "geometry"]].rename(columns={pid: "police"}).dissolve("police", as_index=False)
    a = admin[[aid, "geometry"]].rename(columns={aid: "admin"}).dissolve("admin", as_index=False)
    if p.crs != a.crs:
        crs = a.estimate_utm_crs() if not a.crs.is_projected or a.crs.axis_info[0].unit_name != "metre" else a.crs
        p, a = p.to_crs(crs), a.to_crs(crs)
    p["p_area"] = p.area
    a["a_area"] = a.area
    pieces = gpd.overlay(p, a, how="intersection", keep_geom_type=True)
    pieces["area"] = pieces.area
    pieces["sp"] = pieces["area"] / pieces["p_area"]
    pieces["sa"] = pieces["area"] / pieces["a_area"]
    sp = (pieces[pieces["sp"] >= min_share].groupby("police").size() >= 2).sum()
    sa = (pieces[pieces["sa"] >= min_share].groupby("admin").size() >= 2).sum()
    return int(sp), int(sa)


def _child(fn, conn) -> None:
    warnings.simplefilter("ignore")
    t0, c0 = time.perf_counter(), time.process_time()
    result = fn()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    conn.send((wall, cpu, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, result))
    conn.close()


def measured(fn) -> tuple[float, float, float, object]:
    """(wall s, CPU s, peak RSS MiB, result) of ``fn`` run in a forked child."""
    ctx = mp.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(fn, send))
    proc.start()
    out = recv.recv()
    proc.join()
    return out


def _ours(police, admin, pid, aid, **kw):
    def run():
        a = audit_partitions(police, admin, police_id=pid, admin_id=aid, **kw)
        return len(a.split_police), len(a.split_admin)
    return run


def _line(name: str, ours, base) -> str:
    return (f"{name}: audit {ours[0]:.2f} s wall / {ours[1]:.2f} s CPU, peak {ours[2]:.0f} MiB, "
            f"splits {ours[3]} | baseline overlay+groupby {base[0]:.2f} s wall / {base[1]:.2f} s CPU, "
            f"peak {base[2]:.0f} MiB, splits {base[3]} | ratio audit/baseline (wall) {ours[0] / base[0]:.2f}")


def bench_city() -> list[str]:
    """Chicago 275 beats vs 77 community areas (files read, validated, reprojected: end to end)."""
    chicago = SHARED / "chicago"
    if not chicago.is_dir():
        return [f"city: skipped, {chicago} not found"]
    beats, comm = chicago / "police_beats.zip.geojson", chicago / "community_areas.zip"

    def ours():
        a = audit_files(beats, comm, police_id="BEAT_NUM", admin_id="AREA_NUMBE")
        return len(a.split_police), len(a.split_admin)

    def base():
        return baseline(gpd.read_file(beats), gpd.read_file(f"/vsizip/{comm}"), "BEAT_NUM", "AREA_NUMBE")
    o, b = measured(ours), measured(base)
    goal = "met" if o[1] < 1.0 else "NOT met"
    return [_line("city (Chicago 275 beats x 77 community areas)", o, b),
            f"  goal < 1 s compute: {goal} ({o[1]:.2f} s CPU)"]


def bench_national(n: int) -> list[str]:
    rng = np.random.default_rng(20240601)
    extent = 2_000.0 * np.sqrt(n)  # about 4 km2 per unit
    police = voronoi_partition(n, extent_m=extent, rng=rng, prefix="p")
    admin = voronoi_partition(n, extent_m=extent, rng=rng, prefix="a")
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    o = measured(_ours(police, admin, "uid", "uid", working_crs=METRIC))
    b = measured(lambda: baseline(police, admin, "uid", "uid"))
    goal = "met" if (o[0] < 60 and o[0] <= b[0]) else "NOT met"
    return [_line(f"national ({n:,} x {n:,} Voronoi polygons, {extent / 1000:.0f} km square)", o, b),
            f"  inputs built before the fork: {rss0:.0f} MiB RSS; goal < 60 s and <= baseline: {goal}"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=40_000, help="polygons per synthetic partition (40000)")
    p.add_argument("--skip-national", action="store_true")
    args = p.parse_args(argv)
    print(f"machine: {machine()}, "
          f"shapely {shapely.__version__}, geopandas {gpd.__version__}")
    for line in bench_city():
        print(line, flush=True)
    if not args.skip_national:
        for line in bench_national(args.n):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
