"""The workspace: one GeoPackage holding every layer in one projected working CRS, plus metadata.

This module owns every write of a workspace. A GeoPackage is an SQLite database and is used as
one:

- appending a plan version (``append_plan``) or an edit of a draft plan (``append_edit``) is one
  SQLite transaction that inserts rows; SQLite's locking lets any number of processes save at
  once, each getting its own id, and a killed save rolls back on the next open;
- whole-workspace writes (import, rebuild: ``write_workspace``) go to a temporary file that is
  fsynced and renamed into place (``geo.atomic``), and refuse to replace a workspace that holds
  saved plans unless told to;
- opening a workspace checks its integrity and removes temporary files left by interrupted
  writes.

A workspace may also be a schema of a PostgreSQL/PostGIS database, named by a URL
``postgresql://USER@HOST:PORT/DB?schema=NAME`` (``geo.pgurl``): the public functions below hand
such a location to the function of the same name in ``geo.pgworkspace`` (``_also_in_databases``),
so callers pass a path or a URL alike.
"""
from __future__ import annotations

import functools
import json
import logging
import os
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from types import MappingProxyType
from typing import Iterable, Iterator, Mapping

import geopandas as gpd
import pandas as pd
import pyogrio
from pyogrio.errors import DataSourceError
from pyproj import CRS

from geo.atomic import atomic_path, clean_stale_temps
from geo.dbfile import BUSY_TIMEOUT_S, connect, locked_file
from geo.errors import InputError
from geo.pgurl import DatabaseURL, is_database_url
from geo.validate import LAYERS

__all__ = ["Workspace", "read_workspace", "write_workspace", "workspace_info", "META_TABLE",
           "LAYER_ORDER", "TABLE_LAYERS", "PLAN_TABLES", "is_workspace", "check_workspace",
           "copy_workspace", "append_plan", "append_edit", "read_plans", "read_plan_cells",
           "read_edits", "latest_draft", "plan_count", "utc_now", "layers_version", "set_meta",
           "replace_layers"]

log = logging.getLogger(__name__)

META_TABLE = "gridpatrol_meta"
TABLE_LAYERS = ("plans", "plan_cells")
# Tables of the plan history, appended to in transactions; plan_edits is not read as a layer.
PLAN_TABLES = ("plans", "plan_cells", "plan_edits")
LAYER_ORDER = tuple(LAYERS) + TABLE_LAYERS
_SQLITE_MAGIC = b"SQLite format 3\x00"

_PLAN_COLUMNS = {
    "plans": (("plan_id", "INTEGER NOT NULL"), ("parent_id", "INTEGER"), ("name", "TEXT"),
              ("created", "TEXT"), ("note", "TEXT"), ("author", "TEXT"), ("draft", "TEXT"),
              ("draft_seq", "INTEGER")),
    "plan_cells": (("plan_id", "INTEGER NOT NULL"), ("cell_id", "TEXT"), ("station_id", "TEXT")),
    "plan_edits": (("draft", "TEXT NOT NULL"), ("seq", "INTEGER NOT NULL"), ("action", "TEXT"),
                   ("label", "TEXT"), ("payload", "TEXT"), ("author", "TEXT"),
                   ("created", "TEXT"), ("base", "TEXT")),
}
_PLAN_INDEXES = {"plans": "plan_id", "plan_cells": "plan_id", "plan_edits": "draft"}


def _also_in_databases(fn=None, *, arg: int = 0):
    """Decorate a public function whose positional argument ``arg`` is a workspace location:
    when that location (or, for ``copy_workspace``, any location) is a ``postgresql://`` URL
    the call goes to the function of the same name in ``geo.pgworkspace``."""
    if fn is None:
        return functools.partial(_also_in_databases, arg=arg)

    @functools.wraps(fn)
    def dispatch(*args, **kwargs):
        where = [*(args[arg:] if fn.__name__ == "copy_workspace" else args[arg:arg + 1]),
                 *(kwargs.get(k) for k in ("path", "src", "dst"))]
        if any(is_database_url(a) for a in where):
            from geo import pgworkspace  # psycopg is imported only for database workspaces
            return getattr(pgworkspace, fn.__name__)(*args, **kwargs)
        return fn(*args, **kwargs)
    return dispatch


