"""Workspaces in PostGIS against a throw-away cluster (tests/pgcluster.py): copies between
GeoPackage and PostGIS lose nothing, the schema is a real PostGIS layout (SRID, GiST indexes),
passwords are never shown, foreign schemas are never overwritten. The behaviours both backends
share (concurrent saves, kills, refusals, drafts) are the parametrized tests of
tests/test_workspace_db.py and tests/test_library.py."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import CRS
from shapely.geometry import LineString, MultiPolygon, Point, box

from geo.errors import InputError
from geo.pgurl import DatabaseURL, database_url, redact
from geo.pgworkspace import read_edit_rows, transfer_workspace
from geo.workspace import (
    Workspace,
    append_edit,
    append_plan,
    check_workspace,
    is_workspace,
    layers_version,
    plan_count,
    read_edits,
    read_plan_cells,
    read_plans,
    read_workspace,
    replace_layers,
    set_meta,
    workspace_info,
    write_workspace,
)
from tests.clirun import import_args, run_cli
from tests.pgcluster import fresh_url, workspace_copy_url

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "boundaries" / "demo_county.gpkg"
# A transverse Mercator without an EPSG code: stored under a user-defined SRID.
CUSTOM_CRS = CRS.from_proj4("+proj=tmerc +lat_0=0 +lon_0=117.25 +k=1 +x_0=500000 +y_0=0 "
                            "+ellps=GRS80 +units=m +no_defs")


def _assert_same_workspace(a: Workspace, b: Workspace, *, edits=None) -> None:
    """Every layer equal (values, dtypes, row order, geometry coordinate for coordinate), the
    CRS and the metadata equal."""
    assert a.crs.equals(b.crs)
    assert dict(a.meta) == dict(b.meta)
    assert list(a.layers) == list(b.layers)
    for name in a.layers:
        fa, fb = a.layers[name], b.layers[name]
        if isinstance(fa, gpd.GeoDataFrame):
            assert isinstance(fb, gpd.GeoDataFrame), name
            ga, gb = fa.geometry.values, fb.geometry.values
            assert (ga.isna() == gb.isna()).all(), name
            present = ~ga.isna()
            assert ga[present].geom_equals_exact(gb[present], tolerance=0).all(), name
            assert list(ga[present].geom_type) == list(gb[present].geom_type), name
            fa, fb = pd.DataFrame(fa.drop(columns=fa.geometry.name)), pd.DataFrame(fb.drop(columns=fb.geometry.name))
        pd.testing.assert_frame_equal(fa.reset_index(drop=True), fb.reset_index(drop=True),
                                      check_dtype=True, obj=name)


def _labels(n: int | None = None) -> pd.DataFrame:
    import pyogrio
    cells = pyogrio.read_dataframe(DEMO, layer="cells", read_geometry=False, columns=["cell_id", "station_id"])
    out = pd.DataFrame({"cell_id": cells["cell_id"].astype(str), "station_id": cells["station_id"].astype(str)})
    return out if n is None else out.head(n)


def _tricky_workspace() -> Workspace:
    """Small layers with what a copy could lose: a CRS without EPSG code, nulls in integer,
    float, date-time and text columns, 16- and 32-bit numbers, Chinese text and quotes, a null
    geometry, mixed polygon types, lines, and a table without geometry."""
    polys = gpd.GeoDataFrame(
        {"unit_id": ["0111", "0112", "0113", "0114"],
         "name": ["城关镇", None, "x'y\"z;--", ""],
         "population": [1200, 0, 35, -4],
         "share": [0.5, np.nan, 1e-12, 3.0],
         "count_or_null": [1.0, np.nan, 3.0, 4.0],
         "flag": [True, False, True, False],
         "officers": np.array([3, 0, -2, 7], dtype="int32"), "floors": np.array([1, 2, 3, 4], dtype="int16"),
         "width_m": np.array([2.5, 0.0, 1.25, 8.0], dtype="float32"),
         "seen": pd.to_datetime(["2026-01-02 03:04:05", None, "2025-12-31 23:59:59", "2026-06-01 00:00:00"])},
        geometry=[box(0, 0, 100, 100), MultiPolygon([box(200, 0, 300, 100), box(400, 0, 500, 50)]),
                  None, box(0.1234567891, 0.5, 1e6 + 0.25, 2.75)], crs=CUSTOM_CRS)
    lines = gpd.GeoDataFrame({"edge_id": [7, 8], "oneway": [True, False]},
                             geometry=[LineString([(0, 0), (10, 10), (20, 5)]), LineString([(1, 1), (2, 2)])],
                             crs=CUSTOM_CRS)
    points = gpd.GeoDataFrame({"station_id": ["S1"]}, geometry=[Point(5.5, 6.25)], crs=CUSTOM_CRS)
    hours = pd.DataFrame({"hour": [0, 1, 2], "share": [0.2, 0.3, 0.5], "label": ["夜", "晨", "日"]})
    return Workspace(crs=CUSTOM_CRS, layers={"area": polys.iloc[[0]].reset_index(drop=True),
                                             "cells": polys, "road_edges": lines, "stations": points,
                                             "hours_profile": hours},
                     meta={"name": "tricky 测试", "cell_size": "500"})


# --- copies ---------------------------------------------------------------------------------------

def test_demo_round_trip_gpkg_postgis_gpkg_loses_nothing(pg_cluster, tmp_path):
    src = tmp_path / "county.gpkg"
    shutil.copyfile(DEMO, src)
    first = append_plan(src, _labels(), name="现状", author="li", note="from the file")
    append_plan(src, _labels().assign(station_id="S01"), name="调整", author="wang", parent_id=first,
                draft="d1", draft_seq=2)
    append_edit(src, draft="d1", action="start", author="wang", payload={"cells": [["1", "S01"]]})
    append_edit(src, draft="d1", action="push", author="wang", label="1→S02", payload=[1, "S02"])
    url = fresh_url(pg_cluster)
    code, out, err = run_cli("copy", str(src), url, "--json")
    assert code == 0, err
    payload = json.loads(out)
    assert payload["plans"] == 2 and payload["edits"] == 2 and payload["crs"] == "EPSG:4547"
    back = tmp_path / "back.gpkg"
    code, out, err = run_cli("copy", url, str(back), "--json")
    assert code == 0, err
    original, in_db, returned = read_workspace(src), read_workspace(url), read_workspace(back)
    _assert_same_workspace(original, in_db)
    _assert_same_workspace(original, returned)
    for where in (url, back):
        pd.testing.assert_frame_equal(read_plans(where), read_plans(src))
        pd.testing.assert_frame_equal(read_plan_cells(where), read_plan_cells(src))
        assert read_edits(where, "d1") == read_edits(src, "d1")
        pd.testing.assert_frame_equal(read_edit_rows(where), read_edit_rows(src))
    assert read_plan_cells(url, 2)["station_id"].unique().tolist() == ["S01"]


def test_tricky_layers_and_a_crs_without_epsg_code_survive_the_round_trip(pg_cluster, tmp_path):
    ws = _tricky_workspace()
    gpkg = write_workspace(ws, tmp_path / "tricky.gpkg")
    url = transfer_workspace(gpkg, fresh_url(pg_cluster))
    back = transfer_workspace(url, tmp_path / "back.gpkg")
    _assert_same_workspace(read_workspace(gpkg), read_workspace(url))
    _assert_same_workspace(read_workspace(gpkg), read_workspace(back))
    direct = read_workspace(write_workspace(ws, fresh_url(pg_cluster)))
    _assert_same_workspace(read_workspace(gpkg), direct)
    # the layers carry a user-defined SRID whose definition is the workspace CRS
    srid = int(pg_cluster.psql(f"SELECT srid FROM geometry_columns WHERE f_table_schema = "
                               f"'{url.schema}' AND f_table_name = 'cells'"))
    assert 910000 <= srid <= 998999
    proj4 = pg_cluster.psql(f"SELECT proj4text FROM spatial_ref_sys WHERE srid = {srid}").strip()
    assert CRS.from_proj4(proj4).equals(CUSTOM_CRS)


def test_copy_refuses_a_destination_with_plans_unless_forced(pg_cluster, tmp_path):
    from tests._apptest import tiny_workspace
    tiny = write_workspace(tiny_workspace(), tmp_path / "tiny.gpkg")
    url = fresh_url(pg_cluster)
    transfer_workspace(tiny, url)
    append_plan(url, _labels(5), name="keep me", author="li")
    code, _, err = run_cli("copy", str(tiny), url)
    assert code == 2 and "holds 1 saved plan version(s)" in err and "--force" in err
    assert read_plans(url)["name"].tolist() == ["keep me"]
    gpkg = tmp_path / "with_plans.gpkg"
    transfer_workspace(url, gpkg)
    code, _, err = run_cli("copy", str(tiny), str(gpkg))
    assert code == 2 and "--force" in err and plan_count(gpkg) == 1
    assert run_cli("copy", str(tiny), url, "--force")[0] == 0
    cells = len(read_workspace(tiny, layers=["cells"]).layer("cells"))
    assert plan_count(url) == 0 and len(read_workspace(url, layers=["cells"]).layer("cells")) == cells
    with pytest.raises(InputError, match="exists already"):
        from geo.workspace import copy_workspace
        copy_workspace(tiny, url)


# --- the PostGIS layout -------------------------------------------------------------------------

def test_layers_are_postgis_tables_with_the_workspace_srid_and_gist_indexes(pg_cluster):
    url = database_url(workspace_copy_url(pg_cluster, DEMO))
    db = url.identity[3]
    rows = pg_cluster.psql(f"SELECT f_table_name, type, srid FROM geometry_columns WHERE "
                           f"f_table_schema = '{url.schema}' ORDER BY 1", dbname=db).split()
    found = {r.split("|")[0]: (r.split("|")[1], int(r.split("|")[2])) for r in rows}
    assert found["cells"] == ("MULTIPOLYGON", 4547) and found["stations"] == ("POINT", 4547)
    assert found["road_edges"] == ("LINESTRING", 4547) and len(found) == 15
    gist = pg_cluster.psql(f"SELECT tablename FROM pg_indexes WHERE schemaname = '{url.schema}' "
                           "AND indexdef LIKE '%USING gist%'", dbname=db).split()
    assert sorted(gist) == sorted(found)
    # a spatial query by the index answers as geopandas does
    n = int(pg_cluster.psql(f"SELECT count(*) FROM {url.schema}.incidents i JOIN {url.schema}.jurisdictions j "
                            "ON ST_Within(i.geom, j.geom) WHERE j.station_id = 'S01'", dbname=db))
    ws = read_workspace(DEMO, layers=["incidents", "jurisdictions"])
    jur = ws.layer("jurisdictions")
    expected = int(ws.layer("incidents").within(jur.loc[jur["station_id"] == "S01"].geometry.iloc[0]).sum())
    assert n == expected > 0
    tables = set(pg_cluster.psql(f"SELECT tablename FROM pg_tables WHERE schemaname = '{url.schema}'",
                                 dbname=db).split())
    assert {"gridpatrol_meta", "gridpatrol_contents"} <= tables


def test_set_meta_and_replace_layers_change_the_layers_version_plan_saves_do_not(pg_cluster):
    url = workspace_copy_url(pg_cluster, DEMO)
    before = layers_version(url)
    append_plan(url, _labels(), name="a", author="li")
    append_edit(url, draft="d", action="start", author="li", payload=None)
    assert layers_version(url) == before
    assert set_meta(url, officers_per_grid="2")["officers_per_grid"] == "2"
    after_meta = layers_version(url)
    assert after_meta != before
    grids = read_workspace(url, layers=["police_grids"]).layer("police_grids")
    replace_layers(url, {"police_grids": grids.head(3)}, author="li")
    ws = read_workspace(url)
    assert len(ws.layer("police_grids")) == 3 and ws.meta["layer_police_grids_by"] == "li"
    assert layers_version(url) != after_meta and plan_count(url) == 1
    with pytest.raises(InputError, match="cannot be replaced"):
        replace_layers(url, {"plans": grids}, author="li")


def test_a_schema_holding_other_tables_is_never_overwritten(pg_cluster):
    pg_cluster.psql("CREATE SCHEMA IF NOT EXISTS theirs; CREATE TABLE IF NOT EXISTS theirs.payroll (x int)")
    target = pg_cluster.url("gridpatrol", "theirs")
    with pytest.raises(InputError, match="holds tables that are not a GridPatrol workspace"):
        transfer_workspace(DEMO, target)
    assert "payroll" in pg_cluster.psql("SELECT tablename FROM pg_tables WHERE schemaname = 'theirs'")
    with pytest.raises(InputError, match="holds no GridPatrol workspace"):
        check_workspace(target)
    assert not is_workspace(target) and plan_count(target) == 0
    with pytest.raises(InputError, match="does not exist"):
        read_workspace(pg_cluster.url("gridpatrol", "nowhere"))
    # PostGIS's own tables (public.spatial_ref_sys) keep public out of reach too
    with pytest.raises(InputError, match="not a GridPatrol workspace"):
        transfer_workspace(DEMO, pg_cluster.url("gridpatrol", "public"))


@pytest.mark.parametrize("bad, match", [
    ("postgresql://u@h/db", "no schema given"),
    ("postgresql://u@h/db?schema=Mixed", "lower-case"),
    ("postgresql://u@h/db?schema=pg_catalog", "lower-case"),
    ("postgresql://u@h/db?schema=a;drop", "lower-case"),
    ("postgresql://u:hunter2@h/db?schema=1x", "lower-case")])
def test_bad_urls_are_refused_with_the_fix(bad, match):
    with pytest.raises(InputError, match=match) as err:
        database_url(bad)
    assert "hunter2" not in str(err.value)


# --- passwords are never shown --------------------------------------------------------------------

def test_passwords_are_never_printed(pg_cluster, tmp_path, caplog):
    from tests._apptest import tiny_workspace
    tiny = write_workspace(tiny_workspace(), tmp_path / "tiny.gpkg")
    secret = "Sekr3t-pass"
    url = fresh_url(pg_cluster).replace("gridpatrol@", f"gridpatrol:{secret}@")
    parsed = database_url(url)
    assert secret not in str(parsed) and secret not in repr(parsed) and parsed.password == secret
    assert "***" in str(parsed) and parsed.name == parsed.schema
    with pytest.raises(TypeError):
        Path(parsed)
    caplog.set_level("DEBUG")
    outputs = [run_cli("copy", str(tiny), url, "--json"), run_cli("info", url), run_cli("info", url, "--json"),
               run_cli("plans", url), run_cli("copy", str(tiny), url),  # no plans there: replaced
               run_cli("info", url.replace(f"{pg_cluster.port}", "1")),  # connection refused
               run_cli("info", url.replace("schema=", "schema=missing_"))]
    assert outputs[0][0] == 0 and outputs[1][0] == 0 and outputs[5][0] == 2 and outputs[6][0] == 2
    for code, out, err in outputs:
        assert secret not in out and secret not in err
    assert "gridpatrol:***@" in outputs[1][1]
    assert json.loads(outputs[2][1])["path"].startswith("postgresql://gridpatrol:***@")
    assert secret not in caplog.text
    ws = read_workspace(url, layers=["area"])
    assert secret not in str(ws.path) and secret not in repr(ws) and secret not in json.dumps(workspace_info(ws))
    assert redact(f"x password={secret} y") == "x password=*** y"


def test_credentials_from_the_environment_and_a_service_file(pg_cluster, tmp_path, monkeypatch):
    url = database_url(workspace_copy_url(pg_cluster, DEMO))
    db = url.identity[3]
    service = tmp_path / "pg_service.conf"
    service.write_text(f"[county]\nhost={pg_cluster.socket_dir}\nport={pg_cluster.port}\n"
                       f"user={pg_cluster.user}\ndbname={db}\n")
    monkeypatch.setenv("PGSERVICEFILE", str(service))
    by_service = f"postgresql:///?service=county&schema={url.schema}"
    assert len(read_workspace(by_service, layers=["stations"]).layer("stations")) == 11
    monkeypatch.setenv("PGHOST", str(pg_cluster.socket_dir))
    monkeypatch.setenv("PGPORT", str(pg_cluster.port))
    monkeypatch.setenv("PGUSER", pg_cluster.user)
    assert plan_count(f"postgresql:///{db}?schema={url.schema}") == 0
    assert is_workspace(f"postgresql:///{db}?schema={url.schema}")
    assert isinstance(check_workspace(by_service), DatabaseURL)


# --- several planners at once, the library and the app ---------------------------------------------

@pytest.mark.parametrize("backend", ["gpkg", "postgis"])
def test_threads_saving_and_editing_at_once_keep_every_row(backend, request, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    if backend == "gpkg":
        where = tmp_path / "county.gpkg"
        shutil.copyfile(DEMO, where)
    else:
        where = workspace_copy_url(request.getfixturevalue("pg_cluster"), DEMO)
    labels = _labels(50)

    def work(i: int) -> tuple[int, int]:
        pid = append_plan(where, labels, name=f"t{i}", author=f"p{i}")
        return pid, append_edit(where, draft="shared", action="push", author=f"p{i}", payload=i)

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(work, range(12)))
    assert sorted(p for p, _ in results) == list(range(1, 13))
    assert sorted(s for _, s in results) == list(range(1, 13))  # one draft, twelve distinct steps
    plans = read_plans(where)
    assert dict(zip(plans["plan_id"].astype(int), plans["author"])) == {p: f"p{i}" for i, (p, _) in enumerate(results)}
    assert read_plan_cells(where).groupby("plan_id").size().to_dict() == {p: 50 for p in range(1, 13)}
    assert sorted(e["payload"] for e in read_edits(where, "shared")) == list(range(12))


def test_a_library_links_a_postgis_workspace_under_roles(pg_cluster, tmp_path):
    from server.accounts import Account, PermissionDenied
    from server.library import Library
    url = workspace_copy_url(pg_cluster, DEMO)
    append_plan(url, _labels(5), name="v1", author="li")
    lib = Library(tmp_path / "data")
    viewer, planner, admin = Account("v", "viewer"), Account("p", "planner"), Account("a", "admin")
    with pytest.raises(PermissionDenied, match="needs the role admin; p is a planner"):
        lib.add_database(url, "县城库", account=planner)
    with pytest.raises(InputError, match="keeps no passwords"):
        lib.add_database(url.replace("gridpatrol@", "gridpatrol:pw@"), "县城库", account=admin)
    with pytest.raises(InputError, match="does not exist"):
        lib.add_database(database_url(url).with_schema("nothing_here"), "x", account=admin)
    link = lib.add_database(url, "县城库", account=admin)
    assert link.read_text().strip() == url
    [entry] = lib.entries()
    assert (entry.name, entry.plans, entry.path) == ("县城库", 1, database_url(url))
    assert lib.path_of("县城库") == database_url(url) and lib.exists("县城库")
    with pytest.raises(PermissionDenied):
        lib.save_as("县城库", "copy", account=viewer)
    copy = lib.save_as("县城库", "县城副本", account=planner)  # into a GeoPackage of the library
    assert read_plans(copy)["name"].tolist() == ["v1"]
    moved = lib.rename("县城库", "县城库2", account=planner)
    assert moved.suffix == ".pgws" and lib.names() == ["县城副本", "县城库2"]
    with pytest.raises(InputError, match="already"):
        lib.create(read_workspace(DEMO, layers=["area"]), "县城库2", account=planner)
    kept = lib.delete("县城库2", account=admin)
    assert kept.parent == lib.trash and kept.suffix == ".pgws"
    assert plan_count(url) == 1  # the link went to the trash; the schema is untouched


def test_every_page_renders_on_a_postgis_workspace(pg_cluster, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from tests._apptest import APP, tiny_workspace
    from ui.i18n import text
    from ui.pages import PAGES
    url = write_workspace(tiny_workspace(), fresh_url(pg_cluster))
    monkeypatch.setenv("GRIDPATROL_WORKSPACE", str(url))
    for spec in PAGES:
        monkeypatch.setenv("GRIDPATROL_PAGE", spec.url_path)
        at = AppTest.from_file(APP, default_timeout=120).run()
        assert not at.exception, (spec.url_path, [e.value for e in at.exception])
        assert not at.error, (spec.url_path, [e.value for e in at.error])
        assert text(spec.title_key, "zh") in [h.value for h in at.header], spec


def test_audit_of_postgis_layers_equals_the_geopackage_audit(pg_cluster):
    url = workspace_copy_url(pg_cluster, DEMO)
    results = []
    for where in (str(DEMO), url):
        code, out, err = run_cli("audit", f"{where}:police_grids", f"{where}:gov_grids", "--json")
        assert code == 0, err
        payload = json.loads(out)
        results.append({k: payload[k] for k in ("police_units", "admin_units", "split_police",
                                                "split_admin", "classes", "gaps_m2", "slivers")})
    assert results[0] == results[1] and results[0]["police_units"] == 57
    code, _, err = run_cli("audit", url, f"{url}:gov_grids", "--police-id", "pgrid_id")
    assert code == 2 and "name the layer" in err


_LOOP_REWRITE = """
import sys
from geo.workspace import read_workspace, write_workspace
ws = read_workspace(sys.argv[1])
write_workspace(ws, sys.argv[2], overwrite_plans=True)
print("ready", flush=True)
i = 0
while True:
    write_workspace(ws.with_meta(round=str(i)), sys.argv[2], overwrite_plans=True)
    i += 1
