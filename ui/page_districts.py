"""Police districts (警务区) inside one station: choose the station, K and the workload columns,
draw balanced, contiguous, compact districts with centres chosen by the optimiser
(``planning.districts``), see them on the map and in a table, save them as ``police_grids``."""
from __future__ import annotations

import shapely
import streamlit as st

from geo.ids import normalise_ids
from planning.districts import DEFAULT_WEIGHTS, draw_districts, save_police_grids, workspace_problem
from server.accounts import require
from ui import login, state
from ui.colors import station_colors, workspace_station_colors
from ui.errors import shown_errors
from ui.i18n import current_language, t
from ui.maps import feature_collection, layer_for_display, roads_for_map
from ui.mapview import first_map_head_start, show_map
from ui.tables import column_header, show_table

_NEEDED = ("cells", "stations")
_RESULT = "gp_pd_result"


def _map(ws, result, key: str) -> None:
    """The districts drawn (cached per workspace version, language, station and result)."""
    import pandas as pd

    def build():
        import geopandas as gpd

        from ui.page_redistrict import plan_map
        g = result.plan.graph
        cells = gpd.GeoDataFrame({"station_id": result.assignment.to_numpy()},
                                 geometry=g.cells.geometry.values, crs=g.cells.crs)
        shapes = cells.dissolve("station_id", as_index=False)
        shapes["name"] = shapes["station_id"]
        shapes["cells"] = shapes["station_id"].map(result.table["units"]).astype(int)
        shapes["deviation"] = [f"{d:+.1%}" for d in shapes["station_id"].map(result.table["deviation"])]
        districts = feature_collection(layer_for_display(shapes, ["station_id", "name", "cells", "deviation"],
                                                         tolerance_m=10.0))
        pts = g.stations.copy()
        pts["name"] = ""
        centres = feature_collection(layer_for_display(pts, ["station_id", "name"]))
        b = gpd.GeoSeries(g.cells.geometry.values, crs=g.cells.crs).to_crs("EPSG:4326").total_bounds
        colours = station_colors(list(result.table.index))
        roads = None
        if ws.has("road_edges"):  # every street of the station under the districts: read by road
            roads = roads_for_map(ws.layer("road_edges"), within=shapely.union_all(g.cells.geometry.values))
        return plan_map(districts, centres, colours, bounds=tuple(float(v) for v in b),
                        title=t("page.districts"), roads=roads, context=state.map_context_of(ws),
                        jurisdictions=True)

    drawn = pd.DataFrame({"cell": result.assignment.index.astype(str),
                          "district": result.assignment.astype(str).to_numpy()})
    show_map(build, key=f"gp_pd_map_{key}",
             cache_key=state.map_cache_key(ws, "districts", current_language(), key,
                                           frames=(drawn, result.table.reset_index())))
    first_map_head_start("districts")  # the map on screen before the table


def _station_map(ws, station: str, name: str) -> None:
    """The station's territory (its cells as one district, in its colour), its streets and its
    station, before any districts are drawn (cached per workspace version, language, station)."""
    import geopandas as gpd

    def build():
        from ui.page_redistrict import plan_map
        cells = ws.layer("cells")
        mine = cells.loc[(normalise_ids(cells["station_id"]) == station).to_numpy()] \
            if "station_id" in cells.columns else cells.iloc[0:0]
        if not len(mine):
            return None
        whole = shapely.union_all(mine.geometry.values)
        shape = gpd.GeoDataFrame({"station_id": [station], "name": [str(name)]}, geometry=[whole], crs=cells.crs)
        territory = feature_collection(layer_for_display(shape, ["station_id", "name"], tolerance_m=10.0))
        pts = ws.layer("stations")
        pts = pts.loc[(normalise_ids(pts["station_id"]) == station).to_numpy()].copy()
        pts["station_id"] = station
        centre = feature_collection(layer_for_display(pts, ["station_id", "name"]))
        roads = roads_for_map(ws.layer("road_edges"), within=whole) if ws.has("road_edges") else None
        b = shape.to_crs("EPSG:4326").total_bounds
        return plan_map(territory, centre, workspace_station_colors(ws), bounds=tuple(float(v) for v in b),
                        title=str(name), roads=roads, context=state.map_context_of(ws), jurisdictions=True)

    cells = ws.layer("cells")
    if "station_id" not in cells.columns or not (normalise_ids(cells["station_id"]) == station).any():
        return
    st.caption(t("pd.preview", name=name))
    show_map(build, key="gp_pd_preview", height=460,
             cache_key=state.map_cache_key(ws, "districts-preview", current_language(), station))
    first_map_head_start("districts")


def render() -> None:
    """Draw the Police districts page for the open workspace."""
    st.header(t("page.districts"))
    with shown_errors():
        ws = state.workspace_for_page(_NEEDED)
        if ws is None:
            return
        st.caption(t("pd.intro"))
        cells = ws.layer("cells")
        stations = normalise_ids(ws.layer("stations")["station_id"]).tolist()
        names = dict(zip(stations, ws.layer("stations").get("name", stations)))
        numeric = [c for c in cells.columns if c not in ("cell_id", "station_id", "township_id", "geometry")
                   and str(cells[c].dtype) != "object"]
        c = st.columns(4)
        station = c[0].selectbox(t("pd.station"), stations, key="gp_pd_station",
                                 format_func=lambda s: f"{s} {names.get(s, '')}".strip())
        k = int(c[1].number_input(t("pd.k"), 1, 200, 3, 1, key="gp_pd_k"))
        default = [w for w in DEFAULT_WEIGHTS if w in numeric]
        lang = current_language()
        chosen = c[2].multiselect(t("pd.weights"), numeric, default=default, key="gp_pd_w",
                                  placeholder=t("ui.choose"),
                                  format_func=lambda col: column_header(col, lang))
        max_dev = c[3].number_input(t("pd.max_dev"), 0.5, 50.0, 5.0, 0.5, key="gp_pd_dev") / 100.0
        if st.button(t("pd.draw"), key="gp_pd_draw", type="primary"):
            if not chosen:
                st.warning(t("pd.none"))
                return
            with st.spinner(t("pd.drawing")):
                problem = workspace_problem(ws, weights=",".join(chosen), within_station=station)
                st.session_state[_RESULT] = (station, draw_districts(problem, k, max_deviation=max_dev))
        held = st.session_state.get(_RESULT)
        if not held or held[0] != station:
            _station_map(ws, station, names.get(station, station))  # the territory before drawing
            return
        result = held[1]
        unit = result.cost_unit
        st.info(t("pd.result", k=len(result.table), dev=f"{result.max_deviation:.1%}",
                  contig=t("rd.yes") if result.contiguous else t("rd.no"),
                  obj=f"{result.objective:.1f} {t('pd.unit.min') if unit == 'min' else t('pd.unit.m')}",
                  source=t("pd.source.road" if unit == "min" else "pd.source.straight")))
        _map(ws, result, station)
        show_table(result.table.reset_index(), lang=current_language())
        account = login.current_account()
        if not account.can("planner"):
            st.caption(t("pd.viewer_no_save"))
        # Not disabled for viewers: the role is checked here, on the server.
        if st.button(t("pd.save"), key="gp_pd_save"):
            require(account, "planner", action="save police districts")
            info = save_police_grids(ws.path, result, author=account.name)
            st.success(t("pd.saved", n=info["written"], kept=info["kept"]))
