"""Road network loading, validation, speeds, components and snapping (tiny literal networks)."""
from __future__ import annotations

import logging

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString

from geo.errors import CRSError, InputError
from geo.network import (
    SPEED_DEFAULTS_KMH,
    edges_from_links,
    graph_from_file,
    graph_from_tables,
    graph_with_speeds,
    nodes_from_points,
    snap_points,
    tables_from_graph,
)
from tests.netutil import LINE, LINE_EDGES, METRIC, graph, points, tables


def test_two_way_and_one_way_edges():
    G = graph(LINE, [("A", "B"), ("B", "C", True), ("C", "B", True)])
    assert G.has_edge("A", "B") and G.has_edge("B", "A")
    assert G.number_of_edges() == 4
    assert G["A"]["B"][0]["travel_s"] == pytest.approx(60.0)  # 1 km at 60 km/h
    assert G["A"]["B"][0]["length_m"] == pytest.approx(1000.0)
    assert G.graph["crs"].to_epsg() == 32650


def test_one_way_dead_end_is_dropped_with_a_warning(caplog):
    caplog.set_level(logging.WARNING)
    G = graph(LINE, [("A", "B"), ("B", "C"), ("C", "D", True)])  # D can be reached, not left
    assert set(G.nodes) == {"A", "B", "C"}
    assert G.graph["dropped_nodes"] == 2  # D, and E which has no edge at all
    assert "dropped 2 nodes and 1 edges" in caplog.text


def test_disconnected_piece_dropped_or_kept():
    coords = {**LINE, "X": (0, 5000), "Y": (1000, 5000)}
    G = graph(coords, LINE_EDGES + [("X", "Y")])
    assert "X" not in G and G.number_of_nodes() == 5
    G2 = graph(coords, LINE_EDGES + [("X", "Y")], keep_largest=False)
    assert "X" in G2 and nx.number_strongly_connected_components(G2) == 2


def test_speeds_by_class_defaults_overrides_and_speed_flag():
    cls = ["expressway", "village", "primary", "unknown_class"]
    G = graph(LINE, LINE_EDGES, speed_kmh=None, road_class=cls)
    speeds = {(u, v): d["speed_kmh"] for u, v, d in G.edges(data=True)}
    assert speeds[("A", "B")] == SPEED_DEFAULTS_KMH["expressway"] == 100
    assert speeds[("B", "C")] == 20 and speeds[("C", "D")] == 60 and speeds[("D", "E")] == 30
    assert G["A"]["B"][0]["travel_s"] == pytest.approx(1000 / (100 / 3.6))
    # a class table override, a per-edge speed, then one speed for all
    nodes, frame = tables(LINE, LINE_EDGES, road_class=cls, speed_kmh=[np.nan, 45, np.nan, np.nan])
    G2 = graph_from_tables(nodes, frame, speeds={"expressway": 80})
    assert G2["A"]["B"][0]["speed_kmh"] == 80 and G2["B"]["C"][0]["speed_kmh"] == 45
    G3 = graph_with_speeds(G2, speed_kmh=60)
    assert {d["speed_kmh"] for *_, d in G3.edges(data=True)} == {60}
    assert G2["B"]["C"][0]["speed_kmh"] == 45  # input untouched
    G4 = graph_with_speeds(G2, overrides={("A", "B"): 10})
    assert G4["A"]["B"][0]["speed_kmh"] == 10 and G4["B"]["A"][0]["speed_kmh"] == 80
    with pytest.raises(InputError, match="`speed_kmh` was"):
        graph_with_speeds(G2, speed_kmh=0)


def test_length_from_geometry_where_missing():
    nodes, frame = tables({"A": (0, 0), "B": (1000, 0)}, [("A", "B")])
    bent = LineString([(0, 0), (500, 500), (1000, 0)])
    edges = gpd.GeoDataFrame(frame, geometry=[bent], crs=METRIC)
    G = graph_from_tables(nodes, edges, speed_kmh=60)
    assert G["A"]["B"][0]["length_m"] == pytest.approx(2 * np.hypot(500, 500))
    edges["length_m"] = [1234.0]
    G = graph_from_tables(nodes, edges, speed_kmh=60)
    assert G["A"]["B"][0]["length_m"] == 1234.0


def test_bad_networks_raise_every_problem(raises_problem):
    nodes, frame = tables(LINE, LINE_EDGES)
    with raises_problem("no_edges", "road_edges", match="no edges"):
        graph_from_tables(nodes, frame.iloc[:0])
    bad = pd.concat([frame, pd.DataFrame({"u": ["A"], "v": ["Z"], "oneway": [False]})])
    with raises_problem("missing_nodes", "road_edges", match="Z"):
        graph_from_tables(nodes, bad)
    frame2 = frame.assign(length_m=[100.0, 0.0, -5.0, 100.0])
    with raises_problem("bad_length", "road_edges", match=r"2 edges .*rows: #2, #3"):
        graph_from_tables(nodes, frame2)
    with raises_problem("no_crs", "road_nodes"):
        graph_from_tables(nodes.set_crs(None, allow_override=True), frame)
    with raises_problem("missing_column", "road_edges", match="u and v"):
        graph_from_tables(nodes, frame.rename(columns={"u": "from"}))


def test_both_problems_reported_at_once():
    from geo.errors import ValidationError
    nodes, frame = tables(LINE, LINE_EDGES + [("A", "Q")], length_m=[1.0, -1.0, 1.0, 1.0, 1.0])
    with pytest.raises(ValidationError) as info:
        graph_from_tables(nodes, frame)
    assert {p.rule for p in info.value.problems} == {"missing_nodes", "bad_length"}


