"""The analysis commands of the app on the command line: compare, hotspots, align,
redistrict --exact, place-posts --matrix, output suffixes and JSON errors.

Expected values are computed here by other means: direct counts on the workspace's layers, a
brute-force enumeration of post sites and of districts, overlays for the alignment owners.
"""
from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import box

from tests.clirun import run_cli

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "boundaries" / "demo_county.gpkg"
needs_demo = pytest.mark.skipif(not DEMO.exists(), reason="data/boundaries/demo_county.gpkg not generated yet")


def ok_json(*argv: str) -> dict:
    code, out, err = run_cli(*argv, "--json")
    assert code == 0, err
    return json.loads(out)


def json_error(*argv: str, code: int = 2) -> dict:
    """The JSON error a command prints on stderr (nothing on stdout)."""
    got, out, err = run_cli(*argv, "--json")
    assert got == code, err
    assert out == ""
    return json.loads(err)


# --- plans: list and compare -------------------------------------------------------------------

MOVED = {"S01": "S02", "S07": "S06"}  # 5 units of S01 and of S07 move (not the stations' own)


@pytest.fixture(scope="module")
def planned(tmp_path_factory) -> tuple[Path, pd.DataFrame, pd.DataFrame]:
    """A copy of the demo county with one saved plan: today's plan with ten units moved; the
    workspace, its cells and the saved cell -> station table."""
    if not DEMO.exists():
        pytest.skip("data/boundaries/demo_county.gpkg not generated yet")
    from geo.workspace import append_plan
    ws = tmp_path_factory.mktemp("plans") / "demo.gpkg"
    shutil.copyfile(DEMO, ws)
    cells = gpd.read_file(ws, layer="cells")
    cells["cell_id"] = cells["cell_id"].astype(str)
    plan = cells[["cell_id", "station_id"]].copy()
    stations = gpd.read_file(ws, layer="stations")
    home = cells.geometry.intersects(stations.geometry.union_all())  # a station's cell stays
    for src, dst in MOVED.items():
        first = plan.index[(plan["station_id"] == src) & ~home][:5]
        plan.loc[first, "station_id"] = dst
    append_plan(ws, plan, name="ten moved", author="test", note="")
    return ws, cells, plan


def test_plans_lists_the_saved_version(planned):
    ws, _, _ = planned
    plans = ok_json("plans", str(ws))["plans"]
    assert [(p["plan_id"], p["name"], p["author"]) for p in plans] == [(1, "ten moved", "test")]


def test_compare_counts_the_moved_units_and_each_stations_workload(planned, tmp_path):
    ws, cells, plan = planned
    out = tmp_path / "moved.csv"
    got = ok_json("compare", str(ws), "--plan", "ten moved", "--against", "current",
                  "--out", str(out))
    changed = plan["station_id"] != cells["station_id"]
    assert got["cells_moved"] == int(changed.sum()) == 10
    assert sorted(c["cell_id"] for c in got["changed"]) == sorted(cells.loc[changed, "cell_id"])
    assert got["moved"]["population"] == pytest.approx(cells.loc[changed, "population"].sum(), abs=1e-3)
    assert got["moved"]["incidents"] == pytest.approx(cells.loc[changed, "incidents"].sum(), abs=1e-3)
    before, after = cells["station_id"].value_counts(), plan["station_id"].value_counts()
    total = cells["incidents"].sum()  # the default workload: incidents
    for sid, row in got["stations"].items():
        assert row["cells_before"] == before[sid] and row["cells_after"] == after[sid]
        share = cells.loc[plan["station_id"] == sid, "incidents"].sum() / total
        today = cells.loc[cells["station_id"] == sid, "incidents"].sum() / total
        assert row["workload_after"] == pytest.approx(share, abs=1e-6)
        assert row["workload_before"] == pytest.approx(today, abs=1e-6)
        assert row["workload_change"] == pytest.approx(share - today, abs=1e-6)
    written = pd.read_csv(out, dtype=str, encoding="utf-8-sig")
    assert sorted(written["cell_id"]) == sorted(cells.loc[changed, "cell_id"])
    assert set(zip(written["from_station"], written["to_station"])) == set(MOVED.items())


