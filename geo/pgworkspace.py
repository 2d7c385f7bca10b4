"""Workspaces in PostgreSQL/PostGIS: one schema per workspace, used as ``geo.workspace`` uses a
GeoPackage.

A workspace at ``postgresql://USER@HOST:PORT/DB?schema=NAME`` (``geo.pgurl``) is the schema
``NAME`` holding

- one table per layer: ``fid`` (row order), the attribute columns, and for spatial layers a
  PostGIS column ``geom`` of type ``geometry(<type>, <SRID of the workspace CRS>)`` with a GiST
  index;
- ``gridpatrol_meta`` (key, value) as in the GeoPackage, the working CRS as WKT under ``crs``;
- ``gridpatrol_contents`` (table_name, data_type, srid, last_change), GridPatrol's
  ``gpkg_contents``: which tables are layers and when each last changed (``layers_version``);
- the plan history ``plans``, ``plan_cells`` and ``plan_edits``, with the columns of the
  GeoPackage's (``geo.workspace._PLAN_COLUMNS``).

Every write is one transaction that first takes the workspace's advisory lock (one writer at a
time per workspace, readers never wait): appending a plan or an edit allocates its id under the
lock, so concurrent saves get distinct ids and none is lost; a writer killed half-way is rolled
back by the server. Whole-workspace writes (``write_workspace``) replace the schema's GridPatrol
tables in one transaction and refuse to replace saved plans unless told to. The public
functions have the signatures of ``geo.workspace``'s, which hands database URLs to them.

Connections use psycopg 3; credentials come from the URL, libpq's environment (``PGPASSWORD``,
``PGSERVICE``...), ``~/.pgpass`` or a service file, and are never shown.
"""
from __future__ import annotations

import json
import logging
import math
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geo.errors import InputError
from geo.pgurl import DatabaseURL, database_url, is_database_url, redact
from geo.workspace import (
    _PLAN_COLUMNS,
    META_TABLE,
    PLAN_TABLES,
    TABLE_LAYERS,
    Workspace,
    _check_meta_keys,
    _check_replacement,
    _crs_meta,
    _ordered,
    _plan_rows,
    utc_now,
)

__all__ = ["is_workspace", "check_workspace", "read_workspace", "write_workspace", "layers_version",
           "plan_count", "plans_version", "append_plan", "append_edit", "read_plans", "read_plan_cells",
           "read_edits", "latest_draft", "set_meta", "replace_layers", "copy_workspace",
           "transfer_workspace", "read_edit_rows"]

log = logging.getLogger(__name__)

CONTENTS_TABLE = "gridpatrol_contents"
GEOMETRY_COLUMN = "geom"
_EDIT_COLUMNS = [c for c, _ in _PLAN_COLUMNS["plan_edits"]]
_USER_SRID = (910000, 998999)  # PostGIS's range for user-defined spatial reference systems


def _psycopg():
    try:
        import psycopg
    except ImportError:  # pragma: no cover - a declared dependency
        raise InputError("database workspaces need the psycopg package; install it with "
                         "`pip install 'psycopg[binary]'`") from None
    return psycopg


def _sql():
    return _psycopg().sql


# --- connections ------------------------------------------------------------------------------

@contextmanager
def _connection(url: DatabaseURL, *, write: bool = False) -> Iterator:
    """A connection to ``url``'s database with the workspace schema and PostGIS on the search
    path; for ``write`` one transaction holding the workspace's advisory lock, committed when
    the block ends and rolled back on any exception. Connection failures are InputErrors that
    name the URL without its password."""
    psycopg = _psycopg()
    try:
        con = psycopg.connect(url.conninfo, autocommit=not write)
    except psycopg.Error as exc:
        raise InputError(f"{url.display}: cannot connect to the database "
                         f"({_clean(exc, url)}); check host, port, database and user, and give the "
                         "password with PGPASSWORD, ~/.pgpass or a service file") from None
    try:
        con.execute("SELECT set_config('search_path', %s, false)",
                    (f'"{url.schema}", public, {_extension_schema(con)}',))
        if write:
            con.execute("SELECT pg_advisory_xact_lock(hashtext('gridpatrol.workspace'), "
                        "hashtext(%s))", (url.schema,))
        yield con
        if write:
            con.commit()
    except psycopg.Error as exc:
        if write and not con.closed:
            con.rollback()
        raise InputError(f"{url.display}: the database refused ({_clean(exc, url)})") from None
    except BaseException:
        if write and not con.closed:
            con.rollback()
        raise
    finally:
        con.close()


def _clean(exc: BaseException, url: DatabaseURL) -> str:
    return " ".join(redact(str(exc), (url.password,)).split())[:300]


def _extension_schema(con) -> str:
    """The quoted schema PostGIS is installed in (``public`` when it is not installed yet)."""
    row = con.execute("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON "
                      "n.oid = e.extnamespace WHERE e.extname = 'postgis'").fetchone()
    return '"' + (row[0] if row else "public").replace('"', '""') + '"'


def _has_table(con, schema: str, table: str) -> bool:
    return con.execute("SELECT to_regclass(%s) IS NOT NULL",
                       (f'"{schema}"."{table}"',)).fetchone()[0]


def _ident(*names: str):
    return _sql().Identifier(*names)


# --- opening ------------------------------------------------------------------------------------

