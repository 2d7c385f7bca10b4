"""The basemap setting (server/basemap.py), the drawn background (geo/background.py) and the map
factory (ui/basemap.py): URL and WMTS parsing, local tile sets (MBTiles unpacked, traversal
refused, served by Streamlit through the launcher), who may change the setting, what reaches the
page, and the GCJ-02 projection checked against geo/crs.py."""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from geo.background import background_layers, roads_by_class
from geo.crs import gcj02_to_wgs84, wgs84_to_gcj02
from geo.errors import InputError
from geo.road_classes import road_class_rank
from geo.workspace import read_workspace
from server.accounts import Account, PermissionDenied
from server.basemap import (
    Basemap,
    TileSource,
    basemap_from_url,
    extract_mbtiles,
    launcher_serves_tiles,
    leaflet_url,
    prepare_launcher,
    read_basemap,
    save_basemap,
    served_path,
    tile_source,
    tileset,
    tilesets,
)
from server.serve import APP_SCRIPT, serve_argv

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "boundaries" / "demo_county.gpkg"
ADMIN = Account(name="张管理", role="admin")
PNG = b"\x89PNG\r\n\x1a\n" + b"tile"
TIANDITU = ("http://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=vec&"
            "STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={TileMatrix}&TILEROW={TileRow}&"
            "TILECOL={TileCol}&tk=0123abcd")


@pytest.fixture(scope="module")
def demo():
    return read_workspace(DEMO)


def make_mbtiles(path: Path, tiles: list[tuple[int, int, int, bytes]], *, fmt: str = "png",
                 bounds: str = "113.5,34.0,114.5,34.6") -> Path:
    """A minimal MBTiles file: ``tiles`` as (zoom, column, TMS row, data)."""
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
    con.execute("CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)")
    con.executemany("INSERT INTO metadata VALUES (?, ?)", [("name", path.stem), ("format", fmt),
                                                            ("bounds", bounds), ("attribution", "测绘 <b>局</b>")])
    con.executemany("INSERT INTO tiles VALUES (?, ?, ?, ?)", tiles)
    con.commit()
    con.close()
    return path


# --- URLs ----------------------------------------------------------------------------------------

def test_xyz_templates_pass_unchanged():
    for url in ("http://tiles.intranet/osm/{z}/{x}/{y}.png", "https://{s}.tiles.gov/{z}/{x}/{-y}.jpg?key=1",
                "http://10.1.2.3:8080/map/{z}/{x}/{y}{r}.png"):
        assert leaflet_url(url) == url


def test_tianditu_wmts_becomes_a_leaflet_template():
    assert leaflet_url(TIANDITU) == (
        "http://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=vec&"
        "STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=0123abcd")
    b = basemap_from_url(TIANDITU, attribution="天地图", subdomains="01234567")
    assert (b.kind, b.subdomains, b.source) == ("url", "01234567", TIANDITU)
    assert basemap_from_url("http://{s}.x.cn/{z}/{x}/{y}.png").subdomains == "abc"  # Leaflet's default


def test_wmts_kvp_copied_from_a_browser_and_restful():
    # A GeoServer GetTile URL as a browser's network log shows it: numbers for the tile, the
    # matrix named by set and zoom, keys in any case, SERVICE/REQUEST/VERSION missing.
    got = leaflet_url("http://pgis.local/gwc/service/wmts?layer=base:roads&style=&tilematrixset=EPSG:900913&"
                      "Format=image/png&TileMatrix=EPSG:900913:12&TileCol=3370&TileRow=1600")
    assert got == ("http://pgis.local/gwc/service/wmts?layer=base:roads&style=&tilematrixset=EPSG:900913&"
                   "Format=image/png&TileMatrix=EPSG:900913:{z}&TileCol={x}&TileRow={y}"
                   "&SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0")
    assert leaflet_url("https://pgis.local/wmts/1.0.0/vec/default/GoogleMapsCompatible/{TileMatrix}/{TileRow}/"
                       "{TileCol}.png") == "https://pgis.local/wmts/1.0.0/vec/default/GoogleMapsCompatible/{z}/{y}/{x}.png"