def test_compare_defaults_to_the_latest_plan_and_names_unknown_plans(planned):
    ws, _, _ = planned
    assert ok_json("compare", str(ws))["cells_moved"] == 10
    assert ok_json("compare", str(ws), "--plan", "current", "--against", "1")["cells_moved"] == 10
    err = json_error("compare", str(ws), "--plan", "nope")
    assert "nope" in err["error"] and "1 ten moved" in err["error"] and err["problems"] == []


# --- hotspots ------------------------------------------------------------------------------------

@needs_demo
def test_hotspots_of_a_shift_counted_directly():
    got = ok_json("hotspots", str(DEMO), "--shift", "22:00-06:00", "--station", "S03", "--top", "12")
    cells = gpd.read_file(DEMO, layer="cells")
    inc = gpd.read_file(DEMO, layer="incidents")
    t = pd.to_datetime(inc["time"])
    minute = t.dt.hour * 60 + t.dt.minute
    night = inc[(minute >= 22 * 60) | (minute < 6 * 60)]
    rows = got["hotspots"]
    assert got["shift"] == "22:00-06:00" and len(rows) == got["cells"] == 12
    assert got["significant"] == sum(r["hotspot"] for r in rows) > 0
    assert [r["risk"] for r in rows] == sorted((r["risk"] for r in rows), reverse=True)
    by_id = cells.set_index(cells["cell_id"].astype(str))
    for r in rows:
        assert r["station_id"] == "S03"
        poly = by_id.loc[r["cell_id"], "geometry"]
        assert r["n_incidents"] == int(night.geometry.within(poly).sum())  # none on a border here
        assert r["hotspot"] == (r["gi_z"] > 0 and r["p_fwer"] <= 0.05)


@needs_demo
def test_hotspots_gi_star_matches_the_formula():
    """Gi* of the listed cells from the definition (binary queen weights with the cell itself),
    with x the weighted counts the command lists (every other cell has none)."""
    got = ok_json("hotspots", str(DEMO), "--shift", "08:00-16:00", "--top", "100000",
                  "--permutations", "0")
    cells = gpd.read_file(DEMO, layer="cells")
    ids = cells["cell_id"].astype(str).to_numpy()
    x = pd.Series(0.0, index=ids)
    for r in got["hotspots"]:
        x[r["cell_id"]] = r["weighted"]
    x = x.to_numpy()
    n, mean, s = len(x), x.mean(), x.std()
    geoms = np.asarray(cells.geometry.values)
    tree = shapely.STRtree(geoms)
    for r in got["hotspots"][:5]:
        i = int(np.flatnonzero(ids == r["cell_id"])[0])
        near = tree.query(geoms[i], predicate="intersects")  # queen neighbours and itself
        w = len(near)
        z = (x[near].sum() - mean * w) / (s * np.sqrt((n * w - w * w) / (n - 1)))
        assert r["gi_z"] == pytest.approx(z, rel=1e-4)


# --- alignment proposal --------------------------------------------------------------------------

@needs_demo
def test_align_gives_each_township_the_station_holding_most_of_it(tmp_path):
    police, admin = f"{DEMO}:jurisdictions", f"{DEMO}:townships"
    got = ok_json("align", police, admin, "--out", str(tmp_path / "al"))
    jur = gpd.read_file(DEMO, layer="jurisdictions")
    town = gpd.read_file(DEMO, layer="townships")
    pieces = gpd.overlay(jur[["station_id", "geometry"]], town[["township_id", "geometry"]],
                         keep_geom_type=True)
    pieces["area"] = pieces.area
    owner = pieces.groupby(["township_id", "station_id"])["area"].sum().groupby(level=0).idxmax()
    owners = {r["admin"]: r["owner"] for r in got["owners"]}
    assert owners == {t: s for t, s in owner}
    for m in got["moves"]:
        assert m["to_station"] == owners[m["admin"]] != m["from_station"]
    assert got["pieces_moved"] == len(got["moves"]) > 0
    assert got["split_after"] < got["split_before"] == int((pieces.groupby("township_id").size() > 1).sum())
    moved_in = {s: sum(m["area_m2"] for m in got["moves"] if m["to_station"] == s)
                - sum(m["area_m2"] for m in got["moves"] if m["from_station"] == s)
                for s in jur["station_id"]}
    for w in got["workload"]:
        assert w["area_m2_change"] == pytest.approx(moved_in[w["station"]], abs=1.0)
    written = sorted(p.name for p in (tmp_path / "al").iterdir())
    assert written == ["alignment.gpkg", "alignment_kept.csv", "alignment_moves.csv",
                       "alignment_owners.csv", "alignment_workload.csv"]


