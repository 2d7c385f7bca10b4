"""Local search: known optima on tiny grids, moves never break contiguity, progress, errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planning.constraints import InfeasibleError, locked_positions
from planning.plan import Plan, district_graph
from planning.redistrict import ScoreWeights, _propose, _Search, grown_plan, optimize, redistrict, repaired_plan
from tests._grids import grid_cells, random_instance, stations_at


def test_strip_balances_to_the_known_optimum():
    # 6 x 1 strip, equal cells, stations at the ends: the optimum is 3 | 3.
    cells = grid_cells(6, 1)
    g = district_graph(cells, stations_at(cells, [0, 5]))
    start = Plan(g, [0, 1, 1, 1, 1, 1])
    best = redistrict(start, rng=np.random.default_rng(0), iterations=3000)
    assert best.assignment.tolist() == [0, 0, 0, 1, 1, 1]
    assert best.max_deviation == pytest.approx(0.0, abs=1e-12) and best.contiguous


def test_square_grid_four_stations_in_corners():
    # 4 x 4, equal weights, stations in the corners: balanced means 4 cells each (quadrants).
    cells = grid_cells(4, 4)
    g = district_graph(cells, stations_at(cells, [0, 3, 12, 15]))
    best = redistrict(grown_plan(g), rng=np.random.default_rng(1), iterations=20000)
    assert best.max_deviation == pytest.approx(0.0, abs=1e-12) and best.contiguous and best.contains_station
    assert sorted(np.bincount(best.assignment).tolist()) == [4, 4, 4, 4]


def test_generator_yields_progress_and_can_stop():
    cells, st_ = random_instance(3, 12, 12, 4)
    g = district_graph(cells, st_)
    gen = optimize(grown_plan(g), rng=np.random.default_rng(0), progress_every=200)
    first = next(gen)
    assert first["iteration"] == 0 and 0 <= first["fraction"] <= 1
    seen = [first] + [next(gen) for _ in range(5)]
    gen.close()  # the caller stops whenever it likes
    assert [p["iteration"] for p in seen] == [0, 200, 400, 600, 800, 1000]
    assert seen[-1]["best_score"] <= seen[0]["best_score"]
    assert all(p["plan"].contiguous for p in seen)


def test_same_rng_same_result():
    cells, st_ = random_instance(5, 10, 10, 4)
    g = district_graph(cells, st_)
    a = redistrict(grown_plan(g), rng=np.random.default_rng(7), iterations=5000)
    b = redistrict(grown_plan(g), rng=np.random.default_rng(7), iterations=5000)
    assert a == b


def test_locked_cells_stay_and_min_change_keeps_most():
    cells, st_ = random_instance(2, 10, 10, 4)
    g = district_graph(cells, st_)
    start = grown_plan(g)
    lock = [0, 1, 2, 10, 11]
    best = redistrict(start, rng=np.random.default_rng(0), locked_cells=lock, iterations=10000)
    assert np.array_equal(best.assignment[lock], start.assignment[lock])
    keep = redistrict(start, rng=np.random.default_rng(0), iterations=10000, max_deviation=0.05,
                      weights=ScoreWeights(change=2.0))
    free = redistrict(start, rng=np.random.default_rng(0), iterations=10000, max_deviation=0.05)
    assert keep.cells_changed(start) <= free.cells_changed(start)


def test_keep_townships_reduces_splits():
    towns = [f"T{(i % 8) // 2}{(i // 8) // 2}" for i in range(64)]  # 16 townships of 2x2 cells
    cells = grid_cells(8, 8, townships=towns)
    g = district_graph(cells, stations_at(cells, [0, 7, 56, 63]))
    plain = redistrict(grown_plan(g), rng=np.random.default_rng(0), iterations=20000,
                       weights=ScoreWeights(perimeter=0.0, compactness=0.0))
    whole = redistrict(grown_plan(g), rng=np.random.default_rng(0), iterations=20000,
                       keep_townships=True)
    assert whole.township_splits <= plain.township_splits
    assert whole.township_splits == 0 and whole.max_deviation <= 0.05


def test_repaired_plan_reattaches_cut_off_pieces():
    cells = grid_cells(5, 1)
    g = district_graph(cells, stations_at(cells, [0, 4]))
    fixed = repaired_plan(Plan(g, [0, 1, 0, 1, 1]))
    assert fixed.contiguous and fixed.contains_station


def test_locked_cells_making_balance_impossible_is_explained():
    cells = grid_cells(6, 1)
    g = district_graph(cells, stations_at(cells, [0, 5]))
    start = Plan(g, [0, 0, 0, 0, 1, 1])
    with pytest.raises(InfeasibleError, match="locked cells alone"):
        next(optimize(start, locked_cells=[1, 2, 3], max_deviation=0.1))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), steps=st.integers(1, 300))
def test_moves_never_break_contiguity_or_station_containment(seed, steps):
    cells, st_ = random_instance(seed % 7, 7, 6, 3)
    g = district_graph(cells, st_, adjacency="queen" if seed % 2 else "rook")
    plan = grown_plan(g)
    s = _Search(plan, locked=locked_positions(g, plan), allowed=None, baseline=plan,
                weights=ScoreWeights(townships=0.0), target=0.05)
    import random
    r = random.Random(seed)
    for _ in range(steps):
        moves = _propose(s, r.random(), r.random, r.randrange)
        if moves:
            for c, _, b in moves:
                s.apply(c, b)
    after = Plan(g, s.assign)
    assert after.contiguous and after.contains_station