@pytest.mark.parametrize("url,match", [
    ("ftp://x.cn/{z}/{x}/{y}.png", "starts with http"),
    ("javascript:alert(1)//{z}/{x}/{y}", "starts with http"),
    ("http://x.cn/{z}/{x}.png", r"holds \{z\}, \{x\} and \{y\}"),
    ("http://user:pw@x.cn/{z}/{x}/{y}.png", "user name or password"),
    ('http://x.cn/{z}/{x}/{y}.png"><script>alert(1)</script>', "contains '\"'"),
    ("http://x.cn/{z}/{x}/{y}.png onerror=alert(1)", "contains ' '"),
    ("http://x.cn/{Style}/{z}/{x}/{y}.png", r"placeholders \{Style\}"),
    (TIANDITU.replace("vec_w", "vec_c").replace("TILEMATRIXSET=w", "TILEMATRIXSET=c"), "in degrees"),
    ("https://p.local/wmts/vec/default/EPSG:4490/{TileMatrix}/{TileRow}/{TileCol}.png", "in degrees"),
    ("http://p.local/wmts?SERVICE=WMTS&REQUEST=GetTile&TILEMATRIX=1&TILEROW=1&TILECOL=1",
     "without LAYER, TILEMATRIXSET"),
    ("", "was empty"),
])
def test_bad_urls_are_refused_with_the_fix(url, match):
    with pytest.raises(InputError, match=match):
        leaflet_url(url)


def test_setting_fields_are_checked():
    with pytest.raises(InputError, match="`kind` was 'osm'"):
        Basemap(kind="osm")
    with pytest.raises(InputError, match="`max_zoom`"):
        Basemap(max_zoom=40)
    with pytest.raises(InputError, match="`subdomains`"):
        basemap_from_url("http://{s}.x.cn/{z}/{x}/{y}.png", subdomains="a,b")
    with pytest.raises(InputError, match="`url`"):
        Basemap(kind="url", url="http://x.cn/tiles.png")  # a hand-edited settings file is checked too


# --- local tile sets -------------------------------------------------------------------------------

def test_mbtiles_is_unpacked_as_xyz_once(tmp_path):
    tiles = tmp_path / "tiles"
    tiles.mkdir()
    a, b, c = PNG + b"a", PNG + b"b", PNG + b"c"
    make_mbtiles(tiles / "县城.mbtiles", [(1, 0, 0, a), (1, 1, 1, b), (2, 3, 0, c),
                                          (1, 0, 5, PNG), (40, 0, 0, PNG)])  # the last two out of range
    out = extract_mbtiles(tmp_path, "县城.mbtiles")
    assert out == tiles / ".extracted" / "县城.mbtiles"
    # TMS row r at zoom z is XYZ row 2**z - 1 - r.
    assert (out / "1" / "0" / "1.png").read_bytes() == a
    assert (out / "1" / "1" / "0.png").read_bytes() == b
    assert (out / "2" / "3" / "3.png").read_bytes() == c
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.png")) == ["1/0/1.png", "1/1/0.png", "2/3/3.png"]
    mtime = (out / "1" / "0" / "1.png").stat().st_mtime_ns
    time.sleep(0.01)
    assert extract_mbtiles(tmp_path, "县城.mbtiles") == out  # unchanged file: not unpacked again
    assert (out / "1" / "0" / "1.png").stat().st_mtime_ns == mtime
    con = sqlite3.connect(tiles / "县城.mbtiles")
    con.execute("INSERT INTO tiles VALUES (0, 0, 0, ?)", (PNG + b"z",))
    con.commit()
    con.close()
    extract_mbtiles(tmp_path, "县城.mbtiles")
    assert (out / "0" / "0" / "0.png").read_bytes() == PNG + b"z"
    assert not [p for p in (tiles / ".extracted").iterdir() if p.name.startswith(".")]  # no leftovers
    path, ts = served_path(tmp_path, "县城.mbtiles")
    assert path == ".extracted/%E5%8E%BF%E5%9F%8E.mbtiles/{z}/{x}/{y}.png"
    assert (ts.min_zoom, ts.max_zoom, ts.format, ts.bounds) == (0, 40, "png", (113.5, 34.0, 114.5, 34.6))


