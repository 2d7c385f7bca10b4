"""Linking workspaces in PostGIS into a data directory's library (server/dblinks.py): the command
``gridpatrol library list|link|unlink`` and the administrators' form of the app (ui/dblink.py),
against a throw-away cluster (tests/pgcluster.py). Passwords are refused and never shown, the
schema must hold a workspace, only admins link and unlink (checked by the library, not the page).
"""
from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from geo.errors import InputError
from geo.workspace import append_plan, check_workspace, read_plans
from server.accounts import Account, AccountStore, PermissionDenied
from server.dblinks import LinkRefused, database_links, link_database, link_url, without_password
from server.library import Library
from tests.clirun import run_cli
from tests.pgcluster import workspace_copy_url
from ui.i18n import text

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "boundaries" / "demo_county.gpkg"
APP = str(ROOT / "app.py")
VIEWER, PLANNER, ADMIN = Account("v", "viewer"), Account("p", "planner"), Account("a", "admin")
PASSWORD = "correct horse 7"
SECRET = "s3cr3t-Pw"


@pytest.fixture
def url(pg_cluster) -> str:
    """The demo county in a new database of the cluster, with one saved plan: its URL."""
    made = workspace_copy_url(pg_cluster, DEMO)
    import pyogrio
    cells = pyogrio.read_dataframe(DEMO, layer="cells", read_geometry=False, columns=["cell_id", "station_id"])
    append_plan(made, cells[["cell_id", "station_id"]].head(5), name="现状", author="li")
    return made


@pytest.fixture
def data(tmp_path) -> Path:
    """A data directory with a GeoPackage workspace ``county_file`` and no accounts."""
    d = tmp_path / "data"
    (d / "workspaces").mkdir(parents=True)
    shutil.copyfile(DEMO, d / "workspaces" / "county_file.gpkg")
    return d


def _lib(*argv: str, data: Path) -> tuple[int, dict | str, str]:
    code, out, err = run_cli("library", *argv, "--data-dir", str(data), "--json")
    return code, (json.loads(out) if code == 0 else out), err


# --- the command line -------------------------------------------------------------------------------

def test_link_list_unlink(url, data):
    code, out, err = _lib("link", "县城 PostGIS", url, data=data)
    assert code == 0, err
    assert out["linked"] == "县城 PostGIS"
    assert out["links"] == [{"name": "县城 PostGIS", "url": url, "status": "ok", "plans": 1, "detail": ""}]
    link = data / "workspaces" / "县城 PostGIS.pgws"
    assert link.read_text("utf-8") == url + "\n"  # the URL as given, one line
    lib = Library(data)
    assert lib.names() == ["county_file", "县城 PostGIS"]
    assert read_plans(lib.path_of("县城 PostGIS"))["name"].tolist() == ["现状"]
    # list checks each link; --no-check only reads the files
    code, out, err = _lib("list", data=data)
    assert code == 0 and [(s["name"], s["status"], s["plans"]) for s in out["links"]] == [("县城 PostGIS", "ok", 1)]
    code, out, err = _lib("list", "--no-check", data=data)
    assert [(s["status"], s["plans"]) for s in out["links"]] == [("unchecked", None)]
    code, text_out, err = run_cli("library", "list", "--data-dir", str(data))
    assert code == 0 and "1 database workspace(s) linked" in text_out and "ok (1 plans)" in text_out
    # unlink: the link goes to the trash, the schema stays in its database
    code, out, err = _lib("unlink", "县城 PostGIS", data=data)
    assert code == 0, err
    assert out["unlinked"] == "县城 PostGIS" and out["links"] == []
    assert not link.exists() and (data / "trash" / out["kept_as"]).read_text("utf-8") == url + "\n"
    assert check_workspace(url).schema == "ws" and Library(data).names() == ["county_file"]


