"""Offline maps: folium's CDN scripts replaced by vendored copies embedded in the map itself.

Police networks have no internet. ``self_contained(m)`` rewrites a folium map so that Leaflet and
the plugins GridPatrol uses come from ``ui/assets/`` as ``data:`` URLs (which both a
saved HTML file and streamlit-folium's loader, which only loads scripts by URL, accept);
CDN links that GridPatrol's maps do not need (jQuery, Bootstrap, Font Awesome,
awesome-markers) are dropped. Tiles stay whatever the map asks for (a basemap needs a tile
server; the layers draw without one). As every map passes through it on its way to the screen,
it also refuses folium's tooltips and popups, which would read names from the data as HTML.
"""
from __future__ import annotations

import base64
import json
from functools import lru_cache
from pathlib import Path

import folium

__all__ = ["self_contained", "data_url", "script_json", "VENDORED", "DROPPED"]

ASSETS = Path(__file__).resolve().parent / "assets"

# CDN URL (as folium 0.20 writes it) -> vendored file.
VENDORED: dict[str, str] = {
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js": "leaflet-1.9.3.js",
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css": "leaflet-1.9.3.css",
    "https://cdn.jsdelivr.net/gh/python-visualization/folium@main/folium/templates/leaflet_heat.min.js":
        "leaflet-heat.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.draw/1.0.2/leaflet.draw.js": "leaflet.draw-1.0.2.js",
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.draw/1.0.2/leaflet.draw.css": "leaflet.draw-1.0.2.css",
}
# Names of folium's default links that only serve Bootstrap popups and icon fonts (jQuery is
# Bootstrap's; no GridPatrol map script uses it).
DROPPED = {"jquery", "bootstrap", "bootstrap_css", "glyphicons_css", "awesome_markers",
           "awesome_markers_font_css", "awesome_markers_css", "awesome_rotate_css"}


@lru_cache(maxsize=None)
def data_url(name: str) -> str:
    """The vendored file ``name`` as a base64 ``data:`` URL."""
    kind = "text/css" if name.endswith(".css") else "text/javascript"
    payload = base64.b64encode((ASSETS / name).read_bytes()).decode("ascii")
    return f"data:{kind};base64,{payload}"


def script_json(value: object) -> str:
    """``value`` as compact JSON for a single-quoted JavaScript string inside a <script> element
    (read back with ``JSON.parse('…')``): "<", ">" and "&" (which only occur within JSON strings)
    as JSON escapes, then backslashes, quotes and line separators for the JavaScript string."""
    text = (json.dumps(value, ensure_ascii=False, separators=(",", ":"))
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))
    return text.replace("\\", "\\\\").replace("'", "\\'").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


# folium's tooltips and popups, which read their text (or a feature's properties) as HTML.
_MARKUP_TOOLTIPS = (folium.Tooltip, folium.Popup, folium.GeoJsonTooltip, folium.GeoJsonPopup)


def _walk(element):
    yield element
    for child in list(element._children.values()):
        yield from _walk(child)


def self_contained(m: folium.Map) -> folium.Map:
    """Return ``m`` with every script and stylesheet link pointing at an embedded copy.

    Modifies the map's elements in place (each gets its own link lists; the folium classes are
    untouched) and returns it. Raises RuntimeError naming the URL if a map uses a plugin whose
    script is not vendored, or a ``folium.Icon`` (its scripts are dropped), so a new plugin
    cannot silently break the map; and naming the replacement if it holds one of folium's own
    tooltips or popups, which read names from the data as HTML (``ui.maps.TextTooltip`` and
    ``FieldsTooltip`` show them as text).
    """
    for element in _walk(m):
        if isinstance(element, folium.Icon):
            raise RuntimeError("folium.Icon needs the awesome-markers and Font Awesome scripts, which are "
                               "not embedded; draw the marker with ui.maps.symbol_marker instead")
        if isinstance(element, _MARKUP_TOOLTIPS) and not getattr(element, "text_only", False):
            raise RuntimeError(f"folium.{type(element).__name__} shows its text as HTML (a name from the data "
                               "could run script); use ui.maps.TextTooltip (a string tooltip) or "
                               "ui.maps.FieldsTooltip (feature properties) instead")
        for attr in ("default_css", "default_js"):
            links = getattr(element, attr, None)
            if not links:
                continue
            local = []
            for name, url in links:
                if name in DROPPED or url.startswith("data:"):
                    local += [] if name in DROPPED else [(name, url)]
                    continue
                if url not in VENDORED:
                    raise RuntimeError(f"map asset {name} ({url}) is not vendored in ui/assets; "
                                       "add it there and to ui/offline.VENDORED")
                local.append((name, data_url(VENDORED[url])))
            setattr(element, attr, local)
    return m
