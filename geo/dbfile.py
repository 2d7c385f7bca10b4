"""SQLite files used as databases (workspaces, the accounts store): one way to connect and one
write transaction, so that every writer waits for the lock the same way and none is lost."""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

__all__ = ["connect", "write_transaction", "BUSY_TIMEOUT_S"]

BUSY_TIMEOUT_S = 60.0


def connect(path: str | Path, *, readonly: bool = False, create: bool = False,
            timeout_s: float = BUSY_TIMEOUT_S) -> sqlite3.Connection:
    """A connection to the SQLite file ``path`` in autocommit mode (transactions are explicit,
    see ``write_transaction``) that waits up to ``timeout_s`` for another writer's lock.
    ``readonly`` opens without write access; without ``create`` a missing file is an error."""
    mode = "ro" if readonly else ("rwc" if create else "rw")
    con = sqlite3.connect(f"file:{Path(path)}?mode={mode}", uri=True, timeout=timeout_s,
                          isolation_level=None)
    con.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
    return con


@contextmanager
def write_transaction(con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction on ``con``: BEGIN IMMEDIATE takes the write lock at once (other
    writers wait for it), COMMIT when the block ends, ROLLBACK on any exception."""
    con.execute("BEGIN IMMEDIATE")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
