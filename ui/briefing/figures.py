"""The briefing's static maps: a matplotlib Agg canvas that draws only when saved, the base
layers every map draws beneath its data (roads, rivers, townships, the area boundary), fast
polygon and line collections straight from shapely, the scale bar, the north arrow, the legend
beside the map, and the PNG a section's map is rendered to once (the HTML embeds it, the PDF
places the same image).

Maps are drawn in the workspace's projected CRS (metres), which makes the scale bar exact; the
north arrow points to grid north (within a fraction of a degree of true north over a county in a
Gauss-Kruger or UTM zone). ``matplotlib.figure.Figure`` only, never pyplot: nothing global.
"""
from __future__ import annotations

import io
from typing import Iterable, Sequence

import matplotlib
import numpy as np
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.colors import to_rgba_array
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.path import Path

from geo.ids import normalise_ids
from geo.workspace import Workspace
from ui.colors import workspace_station_colors
from ui.i18n import text

__all__ = ["MAP_DPI", "MapCanvas", "BaseLayers", "fill", "outline", "nice_scale_length", "rc",
           "map_figure", "render_png"]

MAP_DPI = 130
#: Height of a map panel in the PNG (inches); its width follows the mapped extent's shape.
PANEL_HEIGHT_IN = {1: 6.4, 2: 5.0}
LEGEND_WIDTH_IN = 2.0
_MARGIN_IN = 0.08
# Base-layer colours (kept with ui/basemap.py's drawn background in mind: grey roads, blue water).
ROAD_MINOR = "#c4c4c4"
ROAD_MAJOR = "#8c8c8c"
RIVER = "#a6cee3"
RIVER_EDGE = "#4a90d9"
LAND = "#f7f6f2"


#: The minor roads a briefing map draws: arterial and rural roads (ranks 3-4); streets are left out.
_MINOR_MAX_RANK = 4


class MapCanvas(FigureCanvasAgg):
    """An Agg canvas that draws only when the figure is saved. geopandas' ``plot`` asks for
    ``draw_idle`` after every layer, which on matplotlib's plain Agg canvas redraws the whole
    figure each time (the briefing's maps took several seconds that way)."""

    def draw_idle(self, *args, **kwargs) -> None:  # noqa: D102 (nothing to do until saved)
        return None


def rc(font: str) -> dict:
    """matplotlib settings of every briefing figure: the CJK ``font`` first, names drawn as
    typed (``text.parse_math`` off: "$x^2$" stays "$x^2$"), text kept as glyphs in the PDF."""
    return {"font.family": "sans-serif", "font.sans-serif": [font, "DejaVu Sans"],
            "axes.unicode_minus": False, "pdf.fonttype": 3, "svg.fonttype": "path",
            "text.parse_math": False}


# --- geometries to matplotlib collections ------------------------------------------------------

def _geoms(obj) -> np.ndarray:
    """A flat object array of shapely geometries from a GeoDataFrame, GeoSeries or sequence."""
    import geopandas as gpd
    if isinstance(obj, gpd.GeoDataFrame):
        obj = obj.geometry
    if isinstance(obj, gpd.GeoSeries):
        obj = obj.values
    return np.asarray(obj, dtype=object).reshape(-1)


