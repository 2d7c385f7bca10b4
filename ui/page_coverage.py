"""The Coverage & checkpoints page (响应与卡口): response bands, the checkpoint ring, time to seal,
new post sites.

Thin: widgets are read, ``geo.coverage``, ``geo.ring``, ``planning.seal`` and
``planning.placement`` do the work, the results are drawn. The road graph and its travel-time
engine are cached per workspace file (path + mtime) and speed as read-only resources and never
modified; analyses are cached with ``st.cache_data`` by the same key and their options. The
helpers above ``render`` are pure (no Streamlit) so that they can be tested on their own.
"""
from __future__ import annotations

from typing import Sequence

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import streamlit as st

from geo.coverage import DEFAULT_BANDS_MIN, Coverage, parse_bands
from geo.errors import GridPatrolError
from geo.ids import normalise_ids
from geo.markup import escape_html, escape_markdown
from geo.road_classes import TRUNK_MAX_RANK, road_class_rank
from geo.stations import FACILITY_UNITS, facilities_from_workspace
from geo.warn import captured_warnings
from geo.workspace import Workspace
from ui import state
from ui.basemap import app_map
from ui.cell_raster import CellRaster, cell_ids
from ui.errors import show_warnings, shown_errors
from ui.i18n import current_language, layer_name, road_class_label, t, text
from ui.maps import (
    FieldsTooltip,
    MapContext,
    TextTooltip,
    add_context,
    add_layer_control,
    add_legend,
    field_labels,
    fit_area,
    layer_for_display,
    legend_swatch,
    symbol_marker,
)
from ui.mapview import first_map_head_start, show_map
from ui.tables import csv_bytes, download_help, geojson_bytes, show_table

__all__ = ["render", "UNITS", "ENTRIES", "BEYOND_COLOUR", "band_colours",
           "band_table", "turnout_by_kind", "exits_from", "seal_lines", "coverage_map", "ring_map",
           "seal_map", "placement_map", "fmt_minutes", "RING_COLOURS", "rings_table", "rings_map"]

UNITS = FACILITY_UNITS
ENTRIES = ("major_checkpoints", "checkpoints", "uncovered_crossings")
MAJOR_RANK = TRUNK_MAX_RANK          # expressway, national and provincial roads (rank 0..2)
BEYOND_COLOUR = "#d62728"
COVERED_COLOUR, UNCOVERED_COLOUR, NEW_COLOUR = "#2ca02c", "#d62728", "#ff7f0e"
_BAND_RAMP = ("#006837", "#31a354", "#78c679", "#c2e699", "#ffffb2", "#fecc5c", "#fd8d3c")
_UNIT_COLOUR = {"station": "#1f4e79", "post": "#6a3d9a"}
_PLACE_KEY = "gp_cv_place"
_NEEDED = ("road_nodes", "road_edges")


# ----------------------------------------------------------------------------------------------
# Pure helpers (no Streamlit)

def fmt_minutes(value: float | None, lang: str = "zh") -> str:
    """Minutes with their unit (``"3.5 分钟"`` / ``"3.5 min"``); a dash for none or infinity."""
    if value is None or not np.isfinite(value):
        return "—"
    return text("cv.unit_min", lang, v=f"{value:,.1f}")


def band_colours(bands: Sequence[float]) -> dict[str, str]:
    """Band label (``"1"``, ``"3"``…, minutes) -> colour, dark green (fastest) to orange, and
    ``"beyond"`` -> red."""
    labels = [f"{b:g}" for b in bands]
    if len(labels) == 1:
        ramp = [_BAND_RAMP[0]]
    else:
        idx = np.linspace(0, len(_BAND_RAMP) - 1, len(labels)).round().astype(int)
        ramp = [_BAND_RAMP[i] for i in idx]
    return {**dict(zip(labels, ramp)), "beyond": BEYOND_COLOUR}


def band_table(cov: Coverage, lang: str = "zh") -> pd.DataFrame:
    """Per band (cumulative): nodes, cells, population and incidents within it and their shares
    of the total, plus the last row beyond the last band; columns named in ``lang``."""
    tab = cov.band_table.reset_index()
    out = pd.DataFrame({text("cv.col.band", lang): [
        text("cv.within", lang, m=b) if b != "beyond" else text("cv.beyond", lang, m=f"{cov.bands[-1]:g}")
        for b in tab["band"]]})
    total_nodes = len(cov.nodes)
    out[text("cv.col.nodes", lang)] = tab["nodes"].astype(int)
    out[text("cv.col.nodes_share", lang)] = (tab["nodes"] / max(total_nodes, 1)).map(lambda v: f"{v:.1%}")
    for col in ("cells", "population", "incidents"):
        if col in tab.columns:
            total = float(cov.cells[col].sum()) if col != "cells" else float(len(cov.cells))
            out[text(f"cv.col.{col}", lang)] = tab[col].astype(float).round(0).astype(int)
            out[text(f"cv.col.{col}_share", lang)] = (tab[col] / (total or 1.0)).map(lambda v: f"{v:.1%}")
    return out


def turnout_by_kind(facilities: gpd.GeoDataFrame) -> pd.DataFrame:
    """Facility kinds with their count and turnout delay (minutes: least, mean, most)."""
    if len(facilities) == 0:
        return pd.DataFrame(columns=["kind", "count", "turnout_min_least", "turnout_min_mean", "turnout_min_most"])
    g = facilities.groupby("kind")["turnout_min"]
    return pd.DataFrame({"count": g.size(), "turnout_min_least": g.min(), "turnout_min_mean": g.mean().round(2),
                         "turnout_min_most": g.max()}).reset_index()


