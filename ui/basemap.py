"""The basemap of every map: the data directory's setting (``server.basemap``) on a folium map,
the workspace's drawn background (``geo.background``) beneath the layers, and the admins' form.

Every page starts its maps with ``app_map()`` (the open workspace, the app's setting); tests and
other callers use ``base_map(ws, source=...)``, which needs no Streamlit. What a map gets:

* tiles (``server.basemap.TileSource``) when the setting names a service or a served local tile
  set, with the attribution escaped (Leaflet shows it as HTML);
* GCJ-02 tiles: the map runs in ``L.CRS.GCJ02`` (``ui/assets/gridpatrol-gcj02.js``), which moves
  every WGS84 layer onto the tiles in the browser (clicks and drawings come back in WGS84);
* the drawn background, in the Leaflet pane ``gp-background`` (element class
  ``leaflet-gp-background-pane``; non-interactive, beneath every layer and under the tiles, so it
  also shows where tiles fail to load), and a paper-coloured map (class ``gp-no-tiles``) when
  there are no tiles.
"""
from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path
from typing import Sequence

import folium
import folium.elements
import folium.map
import geopandas as gpd
from branca.element import MacroElement
from folium.template import Template

from geo.background import background_layers
from geo.markup import escape_html
from geo.workspace import Workspace, layers_version
from server.basemap import Basemap, TileSource, launcher_serves_tiles, read_basemap, tile_source
from ui.maps import _GeoJsonLayer, feature_collection
from ui.offline import data_url

__all__ = ["BACKGROUND_PANE", "BACKGROUND_CLASS", "ROAD_COLOURS", "BACKGROUND_STYLES", "base_map", "add_basemap",
           "background_collections", "app_map", "app_basemap_on", "app_basemap", "style_key", "settings_form"]

log = logging.getLogger(__name__)

BACKGROUND_PANE = "gp-background"
#: The class of the background's pane element (Leaflet names a pane ``leaflet-<name>-pane``).
BACKGROUND_CLASS = "leaflet-gp-background-pane"
_PANE_Z = 150          # beneath the tiles (200) and every layer (overlays 400)
_PAPER = "#eceae4"     # the map's colour without tiles
#: Road colour and line width (pixels) by rank (``geo.road_classes``): muted, so the data stand out.
ROAD_COLOURS = {0: ("#d9953b", 3.2), 1: ("#e3ad55", 2.8), 2: ("#e9c47a", 2.4), 3: ("#b9b4aa", 2.0),
          4: ("#c4c0b7", 1.6), 5: ("#cdc9c1", 1.2), 6: ("#d6d2ca", 1.0)}
#: Leaflet path styles of the background's layers (``geo.background.BACKGROUND_LAYERS``).
BACKGROUND_STYLES = {
    "area_fill": {"stroke": False, "fillColor": "#fbfaf6", "fillOpacity": 1.0},
    "water": {"color": "#8db8df", "weight": 1.0, "fillColor": "#bcd7ef", "fillOpacity": 1.0},
    "townships": {"color": "#b3aea3", "weight": 1.0, "dashArray": "4 3", "fill": False},
    "roads": {"opacity": 1.0, "lineCap": "round"},
    "area": {"color": "#77736b", "weight": 2.0, "dashArray": "8 4", "fill": False},
}


class _MapLook(MacroElement):
    """Marks the map's container (``gp-tiles`` or ``gp-no-tiles``) and paints it paper-coloured
    (Leaflet's grey where no tile is drawn looks like a map that failed)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function (c) {
            c.classList.add({{ this.css_class|tojson }});
            {%- if this.paper %}
            c.style.background = {{ this.paper|tojson }};
            {%- endif %}
        })({{ this._parent.get_name() }}.getContainer());
        {% endmacro %}
    """)

    def __init__(self, *, tiles: bool):
        super().__init__()
        self._name = "MapLook"
        self.css_class = "gp-tiles" if tiles else "gp-no-tiles"
        self.paper = _PAPER


