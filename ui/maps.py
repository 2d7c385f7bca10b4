"""Folium maps of a workspace: layers prepared for display (EPSG:4326, simplified) and the overview map.

Pure functions, no Streamlit: a workspace goes in, a ``DisplayLayers`` (small, picklable, so that
the app can cache it) or a ``folium.Map`` comes out. Geometry is simplified in the workspace's
metric CRS and only then reprojected, so tolerances are metres; the workspace is not modified.
Incidents are never drawn one marker each: they become a heat layer of per-cell counts (or of
a bounded sample when the workspace has no cells).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from folium.template import Template as FoliumTemplate
from jinja2 import Template

from geo.ids import normalise_ids
from geo.markup import escape_html
from geo.stations import station_names
from geo.workspace import Workspace
from ui.cell_raster import CellIds, CellRaster, cell_ids
from ui.colors import natural_key, road_style, workspace_station_colors
from ui.i18n import STRINGS, road_class_label, text
from ui.offline import script_json

__all__ = ["DISPLAY_CRS", "DISPLAY_COLUMNS", "MAP_LAYERS", "COLOUR_BY",
           "MAX_HEAT_POINTS", "DisplayLayers", "display_layers", "layer_for_display", "feature_collection",
           "missing_layers", "overview_map", "class_breaks", "symbol_marker", "field_labels", "place_labels",
           "TextTooltip", "FieldsTooltip", "CONTEXT_PANE", "CONTEXT_CLASS", "MapContext", "map_context",
           "add_context", "legend_swatch", "add_legend", "add_layer_control", "fit_area", "fit_last"]

DISPLAY_CRS = "EPSG:4326"
MAX_HEAT_POINTS = 5000         # incident sample size when there are no cell counts
MAX_LABELLED_STATIONS = 80     # above this, stations get tooltips but no text labels
MAX_ROAD_EDGES = 25000         # minor roads are dropped beyond this many segments

# The properties sent to the browser, per layer (others stay on the server).
DISPLAY_COLUMNS: dict[str, tuple[str, ...]] = {
    "area": ("name",),
    "townships": ("township_id", "name", "population"),
    "jurisdictions": ("station_id", "name"),
    "cells": ("cell_id", "population", "incidents", "township_id", "station_id"),
    "road_edges": ("road_class", "name"),  # segments are joined per class and name
    "rivers": ("name", "kind"),
    "stations": ("station_id", "name", "officers", "auxiliaries"),
    "posts": ("post_id", "name", "kind", "turnout_min"),
    "checkpoints": ("checkpoint_id", "name", "ring"),
}
# Layers the overview map can show, in drawing order; the page names the missing ones.
MAP_LAYERS = ("cells", "townships", "jurisdictions", "rivers", "road_edges", "area", "incidents",
              "checkpoints", "posts", "stations")
COLOUR_BY = ("population", "incidents", None)

_RAMP = ("#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026")
_RING_COLOURS = {"outer": "#d62728", "inner": "#9467bd"}
_POST_COLOUR = "#1f4e79"


@dataclass(frozen=True)
class DisplayLayers:
    """A workspace's layers ready for a web map.

    Attributes
    ----------
    layers : layer name -> GeoDataFrame in EPSG:4326 with only ``DISPLAY_COLUMNS``.
    features : layer name -> the same layer as a GeoJSON FeatureCollection (dict), made once so
        that drawing a map does not convert thousands of features on every rerun.
    heat : incident heat points, columns ``lat``, ``lon``, ``weight`` (0..1).
    heat_kind : ``"cells"`` (per-cell counts), ``"sample"`` (a sample of points) or ``"none"``.
    heat_points : how many incident points the heat stands for (a sample's size, or all).
    station_colors : station id -> hex colour (``ui.colors.workspace_station_colors``).
    cell_ids : the cells rasterised for the browser (``ui.cell_raster``), rows as in
        ``layers["cells"]``; the cells have no entry in ``features`` (never sent as GeoJSON).
    bounds : (min lon, min lat, max lon, max lat) of everything shown, or None.
    """

    layers: dict[str, gpd.GeoDataFrame]
    features: dict[str, dict] = field(default_factory=dict)
    heat: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["lat", "lon", "weight"]))
    heat_kind: str = "none"
    heat_points: int = 0
    station_colors: dict[str, str] = field(default_factory=dict)
    cell_ids: CellIds | None = None
    bounds: tuple[float, float, float, float] | None = None


def _plain_columns(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Numbers as Python floats/ints (or None), everything else as text: JSON-safe properties."""
    out = frame.copy()
    for col in columns:
        s = out[col]
        if pd.api.types.is_bool_dtype(s):
            out[col] = s.astype(object).where(s.notna(), None)
        elif pd.api.types.is_integer_dtype(s):
            out[col] = pd.Series([None if pd.isna(v) else int(v) for v in s], index=s.index, dtype=object)
        elif pd.api.types.is_float_dtype(s):
            out[col] = pd.Series([None if pd.isna(v) else round(float(v), 2) for v in s],
                                 index=s.index, dtype=object)
        else:
            out[col] = s.astype(object).where(s.notna(), "").astype(str)
    return out


def layer_for_display(gdf: gpd.GeoDataFrame, columns: tuple[str, ...] | list[str], *,
                      tolerance_m: float = 15.0) -> gpd.GeoDataFrame:
    """A layer for a web map: only ``columns`` (JSON-safe), lines and polygons simplified by
    ``tolerance_m`` metres in the layer's projected CRS, then reprojected to EPSG:4326 and rounded
    to 1e-5 degrees (about 1 m). Empty geometries are dropped; the input is not modified."""
    keep = [c for c in columns if c in gdf.columns and c != gdf.geometry.name]
    out = gpd.GeoDataFrame(gdf[keep].copy(), geometry=gdf.geometry.values, crs=gdf.crs)
    out = out[~(out.geometry.isna() | out.geometry.is_empty)]
    is_points = bool(len(out)) and set(out.geometry.geom_type) <= {"Point", "MultiPoint"}
    if tolerance_m > 0 and not is_points and out.crs is not None and out.crs.is_projected:
        out = out.set_geometry(out.geometry.simplify(tolerance_m, preserve_topology=True))
    out = out.to_crs(DISPLAY_CRS)
    out = out.set_geometry(shapely.set_precision(out.geometry.values, 1e-5, mode="pointwise"))
    return gpd.GeoDataFrame(_plain_columns(out, keep), geometry="geometry", crs=DISPLAY_CRS)


def feature_collection(gdf: gpd.GeoDataFrame) -> dict:
    """A GeoJSON FeatureCollection of a display layer (JSON-safe properties, lon/lat geometry).

    Built with vectorised ``shapely.to_geojson`` rather than feature-by-feature conversion.
    """
    geoms = shapely.to_geojson(gdf.geometry.values)
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    records = gdf[columns].to_dict("records") if columns else [{} for _ in range(len(gdf))]
    parts = [f'{{"type":"Feature","properties":{json.dumps(r, ensure_ascii=False)},"geometry":{g}}}'
             for r, g in zip(records, geoms)]
    return json.loads('{"type":"FeatureCollection","features":[' + ",".join(parts) + "]}")


def _roads_for_display(edges: gpd.GeoDataFrame, *, max_edges: int) -> gpd.GeoDataFrame:
    """Streets for drawing: both directions of a two-way street once, major roads first, and the
    segments of one road (same class and name) joined into one feature (far less to send)."""
    out = edges
    if "u" in edges.columns and "v" in edges.columns:
        u, v = normalise_ids(edges["u"]), normalise_ids(edges["v"])
        pair = np.where(u <= v, u + "|" + v, v + "|" + u)
        out = edges.loc[~pd.Series(pair, index=edges.index).duplicated()]
    classes = out["road_class"] if "road_class" in out.columns else pd.Series("", index=out.index)
    if len(out) > max_edges:
        rank = classes.map(lambda c: road_style(c)[2])
        out = out.loc[rank.sort_values(kind="stable").index[:max_edges]]
    keys = [c for c in ("road_class", "name") if c in out.columns]
    if not keys or not len(out):
        return out
    rows, geoms = [], []
    for key, idx in out.groupby(keys, sort=False, dropna=False).indices.items():
        parts = shapely.get_parts(out.geometry.values[idx])
        parts = parts[shapely.get_type_id(parts) == 1]  # LineStrings only
        if len(parts):
            rows.append(key if isinstance(key, tuple) else (key,))
            geoms.append(shapely.line_merge(shapely.multilinestrings(parts)))
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=keys), geometry=geoms, crs=out.crs)


