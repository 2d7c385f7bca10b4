"""Coverage on the real Coquimbo network counts what NetworkX's multi-source Dijkstra counts on the
whole graph (every node a facility reaches, not only the largest strongly connected component).

The reference is built here from the GeoPackage with geopandas and NetworkX alone: one directed
edge per link and direction (``direction`` 1 a->b, -1 b->a, 0 both), minutes from ``distance``
and ``speed_ab``/``speed_ba`` where given, else the OpenStreetMap class speeds written out below.
"""
from __future__ import annotations

import json

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest

from geo.coverage import coverage_from_network
from geo.network import engine_from_file, graph_from_file
from tests.clirun import run_cli

COQ = "coquimbo/coquimbo_network_zones.gpkg"
# km/h of the link types in the file without a speed of their own (OSM defaults; 30 otherwise)
CLASS_KMH = {"motorway": 100.0, "trunk": 70.0, "primary": 60.0, "secondary": 50.0,
             "tertiary": 40.0, "unclassified": 30.0, "residential": 30.0, "living_street": 10.0}
BANDS = (1.0, 3.0, 5.0)


@pytest.fixture(scope="module")
def coquimbo(shared_data_module):
    path = shared_data_module / COQ
    links = gpd.read_file(path, layer="links")
    nodes = gpd.read_file(path, layer="nodes")
    W = nx.MultiDiGraph()
    W.add_nodes_from(str(n) for n in nodes["node_id"])
    for r in links.itertuples(index=False):
        a, b = str(r.a_node), str(r.b_node)
        default = CLASS_KMH.get(r.link_type, 30.0)
        if r.direction in (0, 1):
            W.add_edge(a, b, minutes=r.distance / 1000 / (r.speed_ab if r.speed_ab > 0 else default) * 60)
        if r.direction in (0, -1):
            W.add_edge(b, a, minutes=r.distance / 1000 / (r.speed_ba if r.speed_ba > 0 else default) * 60)
    return path, nodes, W


@pytest.fixture(scope="module")
def shared_data_module():
    from tests.conftest import SHARED_DATA
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real reference data not found at {SHARED_DATA} (present in CI)")
    return SHARED_DATA


def _facilities(nodes: gpd.GeoDataFrame, count: int, seed: int) -> gpd.GeoDataFrame:
    """``count`` facilities standing on nodes drawn from every node (in or out of the largest
    strongly connected component), naming their node."""
    pick = nodes.iloc[np.sort(np.random.default_rng(seed).choice(len(nodes), count, replace=False))]
    return gpd.GeoDataFrame({"station_id": [f"F{i}" for i in range(count)],
                             "node_id": pick["node_id"].astype(str).to_numpy()},
                            geometry=pick.geometry.values, crs=nodes.crs)


def _reference(W: nx.MultiDiGraph, sources) -> dict[str, float]:
    return nx.multi_source_dijkstra_path_length(W, set(sources), weight="minutes")


@pytest.mark.parametrize("count,seed", [(50, 0), (50, 1), (5, 2)])
def test_coverage_counts_equal_networkx_on_the_whole_graph(coquimbo, count, seed):
    path, nodes, W = coquimbo
    engine = engine_from_file(path)
    assert engine.n == 15_724 == W.number_of_nodes()
    assert int(engine.core.sum()) == 15_624  # the largest strongly connected component
    fac = _facilities(nodes, count, seed)
    cov = coverage_from_network(engine, fac, id_col="station_id", bands=BANDS)
    ref = _reference(W, fac["node_id"])
    expected = {f"{b:g}": sum(1 for m in ref.values() if m <= b + 1e-9) for b in BANDS}
    assert cov.within == expected
    assert sorted(cov.unreachable) == sorted(set(W.nodes) - set(ref))
    got = cov.nodes["minutes"]
    reached = pd.Series(ref)
    assert np.allclose(got.loc[reached.index].to_numpy(), reached.to_numpy(), rtol=1e-9, atol=1e-9)
    # nodes outside the largest strongly connected component are counted where reached
    outside = set(engine.nodes[~engine.core])
    assert len(outside & set(ref)) > 0


def test_more_nodes_are_counted_than_on_the_largest_component_alone(coquimbo):
    path, nodes, W = coquimbo
    G = graph_from_file(path)  # the NetworkX graph keeps only the component
    core = set(G.nodes)
    fac = _facilities(nodes[nodes["node_id"].astype(str).isin(core)], 50, 0)
    cov = coverage_from_network(engine_from_file(path), fac, id_col="station_id", bands=BANDS)
    ref = _reference(W, fac["node_id"])
    on_core = {f"{b:g}": sum(1 for n, m in ref.items() if m <= b + 1e-9 and n in core) for b in BANDS}
    assert all(cov.within[k] >= on_core[k] for k in on_core)
    assert sum(cov.within.values()) > sum(on_core.values())  # the nodes the component dropped
    assert cov.within == {f"{b:g}": sum(1 for m in ref.values() if m <= b + 1e-9) for b in BANDS}


def test_cli_coverage_counts_equal_networkx(coquimbo, tmp_path):
    path, nodes, W = coquimbo
    fac = _facilities(nodes, 50, 0)
    fac.to_file(tmp_path / "fac.gpkg")
    code, out, err = run_cli("coverage", "--network", str(path), "--facilities", str(tmp_path / "fac.gpkg"),
                             "--json")
    assert code == 0, err
    data = json.loads(out)
    ref = _reference(W, fac["node_id"])
    assert data["nodes"] == 15_724
    assert data["within"] == {f"{b:g}": sum(1 for m in ref.values() if m <= b + 1e-9) for b in BANDS}
    assert data["unreachable"] == len(data["unreachable_nodes"]) == 15_724 - len(ref)
    assert sorted(data["unreachable_nodes"]) == sorted(set(W.nodes) - set(ref))
    assert any("reached by no facility" in w for w in data["warnings"])


def test_facilities_by_location_snap_onto_the_component_and_match_networkx(coquimbo):
    path, nodes, W = coquimbo
    engine = engine_from_file(path)
    fac = _facilities(nodes, 20, 3).drop(columns="node_id")
    fac["geometry"] = fac.geometry.translate(0.0001, 0.0001)  # about 10 m off the node
    cov = coverage_from_network(engine, fac, id_col="station_id", bands=BANDS)
    sources = cov.facilities.to_numpy()
    assert set(sources) <= set(engine.nodes[engine.core])
    ref = _reference(W, sources)
    assert cov.within == {f"{b:g}": sum(1 for m in ref.values() if m <= b + 1e-9) for b in BANDS}