@dataclass(frozen=True)
class Workspace:
    """An opened workspace. Immutable: ``with_layers`` returns a new one.

    Attributes
    ----------
    crs : the projected working CRS (metres) of every spatial layer.
    layers : layer name -> GeoDataFrame (spatial) or DataFrame (``plans``, ``plan_cells``).
    meta : string metadata (name, working CRS, sources, created, cell size…).
    path : the file it was read from (a ``geo.pgurl.DatabaseURL`` for PostGIS), if any.
    """

    crs: CRS
    layers: Mapping[str, pd.DataFrame]
    meta: Mapping[str, str] = field(default_factory=dict)
    path: Path | DatabaseURL | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", MappingProxyType(dict(self.layers)))
        object.__setattr__(self, "meta", MappingProxyType(dict(self.meta)))

    def has(self, name: str) -> bool:
        """True when the workspace holds a non-empty layer ``name``."""
        return name in self.layers and len(self.layers[name]) > 0

    def layer(self, name: str) -> gpd.GeoDataFrame:
        """The layer ``name`` (a copy is not made: treat it as read-only)."""
        if name not in self.layers:
            have = ", ".join(self.layers) or "none"
            where = f" {self.path}" if self.path else ""
            raise InputError(f"workspace{where} has no layer {name!r} (it has: {have}); import "
                             f"one with `gridpatrol import` or the sidebar")
        return self.layers[name]

    def with_layers(self, **layers: pd.DataFrame) -> "Workspace":
        """A new workspace with ``layers`` added or replaced."""
        merged = dict(self.layers)
        merged.update(layers)
        return replace(self, layers=merged)

    def with_meta(self, **meta: str) -> "Workspace":
        """A new workspace with metadata entries added or replaced."""
        merged = dict(self.meta)
        merged.update({k: str(v) for k, v in meta.items()})
        return replace(self, meta=merged)

    @property
    def name(self) -> str:
        return self.meta.get("name", self.path.stem if self.path else "workspace")


def _ordered(names) -> list[str]:
    known = [n for n in LAYER_ORDER if n in names]
    return known + sorted(n for n in names if n not in LAYER_ORDER)


def utc_now() -> str:
    """The current time as ISO 8601 UTC to the second (the stamp of plans, edits, imports)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@_also_in_databases
def is_workspace(path: str | Path) -> bool:
    """True when ``path`` is a GridPatrol workspace: a ``.gpkg`` file that is an SQLite database
    holding the ``gridpatrol_meta`` table. Never raises for unreadable or foreign files."""
    p = Path(path)
    try:
        if p.suffix.lower() != ".gpkg" or not p.is_file():
            return False
        with open(p, "rb") as fh:
            if fh.read(16) != _SQLITE_MAGIC:
                return False
        con = connect(p, readonly=True)
        try:
            return con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                               (META_TABLE,)).fetchone() is not None
        finally:
            con.close()
    except (OSError, sqlite3.Error):
        return False


def _connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    return connect(path, readonly=readonly)


@contextmanager
def _transaction(path: Path) -> Iterator[sqlite3.Connection]:
    """One write transaction on the workspace (``geo.dbfile.locked_file``: a write that waited
    behind ``replace_layers`` lands in the new file, not the replaced one)."""
    with locked_file(path) as con:
        yield con


@_also_in_databases
def check_workspace(path: str | Path) -> Path:
    """Check that ``path`` is an intact workspace and return it as a Path.

    Removes temporary files left beside it by interrupted writes, opens it read-write when it
    can (which rolls back a save that was killed half-way) and runs SQLite's quick integrity
    check. Raises InputError naming the file and the fix when it is missing, not a GeoPackage,
    not a GridPatrol workspace or damaged.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path.name}: workspace not found; create one with `gridpatrol demo` "
                         "or `gridpatrol import`, or choose one of the library")
    if path.is_dir():
        raise InputError(f"{path.name}: a folder, not a workspace; a workspace is a .gpkg file")
    clean_stale_temps(path.parent, stem=path.stem)
    try:
        with open(path, "rb") as fh:
            magic = fh.read(16)
    except OSError as exc:
        raise InputError(f"{path.name}: cannot be read ({exc.strerror}); check its permissions") from None
    if magic != _SQLITE_MAGIC:
        raise InputError(f"{path.name}: not a GeoPackage; a workspace is a .gpkg file written by "
                         "GridPatrol")
    try:
        con = _connect(path, readonly=not os.access(path, os.W_OK))
        try:
            found = con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                                (META_TABLE,)).fetchone()
            verdict = [" ".join(str(r[0]).split()) for r in con.execute("PRAGMA quick_check(3)").fetchall()]
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise InputError(f"{path.name}: the workspace is damaged ({' '.join(str(exc).split())[:200]}); "
                         "restore it from the backup of the data directory") from None
    if verdict != ["ok"]:
        raise InputError(f"{path.name}: the workspace is damaged ({'; '.join(verdict[:3])[:300]}); "
                         "restore it from the backup of the data directory")
    if not found:
        raise InputError(f"{path.name}: a GeoPackage but not a GridPatrol workspace (no "
                         f"{META_TABLE} table); build one with `gridpatrol import`")
    return path