def test_tile_sets_are_listed_and_vector_tiles_refused(tmp_path):
    tiles = tmp_path / "tiles"
    (tiles / "影像" / "12" / "3370").mkdir(parents=True)
    (tiles / "影像" / "12" / "3370" / "1600.jpg").write_bytes(b"\xff\xd8\xffjpeg")
    (tiles / "tms" / "3" / "1").mkdir(parents=True)
    (tiles / "tms" / "3" / "1" / "2.png").write_bytes(PNG)
    (tiles / "tms" / "tilemapresource.xml").write_text("<TileMap/>")
    (tiles / "notes").mkdir()
    (tiles / "notes" / "readme.txt").write_text("not tiles")
    make_mbtiles(tiles / "vector.mbtiles", [(0, 0, 0, b"\x1f\x8b")], fmt="pbf")
    make_mbtiles(tiles / ".hidden.mbtiles", [(0, 0, 0, PNG)])
    outside = tmp_path / "elsewhere"
    (outside / "1" / "0").mkdir(parents=True)
    (outside / "1" / "0" / "0.png").write_bytes(PNG)
    (tiles / "link").symlink_to(outside, target_is_directory=True)
    found = {t.name: t for t in tilesets(tmp_path)}
    assert sorted(found) == ["tms", "影像"]
    image = found["影像"]
    assert (image.kind, image.format, image.min_zoom, image.tms) == ("folder", "jpg", 12, False)
    assert found["tms"].tms
    with pytest.raises(InputError, match="vector tiles"):
        from server.basemap import mbtiles_info
        mbtiles_info(tiles / "vector.mbtiles")
    assert served_path(tmp_path, "影像")[0] == "%E5%BD%B1%E5%83%8F/{z}/{x}/{y}.jpg"


@pytest.mark.parametrize("name", ["../settings.json", "..", ".extracted", "a/b", "/etc/passwd", "C:\\x",
                                  "tiles/../../x", ".hidden.mbtiles", "link", "notes"])
def test_a_tile_set_name_never_reaches_another_file(tmp_path, name):
    tiles = tmp_path / "tiles"
    (tiles / "notes").mkdir(parents=True)
    make_mbtiles(tiles / ".hidden.mbtiles", [(0, 0, 0, PNG)])
    (tiles / "link").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "settings.json").write_text("{}")
    with pytest.raises(InputError, match="`tileset`|no tile set"):
        tileset(tmp_path, name)
    with pytest.raises(InputError):
        save_basemap(tmp_path, Basemap(kind="tiles", tileset=name), account=ADMIN)
    assert (tmp_path / "settings.json").read_text() == "{}"


# --- the setting: stored by admins only ----------------------------------------------------------

def test_admin_saves_others_are_refused_on_the_server(tmp_path):
    (tmp_path / "settings.json").write_text(json.dumps({"other": {"kept": 1}}))
    assert read_basemap(tmp_path) == Basemap()  # nothing saved: no tiles, drawn background
    wanted = basemap_from_url(TIANDITU, attribution="天地图", subdomains="01234567", max_zoom=18)
    for who in (Account(name="zhao", role="viewer"), Account(name="wang", role="planner"), None):
        with pytest.raises(PermissionDenied, match="change the basemap"):
            save_basemap(tmp_path, wanted, account=who)
    assert read_basemap(tmp_path) == Basemap()
    saved = save_basemap(tmp_path, wanted, account=ADMIN)
    stored = json.loads((tmp_path / "settings.json").read_text("utf-8"))
    assert stored["other"] == {"kept": 1} and stored["basemap"]["changed_by"] == "张管理"
    assert read_basemap(tmp_path) == saved and saved.url == leaflet_url(TIANDITU)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".settings")]  # atomic: no temporaries


def test_a_broken_settings_file_is_reported_and_replaced(tmp_path):
    (tmp_path / "settings.json").write_text("{not json")
    with pytest.raises(InputError, match="settings.json .* not valid JSON"):
        read_basemap(tmp_path)
    (tmp_path / "settings.json").write_text(json.dumps({"basemap": {"kind": "url", "url": "javascript:x"}}))
    with pytest.raises(InputError, match="starts with http"):
        read_basemap(tmp_path)
    save_basemap(tmp_path, Basemap(kind="none", background=False), account=ADMIN)
    assert read_basemap(tmp_path).background is False


