"""Benchmark of the boundary audit: city size (real Chicago layers), national size (synthetic) and
the grids of one city (synthetic police grids vs governance grids in a workspace).

Each of the first two cases times ``geo.audit.audit_partitions`` end to end and, in the same run, a
straightforward baseline (``geopandas.overlay(how="intersection")`` + groupby shares + split
counts), and prints both with their ratio. Peak memory is the peak resident set size of a forked
child process that runs one case (it includes the input layers, which are built before the fork).

The grids case (issue 12: "4,075 governance grids in one city ... in seconds") writes a workspace
of ~300 police grids in ~20 station jurisdictions and ~4,075 governance grids over a 40 km square
(Voronoi cells; the governance grids nest in a perturbed copy of the police grids, so those near
moved boundaries are split), with 500 m cells carrying population and 20,000 incidents, then
times ``gridpatrol audit ws.gpkg:police_grids ws.gpkg:gov_grids``'s work from the file to the
result: ``audit_files`` (read, validate, population and incidents from the workspace, audit), the
crosswalk table of every governance grid, and the Chinese report with its map; and the same for
police grids vs station jurisdictions.

Run: ``python -m bench.bench_audit [--n 40000] [--skip-national] [--skip-city] [--skip-grids]``.
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
from pyproj import CRS

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


def _voronoi_in(points: np.ndarray, frame) -> np.ndarray:
    """Voronoi cells of ``points`` clipped to ``frame``, in the order of the points."""
    cells = np.asarray(shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(points),
                                                                  extend_to=frame)))
    hit_point, hit_cell = shapely.STRtree(cells).query(shapely.points(points), predicate="intersects")
    order = np.empty(len(points), dtype=np.int64)
    order[hit_point] = hit_cell
    return shapely.intersection(cells[order], frame)


def city_grids(*, n_police: int = 300, n_gov: int = 4_075, n_stations: int = 20,
               extent_m: float = 40_000.0, moved: float = 0.1, rng: np.random.Generator
               ) -> dict[str, gpd.GeoDataFrame]:
    """Synthetic layers of one city: ``police_grids`` (pgrid_id, station_id), ``jurisdictions``
    (the police grids of a perturbed copy dissolved by station, so some police grids cross
    stations), ``gov_grids`` (nested in the perturbed copy, so those near moved boundaries are
    split between police grids), 500 m ``cells`` with population and 20,000 ``incidents``."""
    x0, y0 = 400_000.0, 3_000_000.0
    frame = shapely.box(x0, y0, x0 + extent_m, y0 + extent_m)
    pts = rng.uniform(0, extent_m, size=(n_police, 2)) + [x0, y0]
    police = _voronoi_in(pts, frame)
    shifted = pts.copy()
    k = rng.choice(n_police, int(moved * n_police), replace=False)
    shifted[k] += rng.normal(0, 0.3 * extent_m / np.sqrt(n_police), size=(len(k), 2))
    shifted = np.clip(shifted, [x0 + 1, y0 + 1], [x0 + extent_m - 1, y0 + extent_m - 1])
    perturbed = _voronoi_in(shifted, frame)
    seeds = rng.uniform(0, extent_m, size=(n_stations, 2)) + [x0, y0]
    station = np.argmin(((pts[:, None, :] - seeds[None, :, :]) ** 2).sum(-1), axis=1)
    counts = rng.multinomial(n_gov - n_police, shapely.area(perturbed) / shapely.area(perturbed).sum()) + 1
    gov = []
    for cell, c in zip(perturbed, counts):
        if c == 1:
            gov.append(cell)
            continue
        minx, miny, maxx, maxy = cell.bounds
        found = np.empty((0, 2))
        while len(found) < c:
            cand = rng.uniform([minx, miny], [maxx, maxy], size=(4 * c, 2))
            found = np.vstack([found, cand[shapely.contains_xy(cell, cand[:, 0], cand[:, 1])]])
        gov.extend(_voronoi_in(found[:c], cell))
    ids = [f"S{i:02d}" for i in station]
    pg = gpd.GeoDataFrame({"pgrid_id": [f"PG{i:03d}" for i in range(n_police)], "station_id": ids},
                          geometry=police, crs=METRIC)
    juris = gpd.GeoDataFrame({"station_id": ids}, geometry=perturbed, crs=METRIC) \
        .dissolve("station_id", as_index=False)
    gg = gpd.GeoDataFrame({"grid_id": [f"G{i:04d}" for i in range(len(gov))]}, geometry=gov, crs=METRIC)
    side = 500.0
    xs, ys = np.meshgrid(np.arange(x0, x0 + extent_m, side), np.arange(y0, y0 + extent_m, side))
    boxes = shapely.box(xs.ravel(), ys.ravel(), xs.ravel() + side, ys.ravel() + side)
    cells = gpd.GeoDataFrame({"cell_id": [f"C{i}" for i in range(len(boxes))],
                              "population": rng.gamma(2.0, 150.0, len(boxes)).round()},
                             geometry=boxes, crs=METRIC)
    inc = rng.uniform(0, extent_m, size=(20_000, 2)) + [x0, y0]
    incidents = gpd.GeoDataFrame({"incident_id": [f"I{i}" for i in range(len(inc))]},
                                 geometry=shapely.points(inc), crs=METRIC)
    return {"police_grids": pg, "jurisdictions": juris, "gov_grids": gg, "cells": cells,
            "incidents": incidents}


def bench_grids() -> list[str]:
    """Police grids vs governance grids (and vs stations) of one city, workspace file to result."""
    import tempfile

    from geo.audit_map import audit_map_png
    from geo.audit_report import report_html
    from geo.audit_tables import unit_table
    from geo.workspace import Workspace, write_workspace

    layers = city_grids(rng=np.random.default_rng(20261206))
    n_p, n_g = len(layers["police_grids"]), len(layers["gov_grids"])
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        ws = write_workspace(Workspace(crs=CRS(METRIC), layers=layers, meta={"name": "grids"}),
                             Path(tmp) / "grids.gpkg")

        def case(admin: str):
            def run():
                t0 = time.perf_counter()
                a = audit_files(f"{ws}:police_grids", f"{ws}:{admin}")
                t1 = time.perf_counter()
                table = unit_table(a, lang="zh")
                html = report_html(a, lang="zh", map_png=audit_map_png(a, lang="zh"))
                t2 = time.perf_counter()
                return (len(a.split_police), len(a.split_admin), len(table), len(html) // 1024,
                        round(t1 - t0, 2), round(t2 - t1, 2))
            return run

        for admin, what in (("gov_grids", f"{n_p} police grids x {n_g:,} governance grids"),
                            ("jurisdictions", f"{n_p} police grids x {len(layers['jurisdictions'])} "
                                              "station jurisdictions")):
            wall, cpu, peak, r = measured(case(admin))
            goal = "met" if wall < 10.0 else "NOT met"
            out.append(f"grids ({what}, 40 km square, workspace file to result): {wall:.2f} s wall / "
                       f"{cpu:.2f} s CPU, peak {peak:.0f} MiB | audit_files {r[4]:.2f} s, crosswalk "
                       f"table + zh report with map {r[5]:.2f} s | split police {r[0]}, split civil "
                       f"{r[1]}, crosswalk rows {r[2]}, report {r[3]} KiB | goal 'seconds' (< 10 s "
                       f"wall): {goal}")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=40_000, help="polygons per synthetic partition (40000)")
    p.add_argument("--skip-national", action="store_true")
    p.add_argument("--skip-city", action="store_true")
    p.add_argument("--skip-grids", action="store_true")
    args = p.parse_args(argv)
    print(f"machine: {machine()}, "
          f"shapely {shapely.__version__}, geopandas {gpd.__version__}")
    cases = [(args.skip_city, bench_city), (args.skip_grids, bench_grids),
             (args.skip_national, lambda: bench_national(args.n))]
    for skip, case in cases:
        if not skip:
            for line in case():
                print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
