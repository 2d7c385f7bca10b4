"""Layered rings (三圈三层): rings from a workspace, entries, closure proof, fewest checkpoints,
seal time with several units per entry and turnout delays (brute force and a HiGHS MIP), CLI."""
from __future__ import annotations

import itertools
import json

import geopandas as gpd
import highspy
import numpy as np
import pytest
import shapely
from pyproj import CRS
from shapely.geometry import box

from cli import main
from geo.errors import InputError
from geo.ring import RingSpec, ring_level, rings_from_workspace
from geo.traveltime import engine_from_graph
from geo.workspace import Workspace
from planning.highs import new_highs
from planning.rings import analyse_rings
from planning.seal import SealInfeasible, seal_from_cost_matrix, seal_from_network
from tests.netutil import METRIC, graph, points

# A square ring 10 km a side. Four roads cross it, one per side (N, S, W, E); inside they meet at
# C (the centre) by 3 km spokes; outside the O nodes are joined in a loop. One more road leaves
# eastwards one way only (I_E -> OE2): a crossing, but no entry. 60 km/h: 1 km = 1 minute.
COORDS = {"ON": (5000, 12000), "OS": (5000, -2000), "OW": (-2000, 5000), "OE": (12000, 5000),
          "OE2": (12000, 7000),
          "IN": (5000, 8000), "IS": (5000, 2000), "IW": (2000, 5000), "IE": (8000, 5000),
          "C": (5000, 5000)}
EDGES = [("ON", "IN"), ("OS", "IS"), ("OW", "IW"), ("OE", "IE"), ("IE", "OE2", True),
         ("IN", "C"), ("IS", "C"), ("IW", "C"), ("IE", "C"),
         ("ON", "OW"), ("OW", "OS"), ("OS", "OE"), ("OE", "ON"), ("OE2", "OE")]
OUTER = box(0, 0, 10000, 10000)
INNER = box(3000, 3000, 7000, 7000)   # nested: the spokes cross it 2 km from C


def _G():
    return graph(COORDS, EDGES)


def _cps(coords: dict):
    return points(coords, id_col="checkpoint_id")


def _crossing(result, u, v):
    c = result.ring.crossings
    a, b = sorted([u, v])
    return c.loc[(c["u"] == a) & (c["v"] == b), "crossing_id"].item()


def test_square_ring_by_hand():
    G = _G()
    # checkpoints on the N and S roads where they cross the ring
    res = analyse_rings(G, None, [RingSpec("outer", "square", OUTER, "test")],
                        checkpoints=_cps({"KN": (5000, 10000), "KS": (5000, 0)}), propose=True).results[0]
    x = {k: _crossing(res, *e) for k, e in {"N": ("ON", "IN"), "S": ("OS", "IS"), "W": ("OW", "IW"),
                                              "E": ("OE", "IE"), "out": ("IE", "OE2")}.items()}
    assert len(res.ring.crossings) == 5
    assert sorted(res.entry_ids) == sorted([x["N"], x["S"], x["W"], x["E"]])   # not the one-way out
    assert sorted(res.covered_entries) == sorted([x["N"], x["S"]])
    assert sorted(res.uncovered_entries) == sorted([x["W"], x["E"]])
    assert not res.ring.closed and res.proposal.count == 2
    assert sorted(map(tuple, res.proposal.sites[["u", "v"]].to_numpy())) == [("IE", "OE"), ("IW", "OW")]
    # the proof that it is open: a road path from outside to inside through no checkpoint
    path = res.witness
    assert path is not None and path[-1] in ("IW", "IE") and path[0] in ("OW", "OE")
    assert not OUTER.contains(shapely.Point(COORDS[path[0]])) and OUTER.contains(shapely.Point(COORDS[path[-1]]))
    # all four checkpointed: closed, nothing to add, no open path
    four = _cps({"KN": (5000, 10000), "KS": (5000, 0), "KW": (0, 5000), "KE": (10000, 5000)})
    res = analyse_rings(G, None, [RingSpec("outer", "square", OUTER, "test")], checkpoints=four,
                        propose=True).results[0]
    assert res.ring.closed and res.witness is None and res.proposal.count == 0
    assert res.uncovered_entries == [] and len(res.covered_entries) == 4
    assert res.summary()["closure"] == {"closed": True, "reason": None, "leaks": [], "open_path": None}
    # a checkpoint 60 m off the W road is beyond the 50 m tolerance: open again, through W
    off = _cps({"KN": (5000, 10000), "KS": (5000, 0), "KW": (0, 5060), "KE": (10000, 5000)})
    res = analyse_rings(G, None, [RingSpec("outer", "square", OUTER, "test")], checkpoints=off,
                        propose=True).results[0]
    assert not res.ring.closed and res.witness == ["OW", "IW"] and res.proposal.count == 1