def is_workspace(path: str | DatabaseURL) -> bool:
    """True when ``path`` names a schema holding a GridPatrol workspace; never raises (a bad
    URL, an unreachable server or a foreign schema give False)."""
    try:
        url = database_url(path)
        with _connection(url) as con:
            return _has_table(con, url.schema, META_TABLE)
    except Exception:  # noqa: BLE001 - "is it one?" never fails
        return False


def check_workspace(path: str | DatabaseURL) -> DatabaseURL:
    """Check that ``path`` names a workspace and return it as a ``DatabaseURL``. Raises
    InputError naming the URL (without password) and the fix when the database cannot be
    reached, the schema is missing or holds no GridPatrol workspace."""
    url = database_url(path)
    with _connection(url) as con:
        if not _has_table(con, url.schema, META_TABLE):
            exists = con.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s",
                                 (url.schema,)).fetchone()
            what = "holds no GridPatrol workspace" if exists else "does not exist"
            raise InputError(f"{url.display}: the schema {url.schema!r} {what}; create the "
                             "workspace with `gridpatrol import` or `gridpatrol copy ws.gpkg URL`")
    return url


def _meta(con, url: DatabaseURL) -> dict[str, str]:
    rows = con.execute(_sql().SQL("SELECT key, value FROM {} ORDER BY fid").format(
        _ident(url.schema, META_TABLE))).fetchall()
    return {str(k): "" if v is None else str(v) for k, v in rows}


def _layer_tables(con, url: DatabaseURL) -> dict[str, str]:
    """Layer table -> data_type ('features' or 'attributes'), in the order they were written."""
    rows = con.execute(_sql().SQL("SELECT table_name, data_type FROM {} WHERE data_type IN "
                                  "('features', 'attributes') ORDER BY seq").format(
        _ident(url.schema, CONTENTS_TABLE))).fetchall()
    skip = {META_TABLE, CONTENTS_TABLE, *PLAN_TABLES}
    return {str(t): str(d) for t, d in rows if t not in skip and _has_table(con, url.schema, t)}


def read_workspace(path: str | DatabaseURL, *, layers: list[str] | None = None) -> Workspace:
    """Open the workspace at ``path`` (see ``geo.workspace.read_workspace``): every layer (or
    only ``layers``), the metadata and the CRS, in one consistent snapshot (one read-only
    repeatable-read transaction). ``Workspace.path`` is the ``DatabaseURL``."""
    url = check_workspace(path)
    with _connection(url) as con:
        con.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            meta = _meta(con, url)
            crs = CRS.from_user_input(meta["crs"])
            tables = _layer_tables(con, url)
            wanted = [t for t in tables if layers is None or t in layers]
            wanted += [t for t in TABLE_LAYERS if _has_table(con, url.schema, t)
                       and (layers is None or t in layers)]
            frames: dict[str, pd.DataFrame] = {}
            for name in _ordered(wanted):
                if name == "plans":
                    frames[name] = _plans_frame(con, url)
                elif name == "plan_cells":
                    frames[name] = _plan_cells_frame(con, url, None)
                else:
                    frames[name] = _read_table(con, url, name, crs)
        finally:
            con.execute("COMMIT")
    return Workspace(crs=crs, layers=frames, meta=meta, path=url)


def _columns(con, schema: str, table: str) -> list[tuple[str, str]]:
    """(name, type) of the table's columns in order, ``fid`` left out."""
    rows = con.execute("SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                       "WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped "
                       "ORDER BY attnum", (f'"{schema}"."{table}"',)).fetchall()
    return [(str(n), str(t)) for n, t in rows if n != "fid"]


def _read_table(con, url: DatabaseURL, table: str, crs: CRS) -> pd.DataFrame:
    """One layer as pyogrio reads it from a GeoPackage: integers without nulls as int64 (with
    nulls float64), booleans without nulls as bool, text as str, geometry as ``geometry``."""
    sql = _sql()
    cols = _columns(con, url.schema, table)
    select = [sql.SQL("ST_AsBinary({})").format(_ident(n)) if t.startswith("geometry")
              else _ident(n) for n, t in cols]
    query = sql.SQL("SELECT {} FROM {} ORDER BY fid").format(
        sql.SQL(", ").join(select) if select else sql.SQL("NULL"), _ident(url.schema, table))
    rows = con.execute(query).fetchall()
    data: dict[str, object] = {}
    geometry = None
    for i, (name, kind) in enumerate(cols):
        values = [r[i] for r in rows]
        if kind.startswith("geometry"):
            geometry = shapely.from_wkb(np.array(values, dtype=object))
            continue
        data[name] = _column_from(values, kind)
    frame = pd.DataFrame(data, index=pd.RangeIndex(len(rows)))
    if geometry is None:
        return frame
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometry, crs=crs), crs=crs)


# Column types and the dtypes read back, as GDAL keeps them in a GeoPackage (int32 columns are
# OFTInteger, int16 ones its int16 subtype, float32 ones the float32 subtype).
_INT_DTYPES = {"bigint": "int64", "integer": "int32", "smallint": "int16"}


