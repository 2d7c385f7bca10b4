"""Incident aggregation as SQL inside a PostGIS workspace, next to the data.

The same figures as ``geo.scale.cell_hour_counts`` and the hour-of-week profile of
``geo.hot_times.workspace_hot_times`` (by start time, without aoristic spreading), computed by
the database server: each incident is joined to the cell holding it through the cells' GiST
index (cell by cell through the incidents' GiST index, which a PostGIS workspace keeps on every
spatial layer, each cell's polygon prepared once: ``ST_Intersects``; a point on a shared border
counts once, in the cell with the lowest ``fid``, where the in-memory rule takes the first cell
its spatial index finds: the two agree except for points exactly on a border), and its hour of
the week is
``(ISODOW - 1) * 24 + HOUR`` of its local wall-clock time.

Times are read as ``geo.hot_times`` reads them: ``timestamp`` columns as they are (naive local
time, as ``geo.times`` writes them), ``timestamptz`` at ``geo.times.LOCAL_TZ``, and text (how a
GeoPackage workspace copied to PostGIS keeps them) in the one format pandas infers from the
first stored time: values in another format, or not a date at all, count as without a time, as
``pandas.to_datetime(..., errors="coerce")`` leaves them NaT.

A workspace is its URL (``postgresql://USER@HOST:PORT/DB?schema=NAME``) or an open psycopg
connection with ``schema`` given.
"""
from __future__ import annotations

import logging
import re
from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np
import pandas as pd

from geo.errors import InputError
from geo.scale import CellHourCounts

__all__ = ["cell_hour_counts_sql", "hot_times_sql", "time_sql"]

log = logging.getLogger(__name__)

# strftime directive -> a regular expression of what pandas accepts for it (ISO-like formats)
_DIRECTIVES = {
    "%Y": r"[0-9]{4}", "%m": r"(0?[1-9]|1[0-2])", "%d": r"(0?[1-9]|[12][0-9]|3[01])",
    "%H": r"([01]?[0-9]|2[0-3])", "%M": r"[0-5]?[0-9]", "%S": r"[0-5]?[0-9]", "%f": r"[0-9]{1,9}",
}


def _format_regex(fmt: str | None) -> str | None:
    """An anchored POSIX regular expression matching the texts pandas reads with ``fmt`` (None
    when the format has a directive not handled here)."""
    if not fmt:
        return None
    out, i = ["^"], 0
    while i < len(fmt):
        if fmt[i] == "%":
            code = fmt[i:i + 2]
            if code not in _DIRECTIVES:
                return None
            out.append(_DIRECTIVES[code])
            i += 2
        else:
            out.append(re.escape(fmt[i]))
            i += 1
    return "".join(out) + "$"


@contextmanager
def _session(workspace: Any, schema: str | None) -> Iterator[tuple[Any, str]]:
    """(connection, schema) for a URL (opened and closed here) or a given connection."""
    if hasattr(workspace, "execute") and hasattr(workspace, "cursor"):
        if not schema:
            raise InputError("`schema` is needed with a connection: name the schema that holds "
                             "the workspace")
        yield workspace, schema
        return
    from geo.pgurl import database_url
    from geo.pgworkspace import _connection
    url = database_url(workspace)
    with _connection(url) as con:
        yield con, schema or url.schema


def _column_types(con, schema: str, table: str) -> dict[str, str]:
    rows = con.execute("SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                       "WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped "
                       "ORDER BY attnum", (f'"{schema}"."{table}"',)).fetchall()
    if not rows:
        raise InputError(f"the schema {schema!r} has no table {table!r}; the workspace needs an "
                         f"{table} layer")
    return {str(n): str(t) for n, t in rows}


def _geometry_column(types: dict[str, str], table: str) -> str:
    for name, kind in types.items():
        if kind.startswith("geometry"):
            return name
    raise InputError(f"the table {table!r} has no geometry column")


def time_sql(con, schema: str, table: str, column: str, *, alias: str = "i"):
    """The SQL expression of the local wall-clock timestamp of ``column`` (NULL where pandas
    would read no time), for rows of ``table`` aliased ``alias``."""
    from pandas.tseries.api import guess_datetime_format
    from psycopg import sql

    from geo.times import LOCAL_TZ
    types = _column_types(con, schema, table)
    if column not in types:
        raise InputError(f"`time_col` was {column!r} but the {table} have no such column; columns "
                         f"are {[c for c in types if c != 'fid' and not types[c].startswith('geometry')]}")
    kind = types[column]
    col = sql.Identifier(alias, column)
    if kind.startswith("timestamp with time zone"):
        return sql.SQL("({} AT TIME ZONE {})").format(col, sql.Literal(LOCAL_TZ))
    if kind.startswith("timestamp"):
        return col
    if kind == "date":
        return sql.SQL("({}::timestamp)").format(col)
    if not (kind == "text" or kind.startswith("character")):
        raise InputError(f"the {table} column {column!r} is of type {kind}, not a time; store "
                         "times as timestamp or ISO text")
    first = con.execute(sql.SQL("SELECT {} FROM {} WHERE {} IS NOT NULL ORDER BY fid LIMIT 1").format(
        sql.Identifier(column), sql.Identifier(schema, table), sql.Identifier(column))).fetchone()
    fmt = guess_datetime_format(first[0]) if first else None
    pattern = _format_regex(fmt)
    if pattern is None:
        iso = _format_regex("%Y-%m-%dT%H:%M:%S")
        assert iso is not None  # every directive of this format is in _DIRECTIVES
        pattern = iso.replace("T", "[T ]")
        log.warning("the %s times are in a format (%r) read here as ISO date-times only; values "
                    "in other forms count as without a time", table, fmt)
    return sql.SQL("(CASE WHEN {} ~ {} THEN {}::timestamp END)").format(
        col, sql.Literal(pattern), col)


