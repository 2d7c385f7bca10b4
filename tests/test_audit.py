"""Boundary audit on tiny literal partitions: relation classes, gaps, overlaps, slivers, weights,
different CRSs, same id column names, and bad input through the command line."""
from __future__ import annotations

import json

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point, box

import cli
from geo.audit import audit_partitions
from geo.errors import GridPatrolError, ValidationError

METRIC = "EPSG:32650"
X0, Y0 = 500_000.0, 3_000_000.0  # somewhere sensible in UTM 50N


def b(x0, y0, x1, y1):
    return box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def layer(ids, geoms, col="id", crs=METRIC, **extra):
    return gpd.GeoDataFrame({col: ids, **extra}, geometry=geoms, crs=crs)


def run(police, admin, **kw):
    kw.setdefault("police_id", "id")
    kw.setdefault("admin_id", "id")
    return audit_partitions(police, admin, **kw)


ADMIN2 = layer(["A1", "A2"], [b(0, 0, 100, 100), b(100, 0, 200, 100)])


def test_one_to_one():
    a = run(layer(["P1", "P2"], [b(0, 0, 100, 100), b(100, 0, 200, 100)]), ADMIN2)
    s = a.summary()
    assert s["split_police"] == [] and s["split_admin"] == []
    assert s["classes"] == {"one_to_one": 2, "police_spans_many": 0, "admin_split_among_many": 0,
                            "many_to_many": 0}
    assert s["gaps_m2"] == 0 and s["overlaps_m2"] == 0
    pair = s["pairs"][0]
    assert set(pair) >= {"police", "admin", "area_m2", "share_of_police", "share_of_admin"}
    assert pair["area_m2"] == pytest.approx(10_000) and pair["share_of_police"] == pytest.approx(1.0)


def test_police_spans_many():
    a = run(layer(["P"], [b(0, 0, 200, 100)]), ADMIN2)
    assert a.split_police == ["P"] and a.split_admin == []
    assert a.class_counts()["police_spans_many"] == 2
    assert a.police.loc[0, "relation"] == "police_spans_many"
    assert set(a.admin["relation"]) == {"police_spans_many"}


def test_admin_split_among_many():
    a = run(ADMIN2, layer(["T"], [b(0, 0, 200, 100)]))
    assert a.split_police == [] and a.split_admin == ["T"]
    assert a.class_counts()["admin_split_among_many"] == 2
    assert a.admin.loc[0, "relation"] == "admin_split_among_many"


def test_many_to_many_group():
    # P1 covers A1 and half of A2, P2 the other half of A2: P1 and A2 are both split.
    police = layer(["P1", "P2"], [b(0, 0, 150, 100), b(150, 0, 200, 100)])
    a = run(police, ADMIN2)
    assert a.split_police == ["P1"] and a.split_admin == ["A2"]
    rel = {(r.police, r.admin): r.relation for r in a.pieces.itertuples()}
    assert rel == {("P1", "A1"): "police_spans_many", ("P1", "A2"): "many_to_many",
                   ("P2", "A2"): "admin_split_among_many"}
    assert a.police.set_index("police").loc["P1", "relation"] == "many_to_many"
    assert a.police["group"].nunique() == 1  # one connected group


def test_min_share_threshold():
    police = layer(["P1", "P2"], [b(0, 0, 96, 100), b(96, 0, 200, 100)])
    assert run(police, ADMIN2, sliver_width_m=0).split_admin == []  # A1 holds 4 % in P2
    assert run(police, ADMIN2, min_share=0.03, sliver_width_m=0).split_admin == ["A1"]


def test_gap_and_overlap():
    # P1 and P2 overlap on 90..110; nothing covers 180..200 (a gap inside A2).
    police = layer(["P1", "P2"], [b(0, 0, 110, 100), b(90, 0, 180, 100)])
    a = run(police, ADMIN2)
    assert a.gaps_m2 == pytest.approx(2_000)
    assert a.overlaps_m2 == pytest.approx(2_000)
    gaps = a.defects[a.defects["kind"] == "gap"]
    assert list(gaps["admin"]) == ["A2"] and list(gaps["police"]) == ["P2"]
    over = a.defects[a.defects["kind"] == "overlap"]
    assert set(over["police"]) == {"P1,P2"} and set(over["admin"]) == {"A1", "A2"}
    assert over["rule"].str.contains("two or more").all()


def test_gap_against_a_given_study_area():
    police = layer(["P1", "P2"], [b(0, 0, 100, 100), b(100, 0, 200, 100)])
    area = gpd.GeoDataFrame({"name": ["x"]}, geometry=[b(0, 0, 200, 150)], crs=METRIC)
    a = run(police, ADMIN2, area=area)
    assert a.gaps_m2 == pytest.approx(10_000)


