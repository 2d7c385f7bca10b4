"""The Patrol routes page (巡逻路线): hotspots of a shift, routes of a station's units, timetable, export.

Thin: widgets are read, ``planning.patrol.plan_for_workspace`` does the work, the result is drawn.
The road graph and its travel-time engine are cached per workspace file as read-only resources;
plans are kept in the session per workspace and options, so panning the map never re-plans.
"""
from __future__ import annotations

import json

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import shapely
import streamlit as st

from geo.errors import InputError
from geo.hotspots import shift_from_text
from geo.ids import normalise_ids
from geo.markup import escape_html, escape_markdown
from geo.stations import station_names
from ui import state
from ui.basemap import app_map
from ui.errors import show_warnings, shown_errors
from ui.i18n import current_language, t
from ui.maps import (
    MapContext,
    TextTooltip,
    add_context,
    add_layer_control,
    add_legend,
    fit_area,
    legend_swatch,
    symbol_marker,
)
from ui.mapview import first_map_head_start, show_map
from ui.tables import csv_bytes, download_help, show_table

__all__ = ["render", "patrol_map", "UNIT_COLOURS", "SHIFTS"]

UNIT_COLOURS = ("#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#a65628", "#f781bf",
                "#17becf", "#999999", "#bcbd22")
SHIFTS = ("08:00-16:00", "16:00-24:00", "00:00-08:00", "20:00-02:00")
_NEEDED = ("stations", "cells", "incidents", "road_nodes", "road_edges")
_RESULT_KEY = "gp_patrol_result"
_SEED_KEY = "gp_pt_seed"


def _network(path: str, mtime: tuple):
    """The workspace's road graph and travel-time engine, of the road network every page shares
    (``state.road_network``, built once; read-only across sessions)."""
    return state.road_network(path, mtime).graph()


def patrol_map(routes, hot, station_point, *, context: MapContext | None = None) -> folium.Map:
    """Hotspot heat of the shift, one coloured line per unit, numbered stops, the station, over
    the roads, jurisdictions and area of ``context``; a legend of the units."""
    lines = routes.lines.to_crs("EPSG:4326")
    stops = routes.stops.to_crs("EPSG:4326")
    centres = hot.geometry.centroid.to_crs("EPSG:4326")
    shown = [g for g in (lines.geometry, stops.geometry) if len(g)] or [centres]
    if station_point is not None:
        shown.append(gpd.GeoSeries([station_point], crs="EPSG:4326"))
    boxes = np.array([g.total_bounds for g in shown])  # routes, every stop and the station in view
    bounds = (boxes[:, 0].min(), boxes[:, 1].min(), boxes[:, 2].max(), boxes[:, 3].max())
    fmap = app_map(prefer_canvas=False)  # the app's basemap (ui.basemap)
    lang = current_language()
    add_context(fmap, context, lang=lang)
    fit_area(fmap, bounds)
    weights = hot["risk"].to_numpy(dtype=float)
    weights = weights / weights.max() if len(weights) and weights.max() > 0 else weights
    folium.plugins.HeatMap([[p.y, p.x, float(w)] for p, w in zip(centres, weights)],
                           name=t("pt.heat"), radius=22, blur=18, min_opacity=0.25).add_to(fmap)
    if "hotspot" in hot.columns and hot["hotspot"].any():
        sig = hot[hot["hotspot"]].to_crs("EPSG:4326")
        folium.GeoJson(sig[["cell_id", "risk", "geometry"]] if "cell_id" in sig else sig[["risk", "geometry"]],
                       name=t("pt.significant"),
                       style_function=lambda f: {"fillOpacity": 0.0, "color": "#bd0026", "weight": 1.5}
                       ).add_to(fmap)
    for i, r in enumerate(lines.itertuples()):
        colour = UNIT_COLOURS[i % len(UNIT_COLOURS)]
        if r.stops == 0:
            continue
        folium.PolyLine([(y, x) for x, y in r.geometry.coords], color=colour, weight=4, opacity=0.85,
                        tooltip=TextTooltip(t("pt.unit_tip", n=int(r.unit), m=f"{float(r.minutes):.0f}",
                                              s=int(r.stops)))).add_to(fmap)
    for s in stops.itertuples():
        colour = UNIT_COLOURS[(int(s.unit) - 1) % len(UNIT_COLOURS)]
        html = (f'<div style="background:{colour};color:white;border-radius:50%;width:20px;height:20px;'
                f'text-align:center;font:bold 11px/20px sans-serif;border:1px solid white">'
                f'{escape_html(s.order)}</div>')
        folium.Marker([s.geometry.y, s.geometry.x], icon=folium.DivIcon(html=html, icon_size=(20, 20),
                                                                          icon_anchor=(10, 10)),
                      tooltip=TextTooltip(f"{s.unit}-{s.order} {s.hotspot}: {s.arrive}-{s.depart}")).add_to(fmap)
    if station_point is not None:
        symbol_marker(station_point.y, station_point.x, colour="#1f4e79", symbol="★",
                      tooltip=t("pt.station")).add_to(fmap)
    drawn = [int(r.unit) for r in lines.itertuples() if r.stops]
    rows = [legend_swatch(UNIT_COLOURS[(u - 1) % len(UNIT_COLOURS)], t("pt.legend.unit", n=u), shape="line")
            for u in drawn[:10]]
    if station_point is not None:
        rows.append(legend_swatch("#1f4e79", t("pt.station"), shape="dot"))
    if "hotspot" in hot.columns and hot["hotspot"].any():
        rows.append(legend_swatch("#bd0026", t("pt.significant")))
    add_legend(fmap, rows, lang=lang, title=t("pt.legend"))
    add_layer_control(fmap)
    return fmap


