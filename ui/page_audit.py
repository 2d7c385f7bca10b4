"""The Boundary audit page (辖区比对): two partitions of the workspace compared, mapped and aligned.

Police side: station jurisdictions or police grids; civil side: townships, communities or
governance grids, and station jurisdictions when the police side is police grids (police grids
crossing stations). Thin: widgets are read, ``geo.audit.audit_workspace`` and
``planning.alignment.propose_alignment`` do the work, ``geo.audit_tables`` gives the tables in
the UI language and ``geo.audit_report`` the reports; the results are drawn. Results (audit,
proposal, map image) are kept in the session per workspace and options.
"""
from __future__ import annotations

import math
import re
from typing import Any, Callable, Mapping

import folium
import geopandas as gpd
import pandas as pd
import shapely
import streamlit as st
from pyproj import CRS, Transformer

from geo.audit import audit_workspace
from geo.audit_map import audit_map_png
from geo.audit_report import crosswalk_table, report_bundle, report_html
from geo.audit_tables import (
    area_text,
    defect_texts,
    defects_table,
    pieces_table,
    readable_area,
    rule_lines,
    severity_table,
    unit_table,
)
from geo.markup import escape_markdown, spreadsheet_safe
from geo.validate import LAYERS
from planning.alignment import propose_alignment
from ui import state
from ui.basemap import app_map
from ui.colors import station_colors
from ui.errors import show_warnings
from ui.i18n import current_language, layer_name, t
from ui.maps import FieldsTooltip, MapContext, add_context, add_layer_control, add_legend, fit_area, legend_swatch
from ui.mapview import first_map_head_start, show_map
from ui.tables import csv_bytes

__all__ = ["render", "audit_map", "clicked_unit"]

GAP_COLOUR, OVERLAP_COLOUR, SLIVER_COLOUR = "#d62728", "#9467bd", "#333333"
_POLICE_LAYERS = ("jurisdictions", "police_grids", "cells")
_ADMIN_LAYERS = ("townships", "gov_grids", "communities", "cells")
# Civil-side layers offered in addition for a police side: police grids against stations.
_EXTRA_ADMIN = {"police_grids": ("jurisdictions",)}
_RESULT_KEY = "gp_audit_result"
_MEMO_KEY = "gp_audit_memo"
_CLICK_KEY = "gp_au_last_click"
_SIDES = ("admin", "police")


def _display(gdf: gpd.GeoDataFrame, columns: list[str], *, tolerance_m: float = 5.0) -> gpd.GeoDataFrame:
    keep = list(dict.fromkeys(c for c in columns if c in gdf.columns))
    out = gpd.GeoDataFrame(gdf[keep].astype(str), geometry=gdf.geometry.simplify(tolerance_m).values,
                           crs=gdf.crs)
    return out[~out.geometry.is_empty].to_crs("EPSG:4326")


