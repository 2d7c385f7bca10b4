"""The Overview page (总览): the workspace's map with every layer, headline metrics, attribute tables."""
from __future__ import annotations

import streamlit as st

from geo.markup import escape_markdown
from geo.workspace import Workspace
from ui import maps, state
from ui.basemap import app_basemap_on
from ui.i18n import current_language, layer_name, t
from ui.mapview import show_map
from ui.tables import attribute_table, csv_bytes, download_help, show_table, workspace_metrics

__all__ = ["render"]


def _number(value: float | int | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _metrics(ws: Workspace) -> None:
    m = workspace_metrics(ws)
    cols = st.columns(4)
    cols[0].metric(t("ov.metric.area"), _number(m["area_km2"], 1))
    cols[1].metric(t("ov.metric.population"), _number(m["population"]))
    cols[2].metric(t("ov.metric.stations"), _number(m["stations"]))
    cols[3].metric(t("ov.metric.incidents"), _number(m["incidents"]))


def render() -> None:
    """Draw the Overview page for the open workspace."""
    st.header(t("page.overview"))
    ws = state.workspace_for_page()
    if ws is None:
        return
    st.caption(escape_markdown(ws.name))
    _metrics(ws)
    left, right = st.columns([3, 2])
    colour_by = left.radio(t("ov.colour_by"), maps.COLOUR_BY, horizontal=True, key="gp_ov_colour",
                           format_func=lambda v: t(f"ov.by.{v or 'none'}"))
    display = state.display_layers_of(ws)
    lang = current_language()
    # The overview draws its own roads, rivers and area: the app's basemap setting (ui.basemap;
    # admins set it in the sidebar) without the drawn background.
    show_map(lambda: app_basemap_on(maps.overview_map(display, lang=lang, colour_by=colour_by), background=False),
             height=620, key="gp_overview_map",
             cache_key=state.map_cache_key(ws, "overview", lang, colour_by))
    st.caption(t("ov.map_note"))
    for layer in maps.missing_layers(display):
        st.info(t("ov.missing", layer=layer_name(layer, in_sentence=True)))

    st.subheader(t("ov.tables"))
    # Off by default: the table widget's scripts take ~0.9 s of the page's first draw.
    if not st.toggle(t("ov.show_table"), key="gp_ov_show_table"):
        return
    names = list(ws.layers)
    chosen = st.selectbox(t("ov.table_layer"), names, key="gp_ov_table",
                          format_func=lambda n: f"{layer_name(n)} ({n})")
    table = attribute_table(ws.layer(chosen))
    st.caption(t("ov.rows", n=f"{len(table):,}"))
    show_table(table, lang=lang, height=320)
    st.download_button(t("ov.download_csv"), csv_bytes(ws.layer(chosen)), file_name=f"{chosen}.csv",
                       mime="text/csv", key="gp_ov_table_csv", help=download_help(lang))
