"""Opening hours of posts (警务站) and stations: parsing, and who is open at a time of day.

A facility's ``hours`` column (headers such as 开放时间, 值守时间, 在岗时间: ``HOURS_NAMES`` in
``geo.columns``) holds values such as ``7x24``, ``24h``, ``全天``, ``08:00-20:00``,
``08:00-12:00,14:00-18:00``, ``白天`` (08:00-20:00) or ``夜间`` (20:00-08:00). Each window is a
``geo.hotspots.Shift`` (a window may wrap midnight). An empty value means open around the clock
(7x24), which is said in a warning naming the facilities; a value that cannot be read is an
error naming the layer, the rows and the accepted forms.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo.errors import InputError, format_ids
from geo.hotspots import Shift, shift_from_text

__all__ = ["OpeningHours", "ALWAYS", "DAYTIME", "parse_hours", "parse_time_of_day_text",
           "hours_column", "facility_hours", "open_at"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OpeningHours:
    """Daily opening windows; empty ``windows`` means never open (not produced by the parser)."""

    windows: tuple[Shift, ...]

    @property
    def always(self) -> bool:
        """Open around the clock."""
        return bool(self.minutes_open() >= 1440)

    def is_open(self, minute_of_day: int | np.ndarray) -> np.ndarray | bool:
        """True where ``minute_of_day`` (0..1439) falls inside a window."""
        m = np.asarray(minute_of_day)
        out = np.zeros(m.shape, dtype=bool)
        for w in self.windows:
            out |= w.contains(m)
        return bool(out) if out.ndim == 0 else out

    def minutes_open(self) -> int:
        """Minutes a day open (overlapping windows counted once)."""
        return int(np.sum(self.is_open(np.arange(1440))))

    def hour_share(self) -> np.ndarray:
        """24 shares: the part of each hour of the day (00:00-01:00 first) that is open."""
        return np.asarray(self.is_open(np.arange(1440))).reshape(24, 60).mean(axis=1)

    def __str__(self) -> str:
        if self.always:
            return "7x24"
        return ",".join(str(w) for w in self.windows)


ALWAYS = OpeningHours((Shift(0, 0),))
DAYTIME = OpeningHours((Shift(8 * 60, 20 * 60),))
NIGHT = OpeningHours((Shift(20 * 60, 8 * 60),))

_ALWAYS_WORDS = {"7x24", "7*24", "7×24", "24x7", "24*7", "24×7", "24/7", "7/24", "24h", "24小时",
                 "24hours", "全天", "全天候", "全日", "昼夜", "24小时值守", "全天24小时", "always",
                 "0-24", "00:00-24:00", "0:00-24:00", "00:00-00:00"}
_DAY_WORDS = {"白天", "日间", "白班", "day", "daytime", "daily"}
_NIGHT_WORDS = {"夜间", "晚间", "夜班", "night", "nighttime"}
_SPLIT = re.compile(r"[,，;；、/\s]+")
_DASH = re.compile(r"\s*(?:-|－|–|—|~|～|至|到)\s*")
_CLOCK = re.compile(r"(\d{1,2})(?:[:：](\d{2}))?(?:点|时)?$")


def _canonical(text: str) -> str:
    return re.sub(r"\s+", "", str(text)).lower().replace("：", ":")


def _clock(text: str) -> str:
    m = _CLOCK.fullmatch(text.strip())
    if not m:
        raise InputError(f"{text!r} is not a time of day")
    return f"{int(m.group(1)):02d}:{m.group(2) or '00'}"


def parse_hours(text: object) -> OpeningHours | None:
    """Opening hours from a cell value; None when empty (the caller decides: 7x24 with a note).

    Accepted: ``7x24`` (7*24, 24h, 24小时, 全天 …), ``白天``/``日间`` (08:00-20:00), ``夜间``
    (20:00-08:00), windows ``HH:MM-HH:MM`` (also ``8-20``, ``8:00～20:00``, ``8点至20点``)
    separated by commas, semicolons, 、 or spaces. Raises InputError naming the value and the
    accepted forms otherwise."""
    if text is None or (isinstance(text, float) and np.isnan(text)) or pd.isna(text):
        return None
    raw = str(text).strip()
    if not raw:
        return None
    key = _canonical(raw)
    if key in _ALWAYS_WORDS:
        return ALWAYS
    if key in _DAY_WORDS:
        return DAYTIME
    if key in _NIGHT_WORDS:
        return NIGHT
    windows = []
    for part in (p for p in _SPLIT.split(raw.replace("：", ":")) if p):
        ends = _DASH.split(part)
        try:
            if len(ends) != 2:
                raise InputError("not a window")
            window = shift_from_text(f"{_clock(ends[0])}-{_clock(ends[1])}")
        except InputError:
            raise InputError(f"`hours` was {raw!r}, which is not opening hours; write 7x24, 白天 "
                             "(08:00-20:00), 夜间 (20:00-08:00) or windows HH:MM-HH:MM such as "
                             "08:00-20:00 or 08:00-12:00,14:00-18:00") from None
        windows.append(Shift(0, 0) if window.start_min == window.end_min else window)
    out = OpeningHours(tuple(windows))
    return ALWAYS if out.always else out


def parse_time_of_day_text(at: object) -> int:
    """Minute of the day (0..1439) from ``HH:MM`` (``at``); InputError naming ``at`` otherwise."""
    text = str(at).strip().replace("：", ":")
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if not m or int(m.group(1)) > 24 or int(m.group(2)) > 59 or (int(m.group(1)) == 24 and int(m.group(2))):
        raise InputError(f"`at` was {at!r} but is expected as a time of day HH:MM, e.g. 03:00 or 14:30")
    return (int(m.group(1)) * 60 + int(m.group(2))) % 1440


def hours_column(frame: pd.DataFrame) -> object | None:
    """The column of ``frame`` holding opening hours (``HOURS_NAMES``), or None."""
    from geo.columns import HOURS_NAMES, find_column
    return find_column([c for c in frame.columns if c != getattr(frame, "_geometry_column_name", None)],
                       HOURS_NAMES)


def facility_hours(frame: pd.DataFrame, *, layer: str, id_col: object | None = None) -> list[OpeningHours]:
    """The opening hours of every row of ``frame`` (a posts or stations layer), in row order.

    Rows without hours (or a layer without an hours column) are open 7x24; when some rows have
    hours and others not, a warning names the ones taken as 7x24. Values that cannot be read
    raise one InputError naming ``layer``, the rows (ids from ``id_col`` when given) and the fix.
    """
    col = hours_column(frame)
    if col is None:
        return [ALWAYS] * len(frame)
    ids = (frame[id_col].astype(str).tolist() if id_col is not None and id_col in frame.columns
           else [f"row {i + 1}" for i in range(len(frame))])
    out, bad, missing = [], [], []
    for rid, value in zip(ids, frame[col].tolist()):
        try:
            h = parse_hours(value)
        except InputError:
            bad.append(f"{rid} ({value!r})")
            h = ALWAYS
        if h is None:
            missing.append(rid)
            h = ALWAYS
        out.append(h)
    if bad:
        raise InputError(f"the {layer} layer's {col!r} column has {len(bad)} values that are not "
                         f"opening hours: {format_ids(bad)}; write 7x24, 白天, 夜间 or windows "
                         "HH:MM-HH:MM such as 08:00-20:00 or 08:00-12:00,14:00-18:00")
    if missing and len(missing) < len(frame):
        log.warning("%d %s have no opening hours in %r and are taken as open 7x24: %s", len(missing),
                    layer, col, format_ids(missing))
    return out


def open_at(frame: pd.DataFrame, at: object, *, layer: str, id_col: object | None = None) -> np.ndarray:
    """Boolean mask of the rows of ``frame`` open at the time of day ``at`` (``HH:MM``)."""
    minute = parse_time_of_day_text(at)
    return np.array([h.is_open(minute) for h in facility_hours(frame, layer=layer, id_col=id_col)],
                    dtype=bool)
