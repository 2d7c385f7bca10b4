"""The briefing's sections on who polices where: ``jurisdictions`` (stations, their
jurisdictions and workload), ``audit`` (police vs civil boundaries: splits, gaps, overlaps) and
``plan`` (a saved jurisdiction plan before and after)."""
from __future__ import annotations

import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from geo.ids import normalise_ids
from ui.briefing.context import SectionContext, num, pct, signed_pct
from ui.briefing.document import BriefingSection
from ui.briefing.figures import fill, outline
from ui.briefing.queries import cells_with_station, station_workload
from ui.colors import natural_key

__all__ = ["section_jurisdictions", "section_audit", "section_plan", "station_legend"]

GAP = "#e31a1c"
OVERLAP = "#7b3294"


def station_legend(c: SectionContext, *, limit: int = 16) -> list:
    """Legend patches of the stations in their colours (natural order, at most ``limit``)."""
    return [Patch(facecolor=c.base.colours[s], alpha=0.6, label=c.base.names.get(s, s))
            for s in sorted(c.base.colours, key=natural_key)[:limit]]


def section_jurisdictions(c: SectionContext) -> BriefingSection:
    """Stations and their jurisdictions; per station cells, population, incidents, area and the
    workload's deviation from the mean (key figures: stations, largest deviation)."""
    ws, t = c.ws, c.t
    table = station_workload(ws)
    c.cache["workload"] = table
    c.facts["stations"] = int(len(table))
    c.facts["workload"] = table
    c.key("stations", "brief.k.stations", f"{len(table)}", float(len(table)))
    maxdev = float(table["deviation"].abs().max()) if len(table) else None
    c.facts["max_deviation"] = maxdev
    c.key("max_deviation", "brief.k.max_deviation", pct(maxdev), maxdev)
    jur = ws.layer("jurisdictions") if ws.has("jurisdictions") else None

    def draw(axes):
        ax = axes[0]
        if jur is not None:
            ids = normalise_ids(jur["station_id"])
            fill(ax, jur, [c.base.colours.get(s, "#999999") for s in ids], alpha=0.35, zorder=1)
            outline(ax, jur, [c.base.colours.get(s, "#666666") for s in ids], linewidth=1.6, zorder=8)
        c.base.draw(ax)
        c.base.stations(ax)
        return station_legend(c) + [
            Line2D([], [], color="#555555", linestyle="--", label=t("brief.l.townships")),
            Line2D([], [], marker="*", color="w", markerfacecolor="#777777", markeredgecolor="#111111",
                   markersize=10, label=t("brief.l.stations"))]

    shown = pd.DataFrame({
        t("brief.c.station"): table["name"].to_numpy(),
        t("brief.c.cells"): [num(v) for v in table["cells"]],
        t("brief.c.population"): [num(v) for v in table["population"]] if "population" in table else "—",
        t("brief.c.incidents"): [num(v) for v in table["incidents"]] if "incidents" in table else "—",
        t("brief.c.area_km2"): [num(v, 1) for v in table["area_km2"]],
        t("brief.c.deviation"): [signed_pct(v) for v in table["deviation"]],
    })
    return BriefingSection("jurisdictions", t("brief.section.jurisdictions"), draw, shown,
                           notes=[t("brief.n.workload")])


def section_audit(c: SectionContext) -> BriefingSection:
    """Police jurisdictions against townships (``geo.audit``): stations spanning several
    townships, townships split among stations, gaps and overlaps."""
    from geo.audit import audit_partitions
    ws, t = c.ws, c.t
    audit = audit_partitions(ws.layer("jurisdictions"), ws.layer("townships"), police_id="station_id",
                             admin_id="township_id", area=ws.layer("area") if ws.has("area") else None,
                             working_crs=ws.crs)
    sp, sa = audit.split_police, audit.split_admin
    c.facts.update(split_police=len(sp), split_admin=len(sa), gaps_m2=audit.gaps_m2,
                   overlaps_m2=audit.overlaps_m2)
    c.key("split_police", "brief.k.split_police", f"{len(sp)}", float(len(sp)))
    c.key("split_admin", "brief.k.split_admin", f"{len(sa)}", float(len(sa)))
    c.key("gaps_overlaps", "brief.k.gaps_overlaps",
          f"{audit.gaps_m2 / 1e6:,.3f} / {audit.overlaps_m2 / 1e6:,.3f} km²")
    defects = audit.defects
    split_admin = audit.admin[audit.admin["split"]]

    def draw(axes):
        ax = axes[0]
        pieces = audit.pieces
        fill(ax, pieces, [c.base.colours.get(str(p), "#999999") for p in pieces["police"]], alpha=0.35, zorder=1)
        if len(split_admin):
            fill(ax, split_admin, "none", edgecolour="#ff7f00", hatch="///", linewidth=1.8, zorder=9)
        outline(ax, audit.police, "#333333", linewidth=1.0, zorder=8)
        c.base.draw(ax)
        for kind, colour in (("gap", GAP), ("overlap", OVERLAP)):
            part = defects[defects["kind"] == kind]
            if len(part):
                fill(ax, part, colour, edgecolour=colour, linewidth=1.5, zorder=12)
        sl = defects[defects["kind"] == "sliver"]
        if len(sl):
            outline(ax, sl, "black", linewidth=1.2, zorder=12)
        c.base.stations(ax, labels=False)
        return [Patch(facecolor="none", edgecolor="#ff7f00", hatch="///", label=t("brief.l.split_admin")),
                Line2D([], [], color="#333333", label=t("brief.l.jurisdictions")),
                Line2D([], [], color="#555555", linestyle="--", label=t("brief.l.townships")),
                Patch(color=GAP, label=t("brief.l.gap")), Patch(color=OVERLAP, label=t("brief.l.overlap")),
                Patch(facecolor="none", edgecolor="black", label=t("brief.l.sliver"))]

    sev = audit.severity.head(8)
    admin_names = {}
    if ws.has("townships") and "name" in ws.layer("townships").columns:
        tw = ws.layer("townships")
        admin_names = dict(zip(normalise_ids(tw["township_id"]), tw["name"].astype(str)))
    label = lambda side, i: (admin_names.get(str(i), str(i)) if side == "admin"  # noqa: E731
                             else c.base.names.get(str(i), str(i)))
    shown = pd.DataFrame({
        t("brief.c.unit"): [label(r.side, r.id) for r in sev.itertuples()],
        t("brief.c.side"): [t(f"brief.side.{r.side}") for r in sev.itertuples()],
        t("brief.c.counterparts"): [str(int(r.counterparts)) for r in sev.itertuples()],
        t("brief.c.main_share"): [pct(float(r.main_share)) for r in sev.itertuples()],
        t("brief.c.minority_km2"): [num(float(r.minority_area_m2) / 1e6, 2) for r in sev.itertuples()],
    })
    notes = [t("brief.n.audit", police=len(audit.police), admin=len(audit.admin), sp=len(sp), sa=len(sa),
               share=f"{audit.min_share:.0%}")]
    return BriefingSection("audit", t("brief.section.audit"), draw, shown, notes=notes)


