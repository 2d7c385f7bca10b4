"""Patrol dose (planning.patrol.dose, dose_routes; issue 14): whole-shift patrols of hot places at
their hot hours, checked by hand on tiny cases, by enumeration, and by re-checking the demo's plans
independently of the solver (intervals, gaps, dwell, travel on the engine, the JSON vs the
timetable)."""
from __future__ import annotations

import dataclasses
import itertools
import json
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from geo.errors import GridPatrolError, InputError
from planning.patrol.dose import DosePlan, DoseProblem, Stop, solve_dose, solve_random, top_pairs
from planning.patrol.dose_routes import place_hour_risk

# --- tiny cases --------------------------------------------------------------------------------


def test_two_places_one_unit_optimum_by_hand():
    """One 60-min slot, travel 0, stays of exactly 10 min, no gap: six stays to share between A
    (risk 2) and B (risk 1). Φ = 2 log(1 + a) + log(1 + b) with a + b = 6 is largest at a = 4,
    b = 2 (4.3175; 5:1 gives 4.2767, 3:3 gives 4.1589): the proportional-fair split."""
    p = DoseProblem.from_matrix(np.zeros((3, 3)), [[2.0], [1.0]], starts=[2], shift_min=60,
                                dwell_min=10, dwell_range=(10, 10), min_gap_min=0, break_min=0,
                                place_site=[0, 1])
    plan = solve_dose(p)
    places = [s.place for s in plan.stops[0]]
    assert sorted(places) == [0, 0, 0, 0, 1, 1]
    assert plan.objective == pytest.approx(2 * math.log(5) + math.log(3))
    assert plan.share_of_shift.tolist() == [1.0] and plan.patrol_min.tolist() == [60.0]
    # no randomised repeat at all: the deterministic construction, not a crash
    none = solve_dose(p, variety=0.5, iterations=0, rng=np.random.default_rng(1))
    assert [s.place for s in none.stops[0]] == [s.place for s in plan.stops[0]]


def _enumerate(p: DoseProblem) -> float:
    """Best Φ over every sequence of stays of one unit (earliest start: arrival or the gap)."""
    best = 0.0
    home = p.start_site[0]
    for n in range(1, 7):
        for seq in itertools.product(range(p.n_places), repeat=n):
            t, here, x, last, ok = 0.0, home, np.zeros((p.n_places, p.n_slots)), {}, True
            for q in seq:
                s = max(t + p.travel_min[here, p.place_site[q]], last.get(q, -1e9) + p.min_gap_min)
                e = s + p.dwell_min
                if e + p.travel_min[p.place_site[q], home] > p.shift_min + 1e-9:
                    ok = False
                    break
                x[q] += p.overlap(np.array([s]), np.array([e]))[0]
                last[q], t, here = e, e, p.place_site[q]
            if ok:
                best = max(best, p.value(x))
    return best


def test_two_places_two_hours_matches_enumeration():
    """A is hot in the first half hour, B in the second; 2 min from the station, 3 min apart,
    10-min gap. The best plan (A, A after waiting out the gap, B, A) is found by enumeration."""
    T = np.array([[0, 3, 2], [3, 0, 2], [2, 2, 0]], float)
    p = DoseProblem.from_matrix(T, [[3, 1], [1, 3]], starts=[2], shift_min=60, slot_min=30,
                                dwell_min=10, dwell_range=(10, 10), min_gap_min=10, break_min=0,
                                place_site=[0, 1])
    plan = solve_dose(p, fill_target=0.0)
    assert plan.objective == pytest.approx(_enumerate(p))
    assert plan.objective == pytest.approx(3 * math.log(1 + 18 / 10) + 1 * math.log(1 + 12 / 10)
                                           + 1 * math.log(1 + 0 / 10) + 3 * math.log(1 + 10 / 10))


def test_top_pairs_and_overlap_by_hand():
    r = np.array([[5.0, 1.0], [3.0, 0.0], [2.0, 4.0]])
    assert top_pairs(r, top_fraction=0.1).tolist() == [[True, False], [False, False], [False, False]]
    assert top_pairs(r, top_fraction=0.2).tolist() == [[True, False], [False, False], [False, True]]  # ceil(1.2)
    assert top_pairs(r, top_fraction=0.5).tolist() == [[True, False], [True, False], [False, True]]
    p = DoseProblem.from_matrix(np.zeros((4, 4)), r, starts=[3], shift_min=120, place_site=[0, 1, 2])
    assert p.overlap(np.array([50.0]), np.array([65.0])).tolist() == [[10.0, 5.0]]


