"""Staffing norms: officers (民警) and auxiliaries (辅警) required by a workspace's norms against
those on strength, per station and per police district (警务区), for today's plan or a proposed one.

Norms (``NORMS``, per workspace, stored in its metadata by ``save_norms``) are rates for each
role, ``officers`` and ``auxiliaries``:

- ``<role>_per_district``: per police district (default 一区一警两辅: 1 officer, 2 auxiliaries);
- ``<role>_per_village``: per village 村 (default 一村一辅警: 0 officers, 1 auxiliary); urban
  communities 社区 count as villages only with ``communities_count`` = 1 (default 0), told apart
  by the communities' ``kind`` column (``村``/``社区``), else by their name's ending;
- ``<role>_per_10k_residents``: per 10,000 residents (default 0: not used);
- ``<role>_per_100_incidents``: per 100 incidents a year (default 0: not used).

**Each norm is a floor, and the requirement is the largest of them** (not their sum): a
police district's community officer and auxiliaries also serve its villages, so the norms
overlap rather than add. The norm that sets the requirement is reported as ``binding``
(``district``, ``village``, ``residents``, ``incidents``; None when every norm gives 0), and the
requirement is rounded up to whole people.

Under a plan, a village or police district belongs to the station whose district holds most of
its area (unit areas, projected CRS); population and incidents are the units' columns summed by
station. Police districts keep their own ``population`` where they carry one (else it is
apportioned from the units by area) and their incidents are apportioned from the units by
area. Incidents are annualised by the span of the incidents' ``time`` column when there is one
(``period``), else counted as given. Actual staff stay with their station or police district
whatever the plan (columns ``officers``/``auxiliaries`` or 民警/辅警 headers,
``geo.columns.staff_columns``).
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence, SupportsFloat, SupportsIndex

import numpy as np
import pandas as pd

from geo.columns import staff_columns
from geo.errors import InputError, format_ids
from geo.ids import id_str, normalise_ids
from geo.overlay import intersection_table
from geo.stations import station_names
from geo.workspace import Workspace, set_meta
from planning.plan import DistrictGraph, Plan

__all__ = ["NORMS", "ROLES", "BASES", "META_PREFIX", "StaffingContext", "Staffing",
           "check_norms", "parse_norms", "norms_from_meta", "workspace_norms", "save_norms",
           "staffing_context", "staffing_for_plan", "staffing_json", "staffing_frame",
           "village_kinds"]

log = logging.getLogger(__name__)

ROLES = ("officers", "auxiliaries")
BASES = ("district", "village", "residents", "incidents")
_NORM_KEY = {"district": "per_district", "village": "per_village",
             "residents": "per_10k_residents", "incidents": "per_100_incidents"}
NORMS: dict[str, float] = {
    "officers_per_district": 1.0, "auxiliaries_per_district": 2.0,
    "officers_per_village": 0.0, "auxiliaries_per_village": 1.0,
    "officers_per_10k_residents": 0.0, "auxiliaries_per_10k_residents": 0.0,
    "officers_per_100_incidents": 0.0, "auxiliaries_per_100_incidents": 0.0,
    "communities_count": 0.0,
}
META_PREFIX = "staffing_"


# --- norms ---------------------------------------------------------------------------------------

def check_norms(values: Mapping[str, object]) -> dict[str, float]:
    """``values`` as {norm: float}, every name a norm of ``NORMS`` and every value a number
    >= 0 (``communities_count`` 0 or 1). Raises InputError naming the bad names or values and
    the known norms."""
    unknown = [k for k in values if k not in NORMS]
    if unknown:
        raise InputError(f"`norms` named {unknown}, which are not staffing norms; choose among "
                         f"{list(NORMS)}")
    out: dict[str, float] = {}
    for k, v in values.items():
        try:
            x = float(v) if isinstance(v, (str, SupportsFloat, SupportsIndex)) else math.nan
        except (TypeError, ValueError):
            x = float("nan")
        if not (x >= 0) or not math.isfinite(x) or (k == "communities_count" and x not in (0, 1)):
            allowed = "0 or 1" if k == "communities_count" else "a number >= 0"
            raise InputError(f"`norms` item {k}={v!r}: expected {allowed}")
        out[k] = x
    return out


def parse_norms(items: Iterable[str]) -> dict[str, float]:
    """``["auxiliaries_per_village=1", "officers_per_10k_residents=2.5"]`` -> checked norms.
    Raises InputError for an item without ``=``, an unknown name or a bad value."""
    values: dict[str, str] = {}
    for item in items:
        name, eq, value = str(item).partition("=")
        if not eq or not name.strip():
            raise InputError(f"`norms` item {item!r} is not NAME=VALUE; e.g. "
                             "auxiliaries_per_village=1")
        values[name.strip()] = value.strip()
    return check_norms(values)


def norms_from_meta(meta: Mapping[str, str]) -> dict[str, float]:
    """The norms stored in a workspace's metadata (``staffing_<norm>``), defaults for the rest.
    A stored value that is not a number is ignored with a warning."""
    out = dict(NORMS)
    for name in NORMS:
        raw = meta.get(META_PREFIX + name)
        if raw is None:
            continue
        try:
            out.update(check_norms({name: raw}))
        except InputError as exc:
            log.warning("the workspace's stored norm %s is not usable (%s); the default %g is used",
                        name, exc, NORMS[name])
    return out


def workspace_norms(ws: Workspace) -> dict[str, float]:
    """The norms of ``ws`` (stored ones, defaults for the rest)."""
    return norms_from_meta(ws.meta)


def save_norms(path: str | Path, norms: Mapping[str, object]) -> dict[str, float]:
    """Store ``norms`` (a subset of ``NORMS``; None resets one to its default) in the workspace
    at ``path`` in one transaction (``geo.workspace.set_meta``) and return all norms as they
    then stand."""
    reset = [k for k, v in norms.items() if v is None]
    checked = check_norms({k: v for k, v in norms.items() if v is not None})
    if reset:
        check_norms({k: 0 for k in reset})  # names only
    meta = set_meta(path, **{META_PREFIX + k: f"{v:g}" for k, v in checked.items()},
                    **{META_PREFIX + k: None for k in reset})
    return norms_from_meta(meta)


# --- what a plan needs ---------------------------------------------------------------------------

def village_kinds(frame: pd.DataFrame) -> np.ndarray:
    """``village``, ``community`` or ``unknown`` per row of a communities layer: from its
    ``kind`` column (村/行政村 -> village; 社区/居委会 -> community) where given, else from the
    ending of its ``name``."""
    def one(kind: object, name: object) -> str:
        for text in (kind, name):
            if text is None or (isinstance(text, float) and np.isnan(text)):
                continue
            t = str(text).strip()
            if "社区" in t or "居委" in t or t.lower() in ("community", "neighbourhood"):
                return "community"
            if t.endswith(("村", "村委会", "村民委员会")) or t in ("村", "行政村", "自然村") \
                    or t.lower() == "village":
                return "village"
        return "unknown"
    kinds = frame["kind"] if "kind" in frame.columns else pd.Series([None] * len(frame))
    names = frame["name"] if "name" in frame.columns else pd.Series([None] * len(frame))
    return np.array([one(k, n) for k, n in zip(kinds, names)], dtype=object)


@dataclass(frozen=True)
class StaffingContext:
    """What does not depend on the plan, computed once per workspace and graph
    (``staffing_context``). Positions of units are graph positions."""

    graph: DistrictGraph
    factor: float                       # incidents a year = incidents as given * factor
    period: dict                        # basis (time_span/as_given), first, last, days, factor
    station_names: dict
    station_actual: dict                # role -> {station_id: actual} (role absent: no column)
    village_kind: np.ndarray            # per village/community: village, community, unknown
    village_units: pd.DataFrame         # a (village), b (unit position), area_m2
    village_district: np.ndarray        # per village: police district position or -1
    district_ids: np.ndarray
    district_names: np.ndarray
    district_recorded: np.ndarray       # the station_id each police district carries (or None)
    district_units: pd.DataFrame        # a (district), b (unit position), area_m2
    district_population: np.ndarray
    district_incidents: np.ndarray      # as given (apportioned from the units)
    district_actual: dict               # role -> array of actual staff (role absent: no column)


def _incident_period(ws: Workspace) -> tuple[float, dict]:
    if ws.has("incidents") and "time" in ws.layer("incidents").columns:
        times = pd.to_datetime(ws.layer("incidents")["time"], errors="coerce").dropna()
        if len(times) >= 2:
            first, last = times.min(), times.max()
            days = int((last.normalize() - first.normalize()).days) + 1
            factor = 365.0 / days
            if days < 28:
                log.warning("the incidents span only %d day(s) (%s to %s); the counts are "
                            "multiplied by %.1f to give incidents a year", days, first.date(),
                            last.date(), factor)
            return factor, {"basis": "time_span", "first": first.date().isoformat(),
                            "last": last.date().isoformat(), "days": days, "factor": round(factor, 6)}
    return 1.0, {"basis": "as_given", "first": None, "last": None, "days": None, "factor": 1.0}


def _actual(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    cols = staff_columns(frame)
    return {role: pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)
            for role, col in cols.items()}


def staffing_context(ws: Workspace, graph: DistrictGraph) -> StaffingContext:
    """The plan-independent part of staffing for ``ws`` over ``graph``: incident period,
    actual staff, villages and police districts overlaid on the units.

    Villages are the ``communities`` layer (or the units themselves when they carry a
    ``kind`` column and there is no communities layer); police districts the ``police_grids``
    layer. Either may be missing: its counts are then 0 (with a warning).
    """
    g = graph
    factor, period = _incident_period(ws)
    st = g.stations
    sids = list(normalise_ids(st["station_id"]))
    names = station_names(st)
    station_actual = {role: dict(zip(sids, v)) for role, v in _actual(st).items()}
    if not station_actual:
        log.warning("the stations carry no officers/auxiliaries columns (民警/辅警); the actual "
                    "staff of the stations are unknown")
    empty = pd.DataFrame({"a": np.array([], int), "b": np.array([], int), "area_m2": []})
    if ws.has("communities"):
        villages = ws.layer("communities")
        village_units = intersection_table(villages, g.cells)
    elif "kind" in g.cells.columns:
        villages = g.cells
        village_units = pd.DataFrame({"a": np.arange(g.n_cells), "b": np.arange(g.n_cells),
                                      "area_m2": g.area_m2})
    else:
        villages, village_units = None, empty
        log.warning("the workspace has no communities layer (村/社区); the per-village norm "
                    "counts no village")
    kinds = village_kinds(villages) if villages is not None else np.array([], dtype=object)
    if villages is not None and (kinds == "unknown").any():
        ids = villages.iloc[np.flatnonzero(kinds == "unknown")]
        idcol = "community_id" if "community_id" in ids.columns else ("cell_id" if "cell_id" in ids.columns else None)
        shown = format_ids(ids[idcol]) if idcol else f"{int((kinds == 'unknown').sum())} rows"
        log.warning("%d communities are neither 村 nor 社区 by their kind or name (%s); they are "
                    "counted as villages; fill in their kind column with 村 or 社区",
                    int((kinds == "unknown").sum()), shown)
    if ws.has("police_grids"):
        pg = ws.layer("police_grids")
        district_units = intersection_table(pg, g.cells)
        idcol = "pgrid_id" if "pgrid_id" in pg.columns else pg.columns[0]
        district_ids = np.array([id_str(v) for v in pg[idcol]], dtype=object)
        district_names = (pg["name"].astype(str).to_numpy(dtype=object) if "name" in pg.columns
                          else district_ids.copy())
        recorded = (np.array([id_str(v) for v in pg["station_id"]], dtype=object)
                    if "station_id" in pg.columns else np.full(len(pg), None, dtype=object))
        unit_area = g.area_m2[district_units["b"].to_numpy()]
        share = district_units["area_m2"].to_numpy() / np.where(unit_area > 0, unit_area, 1.0)
        a, b = district_units["a"].to_numpy(), district_units["b"].to_numpy()
        if "population" in pg.columns and pd.to_numeric(pg["population"], errors="coerce").notna().any():
            population = pd.to_numeric(pg["population"], errors="coerce").fillna(0.0).to_numpy(dtype=float)
        else:
            population = np.bincount(a, weights=g.column("population")[b] * share, minlength=len(pg))
        incidents = np.bincount(a, weights=g.column("incidents")[b] * share, minlength=len(pg))
        district_actual = _actual(pg)
        if villages is not None and len(villages):
            vd = intersection_table(villages, pg)
            best = vd.sort_values(["a", "area_m2"], ascending=[True, False]).drop_duplicates("a")
            village_district = np.full(len(villages), -1, dtype=np.int64)
            village_district[best["a"].to_numpy()] = best["b"].to_numpy()
        else:
            village_district = np.array([], dtype=np.int64)
    else:
        district_units = empty
        district_ids = district_names = recorded = np.array([], dtype=object)
        population = incidents = np.array([], dtype=float)
        district_actual = {}
        village_district = np.full(len(kinds), -1, dtype=np.int64)
        log.warning("the workspace has no police_grids layer (警务区); the per-district norm "
                    "counts no police district")
    return StaffingContext(g, factor, period, names, station_actual, kinds, village_units,
                           village_district, district_ids, district_names, recorded,
                           district_units, population, incidents, district_actual)


def _owners(table: pd.DataFrame, n: int, plan: Plan) -> np.ndarray:
    """Per feature ``a`` (0..n-1), the station position holding most of its area under ``plan``
    (-1 for a feature overlapping no unit)."""
    out = np.full(n, -1, dtype=np.int64)
    if not len(table):
        return out
    df = pd.DataFrame({"a": table["a"].to_numpy(), "s": plan.assignment[table["b"].to_numpy()],
                       "area": table["area_m2"].to_numpy()})
    sums = df.groupby(["a", "s"], sort=True)["area"].sum().reset_index()
    best = sums.sort_values(["a", "area", "s"], ascending=[True, False, True]).drop_duplicates("a")
    out[best["a"].to_numpy()] = best["s"].to_numpy()
    return out


def _requirement(quantities: Mapping[str, float], norms: Mapping[str, float], role: str,
                 actual: float | None) -> dict:
    by_norm = {b: float(quantities[b]) * float(norms[f"{role}_{_NORM_KEY[b]}"]) for b in BASES}
    top = max(by_norm.values())
    binding = next((b for b in BASES if by_norm[b] == top), None) if top > 0 else None
    required = int(math.ceil(top - 1e-9)) if top > 0 else 0
    have = None if actual is None or (isinstance(actual, float) and math.isnan(actual)) else int(round(actual))
    return {"actual": have, "required": required,
            "shortfall": max(0, required - have) if have is not None else None,
            "binding": binding, "by_norm": {b: round(v, 4) for b, v in by_norm.items()}}


@dataclass(frozen=True)
class Staffing:
    """Required against actual staff under one plan: ``stations`` and ``police_districts`` are
    lists of JSON-ready rows, ``totals`` the sums, ``norms`` and ``period`` what was used."""

    plan_name: str | None
    norms: dict
    period: dict
    stations: list
    police_districts: list
    totals: dict


def staffing_for_plan(ctx: StaffingContext, plan: Plan, *,
                      norms: Mapping[str, float] | None = None) -> Staffing:
    """Required and actual officers and auxiliaries per station and police district under
    ``plan`` (a plan over ``ctx.graph``) with ``norms`` (default ``NORMS``; give the
    workspace's, ``workspace_norms``)."""
    g = ctx.graph
    if plan.graph is not g:
        raise InputError("the plan is over another district graph than the staffing context; "
                         "build both from the same workspace graph")
    norms = {**NORMS, **check_norms(norms or {})}
    counted = ctx.village_kind != "community" if norms["communities_count"] == 0 \
        else np.ones(len(ctx.village_kind), dtype=bool)
    n_st = g.n_stations
    v_owner = _owners(ctx.village_units, len(ctx.village_kind), plan)
    d_owner = _owners(ctx.district_units, len(ctx.district_ids), plan)
    population = plan.totals("population").to_numpy()
    incidents = plan.totals("incidents").to_numpy() * ctx.factor
    villages = np.bincount(v_owner[counted & (v_owner >= 0)], minlength=n_st)
    communities = np.bincount(v_owner[(ctx.village_kind == "community") & (v_owner >= 0)], minlength=n_st)
    districts = np.bincount(d_owner[d_owner >= 0], minlength=n_st)
    stations = []
    for s, sid in enumerate(g.station_ids):
        q = {"district": districts[s], "village": villages[s], "residents": population[s] / 1e4,
             "incidents": incidents[s] / 100.0}
        row = {"station_id": sid, "name": ctx.station_names.get(sid, sid),
               "police_districts": int(districts[s]), "villages": int(villages[s]),
               "communities": int(communities[s]), "population": round(float(population[s]), 1),
               "incidents": round(float(incidents[s]), 1)}
        for role in ROLES:
            actual = ctx.station_actual.get(role, {}).get(sid)
            row[role] = _requirement(q, norms, role, actual)
        row["binding"] = {role: row[role]["binding"] for role in ROLES}
        stations.append(row)
    nd = len(ctx.district_ids)
    d_villages = np.bincount(ctx.village_district[counted & (ctx.village_district >= 0)], minlength=nd) \
        if nd else np.array([], int)
    sid_arr = np.asarray(g.station_ids, dtype=object)
    districts_rows = []
    for d in range(nd):
        q = {"district": 1.0, "village": d_villages[d], "residents": ctx.district_population[d] / 1e4,
             "incidents": ctx.district_incidents[d] * ctx.factor / 100.0}
        row = {"pgrid_id": ctx.district_ids[d], "name": ctx.district_names[d],
               "station_id": sid_arr[d_owner[d]] if d_owner[d] >= 0 else None,
               "recorded_station_id": ctx.district_recorded[d],
               "villages": int(d_villages[d]),
               "population": round(float(ctx.district_population[d]), 1),
               "incidents": round(float(ctx.district_incidents[d] * ctx.factor), 1)}
        for role in ROLES:
            actual = ctx.district_actual[role][d] if role in ctx.district_actual else None
            row[role] = _requirement(q, norms, role, actual)
        row["binding"] = {role: row[role]["binding"] for role in ROLES}
        districts_rows.append(row)
    totals = {level: _totals(rows) for level, rows in (("stations", stations),
                                                       ("police_districts", districts_rows))}
    return Staffing(plan.name, norms, dict(ctx.period), stations, districts_rows, totals)


def _totals(rows: Sequence[dict]) -> dict:
    out = {}
    for role in ROLES:
        actual = [r[role]["actual"] for r in rows]
        known = [a for a in actual if a is not None]
        out[role] = {"actual": sum(known) if known and len(known) == len(actual) else None,
                     "required": sum(r[role]["required"] for r in rows),
                     "shortfall": sum(r[role]["shortfall"] or 0 for r in rows),
                     "short_rows": sum(1 for r in rows if (r[role]["shortfall"] or 0) > 0)}
    return out


def staffing_json(result: Staffing) -> dict:
    """The result as one JSON-ready dict: ``plan``, ``norms``, ``incidents_period``,
    ``stations``, ``police_districts``, ``totals``."""
    return {"plan": result.plan_name, "norms": dict(result.norms),
            "incidents_period": dict(result.period), "stations": list(result.stations),
            "police_districts": list(result.police_districts), "totals": dict(result.totals)}


def staffing_frame(rows: Sequence[dict], *, level: str = "stations") -> pd.DataFrame:
    """Rows of ``Staffing.stations`` or ``.police_districts`` as a flat table: id, name, counts,
    then ``<role>_actual``, ``<role>_required``, ``<role>_shortfall``, ``<role>_binding``."""
    flat = []
    for r in rows:
        f = {k: v for k, v in r.items() if k not in (*ROLES, "binding")}
        for role in ROLES:
            for k in ("actual", "required", "shortfall", "binding"):
                f[f"{role}_{k}"] = r[role][k]
        flat.append(f)
    if flat:
        return pd.DataFrame(flat)
    base = (["station_id", "name", "police_districts", "villages", "communities"] if level == "stations"
            else ["pgrid_id", "name", "station_id", "recorded_station_id", "villages"])
    return pd.DataFrame(columns=base + ["population", "incidents"] +
                        [f"{r}_{k}" for r in ROLES for k in ("actual", "required", "shortfall", "binding")])