def section_plan(c: SectionContext) -> BriefingSection:
    """The saved plan ``c.options.plan_ref`` against the cells' current stations: two maps, the
    incidents and deviation per station before and after."""
    ws, t = c.ws, c.t
    plan_id, plan_name = c.options.plan_ref
    cells = cells_with_station(ws)
    pc = pd.DataFrame(ws.layers["plan_cells"])
    pc = pc[pd.to_numeric(pc["plan_id"], errors="coerce") == plan_id]
    after = dict(zip(normalise_ids(pc["cell_id"]), normalise_ids(pc["station_id"])))
    cells["after"] = [after.get(str(k), s) for k, s in zip(cells["cell_id"], cells["station_id"])]
    changed = cells["after"].astype(str).to_numpy() != normalise_ids(cells["station_id"]).to_numpy()
    w = pd.to_numeric(cells["incidents"], errors="coerce").fillna(0.0) if "incidents" in cells else \
        pd.Series(1.0, index=cells.index)
    ids = sorted(set(cells["station_id"].dropna()) | set(cells["after"].dropna()), key=natural_key)
    before_w = w.groupby(cells["station_id"]).sum().reindex(ids).fillna(0.0)
    after_w = w.groupby(cells["after"]).sum().reindex(ids).fillna(0.0)
    dev_b = before_w / before_w.mean() - 1.0
    dev_a = after_w / after_w.mean() - 1.0
    c.facts.update(plan_id=plan_id, plan_name=plan_name, plan_cells_changed=int(changed.sum()),
                   plan_max_deviation_before=float(dev_b.abs().max()),
                   plan_max_deviation_after=float(dev_a.abs().max()))
    c.key("plan_cells_changed", "brief.k.plan_changed", f"{int(changed.sum()):,}", float(changed.sum()),
          name=plan_name)
    c.key("plan_deviation", "brief.k.plan_deviation",
          f"{pct(float(dev_b.abs().max()))} → {pct(float(dev_a.abs().max()))}")

    def draw(axes):
        for ax, col in zip(axes, ("station_id", "after")):
            fill(ax, cells, [c.base.colours.get(str(s), "#cccccc") for s in cells[col]], alpha=0.55, zorder=1)
            outline(ax, cells.dissolve(by=col), "#222222", linewidth=1.0, zorder=8)
            if col == "after" and changed.any():
                fill(ax, cells[changed], "none", edgecolour="black", hatch="xxx", linewidth=0.3, zorder=9)
            c.base.draw(ax, townships=False)
            c.base.stations(ax, labels=False)
        return station_legend(c, limit=12) + [
            Patch(facecolor="none", edgecolor="black", hatch="xxx", label=t("brief.l.changed"))]

    names = c.base.names
    shown = pd.DataFrame({t("brief.c.station"): [names.get(i, i) for i in ids],
                          t("brief.c.incidents_before"): [num(v) for v in before_w],
                          t("brief.c.incidents_after"): [num(v) for v in after_w],
                          t("brief.c.dev_before"): [signed_pct(v) for v in dev_b],
                          t("brief.c.dev_after"): [signed_pct(v) for v in dev_a]})
    return BriefingSection("plan", t("brief.section.plan") + f" — {plan_name}", draw, shown,
                           notes=[t("brief.n.plan", name=plan_name, n=int(changed.sum()))], panels=2,
                           panel_titles=(t("brief.before"), t("brief.after", name=plan_name)))
