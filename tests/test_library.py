"""The workspace library of a data directory: names not paths, roles on the server, nothing lost;
and the command line's writes into a data directory with accounts."""
from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pandas as pd
import pyogrio
import pytest

from geo.errors import InputError
from geo.workspace import append_plan, read_plans, read_workspace
from server.accounts import Account, AccountStore, PermissionDenied
from server.library import Library, library_of, workspace_name

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "boundaries" / "demo_county.gpkg"
VIEWER, PLANNER, ADMIN = Account("v", "viewer"), Account("p", "planner"), Account("a", "admin")


@pytest.fixture
def lib(tmp_path) -> Library:
    lib = Library(tmp_path / "data")
    assert lib.ensure_demo(DEMO) is not None
    return lib


@pytest.mark.parametrize("bad", ["../etc/passwd", "a/b", "..", ".hidden", "x\\y", "a:b", "", "   ",
                                 "<img src=x>", "x" * 81, "nul\x00"])
def test_names_that_could_reach_other_files_are_refused(bad):
    with pytest.raises(InputError, match="`name`"):
        workspace_name(bad)


def test_names_keep_chinese_and_drop_the_suffix():
    assert workspace_name(" 城关县 2026（调整）.gpkg ") == "城关县 2026（调整）"


def test_first_run_copies_the_demo_and_never_writes_the_tracked_file(lib):
    before = DEMO.read_bytes()
    assert lib.names() == ["demo_county"]
    append_plan(lib.path_of("demo_county"), _labels(), name="mine", author="p")
    assert DEMO.read_bytes() == before and lib.ensure_demo(DEMO) is None
    assert library_of(lib.path_of("demo_county")) == lib.data_dir


def _labels() -> pd.DataFrame:
    cells = pyogrio.read_dataframe(DEMO, layer="cells", read_geometry=False, columns=["cell_id", "station_id"])
    return cells[["cell_id", "station_id"]]


def test_roles_are_checked_by_the_library(lib):
    ws = read_workspace(lib.path_of("demo_county"), layers=["area"])
    with pytest.raises(PermissionDenied, match="needs the role planner; v is a viewer"):
        lib.create(ws, "new", account=VIEWER)
    with pytest.raises(PermissionDenied):
        lib.save_as("demo_county", "copy", account=VIEWER)
    with pytest.raises(PermissionDenied):
        lib.rename("demo_county", "other", account=VIEWER)
    with pytest.raises(PermissionDenied, match="needs the role admin; p is a planner"):
        lib.delete("demo_county", account=PLANNER)
    assert lib.names() == ["demo_county"]


def test_create_save_as_rename_delete(lib):
    ws = read_workspace(lib.path_of("demo_county"), layers=["area", "stations"])
    path = lib.create(ws, "县城 A", account=PLANNER)
    assert read_workspace(path).meta["author"] == "p"
    with pytest.raises(InputError, match="already"):
        lib.create(ws, "县城 A", account=PLANNER)
    append_plan(path, _labels().head(3), name="v1", author="p")
    with pytest.raises(InputError, match="holds 1 saved plan"):
        lib.create(ws, "县城 A", account=PLANNER, overwrite=True)
    copy = lib.save_as("县城 A", "县城 B", account=PLANNER)
    assert read_plans(copy)["name"].tolist() == ["v1"]
    moved = lib.rename("县城 B", "县城 C", account=PLANNER)
    assert moved.stem == "县城 C" and not (lib.folder / "县城 B.gpkg").exists()
    with pytest.raises(InputError, match="already"):
        lib.rename("县城 C", "县城 A", account=PLANNER)
    kept = lib.delete("县城 C", account=ADMIN)
    assert kept.parent == lib.trash and read_plans(kept)["name"].tolist() == ["v1"]  # nothing lost
    assert lib.names() == ["demo_county", "县城 A"]
    with pytest.raises(InputError, match="no workspace '../x'|`name`"):
        lib.path_of("../x")