@needs_demo
def test_align_keeps_locked_stations_out_of_every_move():
    got = ok_json("align", f"{DEMO}:jurisdictions", f"{DEMO}:townships", "--lock-stations", "S05,S07")
    assert got["moves"] and not any({m["from_station"], m["to_station"]} & {"S05", "S07"}
                                    for m in got["moves"])
    err = json_error("align", f"{DEMO}:jurisdictions", f"{DEMO}:townships", "--lock-stations", "S99")
    assert "S99" in err["error"]


# --- redistrict --exact against brute force ----------------------------------------------------

POP = [100.0, 300.0, 50.0, 700.0, 20.0, 400.0, 250.0, 90.0, 600.0]  # 3 x 3 cells, row by row


@pytest.fixture(scope="module")
def nine_cells(tmp_path_factory) -> Path:
    """A workspace of 3 x 3 cells of 500 m with the populations POP and three stations (in
    cells 0, 5 and 7), without today's jurisdictions."""
    d = tmp_path_factory.mktemp("nine")
    crs = "EPSG:32650"
    boxes = [box(x * 500, y * 500, x * 500 + 500, y * 500 + 500) for y in range(3) for x in range(3)]
    gpd.GeoDataFrame({"name": ["九格"]}, geometry=[box(0, 0, 1500, 1500)], crs=crs).to_file(d / "area.gpkg")
    gpd.GeoDataFrame({"pop": POP}, geometry=boxes, crs=crs).to_file(d / "pop.gpkg")
    centres = [boxes[i].centroid for i in (0, 5, 7)]
    gpd.GeoDataFrame({"sid": ["A", "B", "C"]}, geometry=centres, crs=crs).to_file(d / "st.gpkg")
    ws = d / "ws.gpkg"
    code, _, err = run_cli("import", str(ws), "--area", str(d / "area.gpkg"), "--stations",
                           str(d / "st.gpkg"), "--station-id", "sid", "--attributes",
                           str(d / "pop.gpkg"), "--columns", "pop=population", "--cell-size", "500",
                           "--crs", "32650")
    assert code == 0, err
    return ws


def _best_by_enumeration(cells: gpd.GeoDataFrame, stations: gpd.GeoDataFrame) -> float:
    """The smallest largest |load / mean - 1| over every plan whose districts are connected
    (cells sharing an edge) and hold their station's cell."""
    geoms = list(cells.geometry)
    n = len(geoms)
    adj = {i: {j for j in range(n) if j != i and geoms[i].intersection(geoms[j]).length > 0}
           for i in range(n)}
    home = [next(i for i, g in enumerate(geoms) if g.contains(p)) for p in stations.geometry]
    pop = cells["population"].to_numpy(float)
    mean = pop.sum() / len(home)
    free = [i for i in range(n) if i not in home]

    def connected(members: set[int]) -> bool:
        start = next(iter(members))
        seen, todo = {start}, [start]
        while todo:
            for j in adj[todo.pop()] & members - seen:
                seen.add(j)
                todo.append(j)
        return seen == members

    best = np.inf
    for labels in itertools.product(range(len(home)), repeat=len(free)):
        assign = dict(zip(free, labels)) | {h: k for k, h in enumerate(home)}
        parts = [{i for i in range(n) if assign[i] == k} for k in range(len(home))]
        if all(connected(p) for p in parts):
            best = min(best, max(abs(pop[list(p)].sum() / mean - 1) for p in parts))
    return float(best)


