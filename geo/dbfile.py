"""SQLite files used as databases (workspaces, the accounts store): one way to connect and one
write transaction, so that every writer waits for the lock the same way and none is lost."""
from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

__all__ = ["connect", "write_transaction", "locked_file", "file_identity", "BUSY_TIMEOUT_S"]

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


def file_identity(path: str | Path) -> tuple[int, int] | None:
    """(device, inode) of the file ``path`` names now, or None when it names none."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


@contextmanager
def locked_file(path: str | Path, *, timeout_s: float = BUSY_TIMEOUT_S) -> Iterator[sqlite3.Connection]:
    """One write transaction on the file ``path`` names once its write lock is held.

    A file may be replaced by a rename while a writer waits for its lock (a layer replacement
    renames a new copy into place, then releases the lock of the old file): after BEGIN
    IMMEDIATE the file's identity is compared with the one before connecting, and on a change
    the lock is dropped and the write starts again on the new file, so it is never made into
    the unlinked old one. COMMIT when the block ends, ROLLBACK on any exception."""
    while True:
        before = file_identity(path)
        con = connect(path, timeout_s=timeout_s)
        try:
            with write_transaction(con):
                if file_identity(path) != before:
                    raise _Replaced
                yield con
            return
        except _Replaced:
            continue
        finally:
            con.close()


class _Replaced(Exception):
    """The file was replaced while the lock was awaited (private to ``locked_file``)."""
