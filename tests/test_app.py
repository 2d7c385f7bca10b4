"""The Streamlit shell: pages render on a workspace, language switch, errors shown, map builders."""
from __future__ import annotations

import json
import re
import string
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import CRS
from streamlit.testing.v1 import AppTest

from geo.errors import InputError, Problem
from geo.workspace import Workspace, read_workspace, write_workspace
from tests._apptest import APP, tiny_workspace

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "boundaries" / "demo_county.gpkg"
TIMEOUT = 120


@pytest.fixture(scope="module")
def tiny_path(tmp_path_factory) -> Path:
    return write_workspace(tiny_workspace(), tmp_path_factory.mktemp("ws") / "tiny.gpkg")


@pytest.fixture
def on_workspace(monkeypatch):
    """Point the app at a workspace (and optionally a start page) through the environment."""
    def use(path: Path | str, page: str | None = None) -> None:
        monkeypatch.setenv("GRIDPATROL_WORKSPACE", str(path))
        if page:
            monkeypatch.setenv("GRIDPATROL_PAGE", page)
        else:
            monkeypatch.delenv("GRIDPATROL_PAGE", raising=False)
    return use


def _run_app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=TIMEOUT).run()


def _assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


# ----------------------------------------------------------------------------------------------
# The app.

def test_app_opens_on_a_workspace(tiny_path, on_workspace):
    on_workspace(tiny_path)
    at = _run_app()
    _assert_clean(at)
    assert [h.value for h in at.header] == ["总览"]
    labels = {m.label: m.value for m in at.metric}
    assert labels["派出所"] == "2" and labels["警情"] == "60"
    assert abs(int(labels["人口"].replace(",", "")) - 20_000) <= 2  # apportioned by area


def test_every_registered_page_renders(tiny_path, on_workspace):
    from ui.i18n import text
    from ui.pages import PAGES

    assert len({p.url_path for p in PAGES}) == len(PAGES)
    for spec in PAGES:
        on_workspace(tiny_path, page=spec.url_path)
        at = _run_app()
        _assert_clean(at)
        assert text(spec.title_key, "zh") in [h.value for h in at.header], spec


def test_language_switch_turns_labels_english(tiny_path, on_workspace):
    on_workspace(tiny_path)
    at = _run_app()
    assert "工作空间库" in [b.label for b in at.sidebar.selectbox]
    at.sidebar.radio(key="lang").set_value("en").run()
    _assert_clean(at)
    assert "Workspace library" in [b.label for b in at.sidebar.selectbox]
    assert [h.value for h in at.header] == ["Overview"]
    assert "Incidents" in [m.label for m in at.metric]


@pytest.mark.parametrize("page", ["overview", "data"])
def test_missing_workspace_shows_an_error_not_a_traceback(tmp_path, on_workspace, page):
    on_workspace(tmp_path / "nowhere.gpkg", page=page)
    at = _run_app()
    assert not at.exception
    assert at.error and "workspace not found" in at.error[0].value


def test_a_file_that_is_not_a_workspace_shows_an_error(tmp_path, on_workspace):
    bad = tmp_path / "junk.gpkg"
    bad.write_text("not a geopackage")
    on_workspace(bad)
    at = _run_app()
    assert not at.exception
    assert at.error and "not a GeoPackage" in at.error[0].value


def test_missing_layers_are_named_in_words(tmp_path, on_workspace):
    ws = tiny_workspace()
    ws = Workspace(crs=ws.crs, meta=ws.meta,
                   layers={k: v for k, v in ws.layers.items() if k not in ("checkpoints", "posts")})
    on_workspace(write_workspace(ws, tmp_path / "partial.gpkg"))
    at = _run_app()
    at.sidebar.radio(key="lang").set_value("en").run()
    _assert_clean(at)
    infos = " ".join(i.value for i in at.info)
    assert "load checkpoints to see them" in infos and "load street posts" in infos


def _page_paths() -> list[str]:
    from ui.pages import PAGES

    return [p.url_path for p in PAGES]


@pytest.mark.skipif(not DEMO.exists(), reason="data/boundaries/demo_county.gpkg not generated yet")
@pytest.mark.parametrize("page", _page_paths())
def test_every_page_on_the_demo_county(on_workspace, page):
    on_workspace(DEMO, page=page)
    at = _run_app()
    _assert_clean(at)
    from ui.i18n import text
    for widget in at.multiselect:  # Streamlit's own English placeholder never shows in Chinese
        assert widget.placeholder == text("ui.choose", "zh"), (page, widget.label)