def _column_from(values: list, kind: str) -> pd.Series:
    has_null = any(v is None for v in values)
    if kind in _INT_DTYPES:
        if has_null:
            return pd.Series([np.nan if v is None else float(v) for v in values], dtype="float64")
        return pd.Series(values, dtype=_INT_DTYPES[kind])
    if kind in ("double precision", "real", "numeric"):
        return pd.Series([np.nan if v is None else float(v) for v in values],
                         dtype="float32" if kind == "real" else "float64")
    if kind == "boolean":
        return pd.Series(values, dtype=object if has_null else bool)
    if kind.startswith("timestamp") or kind == "date":
        return pd.Series(pd.to_datetime(values)).dt.as_unit("ms")  # milliseconds, as GDAL
    return pd.Series(values, dtype=object if not values else None)


def layers_version(path: str | DatabaseURL) -> tuple:
    """A token that changes when the layers or metadata change, not when plans or edits are
    appended (see ``geo.workspace.layers_version``): the newest change date of the non-plan
    tables in ``gridpatrol_contents``."""
    try:
        url = database_url(path)
        with _connection(url) as con:
            stamp = con.execute(_sql().SQL(
                "SELECT MAX(last_change)::text, COUNT(*) FROM {} WHERE table_name <> ALL(%s)").format(
                _ident(url.schema, CONTENTS_TABLE)), (list(PLAN_TABLES),)).fetchone()
    except InputError:
        return (str(path), None)
    return (url.display, *stamp)


def plans_version(path: str | DatabaseURL) -> tuple:
    """A token that changes whenever a plan version or an edit is appended (the change dates of
    the plan tables); caches of the plan tables key on it."""
    url = database_url(path)
    with _connection(url) as con:
        if not _has_table(con, url.schema, CONTENTS_TABLE):
            return (url.display, None)
        row = con.execute(_sql().SQL("SELECT MAX(last_change)::text, COUNT(*) FROM {} WHERE "
                                     "table_name = ANY(%s)").format(
            _ident(url.schema, CONTENTS_TABLE)), (list(PLAN_TABLES),)).fetchone()
    return (url.display, *row)


def plan_count(path: str | DatabaseURL) -> int:
    """How many plan versions the workspace at ``path`` holds (0 when none or no workspace)."""
    if not is_workspace(path):
        return 0
    url = database_url(path)
    with _connection(url) as con:
        return _plan_count(con, url)


def _plan_count(con, url: DatabaseURL) -> int:
    if not _has_table(con, url.schema, "plans"):
        return 0
    return int(con.execute(_sql().SQL("SELECT COUNT(*) FROM {}").format(
        _ident(url.schema, "plans"))).fetchone()[0])


# --- writing whole workspaces ---------------------------------------------------------------------

def write_workspace(ws: Workspace, path: str | DatabaseURL, *, timestamp: str | None = None,
                    overwrite_plans: bool = False, edits: pd.DataFrame | None = None) -> DatabaseURL:
    """Write ``ws`` into the schema of ``path`` in one transaction and return the URL (see
    ``geo.workspace.write_workspace``).

    The schema is created when missing (PostGIS too, where the account may). A schema that
    holds a workspace has its GridPatrol tables replaced, and is refused when it holds saved
    plans unless ``overwrite_plans`` (InputError says how many); a schema holding other tables
    is refused. Readers see the old workspace until the commit; a writer killed half-way leaves
    it as it was. ``timestamp`` fixes the change dates; ``edits`` (the rows of
    ``read_edit_rows``) fills ``plan_edits`` (a copy keeps the draft histories).
    """
    url = database_url(path)
    for name, frame in ws.layers.items():
        if isinstance(frame, gpd.GeoDataFrame) and (frame.crs is None
                                                    or not CRS(frame.crs).equals(ws.crs)):
            raise InputError(f"layer {name!r} is not in the workspace CRS {ws.crs.to_string()}; "
                             "reproject it before saving")
    with _connection(url, write=True) as con:
        _ensure_postgis(con, url)
        sql = _sql()
        con.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(_ident(url.schema)))
        if _has_table(con, url.schema, META_TABLE):
            n = _plan_count(con, url)
            if n and not overwrite_plans:
                raise InputError(f"{url.display} holds {n} saved plan version(s), which replacing "
                                 "it would lose; choose another schema, or set overwrite_plans to "
                                 "replace it anyway")
            _drop_workspace_tables(con, url)
        else:
            others = [r[0] for r in con.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relkind IN ('r', 'v', 'm', 'p', 'f') ORDER BY 1",
                (url.schema,)).fetchall()]
            if others:
                raise InputError(f"{url.display}: the schema {url.schema!r} holds tables that are "
                                 f"not a GridPatrol workspace ({', '.join(others[:8])}); choose "
                                 "another schema")
        stamp = timestamp  # None: the transaction's clock, to the microsecond
        _create_contents(con, url)
        meta = {**ws.meta, **_crs_meta(ws)}
        con.execute(sql.SQL("CREATE TABLE {} (fid bigserial PRIMARY KEY, key text NOT NULL "
                            "UNIQUE, value text)").format(_ident(url.schema, META_TABLE)))
        _copy_rows(con, url, META_TABLE, ["key", "value"],
                   [(str(k), str(v)) for k, v in meta.items()])
        _register(con, url, META_TABLE, "attributes", None, stamp)
        srid = _srid(con, ws.crs)
        for name in _ordered(ws.layers):
            if name in TABLE_LAYERS:
                continue
            _write_layer(con, url, name, ws.layers[name], srid, stamp)
        if any(n in ws.layers for n in TABLE_LAYERS) or (edits is not None and len(edits)):
            _ensure_plan_tables(con, url, stamp)
            for table, frame in (("plans", ws.layers.get("plans")),
                                 ("plan_cells", ws.layers.get("plan_cells")),
                                 ("plan_edits", edits)):
                _write_plan_rows(con, url, table, frame)
    log.info("wrote workspace %s", url.display)
    return url


