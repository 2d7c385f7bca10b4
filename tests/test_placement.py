"""Post placement (maximal / set covering with HiGHS) and the fewest checkpoints (minimum cut)."""
from __future__ import annotations

import itertools
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from scipy.sparse import csr_matrix
from shapely.geometry import box

from cli import main
from geo.errors import InputError
from geo.network import tables_from_graph
from geo.ring import ring_crossings
from geo.traveltime import engine_from_graph
from planning.placement import fewest_checkpoints, iter_place_posts, maximal_covering, place_posts, set_covering
from tests.netutil import LINE, LINE_EDGES, METRIC, graph, points

SEVEN = {c: (i * 1000, 0) for i, c in enumerate("ABCDEFG")}
SEVEN_EDGES = [(a, b) for a, b in zip("ABCDEF", "BCDEFG")]


def test_maximal_covering_with_existing_site_fixed():
    G = graph(SEVEN, SEVEN_EDGES)  # 1 minute per edge
    E = engine_from_graph(G)
    demand = pd.Series([5, 1, 1, 1, 10, 1, 2], index=list("ABCDEFG"), dtype=float)
    # existing at A covers A, B within 1 minute. One new site: F covers E, F, G (13), D only 12
    result = place_posts(E, demand, minutes=1, existing=pd.Series({"S": "A"}), k=1)
    assert result.chosen == ["F"] and result.status == "optimal" and result.gap == 0
    assert result.objective == 5 + 1 + 10 + 1 + 2
    assert result.before["weight_within"] == 6 and result.after["weight_within"] == 19
    two = place_posts(E, demand, minutes=1, existing=pd.Series({"S": "A"}), k=2)
    assert two.objective == demand.sum() and sorted(two.chosen) in (["C", "F"], ["D", "F"])


def test_set_covering_fewest_sites_and_uncoverable():
    G = graph(SEVEN, SEVEN_EDGES)
    E = engine_from_graph(G)
    demand = pd.Series(1.0, index=list("ABCDEFG"))
    result = place_posts(E, demand, minutes=1, model="set_cover")
    assert result.objective == 3 and len(result.chosen) == 3  # e.g. B, E, G or B, E, F
    assert result.after["share_within"] == 1.0
    # only candidate A: C..G cannot be reached within 1 minute
    only_a = place_posts(E, demand, minutes=1, model="set_cover", candidates=["A"])
    assert only_a.chosen == ["A"] and sorted(only_a.uncoverable) == list("CDEFG")


def test_covering_matches_brute_force():
    rng = np.random.default_rng(3)
    for _ in range(15):
        cover = rng.random((12, 7)) < 0.3
        w = rng.integers(0, 10, 12).astype(float)
        for k in (1, 2, 3):
            best = max(w[cover[:, list(s)].any(axis=1)].sum() for s in itertools.combinations(range(7), k))
            assert maximal_covering(csr_matrix(cover), w, k=k).objective == best
        reach = cover.any(axis=1)
        fewest = next(k for k in range(0, 8) if any(cover[reach][:, list(s)].any(axis=1).all()
                                                      for s in itertools.combinations(range(7), k)))
        assert set_covering(csr_matrix(cover)).objective == fewest


def test_progress_is_yielded_and_bad_options():
    G = graph(LINE, LINE_EDGES)
    E = engine_from_graph(G)
    demand = pd.Series(1.0, index=list(LINE))
    steps = list(iter_place_posts(E, demand, minutes=1, k=1, chunk=2))
    assert [s["stage"] for s in steps] == ["travel times"] * 3 + ["solving", "done"]
    assert steps[-1]["result"].chosen
    with pytest.raises(InputError, match="`k` was"):
        maximal_covering(csr_matrix(np.ones((2, 2))), np.ones(2), k=0)
    with pytest.raises(InputError, match="`model` was"):
        place_posts(E, demand, minutes=1, model="p_median")
    with pytest.raises(InputError, match="needs `k`"):
        place_posts(E, demand, minutes=1)


# Three roads from the outside merge at an inside junction J 200 m from the ring, then one road
# J-K leads on. Crossing roads: 3. Within a 500 m band, closing J-K (one road) is enough.
STAR = {"O1": (-2000, -1000), "O2": (-2000, 0), "O3": (-2000, 1000), "OX": (-4000, 0),
        "J": (200, 0), "K": (3000, 0), "K2": (3000, 2000)}
STAR_EDGES = [("O1", "J"), ("O2", "J"), ("O3", "J"), ("OX", "O1"), ("OX", "O2"), ("OX", "O3"),
              ("J", "K"), ("K", "K2")]
RING = gpd.GeoDataFrame(geometry=[box(0, -5000, 10000, 5000)], crs=METRIC)


def test_fewest_checkpoints_minimum_cut():
    G = graph(STAR, STAR_EDGES)
    assert fewest_checkpoints(G, RING).count == 3  # on the crossings themselves
    band = fewest_checkpoints(G, RING, band_m=500)
    assert band.count == 1 and band.sites[["u", "v"]].iloc[0].tolist() == ["J", "K"]
    junction = fewest_checkpoints(G, RING, band_m=500, junctions=True)
    assert junction.count == 1
    # an existing checkpoint on O1-J leaves two crossings to close
    cp = points({"K0": (-1000, -500)}, id_col="checkpoint_id")
    assert fewest_checkpoints(G, RING, checkpoints=cp).count == 2
    # after adding the proposed sites the ring is closed
    sites = fewest_checkpoints(G, RING, checkpoints=cp).sites
    new = gpd.GeoDataFrame({"checkpoint_id": ["K0"] + [f"N{i}" for i in range(len(sites))]},
                           geometry=list(cp.geometry) + list(sites.geometry), crs=METRIC)
    assert ring_crossings(G, RING, checkpoints=new).closed


def test_one_way_road_needs_no_checkpoint():
    G = graph(STAR, [("J", "O1", True)] + STAR_EDGES[1:])
    assert fewest_checkpoints(G, RING).count == 2


def test_cli_place_posts(tmp_path, capsys):
    G = graph(SEVEN, SEVEN_EDGES)
    nodes, edges = tables_from_graph(G)
    net = tmp_path / "net.gpkg"
    nodes.to_file(net, layer="road_nodes")
    edges.to_file(net, layer="road_edges")
    cells = gpd.GeoDataFrame({"cell_id": list("abcdefg"), "population": [5, 1, 1, 1, 10, 1, 2]},
                             geometry=[box(x - 400, -400, x + 400, 400) for x in range(0, 7000, 1000)],
                             crs=METRIC)
    cells.to_file(tmp_path / "cells.gpkg")
    points({"S": (0, 0)}, id_col="post_id").to_file(tmp_path / "posts.gpkg")
    code = main(["place-posts", "--network", str(net), "--cells", str(tmp_path / "cells.gpkg"),
                 "--existing", str(tmp_path / "posts.gpkg"), "--k", "1", "--minutes", "1",
                 "--speed-kmh", "60", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["chosen"] == ["F"] and out["status"] == "optimal"
    assert out["before"]["weight_within"] == 6 and out["after"]["weight_within"] == 19
    code = main(["place-posts", "--network", str(net), "--cells", str(tmp_path / "cells.gpkg"),
                 "--k", "1", "--weight", "nope"])
    assert code == 2 and "--weight" in capsys.readouterr().err
