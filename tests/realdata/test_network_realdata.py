"""Road networks on real data: Coquimbo (OSM via AequilibraE) and the Chicago planning network."""
from __future__ import annotations

import logging

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.coverage import coverage_from_facilities, coverage_from_layers
from geo.errors import ValidationError
from geo.network import graph_from_file, graph_from_tables, snap_points, tables_from_file
from geo.traveltime import engine_from_graph, minutes_matrix, nearest_facility

COQ = "coquimbo/coquimbo_network_zones.gpkg"
TNTP = "chicago/road_network_tntp/chicago-regional_ChicagoRegional_net.tntp"


@pytest.fixture(scope="module")
def coquimbo():
    from tests.conftest import SHARED_DATA
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real reference data not found at {SHARED_DATA} (present in CI)")
    return graph_from_file(SHARED_DATA / COQ)


def test_coquimbo_directed_largest_scc(coquimbo, shared_data):
    G = coquimbo
    assert G.number_of_nodes() == 15_624
    assert G.graph["dropped_nodes"] == 15_724 - 15_624
    assert nx.is_strongly_connected(G)
    assert G.graph["crs"].to_epsg() == 32719  # UTM 19S estimated from lon/lat
    # direction honoured: a one-way link (direction 1) has no edge back along the same link
    links = gpd.read_file(shared_data / COQ, layer="links", columns=["a_node", "b_node", "direction"])
    oneway = links[links["direction"] == 1]
    pairs = set(zip(links["a_node"].astype(str), links["b_node"].astype(str)))
    lone = [(a, b) for a, b in zip(oneway["a_node"].astype(str), oneway["b_node"].astype(str))
            if (b, a) not in pairs and G.has_edge(a, b)]
    assert len(lone) > 1000
    assert all(not G.has_edge(b, a) for a, b in lone)


def test_coquimbo_travel_times_match_networkx(coquimbo):
    G = coquimbo
    E = engine_from_graph(G)
    rng = np.random.default_rng(42)
    nodes = np.array(list(G.nodes), dtype=object)
    src = rng.choice(nodes, 5, replace=False)
    dst = rng.choice(nodes, 20, replace=False)
    got = minutes_matrix(E, src, dst)
    for i, s in enumerate(src):
        ref = nx.single_source_dijkstra_path_length(G, s, weight="travel_s")
        for j, t in enumerate(dst):
            assert got[i, j] == pytest.approx(ref[t] / 60.0, rel=1e-9, abs=1e-9)


def test_coquimbo_coverage_from_nodes(coquimbo):
    G = coquimbo
    E = engine_from_graph(G)
    rng = np.random.default_rng(0)
    fac = {f"F{i}": n for i, n in enumerate(rng.choice(np.array(list(G.nodes), dtype=object), 20,
                                                       replace=False))}
    cov = coverage_from_facilities(E, fac, bands=(1, 3, 5))
    w = cov.within
    assert w["1"] <= w["3"] <= w["5"] <= 15_624
    assert len(cov.uncovered) == 15_624 - w["5"] and not cov.unreachable
    assert sum(d["nodes"] for d in cov.by_facility.values()) == 15_624
    # each node's facility really is the nearest: check a sample against a full matrix
    m = minutes_matrix(E, list(fac.values()))
    sample = rng.choice(E.n, 200, replace=False)
    assert np.allclose(cov.nodes["minutes"].to_numpy()[sample], m[:, sample].min(axis=0))


def test_coquimbo_zone_population_coverage(coquimbo, shared_data):
    zones = gpd.read_file(shared_data / COQ, layer="zones").rename(columns={"zone_id": "cell_id"})
    if "cell_id" not in zones.columns:
        zones["cell_id"] = np.arange(len(zones))
    zones["incidents"] = 1.0
    fac = zones.iloc[::10].copy()
    fac["geometry"] = fac.geometry.representative_point()
    fac["station_id"] = [f"S{i}" for i in range(len(fac))]
    cov = coverage_from_layers(coquimbo, engine_from_graph(coquimbo), fac[["station_id", "geometry"]],
                               id_col="station_id", cells=zones)
    table = cov.band_table
    assert table["population"].iloc[-2] + table.loc["beyond", "population"] == pytest.approx(451_834, rel=1e-6)


def test_coquimbo_bad_links(shared_data):
    nodes, edges = tables_from_file(shared_data / COQ)
    broken = edges.copy()
    broken.loc[broken.index[:3], "u"] = -1
    broken.loc[broken.index[3:5], "length_m"] = 0.0
    with pytest.raises(ValidationError) as info:
        graph_from_tables(nodes, broken)
    rules = {p.rule for p in info.value.problems}
    assert rules == {"missing_nodes", "bad_length"}
    with pytest.raises(ValidationError, match="no edges"):
        graph_from_tables(nodes, edges.iloc[:0])


@pytest.fixture(scope="module")
def chicago():
    from tests.conftest import SHARED_DATA
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real reference data not found at {SHARED_DATA} (present in CI)")
    nodes, edges = tables_from_file(SHARED_DATA / TNTP, source_crs=26771)
    areas = gpd.read_file(SHARED_DATA / "chicago/community_areas.zip")
    city = shapely.union_all(areas.to_crs(26771).geometry.values)
    inside = nodes[nodes.within(city)]
    ids = set(inside["node_id"])
    edges = edges[edges["u"].isin(ids) & edges["v"].isin(ids)]
    return graph_from_tables(inside, edges), areas


def test_chicago_planning_network_and_stations(chicago, shared_data, caplog):
    G, areas = chicago
    assert G.number_of_nodes() == 2_354  # largest component inside the 77 community areas
    st = pd.read_csv(shared_data / "chicago/crime_counts_and_stations/Police_Stations.csv")
    stations = gpd.GeoDataFrame({"station_id": st["DISTRICT"].astype(str)},
                                geometry=gpd.points_from_xy(st["LONGITUDE"], st["LATITUDE"]),
                                crs="EPSG:4326")
    assert len(stations) == 22
    caplog.set_level(logging.WARNING)
    snapped = snap_points(stations, G, id_col="station_id", what="stations")
    assert snapped["distance_m"].median() < 1000
    E = engine_from_graph(G)
    near = nearest_facility(E, pd.Series(snapped["node"].to_numpy(), index=snapped["id"].to_numpy()))
    assert np.isfinite(near["minutes"]).all()
    assert near["facility"].nunique() >= 18  # nearly every district station serves some nodes
    assert 3 < near["minutes"].max() < 60  # zone connectors at TNTP speeds are slow


def test_facilities_without_crs_and_exits_off_network(coquimbo):
    from geo.errors import CRSError, InputError
    pts = gpd.GeoDataFrame({"id": ["a"]}, geometry=[shapely.Point(-71.3, -29.95)])
    with pytest.raises(CRSError, match="no CRS"):
        snap_points(pts, coquimbo, id_col="id", what="facilities")
    with pytest.raises(InputError, match="not on the network"):
        snap_points(pts.assign(node_id=[99999999]), coquimbo, id_col="id", what="exits")