def _retry_locked(fn, *, timeout_s: float = BUSY_TIMEOUT_S):
    """Call ``fn`` again while GDAL reports the database locked (a save commits meanwhile)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return fn()
        except DataSourceError as exc:
            if "locked" not in str(exc).lower() or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@_also_in_databases
def read_workspace(path: str | Path, *, layers: list[str] | None = None) -> Workspace:
    """Open a workspace GeoPackage written by ``write_workspace`` (or ``gridpatrol import``).

    ``layers`` limits which layers are read (all by default; the draft edits in ``plan_edits``
    are read with ``read_edits``). Raises InputError naming the file when it is missing,
    damaged or not a GridPatrol workspace (see ``check_workspace``).
    """
    path = check_workspace(path)
    try:
        listed = _retry_locked(lambda: {str(name): gtype for name, gtype in pyogrio.list_layers(path)})
    except DataSourceError:
        raise InputError(f"{path.name}: not a GeoPackage; a workspace is a .gpkg file written by "
                         "GridPatrol") from None
    meta_df = _retry_locked(lambda: pyogrio.read_dataframe(path, layer=META_TABLE, read_geometry=False))
    meta = dict(zip(meta_df["key"].astype(str), meta_df["value"].astype(str)))
    crs = CRS.from_user_input(meta["crs"])
    wanted = [n for n in listed if n not in (META_TABLE, "plan_edits")
              and (layers is None or n in layers)]
    frames: dict[str, pd.DataFrame] = {}
    for name in _ordered(wanted):
        if name in TABLE_LAYERS:
            frames[name] = read_plans(path) if name == "plans" else read_plan_cells(path)
        elif listed[name] is None:
            frames[name] = _retry_locked(lambda: pyogrio.read_dataframe(path, layer=name, read_geometry=False))
        else:
            frames[name] = _retry_locked(lambda: pyogrio.read_dataframe(path, layer=name))
    return Workspace(crs=crs, layers=frames, meta=meta, path=path)


@_also_in_databases
def layers_version(path: str | Path) -> tuple:
    """A token that changes when the layers of the workspace at ``path`` change (a rebuild
    renames a new file into place) but not when plans or edits are appended: the file's
    identity and the newest change date of its non-plan tables. Caches of layers, maps and
    graphs key on it, so that saving a plan does not make the app read everything again."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        return (str(p), None)
    try:
        con = _connect(p, readonly=True)
        try:
            stamp = con.execute("SELECT MAX(last_change), COUNT(*) FROM gpkg_contents WHERE "
                                "table_name NOT IN ('plans', 'plan_cells', 'plan_edits')").fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        stamp = (st.st_mtime_ns, 0)
    return (st.st_dev, st.st_ino, *stamp)


