"""Parsing incident times as police systems export them into naive local timestamps.

Every time comes out as a naive ``datetime64`` in local wall-clock time, China Standard Time
(``LOCAL_TZ``, UTC+8, no daylight saving): naive input is taken as local as it is; input with an
offset (``2024-03-05T12:15:00Z``, ``+08:00``) and Unix epochs are converted to local time first.
Recognised forms:

- ISO and its relatives: ``2024-03-05 20:15:00``, ``2024-03-05T20:15``, ``2024/3/5 20:15``,
  ``2024.3.5 20:15``, fractions of seconds, a trailing offset;
- Chinese: ``2024年3月5日 20时15分(30秒)``, ``2024年3月5日 下午8:15``, full-width digits;
- digits only: ``20240305201500``, ``202403052015``, ``20240305`` (date only);
- US style ``3/5/2024 8:15:00 PM`` (month first);
- Excel serial dates from 1970 on (``45356.84375`` = 2024-03-05 20:15, numbers or numeric
  text) and Excel date cells (``datetime`` values);
- Unix epochs in seconds or milliseconds (UTC, converted to local time).

A date without a time of day is midnight; ``parse_times`` can add a separate time-of-day column.

Stamps the workspace stores in UTC (plans' ``created``) are shown as local wall-clock time by
``local_time_text``, in ``local_zone()`` ($GRIDPATROL_TZ, default ``LOCAL_TZ``).
"""
from __future__ import annotations

import datetime as dt
import math
import os
import re
import unicodedata

import numpy as np
import pandas as pd

__all__ = ["LOCAL_TZ", "TZ_ENV", "parse_times", "parse_time_of_day", "local_zone", "local_time_text"]

LOCAL_TZ = "Asia/Shanghai"
TZ_ENV = "GRIDPATROL_TZ"  # the zone stored UTC stamps are shown in (an IANA name), default LOCAL_TZ

_EXCEL_EPOCH = dt.datetime(1899, 12, 30)  # serial 1 = 1900-01-01 (with Excel's 1900 leap bug)
_YEARS = (1900, 2100)
_DATE_YMD = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?\s*(?:[T\s]\s*)?(.*)$",
                       re.IGNORECASE)
_DATE_MDY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})\s*(.*)$")
_TIME = re.compile(
    r"^(?P<pre>上午|下午|晚上|凌晨|早上|中午|AM|PM)?\s*(?P<h>\d{1,2})\s*"
    r"(?:[:时点]\s*(?P<mi>\d{1,2})?\s*(?:[:分]\s*(?:(?P<s>\d{1,2}(?:\.\d+)?)\s*秒?)?)?)?\s*"
    r"(?P<post>AM|PM|上午|下午)?\s*(?P<tz>Z|UTC|GMT|[+-]\d{2}:?\d{2})?$", re.IGNORECASE)
_AFTERNOON = {"下午", "晚上", "pm"}
_MORNING = {"上午", "凌晨", "早上", "am"}