"""


def test_kill_during_a_whole_rewrite_leaves_the_schema_intact(pg_cluster):
    import random
    import signal
    import subprocess
    import sys
    import time
    url = fresh_url(pg_cluster)
    rng = random.Random(3)
    for _ in range(2):
        proc = subprocess.Popen([sys.executable, "-c", _LOOP_REWRITE, str(DEMO), url], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        time.sleep(rng.uniform(0.1, 1.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        ws = read_workspace(url)  # the last committed rewrite, whole
        assert len(ws.layer("cells")) == 3199 and len(ws.layer("incidents")) == 30000
        assert append_plan(url, _labels(3), name="after", author="li") == 1  # no lock left behind
        write_workspace(ws, url, overwrite_plans=True)  # the next round starts without plans


def test_import_into_postgis_builds_what_a_geopackage_import_builds(pg_cluster, inputs, tmp_path):
    url = fresh_url(pg_cluster)
    code, out, err = run_cli(*import_args(inputs, url), "--json")
    assert code == 0, err
    assert json.loads(out)["layers"] == {"area": 1, "townships": 2, "stations": 2, "jurisdictions": 2, "cells": 8}
    assert run_cli(*import_args(inputs, tmp_path / "ws.gpkg"))[0] == 0
    in_db, in_file = read_workspace(url), read_workspace(tmp_path / "ws.gpkg")
    _assert_same_workspace(in_file.with_meta(created=in_db.meta["created"]), in_db)
    assert in_db.meta["author"] and in_db.layer("cells")["population"].sum() == pytest.approx(4000, rel=1e-6)