@_also_in_databases
def plan_count(path: str | Path) -> int:
    """How many plan versions the workspace at ``path`` holds (0 for a file without plans)."""
    if not is_workspace(path):
        return 0
    con = _connect(Path(path), readonly=True)
    try:
        if not _has_table(con, "plans"):
            return 0
        return int(con.execute("SELECT COUNT(*) FROM plans").fetchone()[0])
    finally:
        con.close()


@_also_in_databases(arg=1)
def write_workspace(ws: Workspace, path: str | Path, *, timestamp: str | None = None,
                    overwrite_plans: bool = False) -> Path:
    """Write ``ws`` to ``path`` atomically and return the path.

    The GeoPackage is written to a temporary file in the same folder, fsynced and renamed over
    ``path`` only when complete. A workspace at ``path`` that holds saved plans is not replaced
    unless ``overwrite_plans`` is true (its plans would be lost): InputError says how many.
    ``timestamp`` (ISO 8601) fixes the GeoPackage's internal change dates, which makes the file
    byte-for-byte reproducible (used by the demo generator).
    """
    path = Path(path)
    if path.exists() and not overwrite_plans:
        n = plan_count(path)
        if n:
            raise InputError(f"{path.name} holds {n} saved plan version(s), which replacing it "
                             "would lose; choose another name, or set overwrite_plans to replace "
                             "it anyway")
    options = {"OGR_CURRENT_DATE": timestamp} if timestamp else {}
    previous = {k: pyogrio.get_gdal_config_option(k) for k in options}
    try:
        pyogrio.set_gdal_config_options(options)
        with atomic_path(path) as tmp:
            meta = {**ws.meta, **_crs_meta(ws)}
            meta_df = pd.DataFrame({"key": list(meta), "value": [str(v) for v in meta.values()]})
            pyogrio.write_dataframe(meta_df, tmp, layer=META_TABLE, driver="GPKG")
            for name in _ordered(ws.layers):
                frame = ws.layers[name]
                if isinstance(frame, gpd.GeoDataFrame):
                    if frame.crs is None or not CRS(frame.crs).equals(ws.crs):
                        raise InputError(f"layer {name!r} is not in the workspace CRS "
                                         f"{ws.crs.to_string()}; reproject it before saving")
                    pyogrio.write_dataframe(frame, tmp, layer=name, driver="GPKG", append=False)
                elif name in TABLE_LAYERS:
                    continue  # written below with the plan schema
                else:
                    pyogrio.write_dataframe(pd.DataFrame(frame), tmp, layer=name, driver="GPKG")
            if any(n in ws.layers for n in TABLE_LAYERS):
                _write_plan_tables(tmp, ws.layers.get("plans"), ws.layers.get("plan_cells"))
            if timestamp:
                _fix_sqlite_dates(tmp, timestamp)
    finally:
        pyogrio.set_gdal_config_options(previous)
    return path


def _crs_meta(ws: Workspace) -> dict[str, str]:
    """The metadata a written workspace file carries about itself: the CRS as WKT, its name (the
    one the metadata has for this same CRS, so that copies keep it) and the format."""
    name = ws.meta.get("crs_name")
    try:
        same = bool(name) and bool(ws.meta.get("crs")) and CRS.from_user_input(ws.meta["crs"]).equals(ws.crs)
    except Exception:  # noqa: BLE001 - metadata that names no CRS: the name is made afresh
        same = False
    return {"crs": ws.crs.to_wkt(), "crs_name": str(name) if same else ws.crs.to_string(),
            "format": "gridpatrol-workspace/1"}


@_also_in_databases
def copy_workspace(src: str | Path, dst: str | Path) -> Path:
    """Copy the workspace ``src`` (plans and edits included) to ``dst`` atomically.

    The copy is a consistent snapshot even while others save plans into ``src`` (SQLite's
    online backup). ``dst`` must not exist.
    """
    src, dst = check_workspace(src), Path(dst)
    if dst.exists():
        raise InputError(f"{dst.name} exists already; choose another name")
    with atomic_path(dst) as tmp:
        _backup(src, tmp)
    return dst


