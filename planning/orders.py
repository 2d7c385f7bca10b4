"""Change orders: which units (villages, communities, grids or cells) each station gains and loses
from one plan to another, with the people, incidents and area moved, as a 行政命令 reads them.

``change_orders(before, after)`` compares two plans over one district graph and returns a
``ChangeOrders``: a row per moved unit, a summary per station and the totals; ``orders_json`` is
the JSON-ready form (``gridpatrol orders --json``, ``redistrict --json``), ``order_lines`` the
sentences ("S03 ← S01: 村A、村B (1,234 人, 56 起警情, 3.2 km²)") and ``order_table`` /
``write_orders`` the table with headers in Chinese or English for spreadsheets.
``plan_by_ref`` finds a plan by id, name or ``current``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geo.errors import InputError
from geo.ids import id_str
from geo.stations import station_names
from geo.tables import write_table
from geo.workspace import Workspace
from planning.editing import plan_from_workspace, plan_versions
from planning.plan import DistrictGraph, Plan

__all__ = ["ChangeOrders", "change_orders", "orders_json", "order_lines", "order_table",
           "station_table", "write_orders", "plan_by_ref", "unit_names", "ORDER_HEADERS",
           "STATION_HEADERS"]

_MEASURES = ("population", "incidents", "area_km2")

# Headers of the exported tables, by language (spreadsheets for people: zh by default).
ORDER_HEADERS = {
    "zh": {"unit_id": "单元编号", "name": "名称", "from_station": "调出派出所",
           "from_name": "调出派出所名称", "to_station": "调入派出所", "to_name": "调入派出所名称",
           "population": "人口(人)", "incidents": "警情(起)", "area_km2": "面积(km²)",
           "township": "街道/乡镇"},
    "en": {"unit_id": "Unit id", "name": "Name", "from_station": "From station",
           "from_name": "From station name", "to_station": "To station", "to_name": "To station name",
           "population": "Population (people)", "incidents": "Incidents", "area_km2": "Area (km²)",
           "township": "Township"},
}
STATION_HEADERS = {
    "zh": {"station_id": "派出所", "station_name": "派出所名称", "gains": "调入单元数",
           "gained": "调入单元", "losses": "调出单元数", "lost": "调出单元",
           "population_in": "调入人口", "population_out": "调出人口", "population_net": "人口净变化",
           "incidents_in": "调入警情", "incidents_out": "调出警情", "incidents_net": "警情净变化",
           "area_km2_in": "调入面积(km²)", "area_km2_out": "调出面积(km²)",
           "area_km2_net": "面积净变化(km²)"},
    "en": {"station_id": "Station", "station_name": "Station name", "gains": "Units gained",
           "gained": "Gained", "losses": "Units lost", "lost": "Lost",
           "population_in": "Population in", "population_out": "Population out",
           "population_net": "Population net", "incidents_in": "Incidents in",
           "incidents_out": "Incidents out", "incidents_net": "Incidents net",
           "area_km2_in": "Area in (km²)", "area_km2_out": "Area out (km²)",
           "area_km2_net": "Area net (km²)"},
}
_WORDS = {"zh": {"sep": "、", "people": "{v} 人", "incidents": "{v} 起警情", "none": "无调整"},
          "en": {"sep": ", ", "people": "{v} people", "incidents": "{v} incidents",
                 "none": "no change"}}


def _lang(lang: str) -> str:
    if lang not in ORDER_HEADERS:
        raise InputError(f"`lang` was {lang!r} but is expected to be one of {list(ORDER_HEADERS)}")
    return lang


def unit_names(graph: DistrictGraph) -> np.ndarray:
    """The name of each unit in graph order: the units' ``name`` column where present and not
    blank, else the unit id (text)."""
    ids = np.array([id_str(c) for c in graph.cell_ids], dtype=object)
    if "name" not in graph.cells.columns:
        return ids
    raw = graph.cells["name"].to_numpy(dtype=object)
    names = np.array([None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip()
                      for v in raw], dtype=object)
    return np.where([bool(n) for n in names], names, ids)


@dataclass(frozen=True)
class ChangeOrders:
    """The change orders from ``before`` to ``after``.

    Attributes
    ----------
    orders : one row per moved unit: unit_id, name, from_station, from_name, to_station,
        to_name, population, incidents, area_km2, township (None where the units carry none),
        sorted by receiving station, giving station and unit id.
    stations : one row per station that gains or loses: station_id, station_name, gains (units
        gained), gained (their names), losses, lost, and for population, incidents and area_km2
        the ``_in``, ``_out`` and ``_net`` (in - out) sums.
    totals : units, population, incidents, area_km2 moved (each moved unit counted once).
    before_name, after_name : the plans' names.
    """

    orders: pd.DataFrame
    stations: pd.DataFrame
    totals: dict
    before_name: str | None = None
    after_name: str | None = None


def change_orders(before: Plan, after: Plan) -> ChangeOrders:
    """The units that change station from ``before`` to ``after`` (two plans over one graph).

    People and incidents are the units' ``population`` and ``incidents`` columns as given
    (0 where a column is missing); area is each unit's polygon area in km² (projected CRS).
    Raises InputError when the plans are over different graphs.
    """
    g = before.graph
    after.changed_cells(before)  # raises InputError for plans over different graphs
    pos = np.flatnonzero(after.assignment != before.assignment)
    sid = np.asarray(g.station_ids, dtype=object)
    snames = station_names(g.stations)
    names = unit_names(g)
    frm, to = sid[before.assignment[pos]], sid[after.assignment[pos]]
    orders = pd.DataFrame({
        "unit_id": [id_str(c) for c in g.cell_ids[pos]],
        "name": names[pos],
        "from_station": frm, "from_name": [snames.get(s, "") for s in frm],
        "to_station": to, "to_name": [snames.get(s, "") for s in to],
        "population": g.column("population")[pos],
        "incidents": g.column("incidents")[pos],
        "area_km2": g.area_m2[pos] / 1e6,
        "township": (g.township[pos] if g.township is not None else [None] * len(pos)),
    })
    rank = {s: i for i, s in enumerate(g.station_ids)}
    orders["_k"] = [(rank[t], rank[f], p) for t, f, p in zip(to, frm, pos)]
    orders = orders.sort_values("_k").drop(columns="_k").reset_index(drop=True)
    rows = []
    for s in g.station_ids:
        gin, gout = orders[orders["to_station"] == s], orders[orders["from_station"] == s]
        if not len(gin) and not len(gout):
            continue
        row: dict[str, Any] = {"station_id": s, "station_name": snames.get(s, ""),
               "gains": int(len(gin)), "gained": list(gin["name"]),
               "losses": int(len(gout)), "lost": list(gout["name"])}
        for m in _MEASURES:
            row[f"{m}_in"] = float(gin[m].sum())
            row[f"{m}_out"] = float(gout[m].sum())
            row[f"{m}_net"] = row[f"{m}_in"] - row[f"{m}_out"]
        rows.append(row)
    cols = ["station_id", "station_name", "gains", "gained", "losses", "lost",
            *(f"{m}_{k}" for m in _MEASURES for k in ("in", "out", "net"))]
    stations = pd.DataFrame(rows, columns=cols)
    totals = {"units": int(len(orders)), **{m: float(orders[m].sum()) for m in _MEASURES}}
    return ChangeOrders(orders, stations, totals, before.name, after.name)


def _num(v: float) -> float | int:
    return int(round(v)) if float(v).is_integer() else round(float(v), 6)


def orders_json(co: ChangeOrders, *, lang: str = "zh") -> dict:
    """The change orders as JSON-ready dicts: ``orders`` (a row per moved unit), ``stations``
    (the summary per station, names as lists), ``totals``, ``lines`` (the order sentences in
    ``lang``), ``before`` and ``after`` (the plans' names)."""
    orders = [{k: (_num(v) if k in _MEASURES else v) for k, v in r.items()}
              for r in co.orders.to_dict("records")]
    for r in orders:
        r["area_km2"] = round(float(r["area_km2"]), 6)
    stations = []
    for r in co.stations.to_dict("records"):
        stations.append({k: (round(float(v), 6) if k.endswith(("_in", "_out", "_net")) else v)
                         for k, v in r.items()})
    totals = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in co.totals.items()}
    return {"before": co.before_name, "after": co.after_name, "orders": orders,
            "stations": stations, "totals": totals, "lines": order_lines(co, lang=lang)}


