"""The boundary audit drawn as one PNG: both partitions, the split pieces and the defects, with a legend.

Drawn with matplotlib's Agg canvas (``matplotlib.figure.Figure``, never pyplot: no global state
is touched, so sessions of the app can draw at once) in the audit's working CRS (metres). No text
from data is drawn; the legend is in the report's language.
"""
from __future__ import annotations

import io
import logging
from typing import Mapping

import numpy as np
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.path import Path as MplPath

from geo.audit import BoundaryAudit
from geo.audit_tables import audit_text, unit_names
from geo.errors import GridPatrolError
from geo.fonts import find_cjk_font

__all__ = ["audit_map_png", "COLOURS"]

log = logging.getLogger(__name__)

COLOURS = {"admin": "#8c8c8c", "police": "#08306b", "main": "#fdd9b5", "elsewhere": "#e6550d",
           "gap": "#d62728", "overlap": "#9467bd", "sliver": "#000000"}
_MARKERS = {"gap": "o", "overlap": "s", "sliver": "x"}


def _polygon_paths(geoms: np.ndarray) -> list[MplPath]:
    """One matplotlib path per polygon part (exterior and holes), for filled drawing."""
    paths = []
    for poly in shapely.get_parts(geoms[~shapely.is_empty(geoms)]):
        if shapely.get_type_id(poly) != 3:
            continue
        verts, codes = [], []
        for ring in (poly.exterior, *poly.interiors):
            xy = np.asarray(ring.coords)
            if len(xy) < 4:
                continue
            verts.append(xy)
            codes += [MplPath.MOVETO] + [MplPath.LINETO] * (len(xy) - 2) + [MplPath.CLOSEPOLY]
        if verts:
            paths.append(MplPath(np.concatenate(verts), codes))
    return paths


def _outlines(geoms: np.ndarray) -> list[np.ndarray]:
    """The boundary lines of polygons as coordinate arrays, for a LineCollection."""
    lines = shapely.get_parts(shapely.boundary(geoms[~shapely.is_empty(geoms)]))
    if not len(lines):
        return []
    xy, owner = shapely.get_coordinates(lines, return_index=True)
    cuts = np.flatnonzero(np.diff(owner)) + 1
    return np.split(xy, cuts)


def _split_pieces(audit: BoundaryAudit) -> tuple[np.ndarray, np.ndarray]:
    """(pieces of the ranked split units, True where the piece lies outside the unit's main
    counterpart)."""
    pieces = audit.pieces
    elsewhere = np.zeros(len(pieces), bool)
    chosen = np.zeros(len(pieces), bool)
    for side, frame, other in (("police", audit.police, "admin"), ("admin", audit.admin, "police")):
        ranked = set(audit.severity.loc[audit.severity["side"] == side, "id"].astype(str))
        if not ranked:
            continue
        main = dict(zip(frame[side].astype(str), frame["main"]))
        ids = pieces[side].astype(str).to_numpy()
        mine = np.isin(ids, list(ranked))
        chosen |= mine
        mains = np.array([main.get(i) for i in ids], dtype=object)
        elsewhere |= mine & (pieces[other].to_numpy() != mains)
    geoms = np.asarray(pieces.geometry.values)
    return geoms[chosen], elsewhere[chosen]


def _scale_bar(ax, x0: float, y0: float, width: float) -> None:
    target = width / 5.0
    k = 10 ** np.floor(np.log10(target))
    length = next(m * k for m in (5, 2, 1) if m * k <= target)
    ax.plot([x0, x0 + length], [y0, y0], color="black", linewidth=2.5, solid_capstyle="butt")
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(x0 + length / 2, y0, label, ha="center", va="bottom", fontsize=8)


