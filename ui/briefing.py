"""Map briefings: static maps and the key figures of a workspace as one self-contained HTML file and a PDF.

Pure: no Streamlit, no browser, no web tiles. Maps are drawn with matplotlib's Agg canvas
(``matplotlib.figure.Figure``, never pyplot, so nothing global is touched) in the workspace's
projected CRS, which makes the scale bar exact in metres; the north arrow points to grid north
(within a fraction of a degree of true north over a county in a Gauss-Kruger or UTM zone).

``briefing_steps`` is a generator that yields progress ``(fraction, label)`` and returns a
``Briefing``; ``build_briefing`` runs it to the end. A ``Briefing`` writes itself as HTML
(images embedded as base64 PNG, CSS inline, no scripts, no external links: it opens offline)
and as a PDF (a title page with the key figures, then one page per section).

Sections (``SECTIONS``): ``jurisdictions`` (stations and their jurisdictions, workload per
station), ``audit`` (police vs civil boundaries: splits, gaps red, overlaps purple), ``coverage``
(1/3/5-minute response bands from stations and posts, places beyond), ``ring`` (the road
crossings of the county boundary, checkpoints, and the time to seal the trunk-road checkpoints),
``patrol`` (routes of one station's units for one shift), ``plan`` (a saved jurisdiction plan
before and after), ``orders`` (that plan's change orders: the units each station gains and loses)
and ``staffing`` (officers and auxiliaries against the workspace's norms; ``ui.briefing_orders``). A section whose layers are missing is left out and the reason listed.
"""
from __future__ import annotations

import base64
import datetime as _dt
import io
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Generator, Iterable, Sequence

import geopandas as gpd
import matplotlib
import matplotlib.image
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from geo.ids import id_str, normalise_ids
from geo.atomic import write_bytes_atomic
from geo.errors import GridPatrolError, InputError
from geo.fonts import CJK_FONT_FAMILIES, FONT_FIX, find_cjk_font  # noqa: F401 (re-exported)
from geo.markup import escape_html
from geo.workspace import Workspace
from ui.colors import natural_key, workspace_station_colors
from ui.i18n import LANGUAGES, road_class_label, text

__all__ = ["SECTIONS", "CJK_FONT_FAMILIES", "Briefing", "BriefingSection", "KeyFigure",
           "find_cjk_font", "briefing_steps", "build_briefing", "station_workload",
           "coverage_facilities", "seal_exits", "plan_names", "nice_scale_length"]

log = logging.getLogger(__name__)

SECTIONS = ("jurisdictions", "audit", "coverage", "ring", "patrol", "plan", "orders", "staffing")
# Families tried in order; the first one matplotlib can load is used for every text.

DEFAULT_SHIFT = "08:00-16:00"
BANDS_MIN = (1.0, 3.0, 5.0)
MAX_HOTSPOTS = 25         # the riskiest cells of the shift a patrol map shows and visits
SEAL_MAX_RANK = 2          # checkpoints on expressways, national and provincial roads are sealed
MAP_DPI = 130
_BAND_COLOURS = {1.0: "#1a9850", 3.0: "#91cf60", 5.0: "#fee08b"}
_BEYOND = "#d73027"
_GAP = "#e31a1c"
_OVERLAP = "#7b3294"
_UNIT_COLOURS = ("#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#a65628")


# --- small helpers ------------------------------------------------------------------------------

def nice_scale_length(width_m: float) -> float:
    """A round scale-bar length (1, 2 or 5 × 10^k metres) of at most a quarter of ``width_m``."""
    if not (width_m > 0):
        return 0.0
    target = width_m / 4.0
    k = 10 ** np.floor(np.log10(target))
    for m in (5, 2, 1):
        if m * k <= target:
            return float(m * k)
    return float(k)


def _pct(v: float | None) -> str:
    return "—" if v is None or not np.isfinite(v) else f"{v:.1%}"


def _num(v: float | None, digits: int = 0) -> str:
    return "—" if v is None or not np.isfinite(v) else f"{v:,.{digits}f}"


def _signed_pct(v: float | None) -> str:
    return "—" if v is None or not np.isfinite(v) else f"{v:+.1%}"


def _station_names(ws: Workspace) -> dict[str, str]:
    names: dict[str, str] = {}
    for layer in ("jurisdictions", "stations"):
        if ws.has(layer) and {"station_id", "name"} <= set(ws.layer(layer).columns):
            frame = ws.layer(layer)
            names.update({str(i): str(n) for i, n in zip(frame["station_id"], frame["name"])
                          if n is not None and str(n) not in ("", "nan", "None")})
    return names


def _cells_with_station(ws: Workspace) -> gpd.GeoDataFrame:
    """The cells with a string ``station_id`` (from the column, else from the jurisdiction
    holding the cell's representative point)."""
    cells = ws.layer("cells").copy()
    if "station_id" not in cells.columns or cells["station_id"].isna().all():
        if not ws.has("jurisdictions"):
            raise InputError("the cells carry no station_id and the workspace has no jurisdictions")
        pts = gpd.GeoDataFrame(geometry=cells.geometry.representative_point(), crs=cells.crs)
        hit = gpd.sjoin(pts, ws.layer("jurisdictions")[["station_id", "geometry"]], how="left",
                        predicate="within")
        hit = hit[~hit.index.duplicated()]
        cells["station_id"] = hit["station_id"].reindex(cells.index).to_numpy()
    cells["station_id"] = normalise_ids(cells["station_id"]).to_numpy()
    return cells


def station_workload(ws: Workspace, *, workload: str = "incidents") -> pd.DataFrame:
    """Per station (index ``station_id``, natural order): ``name``, ``cells``, ``population``,
    ``incidents``, ``area_km2``, ``workload`` (the sum of the cells' ``workload`` column) and
    ``deviation`` (workload / mean workload over the stations - 1; 0.05 = 5 % above the mean).

    Cells belong to the station in their ``station_id`` column. Stations without cells show 0.
    """
    cells = _cells_with_station(ws)
    if workload not in cells.columns:
        raise InputError(f"workload was {workload!r} but the cells have no such column; columns "
                         f"are {[c for c in cells.columns if c != cells.geometry.name]}")
    frame = pd.DataFrame({"station_id": cells["station_id"], "cells": 1,
                          "area_km2": cells.geometry.area.to_numpy() / 1e6})
    for col in ("population", "incidents", workload):
        if col in cells.columns:
            frame[col] = pd.to_numeric(cells[col], errors="coerce").fillna(0.0).to_numpy()
    frame = frame.loc[:, ~frame.columns.duplicated()]
    sums = frame.dropna(subset=["station_id"]).groupby("station_id").sum(numeric_only=True)
    ids = set(sums.index)
    if ws.has("stations"):
        ids |= {str(s) for s in ws.layer("stations")["station_id"]}
    order = sorted(ids, key=natural_key)
    out = sums.reindex(order).fillna(0.0)
    out.index.name = "station_id"
    out["cells"] = out["cells"].astype(int)
    out["workload"] = out[workload]
    mean = float(out["workload"].mean()) if len(out) else 0.0
    out["deviation"] = out["workload"] / mean - 1.0 if mean > 0 else 0.0
    names = _station_names(ws)
    out.insert(0, "name", [names.get(i, i) for i in out.index])
    return out