def order_lines(co: ChangeOrders, *, lang: str = "zh") -> list[str]:
    """One sentence per (receiving, giving) station pair, as an order reads:
    ``S03 ← S01: 村A、村B (1,234 人, 56 起警情, 3.2 km²)`` (``lang`` ``zh`` or ``en``)."""
    w = _WORDS[_lang(lang)]
    out: list[str] = []
    if not len(co.orders):
        return out
    for (to, frm), grp in co.orders.groupby(["to_station", "from_station"], sort=False):
        figures = [w["people"].format(v=f"{grp['population'].sum():,.0f}"),
                   w["incidents"].format(v=f"{grp['incidents'].sum():,.0f}"),
                   f"{grp['area_km2'].sum():,.1f} km²"]
        out.append(f"{to} ← {frm}: {w['sep'].join(map(str, grp['name']))} ({', '.join(figures)})")
    return out


def order_table(co: ChangeOrders, *, lang: str = "zh") -> pd.DataFrame:
    """The order rows with headers in ``lang`` (for a spreadsheet or the briefing); area to
    0.001 km², people and incidents as given."""
    h = ORDER_HEADERS[_lang(lang)]
    df = co.orders.copy()
    df["area_km2"] = df["area_km2"].round(3)
    if df["township"].isna().all():
        df = df.drop(columns="township")
    return df.rename(columns=h)


