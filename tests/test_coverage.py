"""Response coverage on hand-checkable graphs: delays, one-way streets, cells and the CLI."""
from __future__ import annotations

import json

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from shapely.geometry import box

from cli import main
from geo.coverage import (
    band_of,
    coverage_from_facilities,
    coverage_from_layers,
    edges_with_minutes,
    parse_bands,
    response_areas,
)
from geo.errors import InputError
from geo.network import tables_from_graph
from geo.traveltime import engine_from_graph, minutes_matrix, nearest_facility
from tests.netutil import LINE, LINE_EDGES, METRIC, graph, points


def test_nearest_facility_with_turnout_delay_is_exact():
    G = graph(LINE, LINE_EDGES)  # 1 minute per edge
    E = engine_from_graph(G)
    near = nearest_facility(E, {"s1": "A", "p1": "E"}, delays_min={"p1": 1.5})
    assert near.loc[["A", "B", "C", "D", "E"], "minutes"].tolist() == [0, 1, 2, 2.5, 1.5]
    assert near.loc[["A", "B", "C", "D", "E"], "facility"].tolist() == ["s1", "s1", "s1", "p1", "p1"]
    assert near.loc["D", "travel_minutes"] == 1.0


def test_one_way_street_changes_response():
    # A -> B one way; B -> A must go round through C (B-C-A two-way, 1 km each plus 1.414 km)
    coords = {"A": (0, 0), "B": (1000, 0), "C": (500, 500)}
    G = graph(coords, [("A", "B", True), ("B", "C"), ("C", "A")])
    E = engine_from_graph(G)
    from_b = nearest_facility(E, {"b": "B"})
    from_a = nearest_facility(E, {"a": "A"})
    assert from_a.loc["B", "minutes"] == pytest.approx(1.0)
    assert from_b.loc["A", "minutes"] == pytest.approx(2 * np.hypot(500, 500) / 1000)
    back = nearest_facility(E, {"b": "B"}, reverse=True)  # travel to B
    assert back.loc["A", "minutes"] == pytest.approx(1.0)


def test_disconnected_piece_is_uncovered():
    coords = {**LINE, "X": (0, 9000), "Y": (1000, 9000)}
    G = graph(coords, LINE_EDGES + [("X", "Y")], keep_largest=False)
    cov = coverage_from_facilities(engine_from_graph(G), {"s": "A"}, bands=(1, 3))
    assert cov.within == {"1": 2, "3": 4}
    assert sorted(cov.uncovered) == ["E", "X", "Y"]
    assert sorted(cov.unreachable) == ["X", "Y"]
    assert cov.max_minutes == 4.0
    assert cov.by_facility == {"s": {"nodes": 5, "weight": 5.0}}


def test_delays_match_brute_force_networkx():
    rng = np.random.default_rng(7)
    G0 = nx.gnm_random_graph(40, 120, seed=3, directed=True)
    coords = {str(n): (float(x), float(y)) for n, (x, y) in
              zip(G0.nodes, rng.uniform(0, 5000, size=(40, 2)))}
    edges = [(str(u), str(v), True) for u, v in G0.edges if u != v]
    G = graph(coords, edges, speed_kmh=40)
    E = engine_from_graph(G)
    nodes = list(G.nodes)
    fac = {f"f{i}": nodes[j] for i, j in enumerate(rng.choice(len(nodes), 5, replace=False))}
    delays = {f: float(d) for f, d in zip(fac, [0, 0.5, 0.5, 2.0, 3.0])}
    got = nearest_facility(E, fac, delays_min=delays)
    for n in nodes:
        best = min(nx.shortest_path_length(G, fac[f], n, weight="travel_s") / 60 + delays[f]
                   if nx.has_path(G, fac[f], n) else np.inf for f in fac)
        assert got.loc[n, "minutes"] == pytest.approx(best)
    m = minutes_matrix(E, [nodes[0], nodes[1]], nodes[2:5])
    for i, s in enumerate(nodes[:2]):
        for j, t in enumerate(nodes[2:5]):
            assert m[i, j] == pytest.approx(nx.shortest_path_length(G, s, t, weight="travel_s") / 60)