def roads_for_map(edges: gpd.GeoDataFrame, *, within: shapely.Geometry | None = None,
                  max_edges: int = 4000, tolerance_m: float = 10.0) -> dict:
    """Roads as GeoJSON for a context layer (EPSG:4326): the edges meeting ``within`` (same CRS
    as ``edges``), major roads first, simplified, each feature carrying ``_colour`` and
    ``_weight`` from its road class (``ui.colors.road_style``)."""
    out = edges
    if within is not None and len(out):
        out = out.iloc[out.sindex.query(within, predicate="intersects")]
    out = _roads_for_display(out, max_edges=max_edges)
    if not len(out):
        return {"type": "FeatureCollection", "features": []}
    classes = out["road_class"] if "road_class" in out.columns else pd.Series("", index=out.index)
    styles = classes.map(road_style)
    shown = gpd.GeoDataFrame({"_colour": [st[0] for st in styles], "_weight": [st[1] for st in styles]},
                             geometry=out.geometry.simplify(tolerance_m).values, crs=out.crs)
    return feature_collection(shown.to_crs("EPSG:4326"))


def _heat_from(ws: Workspace, *, max_points: int, rng_seed: int) -> tuple[pd.DataFrame, str, int]:
    empty = pd.DataFrame({"lat": [], "lon": [], "weight": []})
    if ws.has("cells") and "incidents" in ws.layer("cells").columns:
        cells = ws.layer("cells")
        counts = pd.to_numeric(cells["incidents"], errors="coerce").fillna(0.0)
        busy = cells.loc[counts > 0]
        if len(busy):
            points = gpd.GeoSeries(busy.geometry.representative_point(), crs=cells.crs).to_crs(DISPLAY_CRS)
            weight = counts.loc[busy.index].to_numpy(dtype=float)
            top = float(np.quantile(weight, 0.95)) or float(weight.max())
            return (pd.DataFrame({"lat": points.y.to_numpy(), "lon": points.x.to_numpy(),
                                  "weight": np.clip(weight / top, 0.05, 1.0)}),
                    "cells", int(counts.sum()))
    if ws.has("incidents"):
        incidents = ws.layer("incidents")
        if len(incidents) > max_points:
            incidents = incidents.sample(max_points, random_state=rng_seed)
        points = incidents.geometry.to_crs(DISPLAY_CRS)
        points = points[~(points.isna() | points.is_empty)]
        return (pd.DataFrame({"lat": points.y.to_numpy(), "lon": points.x.to_numpy(),
                              "weight": np.full(len(points), 0.5)}), "sample", int(len(points)))
    return empty, "none", 0