def station_table(co: ChangeOrders, *, lang: str = "zh") -> pd.DataFrame:
    """The summary per station with headers in ``lang``; names of units joined into one cell."""
    h = STATION_HEADERS[_lang(lang)]
    sep = _WORDS[lang]["sep"]
    df = co.stations.copy()
    for c in ("gained", "lost"):
        df[c] = [sep.join(map(str, v)) for v in df[c]]
    for c in df.columns:
        if c.startswith("area_km2"):
            df[c] = df[c].round(3)
    return df.rename(columns=h)


def write_orders(co: ChangeOrders, path: str | Path, *, lang: str = "zh") -> Path:
    """Write the order rows to ``path`` (``.csv``: UTF-8 with BOM; ``.xlsx``: one sheet) with
    headers in ``lang``; cells a spreadsheet would run as formulas are made text."""
    return write_table(order_table(co, lang=lang), path,
                       sheet="调整命令" if lang == "zh" else "Change orders")


def plan_by_ref(ws: Workspace, graph: DistrictGraph, ref: object, *,
                current: Plan | None = None, what: str = "plan") -> Plan:
    """The plan ``ref`` names: ``current`` (today's jurisdictions, ``current``), a saved plan's
    id, or its name (the latest version of that name). ``what`` is the parameter named in
    messages.

    Raises InputError naming the saved plans (id and name) when ``ref`` names none, or when
    ``current`` is asked and the workspace has no jurisdictions.
    """
    text = str(ref).strip()
    if text.lower() in ("current", "today", "现状"):
        if current is None:
            raise InputError(f"`{what}` was 'current' but the workspace has no current jurisdictions "
                             "(the units carry no station_id); name a saved plan")
        return current
    versions = plan_versions(ws)
    ids = pd.to_numeric(versions["plan_id"], errors="coerce")
    hit = versions[ids.astype(str) == text] if text.isdigit() else versions.iloc[0:0]
    if not len(hit):
        hit = versions[versions["name"].astype(str) == text]
    if not len(hit):
        known = [f"{int(i)} {n}" for i, n in zip(ids, versions["name"]) if pd.notna(i)]
        listed = "; ".join(known[-30:]) if known else "none saved yet"
        raise InputError(f"`{what}` was {text!r} but the workspace holds no such plan; give "
                         f"current or one of the saved plans (id name): {listed}")
    pid = int(pd.to_numeric(hit["plan_id"]).iloc[-1])
    plan = plan_from_workspace(ws, graph, pid)
    return Plan(graph, plan.assignment, name=f"{pid} {plan.name or ''}".strip())