def _hour_of_week(ts) -> Any:
    from psycopg import sql
    return sql.SQL("((EXTRACT(ISODOW FROM {ts})::int - 1) * 24 + EXTRACT(HOUR FROM {ts})::int)").format(ts=ts)


def _run(con, query, params: tuple = ()) -> list:
    """Run ``query`` in a transaction with the ISO date style (and without JIT compilation); a
    text that looks like a time but is not a date (2025-02-30) makes the server refuse: then it
    is said as bad input."""
    import psycopg
    try:
        with con.transaction():
            con.execute("SELECT set_config('datestyle', 'ISO, YMD', true), "
                        "set_config('jit', 'off', true)")  # compiling costs more than it saves here
            return con.execute(query, params).fetchall()
    except (psycopg.errors.DatetimeFieldOverflow, psycopg.errors.InvalidDatetimeFormat) as exc:
        raise InputError(f"an incident time is not a date ({' '.join(str(exc).split())[:200]}); "
                         "correct it in the workspace, or run the aggregation with `engine` "
                         "'memory' or 'dask', which count such times as missing") from None


def cell_hour_counts_sql(workspace: Any, *, schema: str | None = None, cells_layer: str = "cells",
                         incidents_layer: str = "incidents", time_col: str = "time") -> CellHourCounts:
    """Incidents per cell and hour of the week, computed by the PostGIS server of the workspace
    (a URL, or a psycopg connection with ``schema``): the table of ``geo.scale.cell_hour_counts``
    with the cells in ``fid`` order (the order they were written in), indexed by ``cell_id``.
    Raises InputError naming the table or column when the layers are missing."""
    from psycopg import sql
    with _session(workspace, schema) as (con, schema):
        ctypes = _column_types(con, schema, cells_layer)
        itypes = _column_types(con, schema, incidents_layer)
        cgeom, igeom = _geometry_column(ctypes, cells_layer), _geometry_column(itypes, incidents_layer)
        ts = time_sql(con, schema, incidents_layer, time_col)
        cells = sql.Identifier(schema, cells_layer)
        inc = sql.Identifier(schema, incidents_layer)
        ids = con.execute(sql.SQL("SELECT fid, {} FROM {} ORDER BY fid").format(
            sql.Identifier("cell_id") if "cell_id" in ctypes else sql.SQL("fid"), cells)).fetchall()
        # Cell by cell, the incidents' GiST index finds the points in the cell's box and the
        # (prepared, cached) cell polygon tests them; a point on the cell's boundary counts
        # only when no cell of lower fid holds it too.
        counts_q = sql.SQL(
            "SELECT c.fid, {how} AS how, count(*) FROM {cells} c CROSS JOIN LATERAL "
            "(SELECT {ts} AS ts FROM {inc} i WHERE ST_Intersects(c.{cgeom}, i.{igeom}) AND "
            "(ST_Contains(c.{cgeom}, i.{igeom}) OR NOT EXISTS (SELECT 1 FROM {cells} c2 WHERE "
            "c2.fid < c.fid AND ST_Intersects(c2.{cgeom}, i.{igeom})))) hit "
            "WHERE hit.ts IS NOT NULL GROUP BY 1, 2").format(
            how=_hour_of_week(sql.Identifier("hit", "ts")), inc=inc, cells=cells,
            cgeom=sql.Identifier(cgeom), igeom=sql.Identifier(igeom), ts=ts)
        rows = _run(con, counts_q)
        totals = _run(con, sql.SQL("SELECT count(*) FILTER (WHERE {ts} IS NULL), "
                                   "count(*) FILTER (WHERE {ts} IS NOT NULL) FROM {inc} i").format(
            ts=ts, inc=inc))[0]
    position = {fid: k for k, (fid, _) in enumerate(ids)}
    table = np.zeros((len(ids), 168), dtype=np.int64)
    for fid, how, n in rows:
        table[position[fid], int(how)] = int(n)
    index = pd.Index([i for _, i in ids], name="cell_id" if "cell_id" in ctypes else "fid")
    frame = pd.DataFrame(table, index=index, columns=pd.RangeIndex(168, name="hour_of_week"))
    counted = int(table.sum())
    return CellHourCounts(table=frame, incidents=counted, outside=int(totals[1]) - counted,
                          without_time=int(totals[0]))