def test_a_plan_breaking_the_rules_is_refused():
    p = DoseProblem.from_matrix(np.ones((3, 3)) - np.eye(3), [[1.0], [1.0]], starts=[2, 2],
                                shift_min=60, min_gap_min=20, break_min=0, place_site=[0, 1])
    ok = DosePlan(p, ((Stop(0, 1, 1, 13),), (Stop(0, 1, 33, 45),)), (14.0, 46.0))
    assert not ok.violations()
    with pytest.raises(GridPatrolError, match="visited again"):  # both units at A together
        DosePlan(p, ((Stop(0, 1, 1, 13),), (Stop(0, 1, 5, 17),)), (14.0, 18.0))
    with pytest.raises(GridPatrolError, match="dwells"):
        DosePlan(p, ((Stop(0, 1, 1, 30),), ()), (31.0, 0.0))
    with pytest.raises(GridPatrolError, match="arrives before"):
        DosePlan(p, ((Stop(0, 0.5, 1, 13),), ()), (14.0, 0.0))


def test_bad_arguments_name_the_parameter():
    T = np.zeros((2, 2))
    with pytest.raises(InputError, match="`dwell_min`"):
        DoseProblem.from_matrix(T, [[1.0]], starts=[1], shift_min=60, dwell_min=20)
    with pytest.raises(InputError, match="`risk` has 1 slots"):
        DoseProblem.from_matrix(T, [[1.0]], starts=[1], shift_min=120)
    with pytest.raises(InputError, match="`min_gap_min`"):
        DoseProblem.from_matrix(T, [[1.0]], starts=[1], shift_min=60, min_gap_min=-1)


def test_place_hour_risk_follows_the_places_own_hours():
    """One place whose incidents all fall at 09:xx, without shrinkage: its 08:00-12:00 risk
    (12) goes to 08, 09, 10 in the smoothing weights 1/4, 1/2, 1/4 (over the shift: 0.25, 0.5,
    0.25, 0 of 1.0), the 11:00 slot gets nothing."""
    crs = "EPSG:32650"
    place = gpd.GeoDataFrame({"risk": [12.0]}, geometry=[box(0, 0, 100, 100)], crs=crs)
    inc = gpd.GeoDataFrame({"time": pd.to_datetime(["2025-01-01 09:10", "2025-01-02 09:50",
                                                    "2025-01-03 09:05"])},
                           geometry=[Point(50, 50)] * 3, crs=crs)
    R = place_hour_risk(place, inc, shift="08:00-12:00", prior_incidents=0.0)
    assert R.shape == (1, 4)
    # The hour profile is (counts + 1/24 each, normalised) smoothed; only the place's own counts
    # with prior 0: 09 holds everything, so 08 and 10 get 1/4 and 09 1/2 of the smoothed mass.
    assert R[0].tolist() == pytest.approx([3.0, 6.0, 3.0, 0.0])
    assert R.sum() == pytest.approx(12.0)


# --- the demo county ---------------------------------------------------------------------------

CASES = [("S01", 2), ("S05", 2), ("S05", 3), ("S10", 3)]
SHIFTS = ["08:00-16:00", "16:00-24:00", "22:00-06:00"]


@pytest.fixture(scope="module")
def demo():
    from cli import DEMO_WORKSPACE
    if not DEMO_WORKSPACE.exists():
        pytest.skip("demo workspace not built")
    from geo.network import graph_from_workspace
    from geo.traveltime import engine_from_graph
    from geo.workspace import read_workspace
    ws = read_workspace(DEMO_WORKSPACE)
    G = graph_from_workspace(ws)
    return ws, G, engine_from_graph(G)


@pytest.fixture(scope="module")
def plans(demo):
    from planning.patrol.dose_routes import dose_for_workspace
    ws, G, engine = demo
    out = {}
    for (station, units), shift in itertools.product(CASES, SHIFTS):
        out[station, units, shift] = dose_for_workspace(ws, station=station, units=units, shift=shift,
                                                        time_limit_s=0.4, iterations=25, G=G, engine=engine)
    return out