def test_tile_source_of_each_kind(tmp_path):
    make_mbtiles((tmp_path / "tiles").mkdir() or tmp_path / "tiles" / "city.mbtiles", [(3, 6, 4, PNG)])
    assert tile_source(Basemap(), data_dir=tmp_path, served=True) == (None, None)
    url = basemap_from_url("http://tiles.intranet/{z}/{x}/{y}.png", gcj02=True, max_zoom=17)
    source, note = tile_source(url, data_dir=tmp_path, served=False)
    assert note is None and (source.url, source.gcj02, source.max_native_zoom) == (url.url, True, 17)
    assert source.attribution == "tiles.intranet"  # the host when no attribution is given
    local = Basemap(kind="tiles", tileset="city.mbtiles")
    assert tile_source(local, data_dir=tmp_path, served=False) == (None, "not_served")
    source, note = tile_source(local, data_dir=tmp_path, served=True, base_path="/gp/")
    assert note is None and source.url == "/gp/app/static/.extracted/city.mbtiles/{z}/{x}/{y}.png"
    assert (source.max_native_zoom, source.attribution) == (3, "测绘 <b>局</b>")  # escaped when drawn
    assert (tmp_path / "tiles" / ".extracted" / "city.mbtiles" / "3" / "6" / "3.png").read_bytes() == PNG
    assert tile_source(Basemap(kind="tiles", tileset="gone.mbtiles"), data_dir=tmp_path,
                       served=True) == (None, "missing")


# --- serving local tiles through the app's port ---------------------------------------------------

def test_launcher_and_serve_command_line(tmp_path):
    script = prepare_launcher(tmp_path, APP_SCRIPT)
    assert script == tmp_path / ".serve" / "app.py"
    assert (script.parent / "static").resolve() == (tmp_path / "tiles").resolve()
    assert str(APP_SCRIPT) in script.read_text()
    assert launcher_serves_tiles(tmp_path, script, static_serving=True)
    assert not launcher_serves_tiles(tmp_path, script, static_serving=False)
    assert not launcher_serves_tiles(tmp_path, APP_SCRIPT, static_serving=True)
    assert prepare_launcher(tmp_path, APP_SCRIPT) == script  # again at the next start
    argv = serve_argv(data_dir=tmp_path, host="127.0.0.1", port=8600, workspace=None, launcher=script)
    assert argv[4] == str(script)
    assert argv[argv.index("--server.enableStaticServing") + 1] == "true"
    assert argv[argv.index("--"):] == ["--", "--data-dir", str(tmp_path)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def test_streamlit_serves_unpacked_tiles_and_nothing_outside(tmp_path):
    data = tmp_path / "data"
    (data / "tiles").mkdir(parents=True)
    make_mbtiles(data / "tiles" / "city.mbtiles", [(1, 1, 0, PNG + b"served")])
    (data / "settings.json").write_text("{}")
    save_basemap(data, Basemap(kind="tiles", tileset="city.mbtiles"), account=ADMIN)
    script = prepare_launcher(data, APP_SCRIPT)
    port = _free_port()
    argv = serve_argv(data_dir=data, host="127.0.0.1", port=port, workspace=None, launcher=script)
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "GRIDPATROL_DATA": str(data)})
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if _get(base + "/_stcore/health")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.3)
        path, _ = served_path(data, "city.mbtiles")
        status, body = _get(base + "/app/static/" + path.format(z=1, x=1, y=1))
        assert (status, body) == (200, PNG + b"served")
        for bad in ("../settings.json", "%2E%2E/settings.json", "..%2Fsettings.json", "../.serve/app.py"):
            status, body = _get(base + "/app/static/" + bad)
            assert status in (400, 404) and b"basemap" not in body
    finally:
        proc.terminate()
        proc.wait(timeout=20)


# --- the drawn background --------------------------------------------------------------------------

