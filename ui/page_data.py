"""The Data page (数据): layers, validation report, attribute tables and downloads."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import streamlit as st

from geo.markup import escape_markdown
from geo.workspace import Workspace, workspace_info
from ui import state
from ui.errors import show_problems
from ui.i18n import current_language, layer_name, t
from ui.tables import attribute_table, csv_bytes, download_help, geojson_bytes, layer_table, show_table

__all__ = ["render"]


def _report() -> None:
    st.subheader(t("data.report"))
    st.markdown(f"**{t('data.last_build')}**")
    report = state.last_report()
    if report is None:
        st.caption(t("data.no_build"))
    else:
        hide = [state.upload_folder_root()]
        show_problems(report.problems, error=True, hide_folders=hide)
        show_problems(report.warnings, error=False, hide_folders=hide)
        if report.ok and not report.warnings:
            st.success(t("data.build_ok"))


def _recheck(ws: Workspace) -> None:
    st.markdown(f"**{t('data.recheck')}**")
    problems, warnings = state.recheck_of(ws)
    show_problems(problems, error=True)
    show_problems(warnings, error=False)
    if not problems and not warnings:
        st.success(t("data.recheck_ok"))


def _downloads(ws: Workspace, chosen: str) -> None:
    st.subheader(t("data.downloads"))
    cols = st.columns(3)
    files = download_help(current_language())  # files keep the data's column names and units
    if isinstance(ws.path, Path) and ws.path.exists():  # not for a workspace in PostGIS
        path = ws.path
        cols[0].download_button(t("data.dl_gpkg"), data=path.read_bytes, file_name=path.name,
                                mime="application/geopackage+sqlite3", key="gp_dl_gpkg", help=files)
    frame = ws.layer(chosen)
    label = layer_name(chosen)
    if isinstance(frame, gpd.GeoDataFrame):
        cols[1].download_button(t("data.dl_geojson", layer=label), data=lambda: geojson_bytes(frame),
                                file_name=f"{chosen}.geojson", mime="application/geo+json",
                                key="gp_dl_geojson", help=files)
    cols[2].download_button(t("data.dl_csv", layer=label), data=lambda: csv_bytes(frame),
                            file_name=f"{chosen}.csv", mime="text/csv", key="gp_dl_csv", help=files)


def render() -> None:
    """Draw the Data page for the open workspace (the import report shows even without one)."""
    st.header(t("page.data"))
    ws = state.current_workspace()
    if ws is None:
        st.info(t("ov.no_workspace"))
        _report()
        return
    info = workspace_info(ws)
    st.subheader(t("data.summary"))
    area = "—" if info["area_km2"] is None else f"{info['area_km2']:,.1f}"
    st.markdown(f"**{escape_markdown(ws.name)}**  \n{t('data.crs')}: `{info['crs']}` · {t('ov.metric.area')}: "
                f"{area}  \n"
                f"{t('data.path')}: `{ws.path.name if ws.path else '—'}`")
    st.subheader(t("data.layers"))
    st.dataframe(layer_table(ws, lang=current_language()), hide_index=True, width="stretch")
    _report()
    _recheck(ws)
    st.subheader(t("data.tables"))
    chosen = st.selectbox(t("ov.table_layer"), list(ws.layers), key="gp_data_table",
                          format_func=lambda n: f"{layer_name(n)} ({n})")
    table = attribute_table(ws.layer(chosen))
    st.caption(t("ov.rows", n=f"{len(table):,}"))
    show_table(table, lang=current_language(), height=360)
    _downloads(ws, chosen)
