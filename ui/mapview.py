"""The one way pages put a folium map on screen: offline-ready, and no reruns on pan or zoom.

Rendering a large folium map is the slow part of a page (the whole map is rendered to
JavaScript, then streamlit-folium renders it again and runs regular expressions over the
multi-megabyte script to name and hash it: ~3.5 s for 10,000 cells). ``show_map`` therefore
prepares what streamlit-folium's component receives (script, header, links, defaults) once per
``cache_key`` and keeps it with ``st.cache_resource`` (strings, treated read-only); a page rerun
with the same key only sends the cached payload.
"""
from __future__ import annotations

import hashlib
import time
from typing import Callable, Hashable, Iterable

import branca
import branca.colormap
import folium
import folium.elements
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import streamlit as st
import streamlit_folium
from streamlit_folium import st_folium

from ui.maps import fit_last
from ui.offline import self_contained

__all__ = ["show_map", "map_payload", "frame_digest", "array_digest", "first_map_head_start", "HEAD_START_S"]

MapOrBuilder = folium.Map | Callable[[], folium.Map]


def _links(m: folium.Map) -> tuple[list[str], list[str]]:
    """The stylesheet and script URLs of every element (as streamlit-folium collects them)."""
    css, js = [], []

    def walk(el):
        if isinstance(el, (folium.elements.JSCSSMixin, branca.colormap.ColorMap)):
            yield el
        for child in getattr(el, "_children", {}).values():
            yield from walk(child)

    for el in walk(m):
        if isinstance(el, branca.colormap.ColorMap):  # as streamlit-folium does: d3 first
            js[:0] = ["https://d3js.org/d3.v4.min.js", "https://cdnjs.cloudflare.com/ajax/libs/d3/3.5.5/d3.min.js"]
        css += [href for _, href in getattr(el, "default_css", [])]
        js += [src for _, src in getattr(el, "default_js", [])]
    return list(dict.fromkeys(css)), list(dict.fromkeys(js))


def map_payload(m: folium.Map, *, key: str, returned_objects: Iterable[str] = ()) -> dict:
    """The arguments streamlit-folium 0.27's component gets for ``m`` (what ``st_folium`` computes
    on every call), ``m`` made self-contained first. Modifies ``m`` (rendering renames elements)."""
    sf = streamlit_folium
    m = fit_last(self_contained(m))  # the view is fitted once every control is on the map
    m.get_root().render()
    m.render()
    html, header = sf._get_html(m), sf._get_header(m)
    script = sf._get_map_string(m)
    bounds = m.get_bounds()
    (s, w), (n, e) = bounds
    returned = list(returned_objects)
    defaults = {"last_clicked": None, "last_object_clicked": None, "last_object_clicked_count": None,
                "last_object_clicked_tooltip": None, "last_object_clicked_popup": None,
                "all_drawings": None, "last_active_drawing": None,
                "bounds": {"_southWest": {"lat": s, "lng": w}, "_northEast": {"lat": n, "lng": e}},
                "zoom": m.options.get("zoom"), "last_circle_radius": None, "last_circle_polygon": None,
                "selected_layers": None, "selected_tags": None, "last_geocoder_result": None}
    css, js = _links(m)
    return {"script": script, "header": header, "html": html, "id": sf.get_full_id(m),
            "key": sf.generate_js_hash(script, key, False), "returned_objects": returned,
            "default": {k: v for k, v in defaults.items() if k in returned},
            "zoom": None, "center": None, "feature_group": None, "return_on_hover": False,
            "layer_control": None, "pixelated": False, "css_links": css, "js_links": js,
            "wrap_longitude": False}


@st.cache_resource(max_entries=24, show_spinner=False)
def _cached_payload(cache_key: Hashable, key: str, returned: tuple[str, ...], _m: MapOrBuilder) -> dict:
    return map_payload(_m() if callable(_m) else _m, key=key, returned_objects=returned)


