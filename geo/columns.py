"""Header vocabulary: recognising coordinate, time, category and priority columns by their names.

Headers are compared by ``header_key``: Unicode-normalised (full-width to ASCII), lower case,
without spaces, ``_ - .``, degree signs and bracketed units, so that ``经度(°)``, ``经度（度）``,
``Longitude`` and ``WGS84_LON`` all match an entry of the tables below. Each table lists its
names by preference: the first header present wins.

``with_incident_columns`` adds the ``time``, ``category`` and ``priority`` columns that
``geo.hotspots`` reads, from whatever the police export called them.

``guess_roles`` says what each column of a layer probably is (id, name, population, x, y, time,
category, priority) from its header and its values, so that an import form can preselect and
preview; ``id_column_problem`` and ``population_problem`` say why a column cannot serve (an id
column that is constant or mostly empty, a population column that is text), and
``column_preview`` is the compact table of columns, sample values and guessed roles.
"""
from __future__ import annotations

import logging
import re
import unicodedata
import warnings
from dataclasses import dataclass
from typing import Iterable, Sequence

import pandas as pd

from geo.errors import GridPatrolWarning, format_ids
from geo.ids import normalise_ids
from geo.times import LOCAL_TZ, parse_time_of_day, parse_times

__all__ = ["header_key", "LON_NAMES", "LAT_NAMES", "X_NAMES", "Y_NAMES", "TIME_NAMES",
           "DATE_NAMES", "CLOCK_NAMES", "CATEGORY_NAMES", "PRIORITY_NAMES", "find_column",
           "coordinate_columns", "web_map_hint", "with_incident_columns", "normalise_priority",
           "ROLES", "OFFICER_NAMES", "AUXILIARY_NAMES", "HOURS_NAMES", "staff_columns", "ID_NAMES",
           "GENERIC_ID_NAMES", "NAME_NAMES", "POPULATION_NAMES", "ColumnProblem",
           "id_column_problem", "population_problem", "is_numeric_column", "column_total",
           "units_from_ids", "guess_id_column", "guess_population_column", "guess_roles",
           "column_preview"]

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


# --- column roles: what a column of an uploaded layer probably is -----------------------------

ROLES = ("id", "name", "population", "x", "y", "time", "category", "priority", "officers",
         "auxiliaries", "hours")

# Opening hours of posts and stations (7x24, 08:00-20:00, 白天 …: geo.hours).
HOURS_NAMES = ("hours", "openinghours", "opening", "开放时间", "值守时间", "在岗时间", "值班时间",
               "执勤时间", "服务时间", "工作时间", "营业时间", "开放时段", "值守时段", "在岗时段",
               "勤务时间", "运行时间")

# Staff head counts of stations and police districts: 民警 (officers) and 辅警 (auxiliaries).
OFFICER_NAMES = ("officers", "民警", "民警数", "民警人数", "民警数量", "警力", "警力数", "在编民警",
                 "policeofficers", "officercount")
AUXILIARY_NAMES = ("auxiliaries", "辅警", "辅警数", "辅警人数", "辅警数量", "协警", "协警数",
                   "auxiliary", "auxpolice", "auxiliarycount")


def staff_columns(frame: pd.DataFrame) -> dict[str, object]:
    """The numeric columns of ``frame`` holding officers (民警) and auxiliaries (辅警):
    ``{"officers": column, "auxiliaries": column}``, only the roles found (headers from
    ``OFFICER_NAMES`` / ``AUXILIARY_NAMES``: ``officers``, ``民警``, ``民警数``, ``辅警数``…)."""
    columns = [c for c in _data_columns(frame) if is_numeric_column(frame[c])]
    out: dict[str, object] = {}
    for role, names in (("officers", OFFICER_NAMES), ("auxiliaries", AUXILIARY_NAMES)):
        hit = find_column([c for c in columns if c not in out.values()], names)
        if hit is not None:
            out[role] = hit
    return out