def audit_map(pieces: gpd.GeoDataFrame, defects: gpd.GeoDataFrame, *, station_col: str,
              title: str, labels: Mapping[str, str] | None = None,
              context: MapContext | None = None) -> folium.Map:
    """Pieces coloured by ``station_col``, gaps red, overlaps purple, slivers outlined, over the
    area and roads of ``context`` (its jurisdictions are not drawn: the pieces show them); a
    legend of the defects.

    Tooltips show ``police``, ``admin`` and ``station_col`` of a piece, and ``kind_text`` (else
    ``kind``), ``rule``, ``police``, ``admin`` and ``area_m2`` of a defect, labelled by
    ``labels`` (field -> header in the UI language; the field name where missing)."""
    labels = labels or {}

    def tooltip(fields: list[str]) -> FieldsTooltip:
        return FieldsTooltip(fields, aliases=[labels.get(f, f) for f in fields])

    colours = station_colors(pieces[station_col])
    shown = _display(pieces, ["police", "admin", station_col, "relation"])
    bounds = shown.total_bounds
    fmap = app_map(prefer_canvas=False)  # the app's basemap (ui.basemap)
    add_context(fmap, context, lang=current_language(), jurisdictions=False)
    fit_area(fmap, bounds)
    folium.GeoJson(
        shown, name=title,
        style_function=lambda f: {"fillColor": colours.get(f["properties"][station_col], "#999999"),
                                  "color": "#555555", "weight": 0.6, "fillOpacity": 0.55},
        tooltip=tooltip(list(dict.fromkeys(c for c in ("police", "admin", station_col) if c in shown))),
    ).add_to(fmap)
    styles = {"gap": {"fillColor": GAP_COLOUR, "color": GAP_COLOUR, "weight": 1, "fillOpacity": 0.8},
              "overlap": {"fillColor": OVERLAP_COLOUR, "color": OVERLAP_COLOUR, "weight": 1, "fillOpacity": 0.8},
              "sliver": {"fillOpacity": 0.0, "color": SLIVER_COLOUR, "weight": 2.5}}
    fields = ["kind_text" if "kind_text" in defects.columns else "kind", "rule", "police", "admin", "area_m2"]
    for kind, style in styles.items():
        part = defects[defects["kind"] == kind]
        if len(part):
            folium.GeoJson(_display(part, fields, tolerance_m=0.5),
                           name=t(f"audit.defect.{kind}"), style_function=lambda f, s=style: s,
                           tooltip=tooltip(fields)).add_to(fmap)
    present = set(defects["kind"]) if len(defects) else set()
    rows = [legend_swatch(style.get("fillColor", style["color"]), t(f"audit.defect.{kind}"),
                          shape="line" if kind == "sliver" else "box")
            for kind, style in styles.items() if kind in present]
    if rows:
        add_legend(fmap, rows, lang=current_language())
    add_layer_control(fmap)
    return fmap


def _map_labels(names: Mapping[str, str]) -> dict[str, str]:
    """Tooltip labels of the audit maps in the UI language."""
    return {"police": names["police"], "admin": names["admin"],
            "station_before": t("audit.h.from", police=names["police"]),
            "station_after": t("audit.h.to", police=names["police"]),
            "kind_text": t("audit.h.kind"), "rule": t("audit.h.rule"),
            "area_m2": t("audit.h.area", u="m²")}


def _map_key(ws, name: str, *frames: pd.DataFrame, options: tuple = ()) -> tuple | None:
    """``show_map`` cache key of an audit map: workspace file, map, language, options, and the
    frames it is drawn from (``state.map_cache_key``)."""
    return state.map_cache_key(ws, "audit", name, current_language(), options, frames=frames)


def _options(ws) -> dict | None:
    polygon = [n for n in ws.layers if n in LAYERS and LAYERS[n].geometry == "polygon" and ws.has(n)]
    police_opts = [n for n in _POLICE_LAYERS if n in polygon]
    if not police_opts or not any(n in polygon for n in _ADMIN_LAYERS + ("jurisdictions",)):
        st.info(t("audit.need_layers"))
        return None
    c = st.columns(4)
    police = c[0].selectbox(t("audit.police_layer"), police_opts, format_func=layer_name, key="gp_au_police")
    admin_opts = [n for n in _ADMIN_LAYERS if n in polygon] + \
        [n for n in _EXTRA_ADMIN.get(police, ()) if n in polygon]
    if not admin_opts:
        st.info(t("audit.need_layers"))
        return None
    admin = c[1].selectbox(t("audit.admin_layer"), admin_opts, format_func=layer_name, key="gp_au_admin",
                           index=0 if admin_opts[0] != police or len(admin_opts) == 1 else 1)
    weights = ["area"] + (["population"] if ws.has("cells") and "population" in ws.layer("cells") else []) \
        + (["incidents"] if ws.has("incidents") else [])
    weight = c[2].selectbox(t("audit.weight"), weights, format_func=lambda w: t(f"audit.weight.{w}"),
                            key="gp_au_weight")
    min_share = c[3].number_input(t("audit.min_share"), 0.01, 0.5, 0.05, 0.01, key="gp_au_share")
    return {"police": police, "admin": admin, "weight": weight, "min_share": float(min_share)}


