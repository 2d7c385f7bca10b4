"""The Redistricting page (辖区调整): optimise, edit by hand, save, compare and export jurisdiction plans.

Thin: widgets are read, ``planning.redistrict.optimize`` (a generator: this page draws its
progress bar and stop button) and ``planning.editing`` do the work, the results are drawn. The
district graph is a read-only ``st.cache_resource`` keyed by workspace path, modification time
and weights; the plan being edited lives in the session as an immutable ``editing.History``.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Mapping, Sequence

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import streamlit as st
from shapely.geometry import shape

from geo.errors import InputError, format_ids
from geo.ids import id_str, normalise_ids
from geo.markup import escape_markdown
from geo.stations import station_names
from geo.workspace import latest_draft
from planning.editing import (
    History,
    cells_in_polygon,
    compare_plans,
    history_from_draft,
    plan_from_workspace,
    plan_versions,
    reassign_unlocked,
    rebased_history,
    record_step,
    save_plan,
    start_draft,
    write_plan,
)
from planning.plan import DistrictGraph, Plan
from planning.study import current_plan
from server.accounts import require
from ui import login, state
from ui.basemap import app_map
from ui.colors import workspace_station_colors
from ui.errors import shown_errors
from ui.i18n import current_language, t
from ui.maps import (
    FieldsTooltip,
    MapContext,
    TextTooltip,
    add_context,
    add_layer_control,
    feature_collection,
    fit_area,
    layer_for_display,
)
from ui.mapview import array_digest, first_map_head_start, show_map
from ui.redistrict_orders import orders_block, staffing_block
from ui.tables import column_header, csv_bytes, download_help, show_table

__all__ = ["render", "weight_spec", "weight_columns", "parse_ids",
           "workload_table", "deviation_chart", "lasso_polygon", "plan_map", "plan_choices"]

_NEEDED = ("cells", "stations")
_CTX = "gp_rd_ctx"          # the workspace path the session state belongs to
_HIST = "gp_rd_hist"        # editing.History of the plan being edited
_PARENT = "gp_rd_parent"    # plan_id the edited plan derives from (None: not from a saved plan)
_PENDING = "gp_rd_pending"  # best plan of a running optimisation (kept if the run is stopped)
_RUN = "gp_rd_runinfo"      # summary of the last optimisation
_MSG = "gp_rd_msg"          # one message shown after a rerun
_DRAFT = "gp_rd_draft"      # id of the draft whose steps are recorded in the workspace
_NON_WEIGHTS = {"cell_id", "station_id", "township_id", "area_m2"}


# --- pure helpers (no Streamlit) ----------------------------------------------------------------

def weight_columns(cells: pd.DataFrame) -> list[str]:
    """Cell columns that can carry workload (numeric, not ids), plus ``area``."""
    cols = [c for c in cells.columns if c not in _NON_WEIGHTS and c != "geometry"
            and pd.api.types.is_numeric_dtype(cells[c]) and not pd.api.types.is_bool_dtype(cells[c])]
    return cols + ["area"]


def weight_spec(factors: Mapping[str, float]) -> str:
    """``{"incidents": 2, "population": 1}`` -> ``"incidents=2,population=1"`` (zero factors
    dropped, order kept); the string ``planning.plan.parse_weights`` and the CLI accept."""
    return ",".join(f"{col}={float(w):g}" for col, w in factors.items() if float(w) > 0)


def parse_ids(text: str) -> list[str]:
    """Cell ids typed by a planner: separated by commas, spaces or Chinese commas; ``10-14`` is
    a range of whole numbers. Returns the ids as text (``DistrictGraph.positions`` matches
    numeric text to numeric ids). Raises InputError naming a backwards range."""
    out: list[str] = []
    for part in text.replace("，", ",").replace("、", ",").replace(";", ",").replace(" ", ",").split(","):
        part = part.strip()
        if not part:
            continue
        lo, dash, hi = part.partition("-")
        if dash and lo.strip().isdigit() and hi.strip().isdigit():
            a, b = int(lo), int(hi)
            if b < a:
                raise InputError(f"cell range {part!r} runs backwards; write it low-high, e.g. {b}-{a}")
            out.extend(str(i) for i in range(a, b + 1))
        else:
            out.append(part)
    return out


def workload_table(before: Plan | None, after: Plan, *,
                   columns: Sequence[str] = ("population", "incidents")) -> pd.DataFrame:
    """One row per station: cells, workload share (% of the total), deviation from the mean
    (%), and the sums of ``columns``, before and after; contiguity after. ``before`` None
    gives the after columns only."""
    cols = [c for c in columns if c in after.graph.cells.columns]
    ta = after.table(columns=cols)
    total = float(after.graph.workload.sum()) or 1.0
    out = pd.DataFrame(index=ta.index)
    names = station_names(after.graph.stations)
    if names:
        out["name"] = [names.get(s, "") for s in ta.index]
    tb = before.table(columns=cols) if before is not None else None
    for col, scale in (("cells", 1), ("workload", 100.0 / total), ("deviation", 100.0), *((c, 1) for c in cols)):
        if tb is not None:
            out[f"{col}_before"] = tb[col] * scale
        out[f"{col}_after"] = ta[col] * scale
    out["contiguous_after"] = ta["contiguous"]
    out.index.name = "station_id"
    return out.reset_index()


def deviation_chart(before: Plan | None, after: Plan) -> pd.DataFrame:
    """Deviation from the mean workload in % per station (index), columns ``before``/``after``."""
    data = {"after": after.deviation * 100.0}
    if before is not None:
        data = {"before": before.deviation * 100.0, **data}
    return pd.DataFrame(data)


def lasso_polygon(drawing: Mapping | None, crs) -> shapely.Geometry | None:
    """The polygon of a Leaflet.draw feature (GeoJSON, EPSG:4326) in ``crs``; None when the
    drawing is missing or not a polygon."""
    if not drawing or not isinstance(drawing, Mapping):
        return None
    geom = drawing.get("geometry", drawing)
    if not isinstance(geom, Mapping) or geom.get("type") not in ("Polygon", "MultiPolygon"):
        return None
    poly = shapely.make_valid(shape(geom))
    return gpd.GeoSeries([poly], crs="EPSG:4326").to_crs(crs).iloc[0]


def plan_choices(current: Plan | None, versions: pd.DataFrame) -> list[str]:
    """Plans a planner can pick: ``"edited"``, ``"current"`` (when the cells carry stations) and
    ``"plan:<id>"`` for each saved version."""
    out = ["edited"] + (["current"] if current is not None else [])
    return out + [f"plan:{int(i)}" for i in pd.to_numeric(versions["plan_id"], errors="coerce").dropna()]


def plan_map(districts: dict, stations: dict, colours: Mapping[str, str], *,
             bounds: Sequence[float], changed: dict | None = None, draw: bool = False,
             title: str = "", roads: dict | None = None, context: MapContext | None = None,
             jurisdictions: bool = False) -> folium.Map:
    """Districts filled with their station colour, station points, optionally changed cells
    (hatched outline) and the lasso drawing tools, over the area and roads of ``context``
    (``ui.maps.add_context``; ``roads``, e.g. every street of one station from
    ``ui.maps.roads_for_map``, replaces the context's roads; ``jurisdictions`` also outlines
    today's station jurisdictions, for districts drawn inside one)."""
    fmap = app_map(prefer_canvas=False)  # the app's basemap (ui.basemap)
    add_context(fmap, context, lang=current_language(), jurisdictions=jurisdictions, roads=roads)
    fit_area(fmap, bounds)
    folium.GeoJson(
        districts, name=title or "districts",
        style_function=lambda f: {"fillColor": colours.get(str(f["properties"]["station_id"]), "#999999"),
                                  "color": "#333333", "weight": 1.2, "fillOpacity": 0.5},
        tooltip=FieldsTooltip([c for c in ("station_id", "name", "cells", "deviation")
                               if districts["features"] and c in districts["features"][0]["properties"]]),
    ).add_to(fmap)
    if changed is not None and changed["features"]:
        folium.GeoJson(changed, name="changed",
                       style_function=lambda f: {"fillOpacity": 0.0, "color": "#000000", "weight": 1.5,
                                                 "dashArray": "3 3"},
                       tooltip=FieldsTooltip(["cell_id", "from_station", "to_station"]),
                       ).add_to(fmap)
    for f in stations["features"]:
        x, y = f["geometry"]["coordinates"][:2]
        sid = str(f["properties"]["station_id"])
        folium.CircleMarker([y, x], radius=6, color="#ffffff", weight=2, fill=True, fill_opacity=1.0,
                            fill_color=colours.get(sid, "#333333"),
                            tooltip=TextTooltip(f"{sid} {f['properties'].get('name', '')}".strip())).add_to(fmap)
    if draw:
        folium.plugins.Draw(export=False, position="topleft",
                            draw_options={"polyline": False, "circle": False, "marker": False,
                                          "circlemarker": False, "polygon": True, "rectangle": True},
                            edit_options={"edit": False, "remove": False}).add_to(fmap)
    add_layer_control(fmap)
    return fmap


# --- cached resources ---------------------------------------------------------------------------

@st.cache_resource(max_entries=4, show_spinner=False)
def _graph(path: str, mtime: tuple, weights: str) -> DistrictGraph:
    """The district graph of a workspace file (shared read-only: never mutate it)."""
    from geo.workspace import read_workspace
    from planning.study import STUDY_LAYERS, workspace_graph
    ws = read_workspace(path, layers=STUDY_LAYERS)
    return workspace_graph(ws, weights=weights)


def _plan_of(key: tuple, assignment: bytes) -> Plan:
    return Plan(_graph(*key), np.frombuffer(assignment, dtype=np.int64))


@st.cache_data(max_entries=24, show_spinner=False)
def _districts(key: tuple, assignment: bytes) -> dict:
    """Dissolved districts of a plan for the web map (GeoJSON dict, EPSG:4326)."""
    from planning.editing import jurisdictions_from_plan
    plan = _plan_of(key, assignment)
    jur = jurisdictions_from_plan(plan)
    names = station_names(plan.graph.stations)
    jur["name"] = [names.get(s, "") for s in jur["station_id"]]
    jur["deviation"] = [f"{d:+.1%}" for d in jur["deviation"]]
    return feature_collection(layer_for_display(jur, ["station_id", "name", "cells", "deviation"],
                                                tolerance_m=10.0))


@st.cache_data(max_entries=24, show_spinner=False)
def _changed(key: tuple, before: bytes, after: bytes) -> dict:
    """Cells whose station differs between two plans (GeoJSON dict, EPSG:4326)."""
    g = _graph(*key)
    a, b = np.frombuffer(before, dtype=np.int64), np.frombuffer(after, dtype=np.int64)
    mask = a != b
    ids = np.asarray(g.station_ids, dtype=object)
    gdf = gpd.GeoDataFrame({"cell_id": g.cell_ids[mask].astype(str), "from_station": ids[a[mask]],
                            "to_station": ids[b[mask]]}, geometry=g.cells.geometry.values[mask], crs=g.cells.crs)
    return feature_collection(layer_for_display(gdf, ["cell_id", "from_station", "to_station"], tolerance_m=0.0))


@st.cache_data(max_entries=4, show_spinner=False)
def _stations(key: tuple) -> tuple[dict, tuple[float, float, float, float]]:
    g = _graph(*key)
    pts = g.stations.copy()
    pts["station_id"] = normalise_ids(pts["station_id"])
    shown = layer_for_display(pts, ["station_id", "name"])
    b = gpd.GeoSeries(g.cells.geometry.values, crs=g.cells.crs).to_crs("EPSG:4326").total_bounds
    return feature_collection(shown), tuple(float(v) for v in b)


def _export(plan: Plan, suffix: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="gridpatrol-plan-") as folder:
        path = Path(folder) / f"plan{suffix}"
        write_plan(plan, path)
        return path.read_bytes()


# --- page sections ------------------------------------------------------------------------------

def _weights(ws) -> str:
    cells = ws.layer("cells")
    options = weight_columns(cells)
    # Preselect a weight the workspace has (incidents, else population, with a positive total);
    # else area: an empty weight would fail the page's first view.
    default = [next((col for col in ("incidents", "population") if col in options
                     and float(pd.to_numeric(cells[col], errors="coerce").sum()) > 0), "area")]
    c = st.columns([3, 5])
    lang = current_language()
    chosen = c[0].multiselect(t("rd.weight_cols"), options, default=default, key="gp_rd_wcols",
                              help=t("rd.weight_help"), placeholder=t("ui.choose"),
                              format_func=lambda col: column_header(col, lang))
    factors: dict[str, float] = {}
    if chosen:
        fc = c[1].columns(len(chosen))
        for i, col in enumerate(chosen):
            factors[col] = fc[i].number_input(t("rd.factor", col=column_header(col, lang)), 0.0, 100.0, 1.0, 0.5,
                                              key=f"gp_rd_w_{col}")
    spec = weight_spec(factors)
    if not spec:
        raise InputError(t("rd.err.no_weight"))
    return spec


def _session(ws, graph: DistrictGraph, current: Plan | None) -> History:
    """The History of this session for this workspace: kept across reruns, rebased when only
    the weights changed; after a reload, the planner's last draft replayed from the workspace
    (``plan_edits``); otherwise a new draft from the current plan."""
    hist = st.session_state.get(_HIST)
    if st.session_state.get(_CTX) == str(ws.path) and hist is not None:
        hist = rebased_history(hist, graph)
    else:
        hist = None
        st.session_state.pop(_DRAFT, None)
        draft = latest_draft(ws.path, author=login.current_account().name) if ws.path else None
        restored = history_from_draft(ws.path, draft, graph) if draft else None
        if restored is not None:
            hist = restored[0]
            st.session_state[_DRAFT] = draft
            st.session_state[_MSG] = ("info", t("rd.restored", n=restored[1] - 1))
    if hist is None:
        from planning.redistrict import grown_plan
        hist = History.start(current if current is not None else grown_plan(graph))
        st.session_state[_PARENT] = None
        st.session_state.pop(_RUN, None)
        st.session_state.pop(_DRAFT, None)
    st.session_state[_CTX] = str(ws.path)
    st.session_state[_HIST] = hist
    return hist


def _record(before: History, after: History, action: str) -> None:
    """Keep the step in the workspace's edit history of this planner's draft (planners only:
    a viewer's edits stay in the session)."""
    path = st.session_state.get(_CTX)
    account = login.current_account()
    if not path or not account.can("planner") or after is before:
        return
    draft = st.session_state.get(_DRAFT)
    if draft is None:
        draft = start_draft(path, before, author=account.name, base="session")
        st.session_state[_DRAFT] = draft
    record_step(path, draft, before, after, action=action, author=account.name)


def _adopt_pending(stopped: bool) -> None:
    """A run interrupted by the stop button (or any click) leaves its best plan: keep it."""
    pending = st.session_state.pop(_PENDING, None)
    if pending is None:
        return
    hist: History = st.session_state[_HIST]
    plan = pending["plan"]
    if plan.graph is hist.current.graph:
        _set_history(hist.push(plan, "optimiser"), action="push")
        st.session_state[_PARENT] = None
    st.session_state[_RUN] = {**pending["info"], "stopped": True}
    if stopped:
        st.session_state[_MSG] = ("info", t("rd.stopped"))


def _optimiser(graph: DistrictGraph, current: Plan | None, hist: History) -> None:
    from planning.constraints import locked_positions
    from planning.redistrict import ScoreWeights, grown_plan, optimize, repaired_plan

    st.subheader(t("rd.optimise"))
    c = st.columns(4)
    max_dev = c[0].number_input(t("rd.max_dev"), 0.5, 50.0, 5.0, 0.5, key="gp_rd_maxdev") / 100.0
    starts = (["current"] if current is not None else []) + ["scratch", "edited"]
    start = c[1].selectbox(t("rd.start"), starts, key="gp_rd_start", format_func=lambda s: t(f"rd.start.{s}"))
    limit = c[2].number_input(t("rd.time_limit"), 1, 600, 30, 1, key="gp_rd_limit")
    seed = c[3].number_input(t("rd.seed"), 0, 10_000, 0, 1, key="gp_rd_seed")
    c = st.columns(4)
    keep_towns = c[0].checkbox(t("rd.keep_townships"), key="gp_rd_keep", disabled=graph.township is None)
    change = c[1].number_input(t("rd.min_change"), 0.0, 1.0, 0.05 if start != "scratch" else 0.0, 0.01,
                               key=f"gp_rd_change_{start}", help=t("rd.min_change_help"))
    locked_st = c[2].multiselect(t("rd.lock_stations"), list(graph.station_ids), key="gp_rd_lock_st",
                               placeholder=t("ui.choose"))
    c[3].caption(t("rd.locked_cells_n", n=len(hist.locked)))
    # Least change (planning.least_change) is the default from the current plan.
    methods = ["least_change", "anneal"] if start == "current" else ["anneal"]
    method = st.radio(t("rd.method"), methods, key=f"gp_rd_method_{start}", horizontal=True,
                      format_func=lambda m: t(f"rd.method.{m}"), help=t("rd.method_help"))
    b = st.columns([1, 1, 4])
    run = b[0].button(t("rd.run"), key="gp_rd_run", type="primary")
    stop = b[1].button(t("rd.stop"), key="gp_rd_stop")
    _adopt_pending(stopped=stop)
    if not run:
        return
    hist = st.session_state[_HIST]  # a run interrupted by this click has just been adopted
    locked_cells = sorted(hist.locked, key=str)
    if start == "edited":
        base = repaired_plan(hist.current)
        baseline = base
    else:
        baseline = current if current is not None else None
        if start == "current":
            base = repaired_plan(current)
        else:
            mask = locked_positions(graph, baseline, cells=locked_cells, stations=locked_st,
                                    station_cells=False) if baseline is not None else None
            base = grown_plan(graph, locked=mask, baseline=baseline)
            base = repaired_plan(base)
    if method == "least_change":
        from planning.least_change import least_change
        with st.spinner(t("rd.running")):
            res = least_change(current, baseline=current, max_deviation=max_dev,
                               locked_cells=locked_cells, locked_stations=locked_st,
                               time_limit_s=float(limit), rng=np.random.default_rng(int(seed)))
        _set_history(st.session_state[_HIST].push(res.plan, "optimiser"), action="push")
        st.session_state[_PARENT] = None
        st.session_state[_RUN] = {"seconds": res.seconds, "iterations": 0, "target": max_dev,
                                  "max_deviation": res.plan.max_deviation, "start": start,
                                  "target_reached_s": res.seconds if res.target_met else None,
                                  "stopped": False, "method": method}
        return
    weights = ScoreWeights(change=float(change), townships=0.05 if keep_towns else 0.0)
    bar = st.progress(0.0, text=t("rd.running"))
    last = None
    for last in optimize(base, max_deviation=max_dev, baseline=baseline or base,
                         locked_cells=locked_cells, locked_stations=locked_st, keep_townships=keep_towns,
                         weights=weights, time_limit_s=float(limit), rng=np.random.default_rng(int(seed))):
        info = {"seconds": last["seconds"], "iterations": last["iteration"],
                "max_deviation": last["max_deviation"], "target_reached_s": last["target_reached_s"],
                "target": max_dev, "start": start}
        st.session_state[_PENDING] = {"plan": last["plan"], "info": info}
        frac = max(last["fraction"], min(1.0, last["seconds"] / float(limit)))
        bar.progress(min(1.0, frac), text=t("rd.progress", dev=f"{last['max_deviation']:.2%}",
                                            s=f"{last['seconds']:.1f}"))
    pending = st.session_state.pop(_PENDING, None)
    if pending is not None:
        _set_history(st.session_state[_HIST].push(pending["plan"], "optimiser"), action="push")
        st.session_state[_PARENT] = None
        st.session_state[_RUN] = {**pending["info"], "stopped": False}
    bar.progress(1.0, text=t("rd.done"))


def _metrics(current: Plan | None, plan: Plan) -> None:
    s = plan.summary(current)
    m = st.columns(5)
    delta = None if current is None else f"{(plan.max_deviation - current.max_deviation) * 100:+.2f} pp"
    m[0].metric(t("rd.m.max_dev"), f"{plan.max_deviation:.2%}", delta=delta, delta_color="inverse",
                help=t("rd.m.max_dev_help"))
    broken = [k for k, v in plan.components.items() if v != 1]
    m[1].metric(t("rd.m.contiguous"), t("rd.yes") if plan.contiguous else t("rd.no_n", n=len(broken)),
                help=", ".join(broken) if broken else None)
    m[2].metric(t("rd.m.splits"), s["township_splits"],
                delta=None if current is None else s["township_splits"] - current.township_splits,
                delta_color="inverse")
    m[3].metric(t("rd.m.cells_changed"), s.get("cells_changed", 0))
    pop = s.get("population_changed")
    m[4].metric(t("rd.m.pop_changed"), "-" if pop is None else f"{pop:,.0f}")
    if current is not None:  # moved workload against the least any plan meeting the target moves
        from planning.least_change import moved_bound
        target = float(st.session_state.get("gp_rd_maxdev", 5.0)) / 100.0
        bound = moved_bound(current, target)["bound"]
        g = plan.graph
        moved = float(g.workload[plan.assignment != current.assignment].sum() / g.workload.sum())
        m = st.columns(5)
        m[0].metric(t("rd.m.moved"), f"{moved:.1%}", help=t("rd.m.moved_help"))
        m[1].metric(t("rd.m.moved_bound", target=f"{target:.0%}"), f"{bound:.1%}")
        m[2].metric(t("rd.m.moved_ratio"), "-" if bound <= 0 else f"{moved / bound:.2f}")
    info = st.session_state.get(_RUN)
    if info:
        reached = info.get("target_reached_s")
        if info.get("method") == "least_change":
            st.caption(t("rd.run_info_lc", s=f"{info['seconds']:.1f}", target=f"{info['target']:.0%}"))
        else:
            st.caption(t("rd.run_info", s=f"{info['seconds']:.1f}", it=info["iterations"],
                         target=f"{info['target']:.0%}",
                         reached="-" if reached is None else f"{reached:.1f}")
                       + (" · " + t("rd.stopped") if info.get("stopped") else ""))
        if info["max_deviation"] > info["target"] + 1e-9:
            st.warning(t("rd.target_missed", dev=f"{info['max_deviation']:.2%}", target=f"{info['target']:.0%}"))
    if not plan.contains_station:
        st.warning(t("rd.station_outside"))


def _map_key(ws, key: tuple, name: str, *assignments: np.ndarray | None) -> tuple | None:
    """``show_map`` cache key of a plan map: workspace file (path, mtime), the map, language,
    weights (the districts' deviation tooltips), and the digest of each plan drawn."""
    return state.map_cache_key(ws, "redistrict", name, current_language(), key,
                               *(array_digest(a) for a in assignments))


def _maps(ws, key: tuple, current: Plan | None, plan: Plan, colours: Mapping[str, str]) -> dict:
    stations, bounds = _stations(key)
    context = state.map_context_of(ws)  # the area and roads beneath the districts
    left, right = st.columns(2)
    cur = current.assignment if current is not None else None
    edited = plan.assignment
    if current is not None:
        with left:
            st.caption(t("rd.map_current"))
            show_map(lambda title=t("rd.map_current"): plan_map(_districts(key, cur.tobytes()), stations,
                                                                colours, bounds=bounds, title=title,
                                                                context=context),
                     key="gp_rd_map_cur", height=460, cache_key=_map_key(ws, key, "current", cur))
        first_map_head_start("redistrict")  # today's plan on screen before the edited one and the rest
    with right if current is not None else left:
        st.caption(t("rd.map_edited"))
        out = show_map(lambda title=t("rd.map_edited"): plan_map(
                           _districts(key, edited.tobytes()), stations, colours, bounds=bounds,
                           changed=_changed(key, cur.tobytes(), edited.tobytes()) if cur is not None else None,
                           draw=True, title=title, context=context),
                       key="gp_rd_map_edit", height=460, returned_objects=["last_active_drawing"],
                       cache_key=_map_key(ws, key, "edited", cur, edited))
    return out or {}


def _workload(current: Plan | None, plan: Plan) -> None:
    st.subheader(t("rd.workload"))
    table = workload_table(current, plan)
    left, right = st.columns([3, 2])
    show_table(table, lang=current_language(), kinds={"workload": "percent", "deviation": "percent"},
               container=left, height=360)  # workload_table gives both in % already
    with right:
        st.caption(t("rd.chart"))
        chart = deviation_chart(current, plan).rename(columns=lambda c: t(f"rd.series.{c}"))
        st.bar_chart(chart, stack=False, x_label=t("col.station_id"), y_label="%", height=340)


def _set_history(hist: History, msg: str | None = None, *, action: str = "push") -> None:
    before = st.session_state.get(_HIST)
    st.session_state[_HIST] = hist
    if before is not None and hist is not before:
        with shown_errors():
            _record(before, hist, action)
    if msg:
        st.session_state[_MSG] = ("success", msg)


def _typed_cells(graph: DistrictGraph, typed: str) -> list[str]:
    """The cell ids a planner typed; none after saying in the UI language what is wrong with
    them (not understood, or not cells of the plan)."""
    try:
        ids = parse_ids(typed)
    except InputError:
        ids = []
    if not ids:
        st.error(t("rd.err.ids", value=escape_markdown(typed)))
        return []
    known = {id_str(c) for c in graph.cell_ids}
    missing = [i for i in ids if id_str(i) not in known]
    if missing:
        st.error(t("rd.err.unknown_ids", n=len(missing), ids=escape_markdown(format_ids(missing))))
        return []
    return ids


def _editing(graph: DistrictGraph, hist: History, map_out: dict) -> None:
    st.subheader(t("rd.edit"))
    locked_st = st.session_state.get("gp_rd_lock_st", [])
    u = st.columns([1, 1, 4])
    if u[0].button(t("rd.undo"), key="gp_rd_undo", disabled=not hist.can_undo):
        _set_history(hist.undo(), action="undo")
        st.rerun()
    if u[1].button(t("rd.redo"), key="gp_rd_redo", disabled=not hist.can_redo):
        _set_history(hist.redo(), action="redo")
        st.rerun()
    u[2].caption(t("rd.steps", n=len(hist.past), m=len(hist.future),
                   last=hist.labels[len(hist.past) - 1] if hist.past and len(hist.labels) >= len(hist.past) else "-"))
    names = station_names(graph.stations)

    def fmt(s: str) -> str:
        return f"{s} {names.get(s, '')}".strip()
    tabs = st.tabs([t("rd.tab.ids"), t("rd.tab.lasso"), t("rd.tab.township"), t("rd.tab.lock")])

    def apply(ids: list, station: str, label: str) -> None:
        new, kept = reassign_unlocked(hist.current, ids, station, locked_cells=hist.locked, locked_stations=locked_st)
        msg = t("rd.moved", n=len(ids) - len(kept), s=escape_markdown(station))
        if kept:
            msg += " " + t("rd.kept", n=len(kept))
        _set_history(hist.push(new, label), msg)
        st.rerun()

    with tabs[0]:
        c = st.columns([3, 2, 1])
        text = c[0].text_input(t("rd.ids"), key="gp_rd_ids", placeholder="12, 13, 40-45")
        station = c[1].selectbox(t("rd.to_station"), list(graph.station_ids), key="gp_rd_ids_st", format_func=fmt)
        if c[2].button(t("rd.apply"), key="gp_rd_apply_ids") and (typed := _typed_cells(graph, text)):
            with shown_errors():
                apply(typed, station, f"ids→{station}")
    with tabs[1]:
        st.caption(t("rd.lasso_help"))
        poly = lasso_polygon((map_out or {}).get("last_active_drawing"), graph.cells.crs)
        if poly is None:
            st.info(t("rd.lasso_none"))
        else:
            ids = cells_in_polygon(graph, poly).tolist()
            c = st.columns([3, 2, 1])
            c[0].write(t("rd.lasso_cells", n=len(ids)))
            station = c[1].selectbox(t("rd.to_station"), list(graph.station_ids), key="gp_rd_lasso_st",
                                     format_func=fmt)
            if c[2].button(t("rd.apply"), key="gp_rd_apply_lasso", disabled=not ids):
                with shown_errors():
                    apply(ids, station, f"lasso→{station}")
    with tabs[2]:
        if graph.township is None:
            st.info(t("rd.no_townships"))
        else:
            towns = sorted({x for x in graph.township if x is not None})
            c = st.columns([3, 2, 1])
            town = c[0].selectbox(t("rd.township"), towns, key="gp_rd_town")
            station = c[1].selectbox(t("rd.to_station"), list(graph.station_ids), key="gp_rd_town_st",
                                     format_func=fmt)
            if c[2].button(t("rd.apply"), key="gp_rd_apply_town"):
                with shown_errors():
                    apply(graph.cell_ids[graph.township == town].tolist(), station, f"{town}→{station}")
    with tabs[3]:
        st.caption(t("rd.lock_help"))
        c = st.columns([3, 1, 1])
        text = c[0].text_input(t("rd.ids"), key="gp_rd_lock_ids", placeholder="12, 13, 40-45")
        if c[1].button(t("rd.lock"), key="gp_rd_lock") and (typed := _typed_cells(graph, text)):
            with shown_errors():
                ids = graph.cell_ids[graph.positions(typed)].tolist()
                _set_history(hist.lock(ids), t("rd.locked", n=len(ids)), action="lock")
                st.rerun()
        if c[2].button(t("rd.unlock"), key="gp_rd_unlock") and (typed := _typed_cells(graph, text)):
            with shown_errors():
                ids = graph.cell_ids[graph.positions(typed)].tolist()
                _set_history(hist.unlock(ids), t("rd.unlocked", n=len(ids)), action="unlock")
                st.rerun()
        if hist.locked:
            locked = ", ".join(map(str, sorted(hist.locked, key=str)[:200]))
            st.caption(t("rd.locked_list", ids=escape_markdown(locked)))


def _save(ws, hist: History) -> None:
    st.subheader(t("rd.save"))
    parent = st.session_state.get(_PARENT)
    c = st.columns([2, 3, 1])
    name = c[0].text_input(t("rd.plan_name"), key="gp_rd_name")
    note = c[1].text_input(t("rd.plan_note"), key="gp_rd_note")
    c[2].caption(t("rd.parent", p="-" if parent is None else parent))
    account = login.current_account()
    if not account.can("planner"):
        c[2].caption(t("rd.viewer_no_save"))
    # Not disabled for viewers: the role is checked here, on the server, whatever the page shows.
    if c[2].button(t("rd.save_btn"), key="gp_rd_save", type="primary"):
        with shown_errors():
            require(account, "planner", action="save a plan")
            if not name.strip():
                raise InputError(t("rd.err.no_name"))
            draft = st.session_state.get(_DRAFT)
            new_id = save_plan(ws.path, hist.current, name=name.strip(), note=note.strip(), parent_id=parent,
                               author=account.name, draft=draft,
                               draft_seq=None if draft is None else _draft_len(ws.path, draft))
            st.session_state[_PARENT] = new_id
            st.session_state[_MSG] = ("success", t("rd.saved", id=new_id))
            st.rerun()


def _draft_len(path, draft: str) -> int:
    from geo.workspace import read_edits
    return len(read_edits(path, draft))


def _history(ws, graph: DistrictGraph, hist: History, versions: pd.DataFrame) -> None:
    st.subheader(t("rd.history"))
    if versions.empty:
        st.info(t("rd.no_versions"))
        return
    table = versions.copy()
    devs = []
    for pid in table["plan_id"]:
        try:
            devs.append(plan_from_workspace(ws, graph, int(pid)).max_deviation)
        except InputError:
            devs.append(np.nan)
    table["max_deviation"] = devs
    # created (UTC) in local time; the draft columns are the edit log's bookkeeping
    show_table(table, lang=current_language(), drop=("draft", "draft_seq"))
    c = st.columns([3, 1])
    ids = pd.to_numeric(versions["plan_id"]).astype(int).tolist()
    pick = c[0].selectbox(t("rd.load_plan"), ids, key="gp_rd_load_id",
                          format_func=lambda i: f"{i} {versions.set_index('plan_id')['name'].get(i, '')}")
    if c[1].button(t("rd.load"), key="gp_rd_load"):
        with shown_errors():
            plan = plan_from_workspace(ws, graph, int(pick))
            _set_history(hist.push(plan, f"plan {pick}"), t("rd.loaded", id=pick))
            st.session_state[_PARENT] = int(pick)
            st.rerun()


def _choice_plan(choice: str, ws, graph: DistrictGraph, current: Plan | None, hist: History) -> Plan:
    if choice == "edited":
        return hist.current
    if choice == "current":
        return current
    return plan_from_workspace(ws, graph, int(choice.split(":", 1)[1]))


def _compare(ws, key: tuple, graph: DistrictGraph, current: Plan | None, hist: History,
             versions: pd.DataFrame, colours: Mapping[str, str]) -> None:
    st.subheader(t("rd.compare"))
    choices = plan_choices(current, versions)
    label = {"edited": t("rd.plan.edited"), "current": t("rd.plan.current")}

    def fmt(c: str) -> str:
        return label.get(c, t("rd.plan.saved", id=c.split(":", 1)[-1]))
    c = st.columns(2)
    a = c[0].selectbox(t("rd.compare_a"), choices, key="gp_rd_cmp_a", format_func=fmt,
                       index=choices.index("current") if "current" in choices else 0)
    b = c[1].selectbox(t("rd.compare_b"), choices, key="gp_rd_cmp_b", format_func=fmt, index=0)
    with shown_errors():
        before, after = _choice_plan(a, ws, graph, current, hist), _choice_plan(b, ws, graph, current, hist)
        diff = compare_plans(before, after)
        m = st.columns(4)
        m[0].metric(t("rd.cmp.cells"), diff["cells_moved"])
        m[1].metric(t("rd.cmp.population"), f"{diff['moved'].get('population', 0):,.0f}")
        m[2].metric(t("rd.cmp.incidents"), f"{diff['moved'].get('incidents', 0):,.0f}")
        m[3].metric(t("rd.cmp.area"), f"{diff['moved']['area_km2']:,.1f} km²")
        left, right = st.columns([3, 2])
        with left:
            stations, bounds = _stations(key)
            a_before, a_after = before.assignment, after.assignment
            show_map(lambda: plan_map(_districts(key, a_after.tobytes()), stations, colours, bounds=bounds,
                                      changed=_changed(key, a_before.tobytes(), a_after.tobytes()),
                                      context=state.map_context_of(ws)),
                     key="gp_rd_map_cmp", height=420,
                     cache_key=_map_key(ws, key, "compare", a_before, a_after))
        show_table(diff["stations"].reset_index(), lang=current_language(), container=right, height=420,
                   kinds={"workload": "share", "deviation": "deviation"})  # compare_plans: fractions
        if diff["cells_moved"]:
            st.download_button(t("rd.dl_changed"), csv_bytes(diff["changed"]),
                               "changed_cells.csv", "text/csv", key="gp_rd_dl_changed",
                               help=download_help(current_language()))
        orders_block(before, after)
    staffing_block(ws, key, current, choices, fmt,
                   lambda c: _choice_plan(c, ws, graph, current, hist))


def _exports(plan: Plan) -> None:
    st.subheader(t("rd.export"))
    d = st.columns(3)
    files = download_help(current_language())  # files keep the data's column names
    d[0].download_button(t("rd.dl_gpkg"), lambda: _export(plan, ".gpkg"), "plan.gpkg",
                         "application/geopackage+sqlite3", key="gp_rd_dl_gpkg", help=files)
    d[1].download_button(t("rd.dl_geojson"), lambda: _export(plan, ".geojson"), "jurisdictions.geojson",
                         "application/geo+json", key="gp_rd_dl_geojson", help=files)
    cells_table = plan.labels.rename("station_id").rename_axis("cell_id").reset_index()
    d[2].download_button(t("rd.dl_cells"), csv_bytes(cells_table),
                         "plan_cells.csv", "text/csv", key="gp_rd_dl_csv", help=files)


def render() -> None:
    """Draw the Redistricting page for the open workspace."""
    st.header(t("page.redistrict"))
    with shown_errors():
        ws = state.workspace_for_page(_NEEDED, missing_key="rd.need_layers")
        if ws is None:
            return
        st.caption(t("rd.intro"))
        spec = _weights(ws)
        key = (*state.layers_key(ws), spec)
        with st.spinner(t("rd.building")):
            graph = _graph(*key)
        current = current_plan(ws, graph)
        if current is None:
            st.info(t("rd.no_current"))
        hist = _session(ws, graph, current)
        _optimiser(graph, current, hist)
        hist = st.session_state[_HIST]
        msg = st.session_state.pop(_MSG, None)
        if msg:
            getattr(st, msg[0])(msg[1])
        plan = hist.current
        _metrics(current, plan)
        colours = workspace_station_colors(ws)
        map_out = _maps(ws, key, current, plan, colours)
        first_map_head_start("redistrict")  # (without a current plan: the edited plan's map first)
        _workload(current, plan)
        _editing(graph, hist, map_out)
        _save(ws, hist)
        versions = plan_versions(ws)
        _history(ws, graph, hist, versions)
        _compare(ws, key, graph, current, hist, versions, colours)
        _exports(plan)
