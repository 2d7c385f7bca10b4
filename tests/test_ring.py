"""Checkpoint rings: crossings, covered/uncovered, closure checked on the graph, CLI."""
from __future__ import annotations

import json

import geopandas as gpd
import pytest
from shapely.geometry import box

from cli import main
from geo.errors import CRSError, InputError
from geo.network import tables_from_graph
from geo.ring import ring_crossings
from tests.netutil import METRIC, graph, points

# Inside the ring: x in (0, 10000). Outside: O1..O3 at x=-2000; inside I1..I3 at x=2000, joined
# to the hub H at x=5000. Road classes: O1-I1 expressway, O2-I2 street, O3-I3 one-way outbound.
COORDS = {"O1": (-2000, -1000), "O2": (-2000, 0), "O3": (-2000, 1000), "OX": (-4000, 0),
          "I1": (2000, -1000), "I2": (2000, 0), "I3": (2000, 1000), "H": (5000, 0)}
EDGES = [("O1", "I1"), ("O2", "I2"), ("I3", "O3", True), ("OX", "O1"), ("OX", "O2"), ("OX", "O3"),
         ("I1", "H"), ("I2", "H"), ("I3", "H")]
CLASSES = ["street", "expressway", "village", "street", "street", "street", "street", "street", "street"]
RING = gpd.GeoDataFrame(geometry=[box(0, -5000, 10000, 5000)], crs=METRIC)


def _graph():
    return graph(COORDS, EDGES, road_class=CLASSES)


def test_crossings_ranked_and_directions():
    ring = ring_crossings(_graph(), RING)
    c = ring.crossings
    assert len(c) == 3 and not c["covered"].any()
    assert c["road_class"].tolist() == ["expressway", "street", "village"]  # ranked by class
    assert dict(zip(c["road_class"], c["direction"])) == {"expressway": "both", "street": "both",
                                                          "village": "out"}
    assert c.geometry.x.tolist() == [0, 0, 0]  # where the road crosses the ring
    assert not ring.closed and len(ring.leaks) == 2
    assert len(ring.entries) == 2


def test_closed_only_when_every_inbound_path_is_checked():
    G = _graph()
    one = points({"K1": (0, 0)}, id_col="checkpoint_id")  # on O2-I2
    ring = ring_crossings(G, RING, checkpoints=one)
    assert len(ring.covered) == 1
    assert not ring.closed
    both = points({"K1": (0, 0), "K2": (0, -1020)}, id_col="checkpoint_id")  # K2 20 m off O1-I1
    ring = ring_crossings(G, RING, checkpoints=both, tolerance_m=50)
    assert ring.closed and ring.leaks == []
    assert sorted(ring.crossings.loc[ring.crossings["covered"], "checkpoint_id"]) == ["K1", "K2"]
    # the outbound-only crossing needs no checkpoint, but stays listed as uncovered
    assert ring.uncovered == [ring.crossings.loc[ring.crossings["direction"] == "out", "crossing_id"].item()]
    assert not ring_crossings(G, RING, checkpoints=both, tolerance_m=10).closed


def test_checkpoint_at_a_junction_checks_all_its_roads():
    G = _graph()
    at_i2 = points({"K": (2000, 0)}, id_col="checkpoint_id")  # the junction I2 (end of O2-I2)
    ring = ring_crossings(G, RING, checkpoints=at_i2)
    covered = ring.crossings[ring.crossings["covered"]]
    assert covered["road_class"].tolist() == ["expressway"] and covered["checkpoint_id"].tolist() == ["K"]
    # outside nodes O1..O3 are themselves outside the ring: a checkpoint at OX closes nothing
    assert not ring_crossings(G, RING, checkpoints=points({"K": (-4000, 0)}, id_col="checkpoint_id")).closed


def test_bad_ring_input():
    G = _graph()
    with pytest.raises(CRSError, match="no CRS"):
        ring_crossings(G, RING.set_crs(None, allow_override=True))
    with pytest.raises(InputError, match="polygon"):
        ring_crossings(G, gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1).boundary], crs=METRIC))
    with pytest.raises(CRSError, match="checkpoint layer has no CRS"):
        ring_crossings(G, RING, checkpoints=points({"K": (0, 0)}, crs=None))


def test_cli_ring(tmp_path, capsys):
    nodes, edges = tables_from_graph(_graph())
    net = tmp_path / "net.gpkg"
    nodes.to_file(net, layer="road_nodes")
    edges.to_file(net, layer="road_edges")
    RING.to_file(tmp_path / "ring.gpkg")
    points({"K1": (0, 0)}, id_col="checkpoint_id").to_file(tmp_path / "cp.gpkg")
    code = main(["ring", "--network", str(net), "--ring", str(tmp_path / "ring.gpkg"),
                 "--checkpoints", str(tmp_path / "cp.gpkg"), "--propose", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["closed"] is False
    assert len(out["crossings"]) == 3 and len(out["covered"]) == 1 and len(out["uncovered"]) == 2
    assert out["proposal"]["new_checkpoints"] == 1
