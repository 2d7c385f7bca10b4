"""Hotspots: incident risk per cell and time slot, Getis-Ord Gi* significance, street-segment risk.

Risk of a cell in a time slot is the weighted count of the incidents inside it whose time of day
falls in the slot (a shift such as ``08:00-16:00``, or an hour of the week), each incident
weighted by

    category weight × priority weight × 0.5 ** (age in days / half-life in days),

then smoothed over neighbouring cells: ``risk = own + neighbour_share × sum(neighbours)``
(queen contiguity: cells sharing an edge or a corner).

A hotspot is more than noise when the Getis-Ord Gi* statistic of the cell's (unsmoothed)
weighted count is significantly high. Gi* (Getis & Ord 1992; Ord & Getis 1995) with binary
weights that include the cell itself:

    Gi* = (sum_j w_ij x_j − x̄ W_i) / (s · sqrt((n S1_i − W_i²) / (n − 1)))

where ``W_i = sum_j w_ij``, ``S1_i = sum_j w_ij²``, x̄ and s the mean and (population) standard
deviation of x over all n cells. Under random permutation of the values over the cells, Gi* has
exactly mean 0 and variance 1; the normal p-value is only an approximation (counts are skewed).
Therefore significance is decided by permutation: the values are permuted ``permutations``
times, Gi* is recomputed for every cell, and a cell's family-wise p-value is the share of
permutations whose *largest* Gi* over all cells reaches the cell's Gi* (the max-T method of
Westfall & Young). A cell is a hotspot when Gi* > 0 and that p-value is at most ``alpha``, so
that on pure noise the chance of declaring *any* hotspot is at most ``alpha`` (it controls the
multiple testing over hundreds of cells that an uncorrected 5 % test would fail: on 400 noise
cells it would flag about 20). The per-cell permutation p-value and the normal p-value are
reported too.
"""
from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from typing import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.special import ndtr

from geo.crs import check_same_crs, require_projected
from geo.errors import InputError
from geo.ids import id_str

__all__ = ["Shift", "shift_from_text", "incident_weights", "slot_mask", "contiguity_weights",
           "gi_star", "cell_risk", "hotspots_from_cells", "segment_risk",
           "DEFAULT_PRIORITY_WEIGHTS"]

log = logging.getLogger(__name__)

# Priority 1 is the most urgent (一级警情); unknown priorities weigh 1.
DEFAULT_PRIORITY_WEIGHTS: dict[str, float] = {"1": 3.0, "2": 2.0, "3": 1.0, "high": 3.0,
                                              "medium": 2.0, "low": 1.0, "高": 3.0, "中": 2.0,
                                              "低": 1.0}


@dataclass(frozen=True)
class Shift:
    """A daily time window. ``start_min``/``end_min``: minutes after midnight; the window wraps
    past midnight when ``end_min <= start_min`` (``22:00-06:00``)."""

    start_min: int
    end_min: int

    @property
    def minutes(self) -> int:
        """Length of the shift in minutes (a full day when start equals end)."""
        d = (self.end_min - self.start_min) % 1440
        return d if d else 1440

    def contains(self, minute_of_day: np.ndarray) -> np.ndarray:
        """True where ``minute_of_day`` (0..1439) falls inside the shift."""
        m = np.asarray(minute_of_day)
        return ((m - self.start_min) % 1440) < self.minutes

    def __str__(self) -> str:
        return f"{self.start_min // 60:02d}:{self.start_min % 60:02d}-" \
               f"{self.end_min // 60 % 24:02d}:{self.end_min % 60:02d}"


def shift_from_text(text: str) -> Shift:
    """Parse ``HH:MM-HH:MM`` (``08:00-16:00``, ``22:00-06:00``; ``24:00`` means midnight)."""
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", str(text))
    if not m:
        raise InputError(f"`shift` was {text!r} but is expected as HH:MM-HH:MM, e.g. 08:00-16:00 "
                         "or 22:00-06:00")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 24 or h2 > 24 or m1 > 59 or m2 > 59 or (h1 == 24 and m1) or (h2 == 24 and m2):
        raise InputError(f"`shift` was {text!r}, which is not a time of day; hours are 00-24, "
                         "minutes 00-59")
    return Shift((h1 * 60 + m1) % 1440, (h2 * 60 + m2) % 1440)