def test_sliver_by_width_and_by_area_is_a_defect_not_a_split():
    # P2 reaches 3 m into A1 along its whole edge (300 m2 > the area rule, but 3 m wide),
    # and with min_share 0.01 that strip would otherwise split A1 (3 %).
    police = layer(["P1", "P2"], [b(0, 0, 97, 100), b(97, 0, 200, 100)])
    a = run(police, ADMIN2, min_share=0.01)
    sl = a.defects[a.defects["kind"] == "sliver"]
    assert list(zip(sl["police"], sl["admin"])) == [("P2", "A1")]
    assert "narrower than 5 m" in sl["rule"].iloc[0]
    assert a.split_admin == []
    # the area rule: a 9 m x 9 m corner bite
    police = layer(["P1", "P2"], [b(0, 0, 100, 100).difference(b(91, 91, 100, 100)),
                                  b(100, 0, 200, 100).union(b(91, 91, 100, 100))])
    a = run(police, ADMIN2, sliver_width_m=0)
    sl = a.defects[a.defects["kind"] == "sliver"]
    assert len(sl) == 1 and "area < 100 m2" in sl["rule"].iloc[0]


def test_population_weight_removes_an_empty_split():
    # By area A1 is split (10 % in P2); nobody lives in that slice.
    police = layer(["P1", "P2"], [b(0, 0, 90, 100), b(90, 0, 200, 100)])
    admin = layer(["A1", "A2"], [b(0, 0, 100, 100), b(100, 0, 200, 100)])
    people = layer(["h1", "h2"], [b(0, 0, 80, 100), b(100, 0, 200, 100)], population=[800, 500])
    assert run(police, admin).split_admin == ["A1"]
    a = run(police, admin, weight="population", population=people, population_col="population")
    assert a.split_admin == []
    assert a.pieces["population"].sum() == pytest.approx(1300)


def test_population_column_of_the_admin_layer_and_severity():
    police = layer(["P1", "P2"], [b(0, 0, 150, 100), b(150, 0, 200, 100)])
    admin = layer(["A1", "A2"], [b(0, 0, 100, 100), b(100, 0, 200, 100)], pop=[100.0, 1000.0])
    a = run(police, admin, weight="population", population_col="pop")
    assert a.split_admin == ["A2"] and a.split_police == ["P1"]
    top = a.severity.iloc[0]
    # P1 holds 100 + 500 people, 100 of them (A1) outside its main counterpart A2.
    assert (top["side"], top["id"]) == ("admin", "A2")
    assert top["minority_population"] == pytest.approx(500)


def test_incident_weight():
    police = layer(["P1", "P2"], [b(0, 0, 90, 100), b(90, 0, 200, 100)])
    pts = gpd.GeoDataFrame(geometry=[Point(X0 + 10, Y0 + 10), Point(X0 + 20, Y0 + 50),
                                     Point(X0 + 95, Y0 + 50)], crs=METRIC)
    a = run(police, ADMIN2, weight="incidents", incidents=pts)
    assert a.split_admin == ["A1"]  # one of three incidents of A1 lies in P2
    assert a.pieces["incidents"].sum() == 3
    a = run(police, ADMIN2, weight="incidents", incidents=pts.iloc[:2])
    assert a.split_admin == []


def test_different_crs_are_reprojected_and_same_id_column_name_works():
    police = layer(["a", "b"], [b(0, 0, 100, 100), b(100, 0, 200, 100)], col="name")
    admin = layer(["x"], [b(0, 0, 200, 100)], col="name").to_crs("EPSG:4326")
    a = audit_partitions(police, admin, police_id="name", admin_id="name")
    assert a.split_admin == ["x"]
    assert a.pieces["area_m2"].sum() == pytest.approx(20_000, rel=1e-3)
    assert any(w.rule == "reprojected" for w in a.warnings)


def test_duplicate_ids_are_parts_of_one_unit():
    police = layer(["P", "P"], [b(0, 0, 100, 100), b(100, 0, 200, 100)])
    a = run(police, ADMIN2)
    assert len(a.police) == 1 and a.split_police == ["P"]
    assert any(w.rule == "dissolved_parts" for w in a.warnings)


def test_inputs_are_untouched():
    police = layer(["P1", "P2"], [b(0, 0, 150, 100), b(150, 0, 200, 100)])
    before = police.copy()
    run(police, ADMIN2)
    assert police.equals(before) and list(police.columns) == ["id", "geometry"]