def test_redistrict_exact_matches_enumeration(nine_cells):
    got = ok_json("redistrict", str(nine_cells), "--from", "scratch", "--weight", "population",
                  "--exact")
    cells = gpd.read_file(nine_cells, layer="cells")
    stations = gpd.read_file(nine_cells, layer="stations")
    assert sorted(cells["population"].round(6)) == sorted(POP)
    best = _best_by_enumeration(cells, stations)
    assert got["method"] == "exact" and got["optimal"] and got["status"] == "Optimal"
    assert got["value"] == pytest.approx(best, abs=1e-6)
    assert got["max_workload_deviation"] == pytest.approx(best, abs=1e-6)
    assert got["contiguous"] is True
    assert sum(s["cells"] for s in got["stations"].values()) == 9
    assert best > 0.01  # not a trivially perfect split


def test_redistrict_exact_moved_needs_todays_plan(nine_cells):
    err = json_error("redistrict", str(nine_cells), "--from", "scratch", "--weight", "population",
                     "--exact", "moved")
    assert "station_id" in err["error"]


# --- place-posts from a travel matrix ------------------------------------------------------------

def write_tables(d: Path, pairs: list[tuple[str, str, float]], weights: dict[str, float]) -> tuple[str, str]:
    costs, demand = d / "costs.csv", d / "demand.csv"
    pd.DataFrame(pairs, columns=["candidate_id", "demand_id", "cost"]).to_csv(costs, index=False)
    pd.DataFrame(list(weights.items()), columns=["demand_id", "weight"]).to_csv(demand, index=False)
    return str(costs), str(demand)


# A reaches d1 (10) and d2 (5); B reaches d2 and d3 (7); C reaches d3 and d4 (1); d5 (100) is
# only 9 minutes from A. Within 5 minutes: one post -> A (15 of 123); two -> A and C (23).
HAND = [("A", "d1", 2.0), ("A", "d2", 5.0), ("A", "d5", 9.0), ("B", "d2", 1.0), ("B", "d3", 4.0),
        ("B", "d1", 6.0), ("C", "d3", 3.0), ("C", "d4", 0.0)]
HAND_W = {"d1": 10, "d2": 5, "d3": 7, "d4": 1, "d5": 100}


@pytest.mark.parametrize("k, chosen, weight", [(1, ["A"], 15.0), (2, ["A", "C"], 23.0)])
def test_matrix_max_cover_hand_case(tmp_path, k, chosen, weight):
    costs, demand = write_tables(tmp_path, HAND, HAND_W)
    got = ok_json("place-posts", "--matrix", costs, "--demand", demand, "--minutes", "5",
                  "--posts", str(k))
    assert sorted(got["chosen"]) == chosen and got["status"] == "optimal"
    assert got["after"]["covered_weight"] == weight
    assert got["after"]["covered_share"] == pytest.approx(weight / 123)
    assert got["before"]["covered_weight"] == 0 and got["uncoverable"] == ["d5"]


def test_matrix_open_site_and_set_cover_hand_case(tmp_path):
    costs, demand = write_tables(tmp_path, HAND, HAND_W)
    got = ok_json("place-posts", "--matrix", costs, "--demand", demand, "--minutes", "5",
                  "--posts", "1", "--open", "B")
    assert got["chosen"] == ["A"] and got["before"]["covered_weight"] == 12.0  # B: d2 + d3
    assert got["after"]["covered_weight"] == 22.0 and got["after"]["sites"] == 2
    got = ok_json("place-posts", "--matrix", costs, "--demand", demand, "--minutes", "5",
                  "--model", "set_cover")
    assert sorted(got["chosen"]) == ["A", "C"] and got["after"]["covered_weight"] == 23.0
    assert any("target not met" in w for w in got["warnings"])  # d5: no candidate in time
    got = ok_json("place-posts", "--matrix", costs, "--demand", demand, "--minutes", "9",
                  "--model", "set_cover")
    assert sorted(got["chosen"]) == ["A", "C"] and got["after"]["covered_share"] == 1.0