def _ensure_postgis(con, url: DatabaseURL) -> None:
    if con.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone():
        return
    psycopg = _psycopg()
    try:
        con.execute("SAVEPOINT postgis")
        con.execute("CREATE EXTENSION postgis")
        con.execute("RELEASE SAVEPOINT postgis")
    except psycopg.Error as exc:
        con.execute("ROLLBACK TO SAVEPOINT postgis")
        raise InputError(f"{url.display}: PostGIS is not installed in this database and could not "
                         f"be ({_clean(exc, url)}); ask its administrator to run CREATE EXTENSION "
                         "postgis") from None
    con.execute("SELECT set_config('search_path', %s, false)",
                (f'"{url.schema}", public, {_extension_schema(con)}',))


def _drop_workspace_tables(con, url: DatabaseURL) -> None:
    sql = _sql()
    tables = list(_layer_tables(con, url)) if _has_table(con, url.schema, CONTENTS_TABLE) else []
    for t in [*tables, *PLAN_TABLES, META_TABLE, CONTENTS_TABLE]:
        con.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(_ident(url.schema, t)))


def _create_contents(con, url: DatabaseURL) -> None:
    con.execute(_sql().SQL(
        "CREATE TABLE IF NOT EXISTS {} (table_name text PRIMARY KEY, data_type text NOT NULL, "
        "srid integer, last_change timestamptz NOT NULL, seq bigserial)").format(
        _ident(url.schema, CONTENTS_TABLE)))


def _register(con, url: DatabaseURL, table: str, data_type: str, srid: int | None,
              stamp: str | None = None) -> None:
    con.execute(_sql().SQL(
        "INSERT INTO {} (table_name, data_type, srid, last_change) VALUES (%s, %s, %s, "
        "COALESCE(%s::timestamptz, clock_timestamp())) ON CONFLICT (table_name) DO UPDATE SET "
        "data_type = EXCLUDED.data_type, srid = EXCLUDED.srid, last_change = "
        "EXCLUDED.last_change").format(_ident(url.schema, CONTENTS_TABLE)),
        (table, data_type, srid, stamp))


def _touch(con, url: DatabaseURL, tables) -> None:
    con.execute(_sql().SQL("UPDATE {} SET last_change = clock_timestamp() WHERE table_name = "
                           "ANY(%s)").format(_ident(url.schema, CONTENTS_TABLE)), (list(tables),))


def _srid(con, crs: CRS) -> int:
    """The SRID of ``crs`` in spatial_ref_sys: its EPSG code when PostGIS knows it, else a
    user-defined SRID (910000-998999) added with its WKT and PROJ string (0 when the account
    may not add one: the meta table's WKT stays the workspace's CRS)."""
    code = crs.to_epsg()
    if code and con.execute("SELECT 1 FROM spatial_ref_sys WHERE srid = %s", (code,)).fetchone():
        return int(code)
    with warnings.catch_warnings():  # "you will likely lose projection information": the WKT is kept too
        warnings.simplefilter("ignore", UserWarning)
        proj4 = crs.to_proj4()
    row = con.execute("SELECT srid FROM spatial_ref_sys WHERE srtext = %s AND srid >= %s",
                      (crs.to_wkt("WKT1_GDAL"), _USER_SRID[0])).fetchone()
    if row:
        return int(row[0])
    psycopg = _psycopg()
    try:
        con.execute("SAVEPOINT srid")
        srid = con.execute("SELECT GREATEST(COALESCE(MAX(srid) + 1, 0), %s) FROM spatial_ref_sys "
                           "WHERE srid BETWEEN %s AND %s", (_USER_SRID[0], *_USER_SRID)).fetchone()[0]
        con.execute("INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, srtext, proj4text) "
                    "VALUES (%s, 'gridpatrol', %s, %s, %s)",
                    (srid, srid, crs.to_wkt("WKT1_GDAL"), proj4))
        con.execute("RELEASE SAVEPOINT srid")
        return int(srid)
    except psycopg.Error as exc:
        con.execute("ROLLBACK TO SAVEPOINT srid")
        log.warning("the CRS %s has no SRID in this database and none could be added (%s); the "
                    "geometries carry SRID 0 and the workspace's CRS is its metadata's",
                    crs.to_string(), " ".join(str(exc).split())[:200])
        return 0


_TYPE_NAMES = {0: "Point", 1: "LineString", 2: "LineString", 3: "Polygon", 4: "MultiPoint",
               5: "MultiLineString", 6: "MultiPolygon", 7: "GeometryCollection"}