def _times(incidents: pd.DataFrame, time_col: str) -> pd.Series:
    if time_col not in incidents.columns:
        raise InputError(f"the incidents have no {time_col!r} column; columns are "
                         f"{[c for c in incidents.columns if c != 'geometry']}")
    t = pd.to_datetime(incidents[time_col], errors="coerce")
    bad = t.isna() & incidents[time_col].notna()
    if bad.any():
        raise InputError(f"{int(bad.sum())} incident times are not dates (e.g. "
                         f"{incidents.loc[bad, time_col].iloc[0]!r}); give ISO times such as "
                         "2024-05-01 21:30")
    return t


def incident_weights(incidents: pd.DataFrame, *, category_weights: Mapping[str, float] | None = None,
                     priority_weights: Mapping[str, float] | None = None,
                     half_life_days: float | None = 90.0, now: object | None = None,
                     time_col: str = "time") -> pd.Series:
    """The weight of every incident: category × priority × recency decay (same index).

    Parameters
    ----------
    incidents : table with optional ``category`` and ``priority`` columns and, for the decay,
        a ``time`` column (anything ``pandas.to_datetime`` reads).
    category_weights : {category: weight}; categories not listed weigh 1.
    priority_weights : {priority: weight}, default ``DEFAULT_PRIORITY_WEIGHTS`` (1 most urgent = 3).
    half_life_days : an incident ``half_life_days`` old weighs half a new one; None: no decay.
    now : the reference time of the decay (default: the latest incident).
    """
    w = pd.Series(1.0, index=incidents.index)
    if category_weights and "category" in incidents.columns:
        cw = {id_str(k): float(v) for k, v in category_weights.items()}
        w *= incidents["category"].map(id_str).map(cw).fillna(1.0).to_numpy()
    if "priority" in incidents.columns:
        pw = {id_str(k): float(v) for k, v in (priority_weights or DEFAULT_PRIORITY_WEIGHTS).items()}
        keys = incidents["priority"].map(lambda v: (id_str(v) or "").lower())
        w *= keys.map(pw).fillna(1.0).to_numpy()
    if half_life_days is not None and time_col in incidents.columns:
        if not (half_life_days > 0):
            raise InputError(f"half_life_days was {half_life_days!r} but must be > 0 days (or None "
                             "for no recency decay)")
        t = _times(incidents, time_col)
        ref = pd.Timestamp(now) if now is not None else t.max()
        age_days = ((ref - t).dt.total_seconds() / 86400.0).clip(lower=0).fillna(0.0)
        w *= np.power(0.5, age_days.to_numpy() / half_life_days)
    return w


def slot_mask(incidents: pd.DataFrame, *, shift: Shift | str | None = None,
              hour_of_week: int | None = None, time_col: str = "time") -> np.ndarray:
    """True for the incidents inside a time slot: a daily ``shift`` or one ``hour_of_week``
    (0 = Monday 00:00-01:00 … 167 = Sunday 23:00-24:00). Neither: every incident."""
    if shift is None and hour_of_week is None:
        return np.ones(len(incidents), dtype=bool)
    t = _times(incidents, time_col)
    if hour_of_week is not None:
        if not (0 <= int(hour_of_week) < 168):
            raise InputError(f"hour_of_week was {hour_of_week!r} but is expected in 0..167 "
                             "(0 = Monday 00:00)")
        how = (t.dt.day_of_week * 24 + t.dt.hour).to_numpy()
        return (how == int(hour_of_week)) & t.notna().to_numpy()
    sh = shift_from_text(shift) if isinstance(shift, str) else shift
    assert sh is not None  # neither shift nor hour: returned above
    minute = (t.dt.hour * 60 + t.dt.minute).fillna(-1).to_numpy().astype(int)
    return sh.contains(minute) & (minute >= 0)


def contiguity_weights(cells: gpd.GeoDataFrame, *, tolerance_m: float = 0.01) -> sparse.csr_matrix:
    """Queen contiguity (shared edge or corner) between cells, as a binary sparse n × n matrix
    without the diagonal. ``tolerance_m`` (metres) absorbs rounding gaps between cells."""
    geoms = np.asarray(cells.geometry.values)
    n = len(geoms)
    if n == 0:
        return sparse.csr_matrix((0, 0))
    tree = shapely.STRtree(geoms)
    a, b = tree.query(shapely.buffer(geoms, tolerance_m) if tolerance_m else geoms,
                      predicate="intersects")
    keep = a != b
    m = sparse.coo_matrix((np.ones(int(keep.sum())), (a[keep], b[keep])), shape=(n, n)).tocsr()
    m.data[:] = 1.0
    return ((m + m.T) > 0).astype(float).tocsr()