def test_link_named_after_the_schema_and_names_kept_unique(url, data):
    code, out, err = _lib("link", url, data=data)
    assert code == 0, err
    assert out["linked"] == "ws"
    code, out, err = _lib("link", "ws", url, data=data)
    assert code == 2 and "has a workspace 'ws' already" in err
    code, out, err = _lib("link", "county_file", url, data=data)  # a GeoPackage has that name
    assert code == 2 and "has a workspace 'county_file' already" in err
    code, out, err = _lib("unlink", "county_file", data=data)  # a file is not a link
    assert code == 2 and "not a link" in err
    assert (data / "workspaces" / "county_file.gpkg").is_file()
    code, out, err = _lib("unlink", "nothing", data=data)
    assert code == 2 and "links no database workspace 'nothing'; its links: ws" in err


@pytest.mark.parametrize("spelling", ["user", "query"])
def test_a_url_with_a_password_is_refused_and_never_printed(url, data, spelling):
    bad = (url.replace("gridpatrol@", f"gridpatrol:{SECRET}@") if spelling == "user"
           else url + f"&password={SECRET}")
    for extra in ((), ("--json",)):
        code, out, err = run_cli("library", "link", "x", bad, "--data-dir", str(data), *extra)
        assert code == 2 and SECRET not in out + err
        assert "keeps no passwords" in err and "PGPASSWORD, ~/.pgpass or a pg service file" in err
    assert not list((data / "workspaces").glob("*.pgws"))


def test_what_is_not_a_workspace_is_refused_with_the_fix(pg_cluster, url, data):
    code, out, err = _lib("link", "x", "/etc/passwd", data=data)
    assert code == 2 and "URL was '/etc/passwd', which is not a database URL" in err  # URL: the argument
    code, out, err = _lib("link", "x", url.replace("schema=ws", "schema=nothing_here"), data=data)
    assert code == 2 and "'nothing_here' does not exist" in err and "gridpatrol copy ws.gpkg URL" in err
    db = url.split("/")[-1].split("?")[0]
    pg_cluster.psql("CREATE SCHEMA IF NOT EXISTS foreign_one; CREATE TABLE IF NOT EXISTS foreign_one.t (a int)",
                    dbname=db)
    code, out, err = _lib("link", "x", url.replace("schema=ws", "schema=foreign_one"), data=data)
    assert code == 2 and "holds no GridPatrol workspace" in err and "gridpatrol copy" in err
    closed = url.replace(f":{pg_cluster.port}/", ":1/")  # nothing listens on port 1
    code, out, err = _lib("link", "x", closed, data=data)
    assert code == 2 and "cannot connect to the database" in err
    code, out, err = _lib("link", "x", url.replace("?schema=ws", ""), data=data)
    assert code == 2 and "no schema given" in err
    assert not list((data / "workspaces").glob("*.pgws"))


def test_only_an_admin_links_and_unlinks(url, data, monkeypatch):
    store = AccountStore(data)
    store.add("boss", role="admin", password=PASSWORD)
    store.add("wang", role="planner", password=PASSWORD)
    code, out, err = _lib("link", "c", url, data=data)  # nobody signed in
    assert code == 2 and "has accounts: give --user" in err
    monkeypatch.setenv("GRIDPATROL_PASSWORD", PASSWORD)
    code, out, err = _lib("link", "c", url, "--user", "wang", data=data)
    assert code == 2 and "needs the role admin; wang is a planner" in err
    assert not (data / "workspaces" / "c.pgws").exists()
    monkeypatch.delenv("GRIDPATROL_PASSWORD")
    monkeypatch.setattr("sys.stdin", io.StringIO("wrong password\n"))
    code, out, err = _lib("link", "c", url, "--user", "boss", "--password-stdin", data=data)
    assert code == 2 and not (data / "workspaces" / "c.pgws").exists()
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    code, out, err = _lib("link", "c", url, "--user", "boss", "--password-stdin", data=data)
    assert code == 0 and out["linked"] == "c", err
    code, out, err = _lib("list", data=data)  # listing needs no sign-in
    assert code == 0 and [s["name"] for s in out["links"]] == ["c"]
    monkeypatch.setenv("GRIDPATROL_PASSWORD", PASSWORD)
    code, out, err = _lib("unlink", "c", "--user", "wang", data=data)
    assert code == 2 and "needs the role admin" in err and (data / "workspaces" / "c.pgws").exists()
    code, out, err = _lib("unlink", "c", "--user", "boss", data=data)
    assert code == 0 and out["links"] == []


