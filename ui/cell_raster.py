"""Thousands of analysis cells on a web map as one picture: an id raster coloured in the browser.

Drawing 10,000 cells as vector polygons sends ~1.8 MB of GeoJSON and makes Leaflet build
10,000 path objects (the overview map took 4-5 s to appear). Cells are instead rasterised once,
server side, in Web Mercator (the web map's own projection, so the picture lines up exactly) into
an *id raster*: pixel value = row number + 1 (0 = no cell), stored in the red, green and blue
bytes of a PNG (about 26 kB for 10,000 cells at ~10 pixels a cell). The browser decodes it into a canvas,
paints each pixel with its cell's class colour (so one raster serves every colouring), and reads
the id under the mouse to show that cell's attributes, which travel column-wise next to it.

``CellIds`` is the picklable raster (cached with a workspace's display layers); ``CellRaster``
is the folium layer (listed in the layer control like any overlay).
"""
from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.template import Template
from PIL import Image

from ui.offline import script_json

__all__ = ["CellIds", "cell_ids", "decode_ids", "CellRaster", "MAX_PIXELS"]

MAX_PIXELS = 2048     # the raster's longest side
PIXELS_PER_CELL = 10  # the typical cell's side in pixels (enough to show and pick it)
_MERCATOR = "EPSG:3857"
_R = 6378137.0  # the Web Mercator sphere's radius, metres


@dataclass(frozen=True)
class CellIds:
    """Cells rasterised in Web Mercator.

    Attributes
    ----------
    png : ``data:image/png;base64,…`` whose pixel (r, g, b) holds ``r*65536 + g*256 + b`` = the
        cell's row number + 1, or 0 outside every cell.
    width, height : size in pixels.
    mercator : (min x, min y, max x, max y) of the raster in EPSG:3857 metres.
    drawn : how many cells own at least one pixel (slivers smaller than a pixel own none).
    """

    png: str
    width: int
    height: int
    mercator: tuple[float, float, float, float]
    drawn: int

    @property
    def latlon_bounds(self) -> list[list[float]]:
        """[[south, west], [north, east]] in degrees (Leaflet's bounds of the picture)."""
        minx, miny, maxx, maxy = self.mercator
        lon = lambda x: math.degrees(x / _R)  # noqa: E731
        lat = lambda y: math.degrees(2.0 * math.atan(math.exp(y / _R)) - math.pi / 2.0)  # noqa: E731
        return [[lat(miny), lon(minx)], [lat(maxy), lon(maxx)]]


