"""Header vocabulary: recognising coordinate, time, category and priority columns by their names.

Headers are compared by ``header_key``: Unicode-normalised (full-width to ASCII), lower case,
without spaces, ``_ - .``, degree signs and bracketed units, so that ``经度(°)``, ``经度（度）``,
``Longitude`` and ``WGS84_LON`` all match an entry of the tables below. Each table lists its
names by preference: the first header present wins.

``with_incident_columns`` adds the ``time``, ``category`` and ``priority`` columns that
``geo.hotspots`` reads, from whatever the police export called them.
"""
from __future__ import annotations

import logging
import re
import unicodedata
import warnings
from typing import Iterable, Sequence

import pandas as pd

from geo.errors import GridPatrolWarning, format_ids
from geo.times import LOCAL_TZ, parse_time_of_day, parse_times

__all__ = ["header_key", "LON_NAMES", "LAT_NAMES", "X_NAMES", "Y_NAMES", "TIME_NAMES",
           "DATE_NAMES", "CLOCK_NAMES", "CATEGORY_NAMES", "PRIORITY_NAMES", "find_column",
           "coordinate_columns", "web_map_hint", "with_incident_columns", "normalise_priority"]

log = logging.getLogger(__name__)

# Longitude / latitude in degrees (any datum; GCJ-02 and BD-09 are lon/lat too).
LON_NAMES = ("经度", "东经", "lng", "lon", "long", "longitude", "wgs84lon", "wgs84lng", "gpslon",
             "gpslng", "gps经度", "经度坐标", "jd", "lngwgs84", "lonwgs84")
LAT_NAMES = ("纬度", "北纬", "lat", "latitude", "wgs84lat", "gpslat", "gps纬度", "纬度坐标", "wd",
             "latwgs84")
# Generic x / y (projected metres, or degrees: the values decide).
X_NAMES = ("x", "x坐标", "坐标x", "横坐标", "pointx", "xcoord", "xcoordinate", "gisx", "zbx", "xzb",
           "东坐标")
Y_NAMES = ("y", "y坐标", "坐标y", "纵坐标", "pointy", "ycoord", "ycoordinate", "gisy", "zby", "yzb",
           "北坐标")
# Headers that hold a longitude/latitude when they merely contain these words (发案地经度).
_LON_WORDS, _LAT_WORDS = ("经度", "东经"), ("纬度", "北纬")
_WEB_MAP_WORDS = {"bd09": ("百度", "baidu", "bd09", "bd"), "gcj02": ("高德", "腾讯", "amap", "gcj", "gaode")}

# Date-times by preference: the call (报警) is when police learned of it, the usual time of 110
# incident exports; 发案 is when a case happened.
TIME_NAMES = ("time", "datetime", "timestamp", "报警时间", "接警时间", "发案时间", "案发时间",
              "发生时间", "报案时间", "受理时间", "接报时间", "立案时间", "时间", "日期时间",
              "occurredat", "occurred", "reportedat", "calltime", "incidenttime")
DATE_NAMES = ("date", "报警日期", "接警日期", "发案日期", "案发日期", "发生日期", "报案日期", "日期")
CLOCK_NAMES = ("time", "clock", "报警时间", "接警时间", "发案时间", "案发时间", "发生时间", "报案时间",
               "时间", "时刻")
CATEGORY_NAMES = ("category", "警情类别", "警情类型", "警情分类", "案件类别", "案件类型", "案件分类",
                  "警情性质", "案件性质", "案由", "类别", "类型", "分类", "type", "primarytype",
                  "crimetype", "offense", "offence")
PRIORITY_NAMES = ("priority", "警情级别", "警情等级", "案件级别", "案件等级", "级别", "等级", "优先级",
                  "紧急程度", "level", "grade")

_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]|【[^】]*】|<[^>]*>")
_DROP = re.compile(r"[\s_\-.°:/]+")


def header_key(name: object) -> str:
    """The comparable form of a header: ``" 经度（°） "`` -> ``"经度"``, ``"Point_X"`` -> ``"pointx"``."""
    text = unicodedata.normalize("NFKC", str(name)).lower()
    stripped = _DROP.sub("", _BRACKETS.sub("", text))
    return stripped or _DROP.sub("", text)


def find_column(columns: Iterable[object], names: Sequence[str]) -> object | None:
    """The first of ``columns`` (in the order of ``names``) whose ``header_key`` is in ``names``."""
    keyed: dict[str, object] = {}
    for c in columns:
        keyed.setdefault(header_key(c), c)
    for name in names:
        if name in keyed:
            return keyed[name]
    return None


def _containing(columns: Sequence[object], words: Sequence[str]) -> object | None:
    for c in columns:
        key = header_key(c)
        if any(w in key for w in words):
            return c
    return None


def coordinate_columns(columns: Iterable[object]) -> tuple[object | None, object | None, bool]:
    """The x and y columns among ``columns`` and whether they are named as lon/lat.

    Lon/lat names (``经度/纬度``, ``lng/lat``…) are preferred to generic x/y names (``X坐标``,
    ``x``); failing both, headers that contain 经度/纬度 (``发案地经度``) are taken. Either may
    be None when no header matches.
    """
    columns = list(columns)
    lon, lat = find_column(columns, LON_NAMES), find_column(columns, LAT_NAMES)
    if lon is None or lat is None:
        lon = lon if lon is not None else _containing(columns, _LON_WORDS)
        lat = lat if lat is not None else _containing(columns, _LAT_WORDS)
    if lon is not None and lat is not None:
        return lon, lat, True
    x, y = find_column(columns, X_NAMES), find_column(columns, Y_NAMES)
    if x is not None and y is not None:
        return x, y, False
    return (lon if lon is not None else x), (lat if lat is not None else y), lon is not None or lat is not None