def _run(ws, opts: dict):
    return audit_workspace(ws, police_layer=opts["police"], admin_layer=opts["admin"],
                           weight=opts["weight"], min_share=opts["min_share"])


@st.cache_resource(max_entries=8, show_spinner=False)
def _shared_audit(layers: tuple, options: tuple, _ws):
    """The audit of the workspace file at ``layers`` (``state.layers_key``) with ``options``,
    computed once for every session (a new visit draws its map at once): read-only."""
    return _run(_ws, dict(options))


@st.cache_resource(max_entries=16, show_spinner=False)
def _shared_proposal(layers: tuple, options: tuple, locked_stations: tuple, locked_townships: tuple, _audit):
    """``propose_alignment`` of the audit of ``_shared_audit(layers, options)``, once for every
    session: read-only."""
    return propose_alignment(_audit, locked_stations=list(locked_stations), locked_townships=list(locked_townships))


def _audit_of(ws, opts: dict):
    """The audit for the page: shared by every session for a workspace file, else computed."""
    if ws.path is None:
        return _run(ws, opts)
    return _shared_audit(state.layers_key(ws), tuple(sorted(opts.items())), ws)


def _memo(name: str, key: tuple, make: Callable[[], Any]) -> Any:
    """``make()`` kept in the session under ``name`` until ``key`` changes (one entry per name:
    the alignment proposal of the open audit)."""
    memo = st.session_state.setdefault(_MEMO_KEY, {})
    hit = memo.get(name)
    if hit is None or hit[0] != key:
        hit = (key, make())
        memo[name] = hit
    return hit[1]


def _click_point(click: Any) -> tuple[float, float] | None:
    """(lat, lng) of a map click: the dict ``show_map`` returns (``last_object_clicked``, else
    ``last_clicked``) or a bare ``{"lat", "lng"}``; None when there is no usable point."""
    if not isinstance(click, Mapping):
        return None
    point = click
    if "lat" not in click:
        point = click.get("last_object_clicked") or click.get("last_clicked")
    if not isinstance(point, Mapping):
        return None
    try:
        lat, lng = float(point["lat"]), float(point["lng"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lng)) or abs(lat) > 90:
        return None
    return lat, ((lng + 180.0) % 360.0) - 180.0 if abs(lng) > 180 else lng


def clicked_unit(click: Any, audit, *, prefer: str = "admin",
                 tolerance_m: float = 10.0) -> tuple[str, str] | None:
    """The unit under a click on the audit map, as ``(side, id)`` with side ``"admin"`` or
    ``"police"``; None when nothing usable was clicked.

    ``click`` is what ``show_map(..., returned_objects=["last_object_clicked"])`` returns (or a bare
    ``{"lat", "lng"}`` in EPSG:4326). The point is projected into the audit's CRS and tested
    against the ``prefer`` side's unit polygons first, then the other side's (a gap lies in a
    civil unit but no police unit); within a side the first unit in layer order covering it wins
    (overlaps), else the nearest within ``tolerance_m`` (the map draws simplified outlines). Pure:
    no Streamlit calls, works whatever the tooltip says.
    """
    latlng = _click_point(click)
    if latlng is None:
        return None
    lat, lng = latlng
    x, y = Transformer.from_crs(CRS("EPSG:4326"), CRS(audit.crs), always_xy=True).transform(lng, lat)
    if not (math.isfinite(x) and math.isfinite(y)):
        return None
    point = shapely.Point(x, y)
    order = (prefer, *[s for s in _SIDES if s != prefer]) if prefer in _SIDES else _SIDES
    for side in order:
        frame = audit.admin if side == "admin" else audit.police
        if not len(frame):
            continue
        geoms = frame.geometry.values
        inside = shapely.covers(geoms, point)
        if inside.any():
            return side, str(frame[side].iloc[int(inside.argmax())])
        dist = shapely.distance(geoms, point)
        best = int(dist.argmin())
        if dist[best] <= tolerance_m:
            return side, str(frame[side].iloc[best])
    return None


