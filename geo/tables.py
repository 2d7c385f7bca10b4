"""Reading point tables: CSV and Excel exports of police systems, placed as points.

``table_from_file`` reads a CSV/text file (UTF-8, UTF-8 with BOM, GBK, GB18030 or UTF-16;
comma, tab, semicolon or bar separated) or an Excel sheet (.xlsx, .xlsm, .xls, .xlsb, .ods via
python-calamine) into a DataFrame whose index is the row number the user sees in a spreadsheet
(1 = the first line of the file, so the header and any title rows above it count).
``points_from_table`` finds the coordinate columns (``geo.columns``), leaves out the rows that
cannot be placed with a warning that lists them, and decides the CRS.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import statistics
import unicodedata
import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from geo.columns import coordinate_columns, web_map_hint
from geo.errors import CRSError, GridPatrolWarning, InputError, format_ids

__all__ = ["TEXT_SUFFIXES", "EXCEL_SUFFIXES", "ENCODINGS", "MAX_COLUMNS", "table_from_file",
           "sheet_names", "points_from_table", "unique_headers", "numbers_from_text",
           "TABLE_OUT_SUFFIXES", "table_bytes", "write_table"]

TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
# Tried in this order; GB18030 is a superset of GBK (and GBK of GB2312).
ENCODINGS = ("utf-8", "utf-8-sig", "gbk", "gb18030")
# A wider table is not a point table (and would flood messages that list its columns).
MAX_COLUMNS = 1000
_HEADER_SEARCH_ROWS = 30
_DELIMITERS = (",", "\t", ";", "|")
_FIX = "save it from Excel/WPS as .xlsx, or as comma-separated UTF-8 (or GBK) text with a header line"


def _columns(columns, limit: int = 30) -> str:
    return "[" + format_ids([str(c) for c in columns], limit=limit) + "]"


# --- raw rows --------------------------------------------------------------------------------

def _kind(data: bytes) -> str:
    """``excel``, ``text`` or ``html`` from the first bytes (exports often carry the wrong suffix)."""
    if data[:4] == b"PK\x03\x04" or data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "excel"
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<html", b"<!doctype", b"<table", b"<?xml", b"<meta")) or b"<table" in head[:512]:
        return "html"
    return "text"


def _decode(data: bytes, path: Path) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        return data.decode("utf-8-sig", errors="replace"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text"
        return data.decode("utf-16", errors="replace"), "utf-16"
    if b"\x00" in data[:4096]:
        raise InputError(f"{path}: a binary file, not a CSV table; {_FIX}")
    for encoding in ("utf-8", "gbk", "gb18030"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise InputError(f"{path}: not a text file in UTF-8, GBK or GB18030; {_FIX}")


def _text_rows(text: str, path: Path) -> list[list[object]]:
    sample = text[:65536]
    best, best_width = ",", 0
    for delimiter in _DELIMITERS:
        try:
            widths = [len(r) for _, r in zip(range(_HEADER_SEARCH_ROWS),
                                             csv.reader(io.StringIO(sample), delimiter=delimiter)) if r]
        except csv.Error:
            continue
        width = statistics.median(widths) if widths else 0
        if width > best_width:
            best, best_width = delimiter, width
    try:
        return [list(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=best)]
    except csv.Error as exc:
        raise InputError(f"{path}: not a readable CSV table ({exc}); {_FIX}") from None


def _excel_rows(path: Path, sheet: str | None) -> tuple[list[list[object]], str, list[str]]:
    try:
        from python_calamine import CalamineWorkbook
    except ImportError:  # pragma: no cover - a dependency; said for a broken install
        raise InputError(f"{path}: reading Excel files needs the python-calamine package; install "
                         "it (pip install python-calamine) or save the sheet as CSV") from None
    try:
        book = CalamineWorkbook.from_path(str(path))
        names = sheet_names(path)
        if sheet is None:
            if not names:
                raise InputError(f"{path}: the workbook has no worksheet; {_FIX}")
            sheet = names[0]
        elif sheet not in book.sheet_names:
            raise InputError(f"{path}: no sheet {sheet!r} in the workbook; it has "
                             f"{list(book.sheet_names)}; name one as {path.name}:<sheet>")
        rows = book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
    except InputError:
        raise
    except Exception as exc:  # calamine's errors: damaged, encrypted or foreign files
        detail = " ".join(str(exc).split())[:200]
        raise InputError(f"{path}: not a readable Excel workbook ({type(exc).__name__}: {detail}); "
                         f"{_FIX}") from None
    return [list(r) for r in rows], sheet, names


def sheet_names(path: str | Path) -> list[str]:
    """The visible worksheets of an Excel workbook, in order (what ``file.xlsx:<sheet>`` may
    name; the first is read by default); ``[]`` for a text table. Raises InputError naming the
    file when it is not a readable workbook."""
    path = Path(path)
    with path.open("rb") as f:
        if _kind(f.read(2048)) != "excel":
            return []
    try:
        from python_calamine import CalamineWorkbook
        book = CalamineWorkbook.from_path(str(path))
        metadata = getattr(book, "sheets_metadata", [])
    except Exception as exc:  # calamine's errors: damaged, encrypted or foreign files
        raise InputError(f"{path}: not a readable Excel workbook ({type(exc).__name__}); {_FIX}") from None
    visible = [m.name for m in metadata
               if str(getattr(m.typ, "name", m.typ)).lower().endswith("worksheet")
               and str(getattr(m.visible, "name", m.visible)).lower().endswith("visible")]
    return visible or list(book.sheet_names)


# --- header and columns ----------------------------------------------------------------------

def _blank(v: object) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    return isinstance(v, str) and not v.strip()


_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def _is_text(v: object) -> bool:
    return isinstance(v, str) and bool(v.strip()) and not _NUMBER.match(v.strip())


def _header_row(rows: list[list[object]]) -> int | None:
    """Index of the first row whose cells are mostly non-empty text (title rows above it are
    skipped), else of the first non-empty row; None for an empty table."""
    head = rows[:_HEADER_SEARCH_ROWS]
    counts = [sum(not _blank(v) for v in r) for r in head]
    width = max(counts, default=0)
    if width == 0:
        return next((i for i, r in enumerate(rows) if any(not _blank(v) for v in r)), None)
    need = max(min(2, width), math.ceil(width * 0.5))
    for i, r in enumerate(head):
        texts = sum(_is_text(v) for v in r)
        if texts >= need and texts >= 0.6 * counts[i]:
            return i
    return next(i for i, n in enumerate(counts) if n)


_RESERVED = {"fid": "fid_src", "geometry": "geometry_src"}


def unique_headers(names: list[object], *, tidy: bool = True) -> list[str]:
    """Header texts made usable as column names of a GeoPackage: stripped, blank ones named
    ``column_<n>``, ``fid`` (the GeoPackage row id) and ``geometry``
    renamed ``fid_src`` and ``geometry_src``, and names that differ
    only in case (one column to SQLite) suffixed ``_2``, ``_3``… ``tidy`` False keeps other
    names exactly as given (columns of GIS layers, which users name in options)."""
    out: list[str] = []
    taken: set[str] = set()
    for n, name in enumerate(names, start=1):
        text = "" if _blank(name) else (" ".join(unicodedata.normalize("NFC", str(name)).split())
                                         if tidy else str(name))
        text = text or f"column_{n}"
        if text.lower() in _RESERVED:
            text = _RESERVED[text.lower()]
        base, k = text, 2
        while text.lower() in taken:
            text, k = f"{base}_{k}", k + 1
        taken.add(text.lower())
        out.append(text)
    return out


def _integral(values: list) -> bool:
    return all(float(v).is_integer() and abs(float(v)) < 2 ** 53 for v in values)


def _column(values: list[object], *, typed: bool) -> pd.Series | list:
    """One column's cells as a typed Series: numbers (Int64 when whole), datetimes, else text.

    Text cells (``typed`` False, CSV) become numbers only when every cell is a plain number
    without a leading zero (``007`` stays an id)."""
    present = [v for v in values if not _blank(v)]
    cells: list[Any] = [None if _blank(v) else v for v in values]
    if not present:
        return pd.Series(cells, dtype=object)
    if typed:
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
            if _integral(present):
                return pd.array([None if v is None else int(v) for v in cells], dtype="Int64")
            return pd.Series([np.nan if v is None else float(v) for v in cells], dtype=float)
        if all(isinstance(v, (dt.datetime, dt.date)) for v in present):
            return pd.Series(pd.to_datetime(pd.Series(cells, dtype=object)).to_numpy(), dtype="datetime64[ns]")
        return pd.Series([None if v is None else _text(v) for v in cells], dtype=object)
    stripped = [str(v).strip() for v in present]
    if all(_NUMBER.match(s) for s in stripped) and not any(
            re.match(r"^[+-]?0\d", s) or (len(s.lstrip("+-")) > 15 and s.lstrip("+-").isdigit())
            for s in stripped):  # leading zeros and long digit strings (ID card numbers) are text
        if all(re.fullmatch(r"[+-]?\d+", s) for s in stripped):
            return pd.array([None if v is None else int(str(v).strip()) for v in cells], dtype="Int64")
        return pd.Series([np.nan if v is None else float(str(v).strip()) for v in cells], dtype=float)
    return pd.Series([None if v is None else str(v).strip() for v in cells], dtype=object)


def _text(v: object) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    return str(v).strip()


def table_from_file(path: str | Path, *, sheet: str | None = None) -> pd.DataFrame:
    """Read a CSV/text file or an Excel sheet into a table of strings, numbers and datetimes.

    Parameters
    ----------
    path : a ``.csv``/``.txt``/``.tsv`` or ``.xlsx``/``.xlsm``/``.xls``/``.xlsb``/``.ods`` file
        (the content decides: an "xls" that is really text is read as text).
    sheet : the Excel sheet to read (default: the first visible worksheet).

    Returns
    -------
    DataFrame indexed by the spreadsheet row number of each data row (index name ``row``).
    The header row is the first row whose cells are mostly non-empty text, so title rows above
    it are skipped; blank rows and blank unnamed columns are dropped. Headers pass through
    ``unique_headers``. Cells keep their type (Excel) or are read as numbers when a whole column
    is plain numbers (CSV; ``007`` stays text); empty cells are missing values.
    ``attrs``: ``header_row`` (its row number), ``sheet`` and ``sheets`` (Excel: the sheet read
    and the visible sheets of the workbook) or ``encoding`` (text).
    Raises InputError naming the file when it is not a readable table.
    """
    path = Path(path)
    data = path.read_bytes()
    kind = _kind(data)
    attrs: dict[str, object] = {}
    if kind == "html":
        raise InputError(f"{path}: a web page (HTML) saved under a spreadsheet name, not a "
                         "spreadsheet; open it in Excel or WPS and save it as .xlsx")
    if kind == "excel":
        rows, attrs["sheet"], attrs["sheets"] = _excel_rows(path, sheet)
        typed = True
    else:
        if sheet is not None:
            raise InputError(f"{path}: a text table has no sheets (asked for {sheet!r}); give the "
                             "file without :<sheet>")
        text, attrs["encoding"] = _decode(data, path)
        rows = _text_rows(text, path)
        typed = False
    where = f"{path}:{attrs['sheet']}" if "sheet" in attrs else str(path)
    header = _header_row(rows)
    if header is None:
        raise InputError(f"{where}: the table is empty; give a table with a header row and one row per point")
    width = max(len(r) for r in rows[header:])
    if width > MAX_COLUMNS:
        raise InputError(f"{where}: {width} columns, more than the {MAX_COLUMNS} a point table may "
                         "have; give a table of points with an x/longitude and a y/latitude "
                         "column (check the separator: comma-separated)")
    grid = [list(r) + [None] * (width - len(r)) for r in rows[header:]]
    body = [(n, r) for n, r in enumerate(grid[1:], start=header + 2) if any(not _blank(v) for v in r)]
    keep = [j for j in range(width) if not _blank(grid[0][j]) or any(not _blank(r[j]) for _, r in body)]
    names = unique_headers([grid[0][j] for j in keep])
    frame = pd.DataFrame({name: pd.array(_column([r[j] for _, r in body], typed=typed))
                          for name, j in zip(names, keep)},
                         index=pd.Index([n for n, _ in body], name="row"))
    frame.attrs.update(attrs, header_row=header + 1)
    return frame


# --- coordinates -----------------------------------------------------------------------------

_DMS = re.compile(r"^([+-]?\d+(?:\.\d+)?)[°度]\s*"  # degrees
                  r"(?:(\d+(?:\.\d+)?)['′分]\s*)?"  # minutes
                  r"(?:(\d+(?:\.\d+)?)(?:\"|″|''|秒)\s*)?"  # seconds
                  r"([ENSW东西南北])?$",  # hemisphere
                  re.IGNORECASE)


def _number(v: object) -> float:
    if v is None or isinstance(v, bool):
        return np.nan
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v)
    text = unicodedata.normalize("NFKC", str(v)).strip().replace(" ", "")
    if not text:
        return np.nan
    m = _DMS.match(text)
    if m:
        value = float(m[1]) + float(m[2] or 0) / 60 + float(m[3] or 0) / 3600
        return -value if (m[4] or "").upper() in ("S", "W", "南", "西") else value
    text = re.sub(r"^[ENSW东西南北]|[ENSW东西南北]$", "", text, flags=re.IGNORECASE)
    try:
        return float(text) if _NUMBER.match(text) else np.nan
    except ValueError:
        return np.nan


def numbers_from_text(values: pd.Series) -> pd.Series:
    """Coordinates as floats (same index): numbers, numeric text with full-width digits, a unit
    or hemisphere letter (``116.4°E``), or degrees-minutes-seconds (``116°23'45"``, ``116度23分``).
    Anything else is NaN."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return pd.to_numeric(values, errors="coerce").astype(float)
    return pd.Series([_number(v) for v in values.to_numpy(dtype=object)], index=values.index, dtype=float)


def _in_degrees(x: pd.Series, y: pd.Series) -> pd.Series:
    return (x.abs() <= 180) & (y.abs() <= 90)


def points_from_table(table: pd.DataFrame, *, x_col: str | None = None, y_col: str | None = None,
                      crs: str | CRS | None = None, source: str) -> gpd.GeoDataFrame:
    """Point geometries from a table's coordinate columns; rows that cannot be placed are left out.

    Parameters
    ----------
    table : a table from ``table_from_file`` (index: the row numbers shown in messages).
    x_col, y_col : the coordinate columns; None: found from the headers (``经度/纬度``,
        ``东经/北纬``, ``lng/lat``, ``X坐标/Y坐标``…, see ``geo.columns.coordinate_columns``).
    crs : the CRS of the coordinates (EPSG code, string or CRS). None: when most rows are in
        degree ranges (|x| <= 180, |y| <= 90) the coordinates are taken as WGS84 lon/lat
        (EPSG:4326) and ``attrs["crs_assumed"]`` is True; otherwise the layer has no CRS.
    source : the file name for messages.

    Returns
    -------
    GeoDataFrame with every column of ``table`` and the rows that have coordinates, same index.
    Rows without numeric coordinates (blank or text), or with 0/0 or outside degree ranges when
    the CRS is geographic, are left out with a GridPatrolWarning naming their row numbers.
    ``attrs["coordinates"]`` is ``(x_col, y_col)``.

    Raises InputError when no coordinate columns are found, when the columns look swapped, and
    when no row can be placed.
    """
    columns = list(table.columns)
    for given, name in ((x_col, "x_col"), (y_col, "y_col")):
        if given is not None and given not in table.columns:
            raise InputError(f"{source}: `{name}` was {given!r}, which is not a column; columns are "
                             f"{_columns(columns)}")
    found_x, found_y, lonlat = coordinate_columns(columns)
    xc = x_col if x_col is not None else found_x
    yc = y_col if y_col is not None else found_y
    if xc is None or yc is None:
        axis = "x/longitude" if xc is None else "y/latitude"
        raise InputError(f"{source}: no {axis} column found (looked for headers such as 经度, 东经, "
                         "lng, lon, longitude, X坐标, x and 纬度, 北纬, lat, latitude, Y坐标, y); "
                         f"name the coordinate columns with `x_col`/`y_col`; columns are "
                         f"{_columns(columns)}")
    x, y = numbers_from_text(table[xc]), numbers_from_text(table[yc])
    blank = (x.isna() | y.isna()).to_numpy()
    zero = ((x == 0) & (y == 0)).to_numpy()  # a placeholder in lon/lat exports (not in metres)
    numeric = ~blank & ~zero
    target = None
    if crs is not None:
        try:
            from geo.crs import parse_crs
            target = parse_crs(crs, what=f"`crs` of {source}")
        except CRSError as exc:
            raise InputError(str(exc)) from None
    assumed = False
    degrees = _in_degrees(x, y).to_numpy() & numeric
    if target is None and numeric.any():
        if 2 * degrees.sum() >= numeric.sum():
            target, assumed = CRS.from_epsg(4326), True
        elif 2 * (_in_degrees(y, x).to_numpy() & numeric).sum() >= numeric.sum():
            chinese_xy = "" if lonlat else (" (in Chinese surveying X is the northing: give "
                                            f"x_col={str(yc)!r}, y_col={str(xc)!r})")
            raise InputError(f"{source}: the values of {str(xc)!r} look like latitudes and those of "
                             f"{str(yc)!r} like longitudes; the columns seem swapped{chinese_xy}; "
                             "swap them in the file or name them with `x_col`/`y_col`")
    geographic = target is not None and target.is_geographic
    missing = blank | zero if geographic else blank
    out_of_range = numeric & ~degrees if geographic else np.zeros(len(x), bool)
    placed = ~missing & ~out_of_range
    rows = table.index.to_numpy()
    reasons = []
    if blank.any():
        reasons.append(f"no numeric {xc}/{yc} in rows {format_ids(rows[blank])}")
    if (missing & ~blank).any():
        reasons.append(f"{xc}/{yc} 0/0 (a placeholder) in rows {format_ids(rows[missing & ~blank])}")
    if out_of_range.any():
        reasons.append(f"{xc}/{yc} outside -180..180 / -90..90 degrees in rows "
                       f"{format_ids(rows[out_of_range])}")
    if not placed.any():
        raise InputError(f"{source}: none of the {len(table)} rows can be placed ("
                         f"{'; '.join(reasons) or 'the table has no data rows'}); fill in the "
                         f"coordinates, or name the coordinate columns with `x_col`/`y_col`")
    if not placed.all():
        warnings.warn(f"{source}: {int((~placed).sum())} of {len(table)} rows cannot be placed and "
                      f"were left out: {'; '.join(reasons)}; fill in or correct their coordinates",
                      GridPatrolWarning, stacklevel=2)
    kept = table.loc[placed]
    gdf = gpd.GeoDataFrame(kept, geometry=gpd.points_from_xy(x[placed], y[placed]), crs=target)
    gdf.attrs.update(table.attrs, coordinates=(xc, yc), crs_assumed=assumed,
                     web_map=web_map_hint(xc, yc))
    return gdf


# --- writing tables: CSV and XLSX for spreadsheets ---------------------------------------------

TABLE_OUT_SUFFIXES = (".csv", ".xlsx")


def table_bytes(frame: pd.DataFrame, suffix: str, *, sheet: str = "Sheet1") -> bytes:
    """``frame`` (its columns as headers, no index) as a CSV or XLSX file's bytes, for
    spreadsheets: CSV in UTF-8 with a byte-order mark (Excel shows Chinese headers and names),
    XLSX with one sheet ``sheet``; text that a spreadsheet would run as a formula starts with an
    apostrophe (``geo.markup.spreadsheet_safe``). ``suffix`` is ``.csv`` or ``.xlsx``."""
    from geo.markup import spreadsheet_safe
    suffix = suffix.lower()
    safe = spreadsheet_safe(pd.DataFrame(frame))
    if suffix == ".csv":
        return safe.to_csv(index=False).encode("utf-8-sig")
    if suffix == ".xlsx":
        buf = io.BytesIO()
        with pd.ExcelWriter(buf, engine="openpyxl") as writer:
            safe.to_excel(writer, sheet_name=sheet[:31] or "Sheet1", index=False)
        return buf.getvalue()
    raise InputError(f"`suffix` was {suffix!r} but tables are written as one of "
                     f"{list(TABLE_OUT_SUFFIXES)}")


def write_table(frame: pd.DataFrame, path: str | Path, *, sheet: str = "Sheet1") -> Path:
    """Write ``frame`` to ``path`` as CSV or XLSX by its suffix (``table_bytes``), atomically
    (a temporary file renamed into place). Returns the path."""
    from geo.atomic import write_bytes_atomic
    path = Path(path)
    if path.suffix.lower() not in TABLE_OUT_SUFFIXES:
        raise InputError(f"`path` was {str(path)!r} but tables are written as "
                         f"{' or '.join(TABLE_OUT_SUFFIXES)}; give a file name ending in one of them")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, table_bytes(frame, path.suffix, sheet=sheet))
    return path