def _backup(src: Path, dst: Path) -> None:
    """Copy the SQLite file ``src`` into ``dst`` with SQLite's online backup (a consistent
    snapshot even while others write)."""
    source = _connect(src, readonly=True)
    target = sqlite3.connect(dst)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


def _fix_sqlite_dates(path: Path, timestamp: str) -> None:
    """Set every last_change date to ``timestamp`` (belt and braces for reproducible files)."""
    con = sqlite3.connect(path)
    try:
        con.execute("UPDATE gpkg_contents SET last_change = ?", (timestamp,))
        con.commit()
        con.execute("VACUUM")
    finally:
        con.close()


# --- plan versions and edits: rows appended in transactions ---------------------------------------

def _has_table(con: sqlite3.Connection, name: str) -> bool:
    return con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                       (name,)).fetchone() is not None


def _ensure_plan_tables(con: sqlite3.Connection) -> None:
    """Create the plan tables as GeoPackage attribute tables (QGIS lists them) when missing, and
    add columns that workspaces of earlier versions lack. Runs inside the caller's transaction."""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    for table, columns in _PLAN_COLUMNS.items():
        if not _has_table(con, table):
            cols = ", ".join(f'"{c}" {kind}' for c, kind in columns)
            con.execute(f'CREATE TABLE "{table}" (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, {cols})')
            con.execute("INSERT OR REPLACE INTO gpkg_contents (table_name, data_type, identifier, "
                        "description, last_change) VALUES (?, 'attributes', ?, '', ?)",
                        (table, table, stamp))
            if _has_table(con, "gpkg_ogr_contents"):
                con.execute("INSERT OR REPLACE INTO gpkg_ogr_contents (table_name, feature_count) "
                            "VALUES (?, NULL)", (table,))
        else:
            have = {r[1] for r in con.execute(f'PRAGMA table_info("{table}")')}
            for c, kind in columns:
                if c not in have:
                    con.execute(f'ALTER TABLE "{table}" ADD COLUMN "{c}" {kind.replace(" NOT NULL", "")}')
        con.execute(f'CREATE INDEX IF NOT EXISTS "idx_{table}_{_PLAN_INDEXES[table]}" '
                    f'ON "{table}" ("{_PLAN_INDEXES[table]}")')


def _touch(con: sqlite3.Connection, tables: Iterable[str]) -> None:
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    con.executemany("UPDATE gpkg_contents SET last_change = ? WHERE table_name = ?",
                    [(stamp, t) for t in tables])
    if _has_table(con, "gpkg_ogr_contents"):  # GDAL recounts where the count is unknown
        con.executemany("UPDATE gpkg_ogr_contents SET feature_count = NULL WHERE table_name = ?",
                        [(t,) for t in tables])


def _write_plan_tables(path: Path, plans: pd.DataFrame | None, cells: pd.DataFrame | None) -> None:
    """Write whole plan tables into a fresh GeoPackage (a rebuild that keeps the history)."""
    con = _connect(path)
    try:
        con.execute("BEGIN IMMEDIATE")
        _ensure_plan_tables(con)
        for table, frame in (("plans", plans), ("plan_cells", cells)):
            if frame is None or not len(frame):
                continue
            cols = [c for c, _ in _PLAN_COLUMNS[table] if c in frame.columns]
            rows = pd.DataFrame(frame)[cols].astype(object).where(pd.DataFrame(frame)[cols].notna(), None)
            con.executemany(f'INSERT INTO "{table}" ({", ".join(cols)}) VALUES '
                            f'({", ".join("?" * len(cols))})',
                            [tuple(_sql_value(v) for v in r) for r in rows.itertuples(index=False)])
        con.execute("COMMIT")
    finally:
        con.close()


def _sql_value(v: object) -> object:
    if v is None or isinstance(v, (str, int, float)):
        return v
    if hasattr(v, "item"):  # numpy scalars
        return v.item()
    return str(v)