def test_background_roads_are_the_demo_roads(demo):
    edges = demo.layer("road_edges")
    layers = background_layers(demo)
    assert list(layers) == ["area_fill", "water", "townships", "roads", "area"]
    assert all(str(g.crs) == "EPSG:4326" for g in layers.values())
    assert len(layers["water"]) == len(demo.layer("rivers")) and len(layers["townships"]) == 11
    # Independently: one segment per undirected pair, the 6000 most important by rank.
    pair = [tuple(sorted(p)) for p in zip(edges["u"].astype(str), edges["v"].astype(str))]
    once = edges.loc[~pd.Series(pair, index=edges.index).duplicated()]
    ranks = once["road_class"].map(road_class_rank).to_numpy()
    keep = once.iloc[np.argsort(ranks, kind="stable")[:6000]]
    exact = roads_by_class(edges, tolerance_m=0.0)
    assert sorted(exact["road_class"]) == sorted(keep["road_class"].unique())
    assert exact.to_crs(demo.crs).length.sum() == pytest.approx(keep.length.sum(), rel=2e-3)
    # Every expressway and national-road segment lies on the drawn roads: within the 10 m
    # simplification tolerance (Douglas-Peucker moves no point farther) plus 1e-5 degree rounding.
    roads = layers["roads"].to_crs(demo.crs)
    trunk = edges[edges["road_class"].isin(["expressway", "national"])]
    assert len(trunk) > 100
    mids = shapely.line_interpolate_point(trunk.geometry.values, 0.5, normalized=True)
    drawn = shapely.union_all(roads.geometry.values)
    assert float(np.max(shapely.distance(mids, drawn))) < 10.0 + 1.5
    assert list(layers["roads"]["rank"]) == sorted(layers["roads"]["rank"], reverse=True)  # main roads on top


def test_a_workspace_without_roads_still_has_a_background(demo):
    from geo.workspace import Workspace
    ws = Workspace(crs=demo.crs, layers={"area": demo.layer("area")}, meta={})
    layers = background_layers(ws)
    assert len(layers["area"]) == 1 and len(layers["roads"]) == 0 and len(layers["water"]) == 0


# --- the map factory ---------------------------------------------------------------------------------

def test_no_tiles_means_no_tile_url_and_a_drawn_background(demo):
    from ui.basemap import BACKGROUND_PANE, base_map
    from ui.offline import self_contained
    html = self_contained(base_map(demo, source=None, bounds=(113.8, 34.2, 114.0, 34.4))).get_root().render()
    assert "L.tileLayer" not in html and "tile.openstreetmap" not in html.lower()
    assert not re.findall(r"https?://[^\"' )]*\{z\}", html)
    assert f'createPane(\n                "{BACKGROUND_PANE}")' in html or f'createPane("{BACKGROUND_PANE}")' in html
    assert html.count(f'"pane": "{BACKGROUND_PANE}"') == 5 and html.count('"interactive": false') >= 5
    assert "gp-no-tiles" in html and "L.CRS.EPSG3857" in html
    # The roads of the demo are in the page: every class, in its colour.
    from ui.basemap import ROAD_COLOURS, background_collections
    roads = background_collections(demo)["roads"]["features"]
    assert len(roads) == 6 and {f["properties"]["_c"] for f in roads} <= {c for c, _ in ROAD_COLOURS.values()}
    assert all(f["properties"]["_c"] in html for f in roads)


def test_tiles_are_escaped_and_gcj02_tiles_shift_the_map(demo):
    from ui.basemap import base_map
    from ui.offline import self_contained
    source = TileSource(url="http://t{s}.gcj.local/{z}/{x}/{y}.png", attribution='<img src=x onerror="alert(1)">',
                        gcj02=True, subdomains="0123", max_native_zoom=17)
    html = self_contained(base_map(demo, source=source)).get_root().render()
    assert '"http://t{s}.gcj.local/{z}/{x}/{y}.png"' in html and '"maxNativeZoom": 17' in html
    assert "<img src=x" not in html and "\\u0026lt;img src=x onerror=\\u0026quot;" in html
    assert "crs: L.CRS.GCJ02" in html and "data:text/javascript;base64," in html
    assert "gp-tiles" in html and "gp-no-tiles" not in html
    plain = base_map(None, source=TileSource(url="http://x.cn/{z}/{x}/{y}.png", attribution="x")).get_root().render()
    assert "L.CRS.EPSG3857" in plain and "gp-background" not in plain


def test_pages_outside_a_run_get_a_plain_map():
    from ui.basemap import app_map
    html = app_map(bounds=(113.8, 34.2, 114.0, 34.4)).get_root().render()
    assert "L.tileLayer" not in html and "gp-no-tiles" in html