class _Gcj02Crs(folium.elements.JSCSSMixin, MacroElement):
    """Loads ``L.CRS.GCJ02`` (``ui/assets/gridpatrol-gcj02.js``, embedded) before the map's script."""

    _template = Template("""
        {% macro script(this, kwargs) %}{% endmacro %}
    """)

    def __init__(self):
        super().__init__()
        self._name = "Gcj02Crs"
        self.default_js = [("gridpatrol_gcj02", data_url("gridpatrol-gcj02.js"))]
        self.default_css = []


# --- the drawn background ------------------------------------------------------------------------

_cache: dict[tuple, dict[str, dict]] = {}
_cache_lock = threading.Lock()
_CACHE_SIZE = 6


def _road_props(roads: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    styles = [ROAD_COLOURS.get(int(r), ROAD_COLOURS[6]) for r in roads["rank"]]
    return gpd.GeoDataFrame({"_c": [s[0] for s in styles], "_w": [s[1] for s in styles]},
                            geometry=roads.geometry.values, crs=roads.crs)


def background_collections(ws: Workspace) -> dict[str, dict]:
    """The drawn background of ``ws`` as GeoJSON FeatureCollections (``geo.background``; roads
    carry ``_c`` colour and ``_w`` weight), kept per workspace file and layers version."""
    key = None
    if ws.path is not None:
        try:
            key = (str(ws.path), layers_version(ws.path))
        except Exception:  # a workspace that is not a file (a database)
            key = None
    if key is not None:
        with _cache_lock:
            if key in _cache:
                return _cache[key]
    layers = background_layers(ws)
    out = {}
    for name, gdf in layers.items():
        if not len(gdf):
            continue
        shown = _road_props(gdf) if name == "roads" else gpd.GeoDataFrame(geometry=gdf.geometry.values, crs=gdf.crs)
        out[name] = feature_collection(shown)
    if key is not None:
        with _cache_lock:
            while len(_cache) >= _CACHE_SIZE:
                _cache.pop(next(iter(_cache)))
            _cache[key] = out
    return out


def _add_background(m: folium.Map, collections: dict[str, dict]) -> None:
    folium.map.CustomPane(BACKGROUND_PANE, z_index=_PANE_Z, pointer_events=False).add_to(m)
    for name, data in collections.items():
        layer = _GeoJsonLayer(data, name=f"gp-background-{name}", base=BACKGROUND_STYLES[name],
                              from_props={"color": "_c", "weight": "_w"} if name == "roads" else None)
        layer.options.update(pane=BACKGROUND_PANE, interactive=False, bubblingMouseEvents=False)
        layer.control = False
        layer.add_to(m)


# --- maps ----------------------------------------------------------------------------------------

def add_basemap(m: folium.Map, ws: Workspace | None = None, *, source: TileSource | None = None,
                background: bool = True) -> folium.Map:
    """Put the basemap on the map ``m`` (modified and returned): the tiles of ``source`` (None:
    no tiles), the GCJ-02 CRS when they are GCJ-02, and with ``background`` the drawn background
    of ``ws`` (nothing when ``ws`` is None)."""
    if source is not None:
        if source.gcj02:
            _Gcj02Crs().add_to(m)
            m.crs = "GCJ02"
        options = {"max_native_zoom": source.max_native_zoom, "max_zoom": max(19, source.max_native_zoom)}
        if source.subdomains:
            options["subdomains"] = source.subdomains
        if source.bounds is not None:
            w, s, e, n = source.bounds
            options["bounds"] = [[s, w], [n, e]]
        folium.TileLayer(source.url, attr=escape_html(source.attribution) or "-", name="basemap",
                         control=False, tms=source.tms, min_zoom=0, **options).add_to(m)
    _MapLook(tiles=source is not None).add_to(m)
    if background and ws is not None:
        _add_background(m, background_collections(ws))
    return m


def base_map(ws: Workspace | None = None, *, source: TileSource | None = None,
             bounds: Sequence[float] | None = None, background: bool = True,
             prefer_canvas: bool = True) -> folium.Map:
    """A new folium map with the basemap (``add_basemap``), a scale bar, and the view on
    ``bounds`` (west, south, east, north in degrees) when given.

    Parameters
    ----------
    ws : the workspace whose roads, water and boundaries make the drawn background (None: none).
    source : the tiles (``server.basemap.tile_source``), or None for no tiles: no tile URL at all
        reaches the page.
    bounds : the extent to show, or None (the caller fits the view).
    background : draw the workspace's background beneath the layers.
    prefer_canvas : draw vector layers on a canvas (faster with many features).
    """
    m = folium.Map(tiles=None, control_scale=True, prefer_canvas=prefer_canvas)
    add_basemap(m, ws, source=source, background=background)
    if bounds is not None:
        w, s, e, n = (float(v) for v in bounds)
        if all(map(lambda v: v == v and abs(v) != float("inf"), (w, s, e, n))):
            m.fit_bounds([[s, w], [n, e]])
    return m


# --- the app's setting ---------------------------------------------------------------------------

def _in_app() -> bool:
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx
        return get_script_run_ctx() is not None
    except Exception:  # streamlit internals moved: behave as outside a run
        return False


def _data_dir() -> Path:
    from ui import state
    return state.library().data_dir


def _settings_stamp(data_dir: Path) -> int | None:
    try:
        return (data_dir / "settings.json").stat().st_mtime_ns
    except OSError:
        return None


def _main_script() -> str:
    """The script Streamlit runs (the launcher of ``gridpatrol serve``, or app.py)."""
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx
        found = getattr(get_script_run_ctx(), "main_script_path", None)
    except Exception:  # streamlit internals moved
        found = None
    return found or (sys.argv[0] if sys.argv else "")


def _serving(data_dir: Path) -> tuple[bool, str]:
    """Whether this app serves ``<data_dir>/tiles`` at /app/static/, and Streamlit's base path."""
    import streamlit as st
    served = launcher_serves_tiles(data_dir, _main_script(),
                                   static_serving=bool(st.get_option("server.enableStaticServing")))
    return served, str(st.get_option("server.baseUrlPath") or "")


_setting_cache: dict[tuple, tuple[Basemap, TileSource | None, str | None]] = {}


def app_basemap() -> tuple[Basemap, TileSource | None, str | None]:
    """The app's setting, the tiles to draw and a note when tiles were asked for but cannot be
    drawn (``"not_served"``, ``"missing"``, ``"unreadable"``): read from the data directory
    (again only when the settings file changes). Outside a Streamlit run: no tiles."""
    if not _in_app():
        return Basemap(), None, None
    data_dir = _data_dir()
    served, base = _serving(data_dir)
    key = (str(data_dir), _settings_stamp(data_dir), served, base)
    found = _setting_cache.get(key)
    if found is not None:
        return found
    try:
        setting = read_basemap(data_dir)
        source, note = tile_source(setting, data_dir=data_dir, served=served, base_path=base)
    except Exception as exc:  # a hand-edited settings file: the maps still draw
        log.warning("basemap setting not used: %s", exc)
        setting, source, note = Basemap(), None, "unreadable"
    if len(_setting_cache) > 8:
        _setting_cache.clear()
    _setting_cache[key] = (setting, source, note)
    return setting, source, note


def style_key() -> tuple:
    """What a map's look depends on beyond its page's own key: the basemap setting (its file's
    version and whether tiles are served) and the open workspace's layers (``ui.mapview.show_map``
    adds it to every cache key)."""
    if not _in_app():
        return ()
    from ui import state
    data_dir = _data_dir()
    path = state.workspace_path()
    try:
        version = layers_version(path) if path is not None else None
    except Exception:
        version = None
    return (_settings_stamp(data_dir), *_serving(data_dir), str(path), version)


def _app_workspace(setting: Basemap, background: bool) -> Workspace | None:
    if not (_in_app() and background and setting.background):
        return None
    from ui import state
    try:
        return state.current_workspace()
    except Exception as exc:  # the page reports an unreadable workspace itself
        log.warning("no drawn background: %s", exc)
        return None


def app_map(*, bounds: Sequence[float] | None = None, background: bool = True,
            prefer_canvas: bool = True) -> folium.Map:
    """``base_map`` for a page: the app's basemap setting and the open workspace's background
    (outside a Streamlit run: no tiles, no background)."""
    setting, source, _ = app_basemap()
    return base_map(_app_workspace(setting, background), source=source, bounds=bounds,
                    background=background and setting.background, prefer_canvas=prefer_canvas)


def app_basemap_on(m: folium.Map, *, background: bool = True) -> folium.Map:
    """``add_basemap`` with the app's setting and the open workspace, for a map built elsewhere
    (the overview map); ``m`` is modified and returned."""
    setting, source, _ = app_basemap()
    return add_basemap(m, _app_workspace(setting, background), source=source,
                       background=background and setting.background)


# --- the admins' form ----------------------------------------------------------------------------

def settings_form() -> None:
    """The basemap setting (admins only; the server checks the role again when saving): no tiles,
    a tile service URL (XYZ or WMTS), or a tile set of the data directory's ``tiles`` folder."""
    import streamlit as st

    from geo.errors import InputError
    from geo.markup import escape_markdown
    from server.basemap import KINDS, basemap_from_url, save_basemap, tilesets
    from ui import login
    from ui.errors import shown_errors
    from ui.i18n import t

    account = login.current_account()
    if not account.can("admin"):
        return
    with st.expander(t("bm.title")):
        data_dir = _data_dir()
        try:
            current = read_basemap(data_dir)
        except InputError as exc:
            st.warning(t("bm.unreadable", error=escape_markdown(str(exc))))
            current = Basemap()
        served, _ = _serving(data_dir)
        _, _, note = app_basemap()
        who = f" · {escape_markdown(current.changed_by)} {escape_markdown(current.changed[:16].replace('T', ' '))}"
        st.caption(t("bm.now", what=t(f"bm.kind.{current.kind}")) + (who if current.changed_by else ""))
        if note:
            st.warning(t(f"bm.note.{note}"))
        kind = st.radio(t("bm.kind"), KINDS, index=KINDS.index(current.kind), key="gp_bm_kind",
                        format_func=lambda k: t(f"bm.kind.{k}"), help=t("bm.kind_help"))
        setting = None
        if kind == "url":
            url = st.text_input(t("bm.url"), value=current.source, key="gp_bm_url", help=t("bm.url_help"))
            attribution = st.text_input(t("bm.attribution"), value=current.attribution, key="gp_bm_attr")
            subdomains = st.text_input(t("bm.subdomains"), value=current.subdomains, key="gp_bm_sub",
                                       help=t("bm.subdomains_help"))
            max_zoom = st.number_input(t("bm.max_zoom"), 1, 22, int(current.max_zoom), key="gp_bm_zoom")
            gcj02 = st.checkbox(t("bm.gcj02"), value=current.gcj02, key="gp_bm_gcj", help=t("bm.gcj02_help"))
        elif kind == "tiles":
            sets = tilesets(data_dir)
            if not served:
                st.warning(t("bm.note.not_served"))
            if not sets:
                st.info(t("bm.no_tilesets"))
            names = [s.name for s in sets]
            labels = {s.name: t("bm.tileset_label", name=s.name, fmt=s.format, z0=s.min_zoom, z1=s.max_zoom)
                      for s in sets}
            chosen = st.selectbox(t("bm.tileset"), names, key="gp_bm_set",
                                  index=names.index(current.tileset) if current.tileset in names else 0,
                                  format_func=labels.get) if names else None
            gcj02 = st.checkbox(t("bm.gcj02"), value=current.gcj02, key="gp_bm_gcj_set", help=t("bm.gcj02_help"))
        background = st.checkbox(t("bm.background"), value=current.background, key="gp_bm_background",
                                 help=t("bm.background_help"))
        if st.button(t("bm.save"), key="gp_bm_save"):
            with shown_errors():
                if kind == "url":
                    setting = basemap_from_url(url, attribution=attribution, subdomains=subdomains.strip(),
                                               max_zoom=int(max_zoom), gcj02=gcj02, background=background)
                elif kind == "tiles":
                    if chosen is None:
                        raise InputError(t("bm.no_tilesets"))
                    setting = Basemap(kind="tiles", tileset=chosen, gcj02=gcj02, background=background)
                else:
                    setting = Basemap(kind="none", background=background)
                with st.spinner(t("bm.saving")):
                    save_basemap(data_dir, setting, account=account)
                _setting_cache.clear()
                st.toast(t("bm.saved"))
                st.rerun()