def test_matrix_max_cover_and_set_cover_equal_brute_force(tmp_path):
    rng = np.random.default_rng(7)
    cands = [f"c{i}" for i in range(9)]
    dems = [f"d{i}" for i in range(14)]
    pairs = [(c, d, float(rng.integers(0, 20))) for c in cands for d in dems if rng.random() < 0.7]
    weights = {d: float(rng.integers(0, 50)) for d in dems}
    costs, demand = write_tables(tmp_path, pairs, weights)
    limit = 6.0
    reach = {c: {d for cc, d, t in pairs if cc == c and t <= limit} for c in cands}

    def covered(sites) -> float:
        hit = set().union(*(reach[c] for c in sites)) if sites else set()
        return sum(weights[d] for d in hit)

    for k in (1, 2, 3):
        best = max(covered(s) for s in itertools.combinations(cands, k))
        got = ok_json("place-posts", "--matrix", costs, "--demand", demand, "--minutes", "6",
                      "--posts", str(k))
        assert len(got["chosen"]) <= k
        assert covered(got["chosen"]) == got["after"]["covered_weight"] == best
        assert got["after"]["covered_share"] == pytest.approx(best / sum(weights.values()))
    need = {d for d in dems if weights[d] > 0} & set().union(*reach.values())
    fewest = next(r for r in range(len(cands) + 1) for s in itertools.combinations(cands, r)
                  if need <= set().union(set(), *(reach[c] for c in s)))
    got = ok_json("place-posts", "--matrix", costs, "--demand", demand, "--minutes", "6",
                  "--model", "set_cover")
    assert len(got["chosen"]) == fewest
    assert need <= set().union(*(reach[c] for c in got["chosen"]))


def test_matrix_bad_files_name_the_file_rows_and_fix(tmp_path):
    costs, demand = write_tables(tmp_path, [("A", "d1", 2.0), ("A", "d9", 3.0), ("B", "d2", -1.0)],
                                 {"d1": 1, "d2": 2})
    err = json_error("place-posts", "--matrix", costs, "--demand", demand, "--posts", "1")
    by_rule = {p["rule"]: p for p in err["problems"]}
    assert set(by_rule) == {"unknown_ids", "negative"}
    assert by_rule["unknown_ids"]["source"] == costs and by_rule["unknown_ids"]["ids"] == ["3"]
    assert "d9" in by_rule["unknown_ids"]["message"] and demand in by_rule["unknown_ids"]["fix"]
    assert by_rule["negative"]["ids"] == ["4"] and "rows: 4" in by_rule["negative"]["text"]
    code, out, text = run_cli("place-posts", "--matrix", costs, "--demand", demand, "--posts", "1")
    assert code == 2 and out == "" and "2 problem(s)" in text and f"{costs} [cost matrix]" in text
    gone = str(tmp_path / "nope.csv")
    err = json_error("place-posts", "--matrix", gone, "--demand", demand, "--posts", "1")
    assert gone in err["error"] and "does not exist" in err["error"]


def test_json_error_for_a_bad_column(tmp_path):
    costs = tmp_path / "costs.csv"
    costs.write_text("cand,demand_id,minutes\nA,d1,3\n", encoding="utf-8")
    demand = tmp_path / "demand.csv"
    demand.write_text("demand_id,weight\nd1,1\n", encoding="utf-8")
    err = json_error("place-posts", "--matrix", str(costs), "--demand", str(demand), "--posts", "1")
    assert set(err) == {"error", "problems", "warnings"}
    assert err["error"] == "1 problem(s) in the input, nothing written"
    (p,) = err["problems"]
    assert p["rule"] == "missing_columns" and p["source"] == str(costs)
    assert "candidate_id, cost" in p["message"] and "cand, demand_id, minutes" in p["message"]
    assert "candidate_id, demand_id, cost" in p["fix"]


def test_json_errors_of_plain_and_usage_errors(tmp_path):
    err = json_error("info", str(tmp_path / "none.gpkg"))
    assert "workspace not found" in err["error"] and err["problems"] == []


def test_json_usage_error(capsys):
    """A usage error ends in argparse's exit 2, as without --json, but says it in JSON."""
    import cli
    with pytest.raises(SystemExit) as stop:
        cli.main(["place-posts", "--posts", "two", "--json"])
    assert stop.value.code == 2
    captured = capsys.readouterr()
    err = json.loads(captured.err)
    assert captured.out == "" and "invalid int value: 'two'" in err["error"]
    assert err["usage"].startswith("usage: gridpatrol place-posts")