@_also_in_databases
def append_plan(path: str | Path, cells: pd.DataFrame, *, name: str, author: str,
                note: str = "", parent_id: int | None = None, created: str | None = None,
                draft: str | None = None, draft_seq: int | None = None) -> int:
    """Append a plan version to the workspace at ``path`` in one transaction; return its id.

    ``cells`` has the columns ``cell_id`` and ``station_id`` (stored as text). Ids are
    allocated inside the transaction, so concurrent saves get distinct ids and none is lost.
    Earlier versions are never changed. ``parent_id`` must name a saved version; ``draft`` and
    ``draft_seq`` tie the version to the edit history it came from (``append_edit``).
    """
    path = Path(path)
    name, cell_ids, station_ids = _plan_rows(cells, name=name, author=author)
    check_workspace(path)
    with _transaction(path) as con:
        _ensure_plan_tables(con)
        known = {r[0] for r in con.execute("SELECT plan_id FROM plans")}
        if parent_id is not None and int(parent_id) not in known:
            raise InputError(f"`parent_id` was {parent_id} but the workspace holds no such plan; "
                             f"saved plans are {sorted(known)[:50]}")
        new_id = (max(known) + 1) if known else 1
        con.execute("INSERT INTO plans (plan_id, parent_id, name, created, note, author, draft, "
                    "draft_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (new_id, None if parent_id is None else int(parent_id), name,
                     created or utc_now(), note, author, draft, draft_seq))
        con.executemany("INSERT INTO plan_cells (plan_id, cell_id, station_id) VALUES (?, ?, ?)",
                        [(new_id, c, s) for c, s in zip(cell_ids, station_ids)])
        _touch(con, ("plans", "plan_cells"))
    log.info("saved plan %s (%s) by %s in %s", new_id, name, author, path.name)
    return new_id


def _plan_rows(cells: pd.DataFrame, *, name: str, author: str) -> tuple[str, list, list]:
    """The checked name, cell ids and station ids (text) of a plan to append (both backends)."""
    name = (name or "").strip()
    if not name:
        raise InputError("`name` was empty; give the plan version a name")
    if not author:
        raise InputError("`author` was empty; every saved plan records who saved it")
    missing = [c for c in ("cell_id", "station_id") if c not in cells.columns]
    if missing:
        raise InputError(f"`cells` lacks the column(s) {missing}; it needs cell_id and station_id")
    if cells["station_id"].isna().any():
        raise InputError(f"{int(cells['station_id'].isna().sum())} cell(s) have no station; every "
                         "cell of a plan belongs to a station")
    from geo.ids import normalise_ids
    return name, normalise_ids(cells["cell_id"]).tolist(), normalise_ids(cells["station_id"]).tolist()