# Id headers by layer, by preference (the canonical id column first).
ID_NAMES: dict[str, tuple[str, ...]] = {
    "townships": ("townshipid", "街道编号", "街道代码", "街道编码", "乡镇编号", "乡镇代码", "乡镇编码",
                  "街乡编号", "街乡代码", "行政区划代码", "区划代码", "xzqdm", "xzqhdm"),
    "communities": ("communityid", "社区编号", "社区代码", "社区编码", "村编号", "村代码", "村编码",
                    "村居编号", "村居代码", "居委会代码", "村委会代码"),
    "gov_grids": ("gridid", "网格编号", "网格编码", "网格代码", "综治网格编号", "综治网格编码"),
    "stations": ("stationid", "派出所编号", "派出所代码", "派出所编码", "所编号", "所代码",
                 "单位编号", "单位代码", "机构代码", "机构编号"),
    "jurisdictions": ("stationid", "派出所编号", "派出所代码", "派出所编码", "辖区编号", "辖区代码",
                      "所编号", "所代码", "单位代码", "机构代码"),
    "police_grids": ("pgridid", "警务区编号", "警务区代码", "警务区编码", "警格编号", "警格编码",
                     "警格代码"),
    "posts": ("postid", "警务站编号", "警务站代码", "警务站编码", "岗亭编号", "站点编号"),
    "checkpoints": ("checkpointid", "卡口编号", "卡口编码", "卡口代码", "检查站编号", "检查站代码"),
    "incidents": ("incidentid", "警情编号", "接警编号", "接警单号", "警情单号", "案件编号", "事件编号",
                  "警情id", "接警单编号"),
}
# Id headers of any layer.
GENERIC_ID_NAMES = ("id", "编号", "代码", "编码", "code", "objectid", "gid", "uid", "bh", "dm", "bm",
                    "no", "number", "num")
# Endings and parts of id headers (``AREA_NUMBE``, ``DIST_NUM``, ``zone_id``, ``网格编号``).
_ID_ENDINGS = ("id", "编号", "代码", "编码", "code", "no", "号", "bh", "dm")
_ID_PARTS = ("num", "编号", "代码", "编码")
NAME_NAMES = ("name", "名称", "名字", "mc", "单位名称", "派出所名称", "所名", "街道名称", "乡镇名称",
              "社区名称", "村名称", "村名", "网格名称", "警务区名称", "警格名称", "卡口名称",
              "警务站名称", "label", "community", "districtname")
_NAME_PARTS = ("name", "名称", "名字")
POPULATION_NAMES = ("population", "pop", "人口", "总人口", "常住人口", "户籍人口", "实有人口",
                    "人口数", "人口总数", "人数", "totalpop", "poptotal", "totpop", "poptot")
_POPULATION_PARTS = ("population", "pop", "人口")
# Headers that hold shares, densities or changes of a population, never a head count.
_NOT_A_COUNT = ("pct", "percent", "perc", "rate", "ratio", "density", "dens", "change", "share",
                "率", "比", "密度", "增", "变化", "占")
_YEAR = re.compile(r"(19|20)\d\d")


@dataclass(frozen=True)
class ColumnProblem:
    """Why a column cannot play the role asked of it.

    ``rule`` is ``constant`` (one value in every row: ``value``), ``mostly_empty`` (``count`` of
    ``total`` rows empty), ``not_numeric`` (text where numbers are needed; ``value`` one of
    them), ``negative`` (``count`` negative values) or ``no_total`` (the numbers add up to 0).
    """

    rule: str
    column: str
    value: object = None
    count: int = 0
    total: int = 0

    @property
    def message(self) -> str:
        """The problem in words (English; front ends phrase it in their language from the fields)."""
        c = repr(self.column)
        return {
            "constant": f"{c} holds the same value {self.value!r} in every row; an id must tell the "
                        "features apart: choose another column",
            "mostly_empty": f"{c} is empty in {self.count} of {self.total} rows; an id must be given "
                            "for every feature: choose another column",
            "not_numeric": f"{c} holds text (e.g. {self.value!r}), not numbers: choose a numeric column",
            "negative": f"{c} holds {self.count} negative values; a head count cannot be negative: "
                        "choose another column",
            "no_total": f"{c} adds up to 0: choose a column with the head counts",
        }[self.rule]

    def __str__(self) -> str:
        return self.message


def _data_columns(frame: pd.DataFrame) -> list:
    geometry = getattr(frame, "_geometry_column_name", None)
    return [c for c in frame.columns if c != geometry]


def id_column_problem(values: pd.Series) -> ColumnProblem | None:
    """Why ``values`` cannot be a layer's id column, or None when they can.

    A column whose values are empty in more than half of the rows, or the same in every row
    (of two or more; ``0.0`` everywhere, as the ``AREA`` column of Chicago's community areas)
    is refused: used as ids it would leave most features without an id, or dissolve them all
    into one unit. Ids compare as text (``geo.ids``): ``7`` and ``7.0`` are one value.
    Duplicates short of that are not a problem here (polygons with one id are parts of one
    unit; ``units_from_ids`` counts the units).
    """
    ids = normalise_ids(values)
    total = len(ids)
    empty = int(ids.isna().sum())
    name = str(values.name)
    if total and 2 * empty > total:
        return ColumnProblem("mostly_empty", name, count=empty, total=total)
    present = ids.dropna()
    if len(present) > 1 and present.nunique() == 1:
        return ColumnProblem("constant", name, value=present.iloc[0], count=len(present), total=total)
    return None