def test_nested_inner_ring_and_a_junction_checkpoint():
    G = _G()
    specs = [RingSpec("core", "core", box(4000, 4000, 6000, 6000), "test"),
             RingSpec("inner", "inner", INNER, "test"), RingSpec("outer", "outer", OUTER, "test")]
    specs = sorted(specs, key=lambda s: ("outer", "inner", "core").index(s.level))
    one = _cps({"KN": (5000, 10000), "K7": (5000, 7000)})   # outer N, and the inner ring's N spoke
    rings = analyse_rings(G, None, specs, checkpoints=one, propose=True)
    outer, inner, _core = rings.results
    assert [r.spec.level for r in rings.results] == ["outer", "inner", "core"]
    assert len(inner.entry_ids) == 4 and len(inner.covered_entries) == 1
    assert inner.proposal.count == 3 and not inner.ring.closed
    assert inner.witness[-1] == "C"       # the only inside node of the inner ring
    assert outer.proposal.count == 3       # S, W, E
    # one checkpoint at the junction C checks all four spokes: the inner ring is closed
    at_c = _cps({"KC": (5000, 5000)})
    inner = analyse_rings(G, None, [specs[1]], checkpoints=at_c, propose=True).results[0]
    assert inner.ring.closed and inner.proposal.count == 0 and inner.witness is None
    # without it, closing the inner ring takes one new checkpoint per spoke
    bare = analyse_rings(G, None, [specs[1]], propose=True).results[0]
    assert bare.proposal.count == 4 and len(bare.uncovered_entries) == 4
    summary = rings.summary()
    assert summary["levels"] == ["outer", "inner", "core"] and summary["all_closed"] is False


def test_closure_witness_agrees_with_the_min_cut_on_random_checkpoints():
    # second method: the ring is closed exactly when the fewest new checkpoints is 0
    G = _G()
    rng = np.random.default_rng(3)
    spots = {"N": (5000, 10000), "S": (5000, 0), "W": (0, 5000), "E": (10000, 5000),
             "a": (5000, 6500), "b": (5000, 3500), "c": (3500, 5000), "d": (6500, 5000)}
    for _ in range(20):
        keep = [k for k in spots if rng.random() < 0.5]
        cps = _cps({f"K{k}": spots[k] for k in keep}) if keep else None
        for poly in (OUTER, INNER):
            r = analyse_rings(G, None, [RingSpec("outer", "r", poly, "t")], checkpoints=cps,
                              propose=True).results[0]
            assert r.ring.closed == (r.proposal.count == 0) == (r.witness is None), keep


# --- seal with several units per entry and turnout delays ----------------------------------

def _brute(travel, need, delay):
    """Every way of giving each exit its units (each unit once): the least latest arrival."""
    arrive = travel + delay[:, None]
    slots = [j for j, k in enumerate(need) for _ in range(k)]
    best = np.inf
    for perm in itertools.permutations(range(travel.shape[0]), len(slots)):
        # units within one exit are interchangeable: skip orderings that only permute them
        worst = max(arrive[i, j] for i, j in zip(perm, slots))
        best = min(best, worst)
    return best


def _mip(travel, need, delay):
    """min T s.t. each exit j gets need_j units, each unit at most one exit, T >= arrival of
    every pair used (HiGHS)."""
    arrive = travel + delay[:, None]
    n, m = arrive.shape
    pairs = [(i, j) for i in range(n) for j in range(m) if np.isfinite(arrive[i, j])]
    h = new_highs()  # silent, one thread (HiGHS' scheduler is global), as in planning/
    x = [h.addVariable(lb=0, ub=1, type=highspy.HighsVarType.kInteger) for _ in pairs]
    T = h.addVariable(lb=0, ub=highspy.kHighsInf)
    for j in range(m):
        h.addConstr(sum(x[p] for p, (_, jj) in enumerate(pairs) if jj == j) == int(need[j]))
    for i in range(n):
        used = [x[p] for p, (ii, _) in enumerate(pairs) if ii == i]
        if used:
            h.addConstr(sum(used) <= 1)
    for p, (i, j) in enumerate(pairs):
        h.addConstr(T - float(arrive[i, j]) * x[p] >= 0)
    h.minimize(T)
    return h.getSolution().col_value[-1]


