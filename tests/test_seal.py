"""Time to seal: exact bottleneck assignment, greedy counter-example, infeasibility, CLI."""
from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from cli import main
from geo.errors import InputError
from geo.network import tables_from_graph
from geo.traveltime import engine_from_graph
from planning.seal import SealInfeasible, seal_from_cost_matrix, seal_from_network
from tests.netutil import LINE, LINE_EDGES, graph, points


def _greedy(cost):
    """Cheapest remaining pair first: the heuristic a hurried planner would use."""
    cost = cost.astype(float).copy()
    worst = 0.0
    for _ in range(cost.shape[1]):
        i, j = np.unravel_index(np.argmin(cost), cost.shape)
        worst = max(worst, cost[i, j])
        cost[i, :] = np.inf
        cost[:, j] = np.inf
    return worst


def test_greedy_is_provably_worse():
    # units a, b; exits e1, e2. Greedy takes a-e1 (1) and is left with b-e2 (10).
    # The optimum sends a to e2 and b to e1: both arrive in 2 minutes.
    cost = np.array([[1.0, 2.0], [2.0, 10.0]])
    assert _greedy(cost) == 10
    seal = seal_from_cost_matrix(cost, unit_ids=["a", "b"], exit_ids=["e1", "e2"])
    assert seal.seal_minutes == 2.0
    assert sorted(map(tuple, seal.assignment[["exit", "unit"]].to_numpy())) == [("e1", "b"), ("e2", "a")]


def test_matches_brute_force_on_random_matrices():
    rng = np.random.default_rng(1)
    for _ in range(30):
        n_units, n_exits = rng.integers(2, 6), None
        n_exits = int(rng.integers(1, n_units + 1))
        cost = rng.integers(1, 20, size=(n_units, n_exits)).astype(float)
        brute = min(max(cost[p[j], j] for j in range(n_exits))
                    for p in itertools.permutations(range(n_units), n_exits))
        seal = seal_from_cost_matrix(cost, unit_ids=range(n_units), exit_ids=range(n_exits))
        assert seal.seal_minutes == brute
        assert seal.assignment["minutes"].max() == brute
        assert seal.assignment["unit"].is_unique and len(seal.assignment) == n_exits


def test_infeasible_explained_before_solving():
    with pytest.raises(SealInfeasible, match="3 exits but only 2 units"):
        seal_from_cost_matrix(np.ones((2, 3)), unit_ids="ab", exit_ids="xyz")
    with pytest.raises(SealInfeasible, match="cannot be reached by any unit: y"):
        seal_from_cost_matrix(np.array([[1, np.inf], [2, np.inf]]), unit_ids="ab", exit_ids="xy")
    # Hall violation: x and y can only be reached by unit a
    cost = np.array([[1, 1, 5], [np.inf, np.inf, 1], [np.inf, np.inf, 1]])
    with pytest.raises(SealInfeasible, match="compete for the same few units"):
        seal_from_cost_matrix(cost, unit_ids="abc", exit_ids="xyz")


def test_seal_on_network_with_one_way():
    # Units at A and E; exits at B and D. B->A is one way, so the unit at A reaches B through C
    # (3 min). Both units reach B in 3 minutes; the least total puts u2 on D (1 min).
    G = graph(LINE, [("B", "A", True), ("A", "C"), ("B", "C"), ("C", "D"), ("D", "E")])
    E = engine_from_graph(G)
    units = points({"u1": (0, 0), "u2": (4000, 0)}, id_col="unit_id")
    exits = points({"x1": (1000, 0), "x2": (3000, 0)}, id_col="exit_id")
    seal = seal_from_network(G, E, units, exits, unit_id="unit_id", exit_id="exit_id")
    table = seal.assignment.set_index("exit")
    # u1 -> C (2 km straight A-C) -> B (1 km) = 3 min; u2 -> D = 1 min
    assert table.loc["x1", "unit"] == "u1" and table.loc["x1", "minutes"] == pytest.approx(3.0)
    assert table.loc["x2", "unit"] == "u2" and table.loc["x2", "minutes"] == pytest.approx(1.0)
    assert seal.seal_minutes == pytest.approx(3.0)
    with pytest.raises(InputError, match="not on the network"):
        seal_from_network(G, E, units, exits.assign(node_id=["B", "ZZ"]), exit_id="exit_id")


def test_cli_seal(tmp_path, capsys):
    G = graph(LINE, LINE_EDGES)
    nodes, edges = tables_from_graph(G)
    net = tmp_path / "net.gpkg"
    nodes.to_file(net, layer="road_nodes")
    edges.to_file(net, layer="road_edges")
    points({"u1": (0, 0), "u2": (4000, 0)}, id_col="unit_id").to_file(tmp_path / "units.gpkg")
    points({"x1": (1000, 0), "x2": (2000, 0)}, id_col="exit_id").to_file(tmp_path / "exits.gpkg")
    code = main(["seal", "--network", str(net), "--units", str(tmp_path / "units.gpkg"),
                 "--exits", str(tmp_path / "exits.gpkg"), "--speed-kmh", "60", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["seal_minutes"] == 2.0
    assert {(a["exit"], a["unit"], a["minutes"]) for a in out["assignment"]} == {("x1", "u1", 1.0), ("x2", "u2", 2.0)}
    points({"x1": (1000, 0), "x2": (2000, 0), "x3": (3000, 0)}, id_col="exit_id").to_file(tmp_path / "ex3.gpkg")
    code = main(["seal", "--network", str(net), "--units", str(tmp_path / "units.gpkg"),
                 "--exits", str(tmp_path / "ex3.gpkg")])
    assert code == 2 and "only 2 units" in capsys.readouterr().err
