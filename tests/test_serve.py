"""`gridpatrol user` and `gridpatrol serve`: accounts from the command line, the host check, the
Streamlit command line, and a real server that asks for a sign-in in a real browser."""
from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

import cli
from server.accounts import AccountStore
from server.serve import check_host, is_loopback, serve_argv

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "boundaries" / "demo_county.gpkg"
PASSWORD = "correct horse 7"


def run(capsys, monkeypatch, *argv: str, stdin: str | None = None) -> tuple[int, str, str]:
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --- gridpatrol user -----------------------------------------------------------------------------

def test_user_add_list_passwd_role_remove(tmp_path, capsys, monkeypatch):
    d = str(tmp_path / "data")
    code, out, err = run(capsys, monkeypatch, "user", "add", "张三", "--role", "admin",
                         "--password-stdin", "--data-dir", d, "--json", stdin=PASSWORD + "\n")
    assert code == 0, err
    assert json.loads(out)["users"] == [{"name": "张三", "role": "admin"}]
    assert PASSWORD not in out + err
    code, out, err = run(capsys, monkeypatch, "user", "add", "bob", "--role", "viewer",
                         "--password-stdin", "--data-dir", d, stdin=PASSWORD + "x\n")
    assert code == 0 and "added bob (viewer)" in out
    code, out, _ = run(capsys, monkeypatch, "user", "list", "--data-dir", d, "--json")
    assert json.loads(out)["users"] == [{"name": "bob", "role": "viewer"}, {"name": "张三", "role": "admin"}]
    store = AccountStore(Path(d))
    assert store.authenticate("bob", PASSWORD + "x").role == "viewer"
    code, _, err = run(capsys, monkeypatch, "user", "passwd", "bob", "--password-stdin", "--data-dir", d,
                       stdin="new password 1\r\n")
    assert code == 0, err
    assert store.authenticate("bob", "new password 1").name == "bob"
    code, out, _ = run(capsys, monkeypatch, "user", "role", "bob", "--role", "planner", "--data-dir", d, "--json")
    assert code == 0 and {"name": "bob", "role": "planner"} in json.loads(out)["users"]
    code, _, err = run(capsys, monkeypatch, "user", "remove", "张三", "--data-dir", d)
    assert code == 2 and "last admin" in err and "Traceback" not in err
    code, out, _ = run(capsys, monkeypatch, "user", "remove", "bob", "--data-dir", d, "--json")
    assert code == 0 and json.loads(out)["users"] == [{"name": "张三", "role": "admin"}]


def test_user_errors_exit_2_with_the_fix(tmp_path, capsys, monkeypatch):
    d = str(tmp_path / "data")
    code, _, err = run(capsys, monkeypatch, "user", "add", "bob", "--role", "boss", "--password-stdin",
                       "--data-dir", d, stdin=PASSWORD + "\n")
    assert code == 2 and "--role was 'boss' but is expected to be one of viewer, planner, admin" in err
    code, _, err = run(capsys, monkeypatch, "user", "add", "bob", "--role", "viewer", "--password-stdin",
                       "--data-dir", d, stdin="short\n")
    assert code == 2 and "at least 8" in err and "short" not in err
    code, _, err = run(capsys, monkeypatch, "user", "add", "a b", "--role", "viewer", "--password-stdin",
                       "--data-dir", d, stdin=PASSWORD + "\n")
    assert code == 2 and "`name` was 'a b'" in err
    # No --password-stdin and no terminal: told how to give the password.
    code, _, err = run(capsys, monkeypatch, "user", "add", "bob", "--role", "viewer", "--data-dir", d,
                       stdin="")
    assert code == 2 and "--password-stdin" in err
    code, _, err = run(capsys, monkeypatch, "user", "remove", "--data-dir", d)
    assert code == 2 and "needs NAME" in err
    assert not (tmp_path / "data" / "accounts.sqlite").exists()


def test_user_add_through_the_installed_command(tmp_path):
    d = tmp_path / "data"
    done = subprocess.run([sys.executable, str(ROOT / "cli.py"), "user", "add", "alice", "--role",
                           "planner", "--password-stdin", "--data-dir", str(d), "--json"],
                          input=PASSWORD + "\n", capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["users"] == [{"name": "alice", "role": "planner"}]
    assert payload["added"] == "alice" and payload["data_dir"] == str(d)


# --- gridpatrol serve ----------------------------------------------------------------------------

@pytest.mark.parametrize("host,loopback", [("127.0.0.1", True), ("127.8.0.1", True), ("::1", True),
                                           ("[::1]", True), ("localhost", True), ("LocalHost", True),
                                           ("0.0.0.0", False), ("::", False), ("", False),
                                           ("10.1.2.3", False), ("gridpatrol.bureau", False)])
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_check_host_needs_an_admin_for_other_machines(tmp_path):
    store = AccountStore(tmp_path)
    check_host("127.0.0.1", store)
    with pytest.raises(Exception,
                       match=r"`host` was '0.0.0.0'.*no admin account.*gridpatrol user add NAME --role admin"):
        check_host("0.0.0.0", store)
    store.add("viewer1", role="viewer", password=PASSWORD)
    with pytest.raises(Exception, match="no admin account"):
        check_host("10.0.0.5", store)
    store.add("root", role="admin", password=PASSWORD)
    check_host("0.0.0.0", store)


def test_serve_on_all_interfaces_without_an_admin_starts_nothing(tmp_path, capsys, monkeypatch):
    started = []
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: started.append(a))
    d = tmp_path / "data"
    code, out, err = run(capsys, monkeypatch, "serve", "--host", "0.0.0.0", "--data-dir", str(d))
    assert code == 2 and "no admin account" in err and "Traceback" not in err
    assert started == [] and not d.exists()
    code, _, err = run(capsys, monkeypatch, "serve", "--port", "70000", "--data-dir", str(d))
    assert code == 2 and "--port was 70000" in err and started == []