def cell_ids(cells: gpd.GeoSeries | gpd.GeoDataFrame, *, pixels_per_cell: float = PIXELS_PER_CELL,
             max_pixels: int = MAX_PIXELS) -> CellIds:
    """Rasterise ``cells`` (any CRS) into an id raster in which the median cell is about
    ``pixels_per_cell`` pixels across, the longer side at most ``max_pixels`` (fewer pixels: less
    work in the browser; when zoomed in further the browser shows the pixels sharp).

    A pixel belongs to the polygon covering its centre (holes excluded), so a cell narrower than
    a pixel may own none. Raises ValueError without a CRS or with more than 16,777,214 cells (the
    ids must fit in 24 bits)."""
    geoms = cells.geometry if isinstance(cells, gpd.GeoDataFrame) else cells
    if geoms.crs is None:
        raise ValueError("cells have no CRS; set the workspace CRS before drawing them")
    if len(geoms) >= 2 ** 24 - 1:
        raise ValueError(f"{len(geoms):,} cells is more than an id raster holds (16,777,214)")
    merc = geoms.to_crs(_MERCATOR).values
    ok = ~(shapely.is_missing(merc) | shapely.is_empty(merc))
    if not ok.any():
        raise ValueError("cells have no geometry to draw")
    minx, miny, maxx, maxy = shapely.total_bounds(merc[ok])
    span = max(maxx - minx, maxy - miny, 1e-9)
    side = float(np.median(np.sqrt(shapely.area(merc[ok])))) or span
    scale = min(max_pixels / span, pixels_per_cell / side)
    width, height = max(1, math.ceil((maxx - minx) * scale)), max(1, math.ceil((maxy - miny) * scale))
    # The picture covers exactly width x height pixels of `scale`.
    maxx, miny = minx + width / scale, maxy - height / scale
    ids = _scanline_fill(merc, ok, minx=minx, maxy=maxy, scale=scale, width=width, height=height)
    rgb = np.stack([(ids >> 16) & 255, (ids >> 8) & 255, ids & 255], axis=-1).astype(np.uint8)
    image = Image.fromarray(rgb, mode="RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=6)
    drawn = int((np.unique(ids) > 0).sum())
    return CellIds(png="data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii"),
                   width=width, height=height, mercator=(float(minx), float(miny), float(maxx), float(maxy)),
                   drawn=drawn)


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``starts[i], starts[i] + 1, …`` (``counts[i]`` values) for every i, concatenated."""
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(starts, counts) + offsets


def _scanline_fill(geoms: np.ndarray, ok: np.ndarray, *, minx: float, maxy: float, scale: float,
                   width: int, height: int) -> np.ndarray:
    """(height, width) uint32 array: row + 1 of the polygon covering each pixel's centre, else 0.

    One vectorised scanline pass over every ring edge of every polygon (holes are rings too, so
    the even-odd rule clears them): an edge crosses pixel row j when its y-span holds the row's
    centre (half-open, so a vertex is counted once); within a polygon's row the sorted
    crossings pair up into spans, and a span fills the pixels whose centres lie in [x_a, x_b)
    (so two cells sharing an edge never share a pixel)."""
    parts, part_owner = shapely.get_parts(np.asarray(geoms)[ok], return_index=True)
    polygon = shapely.get_type_id(parts) == 3  # polygons only: a stray line or point has no area
    parts, part_owner = parts[polygon], np.flatnonzero(ok)[part_owner[polygon]]
    rings, ring_of_part = shapely.get_rings(parts, return_index=True)
    owner_of_ring = part_owner[ring_of_part]
    ids = np.zeros((height, width), dtype=np.uint32)
    if not len(rings):
        return ids
    xy, ring_of_vertex = shapely.get_coordinates(rings, return_index=True)
    px, py = (xy[:, 0] - minx) * scale, (maxy - xy[:, 1]) * scale
    same = ring_of_vertex[:-1] == ring_of_vertex[1:]  # consecutive vertices of one ring: an edge
    x0, y0, x1, y1 = px[:-1][same], py[:-1][same], px[1:][same], py[1:][same]
    owner = owner_of_ring[ring_of_vertex[:-1][same]]
    lo, hi = np.minimum(y0, y1), np.maximum(y0, y1)
    first = np.ceil(lo - 0.5).astype(np.int64)   # rows whose centre j + 0.5 is in [lo, hi)
    last = np.ceil(hi - 0.5).astype(np.int64)
    first, last = np.clip(first, 0, height), np.clip(last, 0, height)
    count = np.maximum(last - first, 0)
    edge = np.repeat(np.arange(len(count)), count)
    row = _ranges(first, count)
    yc = row + 0.5
    t = (yc - y0[edge]) / (y1[edge] - y0[edge])
    xc = x0[edge] + t * (x1[edge] - x0[edge])
    who = owner[edge]
    order = np.lexsort((xc, row, who))
    who, row, xc = who[order], row[order], xc[order]
    # Consecutive crossings of one polygon on one row pair up (even-odd).
    start_x, end_x = xc[0::2], xc[1::2]
    span_row, span_who = row[0::2], who[0::2]
    i0 = np.clip(np.ceil(start_x - 0.5).astype(np.int64), 0, width)
    i1 = np.clip(np.ceil(end_x - 0.5).astype(np.int64), 0, width)
    length = np.maximum(i1 - i0, 0)
    if length.sum():
        k = np.repeat(np.arange(len(length)), length)
        col = _ranges(i0, length)
        ids[span_row[k], col] = (span_who[k] + 1).astype(np.uint32)
    return ids


def decode_ids(rgb: np.ndarray) -> np.ndarray:
    """Cell row + 1 (0: none) of each pixel of an (height, width, 3) uint8 array."""
    rgb = rgb.astype(np.int64)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def _columns(frame: pd.DataFrame) -> dict:
    """Attribute columns for the browser: ``k`` names, ``v`` one list per column, and for text
    columns with few distinct values ``d`` (column -> list of values) with ``v`` holding codes."""
    keys, values, dictionaries = [], [], {}
    for col in frame.columns:
        s = frame[col]
        keys.append(str(col))
        text = s.dtype == object or pd.api.types.is_string_dtype(s)
        if text and len(s) and s.nunique(dropna=False) <= max(16, len(s) // 8):
            codes, uniques = pd.factorize(s, use_na_sentinel=False)
            dictionaries[str(col)] = [None if pd.isna(u) else u for u in uniques]
            values.append(codes.tolist())
        else:
            values.append([None if v is None or (isinstance(v, float) and math.isnan(v)) else v
                           for v in s.tolist()])
    return {"k": keys, "v": values, "d": dictionaries}


class CellRaster(folium.map.Layer):
    """Cells drawn from an id raster: ``colours[row]`` (a ``#rrggbb`` or None: not filled) at
    ``opacity``, optionally each cell's outline in ``outline`` colour, and a tooltip with the
    row's ``attributes`` (a DataFrame aligned with the rasterised rows, shown as text) when the
    mouse is over a cell. The layer sits in its own pane under every vector overlay, so switching
    it off and on never covers roads or boundaries."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function (map) {
            performance.mark("gridpatrol-cells-start");
            var d = JSON.parse('{{ this.packed }}');
            if (!map.getPane("gridpatrolCells")) {
                map.createPane("gridpatrolCells").style.zIndex = 350;
            }
            var canvas = document.createElement("canvas");
            canvas.width = d.w; canvas.height = d.h;
            canvas.className = "gridpatrol-cells";
            var ids = null;
            var CanvasOverlay = L.ImageOverlay.extend({
                _initImage: function () {
                    var el = this._image = this._url;
                    L.DomUtil.addClass(el, "leaflet-image-layer");
                    if (this._zoomAnimated) { L.DomUtil.addClass(el, "leaflet-zoom-animated"); }
                    el.onselectstart = L.Util.falseFn;
                    el.onmousemove = L.Util.falseFn;
                }
            });
            var layer = new CanvasOverlay(canvas, d.bounds, {pane: "gridpatrolCells", interactive: false});
            var palette = d.palette.map(function (c) {
                return [parseInt(c.slice(1, 3), 16), parseInt(c.slice(3, 5), 16), parseInt(c.slice(5, 7), 16)];
            });
            var img = new Image();
            img.onload = function () {
                var ctx = canvas.getContext("2d", {willReadFrequently: true});
                ctx.drawImage(img, 0, 0);
                var px = ctx.getImageData(0, 0, d.w, d.h), n = d.w * d.h;
                var rgba = new Uint32Array(px.data.buffer);  // one pixel a word, bytes R G B A
                var little = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
                function word(c, alpha) {
                    return little ? ((alpha << 24) | (c[2] << 16) | (c[1] << 8) | c[0]) >>> 0
                                  : ((c[0] << 24) | (c[1] << 16) | (c[2] << 8) | alpha) >>> 0;
                }
                var fill = new Uint32Array(d.cls.length + 1);  // cell id -> RGBA word (0: clear)
                var fillA = Math.round(255 * d.opacity);
                for (var r = 0; r < d.cls.length; r++) {
                    fill[r + 1] = d.cls[r] >= 0 ? word(palette[d.cls[r]], fillA) : 0;
                }
                ids = new Uint32Array(n);
                for (var i = 0; i < n; i++) {
                    var v = rgba[i];
                    ids[i] = little ? (((v & 255) << 16) | (v & 0xff00) | ((v >>> 16) & 255))
                                    : (v >>> 8);
                }
                for (var i = 0; i < n; i++) { rgba[i] = fill[ids[i]]; }
                if (d.line) {  // outline: a cell's pixel with a neighbour (4-connected) of another cell
                    var edge = word(palette[palette.length - 1], Math.round(255 * d.lineOpacity));
                    for (var i = 0; i < n; i++) {
                        var id = ids[i];
                        if (id && ((i % d.w < d.w - 1 && ids[i + 1] !== id) || (i + d.w < n && ids[i + d.w] !== id) ||
                                   (i % d.w > 0 && ids[i - 1] !== id) || (i >= d.w && ids[i - d.w] !== id))) {
                            rgba[i] = edge;
                        }
                    }
                }
                ctx.putImageData(px, 0, 0);
                canvas.setAttribute("data-ready", "1");
                performance.mark("gridpatrol-cells-painted");
            };
            img.src = d.png;
            // Crisp cell edges when zoomed in past the picture's resolution, smooth when zoomed out.
            function sharpen() {
                if (!map.hasLayer(layer)) { return; }
                var shown = map.latLngToLayerPoint(d.bounds[1]).x - map.latLngToLayerPoint(d.bounds[0]).x;
                canvas.style.imageRendering = shown > d.w ? "pixelated" : "auto";
            }
            map.on("zoomend", sharpen);
            layer.on("add", sharpen);
            var tip = L.tooltip({direction: "top", offset: [0, -6], opacity: 0.95});
            function value(col, row) {
                var v = d.a.v[col][row], dict = d.a.d[d.a.k[col]];
                return dict ? dict[v] : v;
            }
            // The table is built from text nodes (textContent): attributes are never read as HTML.
            map.on("mousemove", function (e) {
                if (!ids || !map.hasLayer(layer)) { return; }
                var p = L.CRS.EPSG3857.project(e.latlng);
                var x = Math.floor((p.x - d.merc[0]) * d.scale), y = Math.floor((d.merc[3] - p.y) * d.scale);
                var id = (x >= 0 && y >= 0 && x < d.w && y < d.h) ? ids[y * d.w + x] : 0;
                if (!id || !d.a.k.length) { map.closeTooltip(tip); return; }
                var table = document.createElement("table");
                for (var c = 0; c < d.a.k.length; c++) {
                    var v = value(c, id - 1), row = table.insertRow(), th = document.createElement("th");
                    th.style.textAlign = "left"; th.style.paddingRight = "8px";
                    th.textContent = d.labels[c];
                    row.appendChild(th);
                    row.insertCell().textContent = v === null || v === undefined ? "" : String(v);
                }
                tip.setContent(table);
                map.openTooltip(tip, e.latlng);
            });
            map.on("mouseout", function () { map.closeTooltip(tip); });
            return layer;
        })({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, ids: CellIds, colours: list[str | None], *, opacity: float = 0.55,
                 outline: str | None = None, outline_opacity: float = 0.8,
                 attributes: pd.DataFrame | None = None, labels: list[str] | None = None,
                 name: str | None = None, show: bool = True):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "CellRaster"
        palette = sorted({c for c in colours if c})
        index = {c: k for k, c in enumerate(palette)}
        classes = [index[c] if c else -1 for c in colours]
        attributes = attributes if attributes is not None else pd.DataFrame(index=range(len(colours)))
        if len(attributes) != len(colours):
            raise ValueError(f"{len(attributes)} attribute rows for {len(colours)} cells")
        columns = _columns(attributes)
        minx, miny, maxx, maxy = ids.mercator
        self.bounds = ids.latlon_bounds
        self.packed = script_json({
            "png": ids.png, "w": ids.width, "h": ids.height, "merc": [minx, miny, maxx, maxy],
            "scale": ids.width / (maxx - minx), "bounds": self.bounds, "cls": classes,
            "palette": palette + ([outline] if outline else []), "line": bool(outline),
            "opacity": float(opacity), "lineOpacity": float(outline_opacity), "a": columns,
            "labels": [str(x) for x in (labels or columns["k"])]})

    def _get_self_bounds(self) -> list[list[float]]:
        return self.bounds