def _id_text(col, kind: str):
    """SQL of an id column as GridPatrol compares ids (``geo.ids.id_str``: 7, 7.0 and '7' alike)."""
    from psycopg import sql
    if kind in ("double precision", "real") or kind.startswith("numeric"):
        return sql.SQL("(CASE WHEN {c} = trunc({c}) THEN trunc({c})::bigint::text ELSE {c}::text END)").format(c=col)
    return sql.SQL("NULLIF(btrim({}::text), '')").format(col)


def _first_holder(schema: str, layer: str, id_col: str, geom: str, point):
    """SQL: the id of the first polygon (lowest fid) of ``layer`` holding ``point`` strictly
    inside (the ``within`` join of ``geo.hot_times``)."""
    from psycopg import sql
    return sql.SQL("(SELECT {id}::text FROM {t} p WHERE ST_Within({pt}, p.{g}) ORDER BY p.fid LIMIT 1)").format(
        id=sql.Identifier("p", id_col), t=sql.Identifier(schema, layer), pt=point,
        g=sql.Identifier(geom))


def hot_times_sql(workspace: Any, *, schema: str | None = None, station: str | None = None,
                  township: str | None = None, time_col: str = "time"):
    """The hour-of-week profile (``geo.hot_times.HotTimes``, by start time) of a PostGIS
    workspace's incidents, computed by the server: all of them, one ``station``'s (their
    ``station_id``, else those inside its jurisdiction) and/or one ``township``'s.

    Raises InputError naming the parameter when the station or township is unknown."""
    from psycopg import sql

    from geo.hot_times import HotTimes
    with _session(workspace, schema) as (con, schema):
        itypes = _column_types(con, schema, "incidents")
        igeom = _geometry_column(itypes, "incidents")
        ts = time_sql(con, schema, "incidents", time_col)
        point = sql.Identifier("i", igeom)
        where: list[sql.Composable] = [sql.SQL("TRUE")]
        params: list[str] = []
        scope: list[str] = []
        if station is not None:
            if "station_id" in itypes:
                sid = _id_text(sql.Identifier("i", "station_id"), itypes["station_id"])
            else:
                try:
                    jtypes = _column_types(con, schema, "jurisdictions")
                except InputError:
                    raise InputError("`station` was given but the incidents carry no station_id "
                                     "and the workspace has no jurisdictions") from None
                sid = _first_holder(schema, "jurisdictions", "station_id",
                                    _geometry_column(jtypes, "jurisdictions"), point)
            known = [r[0] for r in _run(con, sql.SQL(
                "SELECT DISTINCT s FROM (SELECT {} AS s FROM {} i) q WHERE s IS NOT NULL ORDER BY 1").format(
                sid, sql.Identifier(schema, "incidents")))]
            if str(station) not in known:
                raise InputError(f"`station` was {station!r} but no incident belongs to it; stations "
                                 f"with incidents: {', '.join(known[:40])}")
            where.append(sql.SQL("{} = %s").format(sid))
            params.append(str(station))
            scope.append(f"station {station}")
        if township is not None:
            try:
                ttypes = _column_types(con, schema, "townships")
            except InputError:
                raise InputError("`township` was given but the workspace has no townships layer") from None
            towns = [r[0] for r in _run(con, sql.SQL("SELECT {} FROM {} ORDER BY fid").format(
                _id_text(sql.Identifier("township_id"), ttypes["township_id"]),
                sql.Identifier(schema, "townships")))]
            if str(township) not in towns:
                raise InputError(f"`township` was {township!r} but is not a township; choose one of "
                                 f"{', '.join(str(t) for t in towns[:40])}")
            where.append(sql.SQL("{} = %s").format(_first_holder(
                schema, "townships", "township_id", _geometry_column(ttypes, "townships"), point)))
            params.append(str(township))
            scope.append(f"township {township}")
        cond = sql.SQL(" AND ").join(where)
        inc = sql.Identifier(schema, "incidents")
        rows = _run(con, sql.SQL("SELECT {how}, count(*) FROM {inc} i WHERE {cond} AND {ts} IS NOT "
                                 "NULL GROUP BY 1").format(how=_hour_of_week(ts), inc=inc,
                                                           cond=cond, ts=ts), tuple(params))
        total = _run(con, sql.SQL("SELECT count(*) FILTER (WHERE {ts} IS NULL), min({ts}), max({ts}) "
                                  "FROM {inc} i WHERE {cond}").format(ts=ts, inc=inc, cond=cond),
                     tuple(params))[0]
    counts = np.zeros(168)
    for how, n in rows:
        counts[int(how)] = float(n)
    known_n = int(counts.sum())
    return HotTimes(hour_of_week=counts, incidents=known_n, without_time=int(total[0]),
                    first=None if total[1] is None else pd.Timestamp(total[1]),
                    last=None if total[2] is None else pd.Timestamp(total[2]),
                    scope=", ".join(scope) or "county")