# --- the library functions ----------------------------------------------------------------------------

def test_the_role_is_checked_before_anything_else(data):
    lib = Library(data)
    unreachable = "postgresql://nobody@127.0.0.1:1/db?schema=ws"
    for who in (VIEWER, PLANNER):  # PermissionDenied, not a connection error: nothing was tried
        with pytest.raises(PermissionDenied, match="needs the role admin"):
            link_database(lib, unreachable, "x", account=who)
        with pytest.raises(PermissionDenied, match="needs the role admin"):
            lib.add_database(unreachable, "x", account=who)
    with pytest.raises(LinkRefused) as refused:
        link_database(lib, unreachable, "x", account=ADMIN)
    assert refused.value.reason == "unreachable"


@pytest.mark.parametrize("given,reason", [
    ("/etc/passwd", "not_url"), ("county_file", "not_url"), ("http://h/db?schema=a", "not_url"),
    ("postgresql://u@h/db", "schema"), ("postgresql://u@h/db?schema=Bad-Name", "schema"),
    (f"postgresql://u:{SECRET}@h/db?schema=a", "password"),
    (f"postgres://u@h/db?schema=a&PASSWORD={SECRET}", "password"),
    (f"postgresql://u@h/db?schema=a&sslpassword={SECRET}", "password"),
    ("postgresql://u@h/db?schema=a&sslrootcert=/etc/shadow", "server_file"),
    ("postgresql://u@h/db?schema=a&passfile=/root/.pgpass", "server_file"),
])
def test_urls_the_app_refuses_before_connecting(given, reason):
    with pytest.raises(LinkRefused) as refused:
        link_url(given, server_files=False)
    assert refused.value.reason == reason
    assert SECRET not in str(refused.value) + refused.value.detail
    assert isinstance(refused.value, InputError)


def test_server_files_are_allowed_on_the_command_line_and_unix_sockets_everywhere():
    assert link_url("postgresql://u@h/db?schema=a&sslrootcert=/etc/ssl/ca.pem").schema == "a"
    assert link_url("postgresql:///gp?host=/var/run/postgresql&schema=b", server_files=False).schema == "b"
    assert link_url("postgresql:///?service=bureau&schema=c", server_files=False).schema == "c"


@pytest.mark.parametrize("given,expected", [
    ("postgresql://u:pw@h:5432/db?schema=a", "postgresql://u@h:5432/db?schema=a"),
    ("postgresql://u:p@ss@h/db?schema=a&password=x&sslmode=require", "postgresql://u@h/db?schema=a&sslmode=require"),
    ("postgres://:pw@h/db?password=1", "postgres://@h/db"),
    ("postgresql://u@h/db?schema=a", "postgresql://u@h/db?schema=a"),
    ("/etc/passwd", "/etc/passwd"),
])
def test_without_password(given, expected):
    assert without_password(given) == expected


def test_a_broken_link_file_is_listed_as_such(data):
    (data / "workspaces" / "odd.pgws").write_text("not a url\n")
    states = database_links(Library(data), check=True)
    assert [(s.name, s.url, s.status) for s in states.values()] == [("odd", None, "bad_url")]


# --- the app ------------------------------------------------------------------------------------------

@pytest.fixture
def app_data(data, monkeypatch) -> Path:
    monkeypatch.setenv("GRIDPATROL_DATA", str(data))
    monkeypatch.setenv("GRIDPATROL_PAGE", "data")
    monkeypatch.delenv("GRIDPATROL_WORKSPACE", raising=False)
    store = AccountStore(data)
    store.add("boss", role="admin", password=PASSWORD)
    store.add("zhao", role="viewer", password=PASSWORD)
    store.add("wang", role="planner", password=PASSWORD)
    return data