def _apply_click(click: Any, audit) -> None:
    """A new click on the audit map picks the side and unit (before their widgets are drawn);
    the same click seen again on a rerun does nothing, so the selectbox can still override it."""
    point = _click_point(click)
    if point == st.session_state.get(_CLICK_KEY):
        return
    st.session_state[_CLICK_KEY] = point
    if point is None:
        return
    hit = clicked_unit(click, audit, prefer=st.session_state.get("gp_au_side", "admin"))
    if hit is None:
        st.caption(t("audit.click_none"))
        return
    st.session_state["gp_au_side"], st.session_state["gp_au_unit"] = hit


def _counterparts(audit, names: Mapping[str, str], click: Any = None) -> None:
    st.subheader(t("audit.counterparts"))
    st.caption(t("audit.click_hint_units", police=_in_sentence(names["police"]),
                 admin=_in_sentence(names["admin"])))
    _apply_click(click, audit)
    side = st.radio(t("audit.side"), ["admin", "police"], horizontal=True, key="gp_au_side",
                    format_func=names.__getitem__)
    ids = audit.admin["admin"].tolist() if side == "admin" else audit.police["police"].tolist()
    unit = st.selectbox(t("audit.unit"), ids, key="gp_au_unit")
    st.dataframe(pieces_table(audit, side=side, unit=unit, lang=current_language(), names=names),
                 hide_index=True, width="stretch")


def _belongs(audit, names: Mapping[str, str]) -> None:
    """Which unit each unit of the held side belongs to (each governance grid: its police grid
    and station), with a CSV download of the whole table as shown."""
    finer = "police" if audit.container == "admin" else "admin"
    other = "admin" if finer == "police" else "police"
    st.subheader(t("audit.belongs", finer=_in_sentence(names[finer]), other=_in_sentence(names[other])))
    if "station" in audit.police.columns and finer == "admin":
        st.caption(t("audit.belongs_station"))
    table = unit_table(audit, lang=current_language(), names=names)
    split = (audit.police if finer == "police" else audit.admin)["split"].to_numpy(bool)
    only = st.checkbox(t("audit.only_split", n=int(split.sum())), key="gp_au_only_split")
    st.dataframe(table[split] if only else table, hide_index=True, width="stretch", height=300)
    st.download_button(t("audit.dl_units"), csv_bytes(table), "units.csv", "text/csv", key="gp_au_dl_units")


_REASONS = (  # planning.alignment's reasons, in the UI language
    (re.compile(r"the station holding it is locked"), "audit.reason.locked_holder"),
    (re.compile(r"it is all that is left of station (?P<id>.+)"), "audit.reason.last"),
    (re.compile(r"station (?P<id>.+) would fall into more parts"), "audit.reason.parts"),
    (re.compile(r"it does not touch station (?P<id>.+)'s territory"), "audit.reason.touch"),
    (re.compile(r"station (?P<id>.+) is locked"), "audit.reason.locked"),
    (re.compile(r"blocked"), "audit.reason.blocked"),
)


def _reason(text: str, police: str) -> str:
    for pattern, key in _REASONS:
        m = pattern.fullmatch(str(text))
        if m:
            return t(key, police=police, **m.groupdict())
    return str(text)


def _in_sentence(name: str) -> str:
    return name.lower() if current_language() == "en" else name


def _text_cells(values: pd.Series) -> list[str]:
    return ["" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in values]


