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
from ui.colors import station_colors
from ui.errors import shown_errors
from ui.i18n import current_language, t
from ui.maps import feature_collection, layer_for_display, roads_for_map
from ui.mapview import show_map
from ui.tables import column_header, show_table

_NEEDED = ("cells", "stations")
_RESULT = "gp_pd_result"


def _map(ws, result, key: str) -> None:
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
    if ws.has("road_edges"):  # the streets under the districts: a commander reads them by road
        roads = roads_for_map(ws.layer("road_edges"), within=shapely.union_all(g.cells.geometry.values))
    show_map(lambda: plan_map(districts, centres, colours, bounds=tuple(float(v) for v in b),
                              title=t("page.districts"), roads=roads), key=f"gp_pd_map_{key}")


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
