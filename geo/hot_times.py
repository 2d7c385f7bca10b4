"""When incidents happen: counts by hour of day and hour of week, peaks, and shift proposals.

动态布警 puts the limited police where *and when* incidents concentrate. This module answers the
"when": ``hot_times`` spreads every incident over the hours of the week (Monday 00:00 = hour 0,
local wall-clock time as ``geo.times`` parses it) and ``propose_shifts`` cuts the day into shifts
whose hourly load is as even as possible inside each shift (so one staffing level fits the whole
shift) and gives each shift units in proportion to its load (弹性工作制), compared with today's
shifts on the same figures.

Aoristic spreading (Ratcliffe 2002): an incident known only to lie between a start and an end
(a burglary found in the morning) counts as 1 spread evenly over the minutes of that interval, so
the 168 hour-of-week counts still sum to the number of incidents. An interval of a week or more
is spread over the whole week (whole weeks evenly, the rest from its start).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.errors import InputError
from geo.hotspots import Shift, shift_from_text

__all__ = ["DAYS_EN", "DAYS_ZH", "HOT_TIME_LAYERS", "HotTimes", "ShiftPlan", "hot_times",
           "hour_of_week_counts", "parse_shifts", "propose_shifts", "shifts_load",
           "workspace_hot_times"]

WEEK_MIN = 7 * 24 * 60
DAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
DAYS_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


def _minute_of_week(t: pd.Series) -> np.ndarray:
    """Minutes since Monday 00:00 of each timestamp (floats, seconds included)."""
    return (t.dt.day_of_week * 1440 + t.dt.hour * 60 + t.dt.minute + t.dt.second / 60.0).to_numpy(dtype=float)


def hour_of_week_counts(start: pd.Series, end: pd.Series | None = None,
                        weights: np.ndarray | None = None) -> np.ndarray:
    """168 counts (Monday 00:00-01:00 first) of incidents from their start (and end) times.

    ``start``/``end`` are datetime Series (NaT where unknown; rows without a start are left
    out). Without an end, or where the end is missing or not after the start, an incident
    counts fully in the hour of its start; otherwise it is spread evenly over its interval
    (aoristic). ``weights`` (one per row, default 1) scale each incident.
    """
    start = pd.to_datetime(start)
    n = len(start)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    if len(w) != n:
        raise InputError(f"weights has {len(w)} values but there are {n} incidents")
    ok = start.notna().to_numpy()
    a = np.zeros(n)
    a[ok] = _minute_of_week(start[ok])
    dur = np.zeros(n)
    if end is not None:
        end = pd.to_datetime(end)
        d = (end - start).dt.total_seconds().to_numpy(dtype=float) / 60.0
        dur = np.where(np.isfinite(d) & (d > 0), d, 0.0)
    counts = np.zeros(168)
    point = ok & (dur <= 0)
    np.add.at(counts, (a[point] // 60).astype(int) % 168, w[point])
    spread = ok & (dur > 0)
    if spread.any():
        counts += _aoristic(a[spread], dur[spread], w[spread])
    return counts


def _aoristic(a: np.ndarray, d: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Spread weight w evenly over [a, a + d) minutes on the weekly circle; 168 hourly sums.

    The cumulative density is piecewise linear, so the mass in an hour [60h, 60h+60) is exact:
    mass(x) over [0, x) is evaluated at the hour edges for each interval (vectorised per
    interval chunk)."""
    full = np.floor(d / WEEK_MIN)
    rest = d - full * WEEK_MIN
    out = np.full(168, float(np.sum(w * full * WEEK_MIN / d)) / 168.0)  # whole weeks: evenly
    edges = np.arange(169, dtype=float) * 60.0  # hour edges 0..10080
    rate = w / d  # weight per minute
    s = a % WEEK_MIN
    e = s + rest  # may pass the end of the week: then it wraps to Monday
    for lo, hi in ((s, np.minimum(e, WEEK_MIN)), (np.zeros_like(s), np.maximum(e - WEEK_MIN, 0.0))):
        # minutes of [lo, hi) below each edge, for each interval: clip(edge, lo, hi) - lo
        for chunk in range(0, len(lo), 20_000):
            sl = slice(chunk, chunk + 20_000)
            below = np.clip(edges[None, :], lo[sl, None], hi[sl, None]) - lo[sl, None]
            out += (rate[sl, None] * np.diff(below, axis=1)).sum(axis=0)
    return out


