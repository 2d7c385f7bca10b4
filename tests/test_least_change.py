"""Least change: hand-solved optima, the exact MIP yardstick (objective "moved"), the bound,
contiguity, and locks that hold both ways."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from planning.exact import exact_plan
from planning.least_change import least_change, moved_bound, moved_column_bound
from planning.plan import Plan, district_graph
from planning.redistrict import grown_plan, optimize, repaired_plan
from tests._grids import grid_cells, random_instance, stations_at


def _ok(plan: Plan) -> None:
    assert plan.contiguous, plan.components
    assert plan.contains_station


def test_strip_moves_exactly_the_two_cells_at_the_border():
    # 1 x 6 strip, workloads 2 1 1 1 1 2, stations at both ends; today S0 holds 0..4 (6 of 8),
    # S1 only its own cell (2). Mean 4, band [3.8, 4.2]: S0 must give 3 and 4 (then 4 | 4),
    # moving 2 of 8 = 25 % of the workload; the bound is the excess (6 - 4.2) / 8 = 22.5 %.
    cells = grid_cells(6, 1, values=[2, 1, 1, 1, 1, 2])
    g = district_graph(cells, stations_at(cells, [0, 5]))
    base = Plan(g, [0, 0, 0, 0, 0, 1])
    r = least_change(base, max_deviation=0.05)
    assert r.plan.assignment.tolist() == [0, 0, 0, 1, 1, 1]
    assert r.moved_workload == pytest.approx(0.25)
    assert r.moved_bound == pytest.approx(0.225) and r.bound_binds == "excess"
    assert r.excess == pytest.approx(0.225) and r.deficit == pytest.approx(0.225)
    assert r.moved_ratio == pytest.approx(0.25 / 0.225)
    assert r.units_moved == 2 and r.target_met
    _ok(r.plan)
    ex = exact_plan(g, objective="moved", baseline=base, max_deviation=0.05, time_limit_s=20)
    assert ex.optimal and ex.value == pytest.approx(0.25)


def test_nothing_moves_when_the_plan_is_already_within_the_target():
    cells = grid_cells(6, 1)
    g = district_graph(cells, stations_at(cells, [0, 5]))
    base = Plan(g, [0, 0, 0, 1, 1, 1])
    r = least_change(base, max_deviation=0.05)
    assert r.units_moved == 0 and r.moved_workload == 0 and r.moved_bound == 0
    assert r.moved_ratio is None and r.target_met


def test_population_breaks_ties_between_equal_workloads():
    # 3 x 2 grid (row-major from the south-west: 0 1 2 / 3 4 5), stations at 0 and 5, equal
    # workloads; today S1 holds only 5 (loads 5 | 1, mean 3). S1 must gain two cells; the
    # contiguous choices are {2, 4}, {3, 4} and {1, 2}, all 2 of 6 of the workload. With
    # populations 10, 30, 50, 5 on cells 1..4 the fewest people are {2, 4} (35).
    cells = grid_cells(3, 2)
    cells["population"] = [100, 10, 30, 50, 5, 100]
    g = district_graph(cells, stations_at(cells, [0, 5]))
    base = Plan(g, [0, 0, 0, 0, 0, 1])
    r = least_change(base, max_deviation=0.05, order=("workload", "population", "units"))
    assert sorted(np.flatnonzero(r.plan.assignment != base.assignment).tolist()) == [2, 4]
    assert r.moved_workload == pytest.approx(2 / 6)
    assert r.moved["population"] == 35
    _ok(r.plan)
    # people first: the same cells (they are also the fewest people)
    r2 = least_change(base, max_deviation=0.05, order=("population", "workload"))
    assert r2.moved["population"] == 35


def test_people_bound_is_the_cheapest_way_to_carry_each_excess():
    # Only population weighs: the people bound is the workload bound in people.
    cells = grid_cells(6, 1, values=[2, 1, 1, 1, 1, 2])
    cells["population"] = [20, 10, 10, 10, 10, 20]
    g = district_graph(cells, stations_at(cells, [0, 5]), weights="population")
    base = Plan(g, [0, 0, 0, 0, 0, 1])
    b = moved_bound(base, 0.05)
    assert moved_column_bound(base, 0.05, "population") == pytest.approx(b["bound"] * 80)
    r = least_change(base, max_deviation=0.05)
    assert r.moved_people == 20 and r.moved_people_bound == pytest.approx(18.0)


# Small random grids against the exact MIP (objective "moved"). Baseline: every cell at its
# nearest station (repaired), 33 % or more off the mean. 10 instances, all must pass (in a
# development run over 27 instances x 2 random seeds all 54 were within 2 %; see
# bench/bench_least_change.py for the figures).
SMALL = [3, 6, 9, 10, 13, 15, 16, 20, 24, 29]


def _instance(seed: int):
    nx_, ny = [(8, 5), (8, 8), (10, 6), (9, 8), (10, 8)][seed % 5]
    cells, st_ = random_instance(seed, nx_, ny, 3 + seed % 3)
    g = district_graph(cells, st_)
    base = repaired_plan(Plan(g, np.argmin(g.cost, axis=1)))
    return g, base


@pytest.mark.parametrize("seed", SMALL)
def test_within_two_percent_of_the_exact_least_move(seed):
    g, base = _instance(seed)
    r = least_change(base, max_deviation=0.05, order=("workload",), time_limit_s=10,
                     rng=np.random.default_rng(0))
    assert r.target_met and r.plan.max_deviation <= 0.05 + 1e-9
    _ok(r.plan)
    ex = exact_plan(g, objective="moved", baseline=base, max_deviation=0.05, start=r.plan,
                    time_limit_s=60)
    assert ex.optimal, ex.status
    _ok(ex.plan)
    assert ex.plan.max_deviation <= 0.05 + 1e-6
    assert ex.value == pytest.approx(float(g.workload[ex.plan.assignment != base.assignment].sum()
                                           / g.workload.sum()))
    assert r.moved_bound <= ex.value + 1e-9  # the bound is never above the optimum
    assert r.moved_workload <= 1.02 * ex.value + 1e-12, (r.moved_workload, ex.value)


def test_locked_cells_and_stations_hold_both_ways():
    g, base = _instance(14)  # 5 stations on a 10 x 8 grid, one already within the band
    dev = base.deviation.abs().to_numpy()
    inside = [g.station_ids[s] for s in range(g.n_stations) if dev[s] <= 0.05]
    assert inside, "the instance needs a station already within the band to lock"
    lock_st = inside[:1]
    s_lock = g.station_index(lock_st[0])
    free = np.flatnonzero(base.assignment != s_lock)
    lock_cells = [g.cell_ids[c] for c in free[:3]]
    r = least_change(base, max_deviation=0.05, locked_stations=lock_st, locked_cells=lock_cells,
                     time_limit_s=10)
    after = r.plan.assignment
    assert np.array_equal(after == s_lock, base.assignment == s_lock)  # neither gains nor loses
    assert np.array_equal(after[free[:3]], base.assignment[free[:3]])
    assert r.target_met
    _ok(r.plan)


def test_optimize_never_lets_a_locked_station_gain_cells():
    # Before the fix, a locked station could not lose cells but gained them whenever that
    # helped the balance. S1 (the lightest district) is locked: its district must stay as it is.
    cells, st_ = random_instance(4, 8, 8, 3)
    g = district_graph(cells, st_)
    start = grown_plan(g)
    light = int(np.argmin(start.workload.to_numpy()))
    sid = g.station_ids[light]
    last = None
    for last in optimize(start, max_deviation=None, locked_stations=[sid], iterations=20_000,
                         rng=np.random.default_rng(0)):
        pass
    best = last["plan"]
    assert np.array_equal(best.assignment == light, start.assignment == light)
    _ok(best)


def test_a_cut_off_baseline_is_repaired_and_counted_as_moved(caplog):
    # S0's district holds cell 2, which is cut off from it by S1's cell 1 (strip 0 | 1 | 2 ...).
    cells = grid_cells(6, 1)
    g = district_graph(cells, stations_at(cells, [0, 5]))
    base = Plan(g, [0, 1, 0, 1, 1, 1])
    with caplog.at_level(logging.WARNING, logger="planning"):
        r = least_change(base, max_deviation=0.05)
    _ok(r.plan)
    assert r.target_met and r.plan.assignment.tolist() == [0, 0, 0, 1, 1, 1]
    assert "cut off" in caplog.text


def test_unknown_order_item_names_the_parameter():
    cells = grid_cells(6, 1)
    g = district_graph(cells, stations_at(cells, [0, 5]))
    from geo.errors import InputError
    with pytest.raises(InputError, match="`order`"):
        least_change(Plan(g, [0, 0, 0, 0, 0, 1]), order=("workload", "nonsense"))


# --- the demo county and the command line ----------------------------------------------------

DEMO = Path(__file__).resolve().parents[1] / "data" / "boundaries" / "demo_county.gpkg"


@pytest.fixture(scope="module")
def demo_population():
    from geo.workspace import read_workspace
    from planning.study import STUDY_LAYERS, current_plan, workspace_graph
    ws = read_workspace(DEMO, layers=STUDY_LAYERS)
    g = workspace_graph(ws, weights="population")
    return g, current_plan(ws, g)


def test_demo_goal_moved_people_within_1_3_times_the_bound(demo_population):
    # Issue 13: `--weight population`, 5 %: the annealing optimiser moved 118,916 people
    # against a bound of 72,221 (1.65); least change must stay within 1.3 x the bound.
    g, current = demo_population
    r = least_change(current, max_deviation=0.05, time_limit_s=5, rng=np.random.default_rng(0))
    assert r.target_met
    _ok(r.plan)
    people = float(g.column("population")[r.plan.assignment != current.assignment].sum())
    assert r.moved_people == people
    b = moved_bound(current, 0.05)
    assert r.moved_people_bound == pytest.approx(b["bound"] * g.column("population").sum())
    assert r.moved_people <= 1.3 * r.moved_people_bound, (r.moved_people, r.moved_people_bound)


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    import cli
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_least_change_json_and_text(capsys):
    code, out, err = _cli(capsys, "redistrict", str(DEMO), "--weight", "population",
                          "--least-change", "--time-limit", "3", "--json")
    assert code == 0, err
    d = json.loads(out)
    for key in ("moved_workload", "moved_bound", "moved_ratio", "moved_people",
                "moved_people_bound", "units_moved", "target_met"):
        assert key in d
    assert d["target_met"] and d["contiguous"] and d["contains_station"]
    assert d["moved_ratio"] == pytest.approx(d["moved_workload"] / d["moved_bound"], rel=1e-3)
    assert d["units_moved"] == d["cells_changed"]
    assert d["moved_people"] == d["population_changed"]
    code, out, err = _cli(capsys, "redistrict", str(DEMO), "--least-change", "--time-limit", "2",
                          "--lock-stations", "S10")
    assert code == 0, err
    assert "of the workload (bound" in out and "ratio" in out


def test_cli_least_change_errors_name_the_fix(capsys):
    code, _, err = _cli(capsys, "redistrict", str(DEMO), "--least-change", "--from", "scratch")
    assert code == 2 and "--from current" in err
    code, _, err = _cli(capsys, "redistrict", str(DEMO), "--least-change", "--change-order",
                        "workload,nonsense")
    assert code == 2 and "--change-order" in err and "Traceback" not in err