def test_the_page_maps_use_the_factory():
    for path in sorted((ROOT / "ui").glob("*.py")):
        if path.name in ("basemap.py", "maps.py"):
            continue
        assert "folium.Map(" not in path.read_text("utf-8"), f"{path.name} builds its own folium.Map"
        assert 'tiles="OpenStreetMap"' not in path.read_text("utf-8")


def test_strings_of_the_form_exist_in_both_languages():
    from server.basemap import KINDS
    from ui.i18n import STRINGS
    text = (ROOT / "ui" / "basemap.py").read_text("utf-8")
    keys = set(re.findall(r"""t\(\s*["'](bm\.[a-z_.]+)["']""", text))
    keys |= {f"bm.kind.{k}" for k in KINDS} | {f"bm.note.{n}" for n in ("not_served", "missing", "unreadable")}
    assert len(keys) > 20
    for key in keys:
        assert STRINGS[key]["zh"] and STRINGS[key]["en"], key


# --- GCJ-02 in the browser: the same numbers as geo/crs.py -----------------------------------------

_FAKE_LEAFLET = """
var L = {extend: function (d) { for (var i = 1; i < arguments.length; i++) { var s = arguments[i];
           for (var k in s) { d[k] = s[k]; } } return d; },
         latLng: function (a, b) { return {lat: a, lng: b}; }, CRS: {EPSG3857: {code: "EPSG:3857"}},
         Projection: {SphericalMercator: {R: 6378137, MAX_LATITUDE: 85.0511287798,
           project: function (ll) { var d = Math.PI / 180, lat = Math.max(Math.min(this.MAX_LATITUDE, ll.lat),
               -this.MAX_LATITUDE), s = Math.sin(lat * d);
             return {x: this.R * ll.lng * d, y: this.R * Math.log((1 + s) / (1 - s)) / 2}; },
           unproject: function (p) { var d = 180 / Math.PI;
             return {lat: (2 * Math.atan(Math.exp(p.y / this.R)) - Math.PI / 2) * d, lng: p.x * d / this.R}; }}}};
"""