# --- output files by suffix ----------------------------------------------------------------------

@needs_demo
@pytest.mark.parametrize("argv, endings", [
    (["brief", str(DEMO)], ".html, .htm or .pdf"),
    (["patrol", str(DEMO), "--station", "S01", "--units", "1", "--shift", "08:00-16:00"],
     ".geojson, .json or .gpx"),
    (["orders", str(DEMO)], ".csv or .xlsx"),
    (["hotspots", str(DEMO)], ".csv, .geojson, .json or .gpkg"),
])
def test_out_suffix_is_checked_alike_before_any_work(tmp_path, argv, endings):
    err = json_error(*argv, "--out", str(tmp_path / "x.docx"))
    assert err["error"].endswith(f"give a path ending in {endings}")
    err = json_error(*argv, "--out", str(tmp_path))
    assert "which is a folder" in err["error"]


@needs_demo
def test_brief_out_pdf_writes_a_pdf(tmp_path):
    out = tmp_path / "b.PDF"
    got = ok_json("brief", str(DEMO), "--out", str(out), "--sections", "jurisdictions")
    assert got["pdf"] == str(out) and "html" not in got
    assert out.read_bytes()[:5] == b"%PDF-"


def test_max_cover_stopped_early_answers_at_least_the_greedy_sites():
    """A search stopped at once still answers with the greedy sites (its first incumbent)."""
    from scipy.sparse import csr_matrix

    from planning.placement import maximal_covering
    rng = np.random.default_rng(3)
    cover = rng.random((400, 80)) < 0.08
    weights = rng.integers(0, 100, 400).astype(float)
    covered, chosen = np.zeros(400, bool), []
    for _ in range(6):  # greedy, written out here
        gain = [weights[cover[:, j] & ~covered].sum() if j not in chosen else -1 for j in range(80)]
        chosen.append(int(np.argmax(gain)))
        covered |= cover[:, chosen[-1]]
    res = maximal_covering(csr_matrix(cover), weights, k=6, time_limit_s=1e-3)
    assert res.status in ("time_limit", "optimal") and len(res.chosen) <= 6
    assert res.objective >= weights[covered].sum()
    assert res.objective == weights[cover[:, res.chosen].any(axis=1)].sum()


@needs_demo
def test_seal_defaults_to_the_workspaces_stations_posts_and_checkpoints(tmp_path):
    """`seal --network WS` seals the checkpoints with the stations and posts, as given by files."""
    cps = gpd.read_file(DEMO, layer="checkpoints").head(8)
    cps.to_file(tmp_path / "exits.gpkg")
    got = ok_json("seal", "--network", str(DEMO), "--exits", str(tmp_path / "exits.gpkg"))
    st = gpd.read_file(DEMO, layer="stations").rename(columns={"station_id": "unit_id"})
    po = gpd.read_file(DEMO, layer="posts").rename(columns={"post_id": "unit_id"})
    units = pd.concat([st[["unit_id", "geometry"]], po[["unit_id", "geometry"]]], ignore_index=True)
    units["turnout_min"] = pd.concat([st.get("turnout_min", pd.Series(0.0, index=st.index)),
                                      po.get("turnout_min", pd.Series(0.0, index=po.index))],
                                     ignore_index=True).fillna(0.0).to_numpy()
    gpd.GeoDataFrame(units, crs=st.crs).to_file(tmp_path / "units.gpkg")
    given = ok_json("seal", "--network", str(DEMO), "--exits", str(tmp_path / "exits.gpkg"),
                    "--units", str(tmp_path / "units.gpkg"))
    assert got["seal_minutes"] == pytest.approx(given["seal_minutes"], abs=1e-9)
    assert sorted((a["exit"], a["unit"]) for a in got["assignment"]) == \
        sorted((a["exit"], a["unit"]) for a in given["assignment"])
    err = json_error("seal", "--network", str(DEMO))  # 26 checkpoints, 23 stations and posts
    assert "26 exits but only 23 units" in err["error"]