def test_aequilibrae_links_directions():
    links = gpd.GeoDataFrame({"a_node": [1, 2, 3], "b_node": [2, 3, 1], "direction": [1, -1, 0],
                              "distance": [100.0, 200.0, 300.0], "speed_ab": [np.nan, 50, 40],
                              "speed_ba": [np.nan, 20, np.nan], "link_type": ["primary"] * 3},
                             geometry=[LineString([(0, 0), (1, 1)])] * 3, crs=METRIC)
    e = edges_from_links(links)
    assert list(zip(e["u"], e["v"])) == [(1, 2), (3, 1), (3, 2), (1, 3)]
    assert e.loc[2, "speed_kmh"] == 20 and e.loc[1, "speed_kmh"] == 40
    with pytest.raises(InputError, match="direction"):
        edges_from_links(links.assign(direction=[1, 2, 0]))


def test_snap_points_node_column_and_far_warning(caplog):
    G = graph(LINE, LINE_EDGES)
    pts = points({"p1": (990, 10), "p2": (4000, 2000)})
    caplog.set_level(logging.WARNING)
    snapped = snap_points(pts, G, id_col="id", what="posts")
    assert snapped["node"].tolist() == ["B", "E"]
    assert "1 posts lie farther than 500 m" in caplog.text and "p2 (2000 m)" in caplog.text
    named = pts.assign(node_id=["C", "D"])
    assert nodes_from_points(named, G, id_col="id").to_dict() == {"p1": "C", "p2": "D"}
    with pytest.raises(InputError, match="not on the network"):
        snap_points(pts.assign(node_id=["C", "nowhere"]), G, id_col="id", what="exits")
    with pytest.raises(CRSError, match="no CRS"):
        snap_points(pts.set_crs(None, allow_override=True), G, what="facilities")
    lonlat = pts.to_crs(4326)  # other CRS: reprojected
    assert snap_points(lonlat, G)["node"].tolist() == ["B", "E"]


def test_files_gpkg_csv_graphml_roundtrip(tmp_path):
    G = graph(LINE, LINE_EDGES + [("E", "A", True)])
    nodes, edges = tables_from_graph(G)
    assert len(edges) == 5 and edges["oneway"].sum() == 1
    gpkg = tmp_path / "net.gpkg"
    nodes.to_file(gpkg, layer="road_nodes")
    edges.to_file(gpkg, layer="road_edges")
    G2 = graph_from_file(gpkg, speed_kmh=60)
    assert G2.number_of_edges() == G.number_of_edges() == 9
    # CSV: nodes with x/y in the working CRS, edges without length (straight lines)
    pd.DataFrame({"node_id": list(LINE), "x": [c[0] for c in LINE.values()],
                  "y": [c[1] for c in LINE.values()]}).to_csv(tmp_path / "nodes.csv", index=False)
    pd.DataFrame({"u": ["A", "B"], "v": ["B", "C"]}).to_csv(tmp_path / "edges.csv", index=False)
    G3 = graph_from_file(tmp_path / "edges.csv", source_crs=METRIC, speed_kmh=60)
    assert G3["A"]["B"][0]["length_m"] == pytest.approx(1000)
    # GraphML with x/y and a crs attribute
    H = nx.DiGraph(crs=METRIC)
    for n, (x, y) in LINE.items():
        H.add_node(n, x=x, y=y)
    H.add_edge("A", "B", length=1000.0)
    H.add_edge("B", "A", length=1000.0)
    nx.write_graphml(H, tmp_path / "g.graphml")
    G4 = graph_from_file(tmp_path / "g.graphml", speed_kmh=60)
    assert set(G4.nodes) == {"A", "B"} and G4.number_of_edges() == 2


OSM_XML = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="test">
  <node id="1" lat="30.0000" lon="114.0000"/>
  <node id="2" lat="30.0000" lon="114.0100"/>
  <node id="3" lat="30.0100" lon="114.0100"/>
  <node id="4" lat="30.0100" lon="114.0000"/>
  <node id="5" lat="29.9900" lon="114.0000"/>
  <node id="6" lat="30.0200" lon="114.0000"/>
  <way id="10"><nd ref="1"/><nd ref="2"/><tag k="highway" v="primary"/></way>
  <way id="11"><nd ref="2"/><nd ref="3"/><tag k="highway" v="residential"/><tag k="oneway" v="yes"/></way>
  <way id="12"><nd ref="3"/><nd ref="4"/><nd ref="1"/><tag k="highway" v="residential"/></way>
  <way id="13"><nd ref="1"/><nd ref="5"/><tag k="highway" v="tertiary"/></way>
  <way id="14"><nd ref="4"/><nd ref="6"/><tag k="highway" v="tertiary"/></way>
</osm>
"""


def test_osm_xml_oneway_and_classes(tmp_path):
    path = tmp_path / "tiny.osm"
    path.write_text(OSM_XML)
    G = graph_from_file(path)
    assert G.graph["crs"].is_projected
    assert G.has_edge("2", "3") and not G.has_edge("3", "2")  # oneway=yes honoured
    d = G["1"]["2"][0]
    assert d["road_class"] == "primary" and d["speed_kmh"] == 60
    assert d["length_m"] == pytest.approx(963, rel=0.02)  # 0.01 degree of longitude at 30N


def test_unknown_network_file(tmp_path):
    (tmp_path / "x.shp.txt").write_text("")
    with pytest.raises(InputError, match="a network is a"):
        graph_from_file(tmp_path / "x.shp.txt")
    with pytest.raises(InputError, match="not found"):
        graph_from_file(tmp_path / "missing.gpkg")
