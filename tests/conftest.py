"""Shared fixtures: tiny literal layers in a metric CRS and the path to ../shared/data."""
from __future__ import annotations

import os
import re
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (ROOT / ".." / "shared" / "data").resolve()
METRIC = "EPSG:32650"


@pytest.fixture(autouse=True)
def _private_data_dir(tmp_path_factory, monkeypatch):
    """Every test gets its own empty data directory (GRIDPATROL_DATA), so that nothing writes a
    ``gridpatrol-data`` folder into the repository or sees another test's accounts."""
    monkeypatch.setenv("GRIDPATROL_DATA", str(tmp_path_factory.mktemp("data")))


@pytest.fixture
def shared_data() -> Path:
    """../shared/data, or a skip (with the reason) on a machine without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real reference data not found at {SHARED_DATA} (present in CI)")
    return SHARED_DATA


@pytest.fixture
def raises_problem():
    """``with raises_problem("null_ids", "stations", match="no station_id")``: a ValidationError
    that holds a problem with this rule and layer whose text matches."""
    from geo.errors import ValidationError

    class _Ctx:
        def __init__(self, rule: str, layer: str | None = None, match: str | None = None):
            self.rule, self.layer, self.match = rule, layer, match

        def __enter__(self):
            self._cm = pytest.raises(ValidationError)
            self.excinfo = self._cm.__enter__()
            return self.excinfo

        def __exit__(self, *exc):
            handled = self._cm.__exit__(*exc)
            problems = self.excinfo.value.problems
            hits = [p for p in problems if p.rule == self.rule
                    and (self.layer is None or p.layer == self.layer)]
            assert hits, f"no {self.rule} problem in {[p.rule for p in problems]}"
            if self.match:
                assert any(re.search(self.match, str(p)) for p in hits), [str(p) for p in hits]
            return handled
    return _Ctx


@pytest.fixture
def tiny_area() -> gpd.GeoDataFrame:
    """A 2 km x 1 km study area in UTM 50N."""
    return gpd.GeoDataFrame({"name": ["tiny"]}, geometry=[box(0, 0, 2000, 1000)], crs=METRIC)


@pytest.fixture
def tiny_townships() -> gpd.GeoDataFrame:
    """Two townships, west and east halves of the tiny area, with population."""
    return gpd.GeoDataFrame({"township_id": ["W", "E"], "population": [1000.0, 3000.0]},
                            geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000)], crs=METRIC)


@pytest.fixture
def tiny_stations() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"station_id": ["S1", "S2"]},
                            geometry=[Point(500, 500), Point(1500, 500)], crs=METRIC)


@pytest.fixture(scope="session")
def payload_workspace(tmp_path_factory) -> Path:
    """The demo county with a script payload in every name, id, kind and category
    (``tests/_payloads.py``), written once per session; its path."""
    from tests._payloads import write_payload_workspace
    return write_payload_workspace(tmp_path_factory.mktemp("payload"))


@pytest.fixture(scope="session")
def pg_cluster(tmp_path_factory):
    """A throw-away PostgreSQL/PostGIS cluster for the session (``tests/pgcluster.py``):
    ``pg_cluster.url(dbname, schema)`` is a workspace URL. Skips when PostgreSQL or PostGIS is
    not installed, unless the environment variable CI is set (then the test fails)."""
    from tests.pgcluster import ClusterUnavailable, start_cluster
    try:
        cluster = start_cluster(tmp_path_factory.mktemp("pg"))
    except ClusterUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostGIS test cluster unavailable in CI: {exc}")
        pytest.skip(f"PostGIS test cluster unavailable: {exc}")
    yield cluster
    cluster.stop()


@pytest.fixture
def inputs(tmp_path):
    """Tiny input files: area, townships, jurisdictions (GeoJSON, lon/lat), stations CSV."""
    area = gpd.GeoDataFrame({"name": ["小县"]}, geometry=[box(0, 0, 2000, 1000)], crs=METRIC)
    town = gpd.GeoDataFrame({"code": ["W", "E"], "pop": [1000, 3000]},
                            geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000)], crs=METRIC)
    jur = gpd.GeoDataFrame({"pcs": ["S1", "S2", "S2"]},
                           geometry=[box(0, 0, 1200, 1000), box(1200, 0, 1600, 1000),
                                     box(1600, 0, 2000, 1000)], crs=METRIC)
    area.to_crs(4326).to_file(tmp_path / "area.geojson")
    town.to_crs(4326).to_file(tmp_path / "town.geojson")
    jur.to_file(tmp_path / "jur.gpkg", layer="jurisdictions")
    st = gpd.GeoDataFrame({"pcs": ["S1", "S2"]}, geometry=[Point(500, 500), Point(1500, 500)],
                          crs=METRIC).to_crs(4326)
    lines = ["pcs,name,lon,lat"] + [f"{r.pcs},派出所{r.pcs},{r.geometry.x},{r.geometry.y}" for r in st.itertuples()]
    (tmp_path / "stations.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path