@_also_in_databases
def append_edit(path: str | Path, *, draft: str, action: str, author: str, label: str = "",
                payload: object = None, base: str | None = None) -> int:
    """Append one step of a draft's edit history (``action`` such as ``start``, ``push``,
    ``undo``, ``redo``, ``lock``, ``unlock``; ``payload`` any JSON value) in one transaction;
    return its sequence number within the draft (1, 2, ...)."""
    path = Path(path)
    if not draft or not action:
        raise InputError("`draft` and `action` are required for an edit")
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    with _transaction(path) as con:
        _ensure_plan_tables(con)
        seq = con.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM plan_edits WHERE draft = ?",
                          (draft,)).fetchone()[0]
        con.execute("INSERT INTO plan_edits (draft, seq, action, label, payload, author, created, "
                    "base) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (draft, seq, action, label, text, author, utc_now(), base))
        _touch(con, ("plan_edits",))
    return int(seq)


def _read_sql(path: Path, sql: str, params: tuple = ()) -> pd.DataFrame:
    con = _connect(path, readonly=True)
    try:
        return pd.read_sql_query(sql, con, params=params)
    finally:
        con.close()


def _table_exists(path: Path, table: str) -> bool:
    con = _connect(path, readonly=True)
    try:
        return _has_table(con, table)
    finally:
        con.close()


@_also_in_databases
def read_plans(path: str | Path) -> pd.DataFrame:
    """The plan versions of the workspace at ``path`` (plan_id, parent_id, name, created,
    note, author, draft, draft_seq), oldest first; empty with these columns when none."""
    path = Path(path)
    cols = [c for c, _ in _PLAN_COLUMNS["plans"]]
    if not _table_exists(path, "plans"):
        out = pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    else:
        have = {r for r in _read_sql(path, 'SELECT name FROM pragma_table_info("plans")')["name"]}
        select = ", ".join(c if c in have else f"NULL AS {c}" for c in cols)
        out = _read_sql(path, f"SELECT {select} FROM plans ORDER BY plan_id")
    out["plan_id"] = pd.array(pd.to_numeric(out["plan_id"]), dtype="Int64")
    out["parent_id"] = pd.array(pd.to_numeric(out["parent_id"]), dtype="Int64")
    out["draft_seq"] = pd.array(pd.to_numeric(out["draft_seq"]), dtype="Int64")
    for c in ("name", "created", "note", "author", "draft"):
        out[c] = out[c].astype(object)
    return out


@_also_in_databases
def read_plan_cells(path: str | Path, plan_id: int | None = None) -> pd.DataFrame:
    """The cell -> station rows of one saved plan (or of all, ``plan_id`` None): plan_id,
    cell_id, station_id (ids as text)."""
    path = Path(path)
    if not _table_exists(path, "plan_cells"):
        return pd.DataFrame({"plan_id": pd.Series(dtype="int64"), "cell_id": pd.Series(dtype=object),
                             "station_id": pd.Series(dtype=object)})
    if plan_id is None:
        out = _read_sql(path, "SELECT plan_id, cell_id, station_id FROM plan_cells ORDER BY fid")
    else:
        out = _read_sql(path, "SELECT plan_id, cell_id, station_id FROM plan_cells WHERE plan_id = ? "
                        "ORDER BY fid", (int(plan_id),))
    from geo.ids import normalise_ids
    out["cell_id"] = normalise_ids(out["cell_id"])
    out["station_id"] = normalise_ids(out["station_id"])
    return out


@_also_in_databases
def read_edits(path: str | Path, draft: str) -> list[dict]:
    """The steps of ``draft`` in order: dicts with seq, action, label, payload (decoded JSON),
    author, created, base."""
    path = Path(path)
    if not _table_exists(path, "plan_edits"):
        return []
    df = _read_sql(path, "SELECT seq, action, label, payload, author, created, base FROM plan_edits "
                   "WHERE draft = ? ORDER BY seq", (draft,))
    rows = df.to_dict("records")
    for r in rows:
        r["payload"] = json.loads(r["payload"]) if r["payload"] else None
    return rows


@_also_in_databases
def latest_draft(path: str | Path, *, author: str) -> str | None:
    """The draft ``author`` edited last in the workspace at ``path`` (None when none)."""
    path = Path(path)
    if not _table_exists(path, "plan_edits"):
        return None
    df = _read_sql(path, "SELECT draft FROM plan_edits WHERE author = ? ORDER BY fid DESC LIMIT 1",
                   (author,))
    return None if df.empty else str(df["draft"].iloc[0])


@_also_in_databases
def set_meta(path: str | Path, **values: object) -> dict[str, str]:
    """Set metadata entries of the workspace at ``path`` in one transaction and return the
    metadata as it then stands.

    Each keyword is a key of the ``gridpatrol_meta`` table (letters, digits and ``_``); its
    value is stored as text, and None removes the key. The layers are untouched; the meta
    table's change date moves (``layers_version`` changes, so caches of the workspace refresh).
    Concurrent writers each commit whole (SQLite's lock); a killed write leaves the workspace
    as it was. ``crs``, ``crs_name`` and ``format`` belong to the file and cannot be set.
    """
    path = check_workspace(path)
    _check_meta_keys(values)
    with _transaction(path) as con:
        for key, value in values.items():
            con.execute(f'DELETE FROM "{META_TABLE}" WHERE key = ?', (key,))
            if value is not None:
                con.execute(f'INSERT INTO "{META_TABLE}" (key, value) VALUES (?, ?)', (key, str(value)))
        _touch(con, (META_TABLE,))
        rows = con.execute(f'SELECT key, value FROM "{META_TABLE}" ORDER BY fid').fetchall()
    return {str(k): str(v) for k, v in rows}


def _check_meta_keys(values: Mapping[str, object]) -> None:
    fixed = {"crs", "crs_name", "format"}
    bad = [k for k in values if k in fixed or not k.replace("_", "").isalnum()]
    if bad:
        raise InputError(f"metadata keys {bad} cannot be set; give keys of letters, digits and _ "
                         f"other than {sorted(fixed)}")


@_also_in_databases
def replace_layers(path: str | Path, layers: Mapping[str, gpd.GeoDataFrame], *,
                   author: str) -> Path:
    """Replace (or add) whole layers of the workspace at ``path`` in place, keeping everything
    else (plans, edits, other layers), and return the path.

    Under the workspace's write lock (BEGIN IMMEDIATE on the live file, so no plan save
    commits meanwhile) the file is copied with SQLite's backup to a temporary beside it
    (``geo.atomic``), the layers are written into the copy, and the copy is fsynced and renamed
    over ``path``. Saves that waited for the lock notice the new file and go into it
    (``geo.dbfile.locked_file``); an interruption leaves the old file as it was. ``author`` and
    the time are recorded in the metadata (``layer_<name>_by``, ``layer_<name>_at``).
    """
    path = check_workspace(path)
    if not author:
        raise InputError("`author` was empty; every layer replacement records who made it")
    crs_text = pyogrio.read_dataframe(path, layer=META_TABLE, read_geometry=False)
    crs_text = dict(zip(crs_text["key"], crs_text["value"])).get("crs")
    _check_replacement(layers, CRS.from_user_input(crs_text) if crs_text else None)
    stamp = utc_now()
    with locked_file(path):
        with atomic_path(path) as tmp:
            # a second connection reads (the lock holder cannot be a backup source); with the
            # write lock held nothing changes while it copies
            _backup(path, tmp)
            for name, frame in layers.items():
                pyogrio.write_dataframe(frame, tmp, layer=name, driver="GPKG", append=False)
            meta = _connect(tmp)
            try:
                meta.execute("BEGIN IMMEDIATE")
                for key, value in ((f"layer_{n}_{w}", v) for n in layers
                                   for w, v in (("by", author), ("at", stamp))):
                    meta.execute(f'DELETE FROM "{META_TABLE}" WHERE key = ?', (key,))
                    meta.execute(f'INSERT INTO "{META_TABLE}" (key, value) VALUES (?, ?)',
                                 (key, value))
                meta.execute("COMMIT")
            finally:
                meta.close()
        # the new file is in place; the lock on the old one is released by the (empty) commit
    log.info("replaced layer(s) %s of %s (by %s)", ", ".join(layers), path.name, author)
    return path


def _check_replacement(layers: Mapping[str, gpd.GeoDataFrame], ws_crs: CRS | None) -> None:
    for name, frame in layers.items():
        if name in PLAN_TABLES or name == META_TABLE or not str(name).replace("_", "").isalnum():
            raise InputError(f"layer {name!r} cannot be replaced this way; give a layer name of "
                             "letters, digits and _ other than the plan tables")
        if not isinstance(frame, gpd.GeoDataFrame) or frame.crs is None or (
                ws_crs is not None and not CRS(frame.crs).equals(ws_crs)):
            raise InputError(f"layer {name!r} is not a GeoDataFrame in the workspace CRS; "
                             "reproject it before saving")


def workspace_info(ws: Workspace) -> dict:
    """The summary ``gridpatrol info`` prints: ``crs``, ``area_km2``, ``layers`` {name: count}."""
    area_km2 = None
    if ws.has("area"):
        area_km2 = round(float(ws.layer("area").geometry.area.sum()) / 1e6, 3)
    return {
        "name": ws.name,
        "path": str(ws.path) if ws.path else None,
        "crs": ws.crs.to_string(),
        "area_km2": area_km2,
        "layers": {name: int(len(frame)) for name, frame in ws.layers.items()},
    }
