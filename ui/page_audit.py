"""The Boundary audit page (辖区比对): two partitions of the workspace compared, mapped and aligned.

Thin: widgets are read, ``geo.audit.audit_partitions`` and ``planning.alignment.propose_alignment``
do the work, the results are drawn. Results are kept in the session per workspace and options.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

import folium
import geopandas as gpd
import pandas as pd
import shapely
import streamlit as st
from pyproj import CRS, Transformer

from geo.audit import audit_partitions
from geo.audit_report import crosswalk_table, report_html, report_markdown
from geo.markup import spreadsheet_safe
from geo.validate import LAYERS
from planning.alignment import propose_alignment
from ui.mapview import show_map
from ui import state
from ui.colors import station_colors
from ui.i18n import current_language, layer_name, t
from ui.maps import FieldsTooltip

__all__ = ["render", "audit_map", "clicked_unit"]

GAP_COLOUR, OVERLAP_COLOUR, SLIVER_COLOUR = "#d62728", "#9467bd", "#333333"
_POLICE_LAYERS = ("jurisdictions", "police_grids", "cells")
_ADMIN_LAYERS = ("townships", "gov_grids", "communities", "cells")
_RESULT_KEY = "gp_audit_result"
_CLICK_KEY = "gp_au_last_click"
_SIDES = ("admin", "police")


def _display(gdf: gpd.GeoDataFrame, columns: list[str], *, tolerance_m: float = 5.0) -> gpd.GeoDataFrame:
    keep = list(dict.fromkeys(c for c in columns if c in gdf.columns))
    out = gpd.GeoDataFrame(gdf[keep].astype(str), geometry=gdf.geometry.simplify(tolerance_m).values,
                           crs=gdf.crs)
    return out[~out.geometry.is_empty].to_crs("EPSG:4326")


def audit_map(pieces: gpd.GeoDataFrame, defects: gpd.GeoDataFrame, *, station_col: str,
              title: str) -> folium.Map:
    """Pieces coloured by ``station_col``, gaps red, overlaps purple, slivers outlined."""
    colours = station_colors(pieces[station_col])
    shown = _display(pieces, ["police", "admin", station_col, "relation"])
    bounds = shown.total_bounds
    fmap = folium.Map(tiles="OpenStreetMap", control_scale=True)
    fmap.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    folium.GeoJson(
        shown, name=title,
        style_function=lambda f: {"fillColor": colours.get(f["properties"][station_col], "#999999"),
                                  "color": "#555555", "weight": 0.6, "fillOpacity": 0.55},
        tooltip=FieldsTooltip(list(dict.fromkeys(c for c in ("police", "admin", station_col) if c in shown))),
    ).add_to(fmap)
    styles = {"gap": {"fillColor": GAP_COLOUR, "color": GAP_COLOUR, "weight": 1, "fillOpacity": 0.8},
              "overlap": {"fillColor": OVERLAP_COLOUR, "color": OVERLAP_COLOUR, "weight": 1, "fillOpacity": 0.8},
              "sliver": {"fillOpacity": 0.0, "color": SLIVER_COLOUR, "weight": 2.5}}
    for kind, style in styles.items():
        part = defects[defects["kind"] == kind]
        if len(part):
            folium.GeoJson(_display(part, ["kind", "rule", "police", "admin", "area_m2"], tolerance_m=0.5),
                           name=t(f"audit.defect.{kind}"), style_function=lambda f, s=style: s,
                           tooltip=FieldsTooltip(["kind", "rule", "police", "admin", "area_m2"])
                           ).add_to(fmap)
    folium.LayerControl(collapsed=True).add_to(fmap)
    return fmap


def _map_key(ws, name: str, *frames: pd.DataFrame, options: tuple = ()) -> tuple | None:
    """``show_map`` cache key of an audit map: workspace file, map, language, options, and the
    frames it is drawn from (``state.map_cache_key``)."""
    return state.map_cache_key(ws, "audit", name, current_language(), options, frames=frames)


def _options(ws) -> dict | None:
    polygon = [n for n in ws.layers if n in LAYERS and LAYERS[n].geometry == "polygon" and ws.has(n)]
    police_opts = [n for n in _POLICE_LAYERS if n in polygon]
    admin_opts = [n for n in _ADMIN_LAYERS if n in polygon]
    if not police_opts or not admin_opts:
        st.info(t("audit.need_layers"))
        return None
    c = st.columns(4)
    police = c[0].selectbox(t("audit.police_layer"), police_opts, format_func=layer_name, key="gp_au_police")
    admin = c[1].selectbox(t("audit.admin_layer"), admin_opts, format_func=layer_name, key="gp_au_admin",
                           index=0 if admin_opts[0] != police or len(admin_opts) == 1 else 1)
    weights = ["area"] + (["population"] if ws.has("cells") and "population" in ws.layer("cells") else []) \
        + (["incidents"] if ws.has("incidents") else [])
    weight = c[2].selectbox(t("audit.weight"), weights, format_func=lambda w: t(f"audit.weight.{w}"),
                            key="gp_au_weight")
    min_share = c[3].number_input(t("audit.min_share"), 0.01, 0.5, 0.05, 0.01, key="gp_au_share")
    return {"police": police, "admin": admin, "weight": weight, "min_share": float(min_share)}


def _run(ws, opts: dict):
    kwargs = {}
    if ws.has("cells") and "population" in ws.layer("cells"):
        kwargs.update(population=ws.layer("cells"), population_col="population")
    if ws.has("incidents"):
        kwargs["incidents"] = ws.layer("incidents")
    return audit_partitions(ws.layer(opts["police"]), ws.layer(opts["admin"]),
                            police_id=LAYERS[opts["police"]].id_col, admin_id=LAYERS[opts["admin"]].id_col,
                            weight=opts["weight"], min_share=opts["min_share"], working_crs=ws.crs,
                            police_layer=opts["police"], admin_layer=opts["admin"], **kwargs)


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


def _counterparts(audit, click: Any = None) -> None:
    st.subheader(t("audit.counterparts"))
    st.caption(t("audit.click_hint"))
    _apply_click(click, audit)
    side = st.radio(t("audit.side"), ["admin", "police"], horizontal=True, key="gp_au_side",
                    format_func=lambda s: t(f"audit.side.{s}"))
    ids = audit.admin["admin"].tolist() if side == "admin" else audit.police["police"].tolist()
    unit = st.selectbox(t("audit.unit"), ids, key="gp_au_unit")
    rows = audit.pieces[audit.pieces[side] == unit]
    cols = ["police", "admin", "area_m2"] + [c for c in ("population", "incidents") if c in rows] + \
        ["share_of_police", "share_of_admin", "significant", "sliver"]
    st.dataframe(pd.DataFrame(rows[cols]).sort_values(f"share_of_{side}", ascending=False),
                 hide_index=True, width="stretch")


def _alignment(ws, audit) -> None:
    st.subheader(t("audit.alignment"))
    c = st.columns(2)
    locked_s = c[0].multiselect(t("audit.locked_stations"), audit.police["police"].tolist(), key="gp_au_ls",
                                placeholder=t("ui.choose"))
    locked_t = c[1].multiselect(t("audit.locked_townships"), audit.admin["admin"].tolist(), key="gp_au_lt",
                                placeholder=t("ui.choose"))
    proposal = propose_alignment(audit, locked_stations=locked_s, locked_townships=locked_t)
    m = st.columns(3)
    m[0].metric(t("audit.moves"), len(proposal.moves))
    m[1].metric(t("audit.still_split"), int((proposal.owners["stations_after"] > 1).sum()))
    m[2].metric(t("audit.contiguous"), t("audit.yes") if proposal.contiguous else t("audit.no"))
    left, right = st.columns(2)
    no_defects = audit.defects.iloc[0:0]
    for column, side in ((left, "before"), (right, "after")):
        with column:
            title = t(f"audit.{side}")
            st.caption(title)
            show_map(lambda col=f"station_{side}", title=title: audit_map(
                         proposal.pieces, no_defects, station_col=col, title=title),
                     height=420, key=f"gp_au_{side}",
                     cache_key=_map_key(ws, side, proposal.pieces, options=(title,)))
    st.markdown(f"**{t('audit.workload')}**")
    st.dataframe(proposal.workload, hide_index=True, width="stretch")
    if len(proposal.kept):
        st.markdown(f"**{t('audit.kept')}**")
        st.dataframe(proposal.kept, hide_index=True, width="stretch")
    d = st.columns(2)
    d[0].download_button(t("audit.dl_moves"), spreadsheet_safe(proposal.moves).to_csv(index=False).encode("utf-8"),
                         "alignment_moves.csv", "text/csv", key="gp_au_dl_moves")
    d[1].download_button(t("audit.dl_workload"),
                         spreadsheet_safe(proposal.workload).to_csv(index=False).encode("utf-8"),
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
            cached = (key, _run(ws, opts))
        st.session_state[_RESULT_KEY] = cached
    audit = cached[1]
    s = audit.summary()
    m = st.columns(5)
    m[0].metric(t("audit.split_police"), f"{len(s['split_police'])} / {s['police_units']}")
    m[1].metric(t("audit.split_admin"), f"{len(s['split_admin'])} / {s['admin_units']}")
    m[2].metric(t("audit.gaps"), f"{s['gaps_m2'] / 1e6:,.3f} km²")
    m[3].metric(t("audit.overlaps"), f"{s['overlaps_m2'] / 1e6:,.3f} km²")
    m[4].metric(t("audit.slivers"), s["slivers"])
    title = t("audit.pieces")
    click = show_map(lambda: audit_map(audit.pieces, audit.defects, station_col="police", title=title),
                     height=560, key="gp_au_map", returned_objects=["last_object_clicked"],
                     cache_key=_map_key(ws, "pieces", audit.pieces, audit.defects,
                                        options=tuple(sorted(opts.items()))))
    st.caption(t("audit.legend"))
    st.subheader(t("audit.ranked"))
    st.dataframe(audit.severity, hide_index=True, width="stretch", height=280)
    st.subheader(t("audit.defects"))
    st.dataframe(pd.DataFrame(audit.defects.drop(columns="geometry")), hide_index=True, width="stretch",
                 height=240)
    with st.expander(t("audit.rules")):
        for name, rule in s["rules"].items():
            st.markdown(f"- **{name}**: {rule}")
    _counterparts(audit, click)
    d = st.columns(3)
    d[0].download_button(t("audit.dl_crosswalk"),
                         spreadsheet_safe(crosswalk_table(audit)).to_csv(index=False).encode("utf-8"),
                         "crosswalk.csv", "text/csv", key="gp_au_dl_cw")
    d[1].download_button(t("audit.dl_html"), report_html(audit).encode("utf-8"), "audit_report.html",
                         "text/html", key="gp_au_dl_html")
    d[2].download_button(t("audit.dl_md"), report_markdown(audit).encode("utf-8"), "audit_report.md",
                         "text/markdown", key="gp_au_dl_md")
    _alignment(ws, audit)