def coverage_facilities(ws: Workspace) -> gpd.GeoDataFrame:
    """Stations and posts as one facility layer: ``facility_id`` (station or post id),
    ``kind`` (station/post), ``turnout_min`` (posts' own delay, stations 0), ``node_id`` where
    known, point geometry in the workspace CRS."""
    parts = []
    for layer, id_col, kind in (("stations", "station_id", "station"), ("posts", "post_id", "post")):
        if not ws.has(layer):
            continue
        g = ws.layer(layer)
        part = pd.DataFrame({"facility_id": normalise_ids(g[id_col]).to_numpy(), "kind": kind,
                             "turnout_min": (pd.to_numeric(g["turnout_min"], errors="coerce").fillna(0.0).to_numpy()
                                             if "turnout_min" in g.columns else 0.0)})
        if "node_id" in g.columns:
            part["node_id"] = g["node_id"].to_numpy()
        from geo.hours import hours_column
        hcol = hours_column(g)  # opening hours (geo.hours); none: 7x24
        part["hours"] = g[hcol].to_numpy(dtype=object) if hcol is not None else "7x24"
        parts.append(gpd.GeoDataFrame(part, geometry=g.geometry.values, crs=g.crs))
    if not parts:
        raise InputError("the workspace has neither stations nor posts; load stations to see coverage")
    out = pd.concat(parts, ignore_index=True)
    if "node_id" in out.columns and out["node_id"].isna().any():
        out = out.drop(columns="node_id")  # snap every facility rather than mixing
    return gpd.GeoDataFrame(out, geometry="geometry", crs=parts[0].crs)


def seal_exits(checkpoints: gpd.GeoDataFrame, *, max_rank: int = SEAL_MAX_RANK) -> gpd.GeoDataFrame:
    """The checkpoints the briefing seals: those on trunk roads (``road_class`` rank at most
    ``max_rank``: expressway, national, provincial); all of them when none carries a class."""
    from geo.network import road_class_rank
    if "road_class" not in checkpoints.columns:
        return checkpoints
    rank = checkpoints["road_class"].map(road_class_rank)
    major = checkpoints[rank <= max_rank]
    return major if len(major) else checkpoints


def plan_names(ws: Workspace) -> list[str]:
    """Names (or ids) of the plans saved in the workspace, oldest first."""
    if "plans" not in ws.layers or "plan_cells" not in ws.layers or not len(ws.layers["plans"]):
        return []
    plans = pd.DataFrame(ws.layers["plans"])
    return [str(n) if n is not None and str(n) not in ("", "nan") else str(i)
            for i, n in zip(plans["plan_id"], plans.get("name", plans["plan_id"]))]


def _resolve_plan(ws: Workspace, plan: str | None) -> tuple[int, str] | None:
    """(plan_id, name) of the named plan (name or id), the latest when ``plan`` is None."""
    if "plans" not in ws.layers or "plan_cells" not in ws.layers or not len(ws.layers["plans"]):
        if plan is not None:
            raise InputError(f"--plan was {plan!r} but the workspace holds no saved plans; save "
                             "one with `gridpatrol redistrict ... --save-plan NAME`")
        return None
    plans = pd.DataFrame(ws.layers["plans"])
    ids = pd.to_numeric(plans["plan_id"], errors="coerce")
    names = plans["name"].astype(str) if "name" in plans.columns else ids.astype(str)
    if plan is None:
        k = int(np.nanargmax(ids.to_numpy(dtype=float)))
    else:
        hit = np.flatnonzero((names == str(plan)).to_numpy() | (ids.astype(str) == str(plan)).to_numpy())
        if not len(hit):
            raise InputError(f"--plan was {plan!r} but the workspace's plans are "
                             f"{plan_names(ws)}; give one of these names or ids")
        k = int(hit[-1])
    return int(ids.iloc[k]), str(names.iloc[k])


# --- the briefing -------------------------------------------------------------------------------

@dataclass(frozen=True)
class KeyFigure:
    """One line of the commander's table: ``key`` (stable, machine-readable), label, value (text)
    and the raw number."""

    key: str
    label: str
    value: str
    number: float | None = None


Draw = Callable[[Sequence[object]], list]


@dataclass
class BriefingSection:
    """One topic: a map (drawn by ``draw`` on ``panels`` axes; returns legend handles), a small
    table and notes. ``png`` holds the rendered map once ``render`` ran."""

    key: str
    title: str
    draw: Draw
    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    panels: int = 1
    panel_titles: tuple[str, ...] = ()
    png: bytes = b""
    extra_tables: tuple[tuple[str, pd.DataFrame], ...] = ()  # (caption, table): in the HTML only