def test_gcj02_projection_matches_geo_crs():
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip("node is not installed")
    lon = np.array([113.9, 116.391, 121.4737, 104.06, 113.95, 2.35])
    lat = np.array([34.3, 39.907, 31.2304, 30.67, 34.41, 48.86])  # the demo, Beijing, Shanghai, Chengdu, Paris
    js = (_FAKE_LEAFLET + (ROOT / "ui" / "assets" / "gridpatrol-gcj02.js").read_text("utf-8") + f"""
var pts = {json.dumps(np.column_stack([lon, lat]).tolist())}, out = [];
pts.forEach(function (p) {{
  var g = L.GridPatrolGCJ02.wgs84ToGcj02(p[0], p[1]);
  var xy = L.CRS.GCJ02.projection.project(L.latLng(p[1], p[0]));
  var m = L.Projection.SphericalMercator.project(L.latLng(g[1], g[0]));
  var back = L.CRS.GCJ02.projection.unproject(xy);
  out.push([g[0], g[1], xy.x - m.x, xy.y - m.y, back.lng, back.lat,
            L.GridPatrolGCJ02.gcj02ToWgs84(g[0], g[1])[0]]);
}});
console.log(JSON.stringify(out));
""")
    done = subprocess.run([node, "-e", js], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    got = np.array(json.loads(done.stdout))
    glon, glat = wgs84_to_gcj02(lon, lat)
    np.testing.assert_allclose(got[:, 0], glon, atol=1e-12)
    np.testing.assert_allclose(got[:, 1], glat, atol=1e-12)
    assert np.all(got[:, 2:4] == 0.0)  # the map projects the shifted point
    np.testing.assert_allclose(got[:, 4], lon, atol=1e-8)  # and unprojects back to WGS84
    np.testing.assert_allclose(got[:, 5], lat, atol=1e-8)
    np.testing.assert_allclose(got[:, 6], gcj02_to_wgs84(glon, glat)[0], atol=1e-9)
    # The shift is the GCJ-02 offset: a few hundred metres in China, none in Paris.
    shift_m = np.hypot((glon - lon) * 111320 * np.cos(np.radians(lat)), (glat - lat) * 110540)
    assert np.all((shift_m[:5] > 100) & (shift_m[:5] < 800)) and shift_m[5] == 0.0


# --- the admins' form ------------------------------------------------------------------------------

def _form_app():
    from ui import basemap
    basemap.settings_form()


def test_the_form_saves_for_admins_and_shows_errors(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest
    monkeypatch.setenv("GRIDPATROL_DATA", str(tmp_path))
    at = AppTest.from_function(_form_app, default_timeout=60).run()
    assert not at.exception
    at.radio(key="gp_bm_kind").set_value("url").run()
    at.text_input(key="gp_bm_url").input("http://x.cn/{z}/{x}.png").run()
    at.button(key="gp_bm_save").click().run()
    assert not at.exception and "{y}" in at.error[0].value and not (tmp_path / "settings.json").exists()
    at.text_input(key="gp_bm_url").input(TIANDITU).run()
    at.text_input(key="gp_bm_sub").input("01234567").run()
    at.checkbox(key="gp_bm_gcj").check().run()
    at.button(key="gp_bm_save").click().run()
    assert not at.exception
    saved = read_basemap(tmp_path)
    assert (saved.kind, saved.url, saved.subdomains, saved.gcj02, saved.changed_by) == (
        "url", leaflet_url(TIANDITU), "01234567", True, "local")


def test_the_form_is_not_shown_to_planners(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest
    monkeypatch.setenv("GRIDPATROL_DATA", str(tmp_path))
    at = AppTest.from_function(_form_app, default_timeout=60)
    at.session_state["gp_account"] = Account(name="wang", role="planner")
    at.run()
    assert not at.exception and not at.expander and not at.radio


# --- gridpatrol basemap ----------------------------------------------------------------------------

def test_basemap_command_shows_sets_and_checks_the_role(tmp_path, monkeypatch):
    import io

    from server.accounts import AccountStore
    from tests.clirun import run_cli
    make_mbtiles((tmp_path / "tiles").mkdir() or tmp_path / "tiles" / "city.mbtiles", [(3, 6, 4, PNG)])
    code, out, err = run_cli("basemap", "--data-dir", str(tmp_path), "--json")
    assert code == 0, err
    got = json.loads(out)
    assert got["basemap"]["kind"] == "none" and got["tilesets"] == [
        {"name": "city.mbtiles", "kind": "mbtiles", "format": "png", "min_zoom": 3, "max_zoom": 3, "tms": False}]
    code, _, err = run_cli("basemap", "--data-dir", str(tmp_path), "--url", "http://x.cn/{z}/{x}.png")
    assert code == 2 and "--url was 'http://x.cn/{z}/{x}.png'" in err
    code, _, err = run_cli("basemap", "--data-dir", str(tmp_path), "--tiles", "../settings.json")
    assert code == 2 and "--tiles was '../settings.json'" in err
    code, out, err = run_cli("basemap", "--data-dir", str(tmp_path), "--tiles", "city.mbtiles", "--json")
    assert code == 0 and json.loads(out)["basemap"]["tileset"] == "city.mbtiles"
    assert (tmp_path / "tiles" / ".extracted" / "city.mbtiles" / "3" / "6" / "3.png").is_file()
    store = AccountStore(tmp_path)
    store.add("boss", role="admin", password="a long passphrase")
    store.add("zhao", role="viewer", password="a long passphrase")
    monkeypatch.setattr(sys, "stdin", io.StringIO("a long passphrase\n"))
    code, _, err = run_cli("basemap", "--data-dir", str(tmp_path), "--none", "--user", "zhao", "--password-stdin")
    assert code == 2 and "needs the role admin" in err and read_basemap(tmp_path).kind == "tiles"
    code, _, err = run_cli("basemap", "--data-dir", str(tmp_path), "--none")
    assert code == 2 and "has accounts" in err
    monkeypatch.setattr(sys, "stdin", io.StringIO("a long passphrase\n"))
    code, out, err = run_cli("basemap", "--data-dir", str(tmp_path), "--none", "--user", "boss", "--password-stdin")
    assert code == 0 and "no tiles (drawn background)" in out and read_basemap(tmp_path).changed_by == "boss"
