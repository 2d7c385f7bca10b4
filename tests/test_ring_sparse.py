"""Ring checks on the sparse graph (``geo.ring.RingGraph``): closure, the open-path witness
and the fewest new checkpoints, each checked against a second method (NetworkX searches,
brute force over every smaller set of sites) on small random networks."""
from __future__ import annotations

import itertools
import random

import networkx as nx
import numpy as np
import pytest
from shapely.geometry import Point, box

from geo.network import graph_from_tables
from geo.ring import RingSpec, edge_checkpoints, ring_crossings, ring_graph, ring_graph_from_tables
from geo.traveltime import engine_from_graph
from planning.placement import fewest_checkpoints
from planning.rings import _witness_search, analyse_rings, closure_witness
from tests.netutil import graph, points, tables


def _network(seed: int, side: int):
    """A ``side`` x ``side`` grid 1 km apart with jittered nodes, some roads missing, some
    one-way (either way) and some diagonals."""
    rng = random.Random(seed)
    coords = {f"n{i}_{j}": (i * 1000 + rng.uniform(-150, 150), j * 1000 + rng.uniform(-150, 150))
              for i in range(side) for j in range(side)}
    edges = []
    for i, j in itertools.product(range(side), repeat=2):
        for di, dj, p in ((1, 0, 0.9), (0, 1, 0.9), (1, 1, 0.2)):
            if i + di < side and j + dj < side and rng.random() < p:
                a, b = f"n{i}_{j}", f"n{i + di}_{j + dj}"
                r = rng.random()
                edges.append((a, b, True) if r < 0.15 else (b, a, True) if r < 0.3 else (a, b))
    return graph(coords, edges, keep_largest=False), rng


def _nx_reached(G, shut: set, starts) -> set:
    """Nodes reachable from ``starts`` along the roads not in ``shut`` (NetworkX)."""
    H = nx.DiGraph()
    H.add_nodes_from(G.nodes)
    H.add_edges_from((u, v) for u, v, k in G.edges(keys=True) if (u, v, k) not in shut)
    out = set(starts)
    for s in starts:
        out |= nx.descendants(H, s)
    return out


@pytest.mark.parametrize("seed", range(12))
def test_closure_and_witness_agree_with_networkx(seed):
    G, rng = _network(seed, 6)
    rg = ring_graph(G)
    # a small ring (more nodes outside than inside) and a large one (fewer outside)
    for poly in (box(1500, 1500, 3500, 3500), box(-500, -500, 4200, 4700)):
        cps = points({f"K{i}": (rng.uniform(0, 5000), rng.uniform(0, 5000)) for i in range(rng.randint(0, 8))},
                     id_col="checkpoint_id")
        blocked = edge_checkpoints(rg, cps if len(cps) else None)
        shut = {rg.keys[e] for e in np.flatnonzero(blocked.blocked)}
        ring = ring_crossings(G, poly, checkpoints=cps if len(cps) else None)
        is_in = rg.inside(poly)
        inside = {n for n, i in zip(rg.nodes, is_in) if i}
        reached = _nx_reached(G, shut, [n for n, i in zip(rg.nodes, is_in) if not i])
        assert ring.closed == (not (reached & inside))
        witness = closure_witness(G, poly, blocked)
        assert witness == _witness_search(rg, is_in, blocked.blocked)  # NetworkX's own search
        assert (witness is None) == ring.closed
        if witness is not None:  # one open road from outside to inside
            u, v = witness
            assert u not in inside and v in inside
            assert any((u, v, k) not in shut for k in G[u][v])


def _separates(G, shut: set, roads: set, junctions: set, S: set, T: set) -> bool:
    """True when no path leads from a node of ``S`` to one of ``T`` once the roads ``shut``
    (directed keys), the roads ``roads`` ((a, b, length) both ways) and the nodes
    ``junctions`` are closed (NetworkX search from all of ``S`` at once)."""
    H = nx.DiGraph()
    H.add_nodes_from(n for n in G.nodes if n not in junctions)
    for u, v, k, d in G.edges(keys=True, data=True):
        a, b = (u, v) if str(u) <= str(v) else (v, u)
        if ((u, v, k) in shut or (a, b, round(d["length_m"], 1)) in roads
                or u in junctions or v in junctions):
            continue
        H.add_edge(u, v)
    H.add_edges_from(("__S__", n) for n in S)
    return not (nx.descendants(H, "__S__") & T)


@pytest.mark.parametrize("seed,band_m,junctions", [(s, b, j) for s in range(3)
                                                   for b, j in ((0.0, False), (600.0, False), (600.0, True))])