@dataclass
class Briefing:
    """A finished briefing. ``key_figures`` is the commander's table; ``skipped`` maps the
    sections left out to the reason; ``facts`` holds the raw numbers (for tests and scripts)."""

    title: str
    date: str
    area: str
    lang: str
    font: str
    crs: str
    sections: list[BriefingSection]
    key_figures: list[KeyFigure]
    skipped: dict[str, str] = field(default_factory=dict)
    facts: dict = field(default_factory=dict)

    @property
    def pdf_pages(self) -> int:
        """Pages of the PDF: the title page and one per section."""
        return 1 + len(self.sections)

    # HTML ----------------------------------------------------------------------------------------
    def to_html(self) -> str:
        """The briefing as one self-contained HTML document (no scripts, no external links)."""
        t = lambda key, **kw: text(key, self.lang, **kw)  # noqa: E731
        parts = [f"<!DOCTYPE html>\n<html lang=\"{'zh-CN' if self.lang == 'zh' else 'en'}\"><head>"
                 "<meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">"
                 f"<title>{escape_html(self.title)}</title><style>{_CSS}</style></head><body>",
                 f"<header><h1>{escape_html(self.title)}</h1>"
                 f"<p class=\"meta\">{escape_html(t('brief.date'))}: {escape_html(self.date)} · "
                 f"{escape_html(t('brief.area'))}: {escape_html(self.area)} · "
                 f"{escape_html(t('brief.crs'))}: {escape_html(self.crs)}</p></header>",
                 f"<section id=\"key-figures\"><h2>{escape_html(t('brief.key_figures'))}</h2>"
                 "<table class=\"key\"><tbody>"]
        for k in self.key_figures:
            parts.append(f"<tr><th>{escape_html(k.label)}</th>"
                         f"<td data-key=\"{escape_html(k.key)}\">{escape_html(k.value)}</td></tr>")
        parts.append("</tbody></table>")
        if self.skipped:
            parts.append(f"<p class=\"note\">{escape_html(t('brief.skipped'))}</p><ul class=\"note\">")
            parts += [f"<li>{escape_html(text(f'brief.section.{k}', self.lang))}: {escape_html(v)}</li>"
                      for k, v in self.skipped.items()]
            parts.append("</ul>")
        parts.append("</section>")
        for s in self.sections:
            img = base64.b64encode(s.png).decode("ascii")
            parts.append(f"<section id=\"{escape_html(s.key)}\"><h2>{escape_html(s.title)}</h2>"
                         f"<img alt=\"{escape_html(s.title)}\" src=\"data:image/png;base64,{img}\">")
            if len(s.table):
                parts.append(_html_table(s.table))
            parts += [f"<p class=\"note\">{escape_html(n)}</p>" for n in s.notes]
            for caption, extra in s.extra_tables:
                parts.append(f"<p class=\"caption\">{escape_html(caption)}</p>" + _html_table(extra))
            parts.append("</section>")
        parts.append(f"<footer>{escape_html(t('brief.footer'))}</footer></body></html>")
        return "".join(parts)

    def write_html(self, path: str | Path) -> Path:
        """Write the HTML (atomically: a temporary file renamed into place)."""
        return _atomic_write(Path(path), self.to_html().encode("utf-8"))

    # PDF -----------------------------------------------------------------------------------------
    def pdf_bytes(self) -> bytes:
        """The PDF: a title page with the key figures, then one page per section (A4 landscape)."""
        from matplotlib.backends.backend_pdf import PdfPages
        buf = io.BytesIO()
        with matplotlib.rc_context(_rc(self.font)):
            with PdfPages(buf, metadata={"Title": self.title, "Creator": "GridPatrol"}) as pdf:
                pdf.savefig(self._title_page())
                for s in self.sections:
                    pdf.savefig(self._section_page(s))
        return buf.getvalue()

    def write_pdf(self, path: str | Path) -> Path:
        """Write the PDF (atomically)."""
        return _atomic_write(Path(path), self.pdf_bytes())

    def _title_page(self) -> Figure:
        t = lambda key, **kw: text(key, self.lang, **kw)  # noqa: E731
        fig = Figure(figsize=(11.69, 8.27))
        FigureCanvasAgg(fig)
        fig.text(0.06, 0.92, self.title, fontsize=20, weight="bold", va="top")
        fig.text(0.06, 0.86, f"{t('brief.date')}: {self.date}    {t('brief.area')}: {self.area}",
                 fontsize=11, va="top")
        fig.text(0.06, 0.80, t("brief.key_figures"), fontsize=14, weight="bold", va="top")
        rows = [[k.label, k.value] for k in self.key_figures]
        ax = fig.add_axes([0.06, 0.12, 0.62, 0.66])
        ax.axis("off")
        if rows:
            _mpl_table(ax, rows, col_widths=(0.68, 0.32), fontsize=10)
        y = 0.78
        if self.skipped:
            fig.text(0.72, y, t("brief.skipped"), fontsize=10, weight="bold", va="top")
            for k, v in self.skipped.items():
                y -= 0.05
                fig.text(0.72, y, _wrap(f"{t(f'brief.section.{k}')}: {v}", 34), fontsize=8, va="top")
                y -= 0.03 * (len(v) // 34)
        fig.text(0.06, 0.04, t("brief.footer"), fontsize=8, color="#555555")
        return fig

    def _section_page(self, s: BriefingSection) -> Figure:
        fig = Figure(figsize=(11.69, 8.27))
        FigureCanvasAgg(fig)
        fig.text(0.03, 0.965, s.title, fontsize=15, weight="bold", va="top")
        map_w = 0.60 if s.panels == 1 else 0.64
        # The map is the section's rendered PNG (drawn once; redrawing thousands of vector
        # polygons per page would triple the build time for no gain on paper at this DPI).
        img = matplotlib.image.imread(io.BytesIO(s.png), format="png")
        ax_map = fig.add_axes([0.02, 0.04, map_w, 0.86])
        ax_map.imshow(img, interpolation="antialiased")
        ax_map.axis("off")
        ax = fig.add_axes([map_w + 0.05, 0.30, 0.97 - map_w - 0.05, 0.60])
        ax.axis("off")
        table = s.table.head(14)
        if len(table):
            rows = [[str(v) for v in row] for row in table.itertuples(index=False)]
            _mpl_table(ax, [list(map(str, table.columns))] + rows, fontsize=7.5, header=True)
        y = 0.26
        for n in s.notes[:6]:
            fig.text(map_w + 0.05, y, _wrap(n, 44), fontsize=7.5, va="top", color="#333333")
            y -= 0.035 * (1 + len(n) // 44)
        return fig


_CSS = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","PingFang SC",sans-serif;
margin:24px auto;max-width:1100px;color:#222;line-height:1.5;padding:0 16px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;border-bottom:2px solid #1f4e79;padding-bottom:3px;margin-top:32px}
.meta{color:#555;margin:0}img{max-width:100%;height:auto;border:1px solid #ccc}
table{border-collapse:collapse;margin:10px 0;font-size:14px}th,td{border:1px solid #bbb;padding:3px 8px}
th{background:#eef2f7;text-align:left}td{text-align:right}td.t{text-align:left}
table.key td{font-weight:600;min-width:120px}.note{color:#444;font-size:13px}
footer{margin-top:32px;color:#777;font-size:12px}
@media print{h2{page-break-before:always}section#key-figures h2{page-break-before:avoid}}
"""


def _html_table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{escape_html(str(c))}</th>" for c in frame.columns)
    body = []
    for row in frame.itertuples(index=False):
        cells = []
        for v in row:
            cls = "" if re.fullmatch(r"[-+−]?[\d,.\s%]+|—", str(v)) else " class=\"t\""
            cells.append(f"<td{cls}>{escape_html(str(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _wrap(s: str, width: int) -> str:
    """Hard-wrap ``s`` every ``width`` characters (CJK text has no spaces to break at)."""
    return "\n".join(s[i:i + width] for i in range(0, len(s), width)) or s


def _mpl_table(ax, rows: list[list[str]], *, col_widths: Sequence[float] | None = None,
               fontsize: float = 9, header: bool = False) -> None:
    tab = ax.table(cellText=rows, loc="upper left", cellLoc="left", colWidths=col_widths)
    tab.auto_set_font_size(False)
    tab.set_fontsize(fontsize)
    tab.scale(1.0, 1.25)
    for (r, _c), cell in tab.get_celld().items():
        cell.set_edgecolor("#bbbbbb")
        if header and r == 0:
            cell.set_facecolor("#eef2f7")
            cell.set_text_props(weight="bold")


def _atomic_write(path: Path, data: bytes) -> Path:
    return write_bytes_atomic(path, data)


def _rc(font: str) -> dict:
    # text.parse_math off: names are drawn as typed, never as mathtext ("$x^2$" stays "$x^2$").
    return {"font.family": "sans-serif", "font.sans-serif": [font, "DejaVu Sans"],
            "axes.unicode_minus": False, "pdf.fonttype": 3,
            "svg.fonttype": "path", "text.parse_math": False}


# --- map furniture -------------------------------------------------------------------------------

def _scale_bar(ax, lang: str) -> None:
    """A two-part black/white scale bar in the lower right, in metres of the projected CRS."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    width = x1 - x0
    length = nice_scale_length(width)
    if length <= 0:
        return
    h = (y1 - y0) * 0.012
    right = x1 - width * 0.05
    left = right - length
    base = y0 + (y1 - y0) * 0.05
    ax.add_patch(Rectangle((left - width * 0.015, base - h * 1.4), length + width * 0.03, h * 5.2,
                           facecolor="white", edgecolor="none", alpha=0.8, zorder=20))
    ax.add_patch(Rectangle((left, base), length / 2, h, facecolor="black", edgecolor="black", zorder=21))
    ax.add_patch(Rectangle((left + length / 2, base), length / 2, h, facecolor="white",
                           edgecolor="black", zorder=21))
    unit, div = ("km", 1000.0) if length >= 1000 else ("m", 1.0)
    for x, v in ((left, 0), (left + length / 2, length / 2), (right, length)):
        label = f"{v / div:g}" + (f" {unit}" if v == length else "")
        ax.text(x, base + h * 1.6, label, ha="center", va="bottom", fontsize=7, zorder=22)


def _north_arrow(ax, lang: str) -> None:
    ax.annotate(text("brief.north", lang), xy=(0.95, 0.965), xytext=(0.95, 0.865),
                xycoords="axes fraction", textcoords="axes fraction", ha="center", va="center",
                fontsize=10, weight="bold", zorder=22,
                arrowprops=dict(facecolor="black", edgecolor="black", width=3.5, headwidth=10,
                                headlength=10),
                bbox=dict(boxstyle="circle,pad=0.15", facecolor="white", edgecolor="none", alpha=0.8))


def _draw_panels(fig: Figure, s: BriefingSection, lang: str, *, rect: tuple[float, float, float, float]) -> None:
    x, y, w, h = rect
    gap = 0.01
    pw = (w - gap * (s.panels - 1)) / s.panels
    axes = [fig.add_axes([x + i * (pw + gap), y, pw, h]) for i in range(s.panels)]
    handles = s.draw(axes)
    for i, ax in enumerate(axes):
        ax.set_aspect("equal")
        ax.set_xticks([]), ax.set_yticks([])
        ax.set_xlabel(""), ax.set_ylabel("")
        for spine in ax.spines.values():
            spine.set_edgecolor("#999999")
        if i < len(s.panel_titles):
            ax.set_title(s.panel_titles[i], fontsize=10)
        _scale_bar(ax, lang)
        _north_arrow(ax, lang)
    if handles:
        axes[0].legend(handles=handles, loc="lower left", fontsize=7, framealpha=0.9,
                       title=text("brief.legend", lang), title_fontsize=8)


def _render_png(s: BriefingSection, lang: str, font: str) -> bytes:
    with matplotlib.rc_context(_rc(font)):
        fig = Figure(figsize=(9.0 if s.panels == 1 else 12.0, 7.6))
        FigureCanvasAgg(fig)
        _draw_panels(fig, s, lang, rect=(0.01, 0.01, 0.98, 0.98 if s.panels == 1 else 0.94))
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=MAP_DPI)
    return buf.getvalue()


# --- base layers ---------------------------------------------------------------------------------

class _Base:
    """Layers shared by every map, prepared once (major roads only, for context)."""

    def __init__(self, ws: Workspace):
        from geo.network import road_class_rank
        self.ws = ws
        self.colours = workspace_station_colors(ws)
        self.names = _station_names(ws)
        self.area = ws.layer("area") if ws.has("area") else None
        self.townships = ws.layer("townships") if ws.has("townships") else None
        self.rivers = ws.layer("rivers") if ws.has("rivers") else None
        self.roads = None
        if ws.has("road_edges"):
            edges = ws.layer("road_edges")
            if "road_class" in edges.columns:
                rank = edges["road_class"].map(road_class_rank)
                edges = edges.assign(_rank=rank.to_numpy())[rank <= 4]
            self.roads = edges

    def draw(self, ax, *, roads: bool = True, townships: bool = True, extent=None) -> None:
        if self.rivers is not None:
            self.rivers.plot(ax=ax, color="#a6cee3", edgecolor="#4a90d9", linewidth=0.6, zorder=2)
        if roads and self.roads is not None and len(self.roads):
            r = self.roads
            if "_rank" in r.columns:
                minor = r[r["_rank"] > 2]
                major = r[r["_rank"] <= 2]
                minor.plot(ax=ax, color="#bdbdbd", linewidth=0.4, zorder=3)
                major.plot(ax=ax, color="#8c8c8c", linewidth=1.1, zorder=3)
            else:
                r.plot(ax=ax, color="#bdbdbd", linewidth=0.4, zorder=3)
        if townships and self.townships is not None:
            self.townships.boundary.plot(ax=ax, color="#555555", linewidth=0.8, linestyle="--", zorder=6)
        if self.area is not None:
            self.area.boundary.plot(ax=ax, color="#111111", linewidth=1.8, zorder=7)
        if extent is not None:
            minx, miny, maxx, maxy = extent
            pad = max(maxx - minx, maxy - miny) * 0.04
            ax.set_xlim(minx - pad, maxx + pad)
            ax.set_ylim(miny - pad, maxy + pad)
        elif self.area is not None:
            minx, miny, maxx, maxy = self.area.total_bounds
            pad = max(maxx - minx, maxy - miny) * 0.03
            ax.set_xlim(minx - pad, maxx + pad)
            ax.set_ylim(miny - pad, maxy + pad)

    def stations(self, ax, *, only: Iterable[str] | None = None, labels: bool = True) -> None:
        if not self.ws.has("stations"):
            return
        st = self.ws.layer("stations")
        ids = normalise_ids(st["station_id"])
        if only is not None:
            keep = ids.isin(set(only))
            st, ids = st[keep.to_numpy()], ids[keep]
        xs, ys = st.geometry.x.to_numpy(), st.geometry.y.to_numpy()
        ax.scatter(xs, ys, s=60, c=[self.colours.get(i, "#777777") for i in ids], marker="*",
                   edgecolors="#111111", linewidths=0.7, zorder=15)
        if labels and len(st) <= 40:
            for x, y, i in zip(xs, ys, ids):
                ax.annotate(self.names.get(i, i), (x, y), xytext=(5, 4), textcoords="offset points",
                            fontsize=7, zorder=16,
                            bbox=dict(boxstyle="round,pad=0.1", facecolor="white", edgecolor="none", alpha=0.7))


# --- sections ------------------------------------------------------------------------------------

class _Context:
    """What the sections share: the workspace, base layers, the road graph (built once)."""

    def __init__(self, ws: Workspace, lang: str):
        self.ws = ws
        self.lang = lang
        self.base = _Base(ws)
        self._graph = None
        self.facts: dict = {}
        self.keys: list[KeyFigure] = []

    def t(self, key: str, **kw) -> str:
        return text(key, self.lang, **kw)

    def graph(self):
        if self._graph is None:
            from geo.network import graph_from_workspace
            from geo.traveltime import engine_from_graph
            G = graph_from_workspace(self.ws)
            self._graph = (G, engine_from_graph(G))
        return self._graph

    def key(self, key: str, label_key: str, value: str, number: float | None = None, **kw) -> None:
        self.keys.append(KeyFigure(key, self.t(label_key, **kw), value, number))


def _need(ws: Workspace, lang: str, *layers: str) -> str | None:
    """The empty-state reason when a layer is missing ("load checkpoints to see the ring")."""
    missing = [n for n in layers if not ws.has(n)]
    if not missing:
        return None
    from ui.i18n import layer_name
    names = "、".join(layer_name(n, lang, in_sentence=True) for n in missing) if lang == "zh" else \
        ", ".join(layer_name(n, lang, in_sentence=True) for n in missing)
    return text("brief.need", lang, layers=names)


def _section_jurisdictions(c: _Context) -> BriefingSection:
    ws, t = c.ws, c.t
    table = station_workload(ws)
    c.facts["stations"] = int(len(table))
    c.facts["workload"] = table
    c.key("stations", "brief.k.stations", f"{len(table)}", float(len(table)))
    maxdev = float(table["deviation"].abs().max()) if len(table) else None
    c.facts["max_deviation"] = maxdev
    c.key("max_deviation", "brief.k.max_deviation", _pct(maxdev), maxdev)
    jur = ws.layer("jurisdictions") if ws.has("jurisdictions") else None

    def draw(axes):
        ax = axes[0]
        handles = []
        if jur is not None:
            fill = [c.base.colours.get(str(s), "#999999") for s in jur["station_id"]]
            jur.plot(ax=ax, color=fill, alpha=0.35, zorder=1)
            jur.boundary.plot(ax=ax, color=[c.base.colours.get(str(s), "#666666") for s in jur["station_id"]],
                              linewidth=1.6, zorder=8)
        c.base.draw(ax)
        c.base.stations(ax)
        for sid in sorted(c.base.colours, key=natural_key)[:16]:
            handles.append(Patch(facecolor=c.base.colours[sid], alpha=0.6,
                                 label=c.base.names.get(sid, sid)))
        handles += [Line2D([], [], color="#555555", linestyle="--", label=t("brief.l.townships")),
                    Line2D([], [], marker="*", color="w", markerfacecolor="#777777",
                           markeredgecolor="#111111", markersize=10, label=t("brief.l.stations"))]
        return handles

    shown = pd.DataFrame({
        t("brief.c.station"): table["name"].to_numpy(),
        t("brief.c.cells"): [_num(v) for v in table["cells"]],
        t("brief.c.population"): [_num(v) for v in table["population"]] if "population" in table else "—",
        t("brief.c.incidents"): [_num(v) for v in table["incidents"]] if "incidents" in table else "—",
        t("brief.c.area_km2"): [_num(v, 1) for v in table["area_km2"]],
        t("brief.c.deviation"): [_signed_pct(v) for v in table["deviation"]],
    })
    return BriefingSection("jurisdictions", t("brief.section.jurisdictions"), draw, shown,
                           notes=[t("brief.n.workload")])


def _section_audit(c: _Context) -> BriefingSection:
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
        fill = [c.base.colours.get(str(p), "#999999") for p in pieces["police"]]
        pieces.plot(ax=ax, color=fill, alpha=0.35, zorder=1)
        if len(split_admin):
            split_admin.plot(ax=ax, facecolor="none", edgecolor="#ff7f00", hatch="///", linewidth=1.8, zorder=9)
        audit.police.boundary.plot(ax=ax, color="#333333", linewidth=1.0, zorder=8)
        c.base.draw(ax, roads=False)
        for kind, colour in (("gap", _GAP), ("overlap", _OVERLAP)):
            part = defects[defects["kind"] == kind]
            if len(part):
                part.plot(ax=ax, color=colour, edgecolor=colour, linewidth=1.5, zorder=12)
        sl = defects[defects["kind"] == "sliver"]
        if len(sl):
            sl.boundary.plot(ax=ax, color="black", linewidth=1.2, zorder=12)
        c.base.stations(ax, labels=False)
        return [Patch(facecolor="none", edgecolor="#ff7f00", hatch="///", label=t("brief.l.split_admin")),
                Line2D([], [], color="#333333", label=t("brief.l.jurisdictions")),
                Line2D([], [], color="#555555", linestyle="--", label=t("brief.l.townships")),
                Patch(color=_GAP, label=t("brief.l.gap")), Patch(color=_OVERLAP, label=t("brief.l.overlap")),
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
        t("brief.c.main_share"): [_pct(float(r.main_share)) for r in sev.itertuples()],
        t("brief.c.minority_km2"): [_num(float(r.minority_area_m2) / 1e6, 2) for r in sev.itertuples()],
    })
    notes = [t("brief.n.audit", police=len(audit.police), admin=len(audit.admin), sp=len(sp), sa=len(sa),
               share=f"{audit.min_share:.0%}")]
    return BriefingSection("audit", t("brief.section.audit"), draw, shown, notes=notes)


def _section_coverage(c: _Context, at: str | None = None) -> BriefingSection:
    from geo.coverage import coverage_from_layers
    ws, t = c.ws, c.t
    G, engine = c.graph()
    fac = coverage_facilities(ws)
    cells = ws.layer("cells") if ws.has("cells") else None
    cov = coverage_from_layers(G, engine, fac, id_col="facility_id", bands=BANDS_MIN, cells=cells,
                               weight="incidents", at=at)
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
        row = {t("brief.c.band"): label, t("brief.c.cells"): _num(n), t("brief.c.cells_share"): _pct(sh["cells"])}
        for col in cols:
            row[t(f"brief.c.{col}")] = _num(float(r[col]))
            row[t(f"brief.c.{col}_share")] = _pct(sh[col])
        rows.append(row)
    c.facts["coverage"] = shares
    main = "population" if "population" in cols else "cells"
    for b in BANDS_MIN:
        k = f"{b:g}"
        c.key(f"coverage_{main}_{k}", f"brief.k.coverage_{main}", _pct(shares[k][main]), shares[k][main], m=k)
    beyond_cells = len(cov.cells_beyond) if cells is not None else len(cov.uncovered)
    c.facts["cells_beyond"] = beyond_cells
    c.key("cells_beyond", "brief.k.cells_beyond", f"{beyond_cells:,}", float(beyond_cells), m=f"{BANDS_MIN[-1]:g}")
    posts = ws.layer("posts") if ws.has("posts") else None

    def draw(axes):
        ax = axes[0]
        handles = []
        if cov.cells is not None:
            band = cov.cells["band"].to_numpy()
            colour = [_BAND_COLOURS.get(float(b), _BEYOND) if np.isfinite(b) else _BEYOND for b in band]
            cov.cells.plot(ax=ax, color=colour, edgecolor="none", alpha=0.8, zorder=1)
        c.base.draw(ax)
        if posts is not None:
            ax.scatter(posts.geometry.x, posts.geometry.y, s=22, c="#1f4e79", marker="s",
                       edgecolors="white", linewidths=0.6, zorder=14)
        c.base.stations(ax, labels=False)
        for b in BANDS_MIN:
            handles.append(Patch(color=_BAND_COLOURS.get(b, "#cccccc"), label=t("brief.band.within", m=f"{b:g}")))
        handles.append(Patch(color=_BEYOND, label=t("brief.band.beyond", m=f"{BANDS_MIN[-1]:g}")))
        handles += [Line2D([], [], marker="*", color="w", markerfacecolor="#777777", markeredgecolor="#111111",
                           markersize=10, label=t("brief.l.stations")),
                    Line2D([], [], marker="s", color="w", markerfacecolor="#1f4e79", markersize=6,
                           label=t("brief.l.posts"))]
        return handles

    notes = [t("brief.n.coverage", n=len(cov.facilities), m=f"{BANDS_MIN[-1]:g}")]
    if at is not None:  # posts by the hour: only those open at that time count
        notes.append(t("brief.n.coverage_at", at=at, n=len(cov.facilities), m=len(fac)))
    return BriefingSection("coverage", t("brief.section.coverage"), draw, pd.DataFrame(rows), notes=notes)


#: Ring outlines on the ring map: outer, inner, core (as on the coverage page).
_RING_COLOURS = {"outer": "#1f4e79", "inner": "#6a3d9a", "core": "#b15928"}


def _section_ring(c: _Context) -> BriefingSection:
    from geo.ring import ring_crossings
    from planning.seal import seal_from_network
    ws, t = c.ws, c.t
    G, engine = c.graph()
    cps = ws.layer("checkpoints")
    ring = ring_crossings(G, ws.layer("area"), checkpoints=cps)
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
    rings = None  # the layered rings (三圈三层): every ring, one note each
    try:
        from planning.rings import rings_report
        rings = rings_report(ws, G, engine, propose=True)
    except GridPatrolError as exc:
        notes.append(t("brief.n.rings_failed", reason=str(exc)))
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
            colour = _RING_COLOURS.get(r.spec.level, "#333333")
            gpd.GeoSeries([r.spec.polygon], crs=ws.crs).boundary.plot(ax=ax, color=colour, linewidth=1.3, zorder=9)
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
            ax.scatter(unc.geometry.x, unc.geometry.y, s=55, marker="X", c=_BEYOND, edgecolors="white",
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
                Line2D([], [], marker="X", color="w", markerfacecolor=_BEYOND, markersize=9,
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
            f"{r.crossing_id} ({road_class_label(r.road_class, c.lang) or '-'})" for r in uncovered_entries.head(10).itertuples())))
    return BriefingSection("ring", title, draw, shown, notes=notes)


def _section_patrol(c: _Context, *, shift: str, station: str | None, units: int, seed: int) -> BriefingSection:
    from geo.hotspots import cell_risk, shift_from_text
    from geo.network import snap_points
    from planning.patrol.dose_routes import dose_routes, place_hour_risk, place_names
    from ui.patrol_timetable import unit_timetables
    ws, t = c.ws, c.t
    G, engine = c.graph()
    cells = _cells_with_station(ws)
    if station is None:
        wl = c.facts.get("workload")
        wl = station_workload(ws) if wl is None else wl
        station = str(wl["incidents"].idxmax() if "incidents" in wl else wl.index[0])
    st_layer = ws.layer("stations")
    hit = st_layer[normalise_ids(st_layer["station_id"]) == id_str(station)]
    if not len(hit):
        raise InputError(f"--station was {station!r} but the stations are "
                         f"{sorted(st_layer['station_id'].astype(str), key=natural_key)}")
    sh = shift_from_text(shift)
    own = cells[cells["station_id"] == id_str(station)]
    incidents = ws.layer("incidents")
    risk = cell_risk(own, incidents, shift=sh, half_life_days=None)
    hot = risk[risk["risk"] > 0].sort_values("risk", ascending=False).head(MAX_HOTSPOTS)
    if not len(hot):
        raise InputError(f"station {station} has no incidents in the shift {sh}; choose another shift")
    name = c.base.names.get(str(station), str(station))
    node = hit["node_id"].iloc[0] if "node_id" in hit.columns else None
    start = id_str(node) if node is not None and id_str(node) in G else \
        snap_points(hit.iloc[[0]], G, what="station")["node"].iloc[0]
    edges = ws.layer("road_edges") if ws.has("road_edges") else None
    # Dose mode: every unit patrols the whole shift (planning.patrol.dose).
    routes = dose_routes(G, hot, place_hour_risk(hot, incidents, shift=sh), start, units=units,
                         shift=sh, id_col="cell_id", names=place_names(hot, edges),
                         station=str(station), station_name=name, rng=np.random.default_rng(seed),
                         time_limit_s=2.0, iterations=60, engine=engine, compare_with_best=False)
    summary = routes.summary()
    share = float(summary["dose_top_share"])
    c.facts.update(patrol_station=str(station), patrol_shift=str(sh), patrol_dose_top_share=share,
                   patrol_baseline_top_share=float(summary["baseline_top_share"]),
                   patrol_share_of_shift=[r["share_of_shift"] for r in summary["routes"]])
    c.key("patrol_dose_top_share", "brief.k.patrol_dose", _pct(share), share, station=name, shift=str(sh))
    jur = ws.layer("jurisdictions")
    own_j = jur[normalise_ids(jur["station_id"]) == id_str(station)]
    extent = own_j.total_bounds if len(own_j) else own.total_bounds

    def draw(axes):
        ax = axes[0]
        if len(own_j):
            own_j.plot(ax=ax, color=c.base.colours.get(str(station), "#999999"), alpha=0.15, zorder=1)
        vmax = float(hot["risk"].max())
        hot.plot(ax=ax, column="risk", cmap="OrRd", vmin=0, vmax=vmax, alpha=0.85, edgecolor="#7f2704",
                 linewidth=0.4, zorder=4)
        c.base.draw(ax, extent=extent)
        handles = []
        for i, line in enumerate(routes.lines.itertuples()):
            colour = _UNIT_COLOURS[i % len(_UNIT_COLOURS)]
            gpd.GeoSeries([line.geometry], crs=routes.lines.crs).plot(ax=ax, color=colour, linewidth=2.0,
                                                                      alpha=0.9, zorder=10 + i)
            handles.append(Line2D([], [], color=colour, linewidth=2.0,
                                  label=t("brief.l.unit", n=int(line.unit), m=f"{float(line.minutes):.0f}")))
        stops = routes.stops.drop_duplicates("hotspot").assign(
            order=routes.stops.groupby("hotspot")["order"].transform("size"))  # visits per place
        for r in stops.itertuples():
            ax.annotate(str(r.order), (r.geometry.x, r.geometry.y), fontsize=6.5, ha="center", va="center",
                        zorder=20, bbox=dict(boxstyle="circle,pad=0.15", facecolor="white", edgecolor="#333333",
                                             linewidth=0.5))
        c.base.stations(ax, only=[str(station)])
        handles.append(Patch(color="#fc8d59", label=t("brief.l.hotspots")))
        return handles

    rs = summary["routes"]
    shown = pd.DataFrame({t("brief.c.patrol_unit"): [str(r["unit"]) for r in rs],
                          t("brief.c.used"): [f"{r['minutes_used']:.0f}" for r in rs],
                          t("brief.c.share_of_shift"): [_pct(r["share_of_shift"]) for r in rs],
                          t("brief.c.patrol_min"): [f"{r['patrol_min']:.0f}" for r in rs],
                          t("brief.c.visits"): [str(len(r["visits"])) for r in rs],
                          t("brief.c.break"): [f"{routes.clock(r['break']['start_min'])}-"
                                               f"{routes.clock(r['break']['end_min'])}" if r["break"] else "—"
                                               for r in rs]})
    notes = [t("brief.n.patrol_dose", station=name, shift=str(sh), units=units, hot=len(hot),
               shares=" / ".join(_pct(r["share_of_shift"]) for r in rs), top=_pct(share),
               base=_pct(summary["baseline_top_share"]))]
    notes += list(routes.notes)
    extra = tuple((f"{t('tt.title')} — {t('tt.unit', n=u)}", frame)
                  for u, frame in unit_timetables(routes, lang=c.lang).items())
    return BriefingSection("patrol", t("brief.section.patrol") + f" — {name} {sh}", draw, shown, notes=notes,
                           extra_tables=extra)


def _section_plan(c: _Context, *, plan: str | None) -> BriefingSection:
    ws, t = c.ws, c.t
    plan_id, plan_name = _resolve_plan(ws, plan)
    cells = _cells_with_station(ws)
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
          f"{_pct(float(dev_b.abs().max()))} → {_pct(float(dev_a.abs().max()))}")

    def draw(axes):
        for ax, col in zip(axes, ("station_id", "after")):
            colour = [c.base.colours.get(str(s), "#cccccc") for s in cells[col]]
            cells.plot(ax=ax, color=colour, alpha=0.55, edgecolor="none", zorder=1)
            dissolved = cells.dissolve(by=col)
            dissolved.boundary.plot(ax=ax, color="#222222", linewidth=1.0, zorder=8)
            if col == "after" and changed.any():
                cells[changed].plot(ax=ax, facecolor="none", edgecolor="black", hatch="xxx",
                                    linewidth=0.3, zorder=9)
            c.base.draw(ax, roads=False, townships=False)
            c.base.stations(ax, labels=False)
        handles = [Patch(facecolor=c.base.colours[s], alpha=0.6, label=c.base.names.get(s, s))
                   for s in sorted(c.base.colours, key=natural_key)[:12]]
        handles.append(Patch(facecolor="none", edgecolor="black", hatch="xxx", label=t("brief.l.changed")))
        return handles

    names = c.base.names
    shown = pd.DataFrame({t("brief.c.station"): [names.get(i, i) for i in ids],
                          t("brief.c.incidents_before"): [_num(v) for v in before_w],
                          t("brief.c.incidents_after"): [_num(v) for v in after_w],
                          t("brief.c.dev_before"): [_signed_pct(v) for v in dev_b],
                          t("brief.c.dev_after"): [_signed_pct(v) for v in dev_a]})
    s = BriefingSection("plan", t("brief.section.plan") + f" — {plan_name}", draw, shown,
                        notes=[t("brief.n.plan", name=plan_name, n=int(changed.sum()))], panels=2,
                        panel_titles=(t("brief.before"), t("brief.after", name=plan_name)))
    return s


# --- building -----------------------------------------------------------------------------------

def _parse_sections(sections: str | Sequence[str] | None) -> list[str]:
    if sections is None:
        return list(SECTIONS)
    items = [s.strip() for s in (sections.split(",") if isinstance(sections, str) else sections)
             if str(s).strip()]
    bad = [s for s in items if s not in SECTIONS]
    if bad or not items:
        raise InputError(f"--sections was {','.join(items) or sections!r} but sections are "
                         f"expected among {list(SECTIONS)} (comma-separated)")
    return [s for s in SECTIONS if s in items]


def _patrol_available() -> str | None:
    try:
        import geo.hotspots  # noqa: F401
        import planning.patrol  # noqa: F401
    except ImportError as exc:  # the patrol module is optional until it lands
        return str(exc)
    return None


def briefing_steps(ws: Workspace, *, sections: str | Sequence[str] | None = None, lang: str = "zh",
                   plan: str | None = None, shift: str | None = None, station: str | None = None,
                   units: int = 2, seed: int = 0, date: str | None = None,
                   title: str | None = None, at: str | None = None) -> Generator[tuple[float, str], None, Briefing]:
    """Build a briefing step by step: yields ``(fraction done, label)``, returns the ``Briefing``.

    Parameters
    ----------
    ws : the workspace (projected working CRS in metres); it is not modified.
    sections : which topics, in any order (``SECTIONS``; a list or ``"a,b"``); all by default.
    lang : ``"zh"`` (default) or ``"en"``.
    plan : name or id of a saved plan for the before/after section (default: the latest).
    shift : ``HH:MM-HH:MM`` of the patrol section (default ``08:00-16:00``).
    station : station id of the patrol section (default: the station with most incidents).
    units : patrol units of that station; ``seed`` seeds their routes.
    date : the date printed (default: today, ISO); ``title`` overrides the title.
    at : time of day ``HH:MM`` of the coverage section: only the stations and posts open then
        (their opening hours, ``geo.hours``) count; default all.

    Bad arguments raise InputError before any work; a missing CJK font raises GridPatrolError.
    A section whose layers are missing is skipped with its reason (``Briefing.skipped``).
    """
    if lang not in LANGUAGES:
        raise InputError(f"--lang was {lang!r} but is expected to be one of {list(LANGUAGES)}")
    chosen = _parse_sections(sections)
    if shift is not None or "patrol" in chosen:
        if _patrol_available() is None:
            from geo.hotspots import shift_from_text
            shift_from_text(shift or DEFAULT_SHIFT)
        elif shift is not None and not re.fullmatch(r"\s*\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}\s*", shift):
            raise InputError(f"--shift was {shift!r} but is expected as HH:MM-HH:MM, e.g. 08:00-16:00")
    if not isinstance(units, (int, np.integer)) or units < 1:
        raise InputError(f"--units was {units!r}; give at least one patrol unit")
    if at is not None:
        from geo.hours import parse_time_of_day_text
        parse_time_of_day_text(at)
    if plan is not None:
        _resolve_plan(ws, plan)
    if station is not None and ws.has("stations") and \
            id_str(station) not in set(normalise_ids(ws.layer("stations")["station_id"])):
        raise InputError(f"--station was {station!r} but the stations are "
                         f"{sorted(ws.layer('stations')['station_id'].astype(str), key=natural_key)}")
    font = find_cjk_font()
    c = _Context(ws, lang)
    date = date or _dt.date.today().isoformat()
    title = title or text("brief.title", lang, name=ws.name)
    area_km2 = float(ws.layer("area").geometry.area.sum()) / 1e6 if ws.has("area") else None
    area = ws.name + (f" ({area_km2:,.1f} km²)" if area_km2 else "")
    c.facts.update(area_km2=area_km2, sections=list(chosen))

    needs = {"jurisdictions": ("cells",), "audit": ("jurisdictions", "townships"),
             "coverage": ("road_nodes", "road_edges"), "ring": ("area", "checkpoints", "road_nodes", "road_edges"),
             "patrol": ("stations", "cells", "incidents", "road_nodes", "road_edges"),
             "plan": ("cells",), "orders": ("cells", "stations"), "staffing": ("cells", "stations")}
    skipped: dict[str, str] = {}
    built: list[BriefingSection] = []
    total = len(chosen) * 2 + 1
    step = 0
    for key in chosen:
        yield step / total, text(f"brief.section.{key}", lang)
        step += 1
        reason = _need(ws, lang, *needs[key])
        if reason is None and key == "patrol" and _patrol_available() is not None:
            reason = text("brief.unavailable", lang)
        if reason is None and key in ("plan", "orders") and _resolve_plan(ws, plan) is None:
            reason = text("brief.no_plans", lang)
        if reason is None:
            try:
                with matplotlib.rc_context(_rc(font)):
                    if key == "jurisdictions":
                        s = _section_jurisdictions(c)
                    elif key == "audit":
                        s = _section_audit(c)
                    elif key == "coverage":
                        s = _section_coverage(c, at=at)
                    elif key == "ring":
                        s = _section_ring(c)
                    elif key == "patrol":
                        s = _section_patrol(c, shift=shift or DEFAULT_SHIFT, station=station, units=units,
                                            seed=seed)
                    elif key == "orders":
                        from ui.briefing_orders import section_orders
                        s = section_orders(c, plan_id=_resolve_plan(ws, plan)[0],
                                           plan_name=_resolve_plan(ws, plan)[1])
                    elif key == "staffing":
                        from ui.briefing_orders import section_staffing
                        s = section_staffing(c)
                    else:
                        s = _section_plan(c, plan=plan)
            except GridPatrolError as exc:
                if key in ("plan", "orders") and plan is not None:
                    raise
                reason = str(exc)
        if reason is not None:
            skipped[key] = reason
            step += 1
            continue
        yield step / total, text("brief.drawing", lang, section=s.title)
        step += 1
        s.png = _render_png(s, lang, font)
        built.append(s)
    yield (total - 1) / total, text("brief.finishing", lang)
    c.facts["skipped"] = dict(skipped)
    return Briefing(title=title, date=date, area=area, lang=lang, font=font, crs=ws.crs.to_string(),
                    sections=built, key_figures=c.keys, skipped=skipped, facts=c.facts)


def build_briefing(ws: Workspace, **options) -> Briefing:
    """``briefing_steps`` run to the end (same options); returns the ``Briefing``."""
    steps = briefing_steps(ws, **options)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value