def _people_table(frame: pd.DataFrame, names: Mapping[str, str]) -> pd.DataFrame:
    """An alignment table (moves, kept pieces, workload) with headers and values for people:
    areas by ``readable_area``'s rule (one unit per measure), people and counts whole."""
    police = names["police"]
    labels = {"piece": t("audit.h.piece"), "admin": names["admin"],
              "station": t("audit.h.from", police=police) if "owner" in frame.columns else police,
              "from_station": t("audit.h.from", police=police),
              "to_station": t("audit.h.to", police=police), "owner": t("audit.h.owner")}
    units = {}
    for measure in ("area_m2", "population", "incidents", "parts"):
        cols = [c for c in frame.columns if c == measure or c.startswith(measure + "_")]
        if cols and measure == "area_m2":
            units[measure] = readable_area(frame[cols[0]])[1]
    out = {}
    for col in frame.columns:
        if col in labels:
            out[labels[col]] = _text_cells(frame[col])
        elif col == "reason":
            out[t("audit.h.reason")] = [_reason(r, _in_sentence(police)) for r in frame[col]]
        elif col == "locked":
            out[t("audit.h.locked")] = [t("audit.yes") if v else t("audit.no") for v in frame[col]]
        else:
            measure = next((m for m in ("area_m2", "population", "incidents", "parts")
                            if col == m or col.startswith(m + "_")), None)
            if measure is None:
                continue
            values = frame[col].to_numpy(float)
            if measure == "area_m2":
                label = t("audit.h.area", u=units[measure])
                values = (values / 1e6).round(1) if units[measure] == "km²" else values.round(0)
            else:
                label, values = t(f"audit.h.{measure}"), values.round(0)
            suffix = col[len(measure) + 1:]
            out[t(f"audit.h.{suffix}", what=label) if suffix else label] = values
    return pd.DataFrame(out)


def _alignment(ws, audit, names: Mapping[str, str], key: tuple) -> None:
    if audit.container == "admin":  # police units held by the civil ones: nothing to give an owner
        return
    police, admin = names["police"], names["admin"]
    st.subheader(t("audit.alignment_units", police=_in_sentence(police), admin=_in_sentence(admin)))
    c = st.columns(2)
    locked_s = c[0].multiselect(t("audit.locked_police", police=police), audit.police["police"].tolist(),
                                key="gp_au_ls", placeholder=t("ui.choose"))
    locked_t = c[1].multiselect(t("audit.locked_admin", admin=admin), audit.admin["admin"].tolist(),
                                key="gp_au_lt", placeholder=t("ui.choose"))
    proposal = _memo("proposal", (key, tuple(locked_s), tuple(locked_t)), lambda: propose_alignment(
        audit, locked_stations=locked_s, locked_townships=locked_t) if ws.path is None else _shared_proposal(
        state.layers_key(ws), key[2], tuple(locked_s), tuple(locked_t), audit))
    m = st.columns(3)
    m[0].metric(t("audit.moves"), len(proposal.moves))
    m[1].metric(t("audit.still_split_units", police=_in_sentence(police), admin=admin),
                int((proposal.owners["stations_after"] > 1).sum()))
    m[2].metric(t("audit.contiguous"), t("audit.yes") if proposal.contiguous else t("audit.no"))
    left, right = st.columns(2)
    no_defects = audit.defects.iloc[0:0]
    for column, side in ((left, "before"), (right, "after")):
        with column:
            title = t(f"audit.{side}")
            st.caption(title)
            show_map(lambda col=f"station_{side}", title=title: audit_map(
                         proposal.pieces, no_defects, station_col=col, title=title,
                         labels=_map_labels(names), context=state.map_context_of(ws)),
                     height=420, key=f"gp_au_{side}",
                     cache_key=_map_key(ws, side, proposal.pieces, options=(title,)))
    workload = _people_table(proposal.workload, names)
    st.markdown(f"**{escape_markdown(t('audit.workload_units', police=_in_sentence(police)))}**")
    st.dataframe(workload, hide_index=True, width="stretch")
    if len(proposal.kept):
        st.markdown(f"**{t('audit.kept')}**")
        st.dataframe(_people_table(proposal.kept, names), hide_index=True, width="stretch")
    d = st.columns(2)
    d[0].download_button(t("audit.dl_moves"), csv_bytes(_people_table(proposal.moves, names)),
                         "alignment_moves.csv", "text/csv", key="gp_au_dl_moves")
    d[1].download_button(t("audit.dl_workload"), csv_bytes(workload),
                         "alignment_workload.csv", "text/csv", key="gp_au_dl_work")