def test_serve_argv(tmp_path):
    argv = serve_argv(data_dir=tmp_path / "d", host="127.0.0.1", port=8600, workspace=tmp_path / "w.gpkg")
    assert argv[:5] == [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py")]
    options = dict(zip(argv[5:argv.index("--"):2], argv[6:argv.index("--"):2]))
    assert options == {"--server.address": "127.0.0.1", "--server.port": "8600",
                       "--server.headless": "true", "--browser.gatherUsageStats": "false",
                       "--server.fileWatcherType": "none", "--client.toolbarMode": "minimal",
                       "--client.showErrorDetails": "none", "--server.maxUploadSize": "200"}
    assert argv[argv.index("--"):] == ["--", "--data-dir", str(tmp_path / "d"), "--workspace",
                                       str(tmp_path / "w.gpkg")]
    assert "--workspace" not in serve_argv(data_dir=tmp_path, host="::1", port=1, workspace=None)


def test_serve_runs_streamlit_and_returns_its_exit_code(tmp_path, capsys, monkeypatch):
    seen = {}

    class FakeProcess:
        def __init__(self, argv, env):
            seen.update(argv=argv, env=env)

        def wait(self):
            return 3

        def poll(self):
            return 3

    monkeypatch.setattr(subprocess, "Popen", FakeProcess)
    d = tmp_path / "data"
    code, out, err = run(capsys, monkeypatch, "serve", "--data-dir", str(d), "--port", "8765", "--json")
    assert code == 3
    assert "http://127.0.0.1:8765" in err and json.loads(out)["url"] == "http://127.0.0.1:8765"
    assert d.is_dir() and seen["argv"][-2:] == ["--data-dir", str(d)]
    assert seen["env"]["GRIDPATROL_DATA"] == str(d)


# --- a real server in a real browser -------------------------------------------------------------

def test_served_app_asks_for_a_sign_in_in_a_browser(tmp_path):
    from bench.bench_map import browser, free_port, wait_healthy
    from ui.i18n import text

    workspace = tmp_path / "county.gpkg"
    shutil.copyfile(DEMO, workspace)
    d = tmp_path / "data"
    AccountStore(d).add("planner1", role="planner", password=PASSWORD)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(tmp_path / "serve.log", "wb")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDPATROL_")}
    proc = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "serve", "--data-dir", str(d),
                             "--port", str(port), "--workspace", str(workspace)],
                            cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        wait_healthy(url, proc, timeout_s=120.0, log=tmp_path / "serve.log")
        try:
            ctx_manager = browser()
            ctx = ctx_manager.__enter__()
        except RuntimeError as exc:  # Chromium or Playwright missing: fail with the fix
            pytest.fail(str(exc))
        try:
            page = ctx.new_page()
            page.goto(f"{url}/coverage")  # a link to a page, opened before signing in
            name = page.get_by_label(text("login.name", "zh"))
            name.wait_for(timeout=120_000)
            assert page.locator("[data-testid='stSidebarNav']").count() == 0
            assert page.locator("h1, h2").filter(has_text=text("page.overview", "zh")).count() == 0
            name.fill("planner1")
            page.get_by_label(text("login.password", "zh")).fill("wrong password")
            page.get_by_role("button", name=text("login.submit", "zh")).click()
            page.get_by_text(text("login.failed", "zh")).wait_for(timeout=60_000)
            assert page.locator("[data-testid='stSidebarNav']").count() == 0
            page.get_by_label(text("login.password", "zh")).fill(PASSWORD)
            page.get_by_role("button", name=text("login.submit", "zh")).click()
            heading = page.locator("h1, h2").filter(has_text=text("page.coverage", "zh")).first
            heading.wait_for(timeout=120_000)  # the linked page, not the overview
            sidebar = page.locator("[data-testid='stSidebar']")
            assert "planner1" in sidebar.inner_text()
            assert page.locator("[data-testid='stException']").count() == 0
            assert str(tmp_path) not in page.inner_text("body")
            page.wait_for_timeout(1000)
            page.reload()  # the sign-in survives a reload (session cookie)
            heading.wait_for(timeout=120_000)
            assert "planner1" in page.locator("[data-testid='stSidebar']").inner_text()
            page.get_by_role("button", name=text("login.logout", "zh")).click()
            name.wait_for(timeout=60_000)
            page.wait_for_timeout(1000)
            page.reload()  # signed out stays signed out: the cookie is gone and the session ended
            name.wait_for(timeout=60_000)
            assert page.locator("[data-testid='stSidebarNav']").count() == 0
            assert "gridpatrol_session" not in [c["name"] for c in ctx.cookies()]
        finally:
            ctx_manager.__exit__(None, None, None)
    finally:
        proc.send_signal(signal.SIGTERM)  # forwarded to Streamlit by `gridpatrol serve`
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
        finally:
            log.close()
    assert code in (0, 143), (tmp_path / "serve.log").read_text(errors="replace")[-2000:]
    with pytest.raises(OSError):  # the Streamlit child stopped with it
        urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