def _plan(ws, opts: dict, seed: int | None):
    """The routes and hotspots of a shift (``planning.patrol``: dose or visit-once) for the
    page's options ``opts``."""
    from planning.patrol import plan_for_workspace
    from planning.patrol.dose_routes import dose_for_workspace
    G, engine = _network(*state.layers_key(ws)) if ws.path else (None, None)
    if opts["mode"] == "dose":
        return dose_for_workspace(
            ws, station=opts["station"], units=opts["units"], shift=opts["shift"],
            dwell_min=opts["dwell"], min_gap_min=opts["gap"], seed=seed,
            speed_kmh=opts["speed"], time_limit_s=3.0, iterations=150, G=G,
            engine=engine if opts["speed"] is None else None)
    return plan_for_workspace(
        ws, station=opts["station"], units=opts["units"], shift=opts["shift"],
        dwell_min=opts["dwell"], seed=seed, speed_kmh=opts["speed"], time_limit_s=6.0,
        iterations=200, G=G, engine=engine if opts["speed"] is None else None)


@st.cache_resource(max_entries=16, show_spinner=False)
def _shared_plan(layers: tuple, options: tuple, seed: int | None, _ws):
    """``_plan`` of the workspace file at ``layers`` (``state.layers_key``) for ``options`` and
    ``seed``, made once for every session (a planner opening the page sees the plan at once; a
    timed search need not find the same routes twice, so sharing also keeps them steady):
    read-only."""
    return _plan(_ws, dict(options), seed)


def _map_key(ws, plan_key: tuple, routes, hot, station_point) -> tuple | None:
    """``show_map`` cache key of the patrol map: workspace file, language, the plan's options and
    seed, the station point, and the routes and hotspots drawn (a timed search need not give the
    same routes twice; ``state.map_cache_key``)."""
    point = None if station_point is None else shapely.to_wkb(station_point)
    return state.map_cache_key(ws, "patrol", current_language(), plan_key, point,
                               frames=(routes.lines, routes.stops, hot))


def _options(ws) -> dict:
    stations = ws.layer("stations")
    ids = normalise_ids(stations["station_id"]).tolist()
    names = station_names(stations)
    mode = st.radio(t("pt.mode"), ("dose", "once"), horizontal=True, key="gp_pt_mode",
                    format_func=lambda m: t(f"pt.mode.{m}"), help=t("pt.mode_help"))
    c = st.columns(6 if mode == "dose" else 5)
    station = c[0].selectbox(t("pt.station"), ids, key="gp_pt_station",
                             format_func=lambda i: f"{i} {names.get(i, '')}".strip())
    shift = c[1].text_input(t("pt.shift"), SHIFTS[0], key="gp_pt_shift",
                            help=t("pt.shift_help", examples=", ".join(SHIFTS)))
    units = c[2].number_input(t("pt.units"), 1, 20, 2, 1, key="gp_pt_units")
    if mode == "dose":  # Koper: stays of 10-15 minutes
        dwell = c[3].number_input(t("pt.dwell"), 10, 15, 12, 1, key="gp_pt_dwell_dose")
        gap = c[5].number_input(t("pt.gap"), 0, 240, 45, 5, key="gp_pt_gap")
    else:
        dwell = c[3].number_input(t("pt.dwell"), 0, 120, 10, 1, key="gp_pt_dwell")
        gap = None
    foot = c[4].checkbox(t("pt.foot"), key="gp_pt_foot")
    return {"station": station, "shift": str(shift), "units": int(units), "dwell": float(dwell),
            "speed": 5.0 if foot else None, "mode": mode, "gap": None if gap is None else float(gap)}