def test_fewest_checkpoints_is_the_smallest_set_by_brute_force(seed, band_m, junctions):
    # 5 x 5 nodes; with the 600 m band the ring's outside nodes are the source, its centre
    # node the sink and the eight nodes just inside the ring are free (roads or junctions)
    G, rng = _network(100 + seed, 5)
    poly = box(900, 900, 3100, 3100)
    cps = points({"K": (rng.uniform(0, 3000), rng.uniform(0, 3000))}, id_col="checkpoint_id")
    cut = fewest_checkpoints(G, poly, checkpoints=cps, band_m=band_m, junctions=junctions)
    rg = ring_graph(G)
    shut = {rg.keys[e] for e in np.flatnonzero(edge_checkpoints(rg, cps).blocked)}
    dist = {n: poly.boundary.distance(Point(xy)) for n, xy in zip(rg.nodes, rg.xy)}
    free = {n for n in rg.nodes if band_m > 0 and dist[n] <= band_m}
    S = {n for n in rg.nodes if n not in free and not poly.contains(Point(rg.xy[rg.index[n]]))}
    T = {n for n in rg.nodes if n not in free and n not in S}
    # every road (a, b, length) and junction that could carry a new checkpoint
    lengths = {(u, v): round(d["length_m"], 1) for u, v, d in G.edges(data=True)}
    roads = sorted({(min(u, v, key=str), max(u, v, key=str), lengths[(u, v)]) for u, v in lengths
                    if u != v and not ({u, v} <= S or {u, v} <= T)})
    options = [("road", r) for r in roads] + ([("junction", n) for n in sorted(free)] if junctions else [])

    def closes(chosen) -> bool:
        return _separates(G, shut, {x for kind, x in chosen if kind == "road"},
                          {x for kind, x in chosen if kind == "junction"}, S, T)

    found = [("road", (r.u, r.v, lengths.get((r.u, r.v), lengths.get((r.v, r.u)))))
             if r.kind == "road" else ("junction", r.node)
             for r in cut.sites.itertuples()]
    assert len(found) == cut.count
    assert closes(found)
    if cut.count:
        assert not any(closes(c) for c in itertools.combinations(options, cut.count - 1))


def test_analyse_rings_finds_the_checkpointed_roads_once(monkeypatch):
    import planning.rings as rings_module
    G, _ = _network(7, 6)
    calls = []
    real = rings_module.edge_checkpoints

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(rings_module, "edge_checkpoints", counting)
    cps = points({"K1": (2000, 1000), "K2": (1000, 3000)}, id_col="checkpoint_id")
    specs = [RingSpec("outer", "o", box(-500, -500, 4700, 4700), "t"),
             RingSpec("inner", "i", box(1500, 1500, 3500, 3500), "t"),
             RingSpec("core", "c", box(2500, 2500, 3500, 3500), "t")]
    res = analyse_rings(G, None, specs, checkpoints=cps, propose=True)
    assert len(calls) == 1
    for spec, r in zip(specs, res.results):  # the same answers as one ring at a time
        alone = ring_crossings(G, spec.polygon, checkpoints=cps)
        assert r.ring.closed == alone.closed and r.ring.leaks == alone.leaks
        assert r.proposal.count == fewest_checkpoints(G, spec.polygon, checkpoints=cps).count


def test_a_junction_closes_three_roads_at_once():
    # three roads from outside meet at J just inside the ring (within the band); three roads
    # lead on from J to nodes deep inside: three roads either side, or J alone
    coords = {"O1": (-3000, -1000), "O2": (-3000, 0), "O3": (-3000, 1000), "J": (200, 0),
              "K1": (3000, -1000), "K2": (3000, 0), "K3": (3000, 1000)}
    edges = [("O1", "J"), ("O2", "J"), ("O3", "J"), ("J", "K1"), ("J", "K2"), ("J", "K3"),
             ("O1", "O2"), ("O2", "O3"), ("K1", "K2"), ("K2", "K3")]
    G = graph(coords, edges)
    ring = box(0, -5000, 10000, 5000)
    assert fewest_checkpoints(G, ring).count == 3  # the three crossing roads
    assert fewest_checkpoints(G, ring, band_m=500).count == 3
    cut = fewest_checkpoints(G, ring, band_m=500, junctions=True)
    assert cut.count == 1
    assert cut.sites[["kind", "node"]].values.tolist() == [["junction", "J"]]
    assert cut.sites.geometry.iloc[0].equals(Point(200, 0))


def test_ring_graph_from_tables_is_the_graph_without_networkx(caplog):
    # parallel roads A-B (two rows), a one-way loop B -> C -> D -> B, a two-way road given
    # v -> u first, and a one-way spur D -> X (X cannot be left: dropped with a warning)
    coords = {"B": (1000, 0), "A": (0, 0), "C": (2000, 0), "D": (2000, 1000), "X": (3000, 1000)}
    edges = [("A", "B"), ("B", "A"), ("C", "D", True), ("B", "C", True), ("D", "B", True),
             ("D", "X", True), ("A", "B")]
    nodes, frame = tables(coords, edges)
    frame["road_class"] = ["primary", "residential", "", "primary", "secondary", "", "trunk"]
    G = graph_from_tables(nodes, frame, speed_kmh=None)
    with caplog.at_level("WARNING"):
        rg = ring_graph_from_tables(nodes, frame)
    assert "dropped 1 nodes" in caplog.text
    want = ring_graph(G)
    assert rg.nodes == want.nodes == ["B", "A", "C", "D"]
    assert rg.keys == want.keys
    assert sorted(k for k in rg.keys if k[:2] == ("A", "B")) == [("A", "B", 0), ("A", "B", 1), ("A", "B", 2)]
    assert np.array_equal(rg.xy, want.xy)
    assert [(d["road_class"], d["length_m"], d["travel_s"], d["geometry"].wkt) for d in rg.data] == \
        [(d["road_class"], d["length_m"], d["travel_s"], d["geometry"].wkt) for d in want.data]
    engine = engine_from_graph(G)
    assert list(rg.engine().nodes) == list(engine.nodes)
    assert (rg.engine().matrix != engine.matrix).nnz == 0
