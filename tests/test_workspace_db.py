"""The workspace used as a database: concurrent plan saves all kept, kills never lose a version,
damaged files refused, temporary files cleaned, draft edit histories replayed, plans listed.

The behaviours both backends share run on a GeoPackage and on a PostGIS schema of a throw-away
cluster (``demo_ws``, ``new_ws``; tests/pgcluster.py); tests/test_pgworkspace.py has the rest of
PostGIS's."""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyogrio
import pytest

from geo.atomic import clean_stale_temps, temp_name_pattern
from geo.errors import InputError
from geo.workspace import (
    append_edit,
    append_plan,
    check_workspace,
    copy_workspace,
    is_workspace,
    latest_draft,
    layers_version,
    plan_count,
    read_edits,
    read_plan_cells,
    read_plans,
    read_workspace,
    write_workspace,
)
from planning.editing import History, history_from_draft, record_step, save_plan, start_draft
from planning.plan import Plan, district_graph
from tests.pgcluster import fresh_url as new_url
from tests.pgcluster import workspace_copy_url

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "boundaries" / "demo_county.gpkg"


@pytest.fixture
def demo_copy(tmp_path) -> Path:
    path = tmp_path / "county.gpkg"
    shutil.copyfile(DEMO, path)
    return path


@pytest.fixture(params=["gpkg", "postgis"])
def demo_ws(request, tmp_path) -> Path | str:
    """The demo county as a GeoPackage copy, or copied into a new PostGIS schema (its URL)."""
    if request.param == "gpkg":
        path = tmp_path / "county.gpkg"
        shutil.copyfile(DEMO, path)
        return path
    return workspace_copy_url(request.getfixturevalue("pg_cluster"), DEMO)


@pytest.fixture(params=["gpkg", "postgis"])
def new_ws(request, tmp_path) -> Path | str:
    """Where to write a new workspace: a GeoPackage path, or a URL of a new PostGIS schema."""
    if request.param == "gpkg":
        return tmp_path / "ws.gpkg"
    return new_url(request.getfixturevalue("pg_cluster"))


def _demo_labels() -> pd.DataFrame:
    cells = pyogrio.read_dataframe(DEMO, layer="cells", read_geometry=False, columns=["cell_id", "station_id"])
    return pd.DataFrame({"cell_id": cells["cell_id"].astype(str), "station_id": cells["station_id"].astype(str)})


def _saver(args) -> int:
    path, i, labels, barrier = args
    barrier.wait(timeout=60)
    return append_plan(path, labels, name=f"plan {i}", author=f"planner{i}")


def test_eight_processes_saving_at_once_keep_all_eight(demo_ws):
    demo_copy = demo_ws
    labels = _demo_labels()
    ctx = mp.get_context("fork")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(8)
        with ctx.Pool(8) as pool:
            ids = pool.map(_saver, [(demo_copy, i, labels, barrier) for i in range(8)])
    assert sorted(ids) == list(range(1, 9))  # distinct ids, none reused
    plans = read_plans(demo_copy)
    assert sorted(plans["name"]) == sorted(f"plan {i}" for i in range(8))
    assert dict(zip(plans["plan_id"].astype(int), plans["author"])) == {
        pid: f"planner{i}" for i, pid in enumerate(ids)}
    cells = read_plan_cells(demo_copy)
    assert cells.groupby("plan_id").size().to_dict() == {pid: len(labels) for pid in range(1, 9)}
    assert read_plan_cells(demo_copy, 3)["station_id"].tolist() == labels["station_id"].tolist()
    # the layers were not rewritten: caches keyed on the layers version stay valid
    assert read_workspace(demo_copy, layers=["cells"]).layer("cells").shape[0] == len(labels)


