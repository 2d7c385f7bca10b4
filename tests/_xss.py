"""The checker of maps for markup from data (STYLE note 21), used by tests/test_xss.py and the map
tests of other modules: ``check_map`` runs the four checks that tests/test_xss.py's docstring lists."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import folium
import folium.plugins

from tests._payloads import RAW_MARKERS
from ui import basemap, maps
from ui.cell_raster import CellRaster
from ui.offline import self_contained

# Tags a label, legend or tooltip may hold; no attribute may be an event handler or a URL.
SAFE_TAGS = {"div", "span", "b", "details", "summary", "table", "tr", "th", "td", "tbody", "br"}
# Element kinds a map may hold. HTML-bearing ones are checked below; a new kind must be added here
# after a look at what it writes into the page.
KNOWN = (folium.Map, folium.TileLayer, folium.GeoJson, folium.FeatureGroup, folium.CircleMarker,
         folium.Marker, folium.PolyLine, folium.plugins.HeatMap, folium.LayerControl, folium.FitBounds,
         folium.plugins.Draw, folium.DivIcon, CellRaster, maps.TextTooltip, maps.FieldsTooltip,
         maps._Legend, maps._FitArea,  # the view fitted to constant bounds (numbers only)
         # The basemap's elements (ui/basemap.py) write constants only: a pane name, a class and
         # colour, the embedded GCJ-02 script; the background's layers are GeoJson without tooltips.
         folium.map.CustomPane, basemap._MapLook, basemap._Gcj02Crs)


class UnsafeTags(HTMLParser):
    """Collects the tags outside SAFE_TAGS and the handler or link attributes of fed markup (``bad``)."""

    def __init__(self):
        super().__init__()
        self.bad: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in SAFE_TAGS:
            self.bad.append(f"<{tag}>")
        self.bad += [f"{tag} {k}=" for k, v in attrs if k.startswith("on") or k in ("src", "href")]


def assert_plain_html(markup: str, where: str) -> None:
    """``markup`` holds only SAFE_TAGS without handlers or links, and no payload raw."""
    parser = UnsafeTags()
    parser.feed(markup)
    assert not parser.bad, f"{where}: markup from data: {parser.bad[:5]} in {markup[:300]!r}"
    assert not any(m in markup for m in RAW_MARKERS), f"{where}: raw payload in {markup[:300]!r}"


def walk(el):
    """A map element and all its descendants."""
    yield el
    for child in el._children.values():
        yield from walk(child)


def check_map(m: folium.Map, where: str) -> str:
    """Run the four checks on a map; return its rendered page."""
    self_contained(m)  # (1) raises for folium's own tooltips and popups
    for el in walk(m):  # (2)
        assert isinstance(el, KNOWN) or type(el).__module__.startswith("branca"), \
            f"{where}: {type(el).__name__} is not a known map element; check what it writes into the page"
        if isinstance(el, folium.DivIcon):
            assert_plain_html(el.options["html"], f"{where} label")
        elif isinstance(el, maps._Legend):
            assert_plain_html(el.content, f"{where} legend")
        elif isinstance(el, maps.TextTooltip):
            assert_plain_html(el.html, f"{where} tooltip")
    page = m.get_root().render()
    script = re.sub(r"data:[a-z/]+;base64,[A-Za-z0-9+/=]+", "DATA", page)
    for sink in re.finditer(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|bindPopup\(|"
                            r"bindTooltip\(|setContent\(|eval\(|new Function", script):  # (3)
        after = script[sink.end():sink.end() + 40]
        assert ((sink.group() == "innerHTML" and after.startswith(' = "'))  # a legend: checked above
                or (sink.group() == "bindTooltip(" and (after.startswith('"')  # a TextTooltip
                                                         or after.startswith("function (layer)")))  # FieldsTooltip
                or (sink.group() == "setContent(" and after.startswith("table)"))), \
            f"{where}: an unchecked HTML sink: {script[sink.start() - 60:sink.end() + 60]!r}"
    for fn in re.findall(r"bindTooltip\(function \(layer\) \{(.*?)\n\s*\}, \{", script, re.S):
        assert "innerHTML" not in fn and "textContent" in fn, f"{where}: a feature tooltip writes HTML"
    raw = [mk for mk in RAW_MARKERS if mk in page]  # (4)
    assert not raw, f"{where}: raw payload {raw} in the page"
    return page