def test_seal_several_units_and_turnout_by_hand():
    # units a, b, c, d; exits x (needs 2) and y (needs 1). Turnout a 0, b 5, c 1, d 0.
    travel = np.array([[2.0, 3.0], [1.0, 9.0], [4.0, 4.0], [8.0, 2.0]])
    delay = np.array([0.0, 5.0, 1.0, 0.0])
    # arrivals: a 2/3, b 6/14, c 5/5, d 8/2. y takes d (2); x takes a (2) and c (5): 5.
    seal = seal_from_cost_matrix(travel, unit_ids="abcd", exit_ids="xy", units_needed=[2, 1],
                                 turnout_min=delay)
    assert seal.seal_minutes == 5.0
    got = {(r.exit, r.unit) for r in seal.assignment.itertuples()}
    assert got == {("x", "a"), ("x", "c"), ("y", "d")}
    row = seal.assignment.set_index("unit").loc["c"]
    assert row["minutes"] == 5.0 and row["travel_min"] == 4.0 and row["turnout_min"] == 1.0
    assert seal.summary()["units_needed"] == {"x": 2, "y": 1}
    # without turnout delays b would reach x first (1 min): the seal is then 3 (a to y)
    assert seal_from_cost_matrix(travel, unit_ids="abcd", exit_ids="xy", units_needed=[2, 1]
                                 ).seal_minutes == 2.0  # x <- b (1), a (2); y <- d (2)


def test_seal_matches_brute_force_and_mip():
    rng = np.random.default_rng(14)
    for trial in range(40):
        n_exits = int(rng.integers(1, 4))
        need = rng.integers(1, 3, n_exits)
        n_units = int(need.sum() + rng.integers(0, 3))
        travel = rng.integers(1, 15, size=(n_units, n_exits)).astype(float)
        travel[rng.random(travel.shape) < 0.15] = np.inf
        delay = rng.choice([0.0, 0.5, 1.0, 3.0], n_units)
        brute = _brute(travel, need, delay)
        try:
            seal = seal_from_cost_matrix(travel, unit_ids=range(n_units), exit_ids=range(n_exits),
                                         units_needed=need, turnout_min=delay)
        except SealInfeasible:
            assert brute == np.inf, trial
            continue
        assert seal.seal_minutes == pytest.approx(brute), trial
        a = seal.assignment
        assert a["unit"].is_unique and a["minutes"].max() == pytest.approx(brute)
        assert a.groupby("exit").size().reindex([str(j) for j in range(n_exits)]).tolist() == need.tolist()
        assert np.allclose(a["minutes"], a["travel_min"] + a["turnout_min"])
    # larger than brute force can do: the HiGHS MIP agrees
    for _ in range(5):
        need = rng.integers(1, 4, 6)
        travel = rng.uniform(1, 30, size=(int(need.sum()) + 4, 6)).round(1)
        delay = rng.choice([0.0, 0.5, 1.0, 2.0], travel.shape[0])
        seal = seal_from_cost_matrix(travel, unit_ids=range(travel.shape[0]), exit_ids=range(6),
                                     units_needed=need, turnout_min=delay)
        assert seal.seal_minutes == pytest.approx(_mip(travel, need, delay), abs=1e-6)