def display_layers(ws: Workspace, *, tolerance_m: float = 15.0, max_heat_points: int = MAX_HEAT_POINTS,
                   max_road_edges: int = MAX_ROAD_EDGES, rng_seed: int = 0) -> DisplayLayers:
    """Prepare a workspace's layers for a web map.

    Parameters
    ----------
    ws : the workspace (any projected working CRS); it is not modified.
    tolerance_m : simplification tolerance for lines and polygons, in metres (0: none).
    max_heat_points : incident sample size, used only when the cells carry no ``incidents``.
    max_road_edges : the most road segments sent; minor classes are dropped first.
    rng_seed : seed of the incident sample (the same workspace always gives the same map).
    """
    layers: dict[str, gpd.GeoDataFrame] = {}
    for name, columns in DISPLAY_COLUMNS.items():
        if not ws.has(name) or not isinstance(ws.layer(name), gpd.GeoDataFrame):
            continue
        gdf = ws.layer(name)
        if name == "road_edges":
            gdf = _roads_for_display(gdf, max_edges=max_road_edges)
        tol = 0.0 if name == "cells" else tolerance_m
        layers[name] = layer_for_display(gdf, columns, tolerance_m=tol)
    heat, kind, n = _heat_from(ws, max_points=max_heat_points, rng_seed=rng_seed)
    # Frame the study area; roads and rivers run on beyond it.
    shown = ([layers["area"]] if "area" in layers and len(layers["area"])
             else [g for g in layers.values() if len(g)])
    bounds = None
    if shown:
        boxes = np.array([g.total_bounds for g in shown])
        bounds = (float(boxes[:, 0].min()), float(boxes[:, 1].min()),
                  float(boxes[:, 2].max()), float(boxes[:, 3].max()))
    features = {name: feature_collection(gdf) for name, gdf in layers.items() if name != "cells"}
    ids = cell_ids(layers["cells"]) if "cells" in layers and len(layers["cells"]) else None
    return DisplayLayers(layers=layers, features=features, heat=heat, heat_kind=kind, heat_points=n,
                         station_colors=workspace_station_colors(ws), cell_ids=ids, bounds=bounds)


def missing_layers(display: DisplayLayers) -> list[str]:
    """The map layers the workspace lacks (rivers are optional and never reported)."""
    have = set(display.layers) | ({"incidents"} if display.heat_kind != "none" else set())
    return [name for name in MAP_LAYERS if name not in have and name not in ("rivers", "area")]


def class_breaks(values: pd.Series, *, classes: int = 6) -> np.ndarray:
    """Quantile class breaks (increasing, unique) of the non-null values; empty when all are equal."""
    vals = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)
    if len(vals) == 0 or vals.min() == vals.max():
        return np.array([])
    return np.unique(np.quantile(vals, np.linspace(0.0, 1.0, classes + 1)))


def _ramp(n: int) -> list[str]:
    idx = np.linspace(0, len(_RAMP) - 1, n).round().astype(int)
    return [_RAMP[i] for i in idx]


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 10 else f"{v:,.1f}"


class _Legend(MacroElement):
    """A Leaflet control in the map's bottom-left corner holding ready-made HTML (``add_legend``).

    A legend that would take more than 40 % of the map's width or 55 % of its height starts folded
    (its <details> closed: only the title shows); ``fit_area`` then keeps the area clear of it."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: "bottomleft"});
        {{ this.get_name() }}.onAdd = function (map) {
            var div = L.DomUtil.create("div", "gridpatrol-legend");
            div.innerHTML = {{ this.content|tojson }};
            L.DomEvent.disableScrollPropagation(div);
            L.DomEvent.disableClickPropagation(div);
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        (function (div, map) {
            var box = map.getContainer(), folds = div.querySelector("details");
            if (folds && (div.offsetWidth > 0.4 * box.clientWidth || div.offsetHeight > 0.55 * box.clientHeight)) {
                folds.open = false;
            }
        })({{ this.get_name() }}.getContainer(), {{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, content: str):
        super().__init__()
        self._name = "Legend"
        self.content = content


class TextTooltip(folium.Tooltip):
    """A tooltip showing ``text`` as text, never as markup: every tooltip of a marker or line.

    ``folium.Tooltip`` writes its text raw into a JavaScript template literal that Leaflet then
    reads as HTML, so a name could run script (``<img onerror=…>``, ``${…}``). Here the text is
    HTML-escaped and travels as a JSON string literal; it looks the same. ``ui.offline.
    self_contained`` refuses maps holding folium's own tooltips and popups."""

    text_only = True  # what self_contained checks
    _template = FoliumTemplate("""
        {% macro script(this, kwargs) %}
            {{ this._parent.get_name() }}.bindTooltip({{ this.html|tojson }},
                {{ this.options|tojavascript }});
        {% endmacro %}
    """)

    def __init__(self, text: object, *, sticky: bool = True):
        super().__init__("" if text is None else str(text), sticky=sticky)
        self.html = f"<div>{escape_html(self.text)}</div>"


class FieldsTooltip(folium.GeoJsonTooltip):
    """``folium.GeoJsonTooltip`` (a table of ``fields`` of the feature, labelled with ``aliases``)
    that builds its table with ``textContent``: property values and labels are shown as text.
    folium's own joins them into an HTML string (a name could run script). Same look."""

    text_only = True  # what self_contained checks
    _template = FoliumTemplate("""
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.bindTooltip(function (layer) {
            var div = L.DomUtil.create("div"), table = L.DomUtil.create("table", "", div);
            var fields = {{ this.fields|tojson }}, aliases = {{ this.aliases|tojson }};
            for (var i = 0; i < fields.length; i++) {
                var v = layer.feature.properties[fields[i]], row = L.DomUtil.create("tr", "", table);
                {% if this.labels %}L.DomUtil.create("th", "", row).textContent = aliases[i];{% endif %}
                L.DomUtil.create("td", "", row).textContent =
                    v === null || v === undefined ? "" : (typeof v === "object" ? JSON.stringify(v) : String(v));
            }
            return div;
        }, {{ this.tooltip_options|tojavascript }});
        {% endmacro %}
    """)

    def __init__(self, fields: list[str] | tuple[str, ...], *, aliases: list[str] | None = None,
                 labels: bool = True, sticky: bool = True):
        super().__init__(fields=list(fields), aliases=None if aliases is None else list(aliases),
                         labels=labels, sticky=sticky)