@pytest.mark.skipif(not DEMO.exists(), reason="data/boundaries/demo_county.gpkg not generated yet")
def test_demo_map_stays_small_and_aggregates_30000_incidents():
    from ui.maps import display_layers, overview_map

    ws = read_workspace(DEMO)
    display = display_layers(ws)
    html = overview_map(display, lang="zh").get_root().render()
    assert _marker_count(html) <= 2 * len(ws.layer("stations"))
    assert display.heat_points == len(ws.layer("incidents")) and len(display.heat) <= len(ws.layer("cells"))
    assert len(html) < 4_000_000, f"{len(html) / 1e6:.1f} MB of map"


def test_start_options_from_argv_and_environment(tmp_path):
    from ui.state import DEMO_WORKSPACE, start_options

    plain = start_options([], {})
    assert plain.workspace is None and not plain.local_file  # the data directory's library
    assert plain.data_dir == (Path.cwd() / "gridpatrol-data").resolve()
    assert start_options(["--data-dir", str(tmp_path)], {}).data_dir == tmp_path.resolve()
    assert start_options([], {"GRIDPATROL_DATA": str(tmp_path / "d")}).data_dir == (tmp_path / "d").resolve()
    got = start_options(["--workspace", str(tmp_path / "a.gpkg"), "--page", "data"], {})
    assert got.workspace == tmp_path / "a.gpkg" and got.page == "data"
    got = start_options(["--workspace", "x.gpkg"], {"GRIDPATROL_WORKSPACE": str(tmp_path / "b.gpkg")})
    assert got.workspace == tmp_path / "b.gpkg"
    rel = start_options(["--workspace", "data/boundaries/demo_county.gpkg"], {})
    assert rel.workspace.resolve() == DEMO_WORKSPACE.resolve()


# ----------------------------------------------------------------------------------------------
# Building from uploads: the form's request runs through geo.build and reports problems.

_BUILD_SCRIPT = """
import streamlit as st
from pathlib import Path
from ui import importer
files = {k: Path(v) for k, v in st.session_state["files"].items()}
if not st.session_state.get("done"):
    st.session_state["done"] = True
    importer.run_build(importer.BuildRequest(files=files, cell_size_m=1000.0))
importer.show_fresh_report()
"""


def _write_layers(folder: Path, *, duplicate_station: bool) -> dict[str, str]:
    ws = tiny_workspace()
    area = folder / "area.geojson"
    ws.layer("area").to_crs(4326).to_file(area, driver="GeoJSON")
    stations = ws.layer("stations").to_crs(4326)
    frame = stations.drop(columns="geometry").assign(lon=stations.geometry.x, lat=stations.geometry.y)
    if duplicate_station:
        frame.loc[1, "station_id"] = "S1"
    (folder / "abc123").mkdir()
    csv = folder / "abc123" / "stations.csv"
    frame.to_csv(csv, index=False)
    return {"area": str(area), "stations": str(csv)}


def test_build_problems_show_as_a_table_with_st_error(tmp_path):
    files = _write_layers(tmp_path, duplicate_station=True)
    at = AppTest.from_string(_BUILD_SCRIPT, default_timeout=TIMEOUT)
    at.session_state["files"] = files
    at.run()
    assert not at.exception
    assert at.error and "1" in at.error[0].value
    table = at.dataframe[0].value
    assert list(table.columns) == ["图层", "文件", "规则", "问题", "涉及编号", "处理办法"]
    assert "duplicate_ids" in set(table["规则"])
    assert at.session_state["gp_import_report"].ok is False


def test_a_successful_build_opens_the_new_workspace(tmp_path):
    files = _write_layers(tmp_path, duplicate_station=False)
    at = AppTest.from_string(_BUILD_SCRIPT, default_timeout=TIMEOUT)
    at.session_state["files"] = files
    at.run()
    assert not at.exception and not at.error
    assert at.success, "the rerun after the build says so"
    ws = read_workspace(at.session_state["gp_workspace_path"])
    assert ws.has("cells") and ws.has("stations")


def test_package_errors_from_the_build_are_shown_not_raised(tmp_path, monkeypatch):
    import ui.importer

    def broken(**kwargs):
        raise InputError("cell size was -1 but must be a positive number of metres")

    monkeypatch.setattr(ui.importer, "build_workspace", broken)
    at = AppTest.from_string(_BUILD_SCRIPT, default_timeout=TIMEOUT)
    at.session_state["files"] = {"area": str(tmp_path / "area.geojson")}
    at.run()
    assert not at.exception
    assert at.error and "positive number" in at.error[0].value


def test_problem_table_hides_upload_folders():
    from ui.report import problems_table

    folder = "/tmp/gridpatrol-x/uploads"
    p = Problem(f"{folder}/0a1b2c/派出所.csv", "stations", "null_ids",
                f"{folder}/0a1b2c/派出所.csv: 2 features have no station_id", "fill them", ("#1", "#4"))
    table = problems_table([p], lang="en", hide_folders=[folder])
    row = table.iloc[0]
    assert row["File"] == "派出所.csv"
    assert row["Problem"] == "派出所.csv: 2 features have no station_id"
    assert row["Ids"] == "#1, #4" and row["Layer"] == "Police stations (stations)"


