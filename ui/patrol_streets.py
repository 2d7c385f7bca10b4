"""The street mode of the Patrol page (街巷巡逻): cover a station's chosen streets with the least
driving, split among units within their budgets, one-way streets honoured.

Thin: widgets are read, ``planning.street_patrol.streets_for_workspace`` does the work, the result
is drawn (one coloured line per unit, the chosen streets, the station).
"""
from __future__ import annotations

import folium
import pandas as pd
import streamlit as st

from geo.ids import normalise_ids
from geo.markup import escape_markdown
from geo.stations import station_names
from ui import state
from ui.basemap import app_map
from ui.i18n import current_language, road_class_label, t
from ui.maps import MapContext, TextTooltip, add_context, add_layer_control, add_legend, fit_area, legend_swatch
from ui.mapview import show_map
from ui.tables import show_table

__all__ = ["render_streets", "streets_map"]

_RESULT_KEY = "gp_ps_result"
_COLOURS = ("#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#a65628", "#f781bf",
            "#17becf", "#999999", "#bcbd22")


def streets_map(plan, lines, station_point, *, context: MapContext | None = None) -> folium.Map:
    """The chosen streets (grey) and one coloured line per unit (``lines``: unit, length_m,
    minutes, geometry, as ``planning.streets.tour_lines`` gives), in view with the station, over
    the roads, jurisdictions and area of ``context``; a legend."""
    streets = plan.streets.to_crs("EPSG:4326")
    shown = lines.to_crs("EPSG:4326")
    b = streets.total_bounds if len(streets) else shown.total_bounds
    fmap = app_map(prefer_canvas=False)  # the app's basemap (ui.basemap)
    lang = current_language()
    add_context(fmap, context, lang=lang)
    fit_area(fmap, b)
    for g in streets.geometry:
        folium.PolyLine([(y, x) for x, y in g.coords], color="#555555", weight=7, opacity=0.35).add_to(fmap)
    for i, r in enumerate(shown.itertuples()):
        folium.PolyLine([(y, x) for x, y in r.geometry.coords], color=_COLOURS[i % len(_COLOURS)],
                        weight=3, opacity=0.9,
                        tooltip=TextTooltip(t("ps.unit_tip", n=int(r.unit),
                                              km=f"{float(r.length_m) / 1000:.1f}",
                                              m=f"{float(r.minutes):.0f}"))).add_to(fmap)
    if station_point is not None:
        folium.CircleMarker([station_point.y, station_point.x], radius=7, color="#ffffff", weight=2, fill=True,
                            fill_color="#1f4e79", fill_opacity=1.0,
                            tooltip=TextTooltip(t("ps.station"))).add_to(fmap)
    rows = [legend_swatch("#555555", t("ps.legend.streets"), shape="line")]
    rows += [legend_swatch(_COLOURS[i % len(_COLOURS)], t("pt.legend.unit", n=int(r.unit)), shape="line")
             for i, r in enumerate(shown.itertuples()) if i < 10]
    if station_point is not None:
        rows.append(legend_swatch("#1f4e79", t("ps.station"), shape="dot"))
    add_legend(fmap, rows, lang=lang, title=t("ps.legend"))
    add_layer_control(fmap)
    return fmap


def render_streets(ws, network) -> None:
    """The street-patrol mode for workspace ``ws``; ``network()`` gives the cached road graph."""
    from planning.street_patrol import streets_for_workspace
    from planning.streets import tour_lines
    stations = ws.layer("stations")
    ids = normalise_ids(stations["station_id"]).tolist()
    names = station_names(stations)
    c = st.columns(5)
    station = c[0].selectbox(t("pt.station"), ids, key="gp_ps_station",
                             format_func=lambda i: f"{i} {names.get(i, '')}".strip())
    units = int(c[1].number_input(t("pt.units"), 1, 20, 2, 1, key="gp_ps_units"))
    budget = float(c[2].number_input(t("ps.budget"), 5, 720, 60, 5, key="gp_ps_budget"))
    by = c[3].radio(t("ps.by"), ["risk", "class"], key="gp_ps_by",
                    format_func=lambda k: t(f"ps.by_{k}"), horizontal=True)
    foot = c[4].checkbox(t("pt.foot"), key="gp_ps_foot")
    classes, risk_top = None, None
    if by == "class":
        from geo.road_classes import road_class_rank
        choices = sorted({str(c) for c in ws.layer("road_edges")["road_class"].dropna()},
                         key=lambda k: (road_class_rank(k), k))
        classes = st.multiselect(t("ps.classes"), choices, placeholder=t("ui.choose"),
                                 default=[c for c in ("street", "arterial") if c in choices],
                                 key="gp_ps_classes",
                                 format_func=lambda k: road_class_label(k, current_language()))
        if not classes:
            st.info(t("ps.pick_class"))
            return
    else:
        risk_top = st.slider(t("ps.risk_top"), 0.05, 1.0, 0.2, 0.05, key="gp_ps_risk")
    speed = 5.0 if foot else 30.0
    key = (str(ws.path), ws.meta.get("created", ""), station, units, budget, tuple(classes or ()),
           risk_top, foot)
    cached = st.session_state.get(_RESULT_KEY)
    if cached is None or cached[0] != key:
        with st.spinner(t("ps.running")):
            if ws.path:
                G = network()
            else:
                from geo.network import graph_from_workspace
                G = graph_from_workspace(ws)
            plan = streets_for_workspace(ws, station=station, units=units, budget_min=budget,
                                         classes=classes, risk_top=risk_top, speed_kmh=speed,
                                         oneway=not foot, exact_time_limit_s=6.0, G=G)
            lines = tour_lines(G, plan.split)
        cached = (key, plan, lines)
        st.session_state[_RESULT_KEY] = cached
    _, plan, lines = cached
    s = plan.summary()
    m = st.columns(4)
    m[0].metric(t("ps.required"), f"{s['required_km']:.1f} km ({s['streets']})")
    m[1].metric(t("ps.total"), f"{s['total_km']:.1f} km")
    m[2].metric(t("ps.deadhead"), f"{s['deadhead_km']:.1f} km")
    m[3].metric(t("ps.covered"), f"{s['covered_share']:.1%}")
    if s["covered_share"] < 1.0:
        st.warning(t("ps.short", share=f"{s['covered_share']:.1%}"))
    hit = stations[normalise_ids(stations["station_id"]) == station]
    point = hit.to_crs("EPSG:4326").geometry.iloc[0] if len(hit) else None
    left, right = st.columns([3, 2])
    with left:
        show_map(lambda: streets_map(plan, lines, point, context=state.map_context_of(ws)), height=560,
                 key="gp_ps_map",
                 cache_key=(cached[0], current_language()))
    with right:
        table = pd.DataFrame(s["units"])
        show_table(table, lang=current_language(), keys="ps.col", height=300)
        st.caption(escape_markdown(t("ps.bound", tour=f"{s['tour_km']:.1f}",
                                     bound=f"{s['lower_bound_km']:.1f}",
                                     oneway=int(s["oneway_streets"]))))