@pytest.mark.parametrize("make, rule", [
    (lambda: layer(["P"], [Point(X0, Y0)]), "wrong_geometry_type"),
    (lambda: layer([None, "P"], [b(0, 0, 100, 100), b(100, 0, 200, 100)]), "null_ids"),
    (lambda: layer(["P"], [b(0, 0, 200, 100)], crs=None), "no_crs"),
])
def test_bad_police_layer_is_one_validation_error(make, rule, raises_problem):
    with raises_problem(rule):
        run(make(), ADMIN2)


def test_every_problem_of_both_layers_at_once():
    with pytest.raises(ValidationError) as exc:
        audit_partitions(layer(["P"], [Point(X0, Y0)]), ADMIN2, police_id="id", admin_id="nope")
    rules = {p.rule for p in exc.value.problems}
    assert {"wrong_geometry_type", "missing_id_column"} <= rules


def test_layers_that_do_not_overlap():
    far = layer(["P"], [b(50_000, 0, 50_100, 100)])
    with pytest.raises(GridPatrolError, match="do not overlap"):
        run(far, ADMIN2)


def test_bad_options():
    with pytest.raises(GridPatrolError, match="--min-share"):
        run(ADMIN2, ADMIN2, min_share=1.5)
    with pytest.raises(GridPatrolError, match="--population-col"):
        run(ADMIN2, ADMIN2, weight="population")
    with pytest.raises(GridPatrolError, match="--points"):
        run(ADMIN2, ADMIN2, weight="incidents")


# --- command line -------------------------------------------------------------------------------

@pytest.fixture
def files(tmp_path):
    police = layer(["P1", "P2"], [b(0, 0, 150, 100), b(150, 0, 200, 100)], col="name")
    admin = layer(["A1", "A2"], [b(0, 0, 100, 100), b(100, 0, 200, 100)], col="name")
    paths = {"police": tmp_path / "police.geojson", "admin": tmp_path / "admin.gpkg"}
    police.to_file(paths["police"])
    admin.to_crs("EPSG:4326").to_file(paths["admin"], layer="townships")
    points = layer([1], [Point(X0, Y0)])
    points.to_file(tmp_path / "points.geojson")
    line = layer(["L"], [LineString([(X0, Y0), (X0 + 10, Y0)])])
    line.to_file(tmp_path / "line.geojson")
    nulls = layer([None, "Q"], [b(0, 0, 100, 100), b(100, 0, 200, 100)], col="name")
    nulls.to_file(tmp_path / "nulls.geojson")
    nocrs = layer(["P"], [b(0, 0, 200, 100)], col="name", crs=None)
    nocrs.to_file(tmp_path / "nocrs.shp")
    (tmp_path / "prj_removed").mkdir()
    (tmp_path / "notes.txt").write_text("not a layer\n")
    far = layer(["F"], [b(90_000, 0, 90_100, 100)], col="name")
    far.to_file(tmp_path / "far.geojson")
    return tmp_path


def test_cli_json_contract_and_outputs(files, capsys):
    out = files / "out"
    code = cli.main(["audit", str(files / "police.geojson"), f"{files / 'admin.gpkg'}:townships",
                     "--police-id", "name", "--admin-id", "name", "--out", str(out), "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    data = json.loads(captured.out)
    for key in ("police_units", "admin_units", "split_police", "split_admin", "pairs", "classes",
                "gaps_m2", "overlaps_m2"):
        assert key in data
    assert data["split_police"] == ["P1"] and data["split_admin"] == ["A2"]
    assert set(data["classes"]) >= {"one_to_one", "police_spans_many", "admin_split_among_many",
                                    "many_to_many"}
    assert all(isinstance(p["police"], str) for p in data["pairs"])
    names = sorted(p.name for p in out.iterdir())
    assert names == ["audit.gpkg", "audit_map.png", "crosswalk.csv", "report.html", "report.md",
                     "units.csv"]
    assert "P1" in (out / "crosswalk.csv").read_text()
    import pyogrio
    assert {n for n, _ in pyogrio.list_layers(out / "audit.gpkg")} >= {"defects", "split_pieces"}


@pytest.mark.parametrize("police, extra, needle", [
    ("line.geojson", [], "polygon"),
    ("police.geojson", ["--police-id", "nope"], "no id column 'nope'"),
    ("nulls.geojson", [], "have no name"),
    ("notes.txt", [], "notes.txt"),
    ("nocrs.shp", [], "no coordinate reference system"),
    ("far.geojson", [], "do not overlap"),
])
def test_cli_bad_input_exit_2_nothing_written(files, capsys, police, extra, needle):
    out = files / "out_bad"
    args = ["audit", str(files / police), str(files / "admin.gpkg"), "--police-id", "name",
            "--admin-id", "name", "--out", str(out)] + extra
    code = cli.main(args)
    err = capsys.readouterr().err
    assert code == 2
    assert needle in err
    assert "Traceback" not in err
    assert not out.exists()