def show_map(m: MapOrBuilder, *, key: str, height: int = 560, returned_objects: Iterable[str] = (),
             cache_key: Hashable | None = None) -> dict:
    """Draw a map with its scripts embedded (works without internet).

    ``m`` is a ``folium.Map``, or a function of no arguments returning one, called only when
    ``cache_key`` is not cached yet. ``cache_key`` (hashable: e.g. workspace path, modification
    time, and every option the map depends on) keeps the rendered map for later reruns; None
    renders on every call. ``returned_objects`` lists what the page needs back from the browser
    (e.g. ``["last_active_drawing"]`` for the lasso); by default nothing, so panning and zooming
    never rerun the page.
    """
    returned = tuple(returned_objects)
    component = getattr(streamlit_folium, "_component_func", None)
    if component is None or not hasattr(streamlit_folium, "_get_map_string"):  # another streamlit-folium
        built = m() if callable(m) else m
        return st_folium(self_contained(built), key=key, height=height, use_container_width=True,
                         returned_objects=list(returned))
    if cache_key is None:
        payload = map_payload(m() if callable(m) else m, key=key, returned_objects=returned)
    else:
        from ui.basemap import style_key  # the basemap setting changes every map
        payload = _cached_payload((cache_key, style_key()), key, returned, m)
    hash_key = payload["key"]

    def on_change() -> None:
        st.session_state[key] = st.session_state.get(hash_key, {})

    return component(**payload, height=height, width=None, on_change=on_change)


HEAD_START_S = 0.7  # what the first map needs to draw in the browser before the rest arrives
_HEAD_START_KEY = "gp_map_head_start"


def first_map_head_start(page: str, *, seconds: float = HEAD_START_S) -> bool:
    """Let the browser draw the page's first map before the rest of the page arrives: on the
    first run of ``page`` in a browser session, wait ``seconds`` (call it right after the first
    ``show_map``). Returns whether it waited.

    Streamlit sends a page element by element while its script runs, and the browser draws them
    all on one thread: the tables, charts and widgets below a page's first map (the coverage and
    redistricting pages hold 150-190 elements) take that thread for ~0.7 s, and the map, though
    sent first, shows that much later. Sent a moment later, they draw while the map is already on
    screen. Later runs of the page (a widget changed) do not wait, nor do sessions without a
    browser (Streamlit's AppTest: no request headers)."""
    started = st.session_state.setdefault(_HEAD_START_KEY, set())
    if page in started:
        return False
    started.add(page)
    try:
        browser = bool(st.context.headers)
    except Exception:  # no request context: no browser to wait for
        browser = False
    if browser and seconds > 0:
        time.sleep(seconds)
    return browser and seconds > 0


def frame_digest(*frames: pd.DataFrame | None) -> str | None:
    """A stable SHA-1 of (Geo)DataFrames (None allowed): column names, CRS, index and values,
    geometries as WKB; part of a map's ``cache_key`` when the map is drawn from computed frames.
    None (do not cache) when a column cannot be hashed."""
    h = hashlib.sha1()
    try:
        for frame in frames:
            if frame is None:
                h.update(b"<none>")
                continue
            geoms = [c for c in frame.columns if isinstance(frame[c].dtype, gpd.array.GeometryDtype)]
            h.update(repr((list(map(str, frame.columns)), str(getattr(frame, "crs", None)), len(frame))).encode())
            h.update(pd.util.hash_pandas_object(pd.DataFrame(frame.drop(columns=geoms)), index=True)
                     .to_numpy().tobytes())
            for c in geoms:
                for wkb in shapely.to_wkb(np.asarray(frame[c].values)):
                    wkb = wkb or b""
                    h.update(len(wkb).to_bytes(8, "little") + wkb)
    except (TypeError, ValueError):
        return None
    return h.hexdigest()


def array_digest(array: np.ndarray | None) -> str | None:
    """A stable SHA-1 of an array's dtype, shape and bytes (e.g. a plan's assignment); None for None."""
    if array is None:
        return None
    a = np.ascontiguousarray(array)
    return hashlib.sha1(f"{a.dtype}{a.shape}".encode() + a.tobytes()).hexdigest()