# ----------------------------------------------------------------------------------------------
# Map builders (no Streamlit).

def _marker_count(html: str) -> int:
    return html.count("L.marker(") + html.count("L.circleMarker(")


def _escaped(name: str) -> str:
    return json.dumps(name)[1:-1]


def test_overview_map_has_every_layer_and_no_incident_markers(tiny_path):
    from ui.i18n import text
    from ui.maps import display_layers, overview_map

    ws = read_workspace(tiny_path)
    display = display_layers(ws)
    assert display.heat_kind == "cells" and display.heat_points == 60
    assert all(CRS(g.crs).equals(CRS("EPSG:4326")) for g in display.layers.values())
    for lang in ("en", "zh"):
        html = overview_map(display, lang=lang, colour_by="incidents").get_root().render()
        for name in ("area", "townships", "jurisdictions", "stations", "posts", "checkpoints",
                     "cells", "road_edges", "incidents"):
            label = text(f"layer.{name}", lang)
            assert label in html or _escaped(label) in html, (lang, name)
        assert "L.control.layers" in html and "heatLayer" in html
        assert _marker_count(html) <= 2 * len(ws.layer("stations"))
    assert ws.layer("area").crs == CRS("EPSG:4547"), "the workspace is untouched"


def test_thirty_thousand_incidents_without_cells_become_a_bounded_sample(tiny_path):
    from ui.maps import MAX_HEAT_POINTS, display_layers, overview_map

    ws = read_workspace(tiny_path)
    rng = np.random.default_rng(7)
    x0, y0, x1, y1 = ws.layer("area").total_bounds
    n = 30_000
    many = gpd.GeoDataFrame({"incident_id": [str(i) for i in range(n)]},
                            geometry=shapely.points(rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)),
                            crs=ws.crs)
    layers = {k: v for k, v in ws.layers.items() if k != "cells"} | {"incidents": many}
    display = display_layers(Workspace(crs=ws.crs, layers=layers, meta=ws.meta))
    assert display.heat_kind == "sample" and len(display.heat) == MAX_HEAT_POINTS
    html = overview_map(display, lang="en").get_root().render()
    assert _marker_count(html) <= 2 * len(ws.layer("stations"))
    assert len(html) < 2_000_000


def test_jurisdictions_and_stations_share_the_station_colour(tiny_path):
    from ui.colors import station_colors
    from ui.maps import display_layers, overview_map

    display = display_layers(read_workspace(tiny_path))
    html = overview_map(display, lang="en", colour_by=None).get_root().render()
    colours = station_colors(["S2", "S1"])
    assert display.station_colors == colours
    for colour in colours.values():
        assert html.count(colour) >= 3  # jurisdiction style, station marker, legend


def test_station_colours_are_deterministic_and_natural():
    from ui.colors import STATION_PALETTE, station_colors

    a = station_colors(["10", "2", "1", 2, None])
    assert list(a) == ["1", "2", "10"]
    assert a == station_colors(["1", "10", "2"])
    assert a["1"] == STATION_PALETTE[0]
    many = station_colors(range(45))
    assert len(set(many.values())) == 45


def test_unknown_colour_by_names_the_allowed_values(tiny_path):
    from ui.maps import display_layers, overview_map

    with pytest.raises(ValueError, match=r"colour_by was 'crime' but is expected to be in"):
        overview_map(display_layers(read_workspace(tiny_path)), colour_by="crime")


# ----------------------------------------------------------------------------------------------
# Strings.

def test_every_string_exists_in_both_languages_with_the_same_fields():
    from ui.i18n import LANGUAGES, STRINGS

    def fields(s: str) -> set[str]:
        return {f for _, f, _, _ in string.Formatter().parse(s) if f}

    for key, entry in STRINGS.items():
        assert set(entry) == set(LANGUAGES), key
        assert all(entry[lang].strip() for lang in LANGUAGES), key
        assert fields(entry["zh"]) == fields(entry["en"]), key


def test_every_key_used_in_the_code_is_defined():
    from ui.i18n import STRINGS
    from ui.pages import PAGES

    used: set[str] = set()
    for path in [ROOT / "app.py", *sorted((ROOT / "ui").glob("*.py"))]:
        used |= set(re.findall(r"""\b(?:t|text)\(\s*["']([a-z_]+\.[A-Za-z0-9_.]+)["']""", path.read_text("utf-8")))
    used |= {p.title_key for p in PAGES}
    assert used, "the scan found no keys"
    missing = sorted(k for k in used if k not in STRINGS)
    assert not missing, missing
    from ui.maps import COLOUR_BY
    assert all(f"ov.by.{c or 'none'}" in STRINGS for c in COLOUR_BY)