def test_seal_infeasible_and_bad_input_explained():
    with pytest.raises(SealInfeasible, match="2 exits need 4 units in all but there are only 3 units"):
        seal_from_cost_matrix(np.ones((3, 2)), unit_ids="abc", exit_ids="xy", units_needed=[2, 2])
    cost = np.array([[1.0, 1.0], [np.inf, 1.0], [np.inf, 1.0]])
    with pytest.raises(SealInfeasible, match=r"need more units than can reach them: x \(1 of 2\)"):
        seal_from_cost_matrix(cost, unit_ids="abc", exit_ids="xy", units_needed=[2, 1])
    with pytest.raises(InputError, match="`units_needed` must be whole numbers >= 1"):
        seal_from_cost_matrix(np.ones((3, 2)), unit_ids="abc", exit_ids="xy", units_needed=[0, 1])
    with pytest.raises(InputError, match="`turnout_min` has 2 values but there are 3 units"):
        seal_from_cost_matrix(np.ones((3, 2)), unit_ids="abc", exit_ids="xy", turnout_min=[1, 2])


def test_seal_from_network_with_columns():
    G = _G()
    units = points({"U1": COORDS["C"], "U2": COORDS["IN"], "U3": COORDS["IS"]}, id_col="unit_id")
    units["turnout_min"] = [0.0, 1.0, 0.5]
    exits = points({"W": COORDS["IW"], "E": COORDS["IE"]}, id_col="exit_id")
    exits["units_needed"] = [2, 1]
    seal = seal_from_network(G, engine_from_graph(G), units, exits, unit_id="unit_id", exit_id="exit_id",
                             units_needed="units_needed", turnout_min="turnout_min")
    # W needs two: U1 (3) and U3 (0.5 + 6); E gets U2 (1 + 6): 7
    assert seal.seal_minutes == pytest.approx(7.0)
    with pytest.raises(InputError, match="`units_needed` was 'k' but the exits have no such column"):
        seal_from_network(G, engine_from_graph(G), units, exits, units_needed="k")


def test_ring_seal_with_two_units_per_entry_and_turnout():
    G = _G()
    cps = _cps({"KN": (5000, 10000), "KS": (5000, 0)})   # W and E stay open
    units = points({"U1": COORDS["C"], "U2": COORDS["IN"], "U3": COORDS["IS"], "U4": COORDS["ON"],
                    "U5": COORDS["IE"]}, id_col="unit_id")
    units["turnout_min"] = [0.0, 1.0, 0.5, 0.0, 4.0]
    spec = RingSpec("outer", "square", OUTER, "test")          # outer: 2 units per entry by default
    r = analyse_rings(G, engine_from_graph(G), [spec], checkpoints=cps, units=units).results[0]
    # by hand (an entry is held at either end of its road): to W/E, U1 3/3, U2 7/7, U3 6.5/6.5,
    # U4 9.9/9.9 (the outside loop), U5 10/4. Four of five units: leaving out U4 costs 7 (U2).
    assert r.seal.seal_minutes == pytest.approx(7.0)
    assert r.summary()["units_needed"] == {r.uncovered_entries[0]: 2, r.uncovered_entries[1]: 2}
    assert set(r.seal.assignment["unit"]) == {"U1", "U2", "U3", "U5"}
    one = analyse_rings(G, engine_from_graph(G), [spec], checkpoints=cps, units=units,
                        units_needed=1).results[0]
    assert one.seal.seal_minutes == pytest.approx(4.0)       # W <- U1 (3), E <- U5 (4)
    few = analyse_rings(G, engine_from_graph(G), [spec], checkpoints=cps, units=units.iloc[:3],
                        units_needed={"outer": 2}).results[0]
    assert few.seal is None and "need 4 units in all but there are only 3" in few.seal_reason
    done = analyse_rings(G, engine_from_graph(G), [spec], units=units, checkpoints=_cps(
        {"KN": (5000, 10000), "KS": (5000, 0), "KW": (0, 5000), "KE": (10000, 5000)})).results[0]
    assert done.seal is None and "every entry has a checkpoint" in done.seal_reason
    assert done.summary()["seal_minutes"] is None


# --- rings from a workspace ----------------------------------------------------------------

def _ws(**layers):
    return Workspace(crs=CRS.from_user_input(METRIC), layers=layers)


def _polys(rows: dict, **cols):
    return gpd.GeoDataFrame({**cols}, geometry=list(rows.values()), crs=METRIC)


