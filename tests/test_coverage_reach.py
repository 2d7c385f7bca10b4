"""Coverage counts every node a facility can reach, and names the nodes none reaches.

A hand-checked network (60 km/h, so 1 km = 1 minute):

    X (0, 1000)
    |  one way X -> A (X can be left, never reached)
    A ---- B ---- C --> D --> E      A-B-C two-way (the largest strongly connected
    0     1km    2km   3km   4km     component); C -> D -> E one way (a dead end)

From a station at A: A 0, B 1, C 2, D 3, E 4 minutes; X never. The largest strongly connected
component is {A, B, C}; D and E lie outside it but are reached, X is reported.
"""
from __future__ import annotations

import json
import logging

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from shapely.geometry import LineString

from geo.coverage import coverage_from_facilities, coverage_from_network
from geo.network import engine_from_file, engine_from_tables, graph_from_tables, snap_points
from geo.warn import captured_warnings
from tests.clirun import run_cli
from tests.netutil import points, tables

COORDS = {"A": (0, 0), "B": (1000, 0), "C": (2000, 0), "D": (3000, 0), "E": (4000, 0),
          "X": (0, 1000)}
EDGES = [("A", "B"), ("B", "C"), ("C", "D", True), ("D", "E", True), ("X", "A", True)]


def _engine():
    nodes, edges = tables(COORDS, EDGES)
    return engine_from_tables(nodes, edges, speed_kmh=60.0)


def test_engine_keeps_every_node_and_marks_the_largest_component():
    E = _engine()
    assert sorted(E.nodes) == ["A", "B", "C", "D", "E", "X"]
    assert sorted(E.nodes[E.core]) == ["A", "B", "C"]
    # 4 two-way directed edges + 3 one-way
    assert E.edge_count == 7
    # the NetworkX graph of the same tables keeps only the component (as before)
    nodes, edges = tables(COORDS, EDGES)
    G = graph_from_tables(nodes, edges, speed_kmh=60.0)
    assert sorted(G.nodes) == ["A", "B", "C"]


def test_facility_reaches_nodes_outside_the_largest_component_and_unreachable_is_named(caplog):
    E = _engine()
    with captured_warnings() as notes:
        cov = coverage_from_facilities(E, {"S1": "A"}, bands=(1, 3, 5))
    assert cov.nodes["minutes"].to_dict() == pytest.approx(
        {"A": 0.0, "B": 1.0, "C": 2.0, "D": 3.0, "E": 4.0, "X": np.inf})
    assert cov.within == {"1": 2, "3": 4, "5": 5}
    assert cov.unreachable == ["X"] and cov.uncovered == ["X"]
    assert cov.by_facility == {"S1": {"nodes": 5, "weight": 5.0}}
    assert notes == ["1 of 6 network nodes are reached by no facility (one-way dead ends, or roads "
                     "not joined to any facility's); they count as beyond every band: X"]
    out = cov.summary()
    assert out["nodes"] == 6 and out["unreachable"] == 1 and out["unreachable_nodes"] == ["X"]


def test_counts_equal_networkx_on_the_whole_graph():
    E = _engine()
    W = nx.MultiDiGraph()
    for u, v, *one in EDGES:
        (x1, y1), (x2, y2) = COORDS[u], COORDS[v]
        minutes = np.hypot(x2 - x1, y2 - y1) / 1000.0
        W.add_edge(u, v, minutes=minutes)
        if not one:
            W.add_edge(v, u, minutes=minutes)
    W.add_nodes_from(COORDS)
    for sources in (["A"], ["C"], ["X"], ["D", "B"]):
        ref = nx.multi_source_dijkstra_path_length(W, set(sources), weight="minutes")
        cov = coverage_from_facilities(E, {f"F{i}": s for i, s in enumerate(sources)}, bands=(1, 3, 5))
        assert cov.within == {f"{b}": sum(1 for m in ref.values() if m <= b) for b in (1, 3, 5)}
        assert sorted(cov.unreachable) == sorted(set(COORDS) - set(ref))


def test_a_station_named_by_node_may_stand_outside_the_component():
    # the facility at X (a source: it can leave) reaches everything but itself is reached by none
    E = _engine()
    fac = points({"S9": COORDS["X"]}, id_col="station_id").assign(node_id=["X"])
    cov = coverage_from_network(E, fac, id_col="station_id", bands=(1, 3, 5))
    assert cov.nodes.loc["X", "minutes"] == 0.0 and cov.nodes.loc["E", "minutes"] == pytest.approx(5.0)
    assert cov.unreachable == []


def test_points_snap_onto_the_largest_component_of_the_engine(caplog):
    E = _engine()
    caplog.set_level(logging.WARNING)
    snapped = snap_points(points({"s": (10, 5), "by_d": (3000, 50)}), E, id_col="id")
    # by D (a one-way dead end) the point goes to the component's nearest node, C, 1 km away
    assert snapped["node"].tolist() == ["A", "C"]
    assert snapped["distance_m"].tolist() == pytest.approx([np.hypot(10, 5), np.hypot(1000, 50)])
    assert "by_d (1001 m)" in caplog.text


def test_cli_coverage_reports_the_unreachable_nodes(tmp_path):
    nodes, edges = tables(COORDS, EDGES)
    net = tmp_path / "net.gpkg"
    nodes.to_file(net, layer="road_nodes")
    lines = [LineString([COORDS[u], COORDS[v]]) for u, v in zip(edges["u"], edges["v"])]
    gpd.GeoDataFrame(edges, geometry=lines, crs=nodes.crs).to_file(net, layer="road_edges")
    E = engine_from_file(net, speed_kmh=60.0)
    assert sorted(E.nodes) == sorted(COORDS)
    points({"S1": (0, 0)}, id_col="station_id").to_file(tmp_path / "fac.gpkg")
    code, out, err = run_cli("coverage", "--network", str(net), "--facilities", str(tmp_path / "fac.gpkg"),
                             "--speed-kmh", "60", "--minutes", "1,3,5", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["nodes"] == 6 and data["within"] == {"1": 2, "3": 4, "5": 5}
    assert data["unreachable"] == 1 and data["unreachable_nodes"] == ["X"] and data["uncovered"] == ["X"]
    assert any("reached by no facility" in w and w.endswith(": X") for w in data["warnings"])
    assert "gridpatrol coverage: warning: 1 of 6 network nodes are reached by no facility" in err
    code, out, err = run_cli("coverage", "--network", str(net), "--facilities", str(tmp_path / "fac.gpkg"),
                             "--speed-kmh", "60", "--minutes", "1,3,5")
    assert code == 0 and "reached by no facility: 1 nodes" in out