def _geometry_type(geoms: np.ndarray, srid: int) -> str:
    """``geometry(<type>[Z], srid)`` for the geometries (Geometry when their types differ;
    GeometryZ when some have z and others not: the 2-D ones are stored with z = 0)."""
    present = geoms[~shapely.is_missing(geoms)]
    types = {_TYPE_NAMES.get(int(t), "Geometry") for t in shapely.get_type_id(present)}
    kind = types.pop() if len(types) == 1 else "Geometry"
    solid = present[~shapely.is_empty(present)]
    has_z = shapely.has_z(solid) if len(solid) else np.array([], dtype=bool)
    if len(has_z) and has_z.all():
        kind += "Z"
    elif has_z.any():
        kind = "GeometryZ"
    return f"geometry({kind}, {srid})"


def _promoted_to_multi(geoms: np.ndarray) -> np.ndarray:
    """Single and multi geometries of one kind mixed (polygons and multipolygons) all as multi,
    as GDAL writes them to a GeoPackage, so that both backends hold the same layer."""
    present = ~shapely.is_missing(geoms)
    ids = set(shapely.get_type_id(geoms[present]).tolist())
    for single, multi in ((0, 4), (1, 5), (3, 6)):
        if ids == {single, multi}:
            out = geoms.copy()
            singles = present & (shapely.get_type_id(geoms) == single)
            make = {0: shapely.multipoints, 1: shapely.multilinestrings, 3: shapely.multipolygons}[single]
            out[singles] = [make([g]) for g in geoms[singles]]
            return out
    return geoms


def _pg_type(series: pd.Series) -> str:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        size = np.dtype(getattr(dtype, "numpy_dtype", dtype)).itemsize
        signed = pd.api.types.is_signed_integer_dtype(dtype)
        return ("smallint" if size == 1 or (size == 2 and signed)
                else "integer" if size == 2 or (size == 4 and signed) else "bigint")
    if pd.api.types.is_float_dtype(dtype):
        return "real" if np.dtype(getattr(dtype, "numpy_dtype", dtype)).itemsize == 4 else "double precision"
    if isinstance(dtype, pd.DatetimeTZDtype):
        return "timestamptz"
    if pd.api.types.is_datetime64_dtype(dtype):
        return "timestamp"
    inferred = pd.api.types.infer_dtype(series, skipna=True)
    return {"boolean": "boolean", "integer": "bigint", "floating": "double precision",
            "mixed-integer-float": "double precision", "datetime64": "timestamp",
            "datetime": "timestamp", "date": "date"}.get(inferred, "text")


def _python_values(series: pd.Series, kind: str) -> list:
    """The column's values as Python objects for psycopg (None for missing)."""
    if kind.startswith("timestamp"):
        return [None if pd.isna(v) else pd.Timestamp(v).to_pydatetime() for v in series]
    out: list = []
    for v in series.tolist():
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT:
            out.append(None)
        elif kind in _INT_DTYPES:
            out.append(int(v))
        elif kind in ("double precision", "real"):
            out.append(float(v))
        elif kind == "boolean":
            out.append(bool(v))
        elif kind == "text" and not isinstance(v, str):
            out.append(str(v))
        else:
            out.append(v)
    return out


def _write_layer(con, url: DatabaseURL, name: str, frame: pd.DataFrame, srid: int,
                 stamp: str | None) -> None:
    """Create the layer's table (``fid``, the columns, ``geom`` with a GiST index) and COPY the
    rows in order."""
    sql = _sql()
    if not str(name).replace("_", "").isalnum():
        raise InputError(f"layer {name!r} cannot be stored; layer names are letters, digits and _")
    spatial = isinstance(frame, gpd.GeoDataFrame)
    attrs = pd.DataFrame(frame.drop(columns=frame.geometry.name) if spatial else frame)
    clash = [c for c in attrs.columns if str(c).lower() in ("fid", GEOMETRY_COLUMN)]
    if clash:
        raise InputError(f"layer {name!r} has a column named {clash[0]!r}, which the database "
                         f"table uses itself; rename it before saving")
    long = [str(c) for c in attrs.columns if len(str(c).encode("utf-8")) > 63]
    if long:
        raise InputError(f"layer {name!r}: the column name {long[0]!r} is longer than PostgreSQL's "
                         "63 bytes (21 Chinese characters); shorten it before saving")
    kinds = {str(c): _pg_type(attrs[c]) for c in attrs.columns}
    defs = [sql.SQL("{} {}").format(_ident(c), sql.SQL(k)) for c, k in kinds.items()]
    columns = list(kinds)
    values = [_python_values(attrs[c], kinds[str(c)]) for c in attrs.columns]
    if spatial:
        geoms = _promoted_to_multi(np.asarray(frame.geometry.values, dtype=object))
        gtype = _geometry_type(geoms, srid)
        defs.append(sql.SQL("{} {}").format(_ident(GEOMETRY_COLUMN), sql.SQL(gtype)))
        columns.append(GEOMETRY_COLUMN)
        if "Z" in gtype:
            geoms = shapely.force_3d(geoms)
        hexes = shapely.to_wkb(shapely.set_srid(geoms, srid), hex=True, include_srid=True)
        values.append([None if g is None else str(g) for g in hexes.tolist()])
    con.execute(sql.SQL("CREATE TABLE {} (fid bigserial PRIMARY KEY{}{})").format(
        _ident(url.schema, name), sql.SQL(", " if defs else ""), sql.SQL(", ").join(defs)))
    _copy_rows(con, url, name, columns, zip(*values) if values else [() for _ in range(len(frame))])
    if spatial:
        con.execute(sql.SQL("CREATE INDEX {} ON {} USING GIST ({})").format(
            _ident(f"{name}_geom_idx"), _ident(url.schema, name), _ident(GEOMETRY_COLUMN)))
        con.execute(sql.SQL("ANALYZE {}").format(_ident(url.schema, name)))
    _register(con, url, name, "features" if spatial else "attributes", srid if spatial else None,
              stamp)