def test_rings_layer_ordered_and_named_in_chinese():
    rings = _polys({"c": box(4000, 4000, 6000, 6000), "o": OUTER, "i": INNER},
                   ring=["内圈", "外圈", "中圈"], name=["核心区", "县界", "城区"], units_needed=[1, 3, 1])
    specs = rings_from_workspace(_ws(area=_polys({"a": OUTER})), rings)
    assert [(s.level, s.name, s.units_needed) for s in specs] == [("outer", "县界", 3), ("inner", "城区", 1),
                                                                  ("core", "核心区", 1)]
    assert specs[0].source == "rings layer" and specs[0].polygon.equals(OUTER)
    assert ring_level(" Outer ") == "outer" and ring_level("x") is None
    bad = _polys({"o": OUTER, "x": INNER}, ring=["outer", "middle"])
    with pytest.raises(InputError, match=r"`ring` column holds middle in rows 1; give outer, inner or core"):
        rings_from_workspace(_ws(), bad)


def test_rings_from_checkpoints_hull_else_the_seat_townships():
    cps = gpd.GeoDataFrame({"checkpoint_id": ["K1", "K2", "K3", "K4", "K5"],
                            "ring": ["outer", "inner", "inner", "inner", "inner"]},
                           geometry=[shapely.Point(5000, 10000), shapely.Point(3000, 3000),
                                     shapely.Point(7000, 3000), shapely.Point(7000, 7000),
                                     shapely.Point(3000, 7000)], crs=METRIC)
    specs = rings_from_workspace(_ws(area=_polys({"a": OUTER}), checkpoints=cps), hull_buffer_m=10.0)
    assert [(s.level, s.source) for s in specs] == [("outer", "area"), ("inner", "hull of checkpoints")]
    assert specs[1].polygon.symmetric_difference(INNER.buffer(10.0)).area < 1e-6
    towns = _polys({"t1": box(3000, 3000, 5000, 7000), "t2": box(5000, 3000, 7000, 7000),
                    "t3": box(0, 0, 3000, 3000)}, township_id=["T1", "T2", "T3"], kind=["街道", "街道", "镇"])
    specs = rings_from_workspace(_ws(area=_polys({"a": OUTER}), checkpoints=cps.iloc[:1], townships=towns))
    assert [(s.level, s.source) for s in specs] == [("outer", "area"), ("inner", "townships 街道")]
    assert specs[1].polygon.equals(INNER)


# --- the demo county through the CLI ---------------------------------------------------------

