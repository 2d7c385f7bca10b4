"""The briefing's sections on a plan's change orders (``orders``) and on staffing against the
norms (``staffing``): a map, a table and notes each.

The figures come from ``planning.orders`` and ``planning.staffing``; this module only lays them
out (headers and words in the briefing's language; ``Briefing.to_html`` escapes every text).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from geo.errors import InputError
from planning.orders import change_orders, order_lines, plan_by_ref
from planning.staffing import staffing_context, staffing_for_plan, workspace_norms
from planning.study import any_weights, current_plan, workspace_graph
from ui.briefing.context import SectionContext, num
from ui.briefing.districts import station_legend
from ui.briefing.document import BriefingSection
from ui.briefing.figures import fill, outline

__all__ = ["section_orders", "section_staffing"]


def _study(c: SectionContext):
    """The workspace's district graph and current plan, built once per briefing."""
    if "study" not in c.cache:
        graph = workspace_graph(c.ws, weights=any_weights(c.ws))
        c.cache["study"] = (graph, current_plan(c.ws, graph))
    return c.cache["study"]


def section_orders(c: SectionContext) -> BriefingSection:
    """The change orders of the saved plan ``c.options.plan_ref`` against today's jurisdictions."""
    t = c.t
    plan_id, plan_name = c.options.plan_ref
    graph, current = _study(c)
    after = plan_by_ref(c.ws, graph, plan_id, current=current)
    if current is None:
        raise InputError(t("rd.no_current"))
    co = change_orders(current, after)
    tot = co.totals
    c.facts.update(orders_units=tot["units"], orders_population=tot["population"],
                   orders_incidents=tot["incidents"], orders_area_km2=tot["area_km2"],
                   orders_lines=order_lines(co, lang=c.lang))
    c.key("orders", "brief.k.orders", f"{tot['units']:,} / {tot['population']:,.0f}",
          float(tot["units"]), name=plan_name)
    cells = graph.cells
    labels = after.labels.to_numpy(dtype=str)
    moved = after.assignment != current.assignment

    def draw(axes):
        ax = axes[0]
        fill(ax, cells, [c.base.colours.get(s, "#cccccc") for s in labels], alpha=0.45, zorder=1)
        outline(ax, cells.assign(_s=labels).dissolve(by="_s"), "#222222", linewidth=1.0, zorder=8)
        if moved.any():
            fill(ax, cells[moved], "none", edgecolour="#d7301f", hatch="xxx", linewidth=0.8, zorder=9)
        c.base.draw(ax, townships=False)
        c.base.stations(ax)
        return station_legend(c, limit=12) + [
            Patch(facecolor="none", edgecolor="#d7301f", hatch="xxx", label=t("brief.l.moved_units"))]

    o = co.orders
    names = c.base.names
    shown = pd.DataFrame({
        t("brief.c.order_unit"): o["name"].astype(str).to_numpy(),
        t("brief.c.order_from"): [names.get(s, s) for s in o["from_station"]],
        t("brief.c.order_to"): [names.get(s, s) for s in o["to_station"]],
        t("brief.c.population"): [num(v) for v in o["population"]],
        t("brief.c.incidents"): [num(v) for v in o["incidents"]],
        t("brief.c.order_area"): [num(v, 2) for v in o["area_km2"]],
    })
    notes = [t("brief.n.orders", name=plan_name, against=t("rd.plan.current"), n=tot["units"],
               people=f"{tot['population']:,.0f}", incidents=f"{tot['incidents']:,.0f}",
               area=f"{tot['area_km2']:,.1f}")]
    notes += order_lines(co, lang=c.lang)
    return BriefingSection("orders", t("brief.section.orders") + f" — {plan_name}", draw, shown,
                           notes=notes)


def _cell(r: dict, role: str) -> str:
    x = r[role]
    have = "?" if x["actual"] is None else f"{x['actual']}"
    short = "?" if x["shortfall"] is None else f"{x['shortfall']}"
    return f"{have}/{x['required']}/{short}"


