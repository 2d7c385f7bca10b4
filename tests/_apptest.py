"""Helpers for tests that run the app's script in Streamlit's AppTest: the script's path, a tiny
workspace with every layer, and a spy on the maps a page builds and sends (tests/test_app.py,
tests/test_mapview.py and the page tests use them)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from types import ModuleType

import geopandas as gpd
import numpy as np
import shapely
import streamlit_folium
from pyproj import CRS
from streamlit.testing.v1 import AppTest

from geo.grid import cells_from_area, cells_with_attributes
from geo.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")


# ----------------------------------------------------------------------------------------------
# A tiny workspace in CGCS2000 / 3-degree Gauss-Kruger CM 114E, around 113.9E 34.3N.

def tiny_workspace() -> Workspace:
    crs = CRS("EPSG:4547")

    def layer(geoms, **cols) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(cols, geometry=list(geoms), crs="EPSG:4326").to_crs(crs)

    x0, x1, y0, y1 = 113.85, 113.95, 34.25, 34.35
    xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
    area = layer([shapely.box(x0, y0, x1, y1)], name=["测试县"])
    townships = layer([shapely.box(x0, y0, xm, y1), shapely.box(xm, y0, x1, y1)],
                      township_id=["T1", "T2"], name=["城关镇", "东乡"], population=[12000.0, 8000.0])
    jurisdictions = layer([shapely.box(x0, y0, x1, ym), shapely.box(x0, ym, x1, y1)],
                          station_id=["S1", "S2"], name=["南关派出所", "北关派出所"])
    stations = layer([shapely.Point(113.9, 34.27), shapely.Point(113.9, 34.33)],
                     station_id=["S1", "S2"], name=["南关派出所", "北关派出所"], officers=[20, 15])
    posts = layer([shapely.Point(113.88, 34.28), shapely.Point(113.92, 34.32)],
                  post_id=["P1", "P2"], kind=["platform", "post"])
    checkpoints = layer([shapely.Point(x0, 34.3), shapely.Point(113.9, ym)],
                        checkpoint_id=["C1", "C2"], ring=["outer", "inner"])
    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(x0 + 0.001, x1 - 0.001, 60), rng.uniform(y0 + 0.001, y1 - 0.001, 60)
    incidents = layer(shapely.points(lon, lat), incident_id=[f"I{i}" for i in range(60)],
                      category=["theft"] * 60)
    nodes = layer(shapely.points([x0, xm, x1], [ym, ym, ym]), node_id=[1, 2, 3])
    edges = layer([shapely.LineString([(x0, ym), (xm, ym)]), shapely.LineString([(xm, ym), (x0, ym)]),
                   shapely.LineString([(xm, ym), (x1, ym)])],
                  u=[1, 2, 2], v=[2, 1, 3], road_class=["primary", "primary", "residential"])
    cells = cells_with_attributes(cells_from_area(area, size_m=1000.0), townships=townships,
                                  jurisdictions=jurisdictions, incidents=incidents,
                                  population_from=townships)
    return Workspace(crs=crs, meta={"name": "tiny"}, layers=dict(
        area=area, townships=townships, stations=stations, jurisdictions=jurisdictions, posts=posts,
        checkpoints=checkpoints, incidents=incidents, cells=cells, road_nodes=nodes, road_edges=edges))


class MapSpy:
    """Counts ``builders`` (names of map functions in ``module``) per map and keeps each map's
    content hash as sent to the browser, for one script run at a time (``run``)."""

    def __init__(self, monkeypatch, module: ModuleType, *builders: str):
        import ui.mapview

        self.built: Counter = Counter()
        self.sent: dict[str, str] = {}
        self._key: str | None = None
        real_show = module.show_map

        def show(m, *, key, **kw):
            self._key = key
            try:
                return real_show(m, key=key, **kw)
            finally:
                self._key = None

        monkeypatch.setattr(module, "show_map", show)
        for name in builders:
            def counted(*args, _real=getattr(module, name), **kw):
                self.built[self._key] += 1
                return _real(*args, **kw)
            monkeypatch.setattr(module, name, counted)
        real_component = streamlit_folium._component_func

        def component(**kw):
            self.sent[self._key] = kw["key"]
            return real_component(**kw)

        monkeypatch.setattr(streamlit_folium, "_component_func", component)
        ui.mapview._cached_payload.clear()  # no payloads left from earlier tests

    def open(self, monkeypatch, path: Path, page: str, timeout: float = 120) -> AppTest:
        monkeypatch.setenv("GRIDPATROL_WORKSPACE", str(path))
        monkeypatch.setenv("GRIDPATROL_PAGE", page)
        at = AppTest.from_file(APP, default_timeout=timeout)
        self.run(at)
        return at

    def run(self, at: AppTest) -> tuple[dict[str, int], dict[str, str]]:
        """Run the script; returns (builder calls per map, content hash per map) of this run."""
        self.built.clear()
        self.sent = {}
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert not at.error, [e.value for e in at.error]
        return dict(self.built), dict(self.sent)


def assert_rebuilt(spy: MapSpy, before: dict[str, str], *, changed: set[str], kept: set[str] = frozenset(),
                   same_content: set[str] = frozenset()) -> None:
    """The maps in ``changed`` were built again in the last run and (unless in ``same_content``)
    show something else than in ``before``; those in ``kept`` came from the cache, unchanged."""
    assert {k: spy.built.get(k, 0) for k in changed} == {k: 1 for k in changed}, dict(spy.built)
    for k in changed - set(same_content):
        assert spy.sent[k] != before[k], f"{k} was rebuilt but shows the same"
    for k in kept:
        assert spy.built.get(k, 0) == 0, f"{k} was rebuilt though nothing it shows changed"
        assert spy.sent[k] == before[k]
