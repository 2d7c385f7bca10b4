"""Accounts: argon2 hashes, sign-in, rate limits, sessions, roles, names, concurrent writers."""
from __future__ import annotations

import multiprocessing
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from geo.errors import GridPatrolError, InputError
from server.accounts import (
    LOCAL_ACCOUNT,
    ROLES,
    Account,
    AccountStore,
    AuthError,
    PermissionDenied,
    account_for_cli,
    require,
)

PASSWORD = "correct horse 7"


class Clock:
    """A clock the test moves by hand (seconds)."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, *, minutes: float = 0.0, hours: float = 0.0) -> None:
        self.now += minutes * 60 + hours * 3600


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path, clock, monkeypatch) -> AccountStore:
    monkeypatch.delenv("GRIDPATROL_SESSION_HOURS", raising=False)
    return AccountStore(tmp_path / "data", clock=clock)


# --- roles ---------------------------------------------------------------------------------------

def test_roles_are_ranked_and_require_says_who_lacks_what():
    assert ROLES == ("viewer", "planner", "admin")
    viewer, planner = Account("ann", "viewer"), Account("bo", "planner")
    assert planner.can("viewer") and planner.can("planner") and not planner.can("admin")
    assert LOCAL_ACCOUNT.can("admin") and LOCAL_ACCOUNT.local
    require(planner, "planner", action="save a plan")
    with pytest.raises(PermissionDenied, match=r"`save a plan` needs the role planner; ann is a viewer"):
        require(viewer, "planner", action="save a plan")
    with pytest.raises(PermissionDenied, match="nobody is signed in"):
        require(None, "viewer", action="read")
    with pytest.raises(InputError, match=r"`role` was 'boss' but is expected to be one of viewer, planner, admin"):
        require(planner, "boss", action="x")
    assert issubclass(PermissionDenied, GridPatrolError) and issubclass(AuthError, GridPatrolError)


# --- storage -------------------------------------------------------------------------------------

def test_an_unwritten_store_is_empty_and_creates_nothing(tmp_path):
    store = AccountStore(tmp_path / "nowhere")
    assert store.is_empty() and not store.has_admin() and store.accounts() == []
    assert store.session_account("abc") is None
    assert not (tmp_path / "nowhere").exists()


def test_passwords_are_argon2id_hashes_and_the_plaintext_is_nowhere(store):
    store.add("alice", role="admin", password=PASSWORD)
    store.add("bob", role="viewer", password=PASSWORD + "b")
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    with sqlite3.connect(store.path) as con:
        hashes = [h for (h,) in con.execute("SELECT hash FROM accounts ORDER BY name")]
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert hashes[0] != hashes[1]
    raw = store.path.read_bytes()
    assert PASSWORD.encode() not in raw and b"correct horse" not in raw
    # The same password twice gets two salts.
    store.add("carol", role="viewer", password=PASSWORD)
    with sqlite3.connect(store.path) as con:
        a, c = (h for (h,) in con.execute("SELECT hash FROM accounts WHERE name IN ('alice','carol') ORDER BY name"))
    assert a != c


def test_authenticate_right_and_wrong_with_one_message(store):
    store.add("alice", role="planner", password=PASSWORD)
    assert store.authenticate("alice", PASSWORD) == Account("alice", "planner")
    with pytest.raises(AuthError) as wrong:
        store.authenticate("alice", "not the password")
    with pytest.raises(AuthError) as unknown:
        store.authenticate("mallory", PASSWORD)
    assert str(wrong.value) == str(unknown.value) == "the name or the password is wrong"
    assert PASSWORD not in str(wrong.value)
    with pytest.raises(AuthError):
        store.authenticate("", "")


def test_names_are_validated_and_unique_regardless_of_case(store):
    for bad in ("../x", "a b", "<script>", "", "x" * 65, "a/b", "-rf", "_x"):
        with pytest.raises(InputError, match=r"`name` was .* letters \(Chinese included\)"):
            store.add(bad, role="viewer", password=PASSWORD)
    for good in ("张三", "li.si-2", "王_五", "x" * 64):
        store.add(good, role="viewer", password=PASSWORD)
    store.add("Zed", role="admin", password=PASSWORD)
    with pytest.raises(InputError, match="exists already"):
        store.add("zed", role="viewer", password=PASSWORD)
    assert store.authenticate("ZED", PASSWORD).name == "Zed"


def test_roles_and_passwords_are_validated(store):
    with pytest.raises(InputError, match=r"`role` was 'root' but is expected to be one of viewer, planner, admin"):
        store.add("alice", role="root", password=PASSWORD)
    with pytest.raises(InputError, match=r"the password has 5 characters; give at least 8") as exc:
        store.add("alice", role="admin", password="short")
    assert "short" not in str(exc.value)
    assert store.is_empty()


# --- rate limit ----------------------------------------------------------------------------------

def test_five_failures_lock_the_name_for_fifteen_minutes(store, clock):
    store.add("alice", role="viewer", password=PASSWORD)
    for _ in range(5):
        with pytest.raises(AuthError, match="wrong"):
            store.authenticate("alice", "guess-guess")
        clock.advance(minutes=1)
    with pytest.raises(AuthError, match=r"try again in 14 minute") as locked:
        store.authenticate("alice", PASSWORD)  # the right password, refused while locked
    assert locked.value.locked_minutes == 14  # 15 minutes from the 5th failure
    clock.advance(minutes=13)
    with pytest.raises(AuthError, match=r"in 1 minute"):
        store.authenticate("alice", PASSWORD)
    clock.advance(minutes=1, hours=0)
    assert store.authenticate("alice", PASSWORD).name == "alice"
    # A success clears the name's failures.
    for _ in range(4):
        with pytest.raises(AuthError, match="wrong"):
            store.authenticate("alice", "guess-guess")
    assert store.authenticate("alice", PASSWORD).name == "alice"


def test_failures_from_one_client_lock_that_client_and_unknown_names_alike(store, clock):
    store.add("alice", role="viewer", password=PASSWORD)
    for name in ("bob", "carol", "dave", "erin", "frank"):  # unknown names: probing
        with pytest.raises(AuthError, match="wrong"):
            store.authenticate(name, "guess-guess", client="10.0.0.9")
    with pytest.raises(AuthError, match="try again in 15 minute"):
        store.authenticate("alice", PASSWORD, client="10.0.0.9")
    assert store.authenticate("alice", PASSWORD, client="10.0.0.10").name == "alice"
    clock.advance(minutes=15, hours=0)
    assert store.authenticate("alice", PASSWORD, client="10.0.0.9").name == "alice"
    # An unknown name locks like a known one (its lock tells nothing).
    for _ in range(5):
        with pytest.raises(AuthError, match="wrong"):
            store.authenticate("ghost", "guess-guess")
    with pytest.raises(AuthError, match="try again"):
        store.authenticate("ghost", "guess-guess")


# --- sessions ------------------------------------------------------------------------------------

def test_sessions_expire_when_idle_and_after_a_day(store, clock):
    store.add("alice", role="planner", password=PASSWORD)
    alice = store.authenticate("alice", PASSWORD)
    token = store.start_session(alice)
    assert len(token) >= 40
    with sqlite3.connect(store.path) as con:
        stored = [t for (t,) in con.execute("SELECT token_sha256 FROM sessions")]
    assert token not in stored and token.encode() not in store.path.read_bytes()
    assert store.session_account(token) == alice
    assert store.session_account("forged") is None and store.session_account("") is None
    # Used every 7 hours: alive past 8 hours, but not past 24.
    for _ in range(3):
        clock.advance(hours=7)
        assert store.session_account(token) == alice
    clock.advance(hours=3.5)
    assert store.session_account(token) is None  # 24.5 h after sign-in
    # Idle for more than 8 hours.
    token = store.start_session(alice)
    clock.advance(hours=8, minutes=1)
    assert store.session_account(token) is None
    # Signed out.
    token = store.start_session(alice)
    store.end_session(token)
    assert store.session_account(token) is None


def test_idle_hours_come_from_the_environment(tmp_path, clock, monkeypatch):
    monkeypatch.setenv("GRIDPATROL_SESSION_HOURS", "1")
    store = AccountStore(tmp_path, clock=clock)
    store.add("alice", role="viewer", password=PASSWORD)
    token = store.start_session(Account("alice", "viewer"))
    clock.advance(minutes=61)
    assert store.session_account(token) is None
    monkeypatch.setenv("GRIDPATROL_SESSION_HOURS", "soon")
    with pytest.raises(InputError, match="GRIDPATROL_SESSION_HOURS was 'soon'"):
        AccountStore(tmp_path)


def test_removed_account_loses_its_session_and_role_changes_apply_at_once(store):
    store.add("root", role="admin", password=PASSWORD)
    store.add("bob", role="viewer", password=PASSWORD)
    token = store.start_session(store.authenticate("bob", PASSWORD))
    assert store.session_account(token).role == "viewer"
    store.set_role("bob", role="planner")
    assert store.session_account(token) == Account("bob", "planner")
    store.remove("bob")
    assert store.session_account(token) is None
    # Re-adding the name does not revive the old session.
    store.add("bob", role="viewer", password=PASSWORD)
    assert store.session_account(token) is None


def test_a_new_password_ends_the_sessions_and_replaces_the_old(store):
    store.add("bob", role="admin", password=PASSWORD)
    token = store.start_session(store.authenticate("bob", PASSWORD))
    store.set_password("bob", password="another password")
    assert store.session_account(token) is None
    with pytest.raises(AuthError):
        store.authenticate("bob", PASSWORD)
    assert store.authenticate("bob", "another password").name == "bob"
    with pytest.raises(InputError, match="no such account; the accounts are: bob"):
        store.set_password("nobody", password="another password")


def test_the_last_admin_stays(store):
    store.add("root", role="admin", password=PASSWORD)
    store.add("bob", role="viewer", password=PASSWORD)
    with pytest.raises(InputError, match="last admin"):
        store.remove("root")
    with pytest.raises(InputError, match="last admin"):
        store.set_role("root", role="planner")
    store.set_role("bob", role="admin")
    store.set_role("root", role="viewer")
    store.remove("root")
    store.remove("bob")  # the only account left: removing it returns to local mode
    assert store.is_empty()


# --- command-line accounts -----------------------------------------------------------------------

def test_account_for_cli_is_local_without_accounts_and_signs_in_with_them(tmp_path, monkeypatch):
    monkeypatch.setattr("getpass.getuser", lambda: "planner1")
    assert account_for_cli(tmp_path, None, None) == Account("planner1", "admin", local=True)
    AccountStore(tmp_path).add("alice", role="planner", password=PASSWORD)
    with pytest.raises(AuthError, match=r"this data directory has accounts: give `user` and `password`"):
        account_for_cli(tmp_path, None, None)
    with pytest.raises(AuthError, match="wrong"):
        account_for_cli(tmp_path, "alice", "nope-nope")
    assert account_for_cli(tmp_path, "alice", PASSWORD) == Account("alice", "planner")


# --- several processes at once -------------------------------------------------------------------

def _add_users(data_dir: str, prefix: str, n: int) -> None:
    store = AccountStore(Path(data_dir))
    for i in range(n):
        store.add(f"{prefix}{i}", role="viewer", password=PASSWORD)
        store.start_session(Account(f"{prefix}{i}", "viewer"))


def test_two_processes_adding_users_at_once_both_keep_theirs(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_add_users, args=(str(tmp_path), prefix, 4)) for prefix in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0, 0]
    names = {a.name for a in AccountStore(tmp_path).accounts()}
    assert names == {f"{p}{i}" for p in "ab" for i in range(4)}
