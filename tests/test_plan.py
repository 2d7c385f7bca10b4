"""Plan model: adjacency, metrics by hand on tiny grids, immutability, input errors."""
from __future__ import annotations

import math

import numpy as np
import pytest
from shapely.geometry import Point

from geo.errors import InputError, ValidationError
from planning.constraints import (
    InfeasibleError,
    Validator,
    contains_station,
    contiguous,
    explain_infeasibility,
    keep_townships_whole,
    locked_cells,
    locked_positions,
    max_cost,
    raise_if_infeasible,
)
from planning.plan import Plan, adjacency_pairs, articulation_points, district_graph, parse_weights
from tests._grids import grid_cells, stations_at


def test_adjacency_rook_and_queen():
    cells = grid_cells(3, 3)
    rook = adjacency_pairs(cells, kind="rook")
    queen = adjacency_pairs(cells, kind="queen")
    assert len(rook) == 12 and len(queen) == 20
    assert np.allclose(rook["shared_m"], 100.0)


def test_articulation_points_of_a_path_and_a_ring():
    path = [[1], [0, 2], [1, 3], [2]]
    assert articulation_points(range(4), path) == {1, 2}
    ring = [[1, 3], [0, 2], [1, 3], [2, 0]]
    assert articulation_points(range(4), ring) == set()


def test_metrics_by_hand():
    # 4 x 1 strip, stations in the end cells; west gets 1 cell, east 3.
    cells = grid_cells(4, 1, values=[1, 1, 1, 1])
    g = district_graph(cells, stations_at(cells, [0, 3]), weights="incidents")
    plan = Plan(g, [0, 1, 1, 1])
    assert plan.workload.tolist() == [0.25, 0.75]
    assert plan.max_deviation == pytest.approx(0.5)
    assert plan.deviation_spread == pytest.approx(1.0)
    assert plan.contiguous and plan.contains_station
    # Polsby-Popper: a 100 m square 4πA/P² = π/4; a 300 x 100 strip 4π·3e4/8e2² = 0.589.
    assert plan.polsby_popper["S0"] == pytest.approx(math.pi / 4)
    assert plan.polsby_popper["S1"] == pytest.approx(4 * math.pi * 3e4 / 800 ** 2)
    assert plan.max_cost["S1"] == pytest.approx(200.0)
    # workload-weighted mean distance of S1: cells at 200, 100, 0 m -> 100 m
    assert plan.mean_cost["S1"] == pytest.approx(100.0)
    assert plan.totals("population").tolist() == [10.0, 30.0]


def test_moved_returns_a_new_plan_and_caches():
    cells = grid_cells(4, 1)
    g = district_graph(cells, stations_at(cells, [0, 3]))
    a = Plan(g, [0, 1, 1, 1])
    b = a.moved([1], "S0")
    assert a.assignment.tolist() == [0, 1, 1, 1] and b.assignment.tolist() == [0, 0, 1, 1]
    assert b.max_deviation == pytest.approx(0.0, abs=1e-12) and b.cells_changed(a) == 1
    with pytest.raises(ValueError):
        a.assignment[0] = 1
    assert a.workload is a.workload  # cached


def test_discontiguous_and_township_splits():
    cells = grid_cells(4, 1, townships=["A", "A", "B", "B"])
    g = district_graph(cells, stations_at(cells, [0, 3]))
    plan = Plan(g, [0, 1, 0, 1])
    assert not plan.contiguous and plan.components == {"S0": 2, "S1": 2}
    assert plan.township_splits == 2 and not keep_townships_whole(plan)
    assert keep_townships_whole(Plan(g, [0, 0, 1, 1]))


def test_from_labels_fills_cells_without_station():
    cells = grid_cells(4, 1)
    g = district_graph(cells, stations_at(cells, [0, 3], ["1", "2"]))
    plan = Plan.from_labels(g, [1, None, "31", 2.0])  # 31: a district without a station
    assert plan.labels.tolist() == ["1", "1", "2", "2"]


def test_constraints_and_validator():
    cells = grid_cells(4, 1)
    g = district_graph(cells, stations_at(cells, [0, 3]))
    base = Plan(g, [0, 0, 1, 1])
    moved = base.moved([2], "S0")
    check = Validator([contiguous, contains_station, locked_cells(base, [2]), max_cost(150)])
    assert check(base)
    assert check.failing(moved) == ["locked_cells(1)", "max_cost(150)"]


def test_weight_errors_are_collected():
    cells = grid_cells(3, 1)
    cells["empty"] = 0.0
    with pytest.raises(ValidationError) as exc:
        district_graph(cells, stations_at(cells, [0]), weights="nope,empty")
    rules = {p.rule for p in exc.value.problems}
    assert rules == {"unknown_weight_column", "empty_weight_column"}
    with pytest.raises(InputError, match="not a number"):
        parse_weights("incidents=x")


def test_station_outside_every_cell():
    cells = grid_cells(3, 1)
    st = stations_at(cells, [0])
    st.loc[1] = ["far", Point(5000, 5000)]
    with pytest.raises(ValidationError, match="outside every cell") as exc:
        district_graph(cells, st)
    assert exc.value.problems[0].ids == ("far",)


def test_infeasibility_explained_before_solving():
    cells = grid_cells(4, 1, values=[5, 1, 1, 1])
    g = district_graph(cells, stations_at(cells, [0, 3]))
    problems = explain_infeasibility(g, max_deviation=0.05)
    assert [p.rule for p in problems] == ["cell_over_share"]
    cells = grid_cells(6, 1)
    g = district_graph(cells, stations_at(cells, [0, 5]))
    base = Plan(g, [0, 0, 0, 0, 1, 1])
    with pytest.raises(InfeasibleError, match="locked cells alone"):
        raise_if_infeasible(g, max_deviation=0.1, baseline=base,
                            locked=locked_positions(g, base, cells=[1, 2, 3]))

