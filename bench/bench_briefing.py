"""The demo briefing (every section, HTML and PDF) timed, against the same maps drawn naively,
measured in one run.

- ``build_s``: ``build_briefing`` on the demo workspace (every section computed and its map
  drawn once to PNG), then ``to_html`` and ``pdf_bytes`` (the PDF places the same PNGs);
  ``read_s`` the workspace read before, ``steps_s`` each section's computing and drawing.
- ``maps_s``: the briefing's maps (its sections' and the overview) drawn as the briefing draws
  them: once, on an Agg canvas that draws only when saved, layers as a few compound paths.
- baselines, the same maps drawn the naive way: each layer with ``GeoDataFrame.plot`` on
  matplotlib's plain Agg canvas (which redraws the whole figure after every ``plot`` call).
  ``previous_maps_s``: once, to PNG (how the briefing drew its maps before issue 15; it already
  placed the PNG in the PDF); ``naive_maps_s``: twice, to PNG for the HTML and again as vectors
  for the PDF page. ``previous_ratio`` = previous_maps_s / maps_s, ``maps_ratio`` =
  naive_maps_s / maps_s; ``naive_build_s`` = build_s - maps_s + naive_maps_s: the briefing
  with maps drawn naively twice, ``build_ratio`` = naive_build_s / build_s.
- ``cli_s`` (with ``--cli``): ``gridpatrol brief DEMO --out X.pdf --pdf`` end to end in a new
  process (imports included).

Run: ``.venv/bin/python bench/bench_briefing.py [--repeat 3] [--cli]``; prints the machine, the
figures and JSON.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import machine  # noqa: E402

DEMO = ROOT / "data" / "boundaries" / "demo_county.gpkg"
SECTION_MODULES = ("ui.briefing.figures", "ui.briefing.districts", "ui.briefing.response",
                   "ui.briefing.patrol", "ui.briefing.orders", "ui.briefing.overview")


@contextlib.contextmanager
def naive_drawing():
    """Maps drawn the naive way while inside: every layer with ``GeoSeries.plot`` on the plain
    Agg canvas (a full redraw after each plot call), roads plotted from the edge table."""
    import importlib

    import geopandas as gpd
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from geo.road_classes import road_class_rank
    from ui.briefing import figures

    def fill(ax, geoms, colour, *, alpha=None, edgecolour="none", linewidth=0.0, zorder=1, hatch=None):
        gs = gpd.GeoSeries(figures._geoms(geoms))
        if len(gs):
            gs.plot(ax=ax, facecolor=colour, edgecolor=edgecolour, linewidth=linewidth, alpha=alpha,
                    zorder=zorder, hatch=hatch)

    def outline(ax, geoms, colour, *, linewidth=1.0, linestyle="-", alpha=None, zorder=8):
        gs = gpd.GeoSeries(figures._geoms(geoms))
        polygonal = gs.geom_type.isin(["Polygon", "MultiPolygon"])
        gs = gs.where(~polygonal, gs.boundary)
        if len(gs):
            gs.plot(ax=ax, color=colour, linewidth=linewidth, linestyle=linestyle, alpha=alpha, zorder=zorder)

    def base_draw(self, ax, *, townships=True, extent=None):
        if self.area is not None:
            fill(ax, self.area, figures.LAND, zorder=0)
        if self.rivers is not None:
            fill(ax, self.rivers, figures.RIVER, edgecolour=figures.RIVER_EDGE, linewidth=0.6, zorder=2)
        if self.ws.has("road_edges"):
            edges = self.ws.layer("road_edges")
            rank = edges["road_class"].map(road_class_rank) if "road_class" in edges.columns else None
            if rank is None:
                edges.plot(ax=ax, color=figures.ROAD_MINOR, linewidth=0.4, zorder=3)
            else:
                edges[(rank > 2) & (rank <= 4)].plot(ax=ax, color=figures.ROAD_MINOR, linewidth=0.4, zorder=3)
                edges[rank <= 2].plot(ax=ax, color=figures.ROAD_MAJOR, linewidth=1.1, zorder=3)
        if townships and self.townships is not None:
            outline(ax, self.townships, "#555555", linewidth=0.8, linestyle="--", zorder=6)
        if self.area is not None:
            outline(ax, self.area, "#111111", linewidth=1.8, zorder=7)
        box = extent if extent is not None else self.bounds
        if box is not None:
            minx, miny, maxx, maxy = box
            pad = max(maxx - minx, maxy - miny) * 0.04
            ax.set_xlim(minx - pad, maxx + pad)
            ax.set_ylim(miny - pad, maxy + pad)

    saved = []
    for name in SECTION_MODULES:
        module = importlib.import_module(name)
        for attr, value in (("fill", fill), ("outline", outline)):
            if hasattr(module, attr):
                saved.append((module, attr, getattr(module, attr)))
                setattr(module, attr, value)
    saved += [(figures, "MapCanvas", figures.MapCanvas), (figures.BaseLayers, "draw", figures.BaseLayers.draw)]
    figures.MapCanvas = FigureCanvasAgg
    figures.BaseLayers.draw = base_draw
    try:
        yield
    finally:
        for module, attr, value in reversed(saved):
            setattr(module, attr, value)


def _maps(brief, ws):
    """(the briefing's sections and its overview, with their draw functions)."""
    from ui.briefing.context import BriefOptions, SectionContext
    from ui.briefing.overview import overview_section
    c = SectionContext(ws, brief.lang, BriefOptions(None, None, "08:00-16:00", None, 2, 0, None))
    return [*brief.sections, overview_section(c)]


def draw_fast(maps, lang: str, font: str) -> float:
    from ui.briefing.figures import render_png
    started = time.perf_counter()
    for s in maps:
        render_png(s.draw, panels=s.panels, panel_titles=s.panel_titles, lang=lang, font=font)
    return time.perf_counter() - started


def draw_naive(maps, lang: str, font: str, formats: tuple[str, ...]) -> float:
    import matplotlib

    from ui.briefing.figures import map_figure, rc
    started = time.perf_counter()
    with naive_drawing(), matplotlib.rc_context(rc(font)):
        for s in maps:
            for fmt in formats:
                fig = map_figure(s.draw, panels=s.panels, panel_titles=s.panel_titles, lang=lang, font=font)
                fig.savefig(io.BytesIO(), format=fmt, dpi=130)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs of each measure; medians (1)")
    parser.add_argument("--cli", action="store_true", help="also time `gridpatrol brief` end to end")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    import logging
    logging.disable(logging.WARNING)
    from geo.workspace import read_workspace
    from ui.briefing import build_briefing

    print(f"machine: {machine()}", flush=True)
    started = time.perf_counter()
    ws = read_workspace(DEMO)
    read_s = time.perf_counter() - started
    builds, steps, fast, previous, naive = [], {}, [], [], []
    brief = None
    for _ in range(max(1, args.repeat)):
        started = time.perf_counter()
        brief = build_briefing(ws, lang="zh", date="2026-01-15")
        brief.to_html()
        brief.pdf_bytes()
        builds.append(time.perf_counter() - started)
        for k, v in brief.timings.items():
            steps.setdefault(k, []).append(v)
        maps = _maps(brief, ws)
        fast.append(draw_fast(maps, brief.lang, brief.font))
        previous.append(draw_naive(maps, brief.lang, brief.font, ("png",)))
        naive.append(draw_naive(maps, brief.lang, brief.font, ("png", "pdf")))
    build_s, maps_s, previous_s, naive_s = (statistics.median(v) for v in (builds, fast, previous, naive))
    result = {"sections": [s.key for s in brief.sections], "maps": len(brief.sections) + 1,
              "pdf_pages": brief.pdf_pages, "read_s": round(read_s, 2), "build_s": round(build_s, 2),
              "steps_s": {k: round(statistics.median(v), 2) for k, v in steps.items()},
              "maps_s": round(maps_s, 2), "previous_maps_s": round(previous_s, 2),
              "previous_ratio": round(previous_s / maps_s, 1), "naive_maps_s": round(naive_s, 2),
              "maps_ratio": round(naive_s / maps_s, 1),
              "naive_build_s": round(build_s - maps_s + naive_s, 2),
              "build_ratio": round((build_s - maps_s + naive_s) / build_s, 2)}
    if args.cli:
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "cli", "brief", str(DEMO), "--out",
                                   str(Path(tmp) / "b.pdf"), "--pdf"], cwd=ROOT, capture_output=True, text=True)
            result["cli_s"] = round(time.perf_counter() - started, 2)
            if done.returncode != 0:
                print(done.stderr, file=sys.stderr)
                return 1
    print(f"demo briefing, {result['maps']} maps, {result['pdf_pages']} PDF pages: "
          f"{build_s:.2f} s (HTML + PDF; workspace read {read_s:.2f} s)")
    print(f"maps drawn once: {maps_s:.2f} s; GeoDataFrame.plot on the plain Agg canvas (the previous "
          f"way) once: {previous_s:.2f} s (ratio {result['previous_ratio']}), twice (PNG + vector PDF): "
          f"{naive_s:.2f} s (ratio {result['maps_ratio']})")
    print(f"the briefing with naive maps would take {result['naive_build_s']:.2f} s "
          f"(ratio {result['build_ratio']})")
    if "cli_s" in result:
        print(f"`gridpatrol brief --pdf` end to end: {result['cli_s']:.2f} s")
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