def test_every_unit_patrols_at_least_90_percent_of_its_shift(plans):
    for key, (routes, _) in plans.items():
        s = routes.summary()
        for r in s["routes"]:
            assert r["share_of_shift"] >= 0.9, (key, r["unit"], r["share_of_shift"])
            assert r["minutes_used"] == pytest.approx(r["share_of_shift"] * s["shift_minutes"], abs=0.2)
            assert len(r["visits"]) >= 20, key  # repeated visits, not one round
        assert not routes.notes, (key, routes.notes)


def test_no_two_units_at_one_place_gaps_and_dwell(plans):
    for key, (routes, _) in plans.items():
        s = routes.summary()
        gap, (lo, hi) = s["min_gap_min"], s["dwell_range"]
        by_place: dict[str, list] = {}
        for r in s["routes"]:
            for v in r["visits"]:
                assert lo - 1e-6 <= v["depart_min"] - v["start_min"] <= hi + 1e-6, key
                assert v["arrive_min"] <= v["start_min"] + 1e-9
                by_place.setdefault(v["place"], []).append((v["start_min"], v["depart_min"], r["unit"]))
        repeated = 0
        for place, vs in by_place.items():
            vs.sort()
            for (a0, a1, _), (b0, b1, _) in zip(vs[:-1], vs[1:]):
                assert b0 >= a1 + gap - 0.02, (key, place, a1, b0)  # no overlap, and the gap
                repeated += 1
        assert repeated > 0, key


def test_routes_are_feasible_in_travel_time_on_the_engine(plans, demo):
    from geo.ids import id_str, normalise_ids
    from geo.traveltime import minutes_matrix
    ws, _, engine = demo
    stations = ws.layer("stations")
    node_of = dict(zip(normalise_ids(stations["station_id"]), stations["node_id"].map(id_str)))
    for key, (routes, _) in plans.items():
        home = node_of[key[0]]
        stops = routes.stops
        nodes = sorted({home, *stops["node"]}, key=str)
        T = pd.DataFrame(minutes_matrix(engine, nodes, nodes), index=nodes, columns=nodes)
        for r in routes.summary()["routes"]:
            legs = [(home, 0.0, 0.0, 0.0)]  # (node, arrive, start, depart)
            mine = stops[stops["unit"] == r["unit"]].sort_values("start_min")
            times = mine[["node", "arrive_min", "start_min", "depart_min"]]
            legs += [(n, a, s, d) for n, a, s, d in times.itertuples(index=False)]
            if r["break"]:
                b = r["break"]
                legs.append((home, b["start_min"], b["start_min"], b["end_min"]))
            legs.sort(key=lambda x: x[2])
            for (n0, _, _, d0), (n1, a1, _, _) in zip(legs[:-1], legs[1:]):
                assert a1 >= d0 + T.loc[n0, n1] - 0.02, (key, r["unit"], n0, n1)
            assert r["back_min"] >= legs[-1][3] + T.loc[legs[-1][0], home] - 0.02
            assert r["back_min"] <= routes.summary()["shift_minutes"] + 1e-6


def test_dose_beats_the_random_patrol_in_the_top_place_hours(plans):
    for key, (routes, _) in plans.items():
        s = routes.summary()
        assert s["dose_top_share"] > s["baseline_top_share"], (key, s["dose_top_share"], s["baseline_top_share"])
    # Where there is room to choose (30 places), the dose is far more concentrated.
    s = plans["S05", 2, "08:00-16:00"][0].summary()
    assert s["dose_top_share"] > 2 * s["baseline_top_share"]


def test_visits_json_equals_the_timetable(plans):
    for key, (routes, _) in plans.items():
        tt = routes.timetable()
        s = routes.summary()
        patrol = tt[tt["activity"] == "patrol"]
        got = sorted(zip(patrol["unit"], patrol["from_min"], patrol["to_min"], patrol["place"]))
        want = sorted((r["unit"], v["start_min"], v["depart_min"], v["place"])
                      for r in s["routes"] for v in r["visits"])
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g[0] == w[0] and g[3] == w[3] and g[1] == pytest.approx(w[1], abs=0.01) \
                and g[2] == pytest.approx(w[2], abs=0.01)
        # Each unit's rows tile its shift from 0 to its return, without holes or overlaps.
        for unit, rows in tt.groupby("unit"):
            assert rows["from_min"].iloc[0] == pytest.approx(0.0, abs=0.01)
            assert np.allclose(rows["from_min"].to_numpy()[1:], rows["to_min"].to_numpy()[:-1], atol=0.02)
            back = s["routes"][unit - 1]["back_min"]
            assert rows["to_min"].iloc[-1] == pytest.approx(back, abs=0.02)
            assert (rows["activity"] == "break").sum() == 1