def _signed_in(name: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.text_input(key="gp_login_name").set_value(name)
    [pw] = [w for w in at.text_input if w.label in ("密码", "Password")]
    pw.set_value(PASSWORD)
    [submit] = [b for b in at.button if b.label in ("登录", "Sign in")]
    at = submit.click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _link(at: AppTest, given: str, name: str = "") -> AppTest:
    at.text_input(key="gp_db_url").set_value(given)
    at.text_input(key="gp_db_name").set_value(name)
    at = at.button(key="gp_db_link").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.sidebar.error]


def test_an_admin_links_a_database_workspace_in_the_app(url, app_data):
    at = _signed_in("boss")
    assert text("db.title") in [e.label for e in at.sidebar.expander]
    # refusals, in Chinese, nothing written
    at = _link(at, url.replace("gridpatrol@", f"gridpatrol:{SECRET}@"))
    assert _errors(at) == [text("db.err.password")]
    assert at.text_input(key="gp_db_url").value == url  # the password left the field
    at = _link(at, "/etc/passwd")
    assert _errors(at) == [text("db.err.not_url")]
    at = _link(at, url + "&sslrootcert=/etc/shadow")
    assert _errors(at) == [text("db.err.server_file")]
    at = _link(at, url.replace("schema=ws", "schema=not_there"))
    assert _errors(at) == [text("db.err.no_schema")]
    at = _link(at, url, "county_file")
    assert _errors(at) == [text("db.err.name_taken", name="county\\_file")]
    assert not list((app_data / "workspaces").glob("*.pgws"))
    # linked: saved, opened, listed in the library
    at = _link(at, url, "县城库")
    assert not _errors(at)
    assert [s.value for s in at.sidebar.success] == [text("db.linked", name="县城库")]
    assert (app_data / "workspaces" / "县城库.pgws").read_text("utf-8") == url + "\n"
    assert at.selectbox(key="gp_library_pick").value == "县城库"
    assert at.text_input(key="gp_db_url").value == ""
    # unlinked: the link is gone, another workspace is open
    at = at.checkbox(key="gp_db_unlink_sure").check().run()
    at = at.button(key="gp_db_unlink").click().run()
    assert not at.exception and not _errors(at)
    assert not (app_data / "workspaces" / "县城库.pgws").exists()
    assert at.selectbox(key="gp_library_pick").value == "county_file"


def test_the_form_speaks_english(url, app_data, monkeypatch):
    # English throughout (also where AppTest formats the data page's select box, outside the
    # script's session, which would otherwise fall back to Chinese)
    monkeypatch.setattr("ui.i18n.current_language", lambda: "en")
    at = _signed_in("boss")
    assert text("db.title", "en") in [e.label for e in at.sidebar.expander]
    at = _link(at, url.replace("schema=ws", "schema=not_there"))
    assert _errors(at) == [text("db.err.no_schema", "en")]
    at = _link(at, url + "&password=x")
    assert _errors(at) == [text("db.err.password", "en")]


@pytest.mark.parametrize("who", ["zhao", "wang"])
def test_viewers_and_planners_get_no_form(app_data, who):
    at = _signed_in(who)
    assert text("db.title") not in [e.label for e in at.sidebar.expander]
    assert "gp_db_url" not in [w.key for w in at.text_input]


def test_the_form_checks_the_role_again(url, app_data, monkeypatch):
    """A click that reaches the form's action for a planner (the form was drawn for an admin
    demoted since) is refused by server.dblinks and the library, in the interface language."""
    at = _signed_in("boss")
    import ui.login
    monkeypatch.setattr(ui.login, "current_account", lambda: Account("wang", "planner"))
    at = _link(at, url, "x")
    assert at.session_state["gp_db_result"] == ("error", text("err.denied", role=text("login.role.admin")), "")
    assert not (app_data / "workspaces" / "x.pgws").exists()
