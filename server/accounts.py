"""Accounts, roles, password checks, login rate limits and sessions of a data directory."""
from __future__ import annotations

import contextlib
import getpass
import hashlib
import math
import os
import re
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from geo.dbfile import connect, write_transaction
from geo.errors import GridPatrolError, InputError

__all__ = ["ROLES", "Account", "LOCAL_ACCOUNT", "PermissionDenied", "AuthError", "require",
           "AccountStore", "account_for_cli", "ACCOUNTS_FILE", "ENV_SESSION_HOURS",
           "MAX_FAILURES", "LOCKOUT_MINUTES", "MIN_PASSWORD_LENGTH"]

ROLES: tuple[str, ...] = ("viewer", "planner", "admin")  # ordered by rank
ACCOUNTS_FILE = "accounts.sqlite"
ENV_SESSION_HOURS = "GRIDPATROL_SESSION_HOURS"
DEFAULT_SESSION_HOURS = 8.0
ABSOLUTE_SESSION_HOURS = 24.0
MAX_FAILURES = 5
LOCKOUT_MINUTES = 15
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
_NAME = re.compile(r"[^\W_][\w.\-]{0,63}")  # a letter or digit (any script), then letters, digits, . _ -
_BUSY_MS = 30_000
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS accounts (
        name TEXT PRIMARY KEY COLLATE NOCASE, role TEXT NOT NULL, hash TEXT NOT NULL,
        created REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS sessions (
        token_sha256 TEXT PRIMARY KEY, name TEXT NOT NULL COLLATE NOCASE, created REAL NOT NULL,
        last_seen REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS failures (
        id INTEGER PRIMARY KEY, kind TEXT NOT NULL, key TEXT NOT NULL, at REAL NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS failures_key ON failures (kind, key, at)",
)


@dataclass(frozen=True)
class Account:
    """A signed-in person: ``name``, ``role`` (one of ``ROLES``), and ``local`` when nobody signed
    in because the data directory has no accounts (single-user mode on this machine)."""

    name: str
    role: str
    local: bool = False

    def can(self, role: str) -> bool:
        """True when this account's role ranks at least as high as ``role``."""
        return ROLES.index(self.role) >= ROLES.index(_valid_role(role))


LOCAL_ACCOUNT = Account(name="local", role="admin", local=True)


class PermissionDenied(GridPatrolError):
    """The signed-in account's role does not allow the action (``role``: the role needed,
    ``action``: what was attempted, in words)."""

    def __init__(self, message: str, *, role: str = "", action: str = "") -> None:
        super().__init__(message)
        self.role, self.action = role, action


class AuthError(GridPatrolError):
    """A sign-in that failed (one message whatever was wrong), or one refused for a while after
    too many failures (``locked_minutes`` says how long to wait; None otherwise)."""

    def __init__(self, message: str, *, locked_minutes: int | None = None) -> None:
        super().__init__(message)
        self.locked_minutes = locked_minutes


_FAILED = "the name or the password is wrong"


def require(account: Account | None, role: str, *, action: str) -> None:
    """Raise PermissionDenied unless ``account`` holds at least ``role``.

    Parameters
    ----------
    account : the signed-in account, or None when nobody is signed in.
    role : the lowest role allowed to do ``action`` (one of ``ROLES``).
    action : what is being attempted, in words ("save a plan"), for the message.
    """
    role = _valid_role(role)
    if account is None:
        raise PermissionDenied(f"`{action}` needs the role {role}; nobody is signed in",
                               role=role, action=action)
    if not account.can(role):
        raise PermissionDenied(f"`{action}` needs the role {role}; {account.name} is a {account.role}",
                               role=role, action=action)


def _valid_role(role: str) -> str:
    if role not in ROLES:
        raise InputError(f"`role` was {role!r} but is expected to be one of {', '.join(ROLES)}")
    return role


def _valid_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InputError(
            f"`name` was {name!r} but an account name is 1 to 64 letters (Chinese included), digits, "
            "'.', '_' or '-', starting with a letter or digit, without spaces or slashes")
    return name


def _valid_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        length = len(password) if isinstance(password, str) else 0
        raise InputError(f"the password has {length} characters; give at least {MIN_PASSWORD_LENGTH}")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InputError(f"the password has {len(password)} characters; give at most {MAX_PASSWORD_LENGTH}")
    return password


def _session_hours(given: float | None) -> float:
    if given is not None:
        hours = given
    else:
        raw = os.environ.get(ENV_SESSION_HOURS, "").strip()
        if not raw:
            return DEFAULT_SESSION_HOURS
        try:
            hours = float(raw)
        except ValueError:
            raise InputError(f"the environment variable {ENV_SESSION_HOURS} was {raw!r}; give a "
                             "number of hours such as 8") from None
    if not (hours > 0 and math.isfinite(hours)):
        raise InputError(f"`idle_hours` was {hours!r}; give a positive number of hours such as 8")
    return float(hours)


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class AccountStore:
    """The accounts of a data directory, kept in ``<data_dir>/accounts.sqlite``.

    Passwords are stored only as salted argon2id hashes; session tokens only as their SHA-256.
    Every change is one SQLite transaction (``BEGIN IMMEDIATE`` with a busy timeout), so several
    server processes and the command line can use one store at once. The file is created (mode
    0600) by the first change; reading a directory without it reads an empty store.

    Parameters
    ----------
    data_dir : the data directory (created by the first change when missing).
    clock : seconds since the epoch, ``time.time`` unless a test injects its own.
    idle_hours : a session ends this many hours after its last use; default the environment
        variable ``GRIDPATROL_SESSION_HOURS``, else 8. Every session also ends 24 hours after
        sign-in.
    """

    def __init__(self, data_dir: Path, *, clock: Callable[[], float] = time.time,
                 idle_hours: float | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / ACCOUNTS_FILE
        self._clock = clock
        self.idle_seconds = _session_hours(idle_hours) * 3600.0
        self.absolute_seconds = ABSOLUTE_SESSION_HOURS * 3600.0
        self._hasher = PasswordHasher()

    def __repr__(self) -> str:
        return f"AccountStore({str(self.data_dir)!r})"

    # --- storage --------------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        return connect(self.path, timeout_s=_BUSY_MS / 1000)

    def _create(self) -> None:
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A connection inside one ``BEGIN IMMEDIATE`` transaction, committed when the block ends
        without an exception (rolled back otherwise)."""
        if not self.path.exists():
            self._create()
        con = self._open()
        try:
            with write_transaction(con):
                for statement in _SCHEMA:
                    con.execute(statement)
                yield con
        finally:
            con.close()

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection | None]:
        """A connection for reading, or None when the store has never been written."""
        if not self.path.exists():
            yield None
            return
        con = self._open()
        try:
            if not con.execute("SELECT 1 FROM sqlite_master WHERE name = 'accounts'").fetchone():
                yield None
            else:
                yield con
        finally:
            con.close()

    def _hash(self, password: str) -> str:
        return self._hasher.hash(_valid_password(password))

    @staticmethod
    def _row(con: sqlite3.Connection, name: str) -> tuple[str, str, str] | None:
        return con.execute("SELECT name, role, hash FROM accounts WHERE name = ?", (name,)).fetchone()

    def _existing(self, con: sqlite3.Connection, name: str) -> tuple[str, str, str]:
        row = self._row(con, name)
        if row is None:
            names = [r[0] for r in con.execute("SELECT name FROM accounts ORDER BY name")]
            listed = ", ".join(names) if names else "none yet"
            raise InputError(f"`name` was {name!r} but there is no such account; the accounts are: {listed}")
        return row

    @staticmethod
    def _admins(con: sqlite3.Connection) -> int:
        return con.execute("SELECT count(*) FROM accounts WHERE role = 'admin'").fetchone()[0]

    # --- accounts -------------------------------------------------------------------------------

    def add(self, name: str, *, role: str, password: str) -> Account:
        """Create the account ``name`` with ``role`` and ``password`` (at least 8 characters).

        Raises InputError for a bad name, role or password, or a name taken (names are compared
        without regard to case)."""
        _valid_name(name)
        _valid_role(role)
        hashed = self._hash(password)
        with self._write() as con:
            if self._row(con, name) is not None:
                raise InputError(f"`name` was {name!r} but that account exists already; choose another "
                                 "name, or change its password or role")
            con.execute("INSERT INTO accounts (name, role, hash, created) VALUES (?, ?, ?, ?)",
                        (name, role, hashed, self._clock()))
        return Account(name=name, role=role)

    def remove(self, name: str) -> None:
        """Delete the account ``name`` and its sessions.

        The last admin cannot be removed while other accounts exist (nobody could manage them)."""
        with self._write() as con:
            stored, role, _ = self._existing(con, name)
            others = con.execute("SELECT count(*) FROM accounts WHERE name <> ?", (stored,)).fetchone()[0]
            if role == "admin" and self._admins(con) == 1 and others:
                raise InputError(f"{stored!r} is the last admin and {others} other account(s) exist; "
                                 "make another account an admin first")
            con.execute("DELETE FROM accounts WHERE name = ?", (stored,))
            con.execute("DELETE FROM sessions WHERE name = ?", (stored,))

    def set_password(self, name: str, *, password: str) -> None:
        """Give ``name`` a new password; its open sessions end."""
        hashed = self._hash(password)
        with self._write() as con:
            stored, _, _ = self._existing(con, name)
            con.execute("UPDATE accounts SET hash = ? WHERE name = ?", (hashed, stored))
            con.execute("DELETE FROM sessions WHERE name = ?", (stored,))

    def set_role(self, name: str, *, role: str) -> None:
        """Give ``name`` the role ``role``; open sessions get it on their next request.

        The last admin cannot lose the role (nobody could manage the accounts)."""
        _valid_role(role)
        with self._write() as con:
            stored, old, _ = self._existing(con, name)
            if old == "admin" and role != "admin" and self._admins(con) == 1:
                raise InputError(f"{stored!r} is the last admin; make another account an admin first")
            con.execute("UPDATE accounts SET role = ? WHERE name = ?", (role, stored))

    def accounts(self) -> list[Account]:
        """Every account, by name."""
        with self._read() as con:
            if con is None:
                return []
            return [Account(name=n, role=r)
                    for n, r in con.execute("SELECT name, role FROM accounts ORDER BY name")]

    def is_empty(self) -> bool:
        """True when no account exists (the app then runs without sign-in, on this machine only)."""
        with self._read() as con:
            return con is None or con.execute("SELECT 1 FROM accounts LIMIT 1").fetchone() is None

    def has_admin(self) -> bool:
        """True when at least one account has the role admin."""
        with self._read() as con:
            return con is not None and self._admins(con) > 0

    # --- sign-in --------------------------------------------------------------------------------

    def _lock_seconds(self, con: sqlite3.Connection, keys: list[tuple[str, str]], now: float) -> float:
        """Seconds until sign-in is allowed again for any of ``keys`` (0 when it is): a lock starts
        at a failure that is the 5th within 15 minutes and lasts 15 minutes."""
        window = LOCKOUT_MINUTES * 60.0
        lock_until = now
        for kind, key in keys:
            times = [t for (t,) in con.execute(
                "SELECT at FROM failures WHERE kind = ? AND key = ? AND at > ? ORDER BY at",
                (kind, key, now - 2 * window))]
            for i in range(MAX_FAILURES - 1, len(times)):
                if times[i] - times[i - MAX_FAILURES + 1] < window:
                    lock_until = max(lock_until, times[i] + window)
        return lock_until - now

    def authenticate(self, name: str, password: str, *, client: str = "") -> Account:
        """The account ``name`` when ``password`` is its password; AuthError otherwise.

        An unknown name and a wrong password give the same message (and take the same time), so
        that names cannot be probed. After 5 failures for one name, or from one ``client`` (an
        address; "" for none), within 15 minutes, every try for that name or from that client
        is refused for 15 minutes, even with the right password.
        """
        name = name.strip() if isinstance(name, str) else ""
        password = password if isinstance(password, str) else ""
        now = self._clock()
        keys = [("name", name.casefold())] + ([("client", client)] if client else [])
        with self._write() as con:
            con.execute("DELETE FROM failures WHERE at <= ?", (now - 2 * LOCKOUT_MINUTES * 60.0,))
            wait = self._lock_seconds(con, keys, now)
            if wait > 0:
                minutes = max(1, math.ceil(wait / 60.0))
                raise AuthError(f"too many failed sign-ins for this name or from this address; try "
                                f"again in {minutes} minute(s)", locked_minutes=minutes)
            # Counted as failures until the password is known to be right, so that tries made at
            # the same time in other sessions cannot pass the limit.
            pending = [con.execute("INSERT INTO failures (kind, key, at) VALUES (?, ?, ?)",
                                   (kind, key, now)).lastrowid for kind, key in keys]
            row = self._row(con, name) if name else None
        ok = False
        try:
            self._hasher.verify(row[2] if row else _dummy_hash(), password)
            ok = row is not None
        except (VerificationError, VerifyMismatchError, InvalidHashError):
            ok = False
        if not ok:
            raise AuthError(_FAILED)
        with self._write() as con:
            con.execute(f"DELETE FROM failures WHERE id IN ({','.join('?' * len(pending))})", pending)
            con.execute("DELETE FROM failures WHERE kind = 'name' AND key = ?", (name.casefold(),))
            if self._hasher.check_needs_rehash(row[2]):
                con.execute("UPDATE accounts SET hash = ? WHERE name = ?",
                            (self._hasher.hash(password), row[0]))
            current = self._row(con, row[0])
        if current is None:  # removed meanwhile
            raise AuthError(_FAILED)
        return Account(name=current[0], role=current[1])

    # --- sessions -------------------------------------------------------------------------------

    def start_session(self, account: Account) -> str:
        """A new random session token for ``account`` (only its SHA-256 is stored)."""
        if account.local:
            raise InputError("a local account has no sessions; sign in with an account of this "
                             "data directory")
        token = secrets.token_urlsafe(32)
        now = self._clock()
        with self._write() as con:
            con.execute("DELETE FROM sessions WHERE last_seen <= ? OR created <= ?",
                        (now - self.idle_seconds, now - self.absolute_seconds))
            stored, _, _ = self._existing(con, account.name)
            con.execute("INSERT INTO sessions (token_sha256, name, created, last_seen) VALUES (?, ?, ?, ?)",
                        (_sha256(token), stored, now, now))
        return token

    def session_account(self, token: str | None) -> Account | None:
        """The account of session ``token`` with its current role, or None when the token is
        unknown, the session expired (idle too long, or signed in more than 24 hours ago) or the
        account was removed. A valid session counts as used now."""
        if not token or not isinstance(token, str) or not self.path.exists():
            return None
        digest = _sha256(token)
        now = self._clock()
        with self._write() as con:
            row = con.execute(
                "SELECT a.name, a.role, s.created, s.last_seen FROM sessions s "
                "JOIN accounts a ON a.name = s.name WHERE s.token_sha256 = ?", (digest,)).fetchone()
            if row is None:
                con.execute("DELETE FROM sessions WHERE token_sha256 = ?", (digest,))
                return None
            name, role, created, last_seen = row
            if now - last_seen > self.idle_seconds or now - created > self.absolute_seconds:
                con.execute("DELETE FROM sessions WHERE token_sha256 = ?", (digest,))
                return None
            con.execute("UPDATE sessions SET last_seen = ? WHERE token_sha256 = ?", (now, digest))
        return Account(name=name, role=role)

    def end_session(self, token: str | None) -> None:
        """Sign out: forget session ``token`` (nothing happens for an unknown one)."""
        if not token or not self.path.exists():
            return
        with self._write() as con:
            con.execute("DELETE FROM sessions WHERE token_sha256 = ?", (_sha256(token),))


_DUMMY: list[str] = []


def _dummy_hash() -> str:
    """A hash no password matches, verified for unknown names so that they take as long."""
    if not _DUMMY:
        _DUMMY.append(PasswordHasher().hash(secrets.token_hex(16)))
    return _DUMMY[0]


def account_for_cli(data_dir: Path, name: str | None, password: str | None) -> Account:
    """The account a command that writes into ``data_dir`` acts as.

    A data directory without accounts is used in local mode, as the operating-system user (role
    admin, ``local`` True). Otherwise ``name`` and ``password`` must sign in (AuthError).
    """
    store = AccountStore(data_dir)
    if store.is_empty():
        try:
            user = getpass.getuser() or LOCAL_ACCOUNT.name
        except Exception:  # no user name in this environment (containers)
            user = LOCAL_ACCOUNT.name
        return Account(name=user, role="admin", local=True)
    if not name or password is None:
        raise AuthError("this data directory has accounts: give `user` and `password`")
    return store.authenticate(name, password)
