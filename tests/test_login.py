"""Sign-in in the app (Streamlit AppTest): no page before a sign-in once accounts exist, the
account box, admin-only account management, and local mode without accounts."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from server.accounts import AccountStore

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
DEMO = ROOT / "data" / "boundaries" / "demo_county.gpkg"
TIMEOUT = 120
PASSWORD = "correct horse 7"


@pytest.fixture(scope="module")
def county(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ws") / "county.gpkg"
    shutil.copyfile(DEMO, path)
    return path


@pytest.fixture
def data_dir(tmp_path, county, monkeypatch) -> Path:
    d = tmp_path / "data"
    monkeypatch.setenv("GRIDPATROL_DATA", str(d))
    monkeypatch.setenv("GRIDPATROL_WORKSPACE", str(county))
    monkeypatch.delenv("GRIDPATROL_PAGE", raising=False)
    monkeypatch.delenv("GRIDPATROL_SESSION_HOURS", raising=False)
    return d


@pytest.fixture
def accounts(data_dir) -> AccountStore:
    store = AccountStore(data_dir)
    store.add("root", role="admin", password=PASSWORD)
    store.add("viewer1", role="viewer", password=PASSWORD)
    return store


def _headers(at: AppTest) -> list[str]:
    return [h.value for h in at.header]


def _sign_in(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key="gp_login_name").set_value(name)
    [pw] = [w for w in at.text_input if w.label == "密码"]
    pw.set_value(password)
    [submit] = [b for b in at.button if b.label == "登录"]
    return submit.click().run()


def _assert_login_only(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert at.text_input(key="gp_login_name") is not None
    assert "总览" not in _headers(at) and not at.metric
    assert not at.sidebar.button and not at.sidebar.expander


def test_with_accounts_the_first_run_shows_only_the_sign_in(accounts):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    _assert_login_only(at)
    assert "网格巡防规划" in [t.value for t in at.title]


def test_a_wrong_password_shows_an_error_and_no_page(accounts):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at = _sign_in(at, "root", "not the password")
    _assert_login_only(at)
    assert [e.value for e in at.error] == ["用户名或密码错误"]
    at = _sign_in(at, "nobody", PASSWORD)
    assert [e.value for e in at.error] == ["用户名或密码错误"]  # the same for an unknown name
    _assert_login_only(at)


def test_the_right_password_opens_the_overview_and_admins_manage_accounts(accounts):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at = _sign_in(at, "root", PASSWORD)
    assert not at.exception, [e.value for e in at.exception]
    assert _headers(at) == ["总览"]
    assert any("root" in c.value for c in at.sidebar.caption)
    assert "账号管理" in [e.label for e in at.sidebar.expander]
    # Add a planner through the admin panel.
    at.text_input(key="gp_acc_add_name").set_value("planner2")
    at.selectbox(key="gp_acc_add_role").set_value("planner")
    [pw] = [w for w in at.sidebar.text_input if w.label.startswith("新密码")][:1]
    pw.set_value("planner password")
    [add] = [b for b in at.sidebar.button if b.label == "新建"]
    at = add.click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert accounts.authenticate("planner2", "planner password").role == "planner"
    # Demoted elsewhere: the next run has no admin panel (roles are read on every run).
    accounts.set_role("viewer1", role="admin")
    accounts.set_role("root", role="viewer")
    at.run()
    assert "账号管理" not in [e.label for e in at.sidebar.expander]
    assert _headers(at) == ["总览"]
    # Signing out returns to the sign-in form.
    [out] = [b for b in at.sidebar.button if b.label == "退出登录"]
    at = out.click().run()
    _assert_login_only(at)


def test_a_viewer_sees_no_account_management(accounts):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at = _sign_in(at, "viewer1", PASSWORD)
    assert not at.exception, [e.value for e in at.exception]
    assert _headers(at) == ["总览"]
    assert "账号管理" not in [e.label for e in at.sidebar.expander]
    assert any("viewer1" in c.value and "查看员" in c.value for c in at.sidebar.caption)


def test_a_removed_account_is_signed_out_on_the_next_run(accounts):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at = _sign_in(at, "viewer1", PASSWORD)
    assert _headers(at) == ["总览"]
    accounts.remove("viewer1")
    at.run()
    _assert_login_only(at)
    assert [i.value for i in at.info] == ["登录已过期或已退出，请重新登录"]


def test_the_sign_in_switches_language(accounts):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.radio(key="lang").set_value("en").run()
    assert "Password" in [w.label for w in at.text_input]
    assert [b.label for b in at.button] == ["Sign in"]


def test_without_accounts_the_app_runs_without_sign_in(data_dir):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    assert _headers(at) == ["总览"]
    assert all(not c.value.startswith("已登录") for c in at.sidebar.caption)
    assert "账号管理" not in [e.label for e in at.sidebar.expander]
    assert not data_dir.exists()  # reading an empty store creates nothing


def test_without_accounts_another_machine_is_turned_away(data_dir, monkeypatch):
    monkeypatch.setattr("ui.login._client_address", lambda: "10.1.2.3")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    assert "总览" not in _headers(at)
    assert any("gridpatrol user add" in w.value for w in at.warning)


def test_permission_is_checked_again_before_an_admin_action(data_dir, monkeypatch):
    """The admin panel's actions call require() in Python: a viewer account cannot act even if
    the panel were drawn."""
    import ui.login as login
    from server.accounts import Account
    shown: list[str] = []
    monkeypatch.setattr(login, "current_account", lambda: Account("v", "viewer"))
    monkeypatch.setattr(login.st, "error", lambda message: shown.append(message))
    called: list[int] = []
    login._admin_action("remove an account", lambda: called.append(1), "done")
    assert called == [] and shown == ["您的角色不能执行此操作（需要：管理员）"]