def _flat_parts(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Single-part geometries and the index of the geometry each came from."""
    parts, idx = shapely.get_parts(geoms, return_index=True)
    while len(parts):
        multi = np.isin(shapely.get_type_id(parts), (4, 5, 6, 7))
        if not multi.any():
            break
        sub, sidx = shapely.get_parts(parts[multi], return_index=True)
        parts = np.concatenate([parts[~multi], sub])
        idx = np.concatenate([idx[~multi], idx[multi][sidx]])
    keep = ~shapely.is_empty(parts)
    return parts[keep], idx[keep]


def _polygon_parts(geoms: np.ndarray):
    """Vertices and path codes of every polygon part (exterior and holes as closed rings, the
    exterior counter-clockwise), each part's vertex range and the geometry it came from."""
    parts, idx = _flat_parts(geoms)
    poly = shapely.get_type_id(parts) == 3
    parts, idx = shapely.orient_polygons(parts[poly]), idx[poly]
    if not len(parts):
        return np.empty((0, 2)), np.empty(0, Path.code_type), np.empty(0, int), np.empty(0, int), idx
    rings, ridx = shapely.get_rings(parts, return_index=True)
    coords, cidx = shapely.get_coordinates(rings, return_index=True)
    start = np.searchsorted(cidx, np.arange(len(rings)))
    end = np.r_[start[1:], len(coords)]
    codes = np.full(len(coords), Path.LINETO, dtype=Path.code_type)
    codes[start] = Path.MOVETO
    codes[end - 1] = Path.CLOSEPOLY
    pstart = start[np.searchsorted(ridx, np.arange(len(parts)))]
    return coords, codes, pstart, np.r_[pstart[1:], len(coords)], idx


def _line_parts(geoms: np.ndarray):
    """Vertices and path codes of every line part (a polygon gives its rings), each part's
    vertex range and the geometry it came from."""
    parts, idx = _flat_parts(geoms)
    kind = shapely.get_type_id(parts)
    line = (kind == 1) | (kind == 2)
    poly = kind == 3
    rings, ridx = shapely.get_rings(parts[poly], return_index=True)
    parts = np.concatenate([parts[line], rings])
    idx = np.concatenate([idx[line], idx[poly][ridx]])
    if not len(parts):
        return np.empty((0, 2)), np.empty(0, Path.code_type), np.empty(0, int), np.empty(0, int), idx
    coords, cidx = shapely.get_coordinates(parts, return_index=True)
    start = np.searchsorted(cidx, np.arange(len(parts)))
    codes = np.full(len(coords), Path.LINETO, dtype=Path.code_type)
    codes[start] = Path.MOVETO
    return coords, codes, start, np.r_[start[1:], len(coords)], idx


def _grouped_paths(coords, codes, start, end, group: np.ndarray, groups: int) -> list[Path]:
    """One compound path per group of parts (parts of one colour are drawn as one path: a map of
    thousands of cells makes a handful of paths, not thousands)."""
    order = np.argsort(group, kind="stable")
    lengths = (end - start)[order]
    total = int(lengths.sum())
    offsets = np.r_[0, np.cumsum(lengths)[:-1]]
    gather = np.repeat(start[order] - offsets, lengths) + np.arange(total)
    bounds = np.r_[0, np.cumsum(np.bincount(group, weights=end - start, minlength=groups)).astype(int)]
    verts, kinds = coords[gather], codes[gather]
    return [Path(verts[a:b], kinds[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def _rgba(colour, n: int, idx: np.ndarray) -> np.ndarray:
    """RGBA per part: one colour for all, or one per source geometry spread over its parts."""
    if colour is None or (isinstance(colour, str) and colour.lower() == "none"):
        return np.zeros((len(idx), 4))  # transparent
    if isinstance(colour, str) or (np.ndim(colour) == 1 and len(colour) in (3, 4)
                                   and not isinstance(colour[0], str)):
        return np.repeat(to_rgba_array(colour), len(idx), axis=0)
    rgba = to_rgba_array(list(colour) if not isinstance(colour, np.ndarray) else colour)
    if len(rgba) != n:
        raise ValueError(f"{len(rgba)} colours for {n} geometries")
    return rgba[idx]


def fill(ax, geoms, colour, *, alpha: float | None = None, edgecolour="none", linewidth: float = 0.0,
         zorder: float = 1, hatch: str | None = None) -> None:
    """Fill polygons (a GeoSeries, GeoDataFrame or array of shapely geometries; lines and
    points in it are ignored) with ``colour``: one colour or one per geometry."""
    arr = _geoms(geoms)
    coords, codes, start, end, idx = _polygon_parts(arr)
    if not len(idx):
        return
    face, edge = _rgba(colour, len(arr), idx), _rgba(edgecolour, len(arr), idx)
    keys, group = np.unique(np.hstack([face, edge]), axis=0, return_inverse=True)
    group = group.reshape(-1)
    coll = PathCollection(_grouped_paths(coords, codes, start, end, group, len(keys)),
                          facecolors=keys[:, :4], edgecolors=keys[:, 4:], linewidths=linewidth,
                          zorder=zorder, hatch=hatch)
    if alpha is not None:
        coll.set_alpha(alpha)
    ax.add_collection(coll, autolim=True)


def outline(ax, geoms, colour, *, linewidth: float = 1.0, linestyle: str = "-",
            alpha: float | None = None, zorder: float = 8) -> None:
    """Draw lines, and the boundaries of polygons, in ``colour`` (one, or one per geometry)."""
    arr = _geoms(geoms)
    coords, codes, start, end, idx = _line_parts(arr)
    if not len(idx):
        return
    keys, group = np.unique(_rgba(colour, len(arr), idx), axis=0, return_inverse=True)
    ax.add_collection(_line_collection(_grouped_paths(coords, codes, start, end, group.reshape(-1), len(keys)),
                                       keys, linewidth=linewidth, linestyle=linestyle, alpha=alpha,
                                       zorder=zorder), autolim=True)


def _line_collection(paths: list[Path], colours, *, linewidth: float, linestyle: str = "-",
                     alpha: float | None = None, zorder: float) -> PathCollection:
    coll = PathCollection(paths, facecolors="none", edgecolors=colours, linewidths=linewidth,
                          linestyles=linestyle, zorder=zorder, capstyle="round", joinstyle="round")
    if alpha is not None:
        coll.set_alpha(alpha)
    return coll


# --- base layers ---------------------------------------------------------------------------------

def _one_path(geoms: np.ndarray) -> list[Path]:
    coords, codes, start, end, idx = _line_parts(geoms)
    return _grouped_paths(coords, codes, start, end, np.zeros(len(idx), int), 1) if len(idx) else []


class BaseLayers:
    """Layers shared by every map, prepared once per briefing: the area (a light land tint and
    its boundary), rivers, roads up to rank 4 (major: expressway, national, provincial; minor:
    the rest), township boundaries, stations with their colours and names."""

    def __init__(self, ws: Workspace):
        from geo.road_classes import TRUNK_MAX_RANK, road_class_rank
        from ui.briefing.queries import station_names
        self.ws = ws
        self.colours = workspace_station_colors(ws)
        self.names = station_names(ws)
        self.area = ws.layer("area") if ws.has("area") else None
        self.townships = ws.layer("townships") if ws.has("townships") else None
        self.rivers = ws.layer("rivers") if ws.has("rivers") else None
        self._river_areas = self.rivers is not None and bool(
            np.isin(shapely.get_type_id(_geoms(self.rivers)), (3, 6, 7)).any())
        self._major: list[Path] = []
        self._minor: list[Path] = []
        if ws.has("road_edges"):  # one compound path each for the major and the minor roads
            edges = ws.layer("road_edges")
            geoms = _geoms(edges)
            if "road_class" in edges.columns:
                rank = edges["road_class"].map(road_class_rank).to_numpy(dtype=float)
                self._major = _one_path(geoms[rank <= TRUNK_MAX_RANK])
                self._minor = _one_path(geoms[(rank > TRUNK_MAX_RANK) & (rank <= _MINOR_MAX_RANK)])
            else:
                self._minor = _one_path(geoms)

    @property
    def bounds(self) -> tuple[float, float, float, float] | None:
        """The area's bounds (metres), None without an area layer."""
        return None if self.area is None else tuple(float(v) for v in self.area.total_bounds)

    def draw(self, ax, *, townships: bool = True, extent: Sequence[float] | None = None) -> None:
        """Draw the base beneath the data (land tint 0, rivers 2, roads 3, townships 6, area
        boundary 7) and frame the map on ``extent`` (minx, miny, maxx, maxy), else the area."""
        if self.area is not None:
            fill(ax, self.area, LAND, zorder=0)
        if self.rivers is not None:
            if self._river_areas:
                fill(ax, self.rivers, RIVER, edgecolour=RIVER_EDGE, linewidth=0.6, zorder=2)
            else:
                outline(ax, self.rivers, RIVER_EDGE, linewidth=1.2, zorder=2)
        if self._minor:
            ax.add_collection(_line_collection(self._minor, ROAD_MINOR, linewidth=0.4, zorder=3))
        if self._major:
            ax.add_collection(_line_collection(self._major, ROAD_MAJOR, linewidth=1.1, zorder=3))
        if townships and self.townships is not None:
            outline(ax, self.townships, "#555555", linewidth=0.8, linestyle="--", zorder=6)
        if self.area is not None:
            outline(ax, self.area, "#111111", linewidth=1.8, zorder=7)
        box = extent if extent is not None else self.bounds
        if box is not None:
            minx, miny, maxx, maxy = box
            pad = max(maxx - minx, maxy - miny) * (0.04 if extent is not None else 0.03)
            ax.set_xlim(minx - pad, maxx + pad)
            ax.set_ylim(miny - pad, maxy + pad)
        else:
            ax.autoscale_view()

    def stations(self, ax, *, only: Iterable[str] | None = None, labels: bool = True) -> None:
        """Stations as stars in their colour, named when ``labels`` (up to 40)."""
        if not self.ws.has("stations"):
            return
        st = self.ws.layer("stations")
        ids = normalise_ids(st["station_id"])
        if only is not None:
            keep = ids.isin(set(only)).to_numpy()
            st, ids = st[keep], ids[keep]
        xs, ys = st.geometry.x.to_numpy(), st.geometry.y.to_numpy()
        ax.scatter(xs, ys, s=60, c=[self.colours.get(i, "#777777") for i in ids], marker="*",
                   edgecolors="#111111", linewidths=0.7, zorder=15)
        if labels and len(st) <= 40:
            for x, y, i in zip(xs, ys, ids):
                ax.annotate(self.names.get(i, i), (x, y), xytext=(5, 4), textcoords="offset points",
                            fontsize=7, zorder=16,
                            bbox=dict(boxstyle="round,pad=0.1", facecolor="white", edgecolor="none", alpha=0.7))


# --- map furniture -------------------------------------------------------------------------------

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


def _scale_bar(ax) -> None:
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


def _fit_limits(ax, box_aspect: float) -> None:
    """Widen the x or y range so that the data fills a panel of ``box_aspect`` (width/height)
    at equal scale."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    w, h = x1 - x0, y1 - y0
    if w <= 0 or h <= 0:
        return
    if w / h < box_aspect:
        extra = (h * box_aspect - w) / 2
        ax.set_xlim(x0 - extra, x1 + extra)
    else:
        extra = (w / box_aspect - h) / 2
        ax.set_ylim(y0 - extra, y1 + extra)


def map_figure(draw, *, panels: int, panel_titles: Sequence[str], lang: str, font: str) -> Figure:
    """A map figure drawn with ``draw(axes)`` (it returns legend handles); call inside
    ``matplotlib.rc_context(rc(font))``.

    Each panel is ``PANEL_HEIGHT_IN`` high and as wide as its extent's shape asks (between 0.6
    and 1.6 times the height); the legend stands beside the panels, outside the map, its labels
    wrapped to its width; every panel has a scale bar and a north arrow.
    """
    from ui.briefing.layout import Measure, wrap_text
    fig = Figure(figsize=(9.0, 7.0), dpi=MAP_DPI)
    MapCanvas(fig)
    axes = [fig.add_axes([0.0, 0.0, 1.0, 1.0]) for _ in range(panels)]
    handles = draw(axes) or []
    x0, x1 = axes[0].get_xlim()
    y0, y1 = axes[0].get_ylim()
    height = PANEL_HEIGHT_IN.get(panels, 5.0)
    aspect = (x1 - x0) / (y1 - y0) if y1 > y0 and x1 > x0 else 1.0
    width = float(np.clip(height * aspect, 0.6 * height, 1.6 * height))
    gap = 0.12
    title_h = 0.32 if panel_titles else 0.0
    legend_w, labels = 0.0, []
    if handles:  # as wide as its longest label needs (wrapped at LEGEND_WIDTH_IN)
        measure = Measure(font)
        room = LEGEND_WIDTH_IN * 72 - 44  # the handle, its gap and the frame's padding, points
        labels = ["\n".join(wrap_text(h.get_label(), room, 7, measure)) for h in handles]
        widest = max((measure.width(line, 7) for lab in labels for line in lab.split("\n")), default=0.0)
        widest = max(widest, measure.width(text("brief.legend", lang), 8, bold=True))
        legend_w = min(LEGEND_WIDTH_IN, (widest + 46) / 72)
    fig_w = 2 * _MARGIN_IN + panels * width + (panels - 1) * gap + (legend_w + 0.1 if handles else 0.0)
    fig_h = 2 * _MARGIN_IN + height + title_h
    fig.set_size_inches(fig_w, fig_h)
    for i, ax in enumerate(axes):
        ax.set_position([(_MARGIN_IN + i * (width + gap)) / fig_w, _MARGIN_IN / fig_h,
                         width / fig_w, height / fig_h])
        _fit_limits(ax, width / height)
        ax.set_aspect("equal", adjustable="box")
        ax.set_xticks([]), ax.set_yticks([])
        ax.set_xlabel(""), ax.set_ylabel("")
        for spine in ax.spines.values():
            spine.set_edgecolor("#999999")
        if i < len(panel_titles):
            ax.set_title(panel_titles[i], fontsize=10)
        _scale_bar(ax)
        _north_arrow(ax, lang)
    if handles:
        for h, label in zip(handles, labels):
            h.set_label(label)
        left = (_MARGIN_IN + panels * width + (panels - 1) * gap + 0.1) / fig_w
        fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(left, 1 - _MARGIN_IN / fig_h),
                   fontsize=7, framealpha=0.95, title=text("brief.legend", lang), title_fontsize=8,
                   alignment="left", borderaxespad=0.0)
    return fig


def render_png(draw, *, panels: int, panel_titles: Sequence[str], lang: str, font: str) -> bytes:
    """``map_figure`` rendered once to PNG (RGB, 130 dpi): what the HTML embeds and the PDF places."""
    with matplotlib.rc_context(rc(font)):
        fig = map_figure(draw, panels=panels, panel_titles=panel_titles, lang=lang, font=font)
        fig.canvas.draw()
        rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3]  # opaque: no alpha channel to store
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buf, format="png", compress_level=3)
    return buf.getvalue()
