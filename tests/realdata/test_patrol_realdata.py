"""Patrol routes on the real Coquimbo-La Serena road network, hotspots placed from zone populations."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyogrio
import pytest

from geo.network import graph_from_file
from geo.traveltime import engine_from_graph
from planning.patrol import plan_routes, solve_nearest_first


@pytest.fixture(scope="module")
def coquimbo(request):
    from tests.conftest import SHARED_DATA
    path = SHARED_DATA / "coquimbo" / "coquimbo_network_zones.gpkg"
    if not path.exists():
        pytest.skip(f"real reference data not found at {path} (present in CI)")
    G = graph_from_file(path)
    zones = pyogrio.read_dataframe(path, layer="zones").to_crs(G.graph["crs"])
    return G, zones


def _hotspots(zones: gpd.GeoDataFrame, n: int, seed: int) -> gpd.GeoDataFrame:
    """``n`` hotspot points drawn in zones with probability proportional to population; risk
    is the zone's population density (people per hectare) times a random factor."""
    rng = np.random.default_rng(seed)
    pop = zones["population"].fillna(0).to_numpy(dtype=float)
    picks = rng.choice(len(zones), size=n, replace=True, p=pop / pop.sum())
    pts = zones.geometry.iloc[picks].sample_points(1, rng=rng)
    density = pop[picks] / (zones.geometry.area.to_numpy()[picks] / 1e4)
    return gpd.GeoDataFrame({"hid": [f"h{i}" for i in range(n)],
                             "risk": density * rng.uniform(0.5, 1.5, n)},
                            geometry=pts.to_numpy(), crs=zones.crs)


def test_coquimbo_routes_are_feasible_and_beat_nearest_first(shared_data, coquimbo):
    G, zones = coquimbo
    assert G.number_of_nodes() > 15000
    hot = _hotspots(zones, 60, seed=1)
    station = zones.geometry.union_all().centroid
    engine = engine_from_graph(G)
    routes = plan_routes(G, hot, station, units=3, shift="20:00-22:00", dwell_min=10.0,
                         id_col="hid", engine=engine, time_limit_s=8.0, iterations=150)
    plan = routes.plan
    # Feasible: within the shift, on real roads, from the station back to it.
    assert (routes.lines["minutes"] <= 120.0 + 1e-6).all()
    for k, legs in enumerate(routes.legs):
        if not legs or len(legs) == 1 and len(legs[0]) == 1:
            continue
        assert legs[0][0] == legs[-1][-1]
        for leg in legs:
            assert all(G.has_edge(a, b) for a, b in zip(leg[:-1], leg[1:]))
    assert routes.lines.geometry.is_valid.all() and routes.lines.geometry.length.gt(0).all()
    naive = solve_nearest_first(plan.problem)
    assert plan.risk_covered > naive.risk_covered
    assert 0 < plan.risk_covered_share < 1


def test_coquimbo_seeded_plans_differ_and_lose_little(shared_data, coquimbo):
    G, zones = coquimbo
    hot = _hotspots(zones, 40, seed=2)
    station = zones.geometry.union_all().centroid
    engine = engine_from_graph(G)
    kw = dict(units=2, shift=90.0, dwell_min=8.0, id_col="hid", engine=engine, time_limit_s=4.0,
              iterations=80, variety=0.15)
    a = plan_routes(G, hot, station, rng=np.random.default_rng(11), **kw)
    b = plan_routes(G, hot, station, rng=np.random.default_rng(12), **kw)
    assert list(a.stops["hotspot"]) != list(b.stops["hotspot"])
    assert a.risk_loss_share < 0.10 and b.risk_loss_share < 0.10