def test_cells_bands_workload_and_response_areas():
    G = graph(LINE, LINE_EDGES)
    cells = gpd.GeoDataFrame({"cell_id": list("abcde"), "population": [10, 20, 30, 40, 50],
                              "incidents": [1, 2, 3, 4, 5]},
                             geometry=[box(x - 400, -400, x + 400, 400) for x in range(0, 5000, 1000)],
                             crs=METRIC)
    fac = points({"S1": (0, 0), "S2": (4000, 0)}, id_col="station_id")
    fac["turnout_min"] = [0.0, 1.0]
    cov = coverage_from_layers(G, engine_from_graph(G), fac, id_col="station_id", bands=(1, 2),
                               cells=cells)
    # minutes: A0 B1 C2 (S1; S2 needs 1+2=3) D2 (S2: 1+1) E1
    assert cov.cells["minutes"].tolist() == [0, 1, 2, 2, 1]
    table = cov.band_table
    assert table.loc["1", "population"] == 10 + 20 + 50 and table.loc["2", "cells"] == 5
    assert table.loc["beyond", "cells"] == 0 and cov.cells_beyond == []
    assert cov.by_facility == {"S1": {"nodes": 3, "weight": 6.0}, "S2": {"nodes": 2, "weight": 9.0}}
    areas = response_areas(cov)
    assert areas.set_index("facility")["population"].to_dict() == {"S1": 60, "S2": 90}
    roads = edges_with_minutes(G, cov)
    assert len(roads) == 4 and roads["minutes"].max() == 2


def test_bands_parsing():
    assert parse_bands("5,1,3") == (1, 3, 5)
    assert np.isnan(band_of([6.0], (1, 3, 5))[0]) and band_of([3.0, 0.5], (1, 3, 5)).tolist() == [3, 1]
    for bad in ("", "1,x", "0,3", "-1"):
        with pytest.raises(InputError, match="`minutes` was"):
            parse_bands(bad)


def _net_file(tmp_path, G):
    nodes, edges = tables_from_graph(G)
    path = tmp_path / "net.gpkg"
    nodes.to_file(path, layer="road_nodes")
    edges.to_file(path, layer="road_edges")
    return path


def test_cli_coverage_json(tmp_path, capsys):
    G = graph(LINE, LINE_EDGES)
    net = _net_file(tmp_path, G)
    fac = points({"S1": (0, 0)}, id_col="station_id")
    fac.to_file(tmp_path / "fac.gpkg")
    code = main(["coverage", "--network", str(net), "--facilities", str(tmp_path / "fac.gpkg"),
                 "--speed-kmh", "60", "--minutes", "1,3", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["nodes"] == 5 and out["within"] == {"1": 2, "3": 4} and out["uncovered"] == ["E"]
    assert out["max_minutes"] == 4.0 and out["by_facility"] == {"S1": {"nodes": 5, "weight": 5.0}}


def test_cli_coverage_bad_input_exit_2(tmp_path, capsys):
    G = graph(LINE, LINE_EDGES)
    net = _net_file(tmp_path, G)
    fac = points({"S1": (0, 0)}, id_col="station_id", crs=None)
    fac.to_file(tmp_path / "nocrs.gpkg")
    code = main(["coverage", "--network", str(net), "--facilities", str(tmp_path / "nocrs.gpkg")])
    assert code == 2 and "no CRS" in capsys.readouterr().err
    empty = tmp_path / "empty.gpkg"
    nodes, edges = tables_from_graph(G)
    nodes.to_file(empty, layer="road_nodes")
    edges.iloc[:0].to_file(empty, layer="road_edges")
    code = main(["coverage", "--network", str(empty), "--facilities", str(tmp_path / "nocrs.gpkg")])
    assert code == 2 and "no edges" in capsys.readouterr().err
