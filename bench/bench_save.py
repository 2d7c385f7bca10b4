"""Saving into a workspace: one plan version and one edit as SQLite inserts, against rewriting the
whole GeoPackage (how plans were saved before), measured in one run on the demo county.

Run: ``.venv/bin/python bench/bench_save.py [--repeat 10]``. Prints medians in milliseconds, the
ratio and the machine; also 8 processes saving at once (all kept, distinct ids).
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import machine  # noqa: E402
from geo.workspace import Workspace, read_plans, read_workspace, write_workspace  # noqa: E402
from planning.editing import History, record_step, save_plan, start_draft  # noqa: E402
from planning.plan import Plan, district_graph  # noqa: E402

DEMO = ROOT / "data" / "boundaries" / "demo_county.gpkg"


def rewrite_save(path: Path, plan: Plan, name: str) -> None:
    """The previous way: read the whole workspace, add the version, write the file again."""
    ws = read_workspace(path)
    plans = pd.DataFrame(ws.layers.get("plans", pd.DataFrame(columns=["plan_id"])))
    new_id = int(pd.to_numeric(plans["plan_id"]).max()) + 1 if len(plans) else 1
    row = pd.DataFrame({"plan_id": [new_id], "parent_id": [None], "name": [name], "created": ["-"],
                        "note": [""], "author": ["bench"]})
    labels = plan.labels
    cells = pd.DataFrame({"plan_id": new_id, "cell_id": labels.index.astype(str),
                          "station_id": labels.to_numpy(dtype=str)})
    old = ws.layers.get("plan_cells")
    write_workspace(Workspace(crs=ws.crs, meta=ws.meta, layers={
        **ws.layers, "plans": pd.concat([plans, row], ignore_index=True) if len(plans) else row,
        "plan_cells": (pd.concat([pd.DataFrame(old), cells], ignore_index=True)
                       if old is not None and len(old) else cells),
    }), path, overwrite_plans=True)


def _concurrent_saver(args) -> int:
    path, i, labels, barrier = args
    barrier.wait()
    from geo.workspace import append_plan
    return append_plan(path, labels, name=f"concurrent {i}", author=f"p{i}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="gp-bench-save-"))
    try:
        ws = read_workspace(DEMO, layers=["cells", "stations"])
        graph = district_graph(ws.layer("cells"), ws.layer("stations"), weights="population")
        plan = Plan.from_labels(graph, ws.layer("cells").set_index("cell_id")["station_id"])
        print(f"machine: {machine()}")
        print(f"demo county: {graph.n_cells} cells, {graph.n_stations} stations, "
              f"{DEMO.stat().st_size / 1e6:.1f} MB")

        ours = folder / "ours.gpkg"
        shutil.copyfile(DEMO, ours)
        saves = []
        for i in range(args.repeat):
            t0 = time.perf_counter()
            save_plan(ours, plan.moved([graph.cell_ids[i]], graph.station_ids[0]), name=f"v{i}", author="bench")
            saves.append(time.perf_counter() - t0)
        hist = History.start(plan)
        draft = start_draft(ours, hist, author="bench", base="current")
        edits = []
        for i in range(args.repeat):
            after = hist.push(hist.current.moved([graph.cell_ids[100 + i]], graph.station_ids[1]), f"edit {i}")
            t0 = time.perf_counter()
            record_step(ours, draft, hist, after, action="push", author="bench")
            edits.append(time.perf_counter() - t0)
            hist = after

        base = folder / "rewrite.gpkg"
        shutil.copyfile(DEMO, base)
        rewrites = []
        for i in range(max(3, args.repeat // 3)):
            t0 = time.perf_counter()
            rewrite_save(base, plan, f"v{i}")
            rewrites.append(time.perf_counter() - t0)

        s, e, r = (statistics.median(x) for x in (saves, edits, rewrites))
        print(f"save one plan version (insert {graph.n_cells} rows, one transaction): median "
              f"{s * 1000:.1f} ms (min {min(saves) * 1000:.1f}, max {max(saves) * 1000:.1f}; "
              f"{args.repeat} saves, the last into a workspace holding {args.repeat - 1} plans)")
        print(f"record one edit step: median {e * 1000:.1f} ms (max {max(edits) * 1000:.1f})")
        print(f"baseline, rewrite the whole workspace per save: median {r * 1000:.0f} ms "
              f"({len(rewrites)} saves)")
        print(f"ratio rewrite / insert: {r / s:.0f}x; goal < 300 ms per save: "
              f"{'met' if max(saves) < 0.3 and max(edits) < 0.3 else 'NOT met'}")

        conc = folder / "concurrent.gpkg"
        shutil.copyfile(DEMO, conc)
        labels = pd.DataFrame({"cell_id": plan.labels.index.astype(str), "station_id": plan.labels.to_numpy(dtype=str)})
        ctx = mp.get_context("fork")
        barrier = ctx.Manager().Barrier(8)
        t0 = time.perf_counter()
        with ctx.Pool(8) as pool:
            ids = pool.map(_concurrent_saver, [(conc, i, labels, barrier) for i in range(8)])
        wall = time.perf_counter() - t0
        kept = read_plans(conc)
        print(f"8 processes saving at once: {len(kept)} of 8 kept, ids {sorted(ids)}, "
              f"{wall:.2f} s wall for all")
        return 0 if len(kept) == 8 and sorted(ids) == list(range(1, 9)) else 1
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
