"""Map speed in a real browser: time from page load to the first map of every page drawn, against a bare page.

By default (``--pages all``): the first map of every page (below); with ``--overview-only``: the
overview map and a layer toggle. Builds synthetic workspaces from the demo county with about
``--cells`` square cells (default 10,000: 10,261 cells; the
demo's own layers, cells re-cut and their population, incidents, township and station filled in
by ``geo.grid.cells_with_attributes``), starts the app on a free loopback port for each, opens
the Overview page in headless Chromium (Debian ``/usr/bin/chromium`` driven by Playwright) and
measures, over several fresh page loads:

- ``drawn_s``: from navigation start to the Leaflet map in the streamlit-folium iframe having its
  vector canvas, legend and layer control and the cell raster painted (``ui.cell_raster``), plus
  two animation frames;
- ``cells_js_ms``: of that, the cell raster's own script, from its start to painted;
- ``toggle_ms``: switching the cells layer off and on again in the layer control, each until
  two animation frames later (Leaflet removes/adds the layer and repaints).

The baseline, measured in the same run the same way, is a bare Streamlit page with a one-point
map (``bench/bare_map_app.py``): what Streamlit and streamlit-folium cost on this machine before
any GridPatrol layer; ``vs_baseline`` = drawn_s / baseline. The first load after start is
reported apart (``cold_s``: the server reads the workspace and prepares the display layers once,
then caches them).

The first map of every page (``--pages``, default all pages with a map): for each page of the app
on the demo workspace (and on each ``--cells`` workspace), from navigation start to the page's
first streamlit-folium map drawn (``MAP_DRAWN``) and shown (its frame sized), in a fresh tab (a
new Streamlit session) each time: ``first_s`` on the page's first visit after the server started
(the page's server-side caches empty) and ``drawn_s`` the median of ``--loads`` later visits. The
police-district page draws its districts after its button: that map is timed from the click.
Every figure is also given against the same baseline (``vs_baseline``).

Run ``python bench/bench_map.py`` (about 8 minutes: the demo and 10,261 cells, 3 visits a page);
``--cells 2000,10000 --pages overview,coverage --loads 5``; ``--overview-only --demo`` for the
overview's drawn and toggle times. The helpers are shared with tests/test_browser.py.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import warnings
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "boundaries" / "demo_county.gpkg"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
_FIX = ("install it with `apt-get install chromium fonts-noto-cjk` (`make setup` does it as root) "
        "and `pip install playwright` (never `playwright install`: the Debian browser is used)")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen, *, timeout_s: float = 90.0,
                 log: Path | None = None) -> None:
    """Wait until the Streamlit server at ``url`` answers its health check; RuntimeError when
    ``proc`` stops first or nothing answers within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the app stopped at start (exit {proc.returncode}); see {log}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the app did not answer on {url} within {timeout_s:.0f} s")
        time.sleep(0.3)