def _copy_rows(con, url: DatabaseURL, table: str, columns: list[str], rows) -> None:
    sql = _sql()
    if not columns:  # a table of no columns: rows are only their fids
        n = sum(1 for _ in rows)
        if n:
            con.execute(sql.SQL("INSERT INTO {} SELECT FROM generate_series(1, %s)").format(
                _ident(url.schema, table)), (n,))
        return
    stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(
        _ident(url.schema, table), sql.SQL(", ").join(_ident(c) for c in columns))
    with con.cursor().copy(stmt) as copy:
        for row in rows:
            copy.write_row(row)


# --- plan versions and edits: rows appended in transactions ---------------------------------------

def _ensure_plan_tables(con, url: DatabaseURL, stamp: str | None = None) -> None:
    """Create the plan tables when missing (under the caller's advisory lock)."""
    sql = _sql()
    for table, columns in _PLAN_COLUMNS.items():
        if _has_table(con, url.schema, table):
            continue
        defs = [sql.SQL("{} {}").format(_ident(c), sql.SQL(kind.replace("INTEGER", "bigint")
                                                             .replace("TEXT", "text")))
                for c, kind in columns]
        con.execute(sql.SQL("CREATE TABLE {} (fid bigserial PRIMARY KEY, {})").format(
            _ident(url.schema, table), sql.SQL(", ").join(defs)))
        key = {"plans": ("plan_id",), "plan_cells": ("plan_id",),
               "plan_edits": ("draft", "seq")}[table]
        unique = table != "plan_cells"
        con.execute(sql.SQL("CREATE {} INDEX {} ON {} ({})").format(
            sql.SQL("UNIQUE" if unique else ""), _ident(f"idx_{table}_{key[0]}"),
            _ident(url.schema, table), sql.SQL(", ").join(_ident(k) for k in key)))
        _register(con, url, table, "attributes", None, stamp)


def _write_plan_rows(con, url: DatabaseURL, table: str, frame: pd.DataFrame | None) -> None:
    if frame is None or not len(frame):
        return
    cols = [c for c, _ in _PLAN_COLUMNS[table] if c in frame.columns]
    kinds = {c: "bigint" if "INTEGER" in k else "text" for c, k in _PLAN_COLUMNS[table]}
    values = [_python_values(pd.Series(frame[c]).astype(object), kinds[c]) for c in cols]
    _copy_rows(con, url, table, cols, zip(*values))


def append_plan(path: str | DatabaseURL, cells: pd.DataFrame, *, name: str, author: str,
                note: str = "", parent_id: int | None = None, created: str | None = None,
                draft: str | None = None, draft_seq: int | None = None) -> int:
    """Append a plan version in one transaction under the workspace's lock; return its id (see
    ``geo.workspace.append_plan``: ids are allocated under the lock, so concurrent saves get
    distinct ids, and earlier versions never change)."""
    name, cell_ids, station_ids = _plan_rows(cells, name=name, author=author)
    url = check_workspace(path)
    sql = _sql()
    with _connection(url, write=True) as con:
        _ensure_plan_tables(con, url)
        plans = _ident(url.schema, "plans")
        if parent_id is not None and not con.execute(
                sql.SQL("SELECT 1 FROM {} WHERE plan_id = %s").format(plans),
                (int(parent_id),)).fetchone():
            known = [r[0] for r in con.execute(sql.SQL("SELECT plan_id FROM {} ORDER BY plan_id "
                                                       "LIMIT 50").format(plans))]
            raise InputError(f"`parent_id` was {parent_id} but the workspace holds no such plan; "
                             f"saved plans are {known}")
        new_id = int(con.execute(sql.SQL("SELECT COALESCE(MAX(plan_id), 0) + 1 FROM {}").format(
            plans)).fetchone()[0])
        con.execute(sql.SQL("INSERT INTO {} (plan_id, parent_id, name, created, note, author, "
                            "draft, draft_seq) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)").format(plans),
                    (new_id, None if parent_id is None else int(parent_id), name,
                     created or utc_now(), note, author, draft,
                     None if draft_seq is None else int(draft_seq)))
        _copy_rows(con, url, "plan_cells", ["plan_id", "cell_id", "station_id"],
                   ((new_id, c, s) for c, s in zip(cell_ids, station_ids)))
        _touch(con, url, ("plans", "plan_cells"))
    log.info("saved plan %s (%s) by %s in %s", new_id, name, author, url.display)
    return new_id


def append_edit(path: str | DatabaseURL, *, draft: str, action: str, author: str,
                label: str = "", payload: object = None, base: str | None = None) -> int:
    """Append one step of a draft's edit history in one transaction; its sequence number
    within the draft (see ``geo.workspace.append_edit``)."""
    if not draft or not action:
        raise InputError("`draft` and `action` are required for an edit")
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    url = check_workspace(path)
    sql = _sql()
    with _connection(url, write=True) as con:
        _ensure_plan_tables(con, url)
        edits = _ident(url.schema, "plan_edits")
        seq = int(con.execute(sql.SQL("SELECT COALESCE(MAX(seq), 0) + 1 FROM {} WHERE draft = %s")
                              .format(edits), (draft,)).fetchone()[0])
        con.execute(sql.SQL("INSERT INTO {} (draft, seq, action, label, payload, author, created, "
                            "base) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)").format(edits),
                    (draft, seq, action, label, text, author, utc_now(), base))
        _touch(con, url, ("plan_edits",))
    return seq