def exits_from(entries: str, ring, checkpoints: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """The entries to seal: ``major_checkpoints`` (on expressway, national or provincial roads,
    or all when the layer has no road class), ``checkpoints`` (all), or ``uncovered_crossings``
    (the ring's crossings without a checkpoint, on their inside node). Columns ``exit_id``,
    ``road_class``, optional ``node_id``; point geometry."""
    if entries not in ENTRIES:
        raise ValueError(f"entries was {entries!r} but is expected to be in {list(ENTRIES)}")
    if entries == "uncovered_crossings":
        if ring is None:
            return gpd.GeoDataFrame({"exit_id": [], "road_class": []}, geometry=[])
        open_in = ~ring.crossings["covered"].to_numpy(dtype=bool) & (ring.crossings["direction"] != "out").to_numpy()
        c = ring.crossings[open_in]
        return gpd.GeoDataFrame({"exit_id": c["crossing_id"].to_numpy(), "road_class": c["road_class"].to_numpy(),
                                 "node_id": c["inside_node"].to_numpy(dtype=object)},
                                geometry=c.geometry.values, crs=ring.crossings.crs)
    if checkpoints is None or len(checkpoints) == 0:
        return gpd.GeoDataFrame({"exit_id": [], "road_class": []}, geometry=[], crs=getattr(checkpoints, "crs", None))
    cps = checkpoints
    ids = normalise_ids(cps["checkpoint_id"]) if "checkpoint_id" in cps.columns else pd.Series(
        [f"C{i + 1}" for i in range(len(cps))], index=cps.index)
    cls = cps["road_class"].astype(str) if "road_class" in cps.columns else pd.Series("", index=cps.index)
    keep = np.ones(len(cps), bool)
    if entries == "major_checkpoints" and "road_class" in cps.columns:
        keep = (cls.map(road_class_rank) <= MAJOR_RANK).to_numpy()
    frame = pd.DataFrame({"exit_id": ids.to_numpy()[keep], "road_class": cls.to_numpy()[keep]})
    if "node_id" in cps.columns and cps["node_id"].notna().all():
        frame["node_id"] = cps["node_id"].to_numpy(dtype=object)[keep]
    return gpd.GeoDataFrame(frame, geometry=cps.geometry.values[keep], crs=cps.crs)


def seal_lines(assignment: pd.DataFrame, units: gpd.GeoDataFrame, exits: gpd.GeoDataFrame, *,
               unit_col: str = "facility_id", exit_col: str = "exit_id") -> gpd.GeoDataFrame:
    """One straight line per assignment row from the unit to its entry, with ``exit``, ``unit``
    and ``minutes`` (network travel time, not the line's length), in the units' CRS."""
    exits = exits.to_crs(units.crs) if exits.crs is not None and units.crs is not None else exits
    upos = dict(zip(normalise_ids(units[unit_col]), units.geometry))
    xpos = dict(zip(normalise_ids(exits[exit_col]), exits.geometry))
    rows = assignment[["exit", "unit", "minutes"]].copy()
    geoms = [shapely.LineString([upos[u].coords[0], xpos[x].coords[0]]) if u in upos and x in xpos else None
             for u, x in zip(normalise_ids(rows["unit"]), normalise_ids(rows["exit"]))]
    return gpd.GeoDataFrame(rows.reset_index(drop=True), geometry=geoms, crs=units.crs)


def _base_map(bounds, context: MapContext | None = None, *, lang: str = "zh", roads: bool | None = None,
              jurisdictions: bool = True) -> folium.Map:
    """The app's basemap, the context beneath (``ui.maps.add_context``: roads, area, station
    jurisdictions) and the view on ``bounds`` (west, south, east, north), clear of the controls."""
    m = app_map()  # the app's basemap (ui.basemap)
    add_context(m, context, lang=lang, roads=roads, jurisdictions=jurisdictions)
    if bounds is not None and np.all(np.isfinite(bounds)):
        fit_area(m, bounds)
    return m


def _legend(m: folium.Map, title: str, items: list[tuple[str, str]], *, lang: str = "zh",
            shapes: dict[str, str] | None = None) -> None:
    """A folding legend (``ui.maps.add_legend``) titled ``title``: one row per (colour, label);
    ``shapes`` gives a label's swatch shape ("dot", "line"; default a box)."""
    shapes = shapes or {}
    add_legend(m, [legend_swatch(c, label, shape=shapes.get(label, "box")) for c, label in items],
               lang=lang, title=title)


def _facility_markers(m: folium.Map, facilities: gpd.GeoDataFrame, name: str, lang: str = "zh") -> None:
    if len(facilities) == 0:
        return
    group = folium.FeatureGroup(name=name)
    for r in facilities.to_crs("EPSG:4326").itertuples():
        colour = _UNIT_COLOUR.get(r.unit, "#333333")
        folium.CircleMarker([r.geometry.y, r.geometry.x], radius=6 if r.unit == "station" else 4, color="#ffffff",
                            weight=1.2, fill=True, fill_color=colour, fill_opacity=1.0,
                            tooltip=TextTooltip(f"{r.name} ({r.facility_id}) {r.kind}, "
                                                f"{fmt_minutes(r.turnout_min, lang)}")
                            ).add_to(group)
    group.add_to(m)


def coverage_map(cov: Coverage, areas: gpd.GeoDataFrame | None, facilities: gpd.GeoDataFrame,
                 area: gpd.GeoDataFrame | None = None, *, lang: str = "zh",
                 context: MapContext | None = None) -> folium.Map:
    """Cells coloured by response band (red beyond the last band, outlined), response areas
    (network Voronoi) outlined, facilities as dots, a legend of the bands; the roads, the
    jurisdictions and the area (``context``) over the bands, under the outlines."""
    colours = band_colours(cov.bands)
    cells = cov.cells.copy()
    cells["band_label"] = [f"{b:g}" if np.isfinite(b) else "beyond" for b in cells["band"].to_numpy(dtype=float)]
    fields = [c for c in ("cell_id", "band_label", "minutes", "facility", "population", "incidents") if c in cells]
    bounds = (area.to_crs("EPSG:4326").total_bounds if area is not None and len(area)
              else cells.to_crs("EPSG:4326").total_bounds)
    # The roads over the bands (the drawn background lies under the cell raster).
    m = _base_map(bounds, context, lang=lang, roads=True)
    # Cells as one id raster coloured in the browser (ui.cell_raster): 10,000 cells stay fluid.
    minutes = cells["minutes"].to_numpy(dtype=float)
    attributes = pd.DataFrame({c: cells[c].to_numpy() for c in fields})
    attributes["minutes"] = [None if not np.isfinite(v) else round(float(v), 1) for v in minutes]
    attributes["band_label"] = [text("cv.beyond", lang, m=f"{cov.bands[-1]:g}") if b == "beyond"
                                else text("cv.within", lang, m=b) for b in cells["band_label"]]
    CellRaster(cell_ids(cells), [colours.get(b, "#999999") for b in cells["band_label"]], opacity=0.6,
               attributes=attributes, labels=field_labels(fields, lang), name=text("cv.layer.bands", lang)).add_to(m)
    if areas is not None and len(areas):
        folium.GeoJson(layer_for_display(areas, ["facility", "cells", "population", "incidents"]),
                       name=text("cv.layer.areas", lang),
                       style_function=lambda f: {"fillOpacity": 0.0, "color": "#111111", "weight": 2.0},
                       tooltip=FieldsTooltip([c for c in ("facility", "cells", "population", "incidents")
                                              if c in areas.columns])).add_to(m)
    if area is not None and len(area) and context is None:
        folium.GeoJson(layer_for_display(area, []), name=layer_name("area", lang),
                       style_function=lambda f: {"fillOpacity": 0.0, "color": "#000000", "weight": 3.0}).add_to(m)
    _facility_markers(m, facilities, text("cv.layer.facilities", lang), lang)
    items = [(c, text("cv.within", lang, m=b) if b != "beyond" else text("cv.beyond", lang, m=f"{cov.bands[-1]:g}"))
             for b, c in colours.items()]
    _legend(m, text("cv.legend.bands", lang), items, lang=lang)
    add_layer_control(m)
    return m


def ring_map(ring, ring_polygon: gpd.GeoDataFrame, checkpoints: gpd.GeoDataFrame | None, *,
             lang: str = "zh", context: MapContext | None = None) -> folium.Map:
    """The ring polygon, its road crossings (green: a checkpoint on it, red: none) and the
    checkpoints, over the roads and jurisdictions of ``context``."""
    poly = layer_for_display(ring_polygon, [])
    m = _base_map(poly.total_bounds, context, lang=lang)
    folium.GeoJson(poly, name=text("cv.layer.ring", lang),
                   style_function=lambda f: {"fillOpacity": 0.03, "color": "#000000", "weight": 2.5}).add_to(m)
    cross = ring.crossings.to_crs("EPSG:4326")
    for covered, colour, key in ((True, COVERED_COLOUR, "cv.layer.covered"),
                                 (False, UNCOVERED_COLOUR, "cv.layer.uncovered")):
        group = folium.FeatureGroup(name=text(key, lang))
        for r in cross[cross["covered"] == covered].itertuples():
            way = (text(f"col.value.direction.{r.direction}", lang) if r.direction in ("in", "out", "both")
                   else r.direction)
            tip = (f"{r.crossing_id} {road_class_label(r.road_class, lang) or '-'} ({way})"
                   + (f" · {r.checkpoint_id}" if covered else ""))
            folium.CircleMarker([r.geometry.y, r.geometry.x], radius=7 if not covered else 5, color="#000000",
                                weight=1, fill=True, fill_color=colour, fill_opacity=0.95,
                                tooltip=TextTooltip(tip)).add_to(group)
        group.add_to(m)
    if checkpoints is not None and len(checkpoints):
        group = folium.FeatureGroup(name=layer_name("checkpoints", lang), show=False)
        for r in checkpoints.to_crs("EPSG:4326").itertuples():
            symbol_marker(r.geometry.y, r.geometry.x, colour="#555555", symbol="⚑",
                          tooltip=str(getattr(r, "checkpoint_id", ""))).add_to(group)
        group.add_to(m)
    _legend(m, text("cv.legend.ring", lang), [(COVERED_COLOUR, text("cv.layer.covered", lang)),
                                              (UNCOVERED_COLOUR, text("cv.layer.uncovered", lang))],
            lang=lang, shapes={text("cv.layer.covered", lang): "dot", text("cv.layer.uncovered", lang): "dot"})
    add_layer_control(m)
    return m


#: The colour of each ring level on the layered-rings map (outline and crossing rims).
RING_COLOURS = {"outer": "#1f4e79", "inner": "#6a3d9a", "core": "#b15928"}
_RING_SOURCE_KEY = {"rings layer": "cv.rings.src.layer", "area": "cv.rings.src.area",
                    "hull of checkpoints": "cv.rings.src.hull", "townships 街道": "cv.rings.src.towns"}


def _ring_label(result, lang: str) -> str:
    level = text(f"cv.rings.level.{result.spec.level}", lang)
    return level if result.spec.name == result.spec.level else f"{level} · {result.spec.name}"


def rings_table(rings, lang: str = "zh") -> pd.DataFrame:
    """One row per ring (outermost first): level, name, where it was drawn from, entries, with
    and without a checkpoint, closed, units sent, time to seal, fewest new checkpoints (when
    proposed); columns named in ``lang``."""
    rows = []
    for r in rings.results:
        key = _RING_SOURCE_KEY.get(r.spec.source)
        rows.append({
            text("cv.rings.col.ring", lang): text(f"cv.rings.level.{r.spec.level}", lang),
            text("cv.rings.col.name", lang): r.spec.name,
            text("cv.rings.col.source", lang): text(key, lang) if key else r.spec.source,
            text("cv.rings.col.entries", lang): len(r.entry_ids),
            text("cv.rings.col.covered", lang): len(r.covered_entries),
            text("cv.rings.col.uncovered", lang): len(r.uncovered_entries),
            text("cv.rings.col.closed", lang): text("cv.ring.closed" if r.ring.closed else "cv.ring.open", lang),
            text("cv.rings.col.units", lang): int(r.entries_sealed["units_needed"].sum()) if r.seal is not None else 0,
            text("cv.rings.col.seal", lang): fmt_minutes(None if r.seal is None else r.seal.seal_minutes, lang),
            text("cv.rings.col.new", lang): "—" if r.proposal is None else r.proposal.count,
        })
    return pd.DataFrame(rows)


def rings_map(rings, checkpoints: gpd.GeoDataFrame | None, *, lang: str = "zh",
              context: MapContext | None = None) -> folium.Map:
    """Every ring at once, one layer each in its colour (``RING_COLOURS``): the ring's outline
    and its entries, filled green (a checkpoint on it) or red (none) with a rim in the ring's
    colour; proposed new checkpoints as orange stars; the checkpoints (hidden at first)."""
    polys = [gpd.GeoDataFrame({"ring": [r.spec.name]}, geometry=[r.spec.polygon], crs=r.ring.crossings.crs)
             for r in rings.results]
    bounds = np.array([layer_for_display(g, []).total_bounds for g in polys])
    m = _base_map((bounds[:, 0].min(), bounds[:, 1].min(), bounds[:, 2].max(), bounds[:, 3].max()), context,
                  lang=lang)
    for r, poly in zip(rings.results, polys):
        colour = RING_COLOURS.get(r.spec.level, "#333333")
        label = _ring_label(r, lang)
        group = folium.FeatureGroup(name=escape_html(label))  # the layer control shows names as HTML
        folium.GeoJson(layer_for_display(poly, []), style_function=lambda f, c=colour: {
            "fillOpacity": 0.03, "color": c, "weight": 2.5}, tooltip=TextTooltip(label)).add_to(group)
        cross = r.ring.entries.to_crs("EPSG:4326")
        for x in cross.itertuples():
            covered = bool(x.covered)
            tip = (f"{label} {x.crossing_id} {road_class_label(x.road_class, lang) or '-'}"
                   + (f" · {x.checkpoint_id}" if covered else f" · {text('cv.layer.uncovered', lang)}"))
            folium.CircleMarker([x.geometry.y, x.geometry.x], radius=5 if covered else 6, color=colour,
                                weight=2, fill=True, fill_color=COVERED_COLOUR if covered else UNCOVERED_COLOUR,
                                fill_opacity=0.95, tooltip=TextTooltip(tip)).add_to(group)
        if r.proposal is not None and len(r.proposal.sites):
            for site in r.proposal.sites.to_crs("EPSG:4326").itertuples():
                if site.geometry is None:
                    continue
                where = site.node if site.kind == "junction" else f"{site.u}-{site.v}"
                symbol_marker(site.geometry.y, site.geometry.x, colour=NEW_COLOUR, symbol="★",
                              tooltip=f"{label}: {text('cv.rings.layer.new', lang)} ({where})").add_to(group)
        group.add_to(m)
    if checkpoints is not None and len(checkpoints):
        group = folium.FeatureGroup(name=layer_name("checkpoints", lang), show=False)
        for r in checkpoints.to_crs("EPSG:4326").itertuples():
            symbol_marker(r.geometry.y, r.geometry.x, colour="#555555", symbol="⚑",
                          tooltip=str(getattr(r, "checkpoint_id", ""))).add_to(group)
        group.add_to(m)
    items = [(RING_COLOURS.get(r.spec.level, "#333333"), _ring_label(r, lang)) for r in rings.results]
    items += [(COVERED_COLOUR, text("cv.layer.covered", lang)), (UNCOVERED_COLOUR, text("cv.layer.uncovered", lang))]
    if any(r.proposal is not None and r.proposal.count for r in rings.results):
        items.append((NEW_COLOUR, text("cv.rings.layer.new", lang)))
    _legend(m, text("cv.rings.legend", lang), items, lang=lang)
    add_layer_control(m)
    return m


def seal_map(lines: gpd.GeoDataFrame, units: gpd.GeoDataFrame, exits: gpd.GeoDataFrame, *,
             lang: str = "zh", context: MapContext | None = None) -> folium.Map:
    """Each entry joined to its assigned unit by a line labelled with the minutes; the latest
    arrival (the seal time) drawn thickest and red; the roads, jurisdictions and area of
    ``context`` beneath; a legend."""
    L = lines.to_crs("EPSG:4326")
    X = exits.to_crs("EPSG:4326")
    box = np.array([L.total_bounds, X.total_bounds]) if len(L) else np.array([X.total_bounds])
    m = _base_map((box[:, 0].min(), box[:, 1].min(), box[:, 2].max(), box[:, 3].max()), context, lang=lang)
    worst = float(L["minutes"].max()) if len(L) else np.nan
    for r in L.itertuples():
        if r.geometry is None:
            continue
        late = np.isclose(float(r.minutes), worst)
        folium.PolyLine([(y, x) for x, y in r.geometry.coords], color=UNCOVERED_COLOUR if late else "#1f4e79",
                        weight=4 if late else 2.5, opacity=0.85,
                        tooltip=TextTooltip(f"{r.unit} → {r.exit}: {fmt_minutes(float(r.minutes), lang)}")
                        ).add_to(m)
        mid = r.geometry.interpolate(0.5, normalized=True)
        folium.Marker([mid.y, mid.x], icon=folium.DivIcon(
            icon_size=(70, 16), icon_anchor=(0, 8),
            html=(f'<div style="font-size:11px;font-weight:600;white-space:nowrap;color:#111;'
                  f'text-shadow:0 0 3px #fff,0 0 3px #fff">{escape_html(fmt_minutes(float(r.minutes), lang))}</div>'))
                      ).add_to(m)
    used = set(normalise_ids(L["unit"]))
    _facility_markers(m, units[normalise_ids(units["facility_id"]).isin(used)], text("cv.layer.facilities", lang),
                      lang)
    for r in X.itertuples():
        folium.CircleMarker([r.geometry.y, r.geometry.x], radius=6, color="#000000", weight=1, fill=True,
                            fill_color=UNCOVERED_COLOUR, fill_opacity=0.9, tooltip=TextTooltip(r.exit_id)).add_to(m)
    line, latest, entry = text("cv.seal.line", lang), text("cv.seal.latest", lang), text("cv.seal.entry", lang)
    station, post = text("cv.legend.station", lang), text("cv.legend.post", lang)
    _legend(m, text("cv.legend.seal", lang), [("#1f4e79", line), (UNCOVERED_COLOUR, latest), (UNCOVERED_COLOUR, entry),
                                              (_UNIT_COLOUR["station"], station), (_UNIT_COLOUR["post"], post)],
            lang=lang, shapes={line: "line", latest: "line", entry: "dot", station: "dot", post: "dot"})
    add_layer_control(m)
    return m


def placement_map(chosen: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame, area: gpd.GeoDataFrame | None, *,
                  lang: str = "zh", context: MapContext | None = None) -> folium.Map:
    """Existing stations and posts, and the new sites as orange stars, over the roads,
    jurisdictions and area of ``context``; a legend."""
    bounds = (area.to_crs("EPSG:4326").total_bounds if area is not None and len(area)
              else facilities.to_crs("EPSG:4326").total_bounds)
    m = _base_map(bounds, context, lang=lang)
    if area is not None and len(area) and context is None:
        folium.GeoJson(layer_for_display(area, []), name=layer_name("area", lang),
                       style_function=lambda f: {"fillOpacity": 0.0, "color": "#000000", "weight": 2.5}).add_to(m)
    _facility_markers(m, facilities, text("cv.layer.facilities", lang), lang)
    for r in chosen.to_crs("EPSG:4326").itertuples():
        symbol_marker(r.geometry.y, r.geometry.x, colour="#f28e2b", symbol="★",
                      tooltip=f"{text('cv.place.new', lang)} {r.site} ({text('col.node', lang)} {r.node})").add_to(m)
    new, station, post = text("cv.place.new", lang), text("cv.legend.station", lang), text("cv.legend.post", lang)
    _legend(m, text("cv.legend.place", lang), [("#f28e2b", new), (_UNIT_COLOUR["station"], station),
                                               (_UNIT_COLOUR["post"], post)],
            lang=lang, shapes={new: "dot", station: "dot", post: "dot"})
    add_layer_control(m)
    return m


# ----------------------------------------------------------------------------------------------
# Cached work (the graph is shared read-only; results are small and picklable)

def _key_of(ws: Workspace) -> tuple:
    return state.layers_key(ws)


def _map_key(ws: Workspace, name: str, lang: str, options: tuple, *frames: pd.DataFrame | None) -> tuple | None:
    """``show_map`` cache key of a map of this page: workspace file (path, mtime), map, language,
    the options it was computed with, and the frames it is drawn from (``state.map_cache_key``)."""
    return state.map_cache_key(ws, "coverage", name, lang, options, frames=frames)


def _network(path: str, mtime: tuple, speed_kmh: float | None):
    """The workspace's NetworkX road graph and its travel-time engine, of the road network every
    page shares (``state.road_network``, built once); never modified."""
    return state.road_network(path, mtime, speed_kmh).graph()


@st.cache_data(max_entries=8, show_spinner=False)
def _coverage(path: str, mtime: float, units: str, bands: tuple[float, ...], speed_kmh: float | None,
              turnout: bool, _ws: Workspace, at: str | None = None):
    from geo.coverage import coverage_from_network, response_areas
    engine = state.road_network(path, mtime, speed_kmh).engine  # every node, no NetworkX graph
    fac = facilities_from_workspace(_ws, units=units)
    cells = _ws.layer("cells") if _ws.has("cells") else None
    with captured_warnings() as notes:
        cov = coverage_from_network(engine, fac, id_col="facility_id", bands=bands,
                                    turnout_col="turnout_min" if turnout else None, cells=cells,
                                    at=at)
    areas = response_areas(cov) if cells is not None else None
    return cov, areas, fac, notes


@st.cache_data(max_entries=8, show_spinner=False)
def _ring(path: str, mtime: float, tolerance_m: float, _ws: Workspace):
    from geo.ring import ring_crossings
    G, _ = _network(path, mtime, None)
    cps = _ws.layer("checkpoints") if _ws.has("checkpoints") else None
    return ring_crossings(G, _ws.layer("area"), checkpoints=cps, tolerance_m=tolerance_m)


@st.cache_data(max_entries=8, show_spinner=False)
def _rings(path: str, mtime: float, tolerance_m: float, seal_entries: str, propose: bool, _ws: Workspace):
    """The layered rings of the workspace (``planning.rings.rings_report``) and the warnings."""
    from planning.rings import rings_report
    G, engine = _network(path, mtime, None)
    with captured_warnings() as notes:
        rings = rings_report(_ws, G, engine, tolerance_m=tolerance_m, propose=propose,
                             seal_entries=seal_entries)
    return rings, notes


@st.cache_data(max_entries=8, show_spinner=False)
def _seal(path: str, mtime: float, units: str, entries: str, speed_kmh: float | None, tolerance_m: float,
          _ws: Workspace):
    from planning.seal import seal_from_network
    G, engine = _network(path, mtime, speed_kmh)
    ring = _ring(path, mtime, tolerance_m, _ws) if _ws.has("area") else None
    exits = exits_from(entries, ring, _ws.layer("checkpoints") if _ws.has("checkpoints") else None)
    fac = facilities_from_workspace(_ws, units=units)
    if len(exits) == 0:
        return None, fac, exits
    return seal_from_network(G, engine, fac, exits, unit_id="facility_id", exit_id="exit_id"), fac, exits


# ----------------------------------------------------------------------------------------------
# Sections

def _downloads(items: list[tuple[str, object, str, str]], key: str) -> None:
    """Download buttons in a row: (label, bytes or a function making them on the click, file name,
    MIME type); GeoJSON of thousands of cells is made only when asked for."""
    cols = st.columns(len(items))
    help_text = download_help(current_language())  # files keep the data's column names and units
    for col, (label, data, name, mime) in zip(cols, items):
        col.download_button(label, data, name, mime, key=f"gp_cv_dl_{key}_{name}", on_click="ignore",
                            help=help_text)


def _coverage_section(ws: Workspace, key: tuple[str, float], lang: str) -> dict:
    st.subheader(t("cv.bands.title"))
    c = st.columns([2, 2, 2, 2])
    bands_text = c[0].text_input(t("cv.bands"), ",".join(f"{b:g}" for b in DEFAULT_BANDS_MIN), key="gp_cv_bands",
                                 help=t("cv.bands_help"))
    units = c[1].selectbox(t("cv.units"), UNITS, index=2, key="gp_cv_units", format_func=lambda u: t(f"cv.units.{u}"))
    one_speed = c[2].checkbox(t("cv.one_speed"), key="gp_cv_one_speed", help=t("cv.one_speed_help"))
    speed = c[2].number_input(t("cv.speed"), 5.0, 150.0, 60.0, 5.0, key="gp_cv_speed") if one_speed else None
    turnout = c[3].checkbox(t("cv.turnout"), value=True, key="gp_cv_turnout", help=t("cv.turnout_help"))
    at_text = st.text_input(t("cv.at"), "", key="gp_cv_at", help=t("cv.at_help")).strip() or None
    try:
        bands = parse_bands(bands_text)
    except GridPatrolError:  # a typing slip: said in the UI language, the default bands used
        st.error(t("cv.err.bands", value=escape_markdown(bands_text)))
        bands = DEFAULT_BANDS_MIN
    if at_text is not None:
        from geo.hours import parse_time_of_day_text
        try:
            parse_time_of_day_text(at_text)
        except GridPatrolError:  # a typing slip: every facility counts
            st.error(t("cv.err.at", value=escape_markdown(at_text)))
            at_text = None
    opts = {"units": units, "speed": None if speed is None else float(speed), "turnout": bool(turnout)}
    if not ws.has("cells"):
        st.info(t("cv.need", layer=layer_name("cells", in_sentence=True)))
        return opts
    with st.spinner(t("cv.running")):
        cov, areas, fac, notes = _coverage(*key, units, bands, opts["speed"], opts["turnout"], ws, at_text)
    if at_text is not None:
        st.caption(t("cv.at_note", at=at_text, n=len(cov.facilities), m=len(fac)))
    if len(fac) == 0:
        st.info(t("cv.need", layer=layer_name("stations", in_sentence=True)))
        return opts
    tab = cov.band_table
    pop_total = float(cov.cells["population"].sum()) if "population" in cov.cells else 0.0
    m = st.columns(len(bands) + 2)
    for col, b in zip(m, bands):  # short values: a row of five metrics must not truncate
        row = tab.loc[f"{b:g}"]
        if pop_total:
            col.metric(t("cv.metric.within", m=f"{b:g}"), f"{row['population'] / pop_total:.1%}")
            col.caption(t("cv.people", n=f"{row['population']:,.0f}"))
        else:
            col.metric(t("cv.metric.within_cells", m=f"{b:g}"), f"{int(row['cells']):,}")
    m[-2].metric(t("cv.metric.beyond", m=f"{bands[-1]:g}"), f"{len(cov.cells_beyond):,}")
    m[-1].metric(t("cv.metric.longest"), fmt_minutes(cov.max_minutes, lang))
    st.caption(t("cv.bands_note", n=len(cov.facilities), speed=(t("cv.speed_one", v=f"{speed:g}") if speed
                                                                else t("cv.speed_class"))))
    area = ws.layer("area") if ws.has("area") else None
    show_map(lambda: coverage_map(cov, areas, fac, area, lang=lang, context=state.map_context_of(ws)),
             height=560, key="gp_cv_map",
             cache_key=_map_key(ws, "bands", lang, (units, bands, opts["speed"], opts["turnout"]),
                                cov.cells, areas, fac))
    first_map_head_start("coverage")  # the map on screen before the tables and maps below
    show_warnings(notes)  # kept with the cached result; shown once, also when from the cache
    left, right = st.columns([3, 2])
    with left:
        st.markdown(f"**{t('cv.band_table')}**")
        st.dataframe(band_table(cov, lang), hide_index=True, width="stretch")
    with right:
        st.markdown(f"**{t('cv.turnout_table')}**")
        show_table(turnout_by_kind(fac), lang=lang)
    by_fac = pd.DataFrame([{"facility": f, "nodes": d["nodes"], "workload": d["weight"]}
                           for f, d in cov.by_facility.items()])
    by_fac.insert(1, "name", by_fac["facility"].map(dict(zip(fac["facility_id"], fac["name"]))))
    if areas is not None:
        extra = pd.DataFrame(areas.drop(columns="geometry"))
        by_fac = by_fac.merge(extra[[c for c in ("facility", "cells", "population") if c in extra]],
                              on="facility", how="left")
    st.markdown(f"**{t('cv.by_facility')}**")
    show_table(by_fac, lang=lang, height=240)
    beyond = cov.cells[~(cov.cells["minutes"].to_numpy() <= bands[-1])]
    if len(beyond):
        st.warning(t("cv.uncovered_places", n=f"{len(beyond):,}", m=f"{bands[-1]:g}",
                     p=f"{float(beyond['population'].sum()) if 'population' in beyond else 0:,.0f}"))
    cells_out = cov.cells[[c for c in ("cell_id", "facility", "minutes", "band", "population", "incidents",
                                       "geometry") if c in cov.cells.columns]]
    items = [(t("cv.dl.bands"), csv_bytes(cov.band_table.reset_index()), "response_bands.csv", "text/csv"),
             (t("cv.dl.facilities"), csv_bytes(by_fac), "response_by_facility.csv", "text/csv"),
             (t("cv.dl.cells"), lambda: geojson_bytes(cells_out), "response_cells.geojson", "application/geo+json"),
             (t("cv.dl.uncovered"), csv_bytes(beyond[[c for c in cells_out.columns if c != "geometry"]]),
              "uncovered_cells.csv", "text/csv")]
    if areas is not None:
        items.append((t("cv.dl.areas"), lambda: geojson_bytes(areas), "response_areas.geojson", "application/geo+json"))
    _downloads(items, "cov")
    return opts


def _ring_section(ws: Workspace, key: tuple[str, float], lang: str):
    st.subheader(t("cv.ring.title"))
    if not ws.has("area"):
        st.info(t("cv.need", layer=layer_name("area", in_sentence=True)))
        return None, 50.0
    if not ws.has("checkpoints"):
        st.info(t("cv.ring.need_checkpoints"))
    tol = st.number_input(t("cv.tolerance"), 0.0, 1000.0, 50.0, 10.0, key="gp_cv_tol")
    with st.spinner(t("cv.running")):
        ring = _ring(*key, float(tol), ws)
    m = st.columns(4)
    m[0].metric(t("cv.ring.crossings"), f"{len(ring.crossings):,}")
    m[1].metric(t("cv.ring.covered"), f"{len(ring.covered):,}")
    m[2].metric(t("cv.ring.uncovered"), f"{len(ring.uncovered):,}")
    m[3].metric(t("cv.ring.state"), t("cv.ring.closed") if ring.closed else t("cv.ring.open"))
    if ring.closed:
        st.success(t("cv.ring.closed_note"))
    else:
        ids = escape_markdown(", ".join(map(str, ring.leaks[:12])))
        st.warning(t("cv.ring.open_note", n=len(ring.leaks), ids=ids))
    cps = ws.layer("checkpoints") if ws.has("checkpoints") else None
    show_map(lambda: ring_map(ring, ws.layer("area"), cps, lang=lang, context=state.map_context_of(ws)),
             height=480, key="gp_cv_ring_map",
             cache_key=_map_key(ws, "ring", lang, (float(tol),), ring.crossings))
    first_map_head_start("coverage")  # (the first map when the bands have no cells to show)
    table = pd.DataFrame(ring.crossings.drop(columns="geometry"))
    show_table(table, lang=lang, height=240)  # road classes in words; the CSV keeps the data's values
    _downloads([(t("cv.dl.crossings_csv"), csv_bytes(table), "ring_crossings.csv", "text/csv"),
                (t("cv.dl.crossings_geojson"), geojson_bytes(ring.crossings), "ring_crossings.geojson",
                 "application/geo+json")], "ring")
    return ring, float(tol)


def _rings_section(ws: Workspace, key: tuple[str, float], tolerance_m: float, lang: str) -> None:
    from planning.rings import SEAL_ENTRIES
    st.subheader(t("cv.rings.title"))
    st.caption(t("cv.rings.help"))
    if not (ws.has("area") or ws.has("rings")):
        st.info(t("cv.need", layer=layer_name("area", in_sentence=True)))
        return
    c = st.columns([2, 2])
    entries = c[0].selectbox(t("cv.rings.seal_entries"), SEAL_ENTRIES, key="gp_cv_rings_entries",
                             format_func=lambda e: t(f"cv.rings.entries.{e}"))
    proposed_key = ("gp_cv_rings_propose", key, float(tolerance_m), entries)
    if c[1].button(t("cv.rings.propose"), key="gp_cv_rings_propose", help=t("cv.rings.propose_help")):
        st.session_state["gp_cv_rings_proposed"] = proposed_key
    propose = st.session_state.get("gp_cv_rings_proposed") == proposed_key
    with st.spinner(t("cv.running")):
        rings, notes = _rings(*key, float(tolerance_m), entries, propose, ws)
    show_warnings(notes)
    st.dataframe(rings_table(rings, lang), hide_index=True, width="stretch")
    if propose:
        st.success(t("cv.rings.proposed", counts=escape_markdown(", ".join(
            f"{_ring_label(r, lang)} {r.proposal.count}" for r in rings.results if r.proposal is not None))))
    for r in rings.results:
        if r.witness:
            path = " → ".join(map(str, r.witness[:6])) + (" …" if len(r.witness) > 6 else "")
            st.caption(t("cv.rings.open_path", ring=escape_markdown(_ring_label(r, lang)), path=escape_markdown(path)))
        if r.seal is None and r.seal_reason and len(r.entries_sealed):
            st.warning(t("cv.rings.no_seal", ring=escape_markdown(_ring_label(r, lang)),
                         why=escape_markdown(r.seal_reason)))
    cps = ws.layer("checkpoints") if ws.has("checkpoints") else None
    show_map(lambda: rings_map(rings, cps, lang=lang, context=state.map_context_of(ws)),
             height=520, key="gp_cv_rings_map",
             cache_key=_map_key(ws, "rings", lang, (float(tolerance_m), entries, propose),
                                *[r.ring.crossings for r in rings.results]))
    tabs = st.tabs([_ring_label(r, lang) for r in rings.results])
    frames = []
    for tab, r in zip(tabs, rings.results):
        table = pd.DataFrame(r.ring.crossings.drop(columns="geometry"))
        need = dict(zip(r.entries_sealed["crossing_id"], r.entries_sealed["units_needed"]))
        table["units_needed"] = table["crossing_id"].map(need).fillna(0).astype(int)
        with tab:
            st.caption(t("cv.rings.crossings_of", ring=escape_markdown(_ring_label(r, lang))))
            show_table(table, lang=lang, height=220)
            if r.seal is not None:
                a = r.seal.assignment.copy()
                a["minutes"] = a["minutes"].round(2)
                show_table(a, lang=lang, height=200)
        frames.append(table.assign(ring=r.spec.level, ring_name=r.spec.name))
    _downloads([(t("cv.dl.rings_csv"), csv_bytes(pd.concat(frames, ignore_index=True)), "rings_crossings.csv",
                 "text/csv")], "rings")


def _seal_section(ws: Workspace, key: tuple[str, float], opts: dict, tolerance_m: float, lang: str) -> None:
    st.subheader(t("cv.seal.title"))
    c = st.columns(2)
    units = c[0].selectbox(t("cv.seal.units"), UNITS, index=0, key="gp_cv_seal_units",
                           format_func=lambda u: t(f"cv.units.{u}"))
    entries = c[1].selectbox(t("cv.seal.entries"), ENTRIES, key="gp_cv_seal_entries",
                             format_func=lambda e: t(f"cv.entries.{e}"))
    if entries != "uncovered_crossings" and not ws.has("checkpoints"):
        st.info(t("cv.seal.need_checkpoints"))
        return
    if entries == "uncovered_crossings" and not ws.has("area"):
        st.info(t("cv.need", layer=layer_name("area", in_sentence=True)))
        return
    try:
        with st.spinner(t("cv.running")):
            seal, fac, exits = _seal(*key, units, entries, opts["speed"], tolerance_m, ws)
    except GridPatrolError as exc:  # infeasible seals are explained, not errors of the app
        st.warning(t("cv.seal.infeasible", why=escape_markdown(exc)))
        return
    if seal is None:
        st.info(t("cv.seal.no_entries"))
        return
    m = st.columns(3)
    m[0].metric(t("cv.seal.minutes"), fmt_minutes(seal.seal_minutes, lang))
    m[1].metric(t("cv.seal.entries_n"), f"{len(exits):,}")
    m[2].metric(t("cv.seal.units_n"), f"{len(fac):,}")
    lines = seal_lines(seal.assignment, fac, exits)
    show_map(lambda: seal_map(lines, fac, exits, lang=lang, context=state.map_context_of(ws)),
             height=460, key="gp_cv_seal_map",
             cache_key=_map_key(ws, "seal", lang, (units, entries, opts["speed"], tolerance_m), lines, fac, exits))
    table = seal.assignment.copy()
    table["minutes"] = table["minutes"].round(2)
    show_table(table, lang=lang, height=220)
    _downloads([(t("cv.dl.seal_csv"), csv_bytes(table), "seal_assignment.csv", "text/csv"),
                (t("cv.dl.seal_geojson"), geojson_bytes(lines.dropna(subset=["geometry"])), "seal_lines.geojson",
                 "application/geo+json")], "seal")


def _placement_section(ws: Workspace, key: tuple[str, float], opts: dict, lang: str) -> None:
    st.subheader(t("cv.place.title"))
    if not ws.has("cells"):
        st.info(t("cv.need", layer=layer_name("cells", in_sentence=True)))
        return
    weights = [w for w in ("population", "incidents") if w in ws.layer("cells").columns]
    if not weights:
        st.info(t("cv.place.need_weight"))
        return
    c = st.columns(4)
    k = int(c[0].number_input(t("cv.place.k"), 1, 30, 3, 1, key="gp_cv_k"))
    minutes = float(c[1].number_input(t("cv.place.minutes"), 0.5, 30.0, 5.0, 0.5, key="gp_cv_T"))
    weight = c[2].selectbox(t("cv.place.weight"), weights, key="gp_cv_weight",
                            format_func=lambda w: t(f"cv.col.{w}"))
    limit = float(c[3].number_input(t("cv.place.limit"), 5.0, 600.0, 60.0, 5.0, key="gp_cv_limit"))
    run_key = (*key, k, minutes, weight, limit, opts["speed"], opts["turnout"])
    if st.button(t("cv.place.run"), key="gp_cv_place_run", type="primary"):
        st.session_state[_PLACE_KEY] = (run_key, _solve_placement(ws, key, k, minutes, weight, limit, opts))
    cached = st.session_state.get(_PLACE_KEY)
    if cached is None or cached[0] != run_key:
        st.caption(t("cv.place.hint"))
        return
    result, chosen, fac = cached[1]
    b, a = result.before, result.after
    m = st.columns(4)
    m[0].metric(t("cv.place.before", m=f"{minutes:g}", w=t(f"cv.col.{weight}")),
                f"{b['weight_within']:,.0f} ({b['share_within']:.1%})")
    m[1].metric(t("cv.place.after", m=f"{minutes:g}", w=t(f"cv.col.{weight}")),
                f"{a['weight_within']:,.0f} ({a['share_within']:.1%})",
                delta=f"+{a['weight_within'] - b['weight_within']:,.0f}")
    m[2].metric(t("cv.place.sites"), f"{b['sites']} → {a['sites']}")
    m[3].metric(t("cv.place.status"), t(f"cv.status.{result.status}") if result.status in ("optimal", "time_limit")
                else result.status, help=t("cv.place.gap", g=f"{result.gap:.2%}", s=f"{result.seconds:.1f}"))
    area = ws.layer("area") if ws.has("area") else None
    show_map(lambda: placement_map(chosen, fac, area, lang=lang, context=state.map_context_of(ws)),
             height=420, key="gp_cv_place_map",
             cache_key=_map_key(ws, "placement", lang, run_key, chosen, fac))
    figures = pd.DataFrame([{"": t("cv.place.row_before"), **b}, {"": t("cv.place.row_after"), **a}])
    show_table(chosen, lang=lang)
    show_table(figures, lang=lang)
    _downloads([(t("cv.dl.sites_csv"), csv_bytes(chosen), "new_posts.csv", "text/csv"),
                (t("cv.dl.sites_geojson"), geojson_bytes(chosen), "new_posts.geojson", "application/geo+json"),
                (t("cv.dl.figures"), csv_bytes(figures), "new_posts_before_after.csv", "text/csv")], "place")


def _solve_placement(ws: Workspace, key, k: int, minutes: float, weight: str, limit: float, opts: dict):
    """Run the maximal covering with a progress bar; returns (Placement, chosen sites, existing)."""
    from geo.network import cell_nodes, snap_points
    from planning.placement import demand_from_cells, iter_place_posts
    G, engine = _network(*key, opts["speed"])
    cells = ws.layer("cells")
    demand = demand_from_cells(cells, cell_nodes(cells, G), weight=weight)
    fac = facilities_from_workspace(ws, units="both")
    snapped = snap_points(fac, G, id_col="facility_id", what="existing sites")
    existing = pd.Series(snapped["node"].to_numpy(), index=snapped["id"].to_numpy(), dtype=object)
    delays = pd.Series(fac["turnout_min"].to_numpy(dtype=float), index=existing.index) if opts["turnout"] else None
    result = None
    with st.status(t("cv.place.running"), expanded=False) as status:
        bar = st.progress(0.0)
        for step in iter_place_posts(engine, demand, minutes=minutes, existing=existing, k=k,
                                     delays_min=delays, time_limit_s=limit):
            frac = step["done"] / max(step["total"], 1)
            bar.progress(min(1.0, frac), text=t(f"cv.stage.{step['stage'].replace(' ', '_')}"))
            result = step.get("result", result)
        status.update(label=t("cv.place.done"), state="complete")
    xy = {n: (G.nodes[n]["x"], G.nodes[n]["y"]) for n in result.chosen}
    chosen = gpd.GeoDataFrame({"site": [f"new{i + 1}" for i in range(len(result.chosen))],
                               "node": list(result.chosen)},
                              geometry=[shapely.Point(xy[n]) for n in result.chosen], crs=G.graph["crs"])
    # Posts by the hour: when each new post adds most, against the facilities open at each hour.
    from geo.hours import facility_hours
    from planning.post_hours import staffing_hours
    by_hour = None
    if ws.has("incidents") and "time" in ws.layer("incidents").columns:
        from geo.hot_times import workspace_hot_times
        by_hour = workspace_hot_times(ws).by_hour
    open_hours = dict(zip(fac["facility_id"], facility_hours(fac, layer="facilities", id_col="facility_id")))
    hours = staffing_hours(engine, demand, sites=list(result.chosen), existing=existing,
                           existing_hours=open_hours, by_hour=by_hour, minutes=minutes,
                           delays_min=delays)
    chosen["top_hours"] = [", ".join(f"{h:02d}:00" for h in x.top_hours(4)) for x in hours]
    chosen["proposed_window"] = [str(x.window or "-") for x in hours]
    chosen["proposed_hours"] = [str(x.hours or "-") for x in hours]
    return result, chosen, fac


# ----------------------------------------------------------------------------------------------

def render() -> None:
    """Draw the Coverage & checkpoints page for the open workspace."""
    st.header(t("page.coverage"))
    lang = current_language()
    with shown_errors():
        ws = state.workspace_for_page(_NEEDED, missing_key="cv.need_network")
        if ws is None:
            return
        key = _key_of(ws)
        opts = {"units": "both", "speed": None, "turnout": True}
        with shown_errors():
            opts = _coverage_section(ws, key, lang)
        ring, tol = None, 50.0
        with shown_errors():
            ring, tol = _ring_section(ws, key, lang)
        with shown_errors():
            _rings_section(ws, key, tol, lang)
        with shown_errors():
            _seal_section(ws, key, opts, tol, lang)
        with shown_errors():
            _placement_section(ws, key, opts, lang)