@contextlib.contextmanager
def app_server(workspace: Path | None, *, port: int | None = None, timeout_s: float = 90.0,
               log: Path | None = None, script: Path = ROOT / "app.py") -> Iterator[str]:
    """Run ``streamlit run`` of ``script`` (the app, on ``workspace``) on a free loopback port;
    yield its base URL; stop it."""
    port = port or free_port()
    streamlit = Path(sys.executable).with_name("streamlit")
    cmd = [str(streamlit) if streamlit.exists() else sys.executable,
           *([] if streamlit.exists() else ["-m", "streamlit"]),
           "run", str(script), "--server.port", str(port), "--server.address", "127.0.0.1",
           "--server.headless", "true", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none", *(["--", "--workspace", str(workspace)] if workspace else [])]
    out = open(log, "wb") if log else subprocess.DEVNULL
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("GRIDPATROL_WORKSPACE", None), env.pop("GRIDPATROL_PAGE", None)
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, timeout_s=timeout_s, log=log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log:
            out.close()


@contextlib.contextmanager
def browser(*, width: int = 1440, height: int = 1000) -> Iterator[object]:
    """A headless Debian Chromium (fresh profile) through Playwright; yields the browser context.

    Raises RuntimeError with the fix when Chromium or Playwright is missing."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} not found; {_FIX}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise RuntimeError(f"the Python package playwright is missing; {_FIX}") from None
    profile = tempfile.mkdtemp(prefix="gp-chromium-")
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": width, "height": height}, locale="zh-CN")
        try:
            yield ctx
        finally:
            ctx.close()


_TWO_FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))"
# Any Leaflet map drawn: something in its overlay pane, every cell raster painted.
MAP_DRAWN = """() => !!(document.querySelector('.leaflet-container')
    && document.querySelector('.leaflet-overlay-pane > *, .leaflet-marker-pane > *')
    && [...document.querySelectorAll('canvas.gridpatrol-cells')].every(c => c.dataset.ready))"""
# The overview map drawn: as above, with its layer control and legend.
OVERVIEW_DRAWN = """() => !!(document.querySelector('.leaflet-container')
    && document.querySelector('.leaflet-overlay-pane > *')
    && document.querySelector('.leaflet-control-layers-overlays input')
    && document.querySelector('.gridpatrol-legend')
    && [...document.querySelectorAll('canvas.gridpatrol-cells')].every(c => c.dataset.ready))"""


def map_frame(page, *, timeout_s: float = 60.0, poll_s: float = 0.02, ready: str = OVERVIEW_DRAWN):
    """The frame holding the drawn Leaflet map (waits until ``ready``, a JavaScript predicate, is
    true in one of the page's frames); raises TimeoutError."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for frame in page.frames:
            if frame is page.main_frame:
                continue
            try:
                if frame.evaluate(ready):
                    frame.evaluate(_TWO_FRAMES)
                    return frame
            except Exception:  # a frame navigating or detached: look again
                continue
        page.wait_for_timeout(poll_s * 1000)  # lets Playwright process frame events (time.sleep does not)
    raise TimeoutError(f"no Leaflet map drawn within {timeout_s:.0f} s")


def toggle_ms(frame, *, index: int = 0) -> tuple[float, float]:
    """Milliseconds to switch overlay ``index`` off, then on, each until painted."""
    js = """async (i) => {
        const input = document.querySelectorAll('.leaflet-control-layers-overlays input')[i];
        const frames = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
        const out = [];
        for (let k = 0; k < 2; k++) {
            const t0 = performance.now(); input.click(); await frames(); out.push(performance.now() - t0);
        }
        return out;
    }"""
    off, on = frame.evaluate(js, index)
    return float(off), float(on)


def overlay_names(frame) -> list[str]:
    return frame.evaluate("() => [...document.querySelectorAll('.leaflet-control-layers-overlays label')]"
                          ".map(l => l.textContent.trim())")


def synthetic_workspace(n_cells: int, folder: Path) -> Path:
    """The demo county with about ``n_cells`` square cells (re-cut), written to ``folder``."""
    import math

    from geo.grid import cells_from_area, cells_with_attributes
    from geo.workspace import read_workspace, write_workspace
    out = folder / f"demo_{n_cells}_cells.gpkg"
    if out.exists():
        return out
    ws = read_workspace(DEMO)
    area = ws.layer("area")
    size = math.sqrt(float(area.geometry.area.sum()) / n_cells)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cells = cells_with_attributes(cells_from_area(area, size_m=size), townships=ws.layer("townships"),
                                      jurisdictions=ws.layer("jurisdictions"), incidents=ws.layer("incidents"),
                                      population_from=ws.layer("townships"))
    write_workspace(ws.with_layers(cells=cells).with_meta(name=f"demo, {len(cells)} cells",
                                                          cell_size=f"{size:.0f}"), out)
    return out


def _cells_ms(frame) -> float | None:
    """Milliseconds the cell raster took in the browser, from its script's start to painted."""
    marks = frame.evaluate("() => Object.fromEntries(performance.getEntriesByType('mark')"
                           ".map(m => [m.name, m.startTime]))")
    start, painted = marks.get("gridpatrol-cells-start"), marks.get("gridpatrol-cells-painted")
    return None if start is None or painted is None else painted - start


def measure(workspace: Path | None, *, loads: int = 3, log: Path | None = None) -> dict:
    """Cold and warm page-load-to-map-drawn seconds and layer toggle milliseconds of the overview
    of ``workspace``; with None, of the baseline page (``bench/bare_map_app.py``)."""
    from geo.workspace import read_workspace
    n = len(read_workspace(workspace, layers=["cells"]).layer("cells")) if workspace else 0
    script = ROOT / "app.py" if workspace else ROOT / "bench" / "bare_map_app.py"
    ready = OVERVIEW_DRAWN if workspace else MAP_DRAWN
    with app_server(workspace, log=log, script=script) as url, browser() as ctx:
        drawn, toggles, cells_ms, cold, names = [], [], [], None, []
        for i in range(loads + 1):
            page = ctx.new_page()
            t0 = time.perf_counter()
            page.goto(f"{url}/", wait_until="commit")
            frame = map_frame(page, timeout_s=120, ready=ready)
            dt = time.perf_counter() - t0
            if i == 0:
                cold = dt
            else:
                drawn.append(dt)
                if workspace:
                    names = overlay_names(frame)
                    cells_ms.append(_cells_ms(frame))
                    toggles.append(toggle_ms(frame, index=0))
            page.close()
    out = {"cells": n, "cold_s": round(cold, 2), "drawn_s": round(statistics.median(drawn), 2),
           "drawn_all_s": [round(d, 2) for d in drawn]}
    if toggles:
        out |= {"toggle_off_ms": round(statistics.median(t[0] for t in toggles), 1),
                "toggle_on_ms": round(statistics.median(t[1] for t in toggles), 1),
                "toggled_layer": names[0] if names else None,
                "cells_js_ms": (round(statistics.median(c for c in cells_ms if c is not None))
                                if any(c is not None for c in cells_ms) else None)}
    return out


# Pages whose map appears only after an action, and that action (a function of the page).
def _districts_action(page) -> None:
    """The police-district page: draw the districts of the first station (the page's defaults)."""
    from ui.i18n import text
    page.get_by_role("button", name=text("pd.draw", "zh")).first.click()


PAGE_ACTIONS = {"districts": _districts_action}


_IDLE_WITHOUT_MAP = """() => !!document.querySelector('[data-testid=stMain] h1, [data-testid=stMain] h2')
    && (document.querySelector('[data-test-script-state]') || {}).getAttribute?.('data-test-script-state') !== 'running'
    && !document.querySelector('iframe[src*=streamlit_folium], iframe[title*=streamlit_folium]')"""


# Each iframe of the page: whether ``ready`` (a JavaScript predicate's source) holds in it, and
# its height. Evaluated from the page itself (the frames are same-origin), so that a frame that
# never loads (a map in a folded expander) cannot stall the measurement.
_FRAMES_READY = """(src) => [...document.querySelectorAll('iframe')].map(f => {
    let ok = false;
    try { ok = !f.contentWindow.__gpSeen && !!f.contentWindow.Function('return (' + src + ')()')(); }
    catch (e) { ok = false; }
    return [ok, f.getBoundingClientRect().height];
})"""
# Marks the maps on the page now, so that ``first_map`` waits for a new one (after an action).
_MARK_SEEN = """() => document.querySelectorAll('iframe').forEach(f => {
    try { f.contentWindow.__gpSeen = true; } catch (e) { /* not loaded */ }
})"""


def first_map(page, *, timeout_s: float = 120.0, ready: str = MAP_DRAWN) -> int | None:
    """The index (among the page's iframes) of the first streamlit-folium map of ``page`` drawn
    (``ready``) and shown (its frame at least 100 px tall: streamlit-folium sizes the frame when
    the page's script has sent it), two animation frames later. None when the page's script has
    finished (for 1.5 s) without any map; TimeoutError when no map is drawn within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    idle_since = None
    while time.monotonic() < deadline:
        try:
            frames = page.evaluate(_FRAMES_READY, ready)
            idle = page.evaluate(_IDLE_WITHOUT_MAP)
        except Exception:  # navigating: look again
            frames, idle = [], False
        drawn = [i for i, (ok, height) in enumerate(frames) if ok and height >= 100]
        if drawn:
            page.evaluate(_TWO_FRAMES)
            return drawn[0]
        idle_since = (idle_since or time.monotonic()) if idle else None
        if idle_since is not None and time.monotonic() - idle_since > 1.5:
            return None
        page.wait_for_timeout(20)
    raise TimeoutError(f"no map drawn within {timeout_s:.0f} s")


def _settled(page, *, timeout_s: float = 120.0) -> None:
    """Wait until the Streamlit script of ``page`` has stopped running."""
    deadline = time.monotonic() + timeout_s
    quiet = 0
    while time.monotonic() < deadline and quiet < 4:
        running = page.evaluate("() => (document.querySelector('[data-test-script-state]') || {})"
                                ".getAttribute?.('data-test-script-state') === 'running'")
        quiet = 0 if running else quiet + 1
        page.wait_for_timeout(250)


def page_paths() -> list[str]:
    """The url paths of the app's pages (``ui.pages.PAGES``)."""
    from ui.pages import PAGES
    return [spec.url_path for spec in PAGES]


def measure_pages(workspace: Path, pages: list[str], *, loads: int = 3, log: Path | None = None,
                  timeout_s: float = 120.0) -> dict[str, dict]:
    """Seconds to each page's first map (see the module docstring) on ``workspace``: per page
    ``first_s`` (first visit after the server started), ``drawn_s`` (median of ``loads`` later
    visits, each in a new tab) and ``drawn_all_s``; ``{"map": False}`` for a page without a map.
    A page with an action (``PAGE_ACTIONS``) also gets ``"<page> (after the button)"``: from the
    click to the new map drawn."""
    out: dict[str, dict] = {}
    with app_server(workspace, log=log) as url, browser() as ctx:
        for name in pages:
            action = PAGE_ACTIONS.get(name)
            times: list[float] = []
            after: list[float] = []
            for _ in range(loads + 1):
                page = ctx.new_page()
                t0 = time.perf_counter()
                page.goto(f"{url}/{name}", wait_until="commit")
                try:
                    found = first_map(page, timeout_s=timeout_s,
                                      ready=OVERVIEW_DRAWN if name == "overview" else MAP_DRAWN)
                except TimeoutError:
                    found = None
                if found is not None:
                    times.append(time.perf_counter() - t0)
                if action is not None:  # the map the page draws after its button
                    page.locator("h1, h2").first.wait_for(timeout=timeout_s * 1000)
                    _settled(page, timeout_s=timeout_s)
                    page.evaluate(_MARK_SEEN)
                    t1 = time.perf_counter()
                    action(page)
                    try:
                        if first_map(page, timeout_s=timeout_s) is not None:
                            after.append(time.perf_counter() - t1)
                    except TimeoutError:
                        pass
                page.close()
                if found is None and action is None:
                    break
            for label, series, when in ((name, times, "load"), (f"{name} (after the button)", after, "click")):
                if label != name and action is None:
                    continue
                if not series:
                    out[label] = {"map": False}
                    continue
                warm = series[1:] or series
                out[label] = {"map": True, "after": when, "first_s": round(series[0], 2),
                              "drawn_s": round(statistics.median(warm), 2), "drawn_all_s": [round(d, 2) for d in warm]}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", default="10000",
                        help="cell counts of synthetic workspaces measured besides the demo ('' for none)")
    parser.add_argument("--loads", type=int, default=3, help="warm page loads per page and workspace (3)")
    parser.add_argument("--pages", default="all",
                        help="pages whose first map is measured (url paths, comma-separated; 'all'; 'none')")
    parser.add_argument("--overview-only", action="store_true",
                        help="only the overview's map and layer toggle on the --cells workspaces (and --demo)")
    parser.add_argument("--demo", action="store_true", help="with --overview-only: also the demo workspace")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    folder = Path(tempfile.gettempdir()) / "gridpatrol-bench-map"
    folder.mkdir(exist_ok=True)
    targets = [(f"{int(c)} cells", synthetic_workspace(int(c), folder)) for c in args.cells.split(",") if c.strip()]
    if args.demo or not args.overview_only:
        targets.insert(0, ("demo", DEMO))
    from bench import machine
    say = (lambda *a: None) if args.json else (lambda *a: print(*a, flush=True))
    results: dict = {"machine": {"machine": machine(), "load_before": round(os.getloadavg()[0], 2)}}
    say(f"machine: {results['machine']['machine']}; load average {results['machine']['load_before']} before")
    results["baseline"] = base = measure(None, loads=max(args.loads, 3), log=folder / "baseline.log")
    say(f"{'baseline':>12s}: bare Streamlit page with a one-point map drawn {base['drawn_s']:.2f} s "
        f"(warm, median: {base['drawn_all_s']}; first load {base['cold_s']:.2f} s)")
    if args.overview_only:
        for label, path in targets:
            results[label] = r = measure(path, loads=args.loads, log=folder / f"{path.stem}.log")
            r["vs_baseline"] = round(r["drawn_s"] / base["drawn_s"], 2)
            say(f"{label:>12s}: {r['cells']:6,d} cells  map drawn {r['drawn_s']:.2f} s = {r['vs_baseline']:.2f}x "
                f"baseline (warm, median of {args.loads}: {r['drawn_all_s']}; cold {r['cold_s']:.2f} s; "
                f"cell raster {r['cells_js_ms']} ms in the browser)  toggle '{r['toggled_layer']}' "
                f"off {r['toggle_off_ms']:.0f} ms / on {r['toggle_on_ms']:.0f} ms")
    else:
        wanted = (page_paths() if args.pages == "all" else [] if args.pages == "none"
                  else [p.strip() for p in args.pages.split(",") if p.strip()])
        from geo.workspace import read_workspace
        for label, path in targets:
            n = len(read_workspace(path, layers=["cells"]).layer("cells"))
            say(f"{label} ({n:,} cells): first map of each page, seconds from navigation, median of "
                f"{args.loads} visits in new tabs (first: the page's first visit after the server started)")
            pages = measure_pages(path, wanted, loads=args.loads, log=folder / f"{path.stem}_pages.log")
            results[label] = {"cells": n, "pages": pages}
            for name, r in pages.items():
                if not r["map"]:
                    say(f"{name:>30s}: no map on this page")
                    continue
                r["vs_baseline"] = round(r["drawn_s"] / base["drawn_s"], 2)
                verdict = (f"< 2 s: {'yes' if r['drawn_s'] < 2.0 else 'NO'}" if r["after"] == "load"
                           else "from the click, the optimisation included")
                say(f"{name:>30s}: {r['drawn_s']:.2f} s = {r['vs_baseline']:.2f}x baseline "
                    f"(median of {len(r['drawn_all_s'])}: {r['drawn_all_s']}; first {r['first_s']:.2f} s)  {verdict}")
    results["machine"]["load_after"] = round(os.getloadavg()[0], 2)
    if args.json:
        print(json.dumps(results, ensure_ascii=False))
    else:
        print(f"load average {results['machine']['load_after']} after", flush=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
