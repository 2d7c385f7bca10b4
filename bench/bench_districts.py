"""Districts without stations: K balanced, contiguous, compact districts with free centres on
real units, against the capacitated p-median MIP lower bound (same objective and balance bound,
no contiguity), measured in one run.

Cases: Chicago's 275 police beats (2016 crimes apportioned from the 77 community areas by area)
with K = 22, straight-line metres; the demo county inside the seat station (城关派出所, S01) and
inside the largest station (S07, 801 units, road travel minutes; heuristic only unless --big-bound).

Run: ``.venv/bin/python bench/bench_districts.py [--quick] [--bound-time 120]``. Prints the
objective (workload-weighted mean distance to the centre), the bound, the gap, the deviation,
contiguity, the times and the machine. Goal: gap <= 5 % while contiguous and within 5 %.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import machine  # noqa: E402
from geo.workspace import read_workspace  # noqa: E402
from planning.districts import districts_problem, draw_districts, exact_districts, p_median_bound, workspace_problem  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
DEMO = ROOT / "data" / "boundaries" / "demo_county.gpkg"


def _case(name: str, problem, k: int, *, bound_s: float | None, seed: int = 0) -> dict:
    t0 = time.perf_counter()
    r = draw_districts(problem, k, seed=seed)
    heur_s = time.perf_counter() - t0
    line = (f"{name}: {problem.n} units, K={k}, {r.cost_source}: objective {r.objective:.2f} "
            f"{r.cost_unit}, max deviation {r.max_deviation:.2%}, contiguous {r.contiguous}, "
            f"{heur_s:.1f} s")
    out = {"objective": r.objective, "max_deviation": r.max_deviation,
           "contiguous": r.contiguous, "seconds": heur_s}
    if bound_s:
        b = p_median_bound(problem, k, max_deviation=0.05, time_limit_s=bound_s, start=r)
        gap = r.objective / b["bound"] - 1.0 if b["bound"] and r.target_met else float("nan")
        shown = "none (infeasible)" if b["bound"] is None else f"{b['bound']:.2f}"
        line += f"; p-median MIP bound {shown} ({b['status']}, {b['seconds']:.1f} s)"
        if b["value"] is not None:
            line += f", best non-contiguous {b['value']:.2f}"
        line += (f": gap {gap:.2%} ({'within' if gap <= 0.05 else 'ABOVE'} the 5 % goal)"
                 if gap == gap else ": no gap (the districts miss 5 %; the bound is for plans within it)")
        out.update(bound=b["bound"], gap=gap, bound_seconds=b["seconds"])
    if problem.n <= 40:
        e = exact_districts(problem, k, max_deviation=0.05, time_limit_s=60)
        line += ("; exact flow MIP with free centres: "
                 + ("no contiguous plan within 5 %" if e["infeasible"] else
                    f"{e['value']:.2f} ({e['status']}, {e['seconds']:.1f} s)"))
    print(line, flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="the demo seat station only (seconds)")
    ap.add_argument("--bound-time", type=float, default=120.0, help="HiGHS time for the bound (s)")
    ap.add_argument("--big-bound", action="store_true", help="also bound the 801-unit station")
    args = ap.parse_args(argv)
    print(f"machine: {machine()}")
    ws = read_workspace(DEMO)
    _case("demo county, seat station S01 (城关)", workspace_problem(ws, within_station="S01"), 3,
          bound_s=min(args.bound_time, 30.0))
    if args.quick:
        return 0
    _case("demo county, station S07 (李庄中心)", workspace_problem(ws, within_station="S07"), 9,
          bound_s=args.bound_time if args.big_bound else None)
    if (DATA / "chicago" / "police_beats.zip.geojson").exists():
        from bench.chicago_beats import chicago_beats
        problem = districts_problem(chicago_beats(DATA), weights="incidents")
        _case("Chicago 275 police beats", problem, 22, bound_s=args.bound_time)
    else:
        print(f"Chicago data not found under {DATA}; skipped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
