"""Patrol routes on hand-checkable graphs: shift budgets, start/end, real legs, MIP yardstick."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from geo.errors import InputError
from geo.network import graph_from_tables
from geo.traveltime import engine_from_graph, minutes_matrix
from planning.patrol import (
    PatrolInfeasible,
    PatrolProblem,
    plan_routes,
    routes_to_geojson,
    routes_to_gpx,
    solve_heuristic,
    solve_mip,
    solve_nearest_first,
    write_routes,
)

METRIC = "EPSG:32650"


def _graph(nx_: int, ny_: int, *, step: float = 1000.0, speed: float = 60.0):
    """A grid of nx_ × ny_ nodes ``step`` metres apart, two-way roads at ``speed`` km/h
    (1000 m at 60 km/h = 1 minute per edge)."""
    ids = [f"{i}_{j}" for j in range(ny_) for i in range(nx_)]
    xy = [(i * step, j * step) for j in range(ny_) for i in range(nx_)]
    nodes = gpd.GeoDataFrame({"node_id": ids}, geometry=[Point(p) for p in xy], crs=METRIC)
    rows = []
    for j in range(ny_):
        for i in range(nx_):
            if i + 1 < nx_:
                rows.append((f"{i}_{j}", f"{i + 1}_{j}"))
            if j + 1 < ny_:
                rows.append((f"{i}_{j}", f"{i}_{j + 1}"))
    edges = pd.DataFrame(rows, columns=["u", "v"]).assign(speed_kmh=speed)
    return graph_from_tables(nodes, edges)


def _hotspots(G, nodes: list[str], risk: list[float]) -> gpd.GeoDataFrame:
    pts = [Point(G.nodes[n]["x"], G.nodes[n]["y"]) for n in nodes]
    return gpd.GeoDataFrame({"hid": [f"h{n}" for n in nodes], "risk": risk}, geometry=pts, crs=METRIC)


def _check_feasible(G, routes, start, end, shift_min):
    engine = engine_from_graph(G)
    for k, r in enumerate(routes.lines.itertuples()):
        assert r.minutes <= shift_min + 1e-6
        legs = routes.legs[k]
        if r.stops == 0:
            continue
        assert legs[0][0] == start and legs[-1][-1] == end
        total = 0.0
        for leg in legs:
            for a, b in zip(leg[:-1], leg[1:]):
                assert G.has_edge(a, b), f"leg step {a}->{b} is not a road"
            t = sum(min(d["travel_s"] for d in G.get_edge_data(a, b).values())
                    for a, b in zip(leg[:-1], leg[1:])) / 60.0
            assert t == pytest.approx(minutes_matrix(engine, [leg[0]], [leg[-1]])[0, 0])
            total += t
        stops = routes.stops[routes.stops["unit"] == r.unit]
        assert total + stops.shape[0] * 0 <= r.minutes + 1e-6


def test_line_graph_by_hand():
    G = _graph(6, 1)  # 0_0 - 1_0 - ... - 5_0, one minute per edge
    hs = _hotspots(G, ["1_0", "2_0", "3_0", "4_0", "5_0"], [1, 1, 1, 1, 5])
    full = plan_routes(G, hs, "0_0", units=1, shift=10.0, dwell_min=0.0, id_col="hid")
    assert full.plan.risk_covered == 9 and full.lines["minutes"].iloc[0] == pytest.approx(10.0)
    short = plan_routes(G, hs, "0_0", units=1, shift=8.0, dwell_min=0.0, id_col="hid")
    assert short.plan.risk_covered == 4  # nodes 1..4 and back; node 5 is 10 minutes away
    order = list(short.stops["hotspot"])
    assert order in (["h1_0", "h2_0", "h3_0", "h4_0"], ["h4_0", "h3_0", "h2_0", "h1_0"])
    expected = [1.0, 2.0, 3.0, 4.0] if order[0] == "h1_0" else [4.0, 5.0, 6.0, 7.0]
    assert list(short.stops["arrive_min"]) == expected
    assert short.lines["minutes"].iloc[0] == pytest.approx(8.0)


def test_routes_within_shift_start_end_and_real_legs():
    G = _graph(5, 5)
    rng = np.random.default_rng(7)
    nodes = [n for n in G.nodes if n != "0_0"]
    hs = _hotspots(G, nodes, list(rng.uniform(1, 10, len(nodes))))
    routes = plan_routes(G, hs, "0_0", end="4_4", units=2, shift="08:00-08:30", dwell_min=2.0,
                         id_col="hid")
    _check_feasible(G, routes, "0_0", "4_4", 30.0)
    assert 0 < routes.plan.risk_covered < hs["risk"].sum()
    stops = routes.stops
    assert stops["arrive"].iloc[0] >= "08:00" and (stops["arrive_min"] <= 30).all()
    # Timetable: arrivals increase along each unit's route.
    for _, g in stops.groupby("unit"):
        assert g["arrive_min"].is_monotonic_increasing
    assert set(routes.summary()) >= {"routes", "risk_covered_share", "shift_minutes"}


def test_station_point_snaps_and_far_station_is_refused():
    G = _graph(3, 3)
    hs = _hotspots(G, ["2_2"], [1.0])
    ok = plan_routes(G, hs, Point(30, 20), units=1, shift=30.0, dwell_min=1.0)
    assert ok.legs[0][0][0] == "0_0"
    with pytest.raises(InputError, match="not on the network"):
        plan_routes(G, hs, Point(9000, 9000), units=1, shift=30.0)
    with pytest.raises(InputError, match="not on the network"):
        plan_routes(G, hs, "nope", units=1, shift=30.0)


def test_zero_units_and_short_shift_are_explained():
    G = _graph(4, 1)
    hs = _hotspots(G, ["3_0"], [1.0])
    with pytest.raises(InputError, match="at least one patrol unit"):
        plan_routes(G, hs, "0_0", units=0, shift=30.0)
    with pytest.raises(PatrolInfeasible, match=r"shortest round trip to any hotspot takes 7\.0 min"):
        plan_routes(G, hs, "0_0", units=1, shift=5.0, dwell_min=1.0)


def test_required_and_revisit_windows():
    G = _graph(4, 1)
    hs = _hotspots(G, ["1_0", "3_0"], [1.0, 100.0])
    # The far hotspot is worth more, but the near one is required: 8 min shift, dwell 0:
    # 0->3->0 takes 6 min and 0->1->3->0 takes 6 min too, so both fit.
    r = plan_routes(G, hs, "0_0", units=1, shift=8.0, dwell_min=0.0, id_col="hid", required=["h1_0"])
    assert "h1_0" in set(r.stops["hotspot"])
    # A revisit every 20 minutes over 60 minutes: three visits, each in its window.
    r = plan_routes(G, hs, "0_0", units=1, shift=60.0, dwell_min=1.0, id_col="hid",
                    revisit_min={"h1_0": 20})
    visits = r.stops[r.stops["hotspot"] == "h1_0"]["arrive_min"].to_numpy()
    assert len(visits) == 3
    assert sorted(np.floor(visits / 20).astype(int).tolist()) == [0, 1, 2]


def test_foot_patrol_is_slower():
    G = _graph(3, 1)
    hs = _hotspots(G, ["2_0"], [1.0])
    car = plan_routes(G, hs, "0_0", units=1, shift=60.0, dwell_min=0.0)
    with pytest.raises(PatrolInfeasible):
        plan_routes(G, hs, "0_0", units=1, shift=30.0, dwell_min=0.0, speeds_kmh=[5.0])
    foot = plan_routes(G, hs, "0_0", units=1, shift=60.0, dwell_min=0.0, speeds_kmh=[5.0])
    assert car.lines["minutes"].iloc[0] == pytest.approx(4.0)
    assert foot.lines["minutes"].iloc[0] == pytest.approx(4000 / (5000 / 60))


def test_seeds_give_different_good_routes():
    G = _graph(6, 6)
    rng = np.random.default_rng(3)
    nodes = [n for n in G.nodes if n != "0_0"]
    hs = _hotspots(G, nodes, list(rng.uniform(1, 10, len(nodes))))
    kw = dict(units=2, shift=40.0, dwell_min=2.0, id_col="hid", variety=0.2, iterations=30)
    a = plan_routes(G, hs, "0_0", rng=np.random.default_rng(1), **kw)
    b = plan_routes(G, hs, "0_0", rng=np.random.default_rng(2), **kw)
    assert list(a.stops["hotspot"]) != list(b.stops["hotspot"])
    for r in (a, b):
        assert r.risk_loss_share is not None and r.risk_loss_share < 0.10
    again = plan_routes(G, hs, "0_0", rng=np.random.default_rng(1), **kw)
    assert list(again.stops["hotspot"]) == list(a.stops["hotspot"])


@pytest.mark.parametrize("seed", range(6))
def test_heuristic_within_3_percent_of_mip(seed):
    r = np.random.default_rng(seed)
    n = 10
    xy = r.uniform(0, 10, size=(n + 1, 2))
    T = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)) * 2.0
    risk = r.integers(1, 10, size=n).astype(float)
    p = PatrolProblem.from_matrix(T, risk, starts=[n, n], budget_min=35, dwell_min=2)
    mip = solve_mip(p, time_limit_s=120)
    heur = solve_heuristic(p, rng=np.random.default_rng(seed), iterations=150)
    assert mip.optimal
    assert heur.risk_covered >= 0.97 * mip.risk_covered - 1e-9
    assert heur.risk_covered <= mip.bound + 1e-6
    assert solve_nearest_first(p).risk_covered <= mip.risk_covered + 1e-9


def test_export_geojson_and_gpx(tmp_path):
    G = _graph(3, 3)
    hs = _hotspots(G, ["2_2", "2_0"], [1.0, 2.0])
    routes = plan_routes(G, hs, "0_0", units=1, shift=30.0, dwell_min=1.0, id_col="hid")
    gj = routes_to_geojson(routes)
    kinds = [f["properties"]["kind"] for f in gj["features"]]
    assert kinds.count("route") == 1 and kinds.count("stop") == 2
    root = ET.fromstring(routes_to_gpx(routes))
    ns = {"g": "http://www.topografix.com/GPX/1/1"}
    assert len(root.findall("g:wpt", ns)) == 2 and len(root.findall("g:trk", ns)) == 1
    p = write_routes(routes, tmp_path / "r.geojson")
    assert json.loads(p.read_text())["type"] == "FeatureCollection"
    with pytest.raises(InputError, match="GeoJSON or GPX"):
        write_routes(routes, tmp_path / "r.shp")
    assert not (tmp_path / "r.shp").exists()


def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path, capsys):
    from cli import DEMO_WORKSPACE, main
    if not DEMO_WORKSPACE.exists():
        pytest.skip("demo workspace not built")
    out = tmp_path / "routes.shp"
    assert main(["patrol", str(DEMO_WORKSPACE), "--station", "S01", "--units", "2",
                 "--shift", "08:00-16:00", "--out", str(out)]) == 2
    assert "GeoJSON or GPX" in capsys.readouterr().err and not out.exists()
    out = tmp_path / "routes.geojson"
    assert main(["patrol", str(DEMO_WORKSPACE), "--station", "S01", "--units", "0",
                 "--shift", "08:00-16:00", "--out", str(out)]) == 2
    assert "at least one patrol unit" in capsys.readouterr().err and not out.exists()
    assert main(["patrol", str(DEMO_WORKSPACE), "--station", "NOPE", "--units", "2",
                 "--shift", "08:00-16:00", "--out", str(out)]) == 2
    assert "S01" in capsys.readouterr().err and not out.exists()
    assert main(["patrol", str(DEMO_WORKSPACE), "--station", "S01", "--units", "2",
                 "--shift", "8-16", "--out", str(out)]) == 2
    assert "HH:MM-HH:MM" in capsys.readouterr().err and not out.exists()


def test_cli_patrol_json_and_gpx(tmp_path, capsys):
    from cli import DEMO_WORKSPACE, main
    if not DEMO_WORKSPACE.exists():
        pytest.skip("demo workspace not built")
    out = tmp_path / "routes.gpx"
    assert main(["patrol", str(DEMO_WORKSPACE), "--station", "S01", "--units", "2",
                 "--shift", "20:00-02:00", "--seed", "3", "--time-limit", "2", "--json",
                 "--mode", "visit-once", "--out", str(out)]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert {"routes", "risk_covered_share", "shift_minutes"} <= set(payload)
    assert payload["shift_minutes"] == 360 and len(payload["routes"]) == 2
    assert all(r["minutes"] <= 360 for r in payload["routes"])
    assert {"unit", "minutes", "stops", "risk"} <= set(payload["routes"][0])
    assert out.exists() and ET.fromstring(out.read_text()).tag.endswith("gpx")