def test_three_units_on_nine_cells_say_why_they_cannot_fill(demo):
    """S01 has 9 cells: at a 45-min gap they hold at most 9 x 120 = 1080 patrol minutes in 8 h,
    less than three units need; the plan says so, and a 30-min gap fills every unit."""
    from planning.patrol.dose_routes import dose_for_workspace
    ws, G, engine = demo
    routes, _ = dose_for_workspace(ws, station="S01", units=3, shift="08:00-16:00", time_limit_s=0.4,
                                   iterations=20, G=G, engine=engine)
    assert routes.plan.problem.max_patrol_min() == pytest.approx(1080.0)
    assert routes.plan.patrol_min.sum() <= 1080.0 + 1e-6
    assert any("at most 1080 patrol minutes" in n for n in routes.notes)
    routes, _ = dose_for_workspace(ws, station="S01", units=3, shift="08:00-16:00", min_gap_min=30,
                                   time_limit_s=0.4, iterations=20, G=G, engine=engine)
    assert routes.plan.share_of_shift.min() >= 0.9 and not routes.notes


def test_cli_json_seed_and_visit_once(tmp_path, capsys):
    from cli import DEMO_WORKSPACE, main
    if not DEMO_WORKSPACE.exists():
        pytest.skip("demo workspace not built")
    assert main(["patrol", str(DEMO_WORKSPACE), "--station", "S01", "--units", "2", "--shift",
                 "08:00-16:00", "--time-limit", "0.5", "--json"]) == 0
    best = json.loads(capsys.readouterr().out)
    assert best["mode"] == "dose" and best["objective_loss_vs_best"] is None
    assert {"dose_top_share", "baseline_top_share"} <= set(best)
    assert all(r["share_of_shift"] >= 0.9 and r["visits"] for r in best["routes"])
    assert {"place", "arrive_min", "depart_min"} <= set(best["routes"][0]["visits"][0])
    out = tmp_path / "dose.gpx"
    assert main(["patrol", str(DEMO_WORKSPACE), "--station", "S01", "--units", "2", "--shift",
                 "08:00-16:00", "--time-limit", "0.5", "--seed", "4", "--json", "--out", str(out)]) == 0
    seeded = json.loads(capsys.readouterr().out)
    assert seeded["objective_loss_vs_best"] is not None and 0 <= seeded["objective_loss_vs_best"] < 0.2
    assert [r["stops"] for r in seeded["routes"]] != [r["stops"] for r in best["routes"]]
    assert out.exists()
    assert main(["patrol", str(DEMO_WORKSPACE), "--station", "S01", "--units", "2", "--shift",
                 "08:00-16:00", "--time-limit", "0.5", "--mode", "visit-once", "--json"]) == 0
    once = json.loads(capsys.readouterr().out)
    assert once["mode"] == "visit-once" and "risk_covered_share" in once
    assert main(["patrol", str(DEMO_WORKSPACE), "--station", "S01", "--units", "2", "--shift",
                 "08:00-16:00", "--dwell-min", "20"]) == 2
    assert "--dwell-min" in capsys.readouterr().err


def test_random_baseline_keeps_the_rules(plans):
    routes, _ = plans["S05", 3, "22:00-06:00"]
    base = solve_random(routes.plan.problem, rng=np.random.default_rng(1))
    assert not base.violations() and base.method == "random"


def test_printable_timetable_escapes_names_and_has_a_page_per_unit(plans):
    from ui.patrol_timetable import timetable_html, unit_timetables
    routes, _ = plans["S01", 2, "08:00-16:00"]
    bad = "<script>alert(1)</script>"
    odd = dataclasses.replace(routes, names=tuple(bad for _ in routes.names), station_name="<b>所</b>")
    page = timetable_html(odd, lang="zh")
    assert "<script>" not in page and "&lt;script&gt;" in page and "<b>所" not in page
    assert page.count("<section>") == 2 and "@page" in page
    tables = unit_timetables(routes, lang="en")
    assert set(tables) == {1, 2}
    assert list(tables[1].columns) == ["Time", "What to do", "Place", "Min"]
    assert set(tables[1]["What to do"]) <= {"Travel", "Patrol", "Wait", "Break (station)", "Return to station"}
    assert (tables[1]["What to do"] == "Patrol").sum() == len(routes.summary()["routes"][0]["visits"])