class _GeoJsonLayer(folium.GeoJson):
    """``folium.GeoJson`` made for large layers: the data embedded once as compact JSON, styled in
    the browser from a fixed ``base`` style plus per-feature values read from properties
    (``from_props``: style key -> property name, computed server-side), points drawn as circle
    markers of ``radius`` pixels. No per-feature Python style callbacks and no generated style
    switch (folium's ``style_function`` writes one ``case`` per feature).

    The features travel column-wise (property names once, then one row of values and one
    geometry per feature) inside one ``JSON.parse`` string, which browsers read faster than an
    object literal, and are rebuilt into GeoJSON features in the browser."""

    _template = FoliumTemplate("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJson(null, {
            style: function (f) {
                var s = {{ this.base|tojson }};
                {%- for key, prop in this.from_props.items() %}
                s[{{ key|tojson }}] = f.properties[{{ prop|tojson }}];
                {%- endfor %}
                return s;
            },
            {%- if this.radius %}
            pointToLayer: function (f, latlng) {
                return new L.CircleMarker(latlng, {radius: {{ this.radius|tojson }}, fill: true});
            },
            {%- endif %}
            ...{{ this.options|tojavascript }}
        });
        (function (layer, d) {
            var features = new Array(d.g.length);
            for (var i = 0; i < d.g.length; i++) {
                var p = {}, row = d.p[i];
                for (var j = 0; j < d.k.length; j++) { p[d.k[j]] = row[j]; }
                features[i] = {type: "Feature", properties: p, geometry: d.g[i]};
            }
            layer.addData({type: "FeatureCollection", features: features});
        })({{ this.get_name() }}, JSON.parse('{{ this.packed }}'));
        {% endmacro %}
    """)

    def __init__(self, data: dict, *, name: str | None = None, show: bool = True, base: dict,
                 from_props: dict[str, str] | None = None, radius: float | None = None,
                 tooltip: FieldsTooltip | None = None):
        super().__init__(data, name=name, show=show, tooltip=tooltip)
        self._name = "GeoJson"
        self.base = base
        self.from_props = from_props or {}
        self.radius = radius
        self.packed = _packed(data)


def _packed(collection: dict) -> str:
    """A FeatureCollection as column-wise compact JSON (``k`` property names, ``p`` rows of
    values, ``g`` geometries), ready for ``JSON.parse('…')`` in a <script> (``script_json``)."""
    features = collection.get("features", [])
    keys = list(features[0]["properties"]) if features else []
    return script_json({"k": keys, "p": [[f["properties"].get(k) for k in keys] for f in features],
                        "g": [f["geometry"] for f in features]})


def symbol_marker(lat: float, lon: float, *, colour: str, symbol: str = "★",
                  tooltip: str | None = None) -> folium.Marker:
    """A marker drawn as a coloured disc with a white symbol (★, ⚑, …), made of HTML only.

    folium's ``Icon`` needs the awesome-markers and Font Awesome scripts, which GridPatrol does not
    embed (maps must draw offline): ``ui.offline.self_contained`` refuses maps that use it.
    ``symbol`` and ``tooltip`` are shown as text."""
    icon = folium.DivIcon(icon_size=(22, 22), icon_anchor=(11, 11), html=(
        f'<div style="background:{colour};color:#fff;border:1.5px solid #fff;border-radius:50%;'
        f'width:22px;height:22px;text-align:center;font:bold 13px/22px sans-serif;'
        f'box-shadow:0 0 2px rgba(0,0,0,0.6)">{escape_html(symbol)}</div>'))
    return folium.Marker([lat, lon], icon=icon, tooltip=None if tooltip is None else TextTooltip(tooltip))


_LABEL_BOX = 160  # px: the width of a station label's box
# Where a label goes around its station dot: the box's anchor pixel and the text's alignment.
_LABEL_ANCHORS = {"right": ((-9, 9), "left"), "left": ((_LABEL_BOX + 9, 9), "right"),
                  "above": ((_LABEL_BOX // 2, 27), "center"), "below": ((_LABEL_BOX // 2, -9), "center")}


def _label_width(label: str) -> float:
    """Pixels of a 12 px bold label: CJK characters are square, others about 7 px."""
    return sum(12.5 if ord(ch) > 0x2E80 else 7.2 for ch in label) + 4


def place_labels(lonlat: list[tuple[float, float]], labels: list[str],
                 bounds: tuple[float, float, float, float] | None, *, width_px: int = 1000,
                 height_px: int = 620) -> list[str]:
    """A side ("right", "left", "above", "below") for each point's label so that labels do not
    cover each other or the other points at the zoom that fits ``bounds`` (lon/lat) into a map of
    ``width_px`` x ``height_px``: greedily, in order, the first side free of overlap, else the
    side that overlaps least. Zoomed further in, labels only move apart."""
    if not lonlat:
        return []
    w, s, e, n = bounds if bounds else (*np.min(lonlat, axis=0), *np.max(lonlat, axis=0))

    def world(lon: float, lat: float) -> tuple[float, float]:  # Web Mercator pixels at zoom 0
        lat = max(min(lat, 85.0), -85.0)
        y = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
        return (lon + 180.0) / 360.0 * 256.0, (1.0 - y / math.pi) / 2.0 * 256.0

    (x0, y0), (x1, y1) = world(w, n), world(e, s)
    span = max((x1 - x0) / width_px, (y1 - y0) / height_px, 1e-12)
    zoom = max(0, min(18, math.floor(math.log2(1.0 / span))))
    k = 2.0 ** zoom
    pts = [tuple(c * k for c in world(lon, lat)) for lon, lat in lonlat]
    dots = [(x - 7, y - 7, x + 7, y + 7) for x, y in pts]

    def box(i: int, side: str) -> tuple[float, float, float, float]:
        (x, y), wl = pts[i], _label_width(labels[i])
        return {"right": (x + 9, y - 9, x + 9 + wl, y + 9), "left": (x - 9 - wl, y - 9, x - 9, y + 9),
                "above": (x - wl / 2, y - 27, x + wl / 2, y - 9),
                "below": (x - wl / 2, y + 9, x + wl / 2, y + 27)}[side]

    def overlap(a, b) -> float:
        return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))

    placed: list[tuple[float, float, float, float]] = []
    sides = []
    for i in range(len(pts)):
        others = [d for j, d in enumerate(dots) if j != i]
        cost = {side: sum(overlap(box(i, side), o) for o in placed + others) for side in _LABEL_ANCHORS}
        side = next((sd for sd in _LABEL_ANCHORS if cost[sd] == 0), min(cost, key=cost.get))
        sides.append(side)
        placed.append(box(i, side))
    return sides


def _swatch(colour: str, label: str, *, shape: str = "box") -> str:
    radius = "50%" if shape == "dot" else "2px"
    size = "width:16px;height:4px;margin:0 3px 0 0;" if shape == "line" else "width:12px;height:12px;margin-right:5px;"
    border = "" if shape == "line" else "border:1px solid #555;"
    return (f'<div style="white-space:nowrap"><span style="display:inline-block;{size}'
            f'vertical-align:middle;background:{escape_html(colour)};border-radius:{radius};'
            f'{border}"></span>{escape_html(label)}</div>')


def _in_columns(items: list[str]) -> str:
    """Legend entries in two columns when there are more than four (a shorter legend)."""
    if len(items) <= 4:
        return "".join(items)
    return '<div style="columns:2;column-gap:12px">' + "".join(items) + "</div>"


def _station_names(display: DisplayLayers) -> dict[str, str]:
    """{station id: name} of the displayed jurisdictions and stations (``geo.stations``)."""
    return station_names(display.layers.get("jurisdictions"), display.layers.get("stations"))


def _collection(display: DisplayLayers, layer: str, **extra: list) -> dict:
    """A fresh copy of a layer's FeatureCollection with ``extra`` properties (one value per row)."""
    base = display.features.get(layer) or feature_collection(display.layers[layer])
    features = []
    for i, f in enumerate(base["features"]):
        props = dict(f["properties"])
        props.update({k: v[i] for k, v in extra.items()})
        features.append({"type": "Feature", "properties": props, "geometry": f["geometry"]})
    return {"type": "FeatureCollection", "features": features}


