"""The map of the briefing's first page: the whole area with incidents per cell, jurisdictions,
stations, posts and checkpoints over the roads, rivers and boundaries."""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from geo.ids import normalise_ids
from ui.briefing.context import SectionContext
from ui.briefing.document import BriefingSection
from ui.briefing.figures import ROAD_MAJOR, fill, outline

__all__ = ["overview_section", "incident_classes"]


def incident_classes(values: np.ndarray, *, classes: int = 5) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Cells' incident counts in at most ``classes`` quantile classes of the cells with any:
    the class of every value (-1 for none) and each class's (lowest, highest) count."""
    v = np.asarray(values, dtype=float)
    pos = v[v > 0]
    if not len(pos):
        return np.full(len(v), -1), []
    upper = np.unique(np.ceil(np.quantile(pos, np.linspace(0, 1, classes + 1)[1:])))
    cls = np.where(v > 0, np.searchsorted(upper, v, side="left"), -1)
    cls = np.minimum(cls, len(upper) - 1)
    ranges = []
    for k, hi in enumerate(upper):
        member = pos[(np.searchsorted(upper, pos, side="left") == k)]
        ranges.append((float(member.min()) if len(member) else float(hi), float(hi)))
    return cls, ranges


def overview_section(c: SectionContext) -> BriefingSection:
    """The overview map (no table): incidents per cell in quantile classes (or the
    jurisdictions in their colours when the cells carry no incidents), jurisdiction boundaries,
    stations named, posts, checkpoints, roads, rivers, townships and the area boundary."""
    ws, t = c.ws, c.t
    cells = ws.layer("cells") if ws.has("cells") else None
    jur = ws.layer("jurisdictions") if ws.has("jurisdictions") else None
    has_incidents = cells is not None and "incidents" in cells.columns

    def draw(axes):
        ax = axes[0]
        handles = []
        if has_incidents:
            values = pd.to_numeric(cells["incidents"], errors="coerce").fillna(0.0).to_numpy()
            cls, ranges = incident_classes(values)
            palette = colormaps["YlOrRd"](np.linspace(0.12, 0.85, max(len(ranges), 1)))
            some = cls >= 0
            if some.any():
                fill(ax, cells[some], palette[cls[some]], alpha=0.75, zorder=1)
            for (lo, hi), colour in zip(ranges, palette):
                span = f"{lo:,.0f}" if lo == hi else f"{lo:,.0f}–{hi:,.0f}"
                handles.append(Patch(facecolor=colour, alpha=0.75, label=t("brief.l.incidents_class", n=span)))
        if jur is not None:
            ids = normalise_ids(jur["station_id"])
            if not has_incidents:
                fill(ax, jur, [c.base.colours.get(s, "#999999") for s in ids], alpha=0.3, zorder=1)
            outline(ax, jur, "#333333", linewidth=1.3, zorder=8)
            handles.append(Line2D([], [], color="#333333", linewidth=1.3, label=t("brief.l.jurisdictions")))
        c.base.draw(ax)
        handles += [Line2D([], [], color=ROAD_MAJOR, linewidth=1.1, label=t("brief.l.roads")),
                    Line2D([], [], color="#555555", linestyle="--", label=t("brief.l.townships")),
                    Line2D([], [], color="#111111", linewidth=1.8, label=t("brief.l.area"))]
        if ws.has("posts"):
            po = ws.layer("posts")
            ax.scatter(po.geometry.x, po.geometry.y, s=20, c="#1f4e79", marker="s", edgecolors="white",
                       linewidths=0.5, zorder=14)
            handles.append(Line2D([], [], marker="s", color="w", markerfacecolor="#1f4e79", markersize=6,
                                  label=t("brief.l.posts")))
        if ws.has("checkpoints"):
            cp = ws.layer("checkpoints")
            ax.scatter(cp.geometry.x, cp.geometry.y, s=36, marker="^", c="#2b83ba", edgecolors="black",
                       linewidths=0.5, zorder=13)
            handles.append(Line2D([], [], marker="^", color="w", markerfacecolor="#2b83ba",
                                  markeredgecolor="black", markersize=7, label=t("brief.l.checkpoints")))
        c.base.stations(ax)
        if ws.has("stations"):
            handles.append(Line2D([], [], marker="*", color="w", markerfacecolor="#777777",
                                  markeredgecolor="#111111", markersize=10, label=t("brief.l.stations")))
        return handles

    return BriefingSection("overview", t("brief.overview"), draw, pd.DataFrame())