def _query_frame(path, table: str, query: str, params: tuple = ()) -> pd.DataFrame | None:
    """Rows of ``query`` ({t} is the schema's ``table``) as a DataFrame, or None when the
    workspace has no such table."""
    url = check_workspace(path)
    with _connection(url) as con:
        return _query_con(con, url, table, query, params)


def _query_con(con, url: DatabaseURL, table: str, query: str, params: tuple = ()):
    if not _has_table(con, url.schema, table):
        return None
    cur = con.execute(_sql().SQL(query).format(t=_ident(url.schema, table)), params)
    names = [d.name for d in cur.description]
    # as pandas.read_sql_query builds the frames of the GeoPackage's plan tables
    return pd.DataFrame.from_records(cur.fetchall(), columns=names, coerce_float=True)


def _plans_frame(con, url: DatabaseURL) -> pd.DataFrame:
    cols = [c for c, _ in _PLAN_COLUMNS["plans"]]
    out = _query_con(con, url, "plans", f"SELECT {', '.join(cols)} FROM {{t}} ORDER BY plan_id")
    if out is None:
        out = pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    for c in ("plan_id", "parent_id", "draft_seq"):
        out[c] = pd.array(pd.to_numeric(out[c]), dtype="Int64")
    for c in ("name", "created", "note", "author", "draft"):
        out[c] = out[c].astype(object)
    return out


def _plan_cells_frame(con, url: DatabaseURL, plan_id: int | None) -> pd.DataFrame:
    from geo.ids import normalise_ids
    where = "" if plan_id is None else " WHERE plan_id = %s"
    out = _query_con(con, url, "plan_cells", "SELECT plan_id, cell_id, station_id FROM {t}"
                     + where + " ORDER BY fid", () if plan_id is None else (int(plan_id),))
    if out is None:
        return pd.DataFrame({"plan_id": pd.Series(dtype="int64"),
                             "cell_id": pd.Series(dtype=object),
                             "station_id": pd.Series(dtype=object)})
    out["plan_id"] = out["plan_id"].astype("int64")
    out["cell_id"] = normalise_ids(out["cell_id"])
    out["station_id"] = normalise_ids(out["station_id"])
    return out


def read_plans(path: str | DatabaseURL) -> pd.DataFrame:
    """The plan versions, oldest first (see ``geo.workspace.read_plans``)."""
    url = check_workspace(path)
    with _connection(url) as con:
        return _plans_frame(con, url)


def read_plan_cells(path: str | DatabaseURL, plan_id: int | None = None) -> pd.DataFrame:
    """The cell -> station rows of one saved plan, or of all (see
    ``geo.workspace.read_plan_cells``)."""
    url = check_workspace(path)
    with _connection(url) as con:
        return _plan_cells_frame(con, url, plan_id)


def read_edits(path: str | DatabaseURL, draft: str) -> list[dict]:
    """The steps of ``draft`` in order (see ``geo.workspace.read_edits``)."""
    df = _query_frame(path, "plan_edits", "SELECT seq, action, label, payload, author, created, "
                      "base FROM {t} WHERE draft = %s ORDER BY seq", (draft,))
    if df is None:
        return []
    rows = df.to_dict("records")
    for r in rows:
        r["seq"] = int(r["seq"])
        r["payload"] = json.loads(r["payload"]) if r["payload"] else None
    return rows


def read_edit_rows(path: str | Path | DatabaseURL) -> pd.DataFrame:
    """Every row of ``plan_edits`` of the workspace at ``path`` (a GeoPackage or a database) in
    the order written, as object columns draft, seq, action, label, payload (JSON text), author,
    created, base; empty with these columns when there are none (for copies)."""
    if not isinstance(path, DatabaseURL) and not is_database_url(path):
        return _file_edit_rows(path)
    df = _query_frame(path, "plan_edits", f"SELECT {', '.join(_EDIT_COLUMNS)} FROM {{t}} "
                      "ORDER BY fid")
    return pd.DataFrame({c: pd.Series(dtype=object) for c in _EDIT_COLUMNS}) if df is None else df


def latest_draft(path: str | DatabaseURL, *, author: str) -> str | None:
    """The draft ``author`` edited last (None when none)."""
    df = _query_frame(path, "plan_edits", "SELECT draft FROM {t} WHERE author = %s ORDER BY fid "
                      "DESC LIMIT 1", (author,))
    return None if df is None or df.empty else str(df["draft"].iloc[0])


def set_meta(path: str | DatabaseURL, **values: object) -> dict[str, str]:
    """Set metadata entries in one transaction; the metadata as it then stands (see
    ``geo.workspace.set_meta``; None removes a key)."""
    _check_meta_keys(values)
    url = check_workspace(path)
    sql = _sql()
    with _connection(url, write=True) as con:
        meta = _ident(url.schema, META_TABLE)
        for key, value in values.items():
            con.execute(sql.SQL("DELETE FROM {} WHERE key = %s").format(meta), (key,))
            if value is not None:
                con.execute(sql.SQL("INSERT INTO {} (key, value) VALUES (%s, %s)").format(meta),
                            (key, str(value)))
        _touch(con, url, (META_TABLE,))
        return _meta(con, url)