def _tooltip(gdf: gpd.GeoDataFrame, exclude: tuple[str, ...] = ()) -> FieldsTooltip | None:
    fields = [c for c in gdf.columns if c != gdf.geometry.name and not c.startswith("_") and c not in exclude]
    return FieldsTooltip(fields) if fields else None


def _cell_tooltip(display: DisplayLayers, cells: gpd.GeoDataFrame, lang: str) -> tuple[pd.DataFrame, list[str]]:
    """The cells' tooltip: their attributes with townships and stations named ("西城街道 (T04)"),
    and the column labels in ``lang``."""
    out = pd.DataFrame(cells.drop(columns=cells.geometry.name))
    named = {"station_id": _station_names(display)}
    towns = display.layers.get("townships")
    if towns is not None and "name" in towns.columns:
        named["township_id"] = {str(i): str(n) for i, n in zip(towns["township_id"], towns["name"]) if n}
    for col, names in named.items():
        if col in out.columns and names:
            out[col] = [f"{names[str(v)]} ({v})" if str(v) in names else v for v in out[col]]
    return out, field_labels(out.columns, lang)


def field_labels(columns, lang: str) -> list[str]:
    """Display names of attribute columns in ``lang`` (``field.<column>`` strings; the column's
    own name where none is written)."""
    return [text(f"field.{c}", lang) if f"field.{c}" in STRINGS else str(c) for c in columns]