def test_add_file_refuses_what_is_not_a_workspace(lib, tmp_path):
    fake = tmp_path / "passwd.gpkg"
    fake.write_text("root:x:0:0")
    with pytest.raises(InputError, match="not a GeoPackage"):
        lib.add_file(fake, "p", account=PLANNER)
    assert lib.add_file(DEMO, "uploaded", account=PLANNER).exists()


# --- the command line with a data directory ---------------------------------------------------

@pytest.fixture
def data_dir(tmp_path) -> Path:
    data = tmp_path / "data"
    (data / "workspaces").mkdir(parents=True)
    shutil.copyfile(DEMO, data / "workspaces" / "county.gpkg")
    store = AccountStore(data)
    store.add("boss", role="admin", password="admin-pass-1")
    store.add("wang", role="planner", password="planner-pass-1")
    store.add("zhao", role="viewer", password="viewer-pass-1")
    return data


@pytest.fixture(params=["gpkg", "postgis"])
def county(request, data_dir, monkeypatch) -> Path | str:
    """The data directory's workspace ``county``: its GeoPackage, or a copy in PostGIS linked into
    the library (tests/pgcluster.py; the environment's data directory is ``data_dir``)."""
    if request.param == "gpkg":
        return data_dir / "workspaces" / "county.gpkg"
    from tests.pgcluster import workspace_copy_url
    url = workspace_copy_url(request.getfixturevalue("pg_cluster"), DEMO)
    (data_dir / "workspaces" / "county.gpkg").unlink()
    Library(data_dir).add_database(url, "county", account=ADMIN)
    monkeypatch.setenv("GRIDPATROL_DATA", str(data_dir))
    return url


def _redistrict(ws: Path, *extra: str) -> list[str]:
    return ["redistrict", str(ws), "--weight", "population", "--time-limit", "1", "--json", *extra]


def test_cli_save_into_a_data_directory_needs_a_planner(county, capsys, monkeypatch):
    from cli import main
    ws = county
    assert main(_redistrict(ws, "--save-plan", "x")) == 2
    assert "has accounts: give --user" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("viewer-pass-1\n"))
    assert main(_redistrict(ws, "--save-plan", "x", "--user", "zhao", "--password-stdin")) == 2
    err = capsys.readouterr().err
    assert "needs the role planner; zhao is a viewer" in err
    monkeypatch.setattr("sys.stdin", io.StringIO("wrong\n"))
    assert main(_redistrict(ws, "--save-plan", "x", "--user", "wang", "--password-stdin")) == 2
    assert "wrong" in capsys.readouterr().err
    assert read_plans(ws).empty
    monkeypatch.setattr("sys.stdin", io.StringIO("planner-pass-1\n"))
    assert main(_redistrict(ws, "--save-plan", "调整", "--user", "wang", "--password-stdin")) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["author"] == "wang"
    assert read_plans(ws)[["name", "author"]].values.tolist() == [["调整", "wang"]]


def test_cli_without_save_needs_no_login_and_empty_name_is_refused(data_dir, capsys):
    from cli import main
    ws = data_dir / "workspaces" / "county.gpkg"
    assert main(_redistrict(ws)) == 0  # reading and analysing needs no account on the server's shell
    capsys.readouterr()
    assert main(_redistrict(ws, "--save-plan", "  ")) == 2
    assert "--save-plan was empty" in capsys.readouterr().err


def test_cli_import_refuses_to_replace_a_workspace_with_plans(tmp_path, capsys):
    from cli import main
    out = tmp_path / "w.gpkg"
    assert main(["demo", "--out", str(out)]) == 0
    append_plan(out, _labels().head(2), name="keep", author="li")
    capsys.readouterr()
    assert main(["demo", "--out", str(out)]) == 2
    assert "holds 1 saved plan" in capsys.readouterr().err
    assert read_plans(out)["name"].tolist() == ["keep"]
    assert main(["demo", "--out", str(out), "--overwrite"]) == 0
    assert read_plans(out).empty
