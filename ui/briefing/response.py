"""The briefing's sections on reaching places: ``coverage`` (1/3/5-minute response bands from
stations and posts, places beyond) and ``ring`` (the road crossings of the county boundary,
checkpoints, the layered rings and the time to seal the trunk-road checkpoints)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from geo.errors import GridPatrolError
from geo.ids import normalise_ids
from ui.briefing.context import SectionContext, num, pct
from ui.briefing.document import BriefingSection
from ui.briefing.figures import fill, outline
from ui.briefing.queries import coverage_facilities, seal_exits
from ui.i18n import road_class_label

__all__ = ["BANDS_MIN", "section_coverage", "section_ring"]

BANDS_MIN = (1.0, 3.0, 5.0)
BAND_COLOURS = {1.0: "#1a9850", 3.0: "#91cf60", 5.0: "#fee08b"}
BEYOND = "#d73027"
#: Ring outlines on the ring map: outer, inner, core (as on the coverage page).
RING_COLOURS = {"outer": "#1f4e79", "inner": "#6a3d9a", "core": "#b15928"}


def section_coverage(c: SectionContext) -> BriefingSection:
    """Response bands by road travel time from every station and post (open at
    ``c.options.at`` when given), with the share of cells, population and incidents per band."""
    from geo.coverage import coverage_from_network
    ws, t = c.ws, c.t
    at = c.options.at
    fac = coverage_facilities(ws)
    cells = ws.layer("cells") if ws.has("cells") else None
    cov = coverage_from_network(c.network().engine, fac, id_col="facility_id", bands=BANDS_MIN,
                                cells=cells, weight="incidents", at=at)
    bt = cov.band_table
    cols = [col for col in ("population", "incidents") if col in bt.columns]
    totals = {"cells": float(len(cells)) if cells is not None else float(len(cov.nodes))}
    if cells is not None:
        totals.update({col: float(pd.to_numeric(cells[col], errors="coerce").fillna(0).sum()) for col in cols})
    shares: dict[str, dict[str, float]] = {}
    rows = []
    for band in [*(f"{b:g}" for b in BANDS_MIN), "beyond"]:
        r = bt.loc[band]
        n = float(r["cells"]) if "cells" in bt.columns else float(r["nodes"])
        sh = {"cells": n / totals["cells"] if totals["cells"] else float("nan")}
        for col in cols:
            sh[col] = float(r[col]) / totals[col] if totals.get(col) else float("nan")
        shares[band] = sh
        label = t("brief.band.beyond", m=f"{BANDS_MIN[-1]:g}") if band == "beyond" else t("brief.band.within", m=band)
        row = {t("brief.c.band"): label, t("brief.c.cells"): num(n), t("brief.c.cells_share"): pct(sh["cells"])}
        for col in cols:
            row[t(f"brief.c.{col}")] = num(float(r[col]))
            row[t(f"brief.c.{col}_share")] = pct(sh[col])
        rows.append(row)
    c.facts["coverage"] = shares
    main = "population" if "population" in cols else "cells"
    for b in BANDS_MIN:
        k = f"{b:g}"
        c.key(f"coverage_{main}_{k}", f"brief.k.coverage_{main}", pct(shares[k][main]), shares[k][main], m=k)
    beyond_cells = len(cov.cells_beyond) if cells is not None else len(cov.uncovered)
    c.facts["cells_beyond"] = beyond_cells
    c.key("cells_beyond", "brief.k.cells_beyond", f"{beyond_cells:,}", float(beyond_cells), m=f"{BANDS_MIN[-1]:g}")
    posts = ws.layer("posts") if ws.has("posts") else None

    def draw(axes):
        ax = axes[0]
        if cov.cells is not None:
            band = cov.cells["band"].to_numpy(dtype=float)
            colour = [BAND_COLOURS.get(float(b), BEYOND) if np.isfinite(b) else BEYOND for b in band]
            fill(ax, cov.cells, colour, alpha=0.75, zorder=1)
        c.base.draw(ax)
        if posts is not None:
            ax.scatter(posts.geometry.x, posts.geometry.y, s=22, c="#1f4e79", marker="s",
                       edgecolors="white", linewidths=0.6, zorder=14)
        c.base.stations(ax, labels=False)
        handles = [Patch(color=BAND_COLOURS.get(b, "#cccccc"), label=t("brief.band.within", m=f"{b:g}"))
                   for b in BANDS_MIN]
        handles.append(Patch(color=BEYOND, label=t("brief.band.beyond", m=f"{BANDS_MIN[-1]:g}")))
        return handles + [Line2D([], [], marker="*", color="w", markerfacecolor="#777777", markeredgecolor="#111111",
                                 markersize=10, label=t("brief.l.stations")),
                          Line2D([], [], marker="s", color="w", markerfacecolor="#1f4e79", markersize=6,
                                 label=t("brief.l.posts"))]

    notes = [t("brief.n.coverage", n=len(cov.facilities), m=f"{BANDS_MIN[-1]:g}")]
    if at is not None:  # posts by the hour: only those open at that time count
        notes.append(t("brief.n.coverage_at", at=at, n=len(cov.facilities), m=len(fac)))
    return BriefingSection("coverage", t("brief.section.coverage"), draw, pd.DataFrame(rows), notes=notes)


def _same_polygon(a, b) -> bool:
    """True when two polygons cover the same ground (to a millionth of their area)."""
    try:
        return float(shapely.symmetric_difference(a, b).area) <= 1e-6 * max(float(a.area), 1.0)
    except shapely.errors.GEOSException:
        return False


def section_ring(c: SectionContext) -> BriefingSection:
    """The county boundary's road crossings (``geo.ring``), the layered rings
    (``planning.rings``: entries, closure, fewest new checkpoints, seal time per ring) and the
    time to seal the trunk-road checkpoints (``planning.seal``) from every station and post."""
    from geo.ring import ring_crossings
    from planning.seal import seal_from_network
    ws, t = c.ws, c.t
    G, engine = c.graph()
    cps = ws.layer("checkpoints")
    rings, rings_error = None, None  # the layered rings (三圈三层): every ring, one note each
    try:
        from planning.rings import rings_report
        rings = rings_report(ws, G, engine, propose=True)
    except GridPatrolError as exc:
        rings_error = str(exc)
    area = shapely.union_all(ws.layer("area").geometry.values)
    outer = next((r.ring for r in (rings.results if rings is not None else [])
                  if r.spec.level == "outer" and "checkpoint_id" in cps.columns
                  and _same_polygon(r.spec.polygon, area)), None)
    ring = outer if outer is not None else ring_crossings(G, ws.layer("area"), checkpoints=cps)
    entries = ring.entries
    uncovered_entries = entries[~entries["covered"]]
    c.facts.update(crossings=len(ring.crossings), uncovered_entries=len(uncovered_entries),
                   ring_closed=ring.closed)
    c.key("uncovered_entries", "brief.k.uncovered_entries", f"{len(uncovered_entries)} / {len(entries)}",
          float(len(uncovered_entries)))
    notes = [t("brief.n.ring", n=len(ring.crossings), covered=len(ring.covered),
               open=len(uncovered_entries), closed=t("brief.yes" if ring.closed else "brief.no"))]
    seal, seal_error = None, None
    exits = seal_exits(cps)
    units = coverage_facilities(ws)
    try:
        seal = seal_from_network(G, engine, units, exits, unit_id="facility_id",
                                 exit_id="checkpoint_id" if "checkpoint_id" in exits.columns else None)
    except GridPatrolError as exc:
        seal_error = str(exc)
    c.facts["seal_minutes"] = None if seal is None else float(seal.seal_minutes)
    c.key("seal_minutes", "brief.k.seal_minutes",
          t("brief.minutes", m=f"{seal.seal_minutes:.1f}") if seal is not None else t("brief.seal_none"),
          None if seal is None else float(seal.seal_minutes), n=len(exits))
    if seal is not None:
        notes.append(t("brief.n.seal", n=len(exits), units=len(units), m=f"{seal.seal_minutes:.1f}"))
    else:
        notes.append(t("brief.n.seal_failed", reason=seal_error))
    if rings_error is not None:
        notes.append(t("brief.n.rings_failed", reason=rings_error))
    if rings is not None:
        c.facts["rings"] = []
        for r in rings.results:
            new = r.proposal.count if r.proposal is not None else None
            seal_min = None if r.seal is None else float(r.seal.seal_minutes)
            c.facts["rings"].append({"level": r.spec.level, "name": r.spec.name, "entries": len(r.entry_ids),
                                     "uncovered": len(r.uncovered_entries), "closed": r.ring.closed,
                                     "new_checkpoints": new, "seal_minutes": seal_min})
            notes.append(t("brief.n.rings_row", ring=t(f"cv.rings.level.{r.spec.level}"), name=r.spec.name,
                           n=len(r.entry_ids), covered=len(r.covered_entries), open=len(r.uncovered_entries),
                           closed=t("brief.rings.closed" if r.ring.closed else "brief.rings.open"),
                           new="—" if new is None else new,
                           seal=t("brief.minutes", m=f"{seal_min:.1f}") if seal_min is not None
                           else t("brief.seal_none")))
    title = t("brief.section.ring") + (f" — {t('brief.k.seal_minutes', n=len(exits))} "
                                       f"{t('brief.minutes', m=f'{seal.seal_minutes:.1f}')}" if seal else "")

    def draw(axes):
        ax = axes[0]
        c.base.draw(ax, townships=False)
        ring_handles = []
        for r in (rings.results if rings is not None else []):
            colour = RING_COLOURS.get(r.spec.level, "#333333")
            outline(ax, [r.spec.polygon], colour, linewidth=1.3, zorder=9)
            ring_handles.append(Line2D([], [], color=colour, linewidth=1.6,
                                       label=f"{t(f'cv.rings.level.{r.spec.level}')} {r.spec.name}"))
        cov_ = ring.crossings[ring.crossings["covered"]]
        unc = ring.crossings[~ring.crossings["covered"] & (ring.crossings["direction"] != "out")]
        if seal is not None:
            up = units.set_index(normalise_ids(units["facility_id"])).geometry
            key = normalise_ids(exits["checkpoint_id"]) if "checkpoint_id" in exits.columns else exits.index.astype(str)
            xp = exits.set_index(key).geometry
            worst = float(seal.seal_minutes)
            for r in seal.assignment.itertuples():
                a, b = up.get(str(r.unit)), xp.get(str(r.exit))
                if a is None or b is None:
                    continue
                slow = abs(float(r.minutes) - worst) < 1e-9
                ax.plot([a.x, b.x], [a.y, b.y], color="#d62728" if slow else "#555555",
                        linewidth=1.6 if slow else 0.8, linestyle="--", zorder=10)
                ax.annotate(f"{float(r.minutes):.1f}′", (b.x, b.y), xytext=(4, -8), textcoords="offset points",
                            fontsize=6.5, color="#d62728" if slow else "#333333", zorder=16)
        ax.scatter(cps.geometry.x, cps.geometry.y, s=42, marker="^", c="#2b83ba", edgecolors="black",
                   linewidths=0.6, zorder=13)
        if len(cov_):
            ax.scatter(cov_.geometry.x, cov_.geometry.y, s=70, facecolors="none", edgecolors="#1a9850",
                       linewidths=1.4, zorder=12)
        if len(unc):
            ax.scatter(unc.geometry.x, unc.geometry.y, s=55, marker="X", c=BEYOND, edgecolors="white",
                       linewidths=0.6, zorder=14)
        c.base.stations(ax, labels=False)
        if ws.has("posts"):
            po = ws.layer("posts")
            ax.scatter(po.geometry.x, po.geometry.y, s=18, c="#1f4e79", marker="s", zorder=13)
        return ring_handles + [
            Line2D([], [], color="#111111", linewidth=1.8, label=t("brief.l.ring")),
            Line2D([], [], marker="^", color="w", markerfacecolor="#2b83ba", markeredgecolor="black",
                   markersize=8, label=t("brief.l.checkpoints")),
            Line2D([], [], marker="o", color="w", markerfacecolor="none", markeredgecolor="#1a9850",
                   markersize=9, label=t("brief.l.crossing_covered")),
            Line2D([], [], marker="X", color="w", markerfacecolor=BEYOND, markersize=9,
                   label=t("brief.l.crossing_open")),
            Line2D([], [], color="#555555", linestyle="--", label=t("brief.l.seal_path")),
            Line2D([], [], color="#d62728", linestyle="--", linewidth=1.6, label=t("brief.l.seal_worst"))]

    if seal is not None:
        a = seal.assignment.head(12)
        names = c.base.names
        shown = pd.DataFrame({t("brief.c.checkpoint"): normalise_ids(a["exit"]).to_numpy(),
                              t("brief.c.unit_sent"): [names.get(str(u), str(u)) for u in a["unit"]],
                              t("brief.c.minutes"): [f"{m:.1f}" for m in a["minutes"]]})
    else:
        shown = pd.DataFrame()
    if len(uncovered_entries):
        notes.append(t("brief.n.open_roads", roads=", ".join(
            f"{r.crossing_id} ({road_class_label(r.road_class, c.lang) or '-'})"
            for r in uncovered_entries.head(10).itertuples())))
    return BriefingSection("ring", title, draw, shown, notes=notes)
