"""Which hours a new post must be staffed to matter (posts by the hour).

For each hour of the day, a new post adds the demand it reaches within the response standard that
no facility *open at that hour* reaches (posts and stations carry opening hours: ``geo.hours``),
weighted by that hour's share of the incidents (``geo.hot_times``: ``by_hour``). The hours where it
adds most are reported, with proposed opening hours that keep a share (80 % by default) of its
added value: the fewest hours (possibly several windows) and the shortest single window.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from geo.errors import InputError
from geo.hotspots import Shift
from geo.hours import ALWAYS, OpeningHours
from geo.traveltime import TravelEngine, minutes_matrix, nearest_facility

__all__ = ["PostHours", "staffing_hours", "hours_from_mask", "shortest_window"]


@dataclass(frozen=True, eq=False)
class PostHours:
    """The hours a new post at ``site`` (a network node) matters.

    Attributes
    ----------
    added : 24 demand weights (00:00-01:00 first) the post newly reaches at each hour.
    value : ``added`` times the hour's share of the incidents (sums to the day's added value).
    share : the share of the added value the proposals keep.
    hours : the fewest hours keeping ``share`` (several windows when the peaks are apart).
    window : the shortest single window keeping ``share``.
    """

    site: object
    added: np.ndarray
    value: np.ndarray
    share: float
    hours: OpeningHours | None
    window: OpeningHours | None

    def top_hours(self, n: int = 6) -> list[int]:
        """The ``n`` hours (0..23) where the post adds most value, best first (ties: earlier)."""
        order = np.argsort(-self.value, kind="stable")
        return [int(h) for h in order[:n] if self.value[h] > 0]

    def as_dict(self) -> dict:
        total = float(self.value.sum())

        def kept(h: OpeningHours | None) -> float | None:
            if h is None or total <= 0:
                return None
            return round(float(self.value[h.hour_share() >= 0.5].sum()) / total, 4)
        return {"site": self.site, "added_by_hour": [round(float(x), 6) for x in self.added],
                "value_by_hour": [round(float(x), 6) for x in self.value],
                "top_hours": self.top_hours(), "share": self.share,
                "proposed_hours": None if self.hours is None else str(self.hours),
                "proposed_hours_count": 0 if self.hours is None else int(round(self.hours.minutes_open() / 60)),
                "proposed_hours_share": kept(self.hours),
                "proposed_window": None if self.window is None else str(self.window),
                "proposed_window_share": kept(self.window)}


def hours_from_mask(mask: Sequence[bool] | np.ndarray) -> OpeningHours | None:
    """Opening hours from 24 booleans (hour h open = h:00-h+1:00), runs joined across midnight."""
    m = np.asarray(mask, dtype=bool)
    if m.shape != (24,):
        raise InputError(f"`mask` has {m.size} values; give 24, one per hour")
    if not m.any():
        return None
    if m.all():
        return ALWAYS
    start = int(np.flatnonzero(~m)[0])  # begin scanning at a closed hour so no run is cut
    windows, run = [], None
    for k in range(1, 25):
        h = (start + k) % 24
        if m[h] and run is None:
            run = h
        if not m[h] and run is not None:
            windows.append(Shift(run * 60, h * 60))
            run = None
    if run is not None:
        windows.append(Shift(run * 60, (start + 1) % 24 * 60))
    return OpeningHours(tuple(sorted(windows, key=lambda w: w.start_min)))


def shortest_window(value: np.ndarray, share: float) -> OpeningHours | None:
    """The shortest single window of whole hours (wrapping midnight) holding ``share`` of the
    total ``value``; among equally short ones the one holding most."""
    v = np.asarray(value, dtype=float)
    total = float(v.sum())
    if total <= 0:
        return None
    twice = np.concatenate([v, v])
    csum = np.concatenate([[0.0], np.cumsum(twice)])
    for length in range(1, 25):
        sums = csum[length:length + 24] - csum[:24]
        best = int(np.argmax(sums))
        if sums[best] >= share * total - 1e-12:
            if length == 24:
                return ALWAYS
            return OpeningHours((Shift(best * 60, (best + length) % 24 * 60),))
    return ALWAYS


def staffing_hours(engine: TravelEngine, demand: pd.Series, *, sites: Sequence[object],
                   existing: pd.Series | None = None,
                   existing_hours: Mapping[object, OpeningHours] | None = None,
                   by_hour: np.ndarray | None = None, minutes: float,
                   delays_min: Mapping | pd.Series | float | None = None,
                   share: float = 0.8) -> list[PostHours]:
    """For each new post in ``sites`` (node ids), the value it adds at each hour of the day.

    Parameters
    ----------
    demand : weight per demand node (node id -> weight).
    existing : existing facility id -> node id; ``existing_hours`` id -> OpeningHours (missing:
        7x24). A facility counts at hour h when it is open at h:30.
    by_hour : 24 incident counts (``HotTimes.by_hour``); None: every hour alike.
    minutes : response standard; ``delays_min`` turnout of the existing facilities.
    share : share of the added value the proposed hours keep (0 < share <= 1).

    Each new post is weighed against the existing facilities alone (not the other new posts).
    """
    if not (0 < share <= 1):
        raise InputError(f"`share` was {share!r} but must be in (0, 1], e.g. 0.8")
    if not (minutes > 0):
        raise InputError(f"`minutes` was {minutes!r} but must be minutes > 0")
    w = np.ones(24) if by_hour is None else np.asarray(by_hour, dtype=float)
    if w.shape != (24,) or (w < 0).any():
        raise InputError(f"`by_hour` has {w.size} values; give 24 incident counts >= 0")
    w = w / w.sum() if w.sum() > 0 else np.full(24, 1.0 / 24)
    demand = pd.Series(demand, dtype=float)
    nodes = list(demand.index)
    d = demand.to_numpy()
    existing = pd.Series(dtype=object) if existing is None else pd.Series(existing)
    hours = {k: (existing_hours or {}).get(k, ALWAYS) for k in existing.index}
    delays = None
    if delays_min is not None:
        delays = (pd.Series(delays_min, dtype=float).reindex(existing.index).fillna(0.0)
                  if isinstance(delays_min, (Mapping, pd.Series))
                  else pd.Series(float(delays_min), index=existing.index))
    covered_by_set: dict[tuple, np.ndarray] = {}
    covered = np.zeros((24, len(nodes)), dtype=bool)
    for h in range(24):
        key = tuple(k for k in existing.index if hours[k].is_open(h * 60 + 30))
        if key not in covered_by_set:
            if key:
                sub = existing.loc[list(key)]
                near = nearest_facility(engine, sub, delays_min=None if delays is None else delays.loc[list(key)],
                                        limit_min=minutes)
                covered_by_set[key] = near["minutes"].reindex(nodes).to_numpy() <= minutes
            else:
                covered_by_set[key] = np.zeros(len(nodes), dtype=bool)
        covered[h] = covered_by_set[key]
    out: list[PostHours] = []
    if not len(sites):
        return out
    reach = minutes_matrix(engine, list(sites), nodes, limit_min=minutes) <= minutes
    for i, site in enumerate(sites):
        added = np.array([d[reach[i] & ~covered[h]].sum() for h in range(24)])
        value = added * w
        total = float(value.sum())
        best = None
        if total > 0:
            order = np.argsort(-value, kind="stable")
            csum = np.cumsum(value[order])
            n = int(np.searchsorted(csum, share * total - 1e-12)) + 1
            mask = np.zeros(24, dtype=bool)
            mask[order[:n]] = True
            best = hours_from_mask(mask)
        out.append(PostHours(site=site, added=added, value=value, share=float(share), hours=best,
                             window=shortest_window(value, share)))
    return out