@dataclass(frozen=True)
class HotTimes:
    """Incident counts of one scope by hour of the week.

    hour_of_week : 168 counts, Monday 00:00-01:00 first (aoristic where intervals are known).
    incidents : incidents counted (rows with a time); without_time : rows left out (no time).
    first, last : the earliest and latest start.
    scope : what was counted ("county", "station S01", "township T03").
    """

    hour_of_week: np.ndarray
    incidents: int
    without_time: int
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    scope: str = "county"
    spread: int = 0

    @property
    def by_hour(self) -> np.ndarray:
        """24 counts, 00:00-01:00 first (summed over the days of the week)."""
        return self.hour_of_week.reshape(7, 24).sum(axis=0)

    @property
    def by_day(self) -> np.ndarray:
        """7 counts, Monday first."""
        return self.hour_of_week.reshape(7, 24).sum(axis=1)

    @property
    def weeks(self) -> float:
        """The span of the data in weeks (at least one)."""
        if self.first is None or self.last is None:
            return 1.0
        return max(1.0, (self.last - self.first).total_seconds() / (7 * 86400.0))

    def peaks(self, n: int = 5) -> list[dict]:
        """The ``n`` busiest hours of the week: day (0 = Monday), hour, count, share."""
        total = float(self.hour_of_week.sum()) or 1.0
        order = np.argsort(-self.hour_of_week, kind="stable")[:n]
        return [{"hour_of_week": int(h), "day": int(h // 24), "hour": int(h % 24),
                 "count": float(self.hour_of_week[h]), "share": float(self.hour_of_week[h] / total)}
                for h in order]

    def quiet_hours(self, share: float = 0.5) -> list[int]:
        """Hours of the day whose count is below ``share`` x the mean hour (quiet hours)."""
        by = self.by_hour
        return [int(h) for h in np.flatnonzero(by < share * by.mean())]


def hot_times(incidents: pd.DataFrame, *, time_col: str = "time", end_col: str | None = None,
              where: np.ndarray | None = None, scope: str = "county") -> HotTimes:
    """Hour-of-week counts of ``incidents`` (a table with a parsed ``time`` column, as the
    workspace's incidents layer has), optionally only the rows ``where`` is True (a station's
    or a township's incidents). ``end_col`` names a column of end times for aoristic spreading.

    Raises InputError naming the columns when ``time_col`` or ``end_col`` is not a column.
    """
    cols = [c for c in incidents.columns if c != "geometry"]
    for name, col in (("time_col", time_col), ("end_col", end_col)):
        if col is not None and col not in incidents.columns:
            raise InputError(f"`{name}` was {col!r} but the incidents have no such column; "
                             f"columns are {cols}")
    rows = incidents if where is None else incidents.loc[np.asarray(where, dtype=bool)]
    start = pd.to_datetime(rows[time_col], errors="coerce")
    end = pd.to_datetime(rows[end_col], errors="coerce") if end_col else None
    counts = hour_of_week_counts(start, end)
    known = start.dropna()
    spread = 0
    if end is not None:
        spread = int(((end - start).dt.total_seconds() > 0).sum())
    return HotTimes(hour_of_week=counts, incidents=len(known),
                    without_time=int(len(rows) - len(known)),
                    first=known.min() if len(known) else None,
                    last=known.max() if len(known) else None, scope=scope, spread=spread)


HOT_TIME_LAYERS = ["incidents", "jurisdictions", "townships"]  # what workspace_hot_times reads


def _ids(series: pd.Series) -> np.ndarray:
    from geo.ids import normalise_ids
    return normalise_ids(series).to_numpy()


def _within(points: gpd.GeoDataFrame, polygons: gpd.GeoDataFrame, column: str) -> np.ndarray:
    """The ``column`` of the polygon holding each point (None outside every polygon)."""
    joined = gpd.sjoin(points[[points.geometry.name]], polygons[[column, polygons.geometry.name]],
                       how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    return joined[column].reindex(points.index).to_numpy()


def workspace_hot_times(ws, *, station: str | None = None, township: str | None = None,
                        end_col: str | None = None) -> HotTimes:
    """``hot_times`` of a workspace's incidents: the county, one ``station`` (its incidents'
    ``station_id``, else the points inside its jurisdiction) and/or one ``township`` (points
    inside it). Raises InputError naming the parameter and the choices when a station or
    township is unknown, and when the incidents have no times."""
    if not ws.has("incidents"):
        raise InputError("the workspace has no incidents layer; import incidents with their times")
    inc = ws.layer("incidents")
    if "time" not in inc.columns:
        raise InputError("the incidents have no time column; import them with their times (a "
                         "column such as 接警时间 or time)")
    where = np.ones(len(inc), dtype=bool)
    scope = []
    if station is not None:
        if "station_id" in inc.columns:
            sid = _ids(inc["station_id"])
        elif ws.has("jurisdictions"):
            sid = _ids(pd.Series(_within(inc, ws.layer("jurisdictions"), "station_id"), index=inc.index))
        else:
            raise InputError("`station` was given but the incidents carry no station_id and the "
                             "workspace has no jurisdictions")
        key = str(station)
        if not (sid == key).any():
            known = sorted({s for s in sid if s is not None})
            raise InputError(f"`station` was {station!r} but no incident belongs to it; stations "
                             f"with incidents: {', '.join(known[:40])}")
        where &= sid == key
        scope.append(f"station {key}")
    if township is not None:
        if not ws.has("townships"):
            raise InputError("`township` was given but the workspace has no townships layer")
        towns = ws.layer("townships")
        tid = _ids(towns["township_id"])
        if str(township) not in set(tid):
            raise InputError(f"`township` was {township!r} but is not a township; choose one of "
                             f"{', '.join(list(tid)[:40])}")
        where &= _ids(pd.Series(_within(inc, towns, "township_id"), index=inc.index)) == str(township)
        scope.append(f"township {township}")
    return hot_times(inc, end_col=end_col, where=where, scope=", ".join(scope) or "county")


# --- shifts ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ShiftPlan:
    """Shifts covering the day and the units on duty in each.

    shifts : the daily windows, in order from the first start.
    units : units on duty in each shift.
    load : share of the day's incidents falling in each shift.
    load_per_unit : for each hour of the day, that hour's share of the incidents divided by the
        units on duty then (the pressure on one unit).
    """

    shifts: tuple[Shift, ...]
    units: tuple[int, ...]
    load: tuple[float, ...]
    load_per_unit: np.ndarray = field(repr=False)

    @property
    def unit_hours(self) -> float:
        """Units x hours of every shift: the staff time the plan spends in a day."""
        return float(sum(u * s.minutes / 60.0 for s, u in zip(self.shifts, self.units)))

    @property
    def peak_pressure(self) -> float:
        """The busiest hour's load per unit on duty, over the day's mean load per unit-hour
        (1 = every unit equally busy all day; 2 = in the worst hour a unit meets twice its
        fair share). Plans with the same ``unit_hours`` compare directly."""
        fair = 1.0 / self.unit_hours
        return float(self.load_per_unit.max() / fair)

    def as_dict(self) -> dict:
        return {"shifts": [{"shift": str(s), "hours": s.minutes / 60.0, "units": int(u),
                            "load_share": round(float(load), 6)}
                           for s, u, load in zip(self.shifts, self.units, self.load)],
                "unit_hours": self.unit_hours, "peak_pressure": round(self.peak_pressure, 4)}


def _hour_weights(shift: Shift) -> np.ndarray:
    """Fraction of each hour of the day inside ``shift`` (24 values in 0..1)."""
    inside = shift.contains(np.arange(1440))
    return inside.reshape(24, 60).mean(axis=1)


def shifts_load(by_hour: np.ndarray, shifts: Sequence[Shift], units: Sequence[int]) -> ShiftPlan:
    """The figures of given ``shifts`` staffed with ``units``: each shift's share of the load
    and the load per unit on duty hour by hour (overlapping shifts add their units)."""
    by = np.asarray(by_hour, dtype=float)
    total = by.sum() or 1.0
    on_duty = np.zeros(24)
    loads = []
    for s, u in zip(shifts, units):
        hw = _hour_weights(s)
        on_duty += hw * u
        loads.append(float((by * hw).sum() / total))
    uncovered = [h for h in range(24) if on_duty[h] <= 0]
    if uncovered:
        raise InputError(f"the shifts leave hours {uncovered} with nobody on duty; give shifts "
                         "that cover the whole day")
    return ShiftPlan(shifts=tuple(shifts), units=tuple(int(u) for u in units),
                     load=tuple(loads), load_per_unit=(by / total) / on_duty)


def _staff(peaks: Sequence[float], hours: Sequence[int], unit_hours: float) -> list[int] | None:
    """Whole units per shift within ``unit_hours`` minimising the largest peak load per unit
    (max_k peaks[k] / units[k]), exactly: the optimum ratio is one of peaks[k] / u, and for a
    ratio r shift k needs ceil(peaks[k] / r) units; the smallest feasible r wins, and the
    budget left is then given a unit at a time to the most loaded shift. None when one unit
    per shift already exceeds the budget."""
    if sum(hours) > unit_hours + 1e-9:
        return None
    most = int(unit_hours // min(hours)) + 1
    ratios = sorted({p / u for p in peaks for u in range(1, most + 1) if p > 0}, reverse=True)
    units = [1] * len(peaks)
    for r in ratios:
        need = [max(1, math.ceil(p / r - 1e-9)) for p in peaks]
        if sum(n * h for n, h in zip(need, hours)) > unit_hours + 1e-9:
            break
        units = need
    left = unit_hours - sum(u * h for u, h in zip(units, hours))
    while True:
        for k in sorted(range(len(peaks)), key=lambda k: -peaks[k] / units[k]):
            if hours[k] <= left + 1e-9:
                units[k] += 1
                left -= hours[k]
                break
        else:
            return units


def _compositions(total: int, parts: int, lo: int, hi: int):
    """Every way to write ``total`` as ``parts`` whole lengths in lo..hi (ordered)."""
    if parts == 1:
        if lo <= total <= hi:
            yield (total,)
        return
    for first in range(lo, min(hi, total - lo * (parts - 1)) + 1):
        for rest in _compositions(total - first, parts - 1, lo, hi):
            yield (first, *rest)


def propose_shifts(by_hour: np.ndarray, *, n_shifts: int = 3, unit_hours: float = 72.0,
                   min_hours: int = 4, max_hours: int = 12) -> ShiftPlan:
    """Cut the day into ``n_shifts`` consecutive whole-hour shifts (any start hour, each
    ``min_hours``..``max_hours`` long) and staff them with whole units within ``unit_hours`` a
    day (9 units on three 8-hour shifts = 72) so that the busiest hour's load per unit on duty
    is as low as possible (弹性工作制: more units when incidents concentrate).

    Exact: every shift system (start hour x shift lengths) is tried, each staffed optimally
    (``_staff``); ties go to fewer unit-hours, then to the earlier start. Compare with today's
    shifts by ``shifts_load`` on the same ``unit_hours``.
    """
    by = np.asarray(by_hour, dtype=float)
    if by.shape != (24,):
        raise InputError(f"by_hour has {by.size} values but must have 24 (00:00 first)")
    if not (1 <= n_shifts <= 6):
        raise InputError(f"n_shifts was {n_shifts} but is expected in 1..6")
    if n_shifts * min_hours > 24 or n_shifts * max_hours < 24:
        raise InputError(f"{n_shifts} shifts of {min_hours}-{max_hours} hours cannot cover 24 "
                         "hours; change n_shifts, min_hours or max_hours")
    best: tuple[tuple, list[Shift], list[int]] | None = None
    lengths = list(_compositions(24, n_shifts, min_hours, max_hours))
    for first in range(24):
        for lens in lengths:
            starts = np.cumsum((first, *lens[:-1])) % 24
            shifts = [Shift(int(h) * 60, int((h + n) % 24) * 60) for h, n in zip(starts, lens)]
            peaks = [float(max(by[(h + i) % 24] for i in range(n))) for h, n in zip(starts, lens)]
            units = _staff(peaks, list(lens), unit_hours)
            if units is None:
                continue
            worst = max(p / u for p, u in zip(peaks, units))
            key = (round(worst, 12), sum(u * n for u, n in zip(units, lens)))
            if best is None or key < best[0]:
                best = (key, shifts, units)
    if best is None:
        raise InputError(f"unit_hours was {unit_hours:g}, too few for {n_shifts} shifts of at "
                         f"least {min_hours} hours with one unit each; give more units")
    _, shifts, units = best
    order = sorted(range(n_shifts), key=lambda k: shifts[k].start_min)
    return shifts_load(by, [shifts[k] for k in order], [units[k] for k in order])


def parse_shifts(text: str) -> list[Shift]:
    """``"08:00-16:00,16:00-24:00,00:00-08:00"`` into shifts."""
    parts = [p for p in str(text).split(",") if p.strip()]
    if not parts:
        raise InputError(f"`shifts` was {text!r}; give e.g. 08:00-16:00,16:00-24:00,00:00-08:00")
    return [shift_from_text(p) for p in parts]