def overview_map(display: DisplayLayers, *, lang: str = "zh",
                 colour_by: str | None = "population") -> folium.Map:
    """The overview map: every layer a toggleable overlay, stations in their colours, a legend.

    Parameters
    ----------
    display : layers from ``display_layers``.
    lang : ``"zh"`` or ``"en"`` for layer names and the legend.
    colour_by : cell column for the choropleth (``"population"``, ``"incidents"``) or None.

    The map carries no tiles: ``ui.basemap.app_basemap_on`` adds the app's basemap setting.
    """
    if colour_by not in COLOUR_BY:
        raise ValueError(f"colour_by was {colour_by!r} but is expected to be in {list(COLOUR_BY)}")
    m = folium.Map(tiles=None, control_scale=True, prefer_canvas=True, zoom_start=10,
                   location=[34.3, 113.9])
    L = display.layers
    colours = display.station_colors
    legend: list[str] = []

    def name(layer: str) -> str:
        return text(f"layer.{layer}", lang)

    if "cells" in L and len(L["cells"]) and display.cell_ids is not None:
        cells = L["cells"]
        breaks = class_breaks(cells[colour_by]) if colour_by and colour_by in cells.columns else np.array([])
        if len(breaks) >= 2:
            ramp = _ramp(len(breaks) - 1)
            vals = pd.to_numeric(cells[colour_by], errors="coerce").to_numpy(dtype=float)
            k = np.clip(np.searchsorted(breaks, vals, side="right") - 1, 0, len(ramp) - 1)
            fill = [ramp[i] if np.isfinite(v) else None for i, v in zip(k, vals)]
            legend.append(f"<b>{escape_html(text(f'map.cells_{colour_by}', lang))}</b>")
            legend += [_swatch(c, f"{_fmt(lo)} – {_fmt(hi)}")
                       for c, lo, hi in zip(ramp, breaks[:-1], breaks[1:])]
            outline = None
        else:
            fill, outline = [None] * len(cells), "#999999"
        # Thousands of cells: one id raster coloured in the browser, not thousands of polygons.
        attributes, labels = _cell_tooltip(display, cells, lang)
        CellRaster(display.cell_ids, fill, opacity=0.55, outline=outline, attributes=attributes,
                   labels=labels, name=name("cells"), show=bool(colour_by)).add_to(m)

    if "townships" in L and len(L["townships"]):
        _GeoJsonLayer(_collection(display, "townships"), name=name("townships"),
                      base={"color": "#555555", "weight": 1.5, "dashArray": "6 4", "fillOpacity": 0.0},
                      tooltip=_tooltip(L["townships"])).add_to(m)

    if "jurisdictions" in L and len(L["jurisdictions"]):
        tint = 0.08 if colour_by else 0.3  # a light tint over a choropleth, a clear one without
        jur = L["jurisdictions"]
        jur_colours = [colours.get(str(sid), "#777777") for sid in jur["station_id"]]
        _GeoJsonLayer(_collection(display, "jurisdictions", _colour=jur_colours), name=name("jurisdictions"),
                      base={"weight": 2.5, "fillOpacity": tint},
                      from_props={"color": "_colour", "fillColor": "_colour"},
                      tooltip=_tooltip(jur)).add_to(m)

    if "rivers" in L and len(L["rivers"]):
        _GeoJsonLayer(_collection(display, "rivers"), name=name("rivers"),
                      base={"color": "#4a90d9", "weight": 2.0, "fillColor": "#a6cee3",
                            "fillOpacity": 0.6}).add_to(m)

    if "road_edges" in L and len(L["road_edges"]):
        roads = L["road_edges"]
        classes = roads["road_class"] if "road_class" in roads.columns else pd.Series("", index=roads.index)
        styles = classes.map(road_style)
        labels = {c: road_class_label(c, lang) for c in classes.unique()}  # zh/en names of the classes
        tip_fields = [f for f in ("_class", "name") if f == "_class" or f in roads.columns]
        tip = FieldsTooltip(tip_fields, aliases=[
            text("map.road_class" if f == "_class" else "map.road_name", lang) for f in tip_fields])
        _GeoJsonLayer(_collection(display, "road_edges", _colour=[s[0] for s in styles],
                                  _weight=[s[1] for s in styles], _class=[labels[c] for c in classes]),
                      name=name("road_edges"), base={"opacity": 0.85, "className": "gp-context"},  # context
                      from_props={"color": "_colour", "weight": "_weight"}, tooltip=tip).add_to(m)
        seen = sorted({str(c) for c in classes.unique()}, key=lambda c: (road_style(c)[2], c))[:8]
        if seen and seen != [""]:
            legend.append(f"<b>{escape_html(name('road_edges'))}</b>")
            legend.append(_in_columns([_swatch(road_style(c)[0], road_class_label(c, lang)) for c in seen]))

    if "area" in L and len(L["area"]):
        _GeoJsonLayer(_collection(display, "area"), name=name("area"),
                      base={"color": "#111111", "weight": 3.0, "fillOpacity": 0.0, "className": "gp-context"}).add_to(m)

    if display.heat_kind != "none" and len(display.heat):
        label = (text("map.heat", lang) if display.heat_kind == "cells"
                 else text("map.heat_sample", lang, n=display.heat_points))
        # Per-cell heat saturates at county zoom (a fixed pixel radius spans many cells), so it
        # starts hidden when cells exist; the cells' incident choropleth is the main view then.
        group = folium.FeatureGroup(name=f"{name('incidents')}: {label}",
                                    show=display.heat_kind != "cells")
        folium.plugins.HeatMap(display.heat[["lat", "lon", "weight"]].to_numpy().round(5).tolist(),
                               radius=18, blur=14, min_opacity=0.25, max=1.0).add_to(group)
        group.add_to(m)

    if "checkpoints" in L and len(L["checkpoints"]):
        cps = L["checkpoints"]
        rings = cps["ring"] if "ring" in cps.columns else pd.Series("", index=cps.index)
        ring_colours = [_RING_COLOURS.get(str(r).lower(), "#444444") for r in rings]
        _GeoJsonLayer(_collection(display, "checkpoints", _colour=ring_colours), name=name("checkpoints"),
                      radius=6, base={"color": "#000000", "weight": 1.0, "fillOpacity": 0.95},
                      from_props={"fillColor": "_colour"}, tooltip=_tooltip(cps)).add_to(m)
        legend.append(f"<b>{escape_html(name('checkpoints'))}</b>")
        present = {str(r).lower() for r in rings}
        legend += [_swatch(_RING_COLOURS[r], text(f"map.ring.{r}", lang), shape="dot")
                   for r in ("outer", "inner") if r in present]
        if present - set(_RING_COLOURS):
            legend.append(_swatch("#444444", name("checkpoints"), shape="dot"))

    if "posts" in L and len(L["posts"]):
        _GeoJsonLayer(_collection(display, "posts"), name=name("posts"), radius=4,
                      base={"color": "#ffffff", "weight": 1.0, "fillColor": _POST_COLOUR, "fillOpacity": 1.0},
                      tooltip=_tooltip(L["posts"])).add_to(m)
        legend.append(_swatch(_POST_COLOUR, name("posts"), shape="dot"))

    names = _station_names(display)
    if "stations" in L and len(L["stations"]):
        stations = L["stations"]
        group = folium.FeatureGroup(name=name("stations"))
        labelled = len(stations) <= MAX_LABELLED_STATIONS
        if labelled:
            texts = [str(v) for v in stations.get("name", stations["station_id"])]
            sides = place_labels([(p.x, p.y) for p in stations.geometry], texts, display.bounds)
            for sid, label, point, side in zip(stations["station_id"], texts, stations.geometry, sides):
                colour = colours.get(str(sid), "#777777")
                tip = f"{label} ({sid})" if label != str(sid) else str(sid)
                folium.CircleMarker([point.y, point.x], radius=7, color="#222222", weight=1.5,
                                    fill=True, fill_color=colour, fill_opacity=1.0,
                                    tooltip=TextTooltip(tip)).add_to(group)
                anchor, align = _LABEL_ANCHORS[side]
                folium.Marker([point.y, point.x], icon=folium.DivIcon(
                    icon_size=(_LABEL_BOX, 18), icon_anchor=anchor,
                    html=(f'<div style="font-size:12px;font-weight:600;white-space:nowrap;color:#111;'
                          f'text-align:{align};text-shadow:0 0 3px #fff,0 0 3px #fff,0 0 3px #fff">'
                          f'{escape_html(label)}</div>'))).add_to(group)
        else:
            fills = [colours.get(str(s), "#777777") for s in stations["station_id"]]
            _GeoJsonLayer(_collection(display, "stations", _colour=fills), radius=6,
                          base={"color": "#222222", "weight": 1.0, "fillOpacity": 1.0},
                          from_props={"fillColor": "_colour"}, tooltip=_tooltip(stations)).add_to(group)
        group.add_to(m)

    if colours:
        legend.append(f"<b>{escape_html(text('map.stations_legend', lang))}</b>")
        ids = sorted(colours, key=natural_key)
        legend.append(_in_columns([_swatch(colours[i], names.get(i, i)) for i in ids[:24]]))
        if len(ids) > 24:
            legend.append(f"<div>… (+{len(ids) - 24})</div>")

    if legend:
        add_legend(m, legend, lang=lang)
    add_layer_control(m)
    if display.bounds:
        fit_area(m, display.bounds)
    return m


