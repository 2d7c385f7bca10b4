"""Maps work without internet: every script and stylesheet comes from ui/assets."""
from __future__ import annotations

import base64
import re

import folium
import folium.plugins
import pytest

from ui.offline import ASSETS, VENDORED, data_url, self_contained


def external_assets(html: str) -> list[str]:
    srcs = re.findall(r'<script[^>]+src="(https?://[^"]+)"', html)
    hrefs = re.findall(r'<link[^>]+href="(https?://[^"]+)"', html)
    return srcs + hrefs


def test_plain_folium_links_to_cdns_and_self_contained_does_not():
    m = folium.Map(tiles=None)
    folium.plugins.HeatMap([[34.3, 113.9, 1.0]]).add_to(m)
    folium.plugins.Draw().add_to(m)
    folium.LayerControl().add_to(m)
    assert len(external_assets(m.get_root().render())) >= 8  # what the problem is
    m = folium.Map(tiles=None)
    folium.plugins.HeatMap([[34.3, 113.9, 1.0]]).add_to(m)
    folium.plugins.Draw().add_to(m)
    folium.LayerControl().add_to(m)
    html = self_contained(m).get_root().render()
    assert external_assets(html) == []
    assert html.count("data:text/javascript;base64,") == 3  # leaflet, heat, draw
    assert folium.Map.default_js[0][1].startswith("https://")  # the class is untouched


def test_data_urls_carry_the_vendored_bytes():
    url = data_url("leaflet-1.9.3.js")
    assert base64.b64decode(url.split(",", 1)[1]) == (ASSETS / "leaflet-1.9.3.js").read_bytes()
    assert all((ASSETS / name).is_file() for name in VENDORED.values())


def test_an_unvendored_plugin_is_refused_by_name():
    m = folium.Map(tiles=None)
    folium.plugins.MarkerCluster().add_to(m)
    with pytest.raises(RuntimeError, match="markercluster.*not vendored"):
        self_contained(m)


def test_a_map_with_a_folium_icon_is_refused_with_the_fix():
    # folium.Icon's scripts (awesome-markers) are not embedded: the map would stop drawing at the
    # marker, so self_contained names the replacement instead.
    m = folium.Map(tiles=None)
    folium.Marker([34.3, 113.9], icon=folium.Icon(color="red", icon="star")).add_to(m)
    with pytest.raises(RuntimeError, match="symbol_marker"):
        self_contained(m)
    from ui.maps import symbol_marker
    m = folium.Map(tiles=None)
    symbol_marker(34.3, 113.9, colour="#ff0000", symbol="<★>", tooltip="new post").add_to(m)
    html = self_contained(m).get_root().render()
    assert external_assets(html) == [] and "\\u0026lt;\\u2605\\u0026gt;" in html  # escaped, then JSON