# ----------------------------------------------------------------------------------------------
# The sidebar form end to end: uploads (a zipped shapefile stays zipped), id picker, build.

def _upload_files(folder: Path, *, post_outside: bool = False) -> dict[str, tuple[str, bytes, str]]:
    import zipfile

    ws = tiny_workspace()
    area = folder / "范围.geojson"
    ws.layer("area").to_crs(4326).to_file(area, driver="GeoJSON")
    shp = folder / "shp"
    shp.mkdir()
    ws.layer("stations").rename(columns={"station_id": "SUO_ID"}).to_file(shp / "stations.shp")
    zipped = folder / "stations.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        for part in shp.iterdir():
            zf.write(part, part.name)
    posts = ws.layer("posts").to_crs(4326)
    frame = posts.drop(columns="geometry").assign(lon=posts.geometry.x, lat=posts.geometry.y)
    if post_outside:  # 50 km east of the county: a problem only the build finds
        frame.loc[1, "lon"] = 114.5
    people = folder / "人口.geojson"
    ws.layer("townships").rename(columns={"population": "人口"}).to_crs(4326).to_file(people, driver="GeoJSON")
    return {"attributes": (people.name, people.read_bytes(), "application/geo+json"),
            "area": (area.name, area.read_bytes(), "application/geo+json"),
            "stations": (zipped.name, zipped.read_bytes(), "application/zip"),
            "posts": ("posts.csv", frame.to_csv(index=False).encode("utf-8"), "text/csv")}


def _fill_form(at: AppTest, files: dict[str, tuple[str, bytes, str]]) -> AppTest:
    at.sidebar.toggle(key="gp_show_build").set_value(True)
    at.run()
    for layer, (name, content, mime) in files.items():
        at.sidebar.file_uploader(key=f"gp_up_{layer}").upload(name, content, mime)
        at.run()
    return at


def test_building_from_uploaded_layers_opens_the_new_workspace(tmp_path, tiny_path, on_workspace):
    on_workspace(tiny_path)
    at = _fill_form(_run_app(), _upload_files(tmp_path))
    assert not at.exception
    picker = at.sidebar.selectbox(key="gp_id_stations")
    assert "SUO_ID" in picker.options
    picker.set_value("SUO_ID")
    at.sidebar.number_input(key="gp_build_cell").set_value(1000.0)
    at.sidebar.button(key="gp_build_go").click().run()
    _assert_clean(at)
    assert at.success, "the build says it is done"
    opened = Path(at.session_state["gp_workspace_path"])
    assert opened != tiny_path and opened.suffix == ".gpkg"
    ws = read_workspace(opened)
    assert sorted(ws.layer("stations")["station_id"]) == ["S1", "S2"]
    assert ws.has("cells") and ws.has("posts")
    assert at.sidebar.selectbox(key="gp_attr_population_0").value == "人口"
    assert abs(ws.layer("cells")["population"].sum() - 20_000) < 5, "population apportioned to cells"
    assert {m.label: m.value for m in at.metric}["派出所"] == "2"


def test_upload_problems_are_listed_with_the_uploaded_file_name(tmp_path, tiny_path, on_workspace):
    on_workspace(tiny_path)
    at = _fill_form(_run_app(), _upload_files(tmp_path, post_outside=True))
    at.sidebar.selectbox(key="gp_id_stations").set_value("SUO_ID")
    at.sidebar.button(key="gp_build_go").click().run()
    assert not at.exception
    assert at.error, "the problems are shown with st.error"
    table = at.main.dataframe[0].value
    row = table[table["规则"] == "outside_area"].iloc[0]
    assert row["文件"] == "posts.csv" and "P2" in row["涉及编号"]
    assert at.session_state["gp_workspace_path"] == str(tiny_path), "the open workspace is kept"


def test_station_labels_move_aside_when_they_would_overlap():
    from ui.maps import place_labels

    assert place_labels([(113.9, 34.3)], ["城关派出所"], None) == ["right"]
    # Three stations 40 m apart on a line at county zoom: at most one label can sit to the right
    # of its dot without covering the next dot or label.
    pts = [(113.9000, 34.3), (113.9004, 34.3), (113.9008, 34.3)]
    sides = place_labels(pts, ["城关派出所", "东关派出所", "东城派出所"], (113.7, 34.1, 114.1, 34.5))
    assert len(set(sides)) == 3, sides
    far = place_labels([(113.75, 34.3), (114.05, 34.3)], ["A", "B"], (113.7, 34.1, 114.1, 34.5))
    assert far == ["right", "right"], "labels with room stay to the right"
