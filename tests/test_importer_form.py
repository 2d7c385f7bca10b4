"""The build form (ui.importer) driven through Streamlit's AppTest: every layer the command line
imports, Excel sheets and GBK CSV with Chinese headers and dates, loose Shapefiles, ``fid``
columns, previews that refuse constant ids and text population and confirm merges; and the
redistricting page's weight preselected from what an imported workspace holds."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, box
from streamlit.testing.v1 import AppTest

import cli
from geo.build import build_workspace
from geo.errors import InputError
from geo.layers import LayerSource
from geo.workspace import read_workspace, workspace_info, write_workspace
from ui.i18n import text
from ui.importer import datasets_from_names, entry_file, network_entry

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 180
FORM = """
from ui import importer
request = importer.build_form()
if request is not None:
    importer.run_build(request)
importer.show_fresh_report()
"""
X0, X1, Y0, Y1 = 113.90, 114.00, 34.30, 34.40
XM, YM = (X0 + X1) / 2, (Y0 + Y1) / 2


# --- helpers ------------------------------------------------------------------------------------

def _form() -> AppTest:
    return AppTest.from_string(FORM, default_timeout=TIMEOUT).run()


def _put(at: AppTest, slot: str, *files: Path | tuple[str, bytes]) -> AppTest:
    """Upload ``files`` (paths, or (name, content)) into the uploader of ``slot`` and rerun."""
    given = [(f.name, f.read_bytes()) if isinstance(f, Path) else f for f in files]
    at.file_uploader(key=f"gp_up_{slot}").set_value([(n, d, "application/octet-stream") for n, d in given])
    return at.run()


def _clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _build(at: AppTest, name: str | None = None):
    if name:
        at.text_input(key="gp_build_name").set_value(name)
    at.number_input(key="gp_build_cell").set_value(2000.0)
    assert not at.button(key="gp_build_go").disabled, [c.value for c in at.caption]
    at.button(key="gp_build_go").click().run()
    _clean(at)
    assert at.success, "the build says it is done"
    return read_workspace(at.session_state["gp_workspace_path"])


def _geojson(path: Path, gdf: gpd.GeoDataFrame) -> Path:
    gdf.to_file(path, driver="GeoJSON")
    return path


def _area(folder: Path) -> Path:
    return _geojson(folder / "城关.geojson", gpd.GeoDataFrame({"name": ["城关"]}, geometry=[box(X0, Y0, X1, Y1)],
                                                              crs="EPSG:4326"))


def _preview(at: AppTest) -> pd.DataFrame:
    """The last preview table drawn (columns: 字段, 猜测用途, 示例值)."""
    tables = [d.value for d in at.dataframe if "猜测用途" in d.value.columns]
    assert tables, "no preview table"
    return tables[-1].set_index("字段")


def _xlsx(path: Path, sheets: dict[str, list[list]]) -> Path:
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
    wb.save(path)
    return path


GBK_CSV = ("城关派出所 警情明细\n"
           "序号,接警时间,东经,北纬,案件类别,警情级别\n"
           "1,2024年3月5日 20时15分,113.91,34.31,盗窃,一级\n"
           "2,2024年3月5日 21时40分30秒,113.92,34.32,纠纷,二级\n"
           "3,2024.3.6 7:05,113.93,34.33,诈骗,三级\n"
           "4,20240306091000,,,盗窃,二级\n").encode("gbk")


# --- pure helpers ---------------------------------------------------------------------------------

def test_uploaded_files_group_into_datasets():
    names = ["警情.shp", "警情.DBF", "警情.shx", "警情.prj", "警情.cpg", "人口.geojson", "b.csv"]
    assert datasets_from_names(names) == [["警情.shp", "警情.DBF", "警情.shx", "警情.prj", "警情.cpg"],
                                          ["人口.geojson"], ["b.csv"]]
    assert entry_file(["a.dbf", "a.shp", "a.shx"]) == "a.shp"
    with pytest.raises(InputError, match="without its .shp"):
        entry_file(["a.dbf", "a.shx"])
    assert network_entry(["city.osm.pbf"]) == "city.osm.pbf"
    assert network_entry(["nodes.csv", "edges.csv"]) == "edges.csv"
    assert network_entry(["x_node.tntp", "x_net.tntp"]) == "x_net.tntp"
    with pytest.raises(InputError, match="one network file"):
        network_entry(["a.osm", "b.osm"])


# --- Excel and GBK CSV with Chinese headers and dates -------------------------------------------------

def test_xlsx_incidents_with_a_cover_sheet(tmp_path):
    path = _xlsx(tmp_path / "警情.xlsx", {
        "说明": [["本表由警综平台导出"], ["仅供内部使用"]],
        "警情": [["XX分局 2024年3月 警情导出"], ["警情编号", "报警时间", "经度", "纬度", "警情类别", "警情级别"],
                 ["J001", dt.datetime(2024, 3, 5, 20, 15), 113.91, 34.31, "盗窃", "一级"],
                 ["J002", "2024/3/5 21:40", 113.92, 34.32, "纠纷", "二级"],
                 ["J003", "2024年3月6日 8时05分", None, 34.33, "诈骗", "二级"]]})
    at = _put(_put(_form(), "area", _area(tmp_path)), "incidents", path)
    assert not at.exception
    sheet = at.selectbox(key="gp_part_incidents")
    assert sheet.options == ["说明", "警情"]
    assert at.error and at.button(key="gp_build_go").disabled, "the cover sheet has no points"
    sheet.set_value("警情").run()
    _clean(at)
    assert at.selectbox(key="gp_id_incidents").value == "警情编号"
    preview = _preview(at)
    assert preview.loc["警情编号", "猜测用途"] == "编号" and preview.loc["经度", "猜测用途"] == "经度/X"
    assert preview.loc["报警时间", "猜测用途"] == "时间" and preview.loc["警情类别", "猜测用途"] == "类别"
    assert preview.loc["time", "示例值"] == "2024-03-05 20:15 · 2024-03-05 21:40"
    assert any("1 of 3 rows cannot be placed" in w.value for w in at.warning)
    ws = _build(at)
    inc = ws.layer("incidents")
    assert sorted(inc["incident_id"]) == ["J001", "J002"]
    assert sorted(inc["time"].dt.hour) == [20, 21] and set(inc["category"]) == {"盗窃", "纠纷"}
    assert ws.layer("cells")["incidents"].sum() == 2


def test_gbk_csv_with_chinese_headers_and_dates(tmp_path):
    at = _put(_put(_form(), "area", _area(tmp_path)), "incidents", ("警情.csv", GBK_CSV))
    _clean(at)
    assert at.selectbox(key="gp_id_incidents").value == "序号"
    preview = _preview(at)
    # the user's own column is named as the time, not the `time` copy the reader adds
    assert preview.loc["东经", "猜测用途"] == "经度/X" and preview.loc["接警时间", "猜测用途"] == "时间"
    assert preview.loc["案件类别", "示例值"] == "盗窃 · 纠纷 · 诈骗"
    assert at.radio(key="gp_src_incidents").value == "wgs84"
    ws = _build(at)
    inc = ws.layer("incidents").sort_values("incident_id")
    assert list(inc["incident_id"]) == ["1", "2", "3"]
    assert list(inc["time"].dt.hour) == [20, 21, 7] and list(inc["time"].dt.minute) == [15, 40, 5]
    assert list(inc["priority"]) == ["1", "2", "3"]


# --- fid, constant ids, merges, population ------------------------------------------------------

def test_a_fid_column_and_a_geopackage_row_id_import(tmp_path):
    incidents = _geojson(tmp_path / "inc.geojson", gpd.GeoDataFrame(
        {"fid": [11, 12, 13], "类别": ["盗窃", "纠纷", "盗窃"]},
        geometry=[Point(113.91, 34.31), Point(113.95, 34.35), Point(113.99, 34.39)], crs="EPSG:4326"))
    towns = tmp_path / "towns.gpkg"
    gpd.GeoDataFrame({"名称": ["西", "东"]}, geometry=[box(X0, Y0, XM, Y1), box(XM, Y0, X1, Y1)],
                     crs="EPSG:4326").to_file(towns, layer="towns")
    at = _put(_put(_put(_form(), "area", _area(tmp_path)), "incidents", incidents), "townships", towns)
    _clean(at)
    assert at.selectbox(key="gp_id_incidents").value == "fid"
    assert "fid" in at.selectbox(key="gp_id_townships").options  # the GeoPackage's own row id
    at.selectbox(key="gp_id_townships").set_value("fid").run()
    ws = _build(at)
    assert sorted(ws.layer("incidents")["incident_id"]) == ["11", "12", "13"]
    assert sorted(ws.layer("townships")["township_id"]) == ["1", "2"]


def test_a_constant_or_mostly_empty_id_column_is_refused(tmp_path):
    towns = _geojson(tmp_path / "community_areas.geojson", gpd.GeoDataFrame(
        {"AREA": [0.0, 0.0, 0.0], "AREA_NUMBE": ["35", "36", "37"], "NOTE": [None, None, "x"]},
        geometry=[box(X0, Y0, 113.93, Y1), box(113.93, Y0, 113.97, Y1), box(113.97, Y0, X1, Y1)],
        crs="EPSG:4326"))
    at = _put(_put(_form(), "area", _area(tmp_path)), "townships", towns)
    _clean(at)
    assert at.selectbox(key="gp_id_townships").value == "AREA_NUMBE", "AREA (0.0 everywhere) is not guessed"
    at.selectbox(key="gp_id_townships").set_value("AREA").run()
    assert "「AREA」每行都是同一个值 0，不能作编号" in at.error[0].value
    assert at.button(key="gp_build_go").disabled
    assert any("请先处理" in c.value for c in at.caption)
    at.selectbox(key="gp_id_townships").set_value("NOTE").run()
    assert "在 3 行中有 2 行为空" in at.error[0].value and at.button(key="gp_build_go").disabled
    at.selectbox(key="gp_id_townships").set_value("AREA_NUMBE").run()
    ws = _build(at)
    assert sorted(ws.layer("townships")["township_id"]) == ["35", "36", "37"]


def test_an_id_that_merges_polygons_asks_for_confirmation(tmp_path):
    jur = _geojson(tmp_path / "districts.geojson", gpd.GeoDataFrame(
        {"DIST_NUM": ["17", "31", "31"], "_SocrataID": ["a", "b", "c"]},
        geometry=[box(X0, Y0, X1, YM), box(X0, YM, XM, Y1), box(XM, YM, X1, Y1)], crs="EPSG:4326"))
    at = _put(_put(_form(), "area", _area(tmp_path)), "jurisdictions", jur)
    assert at.selectbox(key="gp_id_jurisdictions").value == "DIST_NUM"
    assert "3 个要素将合并为 2 个单元" in at.warning[0].value
    assert at.button(key="gp_build_go").disabled
    at.checkbox(key="gp_merge_jurisdictions").check().run()
    ws = _build(at)
    assert sorted(ws.layer("jurisdictions")["station_id"]) == ["17", "31"]


def test_population_must_be_numbers_and_its_total_is_shown(tmp_path):
    people = _geojson(tmp_path / "人口.geojson", gpd.GeoDataFrame(
        {"街道": ["西", "东"], "人口说明": ["户籍", "常住"], "常住人口": [12000.0, 8000.0]},
        geometry=[box(X0, Y0, XM, Y1), box(XM, Y0, X1, Y1)], crs="EPSG:4326"))
    at = _put(_put(_form(), "area", _area(tmp_path)), "attributes", people)
    _clean(at)
    assert at.selectbox(key="gp_attr_population_0").value == "常住人口"
    assert any("「常住人口」合计 20,000" in c.value for c in at.caption)
    at.selectbox(key="gp_attr_population_0").set_value("人口说明").run()
    assert "「人口说明」是文本" in at.error[0].value and at.button(key="gp_build_go").disabled
    at.selectbox(key="gp_attr_population_0").set_value("常住人口").run()
    # A second file giving population too: one must be left out.
    other = _geojson(tmp_path / "人口2.geojson", gpd.read_file(people))
    at = _put(at, "attributes", people, other)
    assert "只能由一个文件提供人口" in at.error[0].value
    at.selectbox(key="gp_attr_population_1").set_value("").run()
    ws = _build(at)
    assert ws.layer("cells")["population"].sum() == pytest.approx(20_000, rel=1e-3)


def test_a_loose_shapefile_is_several_files_of_one_layer(tmp_path):
    folder = tmp_path / "shp"
    folder.mkdir()
    gpd.GeoDataFrame({"所编号": ["S1", "S2"], "名称": ["南关派出所", "北关派出所"]},
                     geometry=[Point(113.95, 34.32), Point(113.95, 34.38)], crs="EPSG:4326"
                     ).to_file(folder / "派出所.shp", encoding="utf-8")
    parts = sorted(folder.iterdir())
    assert {p.suffix for p in parts} >= {".shp", ".shx", ".dbf", ".prj", ".cpg"}
    at = _put(_form(), "area", _area(tmp_path))
    at = _put(at, "stations", *[p for p in parts if p.suffix == ".dbf"])
    assert "缺少 .shp" in at.error[0].value
    at = _put(at, "stations", *parts)
    _clean(at)
    assert at.selectbox(key="gp_id_stations").value == "所编号"
    ws = _build(at)
    assert sorted(ws.layer("stations")["station_id"]) == ["S1", "S2"]
    assert set(ws.layer("stations")["名称"]) == {"南关派出所", "北关派出所"}


# --- every layer, as the command line imports it --------------------------------------------------

def _all_layers(folder: Path) -> dict[str, Path]:
    def polys(name: str, cols: dict, boxes: list) -> Path:
        return _geojson(folder / name, gpd.GeoDataFrame(cols, geometry=boxes, crs="EPSG:4326"))

    def points(name: str, frame: pd.DataFrame) -> Path:
        (folder / name).write_text(frame.to_csv(index=False), encoding="utf-8-sig")
        return folder / name

    quads = [box(X0, Y0, XM, YM), box(XM, Y0, X1, YM), box(X0, YM, XM, Y1), box(XM, YM, X1, Y1)]
    eighths = [box(x, y, x + 0.025, y + 0.05) for x in (113.90, 113.925, 113.95, 113.975) for y in (34.30, 34.35)]
    nodes = pd.DataFrame({"node_id": range(9), "lon": [x for _ in range(3) for x in (113.91, 113.95, 113.99)],
                          "lat": [y for y in (34.31, 34.35, 34.39) for _ in range(3)]})
    pairs = [(a, a + 1) for a in range(9) if a % 3 < 2] + [(a, a + 3) for a in range(6)]
    net = folder / "net"
    net.mkdir()
    nodes.to_csv(net / "nodes.csv", index=False)
    pd.DataFrame({"u": [a for a, _ in pairs], "v": [b for _, b in pairs],
                  "road_class": "street"}).to_csv(net / "edges.csv", index=False)
    return {
        "area": _area(folder),
        "townships": polys("街道.geojson", {"街道代码": ["T1", "T2"], "街道名称": ["西", "东"]},
                           [box(X0, Y0, XM, Y1), box(XM, Y0, X1, Y1)]),
        "communities": polys("社区.geojson", {"社区编号": ["C1", "C2", "C3", "C4"]}, quads),
        "police_grids": polys("警务区.geojson", {"警务区编号": ["P1", "P2"], "派出所编号": ["S1", "S2"]},
                              [box(X0, Y0, X1, YM), box(X0, YM, X1, Y1)]),
        "gov_grids": polys("网格.geojson", {"网格编号": [f"G{i}" for i in range(8)]}, eighths),
        "jurisdictions": polys("辖区.geojson", {"派出所编号": ["S1", "S2"]},
                               [box(X0, Y0, X1, YM), box(X0, YM, X1, Y1)]),
        "stations": points("派出所.csv", pd.DataFrame({"派出所编号": ["S1", "S2"], "派出所名称": ["南关", "北关"],
                                                   "经度": [113.95, 113.95], "纬度": [34.32, 34.38]})),
        "posts": points("警务站.csv", pd.DataFrame({"警务站编号": ["W1", "W2"], "经度": [113.92, 113.97],
                                                 "纬度": [34.33, 34.37]})),
        "checkpoints": points("卡口.csv", pd.DataFrame({"卡口编号": ["K1"], "经度": [113.901], "纬度": [34.35]})),
        "incidents": folder / "警情.csv",
        "attributes": polys("人口.geojson", {"常住人口": [12000, 8000]}, [box(X0, Y0, XM, Y1), box(XM, Y0, X1, Y1)]),
        "network": net,
    }


def test_every_layer_the_command_line_imports_the_form_imports_the_same(tmp_path, capsys):
    files = _all_layers(tmp_path)
    files["incidents"].write_bytes(GBK_CSV)
    at = _form()
    for slot in ("area", "townships", "communities", "police_grids", "gov_grids", "jurisdictions",
                 "stations", "posts", "checkpoints", "incidents", "attributes"):
        at = _put(at, slot, files[slot])
    at = _put(at, "network", files["network"] / "nodes.csv", files["network"] / "edges.csv")
    _clean(at)
    assert at.selectbox(key="gp_pgrid_station").value == "派出所编号"
    assert "gp_build_nettype" not in [r.key for r in at.radio], "drive/walk is asked for OSM files only"
    ws = _build(at, name="form")
    out = tmp_path / "cli.gpkg"
    code = cli.main([
        "import", str(out), "--area", str(files["area"]),
        "--townships", str(files["townships"]), "--township-id", "街道代码",
        "--communities", str(files["communities"]), "--community-id", "社区编号",
        "--police-grids", str(files["police_grids"]), "--police-grid-id", "警务区编号",
        "--police-grid-station", "派出所编号",
        "--gov-grids", str(files["gov_grids"]), "--gov-grid-id", "网格编号",
        "--jurisdictions", str(files["jurisdictions"]), "--jurisdiction-id", "派出所编号",
        "--stations", str(files["stations"]), "--station-id", "派出所编号",
        "--posts", str(files["posts"]), "--post-id", "警务站编号",
        "--checkpoints", str(files["checkpoints"]), "--checkpoint-id", "卡口编号",
        "--incidents", str(files["incidents"]), "--incident-id", "序号",
        "--attributes", str(files["attributes"]), "--columns", "常住人口=population",
        "--network", str(files["network"] / "edges.csv"), "--cell-size", "2000", "--name", "form", "--json"])
    stdout, err = capsys.readouterr()
    assert code == 0, err
    from_cli = json.loads(stdout)
    from_form = workspace_info(ws)
    assert from_form["layers"] == from_cli["layers"]
    assert set(from_form["layers"]) >= {"communities", "police_grids", "gov_grids", "road_nodes", "road_edges",
                                        "posts", "checkpoints", "incidents", "stations", "jurisdictions"}
    assert from_form["crs"] == from_cli["crs"]
    cli_ws = read_workspace(out)
    for layer in ("cells", "police_grids", "gov_grids", "incidents"):
        a, b = ws.layer(layer), cli_ws.layer(layer)
        assert list(a.columns) == list(b.columns), layer
        assert a.drop(columns="geometry").astype(str).equals(b.drop(columns="geometry").astype(str)), layer
    assert ws.layer("cells")["population"].sum() == pytest.approx(20_000, rel=1e-3)


# --- redistricting on an imported workspace ---------------------------------------------------------

@pytest.mark.parametrize("population,expected", [(True, ["population"]), (False, ["area"])])
def test_redistricting_preselects_only_a_weight_the_workspace_has(tmp_path, monkeypatch, population, expected):
    files = _all_layers(tmp_path)
    ws, _ = build_workspace(
        area=LayerSource(str(files["area"])),
        jurisdictions=LayerSource(str(files["jurisdictions"]), id_col="派出所编号"),
        stations=LayerSource(str(files["stations"]), id_col="派出所编号"),
        attributes=[(LayerSource(str(files["attributes"])), {"常住人口": "population"})] if population else [],
        cell_size_m=2000.0)
    assert ws.layer("cells")["incidents"].sum() == 0  # imported without incidents
    path = write_workspace(ws, tmp_path / "imported.gpkg")
    monkeypatch.setenv("GRIDPATROL_WORKSPACE", str(path))
    monkeypatch.setenv("GRIDPATROL_PAGE", "redistrict")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    _clean(at)
    assert at.multiselect(key="gp_rd_wcols").value == expected
    assert text("page.redistrict") in [h.value for h in at.header]


OSM_XML = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="hand">
  <node id="1" lat="34.35" lon="113.92" version="1"/>
  <node id="2" lat="34.35" lon="113.94" version="1"/>
  <node id="3" lat="34.35" lon="113.96" version="1"/>
  <node id="4" lat="34.37" lon="113.96" version="1"/>
  <way id="10" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/><tag k="highway" v="residential"/></way>
  <way id="11" version="1"><nd ref="3"/><nd ref="4"/><tag k="highway" v="footway"/></way>
</osm>
"""


def test_an_osm_network_is_read_for_cars_or_for_foot_patrols(tmp_path):
    at = _put(_put(_form(), "area", _area(tmp_path)), "network", ("a.osm", b"<osm/>"), ("b.osm", b"<osm/>"))
    assert "路网收到 2 个文件" in at.error[0].value and at.button(key="gp_build_go").disabled
    at = _put(at, "network", ("roads.osm", OSM_XML.encode()))
    _clean(at)
    assert at.radio(key="gp_build_nettype").options == ["机动车道路（车巡）", "机动车道路，含内部道路",
                                                        "步行道路（步巡）"]
    drive = _build(at, name="drive")
    at.radio(key="gp_build_nettype").set_value("walk").run()
    walk = _build(at, name="walk")
    assert drive.meta["network_type"] == "drive" and walk.meta["network_type"] == "walk"
    # The footway 3-4 is in the walking network only (node 3 between two ways is simplified away).
    assert sorted(drive.layer("road_nodes")["node_id"]) == ["1", "3"]
    assert sorted(walk.layer("road_nodes")["node_id"]) == ["1", "4"]