def units_from_ids(values: pd.Series) -> int:
    """How many units features with these ids make (distinct ids, compared as text; features
    that share an id are dissolved into one unit, those without one are not counted)."""
    return int(normalise_ids(values).dropna().nunique())


def is_numeric_column(values: pd.Series) -> bool:
    """True for numbers (not booleans); text, even of digits, is not numeric."""
    dtype = values.dtype
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def column_total(values: pd.Series) -> float:
    """The sum of a numeric column, missing values left out (0.0 for an empty column)."""
    return float(pd.to_numeric(values, errors="coerce").sum(min_count=1) or 0.0)


def population_problem(values: pd.Series) -> ColumnProblem | None:
    """Why ``values`` cannot be apportioned as population (head counts), or None when they can:
    text columns, negative values and a total of 0 are refused."""
    name = str(values.name)
    if not is_numeric_column(values):
        sample = next((v for v in values if not pd.isna(v)), None)
        return ColumnProblem("not_numeric", name, value=sample, total=len(values))
    numbers = pd.to_numeric(values, errors="coerce")
    negative = int((numbers < 0).sum())
    if negative:
        return ColumnProblem("negative", name, count=negative, total=len(values))
    if column_total(values) <= 0:
        return ColumnProblem("no_total", name, total=len(values))
    return None


def _is_id_like(values: pd.Series) -> bool:
    """Whole numbers or text: the kinds of values ids are (not fractions such as areas)."""
    if pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.is_datetime64_any_dtype(values.dtype):
        return False
    if is_numeric_column(values):
        numbers = pd.to_numeric(values, errors="coerce").dropna()
        return bool(len(numbers)) and bool((numbers == numbers.round()).all())
    return True


def guess_id_column(frame: pd.DataFrame, *, layer: str, exclude: Iterable[object] = ()) -> object | None:
    """The column of ``frame`` most likely to hold ``layer``'s unit ids, or None.

    By preference: the layer's id headers (``ID_NAMES``: ``station_id``, ``派出所编号``…), then
    ``GENERIC_ID_NAMES`` (``id``, ``编号``, ``code``…), then headers ending in an id word or
    holding ``num`` (``zone_id``, ``DIST_NUM``, ``AREA_NUMBE``), each in column order; failing
    those, the first column of whole numbers with a distinct value in every row (e.g.
    ``DISTRICT``; text columns are names or kinds more often than ids). A column for which
    ``id_column_problem`` finds a problem is never guessed, nor columns in ``exclude`` (those
    with another role). Layers without ids (``area``,
    ``attributes``) get None.
    """
    if layer not in ID_NAMES:
        return None
    skip = set(exclude)
    columns = [c for c in _data_columns(frame) if c not in skip]
    keys = {c: header_key(c) for c in columns}

    def usable(c: object) -> bool:
        return id_column_problem(frame[c]) is None and _is_id_like(frame[c])

    tiers = (
        lambda k: k in ID_NAMES[layer],
        lambda k: k in GENERIC_ID_NAMES,
        lambda k: k.endswith(_ID_ENDINGS) or any(p in k for p in _ID_PARTS),
    )
    for tier in tiers:
        ranked = sorted((c for c in columns if tier(keys[c])),
                        key=lambda c: (ID_NAMES[layer].index(keys[c]) if keys[c] in ID_NAMES[layer] else 0,
                                       columns.index(c)))
        for c in ranked:
            if usable(c):
                return c
    n = len(frame)
    for c in columns:
        if not is_numeric_column(frame[c]) or not _is_id_like(frame[c]):
            continue
        ids = normalise_ids(frame[c])
        if n > 1 and ids.notna().all() and ids.nunique() == n:
            return c
    return None


def guess_population_column(frame: pd.DataFrame, *, exclude: Iterable[object] = ()) -> object | None:
    """The numeric column of ``frame`` most likely to hold population (head counts), or None.

    Only columns without a ``population_problem`` (numbers, none negative, a positive total) are
    considered, never text. By preference: ``POPULATION_NAMES`` (``population``, ``人口``,
    ``常住人口``…), then headers containing ``pop`` or ``人口`` (the latest year first:
    ``POP2010`` before ``POP2000``), leaving out shares, densities, changes and 0/1 flags.
    """
    skip = set(exclude)
    columns = [c for c in _data_columns(frame) if c not in skip]
    keys = {c: header_key(c) for c in columns}

    def usable(c: object) -> bool:
        if population_problem(frame[c]) is not None or any(w in keys[c] for w in _NOT_A_COUNT):
            return False
        numbers = pd.to_numeric(frame[c], errors="coerce").dropna()
        return not numbers.isin([0, 1]).all()

    exact = [c for c in columns if keys[c] in POPULATION_NAMES]
    exact.sort(key=lambda c: POPULATION_NAMES.index(keys[c]))
    for c in exact:
        if usable(c):
            return c

    def year(c: object) -> int:
        found = _YEAR.search(keys[c])
        return int(found.group(0)) if found else 0

    partial = [c for c in columns if c not in exact and any(w in keys[c] for w in _POPULATION_PARTS)]
    partial.sort(key=lambda c: (-year(c), columns.index(c)))
    return next((c for c in partial if usable(c)), None)