def audit_map_png(audit: BoundaryAudit, *, lang: str = "zh", names: Mapping[str, str] | None = None,
                  width_in: float = 8.0, dpi: int = 120) -> bytes:
    """The audit as a PNG map: admin units (grey outlines), police units (dark blue outlines), the
    pieces of the ranked split units (pale: the part in the unit's main counterpart, orange: the
    part elsewhere), gaps (red), overlaps (purple) and slivers (black), each defect also marked
    with a symbol so that small ones show; a legend in ``lang`` and a scale bar.

    The legend is in English when ``lang`` is ``zh`` but the machine has no CJK font (with a
    warning in the log). ``names`` as in ``geo.audit_tables.unit_names``.
    """
    font = None
    if lang == "zh":
        try:
            font = FontProperties(family=[find_cjk_font(), "DejaVu Sans"], size=8)
        except GridPatrolError as exc:
            log.warning("audit map legend in English: %s", exc)
            lang, names = "en", None
    n = unit_names(audit, lang, names)
    police = np.asarray(audit.police.geometry.values)
    admin = np.asarray(audit.admin.geometry.values)
    x0, y0, x1, y1 = shapely.total_bounds(np.concatenate([police, admin]))
    w, h = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
    tol = max(w, h) / 3000.0
    map_h = max(3.0, min(2.0 * width_in, width_in * h / w))
    legend_h = 0.9  # inches below the map for the legend
    fig = Figure(figsize=(width_in, map_h + legend_h), dpi=dpi)
    FigureCanvasAgg(fig)
    bottom = legend_h / (map_h + legend_h)
    ax = fig.add_axes((0.01, bottom, 0.98, 0.99 - bottom))
    ax.set_axis_off()
    ax.set_aspect("equal")

    pieces, elsewhere = _split_pieces(audit)
    pieces = shapely.simplify(pieces, tol)
    for mask, colour in ((~elsewhere, COLOURS["main"]), (elsewhere, COLOURS["elsewhere"])):
        paths = _polygon_paths(pieces[mask])
        if paths:
            ax.add_collection(PathCollection(paths, facecolor=colour, edgecolor="none", zorder=1))
    ax.add_collection(LineCollection(_outlines(shapely.simplify(admin, tol)), colors=COLOURS["admin"],
                                     linewidths=0.4, zorder=2))
    ax.add_collection(LineCollection(_outlines(shapely.simplify(police, tol)), colors=COLOURS["police"],
                                     linewidths=1.0, zorder=3))
    defects = audit.defects
    for kind in ("gap", "overlap", "sliver"):
        part = np.asarray(defects.loc[defects["kind"] == kind].geometry.values)
        if not len(part):
            continue
        if kind == "sliver":
            ax.add_collection(LineCollection(_outlines(part), colors=COLOURS[kind], linewidths=0.8,
                                             zorder=4))
        else:
            paths = _polygon_paths(part)
            ax.add_collection(PathCollection(paths, facecolor=COLOURS[kind], edgecolor=COLOURS[kind],
                                             linewidths=0.5, zorder=4))
        pts = shapely.get_coordinates(shapely.point_on_surface(part))
        ax.scatter(pts[:, 0], pts[:, 1], s=8 if kind == "sliver" else 14, marker=_MARKERS[kind],
                   color=COLOURS[kind], linewidths=0.6, zorder=5,
                   edgecolors=None if kind == "sliver" else "white")

    ax.set_xlim(x0 - 0.02 * w, x1 + 0.02 * w)
    ax.set_ylim(y0 - 0.06 * h, y1 + 0.02 * h)
    _scale_bar(ax, x0, y0 - 0.04 * h, w)
    label = {k: audit_text(f"map.{k}", lang, police=n["police"], admin=n["admin"])
             for k in ("admin", "police", "main", "elsewhere", "gap", "overlap", "sliver")}
    handles = [Line2D([], [], color=COLOURS["admin"], linewidth=0.8, label=label["admin"]),
               Line2D([], [], color=COLOURS["police"], linewidth=1.5, label=label["police"]),
               Patch(facecolor=COLOURS["main"], label=label["main"]),
               Patch(facecolor=COLOURS["elsewhere"], label=label["elsewhere"])]
    handles += [Line2D([], [], linestyle="none", marker=_MARKERS[k], color=COLOURS[k], label=label[k])
                for k in ("gap", "overlap", "sliver")]
    fig.legend(handles=handles, loc="lower center", ncol=4, frameon=False, prop=font or {"size": 8},
               bbox_to_anchor=(0.5, 0.0))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