def _gi_star_z(x: np.ndarray, Wself: sparse.csr_matrix, Wi: np.ndarray, S1: np.ndarray) -> np.ndarray:
    """Gi* z for one value vector ``x`` (n,) or many (n, P)."""
    n = Wself.shape[0]
    mean = x.mean(axis=0)
    s = np.sqrt((x * x).mean(axis=0) - mean * mean)
    lag = Wself @ x
    denom = np.sqrt(np.maximum(n * S1 - Wi * Wi, 0.0) / (n - 1))
    if x.ndim == 2:
        denom = denom[:, None] * s[None, :]
        num = lag - mean[None, :] * Wi[:, None]
    else:
        denom = denom * s
        num = lag - mean * Wi
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(denom > 0, num / denom, 0.0)
    return z


def gi_star(values: np.ndarray, weights: sparse.spmatrix, *, permutations: int = 999,
            rng: np.random.Generator | None = None) -> pd.DataFrame:
    """Getis-Ord Gi* of ``values`` with binary ``weights`` (the cell itself is added).

    Parameters
    ----------
    values : one value per cell (weighted incident counts).
    weights : n × n neighbour matrix (``contiguity_weights``); non-zero means neighbour.
    permutations : random permutations of the values for the permutation p-values (0: none).
    rng : numpy Generator for the permutations (default: ``default_rng(0)``, reproducible).

    Returns
    -------
    DataFrame (one row per cell, positional index) with ``gi_z`` (the Gi* z-score),
    ``p_norm`` (one-sided normal p-value of a high value), ``p_sim`` (per-cell permutation
    p-value) and ``p_fwer`` (max-T family-wise permutation p-value; see the module docstring).
    """
    x = np.asarray(values, dtype=float)
    n = len(x)
    if weights.shape != (n, n):
        raise InputError(f"weights are {weights.shape} but there are {n} values; give an n × n matrix")
    if n < 3:
        raise InputError(f"Gi* needs at least 3 cells, got {n}")
    W = (sparse.csr_matrix(weights) != 0).astype(float)
    W = W.tolil()
    W.setdiag(1.0)
    W = W.tocsr()
    Wi = np.asarray(W.sum(axis=1)).ravel()
    S1 = np.asarray(W.multiply(W).sum(axis=1)).ravel()
    z = _gi_star_z(x, W, Wi, S1)
    out = pd.DataFrame({"gi_z": z, "p_norm": 1.0 - ndtr(z)})
    if permutations and permutations > 0 and np.ptp(x) > 0:
        rng = rng if rng is not None else np.random.default_rng(0)
        ge_cell = np.zeros(n)
        ge_max = np.zeros(n)
        chunk = max(1, min(permutations, int(2e7 // max(n, 1))))
        done = 0
        while done < permutations:
            p = min(chunk, permutations - done)
            xp = rng.permuted(np.broadcast_to(x[:, None], (n, p)), axis=0)
            zp = _gi_star_z(xp, W, Wi, S1)
            ge_cell += (zp >= z[:, None] - 1e-12).sum(axis=1)
            mx = zp.max(axis=0)
            ge_max += (mx[None, :] >= z[:, None] - 1e-12).sum(axis=1)
            done += p
        out["p_sim"] = (ge_cell + 1.0) / (permutations + 1.0)
        out["p_fwer"] = (ge_max + 1.0) / (permutations + 1.0)
    else:
        out["p_sim"] = 1.0
        out["p_fwer"] = 1.0
    return out


def cell_risk(cells: gpd.GeoDataFrame, incidents: gpd.GeoDataFrame, *,
              shift: Shift | str | None = None, hour_of_week: int | None = None,
              category_weights: Mapping[str, float] | None = None,
              priority_weights: Mapping[str, float] | None = None,
              half_life_days: float | None = 90.0, now: object | None = None,
              neighbour_share: float = 0.5, time_col: str = "time") -> gpd.GeoDataFrame:
    """Risk per cell for one time slot.

    Parameters
    ----------
    cells : polygons in a projected CRS (metres).
    incidents : points in the same CRS, with ``time`` (and optionally ``category``, ``priority``).
    shift, hour_of_week : the time slot (see ``slot_mask``); neither: all incidents.
    category_weights, priority_weights, half_life_days, now : see ``incident_weights``.
    neighbour_share : weight of each neighbouring cell's count in the smoothed risk (0..1).

    Returns
    -------
    A copy of ``cells`` (same index) with ``n_incidents`` (incidents of the slot in the cell),
    ``weighted`` (their summed weights) and ``risk`` (smoothed: ``weighted`` plus
    ``neighbour_share`` times the neighbours' ``weighted``).
    """
    require_projected(cells.crs, what="the cells' CRS")
    check_same_crs(cells, incidents, what="cells and incidents")
    if not (0.0 <= neighbour_share <= 1.0):
        raise InputError(f"neighbour_share was {neighbour_share!r} but is expected in 0..1")
    out = cells.copy()
    n = len(out)
    inc = incidents[slot_mask(incidents, shift=shift, hour_of_week=hour_of_week, time_col=time_col)]
    w = incident_weights(inc, category_weights=category_weights, priority_weights=priority_weights,
                         half_life_days=half_life_days, now=now, time_col=time_col).to_numpy()
    counts = np.zeros(n)
    weighted = np.zeros(n)
    if len(inc):
        tree = shapely.STRtree(np.asarray(cells.geometry.values))
        pi, ci = tree.query(np.asarray(inc.geometry.values), predicate="intersects")
        # A point on a shared border counts once, in the first cell found.
        first = ~pd.Series(pi).duplicated().to_numpy()
        pi, ci = pi[first], ci[first]
        np.add.at(counts, ci, 1.0)
        np.add.at(weighted, ci, w[pi])
    out["n_incidents"] = counts.astype(np.int64)
    out["weighted"] = weighted
    if neighbour_share > 0 and n > 1:
        W = contiguity_weights(cells)
        out["risk"] = weighted + neighbour_share * (W @ weighted)
    else:
        out["risk"] = weighted
    return out


def hotspots_from_cells(cells: gpd.GeoDataFrame, *, value_col: str = "weighted",
                        alpha: float = 0.05, permutations: int = 999,
                        rng: np.random.Generator | None = None) -> gpd.GeoDataFrame:
    """Significant hotspots: a copy of ``cells`` with ``gi_z``, ``p_norm``, ``p_sim``, ``p_fwer``
    and ``hotspot`` (Gi* > 0 and ``p_fwer <= alpha``), from the column ``value_col``.

    Use the output of ``cell_risk`` (``value_col="weighted"``: Gi* does its own neighbourhood
    sum, so the already smoothed ``risk`` would be smoothed twice). A layer with no variation
    (e.g. no incidents) has no hotspot.
    """
    if value_col not in cells.columns:
        raise InputError(f"the cells have no {value_col!r} column; compute it with cell_risk first")
    if not (0 < alpha < 1):
        raise InputError(f"alpha was {alpha!r} but is expected in (0, 1), e.g. 0.05")
    out = cells.copy()
    stats = gi_star(out[value_col].to_numpy(dtype=float), contiguity_weights(out),
                    permutations=permutations, rng=rng)
    for col in stats.columns:
        out[col] = stats[col].to_numpy()
    out["hotspot"] = (out["gi_z"] > 0) & (out["p_fwer"] <= alpha)
    if 0 < permutations < math.ceil(1.0 / alpha):
        log.warning("%d permutations cannot reach p <= %g; use at least %d", permutations, alpha,
                    math.ceil(1.0 / alpha))
    return out


def segment_risk(edges: gpd.GeoDataFrame, incidents: gpd.GeoDataFrame, *,
                 max_distance_m: float = 50.0, weights: pd.Series | np.ndarray | None = None) -> pd.Series:
    """Risk of every street segment: the summed weights of the incidents snapped to it.

    Each incident goes to its nearest segment if that is within ``max_distance_m`` metres
    (incidents farther from every street are ignored and counted in a log message). ``weights``
    (one per incident, e.g. from ``incident_weights``) default to 1. Returns a float Series with
    the index of ``edges``. Both layers in the same projected CRS.
    """
    require_projected(edges.crs, what="the street segments' CRS")
    check_same_crs(edges, incidents, what="street segments and incidents")
    w = np.ones(len(incidents)) if weights is None else np.asarray(weights, dtype=float)
    if len(w) != len(incidents):
        raise InputError(f"weights has {len(w)} values but there are {len(incidents)} incidents")
    risk = np.zeros(len(edges))
    if len(incidents) and len(edges):
        tree = shapely.STRtree(np.asarray(edges.geometry.values))
        pi, ei = tree.query_nearest(np.asarray(incidents.geometry.values),
                                    max_distance=max_distance_m, all_matches=False)
        np.add.at(risk, ei, w[pi])
        missed = len(incidents) - len(np.unique(pi))
        if missed:
            log.info("%d incidents lie farther than %g m from every street and were not counted",
                     missed, max_distance_m)
    return pd.Series(risk, index=edges.index, name="risk")