# ----------------------------------------------------------------------------------------------
# What every map shares: context beneath its layers, a folding legend, a folded layer control,
# and a view that keeps the area clear of them.

CONTEXT_PANE = "gp-context"
#: The class of the context's pane element (Leaflet names a pane ``leaflet-<name>-pane``).
CONTEXT_CLASS = "leaflet-gp-context-pane"
_CONTEXT_Z = 390  # above the cell raster (350), beneath every layer of the map's own (overlays 400)
_LEGEND_BOX = ('<details open style="background:rgba(255,255,255,0.92);padding:5px 8px;border-radius:4px;'
               'font-size:12px;line-height:17px;max-height:45vh;max-width:250px;overflow:auto;'
               'box-shadow:0 1px 4px rgba(0,0,0,0.3)">'
               '<summary style="font-weight:700;cursor:pointer">{title}</summary>{rows}</details>')


@dataclass(frozen=True)
class MapContext:
    """What a map draws beneath its own lines so that they never float on an empty map: the
    station jurisdictions (outlined in the stations' colours), the area's outline, and the roads
    (``roads_for_map``, for maps without tiles or the drawn background of ``ui.basemap``).

    FeatureCollections in EPSG:4326 (None when the workspace lacks the layer); small and picklable,
    made once per workspace version (``ui.state.map_context_of``). ``bounds``: (min lon, min lat,
    max lon, max lat) of the area (else of the jurisdictions), or None.
    """

    jurisdictions: dict | None = None
    area: dict | None = None
    roads: dict | None = None
    bounds: tuple[float, float, float, float] | None = None


def map_context(ws: Workspace, *, max_road_edges: int = 4000, tolerance_m: float = 15.0) -> MapContext:
    """The ``MapContext`` of a workspace (any projected working CRS; not modified): jurisdictions
    and area simplified by ``tolerance_m`` metres, jurisdictions carrying ``station_id``, ``name``
    and ``_colour`` (``ui.colors.workspace_station_colors``, as on the overview), and at most
    ``max_road_edges`` road segments, major roads first."""
    out: dict[str, dict | None] = {"jurisdictions": None, "area": None, "roads": None}
    boxes = []
    if ws.has("jurisdictions") and len(ws.layer("jurisdictions")):
        jur = layer_for_display(ws.layer("jurisdictions"), ["station_id", "name"], tolerance_m=tolerance_m)
        colours = workspace_station_colors(ws)
        jur["_colour"] = [colours.get(str(s), "#777777") for s in jur["station_id"]] if "station_id" in jur \
            else "#777777"
        out["jurisdictions"] = feature_collection(jur)
        if len(jur):
            boxes.append(("jurisdictions", jur.total_bounds))
    if ws.has("area") and len(ws.layer("area")):
        area = layer_for_display(ws.layer("area"), [], tolerance_m=tolerance_m)
        out["area"] = feature_collection(area)
        if len(area):
            boxes.insert(0, ("area", area.total_bounds))
    if ws.has("road_edges") and len(ws.layer("road_edges")):
        out["roads"] = roads_for_map(ws.layer("road_edges"), max_edges=max_road_edges)
    bounds = tuple(float(v) for v in boxes[0][1]) if boxes else None
    return MapContext(jurisdictions=out["jurisdictions"], area=out["area"], roads=out["roads"], bounds=bounds)


def _has_context_below(m: folium.Map) -> bool:
    """Whether ``m`` already shows roads of its own: tiles, or the drawn background of
    ``ui.basemap`` (a pane named ``gp-background``)."""
    for child in m._children.values():
        if isinstance(child, folium.TileLayer):
            return True
        if isinstance(child, folium.map.CustomPane) and getattr(child, "name", "") == "gp-background":
            return True
    return False