def _guess_name_column(frame: pd.DataFrame, columns: list) -> object | None:
    text = [c for c in columns if not is_numeric_column(frame[c])
            and not pd.api.types.is_datetime64_any_dtype(frame[c].dtype)]
    found = find_column(text, NAME_NAMES)
    if found is not None:
        return found
    return next((c for c in text if any(p in header_key(c) for p in _NAME_PARTS)), None)


_DERIVED = ("time", "category", "priority")


def guess_roles(frame: pd.DataFrame, *, layer: str) -> dict[object, str]:
    """The guessed role (one of ``ROLES``) of the columns of ``frame``, a layer as read for
    ``layer`` (``townships``, ``incidents``, ``attributes``…): {column: role}, only columns
    with a role, each column one role.

    Coordinates (``x``/``y``), ``time``, ``category`` and ``priority`` come from the header
    tables above (as ``geo.layers.read_layer`` finds them); ``population`` from
    ``guess_population_column`` (numbers only, never text); ``id`` from ``guess_id_column``
    (never a constant or mostly empty column; only for layers with ids); ``name`` from
    ``NAME_NAMES`` among the text columns.
    """
    columns = _data_columns(frame)
    roles: dict[object, str] = {}

    def give(column: object | None, role: str) -> None:
        if column is not None and column not in roles:
            roles[column] = role

    x, y, _ = coordinate_columns(columns)
    if x is not None and y is not None:
        give(x, "x")
        give(y, "y")
    # read_layer adds ``time``/``category``/``priority`` copies: name the user's own column.
    own = [c for c in columns if c not in _DERIVED]

    def pick(names: Sequence[str], *more: Sequence[str]) -> object | None:
        for pool in (own, columns):
            free = [c for c in pool if c not in roles]
            for table in (names, *more):
                hit = find_column(free, table)
                if hit is not None:
                    return hit
        return None

    give(pick(TIME_NAMES, DATE_NAMES), "time")
    give(pick(CATEGORY_NAMES), "category")
    give(pick(PRIORITY_NAMES), "priority")
    give(pick(HOURS_NAMES), "hours")
    for role, column in staff_columns(frame).items():
        give(column, role)
    give(guess_population_column(frame, exclude=roles), "population")
    give(guess_id_column(frame, layer=layer, exclude=roles), "id")
    give(_guess_name_column(frame, [c for c in columns if c not in roles]), "name")
    return roles


def _sample_text(value: object) -> str:
    if isinstance(value, pd.Timestamp):
        return value.isoformat(sep=" ", timespec="minutes" if value.second == 0 else "seconds")
    if isinstance(value, float):
        return f"{value:.6g}" if not value.is_integer() else str(int(value)) if abs(value) < 1e15 else f"{value:g}"
    text = " ".join(str(value).split())
    return text if len(text) <= 24 else text[:23] + "…"


def column_preview(frame: pd.DataFrame, *, layer: str, samples: int = 3,
                   roles: dict[object, str] | None = None) -> pd.DataFrame:
    """A compact table of ``frame``'s columns: one row per column with ``column`` (its name as
    text), ``samples`` (the first ``samples`` non-empty values, as text joined by `` · ``),
    ``role`` (the guessed role, ``guess_roles``, or "") and ``total`` (the sum of a numeric
    column with the population role, else None). ``roles`` replaces the guess (e.g. after the
    user chose). The index is a RangeIndex."""
    roles = guess_roles(frame, layer=layer) if roles is None else roles
    rows = []
    for c in _data_columns(frame):
        values = frame[c]
        present = values[values.notna()]
        if present.dtype == object:
            present = present[present.map(lambda v: str(v).strip() != "")]
        shown = " · ".join(_sample_text(v) for v in present.iloc[:samples])
        role = roles.get(c, "")
        total = column_total(values) if role == "population" and is_numeric_column(values) else None
        rows.append({"column": str(c), "samples": shown, "role": role, "total": total})
    return pd.DataFrame(rows, columns=["column", "samples", "role", "total"])