def test_concurrent_cli_saves_are_all_kept(new_ws):
    """The report of the issue: simultaneous `redistrict --save-plan` runs lost plans."""
    import geopandas as gpd
    import shapely

    from geo.workspace import Workspace
    from tests._grids import grid_cells, stations_at
    cells = grid_cells(4, 2, townships=["A", "A", "B", "B"] * 2)
    cells["station_id"] = ["S0", "S0", "S1", "S1"] * 2
    cells["incidents"] = [5.0, 1, 1, 1, 5, 1, 1, 1]
    area = gpd.GeoDataFrame({"name": ["t"]}, geometry=[shapely.union_all(cells.geometry.values)], crs=cells.crs)
    path = write_workspace(Workspace(crs=cells.crs, meta={"name": "t"}, layers={
        "area": area, "cells": cells, "stations": stations_at(cells, [0, 3])}), new_ws)
    cmd = [sys.executable, "-c", "import sys, cli; sys.exit(cli.main(sys.argv[1:]))"]
    procs = [subprocess.Popen(cmd + ["redistrict", str(path), "--weight", "incidents", "--max-deviation",
                                     "0.5", "--time-limit", "1", "--save-plan", f"run {i}", "--json"],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(4)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [o[1] for o in outs]
    ids = sorted(json.loads(o[0])["plan_id"] for o in outs)
    assert ids == [1, 2, 3, 4]
    assert sorted(read_plans(path)["name"]) == [f"run {i}" for i in range(4)]


_LOOP_SAVER = """
import sys, pandas as pd
from geo.workspace import append_plan, check_workspace
path = sys.argv[1]
labels = pd.read_csv(sys.argv[2], dtype=str)
check_workspace(path)  # imports the database driver, if any, before the clock starts
i = 0
print("ready", flush=True)
while True:
    append_plan(path, labels, name=f"loop {i}", author="killer-test")
    i += 1
"""


def test_kill_during_saves_never_loses_a_version(demo_ws, tmp_path):
    demo_copy = demo_ws
    labels = _demo_labels()
    csv = tmp_path / "labels.csv"
    labels.to_csv(csv, index=False)
    rng = random.Random(11)
    seen = 0
    for round_ in range(6):
        proc = subprocess.Popen([sys.executable, "-c", _LOOP_SAVER, str(demo_copy), str(csv)], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.05, 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        ws_ok = check_workspace(demo_copy)  # rolls back a half-done transaction
        plans = read_plans(ws_ok)
        assert len(plans) >= seen, f"round {round_}: {len(plans)} plans after {seen}"
        seen = len(plans)
        sizes = read_plan_cells(demo_copy).groupby("plan_id").size()
        assert set(sizes.index) == set(plans["plan_id"].astype(int)) and (sizes == len(labels)).all()
        if isinstance(demo_copy, Path):
            assert sorted(p.name for p in demo_copy.parent.iterdir() if p.name.startswith(".")) == []
    assert seen > 0
    assert plan_count(demo_copy) == seen
    assert append_plan(demo_copy, labels, name="after", author="li") == seen + 1  # no lock left


_LOOP_REWRITE = """
import sys
from geo.workspace import read_workspace, write_workspace
ws = read_workspace(sys.argv[1])
print("ready", flush=True)
i = 0
while True:
    write_workspace(ws.with_meta(round=str(i)), sys.argv[2])
    i += 1
"""


def test_kill_during_a_whole_rewrite_leaves_an_intact_workspace_and_cleans_up(tmp_path):
    target = tmp_path / "w.gpkg"
    shutil.copyfile(DEMO, target)
    rng = random.Random(5)
    for _ in range(4):
        proc = subprocess.Popen([sys.executable, "-c", _LOOP_REWRITE, str(DEMO), str(target)], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.2, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        leftovers = [p.name for p in tmp_path.iterdir() if temp_name_pattern().match(p.name)]
        ws = read_workspace(target)  # opening cleans the dead writer's temporary file
        assert len(ws.layer("cells")) == 3199
        assert [p.name for p in tmp_path.iterdir()] == ["w.gpkg"], leftovers


def test_rewrite_refuses_to_replace_a_workspace_with_plans(demo_ws):
    demo_copy = demo_ws
    append_plan(demo_copy, _demo_labels(), name="keep me", author="li")
    ws = read_workspace(demo_copy, layers=["area"])
    with pytest.raises(InputError, match=r"holds 1 saved plan version.*overwrite_plans"):
        write_workspace(ws, demo_copy)
    assert plan_count(demo_copy) == 1


def test_damaged_and_foreign_files_are_refused_with_the_fix(tmp_path, demo_copy):
    data = bytearray(demo_copy.read_bytes())
    for off in range(len(data) // 3, len(data) // 3 + 40_000, 997):  # scribble over pages
        data[off:off + 64] = os.urandom(64)
    bad = tmp_path / "bad.gpkg"
    bad.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"bad.gpkg: the workspace is damaged.*restore it from the backup"):
        read_workspace(bad)
    (tmp_path / "passwd.gpkg").write_text("root:x:0:0:root:/root:/bin/bash\n")
    with pytest.raises(InputError, match="not a GeoPackage") as err:
        read_workspace(tmp_path / "passwd.gpkg")
    assert str(tmp_path) not in str(err.value)  # names the file, not the server's folders
    assert not is_workspace(tmp_path / "passwd.gpkg") and not is_workspace(tmp_path)
    assert is_workspace(demo_copy)


def test_stale_temporaries_of_dead_processes_are_removed_live_ones_kept(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".w.{dead.pid}-0123abcd.tmp.gpkg"
    live = tmp_path / f".w.{os.getpid()}-0123abcd.tmp.gpkg"
    other = tmp_path / ".notes.txt"
    for p in (stale, live, other):
        p.write_text("x")
    removed = clean_stale_temps(tmp_path, stem="w")
    assert removed == [stale] and live.exists() and other.exists()


def test_plan_saves_do_not_change_the_layers_version(demo_ws):
    demo_copy = demo_ws
    before = layers_version(demo_copy)
    append_plan(demo_copy, _demo_labels(), name="a", author="li")
    append_edit(demo_copy, draft="d1", action="start", author="li", payload={"cells": []})
    assert layers_version(demo_copy) == before
    write_workspace(read_workspace(demo_copy, layers=["area", "cells"]), demo_copy, overwrite_plans=True)
    assert layers_version(demo_copy) != before


def test_copy_keeps_plans_and_edits(demo_ws, tmp_path):
    demo_copy = demo_ws
    append_plan(demo_copy, _demo_labels(), name="a", author="li")
    append_edit(demo_copy, draft="d1", action="start", author="li", payload={"cells": [["1", "S01"]]})
    out = copy_workspace(demo_copy, tmp_path / "copy.gpkg")
    assert read_plans(out)["name"].tolist() == ["a"]
    assert read_edits(out, "d1")[0]["payload"] == {"cells": [["1", "S01"]]}
    with pytest.raises(InputError, match="exists already"):
        copy_workspace(demo_copy, out)


def test_plan_tables_are_geopackage_attribute_tables(demo_copy):
    append_plan(demo_copy, _demo_labels(), name="a", author="li")
    layers = dict((str(n), g) for n, g in pyogrio.list_layers(demo_copy))
    assert layers.get("plans", "missing") is None and layers.get("plan_cells", "missing") is None
    con = sqlite3.connect(demo_copy)
    kinds = dict(con.execute("SELECT table_name, data_type FROM gpkg_contents WHERE table_name LIKE 'plan%'"))
    con.close()
    assert kinds == {"plans": "attributes", "plan_cells": "attributes", "plan_edits": "attributes"}


# --- draft histories ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_graph():
    ws = read_workspace(DEMO, layers=["cells", "stations"])
    graph = district_graph(ws.layer("cells"), ws.layer("stations"), weights="population")
    return graph, Plan.from_labels(graph, ws.layer("cells").set_index("cell_id")["station_id"])


def test_a_draft_replays_to_the_same_history(demo_ws, demo_graph):
    demo_copy = demo_ws
    graph, plan = demo_graph
    steps = []
    hist = History.start(plan)
    draft = start_draft(demo_copy, hist, author="li", base="current")

    def step(after: History, action: str) -> History:
        record_step(demo_copy, draft, hist, after, action=action, author="li")
        steps.append(action)
        return after

    hist = step(hist.push(hist.current.moved([graph.cell_ids[5], graph.cell_ids[6]], "S02"), "ids→S02"), "push")
    hist = step(hist.push(hist.current.moved([graph.cell_ids[9]], "S03"), "ids→S03"), "push")
    hist = step(hist.undo(), "undo")
    hist = step(hist.lock([graph.cell_ids[7]]), "lock")
    hist = step(hist.redo(), "redo")
    hist = step(hist.undo(), "undo")
    replayed, n = history_from_draft(demo_copy, draft, graph)
    assert n == len(steps) + 1
    assert replayed.current == hist.current and replayed.past == hist.past and replayed.future == hist.future
    assert replayed.labels == hist.labels and replayed.locked == hist.locked
    assert latest_draft(demo_copy, author="li") == draft and latest_draft(demo_copy, author="wang") is None
    new_id = save_plan(demo_copy, hist.current, name="from draft", author="li", draft=draft,
                       draft_seq=n)
    row = read_plans(demo_copy).set_index("plan_id").loc[new_id]
    assert row["draft"] == draft and int(row["draft_seq"]) == n  # the history is kept with the plan


def test_a_draft_of_other_cells_is_not_replayed(demo_ws, demo_graph):
    demo_copy = demo_ws
    graph, plan = demo_graph
    append_edit(demo_copy, draft="x", action="start", author="li", payload={"cells": [["1", "S01"]]})
    assert history_from_draft(demo_copy, "x", graph) is None
    assert history_from_draft(demo_copy, "unknown", graph) is None


def test_plans_command_lists_versions(demo_ws, capsys):
    demo_copy = demo_ws
    from cli import main
    first = append_plan(demo_copy, _demo_labels(), name="现状", author="li")
    append_plan(demo_copy, _demo_labels(), name="调整", author="wang", parent_id=first)
    assert main(["plans", str(demo_copy), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["plans"]
    assert [(r["plan_id"], r["name"], r["author"], r["parent_id"]) for r in rows] == [
        (1, "现状", "li", None), (2, "调整", "wang", 1)]
    assert all(r["created"] for r in rows)
