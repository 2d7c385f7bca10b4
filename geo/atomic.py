"""Atomic file writes: a temporary file beside the target, fsynced and renamed into place.

Every file GridPatrol writes whole (a workspace on import, an exported plan, a report, the
briefing, routes) goes through ``atomic_path``: the content is written to
``.<name>.<pid>-<token>.tmp<suffix>`` in the target's folder, flushed to disk, renamed over the
target and the folder entry flushed. An interrupted write leaves the previous file intact and at
most a temporary file whose writing process is gone, which ``clean_stale_temps`` removes (the
workspace module calls it whenever a workspace is opened).
"""
from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

__all__ = ["atomic_path", "write_bytes_atomic", "write_text_atomic", "copy_atomic",
           "clean_stale_temps", "temp_name_pattern"]

log = logging.getLogger(__name__)

# .<name>.<pid>-<8 hex>.tmp<suffix>, plus SQLite's side files of a temporary GeoPackage
_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)-[0-9a-f]{8}\.tmp(?P<suffix>\.[A-Za-z0-9]+)?"
                   r"(?:-journal|-wal|-shm)?$")
# temporaries of GridPatrol before this module (no pid): removed once older than an hour
_LEGACY = re.compile(r"^\..+\.tmp(\.gpkg|\.pdf|\.html|\.geojson|\.gpx)?(-journal)?$")
_LEGACY_AGE_S = 3600.0


def temp_name_pattern() -> re.Pattern:
    """The regular expression that temporary names made here match (for tests and cleaners)."""
    return _TEMP


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # not every platform opens folders
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write to; on success it is fsynced and renamed
    over ``path`` (and the folder fsynced); on any exception it is removed and ``path`` is left
    as it was. The folder is created when missing.

    The temporary path keeps ``path``'s suffix (drivers choose formats by it) and does not
    exist when yielded.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}-{secrets.token_hex(4)}.tmp{path.suffix}")
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"nothing was written to the temporary file for {path.name}")
        _fsync_file(tmp)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + "-journal")):
            if leftover.exists():
                leftover.unlink()


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; return the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


def write_text_atomic(path: str | Path, text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically; return the path."""
    return write_bytes_atomic(path, text.encode(encoding))


def copy_atomic(src: str | Path, dst: str | Path) -> Path:
    """Copy the file ``src`` to ``dst`` atomically (for files no one writes meanwhile; a live
    workspace is copied with ``geo.workspace.copy_workspace``)."""
    dst = Path(dst)
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)
    return dst


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def clean_stale_temps(folder: str | Path, *, stem: str | None = None) -> list[Path]:
    """Remove temporary files in ``folder`` left by interrupted atomic writes (their process is
    gone; older GridPatrol temporaries once an hour old). ``stem`` limits it to the temporaries
    of files named ``<stem>.*``. Returns the files removed; files that cannot be removed are
    logged and left."""
    folder = Path(folder)
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    now = time.time()
    for entry in folder.iterdir():
        name = entry.name
        if not name.startswith(".") or not entry.is_file():
            continue
        m = _TEMP.match(name)
        if m:
            if stem is not None and m.group("name") != stem:
                continue
            if _alive(int(m.group("pid"))):
                continue
        elif _LEGACY.match(name) and (stem is None or name.startswith(f".{stem}.")):
            try:
                if now - entry.stat().st_mtime < _LEGACY_AGE_S:
                    continue
            except OSError:
                continue
        else:
            continue
        try:
            entry.unlink()
            removed.append(entry)
        except OSError as exc:
            log.warning("could not remove the leftover temporary file %s (%s); remove it by hand",
                        name, exc.strerror)
    return removed