def render() -> None:
    """Draw the Boundary audit page for the open workspace."""
    st.header(t("page.audit"))
    ws = state.workspace_for_page()
    if ws is None:
        return
    opts = _options(ws)
    if opts is None:
        return
    key = (str(ws.path), ws.meta.get("created", ""), tuple(sorted(opts.items())))
    cached = st.session_state.get(_RESULT_KEY)
    if cached is None or cached[0] != key:
        with st.spinner(t("audit.running")):
            cached = (key, _audit_of(ws, opts))
        st.session_state[_RESULT_KEY] = cached
    audit = cached[1]
    lang = current_language()
    names = {"police": layer_name(opts["police"]), "admin": layer_name(opts["admin"])}
    show_warnings([str(w) for w in audit.warnings])
    kinds = audit.defects["kind"].value_counts()
    m = st.columns(5)
    m[0].metric(t("audit.split_police_units", police=names["police"], admin=_in_sentence(names["admin"])),
                f"{len(audit.split_police):,} / {len(audit.police):,}")
    m[1].metric(t("audit.split_admin_units", police=_in_sentence(names["police"]), admin=names["admin"]),
                f"{len(audit.split_admin):,} / {len(audit.admin):,}")
    m[2].metric(t("audit.gaps"), area_text(audit.gaps_m2))
    m[3].metric(t("audit.overlaps"), area_text(audit.overlaps_m2))
    m[4].metric(t("audit.slivers"), int(kinds.get("sliver", 0)))
    title = t("audit.pieces")
    labels = _map_labels(names)
    words = defect_texts(audit, lang=lang, names=names)
    defects = audit.defects.assign(kind_text=words["kind"], rule=words["rule"],
                                   area_m2=audit.defects["area_m2"].round(0))
    click = show_map(lambda: audit_map(audit.pieces, defects, station_col="police", title=title,
                                       labels=labels, context=state.map_context_of(ws)),
                     height=560, key="gp_au_map", returned_objects=["last_object_clicked"],
                     cache_key=_map_key(ws, "pieces", audit.pieces, audit.defects,
                                        options=tuple(sorted(opts.items()))))
    first_map_head_start("audit")  # the map on screen before the tables and maps below
    st.caption(t("audit.legend_units", police=_in_sentence(names["police"])))
    st.subheader(t("audit.ranked"))
    if audit.container is not None:
        big, small = ("police", "admin") if audit.container == "police" else ("admin", "police")
        st.caption(escape_markdown(t("audit.container_note", big=_in_sentence(names[big]),
                                     small=_in_sentence(names[small]))))
    st.dataframe(severity_table(audit, lang=lang, names=names), hide_index=True, width="stretch",
                 height=280)
    st.subheader(t("audit.defects"))
    st.dataframe(defects_table(audit, lang=lang, names=names), hide_index=True, width="stretch",
                 height=240)
    with st.expander(t("audit.rules")):
        for name, rule in rule_lines(audit, lang=lang, names=names):
            st.markdown(f"- **{escape_markdown(name)}**: {escape_markdown(rule)}")
    _counterparts(audit, names, click)
    _belongs(audit, names)
    drawn: dict[str, bytes] = {}

    def png() -> bytes:  # the reports' map image: drawn when a report is downloaded, not on every visit
        if "png" not in drawn:
            drawn["png"] = audit_map_png(audit, lang=lang, names=names)
        return drawn["png"]
    d = st.columns(3)
    d[0].download_button(t("audit.dl_crosswalk"),
                         spreadsheet_safe(crosswalk_table(audit)).to_csv(index=False).encode("utf-8"),
                         "crosswalk.csv", "text/csv", key="gp_au_dl_cw")
    d[1].download_button(t("audit.dl_html"),
                         lambda: report_html(audit, lang=lang, names=names, map_png=png()).encode("utf-8"),
                         "audit_report.html", "text/html", key="gp_au_dl_html")
    d[2].download_button(t("audit.dl_md_zip"), lambda: report_bundle(audit, lang=lang, names=names, map_png=png()),
                         "audit_report_md.zip", "application/zip", key="gp_au_dl_md")
    _alignment(ws, audit, names, key)