def _clean(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def _clock(text: str) -> tuple[int, int, float, dt.timezone | None] | None:
    """(hour, minute, second, offset) of a time-of-day text, or None."""
    m = _TIME.match(text)
    if not m:
        return None
    h, mi = int(m["h"]), int(m["mi"] or 0)
    s = float(m["s"] or 0.0)
    mark = (m["pre"] or m["post"] or "").lower()
    if mark in _AFTERNOON and h < 12:
        h += 12
    elif mark in _MORNING and h == 12:
        h = 0
    elif mark == "中午" and h < 6:
        h += 12
    if not (0 <= h <= 23 and 0 <= mi <= 59 and 0 <= s < 61):
        return None
    tz = None
    if m["tz"]:
        z = m["tz"].upper()
        if z in ("Z", "UTC", "GMT"):
            tz = dt.timezone.utc
        else:
            sign = 1 if z[0] == "+" else -1
            digits = z[1:].replace(":", "")
            tz = dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    return h, mi, min(s, 59.999999), tz


def _local(stamp: dt.datetime) -> pd.Timestamp:
    t = pd.Timestamp(stamp)
    if t.tzinfo is not None:
        t = t.tz_convert(LOCAL_TZ).tz_localize(None)
    return t


def _from_number(v: float) -> pd.Timestamp | None:
    if not math.isfinite(v):
        return None
    if v.is_integer():
        digits = str(int(v))
        if len(digits) in (8, 12, 14):
            return _from_digits(digits)
    if 1e12 <= v < 4.2e12:  # Unix epoch, milliseconds
        return _local(dt.datetime.fromtimestamp(v / 1000.0, tz=dt.timezone.utc))
    if 1e9 <= v < 4.2e9:  # Unix epoch, seconds
        return _local(dt.datetime.fromtimestamp(v, tz=dt.timezone.utc))
    if 25569 <= v < 73051:  # an Excel serial date (1970-01-01 .. 2099-12-31)
        return pd.Timestamp(_EXCEL_EPOCH) + pd.Timedelta(seconds=round(v * 86400.0))
    return None


def _from_digits(digits: str) -> pd.Timestamp | None:
    try:
        year, month, day = int(digits[0:4]), int(digits[4:6]), int(digits[6:8])
        hour, minute, second = int(digits[8:10] or 0), int(digits[10:12] or 0), int(digits[12:14] or 0)
        if not _YEARS[0] <= year <= _YEARS[1]:
            return None
        return pd.Timestamp(dt.datetime(year, month, day, hour, minute, second))
    except ValueError:
        return None


def _from_text(text: str) -> pd.Timestamp | None:
    text = _clean(text)
    if not text:
        return None
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return _from_number(float(text))
    m = _DATE_YMD.match(text)
    if m:
        y, mo, d, rest = int(m[1]), int(m[2]), int(m[3]), m[4].strip()
    else:
        m = _DATE_MDY.match(text)
        if not m:
            return _fallback(text)
        mo, d, y, rest = int(m[1]), int(m[2]), int(m[3]), m[4].strip()
    if not _YEARS[0] <= y <= _YEARS[1]:
        return None
    clock = _clock(rest) if rest else (0, 0, 0.0, None)
    if clock is None:
        return None
    h, mi, s, tz = clock
    try:
        whole = int(s)
        stamp = dt.datetime(y, mo, d, h, mi, whole, int(round((s - whole) * 1e6)) % 1000000, tzinfo=tz)
    except ValueError:
        return None
    return _local(stamp)


def _fallback(text: str) -> pd.Timestamp | None:
    """Forms pandas knows (``5 March 2024 20:15``), when they carry letters and a year."""
    if not re.search(r"[A-Za-z]", text) or not re.search(r"\d{4}", text):
        return None
    try:
        t = pd.Timestamp(text)
    except (ValueError, OverflowError):
        return None
    if t is pd.NaT or not _YEARS[0] <= t.year <= _YEARS[1]:
        return None
    return _local(t.to_pydatetime())


def _one(value: object) -> pd.Timestamp | None | bool:
    """A timestamp, None for a missing value, False for a value that is not a time."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return _local(value)
    if isinstance(value, dt.date):
        return pd.Timestamp(value)
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, (int, float, np.integer, np.floating)):
        if isinstance(value, (float, np.floating)) and math.isnan(value):
            return None
        return _from_number(float(value)) or False
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else pd.Timestamp(value)
    text = str(value)
    if not text.strip():
        return None
    return _from_text(text) or False


def _given(series: pd.Series) -> np.ndarray:
    """True where a value is present (not None, NaN or blank text)."""
    return np.array([_one_missing(v) is False for v in series.to_numpy(dtype=object)], dtype=bool)


def _one_missing(value: object) -> bool:
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    if isinstance(value, (float, np.floating)) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _series(values: list, index: pd.Index) -> pd.Series:
    out = pd.Series(pd.to_datetime(pd.Series(values, dtype=object), errors="coerce").to_numpy(),
                    index=index)
    return out.astype("datetime64[ns]") if len(out) else pd.Series([], index=index, dtype="datetime64[ns]")


def parse_times(series: pd.Series, *, time_of_day: pd.Series | None = None) -> tuple[pd.Series, list]:
    """Incident times as naive local timestamps, and the labels of the values that are not times.

    Parameters
    ----------
    series : dates or date-times in any of the forms of this module's docstring (text, numbers,
        ``datetime`` values or a ``datetime64`` column, naive or with a time zone).
    time_of_day : an optional separate time-of-day column (``发案日期`` + ``发案时间``), same
        index: ``20:15``, ``20:15:30``, ``20时15分``, ``下午8:15``, ``datetime.time`` values, Excel day
        fractions (``0.84375``). The result is the date of ``series`` at this time.

    Returns
    -------
    (timestamps, bad) : ``timestamps`` is a ``datetime64[ns]`` Series with the input's index,
        naive, local time (``LOCAL_TZ``); missing and unreadable values are NaT. ``bad`` lists
        the index labels of values that were given but could not be read (with
        ``time_of_day``: rows where either part was given but the pair is not a time).
    """
    if time_of_day is not None:
        clock_values = time_of_day.reindex(series.index)
        dates, bad_dates = parse_times(series)
        clock, bad_clock = parse_time_of_day(clock_values)
        out = dates.dt.normalize() + clock
        unread = set(bad_dates) | set(bad_clock)
        given = _given(series) | _given(clock_values)
        unread |= set(series.index[out.isna().to_numpy() & given])
        out = out.mask(series.index.isin(list(unread)))
        return out.astype("datetime64[ns]"), [label for label in series.index if label in unread]
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        out = series
        if getattr(series.dt, "tz", None) is not None:
            out = series.dt.tz_convert(LOCAL_TZ).dt.tz_localize(None)
        return out.astype("datetime64[ns]"), []
    values, bad = [], []
    for label, value in zip(series.index, series.to_numpy(dtype=object)):
        t = _one(value)
        if t is False:
            bad.append(label)
            t = None
        values.append(t)
    return _series(values, series.index), bad


def _clock_of(value: object) -> pd.Timedelta | None | bool:
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, dt.time):
        return pd.Timedelta(hours=value.hour, minutes=value.minute, seconds=value.second,
                            microseconds=value.microsecond)
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return pd.Timedelta(hours=value.hour, minutes=value.minute, seconds=value.second)
    if isinstance(value, (dt.timedelta, pd.Timedelta)):
        td = pd.Timedelta(value)
        return td if pd.Timedelta(0) <= td < pd.Timedelta(days=1) else False
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, (int, float, np.integer, np.floating)):
        v = float(value)
        if math.isnan(v):
            return None
        if 0 <= v < 1:  # an Excel time: a fraction of a day
            return pd.Timedelta(seconds=round(v * 86400.0))
        value = str(int(v)) if v.is_integer() else str(v)
    text = _clean(str(value))
    if not text:
        return None
    if re.fullmatch(r"\d{3,6}", text):  # 2015, 201500: HHMM(SS)
        text = text.zfill(4 if len(text) <= 4 else 6)
        text = ":".join(text[i:i + 2] for i in range(0, len(text), 2))
    if re.fullmatch(r"0?\.\d+", text):
        return pd.Timedelta(seconds=round(float(text) * 86400.0))
    clock = _clock(text)
    if clock is None or clock[3] is not None:
        return False
    h, mi, s, _ = clock
    return pd.Timedelta(hours=h, minutes=mi, seconds=s)


def parse_time_of_day(series: pd.Series) -> tuple[pd.Series, list]:
    """Times of day as ``timedelta64[ns]`` after midnight (NaT when missing or unreadable), and
    the index labels of the values that were given but are not times of day."""
    values, bad = [], []
    for label, value in zip(series.index, series.to_numpy(dtype=object)):
        t = _clock_of(value)
        if t is False:
            bad.append(label)
            t = None
        values.append(pd.NaT if t is None else t)
    return pd.Series(pd.to_timedelta(pd.Series(values, dtype=object)).to_numpy(),
                     index=series.index).astype("timedelta64[ns]"), bad


def local_zone() -> str:
    """The IANA time zone in which stored UTC stamps are shown: ``$GRIDPATROL_TZ`` when set
    (e.g. ``Asia/Urumqi``), else ``LOCAL_TZ`` (Asia/Shanghai). Raises InputError naming the
    variable when it is not a known zone."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from geo.errors import InputError
    zone = os.environ.get(TZ_ENV, "").strip() or LOCAL_TZ
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"{TZ_ENV} was {zone!r}, which is not a time zone; give an IANA name such "
                         f"as {LOCAL_TZ}, or leave it unset") from None
    return zone


def local_time_text(stamp: object, *, zone: str | None = None) -> str:
    """An ISO 8601 stamp as local wall-clock time to the minute, ``"2026-12-06 11:05"``.

    ``stamp`` is what the workspace stores (``2026-12-06T03:05:00+00:00``, UTC); a stamp
    without an offset is taken as UTC. ``zone`` defaults to ``local_zone()``. Missing values
    give ``""``; text that is not a time is returned as it is.
    """
    if stamp is None or (not isinstance(stamp, str) and pd.isna(stamp)) or not str(stamp).strip():
        return ""
    try:
        moment = pd.Timestamp(stamp)
    except (ValueError, TypeError):
        return str(stamp)
    if moment is pd.NaT:
        return ""
    moment = moment.tz_localize("UTC") if moment.tzinfo is None else moment
    return moment.tz_convert(zone or local_zone()).strftime("%Y-%m-%d %H:%M")