def test_demo_rings_cli_json(capsys):
    from cli import DEMO_WORKSPACE
    assert main(["ring", str(DEMO_WORKSPACE), "--rings", "--propose", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    rings = out["rings"]
    assert out["levels"] == ["outer", "inner", "core"]
    assert [r["name"] for r in rings] == ["县界", "县城城区", "老城核心区"]
    for r in rings:
        assert set(r) >= {"name", "level", "entries", "covered", "uncovered", "closed", "proposal",
                          "seal_minutes", "closure"}
        assert sorted(r["covered"] + r["uncovered"]) == sorted(r["entries"])
        assert r["closed"] == (r["proposal"]["new_checkpoints"] == 0) == (r["closure"]["open_path"] is None)
    outer = rings[0]
    # the same as the single-ring command on the area (the outer ring is the county)
    assert main(["ring", "--network", str(DEMO_WORKSPACE), "--json"]) == 0
    single = json.loads(capsys.readouterr().out)
    inbound = [c for c in single["crossings"] if c["direction"] != "out"]
    assert len(outer["entries"]) == len(inbound) == 32
    assert len(outer["uncovered"]) == sum(not c["covered"] for c in inbound) == 6
    assert outer["proposal"]["new_checkpoints"] == 6
    # the outer ring needs two units at each of its 6 open entries (the rings layer says 2)
    assert set(outer["units_needed"].values()) == {2} and len(outer["units_needed"]) == 6
    assert outer["seal_minutes"] == pytest.approx(20.70, abs=0.01)
    # inner: 36 open entries, more than the 23 stations and posts: explained, not an error
    assert rings[1]["seal_minutes"] is None and "only 23 units" in rings[1]["seal_reason"]
    assert any("cannot be sealed" in w for w in out["warnings"])
    assert rings[2]["seal_minutes"] == pytest.approx(9.34, abs=0.01)


def test_demo_outer_seal_equals_the_mip():
    """The outer ring's seal time on the demo, checked with the HiGHS MIP on the same matrix."""
    from cli import DEMO_WORKSPACE
    from geo.network import graph_from_workspace, snap_points
    from geo.traveltime import minutes_matrix
    from geo.workspace import read_workspace
    from planning.rings import rings_report, units_from_workspace
    ws = read_workspace(DEMO_WORKSPACE)
    G = graph_from_workspace(ws)
    engine = engine_from_graph(G)
    outer = rings_report(ws, G, engine).results[0]
    units = units_from_workspace(ws)
    nodes = snap_points(units, G, id_col="unit_id")["node"].tolist()
    e = outer.entries_sealed
    travel = np.minimum(minutes_matrix(engine, nodes, e["u"].tolist()),
                        minutes_matrix(engine, nodes, e["v"].tolist()))
    mip = _mip(travel, e["units_needed"].to_numpy(), units["turnout_min"].to_numpy(dtype=float))
    assert outer.seal.seal_minutes == pytest.approx(mip, abs=1e-6)


def test_cli_units_needed_wording(capsys):
    from cli import DEMO_WORKSPACE
    assert main(["ring", str(DEMO_WORKSPACE), "--rings", "--units-needed", "outer=two"]) == 2
    assert "--units-needed was 'outer=two'" in capsys.readouterr().err


# --- the coverage page's layered rings -------------------------------------------------------

def test_rings_table_and_map_show_every_ring_and_escape_names():
    from tests._payloads import PAYLOADS, RAW_MARKERS
    from tests._xss import check_map
    from ui import page_coverage as pc
    G = _G()
    specs = [RingSpec("outer", PAYLOADS[0], OUTER, "rings layer"), RingSpec("inner", PAYLOADS[1], INNER, "rings layer")]
    units = points({"U1": COORDS["C"], "U2": COORDS["IN"], "U3": COORDS["IS"], "U4": COORDS["IE"],
                    "U5": COORDS["IW"], "U6": COORDS["ON"]}, id_col="unit_id")
    rings = analyse_rings(G, engine_from_graph(G), specs, checkpoints=_cps({"KN": (5000, 10000)}),
                          units=units, propose=True)
    table = pc.rings_table(rings, "en")
    assert table["Ring"].tolist() == ["Outer", "Inner"]
    assert table["Entries"].tolist() == [4, 4] and table["Without"].tolist() == [3, 4]
    assert table["Fewest new checkpoints"].tolist() == [3, 4]
    assert table["Closed"].tolist() == ["Open", "Open"]
    assert table["Units sent"].tolist() == [6, 4]       # outer: 3 open entries x 2 units; inner 4 x 1
    page = check_map(pc.rings_map(rings, _cps({"KN": (5000, 10000)}), lang="en"), "rings")
    assert not any(mk in page for mk in RAW_MARKERS)
    for colour in (pc.RING_COLOURS["outer"], pc.RING_COLOURS["inner"], pc.UNCOVERED_COLOUR, pc.NEW_COLOUR):
        assert colour in page
    assert page.count("★") + page.count("\\u2605") == 7  # the proposal: 3 + 4 new checkpoints


def test_coverage_page_shows_the_demo_rings_and_proposes(monkeypatch):
    from streamlit.testing.v1 import AppTest

    from cli import DEMO_WORKSPACE, ROOT
    monkeypatch.setenv("GRIDPATROL_WORKSPACE", str(DEMO_WORKSPACE))
    monkeypatch.setenv("GRIDPATROL_PAGE", "coverage")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert "三圈三层：各圈卡口与封控" in [h.value for h in at.subheader]
    table = next(d.value for d in at.dataframe if "圈层" in d.value.columns)
    assert table["名称"].tolist() == ["县界", "县城城区", "老城核心区"]
    assert table["入口"].tolist() == [32, 36, 18] and table["无卡口"].tolist() == [6, 36, 18]
    assert table["封控用时"].tolist()[0] == "20.7 分钟" and table["最少新增卡口"].tolist() == ["—"] * 3
    assert any("县城城区 无法封控" in w.value for w in at.warning)
    at.button(key="gp_cv_rings_propose").click().run()
    assert not at.exception and not at.error
    table = next(d.value for d in at.dataframe if "圈层" in d.value.columns)
    assert table["最少新增卡口"].tolist() == [6, 36, 18]
    assert any("各圈闭合所需的最少新增卡口" in s.value for s in at.success)


def test_briefing_ring_section_lists_every_ring():
    from cli import DEMO_WORKSPACE
    from geo.workspace import read_workspace
    from ui import briefing
    brief = briefing.build_briefing(read_workspace(DEMO_WORKSPACE), lang="en", date="2026-01-15",
                                    sections=["ring"])
    rings = brief.facts["rings"]
    assert [(r["level"], r["name"], r["entries"], r["uncovered"], r["new_checkpoints"]) for r in rings] == [
        ("outer", "县界", 32, 6, 6), ("inner", "县城城区", 36, 36, 36), ("core", "老城核心区", 18, 18, 18)]
    assert rings[0]["seal_minutes"] == pytest.approx(20.70, abs=0.01) and rings[1]["seal_minutes"] is None
    section = next(s for s in brief.sections if s.key == "ring")
    rows = [n for n in section.notes if "entries," in n and "new checkpoints at least" in n]
    assert len(rows) == 3 and rows[0].startswith("Outer “县界”: 32 entries, 26 with a checkpoint, 6 without, open")
    assert "cannot be sealed" in rows[1]
    page = brief.to_html()
    assert "县城城区" in page and "老城核心区" in page


def test_cli_seal_with_units_needed_and_turnout(tmp_path, capsys):
    from geo.network import tables_from_graph
    from tests.netutil import LINE, LINE_EDGES
    nodes, edges = tables_from_graph(graph(LINE, LINE_EDGES))
    net = tmp_path / "net.gpkg"
    nodes.to_file(net, layer="road_nodes")
    edges.to_file(net, layer="road_edges")
    units = points({"uA": LINE["A"], "uC": LINE["C"], "uE": LINE["E"], "uD": LINE["D"]}, id_col="unit_id")
    units["turnout_min"] = [1.0, 0.5, 0.0, 3.0]
    units.to_file(tmp_path / "units.gpkg")
    points({"xB": LINE["B"], "xD": LINE["D"]}, id_col="exit_id").to_file(tmp_path / "exits.gpkg")
    # arrivals (turnout + km): to B uA 2, uC 1.5, uE 3, uD 5; to D uA 4, uC 1.5, uE 1, uD 3.
    # Two units each: B <- uA, uC and D <- uE, uD: 3 min (every split has a 3 or worse).
    code = main(["seal", "--network", str(net), "--units", str(tmp_path / "units.gpkg"), "--exits",
                 str(tmp_path / "exits.gpkg"), "--units-needed", "2", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["seal_minutes"] == pytest.approx(3.0) and out["units_needed"] == {"xB": 2, "xD": 2}
    assert {(a["exit"], a["unit"]) for a in out["assignment"]} == {("xB", "uA"), ("xB", "uC"), ("xD", "uE"),
                                                                  ("xD", "uD")}
    code = main(["seal", "--network", str(net), "--units", str(tmp_path / "units.gpkg"), "--exits",
                 str(tmp_path / "exits.gpkg"), "--units-needed", "3"])
    assert code == 2 and "2 exits need 6 units in all but there are only 4 units" in capsys.readouterr().err
    code = main(["seal", "--network", str(net), "--units", str(tmp_path / "units.gpkg"), "--exits",
                 str(tmp_path / "exits.gpkg"), "--units-needed", "k"])
    assert code == 2 and "--units-needed was 'k' but the exits have no such column" in capsys.readouterr().err


def test_a_ring_holding_the_whole_network_has_no_entries_and_says_why(caplog):
    """A ring around every road node (the Coquimbo upload: the study area holds the whole
    network) has no crossing: no seal, no error, the reason in a warning."""
    G = _G()
    units = points({"U1": COORDS["C"]}, id_col="unit_id")
    spec = RingSpec("outer", "everything", box(-5000, -5000, 20000, 20000), "test")
    with caplog.at_level("WARNING"):
        r = analyse_rings(G, engine_from_graph(G), [spec], checkpoints=_cps({"KN": (5000, 10000)}),
                          units=units, propose=True).results[0]
    assert r.entry_ids == [] and r.covered_entries == [] and r.uncovered_entries == []
    assert r.seal is None and r.summary()["entries"] == [] and "no entries to seal" in r.seal_reason
    assert "no entries to check" in caplog.text