def add_context(m: folium.Map, context: MapContext | None, *, lang: str = "zh", jurisdictions: bool = True,
                area: bool = True, roads: bool | dict | None = None) -> folium.Map:
    """Draw ``context`` beneath everything the map draws itself (the Leaflet pane ``gp-context``,
    z-index 390: over the cell raster and the basemap, under the overlays), each part a layer of
    the layer control, not interactive (hovers and clicks reach the map's own layers).

    ``jurisdictions`` and ``area`` say whether to draw those. ``roads``: None draws the context's
    roads only when the map has neither tiles nor the drawn background (which show roads
    already), True always, False never; a FeatureCollection (``roads_for_map``, e.g. every street
    of one station for a map zoomed on it) is drawn instead of the context's. Returns ``m``
    (modified); a None context draws only such a FeatureCollection."""
    context = context or MapContext()
    if roads is None:
        roads = not _has_context_below(m)
    road_data = roads if isinstance(roads, dict) else (context.roads if roads else None)
    parts = []
    if road_data and road_data["features"]:
        parts.append(("road_edges", road_data, {"opacity": 0.8, "className": "gp-context"},
                      {"color": "_colour", "weight": "_weight"}))
    if jurisdictions and context.jurisdictions and context.jurisdictions["features"]:
        parts.append(("jurisdictions", context.jurisdictions,
                      {"weight": 2.0, "opacity": 0.9, "fill": False, "dashArray": "8 3", "className": "gp-context"},
                      {"color": "_colour"}))
    if area and context.area and context.area["features"]:
        parts.append(("area", context.area, {"color": "#222222", "weight": 2.5, "fill": False,
                                             "className": "gp-context"}, None))
    if not parts:
        return m
    if not any(isinstance(c, folium.map.CustomPane) and getattr(c, "name", "") == CONTEXT_PANE
               for c in m._children.values()):
        folium.map.CustomPane(CONTEXT_PANE, z_index=_CONTEXT_Z, pointer_events=False).add_to(m)
    for layer, data, base, from_props in parts:
        shown = _GeoJsonLayer(data, name=text(f"layer.{layer}", lang), base=base, from_props=from_props)
        shown.options.update(pane=CONTEXT_PANE, interactive=False)
        shown.add_to(m)
    return m


def legend_swatch(colour: str, label: str, *, shape: str = "box") -> str:
    """One legend row: a colour box (``shape`` "box" or "dot") and ``label`` (escaped)."""
    return _swatch(colour, label, shape=shape)


def add_legend(m: folium.Map, rows: list[str], *, lang: str = "zh", title: str | None = None) -> folium.Map:
    """A folding legend in the map's bottom-left corner: a <details> element whose summary
    (``title``, escaped; else 图例/Legend) folds it away, holding ``rows`` (ready-made HTML whose
    data text is escaped: ``legend_swatch``, bold headings made with ``escape_html``). It scrolls
    beyond 45 % of the map's height, and starts folded where it would cover much of a small map.
    Returns ``m``."""
    summary = escape_html(title if title is not None else text("map.legend", lang))
    _Legend(_LEGEND_BOX.format(title=summary, rows="".join(rows))).add_to(m)
    return m


def add_layer_control(m: folium.Map) -> folium.Map:
    """The layer control, folded into its button in the top-right corner (opens on hover or tap)."""
    folium.LayerControl(collapsed=True, position="topright").add_to(m)
    return m


class _FitArea(MacroElement):
    """Fits the view to ``bounds`` at the finest zoom (in quarter steps) at which the bounds stay
    clear of the map's controls (legend, layer control, zoom buttons, scale): each control reserves
    either its strip along the side or along the top/bottom, whichever costs less zoom. Runs after
    every control was added (``ui.mapview.map_payload`` puts it last)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function (map, b) {
            var bounds = L.latLngBounds(b), box = map.getContainer(), cr = box.getBoundingClientRect();
            var W = cr.width, H = cr.height, gap = 8, items = [];
            map.options.zoomSnap = 0.25;
            box.querySelectorAll(".leaflet-control").forEach(function (el) {
                var r = el.getBoundingClientRect();
                if (r.width && r.height) {
                    items.push({left: r.left - cr.left < W / 2, top: r.top - cr.top < H / 2,
                                x: r.left - cr.left < W / 2 ? r.right - cr.left : cr.right - r.left,
                                y: r.top - cr.top < H / 2 ? r.bottom - cr.top : cr.bottom - r.top});
                }
            });
            var best = null;
            for (var k = 0; k < (1 << Math.min(items.length, 8)); k++) {
                var p = {l: gap, t: gap, r: gap, b: gap};
                items.forEach(function (c, i) {
                    if ((k >> i) & 1) {  // the control's column
                        if (c.left) { p.l = Math.max(p.l, c.x + gap); } else { p.r = Math.max(p.r, c.x + gap); }
                    } else if (c.top) {  // or its row
                        p.t = Math.max(p.t, c.y + gap);
                    } else {
                        p.b = Math.max(p.b, c.y + gap);
                    }
                });
                if (p.l + p.r >= W - 40 || p.t + p.b >= H - 40) { continue; }
                var z = map.getBoundsZoom(bounds, false, L.point(p.l + p.r, p.t + p.b));
                var waste = p.l + p.r + p.t + p.b;
                if (!best || z > best.z || (z === best.z && waste < best.waste)) { best = {z: z, p: p, waste: waste}; }
            }
            var p = best ? best.p : {l: gap, t: gap, r: gap, b: gap};
            map.fitBounds(bounds, {paddingTopLeft: [p.l, p.t], paddingBottomRight: [p.r, p.b], animate: false});
        })({{ this._parent.get_name() }}, {{ this.bounds|tojson }});
        {% endmacro %}
    """)

    def __init__(self, bounds: list[list[float]]):
        super().__init__()
        self._name = "FitArea"
        self.bounds = bounds


def fit_area(m: folium.Map, bounds) -> folium.Map:
    """Show ``bounds`` ((west, south, east, north) degrees) as large as the map allows with
    nothing of the map's controls over it (``_FitArea``); replaces an earlier ``fit_area`` of
    ``m``. Non-finite bounds are ignored. Returns ``m``."""
    try:
        w, s_, e, n = (float(v) for v in bounds)
    except (TypeError, ValueError):
        return m
    if not all(math.isfinite(v) for v in (w, s_, e, n)):
        return m
    for key in [k for k, c in m._children.items() if isinstance(c, _FitArea)]:
        del m._children[key]
    _FitArea([[s_, w], [n, e]]).add_to(m)
    return m


def fit_last(m: folium.Map) -> folium.Map:
    """Move the map's ``fit_area`` (if any) after every other element, so that it sees every
    control (``ui.mapview.map_payload`` calls this). Returns ``m``."""
    for key in [k for k, c in m._children.items() if isinstance(c, _FitArea)]:
        m._children.move_to_end(key)
    return m