@st.cache_data(max_entries=16, show_spinner=False)
def _hot_times(path: str, mtime: tuple, station: str) -> dict:
    """Hour-of-week counts of a station's incidents and the shift proposal (cached per
    workspace and station)."""
    from geo.hot_times import HOT_TIME_LAYERS, parse_shifts, propose_shifts, shifts_load, workspace_hot_times
    from geo.workspace import read_workspace
    ws = read_workspace(path, layers=HOT_TIME_LAYERS)
    # incidents belong to a station by their station_id or the jurisdictions; else the county's
    by_station = "station_id" in ws.layer("incidents").columns or ws.has("jurisdictions")
    ht = workspace_hot_times(ws, station=station if by_station else None)
    today = shifts_load(ht.by_hour, parse_shifts(",".join(SHIFTS[:3])), [3, 3, 3])
    proposed = propose_shifts(ht.by_hour, n_shifts=3, unit_hours=today.unit_hours)
    return {"hour_of_week": ht.hour_of_week.tolist(), "weeks": ht.weeks, "incidents": ht.incidents,
            "peaks": ht.peaks(3), "today": today.as_dict(), "proposed": proposed.as_dict(),
            "county": not by_station}


def hot_times_chart(hour_of_week: list[float], lang: str):
    """A week-by-hour heat chart (days down, hours across) of incident counts (Altair)."""
    import altair as alt
    import pandas as pd

    from geo.hot_times import DAYS_EN, DAYS_ZH
    days = DAYS_ZH if lang == "zh" else DAYS_EN
    frame = pd.DataFrame({"day": [days[h // 24] for h in range(168)],
                          "hour": [f"{h % 24:02d}" for h in range(168)],
                          "count": [round(float(v), 2) for v in hour_of_week]})
    return (alt.Chart(frame).mark_rect()
            .encode(x=alt.X("hour:O", title=t("pt.ht.hour")),
                    y=alt.Y("day:O", sort=list(days), title=None),
                    color=alt.Color("count:Q", title=t("pt.ht.count"), scale=alt.Scale(scheme="orangered")),
                    tooltip=[alt.Tooltip("day:O", title=t("pt.ht.day")),
                             alt.Tooltip("hour:O", title=t("pt.ht.hour")),
                             alt.Tooltip("count:Q", title=t("pt.ht.count"))])
            .properties(height=220))


def _hot_times_section(ws, station: str) -> None:
    """When the station's incidents happen (week by hour) and shifts fitted to them."""
    with st.expander(t("pt.ht.title"), expanded=False):
        info = _hot_times(*state.layers_key(ws), station)
        lang = current_language()
        st.caption(t("pt.ht.caption_county" if info["county"] else "pt.ht.caption",
                     n=info["incidents"], weeks=f"{info['weeks']:.1f}"))
        st.altair_chart(hot_times_chart(info["hour_of_week"], lang), width="stretch")
        rows = []
        for which in ("today", "proposed"):
            plan = info[which]
            rows.append({"plan": t(f"pt.ht.{which}"),
                         "shifts": "; ".join(f"{s['shift']} x{s['units']}" for s in plan["shifts"]),
                         "unit_hours": plan["unit_hours"], "peak": plan["peak_pressure"]})
        import pandas as pd
        show_table(pd.DataFrame(rows), lang=lang, keys="pt.ht.col", height=110)
        st.caption(t("pt.ht.note"))


def render() -> None:
    """Draw the Patrol routes page for the open workspace."""
    st.header(t("page.patrol"))
    with shown_errors():
        ws = state.workspace_for_page(_NEEDED, missing_key="pt.need_layers")
        if ws is None:
            return
        if st.toggle(t("pt.mode_streets"), key="gp_pt_mode_streets"):  # 街巷巡逻: cover streets
            from ui.patrol_streets import render_streets
            render_streets(ws, lambda: _network(*state.layers_key(ws))[0])
            return
        if "time" not in ws.layer("incidents").columns:
            st.info(t("pt.need_time"))
            return
        opts = _options(ws)
        try:
            shift_from_text(opts["shift"])
        except InputError:  # a typing slip: said in the UI language, nothing planned
            st.error(t("pt.err.shift", value=escape_markdown(opts["shift"])))
            return
        b = st.columns([1, 1, 4])
        if _SEED_KEY not in st.session_state:
            st.session_state[_SEED_KEY] = None
        if b[0].button(t("pt.replan"), key="gp_pt_replan"):
            prev = st.session_state[_SEED_KEY]
            st.session_state[_SEED_KEY] = 1 if prev is None else prev + 1
        if b[1].button(t("pt.best"), key="gp_pt_best"):
            st.session_state[_SEED_KEY] = None
        seed = st.session_state[_SEED_KEY]
        key = (str(ws.path), ws.meta.get("created", ""), tuple(sorted(opts.items(), key=str)), seed)
        cached = st.session_state.get(_RESULT_KEY)
        dose = opts["mode"] == "dose"
        if cached is None or cached[0] != key:
            with st.spinner(t("pt.running")):
                options = tuple(sorted(opts.items(), key=str))
                routes, hot = (_plan(ws, opts, seed) if not ws.path
                               else _shared_plan(state.layers_key(ws), options, seed, ws))
            cached = (key, routes, hot)
            st.session_state[_RESULT_KEY] = cached
        _, routes, hot = cached
        summary = routes.summary()
        m = st.columns(4)
        if dose:
            m[0].metric(t("pt.dose_top"), f"{summary['dose_top_share']:.1%} ({summary['baseline_top_share']:.1%})",
                        help=t("pt.dose_top_help"))
        else:
            m[0].metric(t("pt.share"), f"{summary['risk_covered_share']:.1%}")
        m[1].metric(t("pt.hotspots"), f"{len(hot)} ({int(hot['hotspot'].sum()) if 'hotspot' in hot else 0})")
        if dose:
            m[2].metric(t("pt.used"), " / ".join(f"{r['minutes_used']:.0f} ({r['share_of_shift']:.0%})"
                                                 for r in summary["routes"]))
        else:
            m[2].metric(t("pt.minutes"), " / ".join(f"{r['minutes']:.0f}" for r in summary["routes"]))
        loss = summary.get("objective_loss_vs_best" if dose else "risk_loss_vs_best")
        m[3].metric(t("pt.loss"), "-" if loss is None else f"{loss:.1%}",
                    help=(t("pt.dose_loss_help") if dose else t("pt.loss_help")) if seed is not None else None)
        stations = ws.layer("stations")
        hit = stations[normalise_ids(stations["station_id"]) == opts["station"]]
        point = hit.to_crs("EPSG:4326").geometry.iloc[0] if len(hit) else None
        left, right = st.columns([3, 2])
        with left:
            show_map(lambda: patrol_map(routes, hot, point, context=state.map_context_of(ws)), height=560,
                     key="gp_pt_map",
                     cache_key=_map_key(ws, cached[0], routes, hot, point))
        first_map_head_start("patrol")  # the map on screen before the timetable
        with right:
            st.markdown(f"**{t('pt.timetable')}**")
            if dose:
                import pandas as pd

                from ui.patrol_timetable import unit_timetables
                tables = unit_timetables(routes, lang=current_language())
                tt = pd.concat([f.assign(**{t("tt.col.unit"): u}) for u, f in tables.items()], ignore_index=True)
                show_table(tt[[tt.columns[-1], *tt.columns[:-1]]], lang=current_language(), height=520)
            else:
                tt = routes.timetable()[["unit", "order", "hotspot", "arrive", "depart", "risk"]]
                show_table(tt, lang=current_language(), keys="pt.col", height=520)
        show_warnings(routes.notes)  # kept with the cached plan; each shown once (ui.errors)
        d = st.columns(4 if dose else 3)
        from planning.patrol import routes_to_geojson, routes_to_gpx
        files = download_help(current_language())  # files keep the data's column names
        d[0].download_button(t("pt.dl_geojson"), json.dumps(routes_to_geojson(routes), ensure_ascii=False),
                             "patrol_routes.geojson", "application/geo+json", key="gp_pt_dl_gj", help=files)
        d[1].download_button(t("pt.dl_gpx"), routes_to_gpx(routes), "patrol_routes.gpx",
                             "application/gpx+xml", key="gp_pt_dl_gpx", help=files)
        d[2].download_button(t("pt.dl_csv"), csv_bytes(routes.timetable()),
                             "patrol_timetable.csv", "text/csv", key="gp_pt_dl_csv", help=files)
        if dose:
            from ui.patrol_timetable import timetable_html
            d[3].download_button(t("pt.dl_html"), timetable_html(routes, lang=current_language()),
                                 "patrol_timetable.html", "text/html", key="gp_pt_dl_html")
        if ws.path:  # after the map: its chart is drawn when the map is on screen
            _hot_times_section(ws, opts["station"])