def section_staffing(c: SectionContext) -> BriefingSection:
    """Officers and auxiliaries required by the workspace's norms against those on strength,
    per station, under today's jurisdictions; the map shows the police districts short."""
    t = c.t
    graph, current = _study(c)
    if current is None:
        raise InputError(t("rd.no_current"))
    norms = workspace_norms(c.ws)
    ctx = staffing_context(c.ws, graph)
    res = staffing_for_plan(ctx, current, norms=norms)
    ts, td = res.totals["stations"], res.totals["police_districts"]
    c.facts.update(staffing_stations=res.stations, staffing_districts=res.police_districts,
                   staffing_totals=res.totals)
    c.key("staff_short", "brief.k.staff_short", t(
        "brief.v.people", v=f"{ts['officers']['shortfall'] + td['officers']['shortfall']} / "
                            f"{ts['auxiliaries']['shortfall'] + td['auxiliaries']['shortfall']}"))
    pg = c.ws.layer("police_grids") if c.ws.has("police_grids") else None
    short_aux = np.array([(r["auxiliaries"]["shortfall"] or 0) > 0 for r in res.police_districts], bool)
    short_off = np.array([(r["officers"]["shortfall"] or 0) > 0 for r in res.police_districts], bool)

    def draw(axes):
        ax = axes[0]
        handles = []
        if pg is not None and len(pg) == len(short_aux):
            fill(ax, pg[~short_aux], "#a6d96a", alpha=0.5, zorder=1)
            if short_aux.any():
                fill(ax, pg[short_aux], "#f46d43", alpha=0.6, zorder=1)
            outline(ax, pg, "#555555", linewidth=0.4, zorder=5)
            if short_off.any():
                fill(ax, pg[short_off], "none", edgecolour="#67000d", hatch="///", linewidth=0.6, zorder=9)
            handles = [Patch(facecolor="#a6d96a", alpha=0.5, label=t("brief.l.staffed")),
                       Patch(facecolor="#f46d43", alpha=0.6, label=t("brief.l.short_aux")),
                       Patch(facecolor="none", edgecolor="#67000d", hatch="///",
                             label=t("brief.l.short_officer"))]
        if c.ws.has("jurisdictions"):
            outline(ax, c.ws.layer("jurisdictions"), "#222222", linewidth=1.2, zorder=8)
        c.base.draw(ax)
        c.base.stations(ax)
        handles.append(Line2D([], [], marker="*", color="w", markerfacecolor="#777777",
                              markeredgecolor="#111111", markersize=10, label=t("brief.l.stations")))
        return handles

    def word(b) -> str:
        return t(f"staff.binding.{b or 'none'}")

    shown = pd.DataFrame({
        t("brief.c.station"): [r["name"] for r in res.stations],
        t("brief.c.districts_villages"): [f"{r['police_districts']}/{r['villages']}" for r in res.stations],
        t("brief.c.officers"): [_cell(r, "officers") for r in res.stations],
        t("brief.c.auxiliaries"): [_cell(r, "auxiliaries") for r in res.stations],
        t("brief.c.binding"): [f"{word(r['binding']['officers'])}/{word(r['binding']['auxiliaries'])}"
                               for r in res.stations],
    })
    n = norms
    notes = [t("brief.n.staffing", od=f"{n['officers_per_district']:g}", ad=f"{n['auxiliaries_per_district']:g}",
               av=f"{n['auxiliaries_per_village']:g}", or_=f"{n['officers_per_10k_residents']:g}",
               ar=f"{n['auxiliaries_per_10k_residents']:g}", oi=f"{n['officers_per_100_incidents']:g}",
               ai=f"{n['auxiliaries_per_100_incidents']:g}",
               cc=t("brief.cc.yes" if n["communities_count"] else "brief.cc.no")),
             t("brief.n.staffing_short", o=ts["officers"]["shortfall"], a=ts["auxiliaries"]["shortfall"],
               do=td["officers"]["shortfall"], da=td["auxiliaries"]["shortfall"],
               dn=td["auxiliaries"]["short_rows"])]
    p = res.period
    notes.append(t("brief.n.incidents_year", first=p["first"], last=p["last"], days=p["days"])
                 if p["basis"] == "time_span" else t("brief.n.incidents_given"))
    return BriefingSection("staffing", t("brief.section.staffing"), draw, shown, notes=notes)