def web_map_hint(*names: object) -> str | None:
    """``bd09`` or ``gcj02`` when a coordinate header names a web map (``百度经度``, ``gcj_lng``)."""
    for system, words in _WEB_MAP_WORDS.items():
        for name in names:
            key = header_key(name)
            if any(w in key for w in words if len(w) > 2 or not w.isascii() or key.startswith(w)):
                return system
    return None


_PRIORITY_DIGITS = {"一": "1", "二": "2", "三": "3", "四": "4", "五": "5", "I": "1", "II": "2",
                    "III": "3", "IV": "4", "V": "5"}
_PRIORITY = re.compile(r"^(?:第)?([1-5]|[一二三四五]|I{1,3}|IV|V)\s*(?:级|等|类)?(?:警情|案件)?$")


def normalise_priority(value: object) -> object:
    """``一级``, ``1级``, ``一级警情``, ``Ⅰ级`` and ``1`` become ``"1"`` (1 = most urgent, as in
    ``geo.hotspots.DEFAULT_PRIORITY_WEIGHTS``); other values are returned as stripped text."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if not text:
        return None
    m = _PRIORITY.match(text.upper())
    if m:
        return _PRIORITY_DIGITS.get(m[1], m[1])
    return text


def _time_column(frame: pd.DataFrame, source: str) -> tuple[pd.Series, list, str] | None:
    """(times, bad labels, description of the columns used), or None without a time column."""
    columns = [c for c in frame.columns if c != getattr(frame, "_geometry_column_name", None)]
    keyed: dict[str, object] = {}
    for c in columns:
        keyed.setdefault(header_key(c), c)
    full = [keyed[n] for n in TIME_NAMES if n in keyed]
    dates = [keyed[n] for n in DATE_NAMES if n in keyed and keyed[n] not in full]
    clocks = [keyed[n] for n in CLOCK_NAMES if n in keyed]
    tried: list[tuple[pd.Series, list, str, int]] = []
    for col in full + dates:
        times, bad = parse_times(frame[col])
        read = int(times.notna().sum())
        if read and read >= len(bad) and (times.dropna().dt.normalize() != times.dropna()).any():
            return times, bad, repr(str(col))
        tried.append((times, bad, repr(str(col)), read))
    # Dates in one column, times of day in another (发案日期 + 发案时间).
    for date_col in full + dates:
        for clock_col in clocks:
            if clock_col == date_col:
                continue
            clock, bad_clock = parse_time_of_day(frame[clock_col])
            if clock.notna().sum() and clock.notna().sum() >= len(bad_clock):
                times, bad = parse_times(frame[date_col], time_of_day=frame[clock_col])
                if times.notna().sum():
                    return times, bad, f"{str(date_col)!r} + {str(clock_col)!r}"
    if not tried:
        return None
    times, bad, used, read = max(tried, key=lambda t: t[3])  # dates only, or mostly unreadable
    if read >= 2 and (times.dropna().dt.normalize() == times.dropna()).all():
        warnings.warn(f"{source}: the times in {used} have no time of day; every incident counts "
                      "at 00:00 in time-of-day slots (shifts, hours); give a column with date and "
                      "time", GridPatrolWarning, stacklevel=3)
    return times, bad, used


def with_incident_columns(frame: pd.DataFrame, *, source: str) -> pd.DataFrame:
    """A copy of ``frame`` with ``time``, ``category`` and ``priority`` found from its headers.

    ``time`` holds naive local timestamps (China Standard Time, see ``geo.times``) read from
    the first column of ``TIME_NAMES`` that holds date-times, else from a date column plus a
    time-of-day column (``发案日期`` + ``发案时间``), else from a date-only column (with a
    warning that time-of-day slots see them all at 00:00). Values that are not times become NaT
    and a GridPatrolWarning names their rows (index labels, so pass a frame indexed by the row
    numbers the user sees). ``category`` is a copy of the first ``CATEGORY_NAMES`` column;
    ``priority`` the first ``PRIORITY_NAMES`` column through ``normalise_priority``. The original
    columns are kept; a frame that already has a column of one of these names keeps it (an
    existing ``time`` column is parsed in place, its text kept as ``time_text``). Nothing is
    added for columns that are not there.
    """
    out = frame.copy()
    found = _time_column(out, source)
    if found is not None:
        times, bad, used = found
        if "time" in out.columns and not pd.api.types.is_datetime64_any_dtype(out["time"].dtype):
            out["time_text"] = out["time"]
        out["time"] = times
        if bad:
            warnings.warn(f"{source}: {len(bad)} of {len(out)} values in {used} are not dates and "
                          f"times (rows {format_ids(bad)}); those incidents keep an unknown time: "
                          "they count in place, not in time-of-day slots; write times as "
                          "2024-03-05 20:15", GridPatrolWarning, stacklevel=2)
        log.info("%s: incident times from %s, read as local time (%s)", source, used, LOCAL_TZ)
    columns = [c for c in out.columns if c != getattr(out, "_geometry_column_name", None)]
    if "category" not in out.columns:
        col = find_column(columns, CATEGORY_NAMES)
        if col is not None:
            out["category"] = out[col].map(lambda v: None if pd.isna(v) or str(v).strip() == ""
                                           else (str(int(v)) if isinstance(v, float) and v.is_integer()
                                                 else str(v).strip()))
    if "priority" not in out.columns:
        col = find_column(columns, PRIORITY_NAMES)
        if col is not None:
            out["priority"] = out[col].map(normalise_priority)
    return out