def replace_layers(path: str | DatabaseURL, layers: Mapping[str, gpd.GeoDataFrame], *,
                   author: str) -> DatabaseURL:
    """Replace (or add) whole layers in one transaction, keeping plans, edits and the other
    layers (see ``geo.workspace.replace_layers``). Plan saves wait for the commit; readers see
    the old layers until then."""
    url = check_workspace(path)
    if not author:
        raise InputError("`author` was empty; every layer replacement records who made it")
    sql = _sql()
    stamp = utc_now()
    with _connection(url, write=True) as con:
        meta = _meta(con, url)
        ws_crs = CRS.from_user_input(meta["crs"]) if meta.get("crs") else None
        _check_replacement(layers, ws_crs)
        srid = _srid(con, ws_crs) if ws_crs is not None else 0
        for name, frame in layers.items():
            con.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(_ident(url.schema, name)))
            _write_layer(con, url, name, frame, srid, None)
        table = _ident(url.schema, META_TABLE)
        for key, value in ((f"layer_{n}_{w}", v) for n in layers
                           for w, v in (("by", author), ("at", stamp))):
            con.execute(sql.SQL("DELETE FROM {} WHERE key = %s").format(table), (key,))
            con.execute(sql.SQL("INSERT INTO {} (key, value) VALUES (%s, %s)").format(table),
                        (key, value))
        _touch(con, url, (META_TABLE,))
    log.info("replaced layer(s) %s of %s (by %s)", ", ".join(layers), url.display, author)
    return url


# --- copies between GeoPackages and databases ---------------------------------------------------

def copy_workspace(src: str | Path | DatabaseURL, dst: str | Path | DatabaseURL):
    """Copy the workspace ``src`` to ``dst`` where one of them is a database (see
    ``geo.workspace.copy_workspace``): ``dst`` must not hold a workspace yet."""
    from geo import workspace as files
    if files.is_workspace(dst) or (not isinstance(dst, DatabaseURL) and not is_database_url(dst)
                                   and Path(dst).exists()):
        raise InputError(f"{_shown(dst)} exists already; choose another name")
    return transfer_workspace(src, dst)


def _shown(location) -> str:
    return database_url(location).display if is_database_url(location) else Path(location).name


def transfer_workspace(src, dst, *, overwrite_plans: bool = False):
    """Copy the workspace ``src`` to ``dst``, each a GeoPackage path or a database URL, without
    loss: every layer (geometry, attributes, CRS), the metadata, the plan versions with their
    cells, and the draft edit histories. Returns the destination (a Path or a DatabaseURL).

    A destination that holds saved plans is replaced only with ``overwrite_plans``; the write
    is atomic either way (a renamed temporary file, or one database transaction). A GeoPackage
    copied to a new GeoPackage is copied with SQLite's backup (byte for byte).
    """
    from geo import workspace as files
    from geo.atomic import atomic_path
    src = database_url(src) if is_database_url(src) else files.check_workspace(src)
    if is_database_url(dst):
        dst = database_url(dst)
    else:
        dst = Path(dst)
        if dst.suffix.lower() != ".gpkg":
            raise InputError(f"the destination {str(dst)!r} is neither a GeoPackage (.gpkg) nor a "
                             "postgresql:// URL")
    n = files.plan_count(dst)
    if n and not overwrite_plans:
        raise InputError(f"{_shown(dst)} holds {n} saved plan version(s), which replacing it "
                         "would lose; choose another destination, or set `overwrite_plans` to "
                         "replace it anyway")
    if isinstance(src, Path) and isinstance(dst, Path) and not dst.exists():
        return files.copy_workspace(src, dst)
    ws = files.read_workspace(src)
    edits = read_edit_rows(src)
    if isinstance(dst, DatabaseURL):
        return write_workspace(ws, dst, overwrite_plans=True, edits=edits)
    with atomic_path(dst) as tmp:
        files.write_workspace(ws, tmp, overwrite_plans=True)
        if len(edits):
            _append_file_edit_rows(tmp, edits)
    return dst


def _file_edit_rows(path: str | Path) -> pd.DataFrame:
    from geo import workspace as files
    path = files.check_workspace(path)
    if not files._table_exists(path, "plan_edits"):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in _EDIT_COLUMNS})
    return files._read_sql(path, f"SELECT {', '.join(_EDIT_COLUMNS)} FROM plan_edits ORDER BY fid")


def _append_file_edit_rows(path: Path, edits: pd.DataFrame) -> None:
    from geo import workspace as files
    from geo.dbfile import write_transaction
    con = files._connect(path)
    try:
        with write_transaction(con):
            files._ensure_plan_tables(con)
            rows = [tuple(files._sql_value(None if pd.isna(v) else v) for v in r)
                    for r in edits[_EDIT_COLUMNS].itertuples(index=False)]
            con.executemany(f"INSERT INTO plan_edits ({', '.join(_EDIT_COLUMNS)}) VALUES "
                            f"({', '.join('?' * len(_EDIT_COLUMNS))})", rows)
    finally:
        con.close()
