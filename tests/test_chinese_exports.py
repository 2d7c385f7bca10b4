"""Police exports get in: Excel and CSV with Chinese headers, encodings and time formats; ``fid``
columns; loose Shapefiles."""
from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, box

from geo import crs as gcrs
from geo.build import build_workspace
from geo.errors import GridPatrolWarning, InputError
from geo.layers import LayerSource, read_layer
from geo.tables import sheet_names, table_from_file
from geo.times import parse_times
from geo.warn import captured_warnings
from geo.workspace import read_workspace, write_workspace

from .conftest import METRIC

DATA = Path(__file__).parent / "data" / "chinese_exports"
HEADER = ["警情编号", "报警时间", "经度", "纬度", "警情类别", "警情级别"]


def _read(source) -> tuple[gpd.GeoDataFrame, list[str]]:
    with captured_warnings() as notes:
        gdf = read_layer(source)
    return gdf, list(notes)


def _xlsx(path: Path, rows: list[list], *, title: str | None = "XX分局 2024年3月 警情导出",
          header=HEADER, sheet: str = "警情") -> Path:
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    if title:
        ws.append([title])
    ws.append(header)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


# --- Excel -----------------------------------------------------------------------------------

def test_xlsx_with_title_row_chinese_headers_and_bad_rows(tmp_path):
    rows = [
        ["J001", dt.datetime(2024, 3, 5, 20, 15), 113.91, 34.31, "盗窃", "一级"],   # row 3
        ["J002", "2024/3/5 21:40", 113.92, 34.32, "纠纷", "二级"],                  # row 4
        ["J003", None, None, 34.33, "盗窃", "三级"],                               # 5: no lon
        ["J004", "2024年3月6日 8时05分", 113.94, 999, "诈骗", "1级"],               # 6: lat 999
        ["J005", "2024-03-06 09:10:00", "东经113度", 34.35, "盗窃", "二级"],         # 7: text lon
        ["J006", 45357.84375, 113.96, 34.36, "求助", "三级"],                        # 8: serial
        ["J007", "不详", 113.97, 34.37, "纠纷", None],                               # 9: bad time
    ]
    path = _xlsx(tmp_path / "inc.xlsx", rows)
    gdf, notes = _read(LayerSource(str(path)))
    assert list(gdf["警情编号"]) == ["J001", "J002", "J006", "J007"]
    assert gdf.crs.to_epsg() == 4326 and list(gdf.index) == [0, 1, 2, 3]
    left_out = next(n for n in notes if "cannot be placed" in n)
    assert "3 of 7 rows cannot be placed" in left_out
    assert "no numeric 经度/纬度 in rows 5, 7" in left_out
    assert "outside -180..180 / -90..90 degrees in rows 6" in left_out
    assert any("read as WGS84 longitude/latitude in degrees (EPSG:4326)" in n for n in notes)
    bad_time = next(n for n in notes if "are not dates and times" in n)
    assert bad_time.startswith(f"{path}:警情: 1 of 4 values in '报警时间'") and "rows 9" in bad_time
    assert list(gdf["time"].dt.hour.iloc[:3]) == [20, 21, 20]
    assert gdf["time"].iloc[2] == pd.Timestamp("2024-03-06 20:15")  # Excel serial 45357.84375
    assert pd.isna(gdf["time"].iloc[3])
    assert list(gdf["category"]) == ["盗窃", "纠纷", "求助", "纠纷"]
    assert list(gdf["priority"].iloc[:3]) == ["1", "2", "3"] and pd.isna(gdf["priority"].iloc[3])
    assert list(gdf["警情级别"].iloc[:3]) == ["一级", "二级", "三级"]  # originals kept


def test_xlsx_sheet_is_chosen_with_a_colon(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    wb.active.title = "说明"
    wb.active.append(["本表由系统导出"])
    ws = wb.create_sheet("三月警情")
    ws.append(["编号", "lng", "lat", "接警时间"])
    ws.append(["A1", 116.40, 39.90, "2024-03-05 23:59"])
    hidden = wb.create_sheet("旧表")
    hidden.sheet_state = "hidden"
    wb.save(tmp_path / "two.xlsx")
    assert sheet_names(tmp_path / "two.xlsx") == ["说明", "三月警情"]
    gdf, _ = _read(f"{tmp_path / 'two.xlsx'}:三月警情")
    assert len(gdf) == 1 and gdf["time"].iloc[0].hour == 23
    assert gdf.attrs["source"].endswith("two.xlsx:三月警情")
    with pytest.raises(InputError, match=r"no sheet '四月' in the workbook; it has \['说明', '三月警情', '旧表'\]"):
        read_layer(f"{tmp_path / 'two.xlsx'}:四月")
    with pytest.raises(InputError, match=r"two\.xlsx:说明: no x/longitude column.*the workbook has "
                       r"the sheets \['说明', '三月警情'\]: name the one with the points as two\.xlsx:<sheet>"):
        read_layer(tmp_path / "two.xlsx")  # the first sheet is a cover note


def test_legacy_xls_is_read():
    gdf, notes = _read(DATA / "incidents.xls")
    assert list(gdf["警情编号"]) == ["J001", "J002", "J003"]
    assert list(gdf["time"]) == [pd.Timestamp("2024-03-05 20:15"), pd.Timestamp("2024-03-06 08:30"),
                                 pd.Timestamp("2024-03-06 22:30")]
    assert any("1 of 4 rows cannot be placed" in n and "rows 6" in n for n in notes)
    assert list(gdf["priority"]) == ["1", "2", "3"]


def test_excel_lon_lat_in_gcj02_are_converted(tmp_path):
    glon, glat = 116.38404722455657, 39.91334545536069
    path = _xlsx(tmp_path / "amap.xlsx", [["A", "2024-03-05 20:15", glon, glat, "盗窃", "一级"]])
    gdf, notes = _read(LayerSource(str(path), source_crs="gcj02"))
    wlon, wlat = gcrs.gcj02_to_wgs84(glon, glat)
    assert gdf.geometry.iloc[0].x == pytest.approx(float(wlon)) and gdf.crs.to_epsg() == 4326
    assert not any("EPSG:4326" in n for n in notes)  # the user said what the lon/lat are


def test_baidu_headers_suggest_source_crs(tmp_path):
    path = _xlsx(tmp_path / "bd.xlsx", [["A", "2024-03-05 20:15", 116.39, 39.92, "盗窃", "一级"]],
                 header=["警情编号", "报警时间", "百度经度", "百度纬度", "警情类别", "警情级别"])
    _, notes = _read(path)
    assert any("set source_crs to 'bd09'" in n for n in notes)


# --- CSV: encodings, separators, Chinese headers and dates -------------------------------------

CSV_TEXT = ("城关派出所 警情明细\n"
            "序号,接警时间,东经,北纬,案件类别,警情级别\n"
            "1,2024年3月5日 20时15分,113.91,34.31,盗窃,一级\n"
            "2,2024年3月5日 21时40分30秒,113.92,34.32,纠纷,二级\n"
            "3,2024.3.6 7:05,113.93,34.33,{name},三级\n"
            "4,20240306091000,,,盗窃,二级\n")


@pytest.mark.parametrize("encoding,name", [("gbk", "诈骗"), ("gb18030", "𠮷盗窃"),
                                           ("utf-8-sig", "诈骗"), ("utf-8", "诈骗")])
def test_csv_encodings_with_east_north_headers_and_chinese_dates(tmp_path, encoding, name):
    path = tmp_path / "inc.csv"
    path.write_bytes(CSV_TEXT.format(name=name).encode(encoding))
    if encoding == "gb18030":
        with pytest.raises(UnicodeEncodeError):
            name.encode("gbk")  # the file is GB18030, not GBK
    table = table_from_file(path)
    assert table.attrs["encoding"] == ("gbk" if encoding == "gbk" else
                                       encoding if encoding != "utf-8" else "utf-8")
    gdf, notes = _read(path)
    assert len(gdf) == 3 and gdf.crs.to_epsg() == 4326
    assert any("1 of 4 rows cannot be placed" in n and "rows 6" in n for n in notes)
    assert list(gdf["time"].dt.hour) == [20, 21, 7]
    assert list(gdf["time"].dt.minute) == [15, 40, 5]
    assert gdf["time"].iloc[1].second == 30
    assert list(gdf["category"]) == ["盗窃", "纠纷", name]


def test_separate_date_and_time_columns_are_combined(tmp_path):
    (tmp_path / "cases.csv").write_text(
        "案件编号\t发案日期\t发案时间\tX坐标\tY坐标\n"
        "A1\t2024-03-05\t20:15\t113.91\t34.31\n"
        "A2\t2024/3/6\t下午3点20分\t113.92\t34.32\n"
        "A3\t2024-03-07\t\t113.93\t34.33\n", encoding="utf-8")
    gdf, notes = _read(tmp_path / "cases.csv")
    assert list(gdf["time"].iloc[:2]) == [pd.Timestamp("2024-03-05 20:15"), pd.Timestamp("2024-03-06 15:20")]
    assert pd.isna(gdf["time"].iloc[2])
    assert any("'发案日期' + '发案时间'" in n and "rows 4" in n for n in notes)


def test_dates_without_time_of_day_are_said(tmp_path):
    (tmp_path / "d.csv").write_text("id,日期,lng,lat\n1,2024-03-05,113.9,34.3\n2,2024-03-06,113.9,34.3\n",
                                    encoding="utf-8")
    gdf, notes = _read(tmp_path / "d.csv")
    assert list(gdf["time"].dt.hour) == [0, 0]
    assert any("have no time of day" in n for n in notes)


def test_ids_with_leading_zeros_stay_text_and_projected_xy_need_a_crs(tmp_path):
    (tmp_path / "gk.csv").write_text("编号,X坐标,Y坐标\n007,38500000.5,3800000\n010,38500100,3800100\n",
                                     encoding="utf-8")
    gdf, _ = _read(LayerSource(str(tmp_path / "gk.csv"), crs="4526"))
    assert list(gdf["编号"]) == ["007", "010"] and gdf.crs.to_epsg() == 4526
    assert read_layer(tmp_path / "gk.csv").crs is None  # not degrees: validation asks for the CRS


def test_swapped_lon_lat_columns_are_refused(tmp_path):
    (tmp_path / "sw.csv").write_text("id,经度,纬度\n1,34.3,113.9\n2,34.4,113.8\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"'经度' look like latitudes .* seem swapped"):
        read_layer(tmp_path / "sw.csv")


def test_an_html_page_named_xls_is_explained(tmp_path):
    (tmp_path / "export.xls").write_text("<html><body><table><tr><td>经度</td></tr></table></body></html>",
                                         encoding="utf-8")
    with pytest.raises(InputError, match=r"export\.xls: a web page \(HTML\).*save it as \.xlsx"):
        read_layer(tmp_path / "export.xls")


# --- times -----------------------------------------------------------------------------------

def test_parse_times_forms_and_bad_rows():
    values = pd.Series(["2024-03-05 20:15:00", "2024/3/5 20:15", "2024年3月5日 20时15分",
                        "2024年3月5日 20时15分30秒", "20240305201500", 45356.84375,
                        dt.datetime(2024, 3, 5, 20, 15), "2024-03-05T12:15:00Z", "下午", None, "",
                        "2024-02-30 10:00"], index=range(2, 14))
    times, bad = parse_times(values)
    assert times.dtype == "datetime64[ns]" and list(times.index) == list(range(2, 14))
    assert all(t == pd.Timestamp("2024-03-05 20:15") for t in times.iloc[[0, 1, 2, 4, 5, 6, 7]])
    assert times.iloc[3] == pd.Timestamp("2024-03-05 20:15:30")
    assert bad == [10, 13]  # the text "下午" and 30 February; None and "" are missing, not bad
    assert times.iloc[8:].isna().all()


# --- fid columns and loose Shapefiles through a build -------------------------------------------

@pytest.fixture
def area_file(tmp_path) -> Path:
    path = tmp_path / "area.gpkg"
    gpd.GeoDataFrame({"name": ["tiny"]}, geometry=[box(0, 0, 2000, 1000)], crs=METRIC).to_file(path)
    return path


def _incidents(**extra) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"incident_id": ["I1", "I2", "I3"], **extra},
                            geometry=[Point(100, 100), Point(900, 500), Point(1800, 900)], crs=METRIC)


@pytest.mark.parametrize("kind", ["gpkg", "geojson"])
def test_a_fid_column_imports_and_writes(tmp_path, area_file, kind):
    path = tmp_path / f"inc.{kind}"
    if kind == "gpkg":  # QGIS keeps a fid key and sometimes a text FID attribute besides it
        _incidents(FID=["a", "b", "c"]).to_file(path, layer="inc", driver="GPKG", layer_options={"FID": "ogc_fid"})
    else:
        _incidents(fid=["1.0", "2", None]).to_file(path)
    ws, warns = build_workspace(area=LayerSource(str(area_file)), incidents=LayerSource(str(path)))
    out = write_workspace(ws, tmp_path / "ws.gpkg")
    inc = read_workspace(out).layer("incidents")
    assert sorted(inc["incident_id"]) == ["I1", "I2", "I3"] and "fid_src" in inc.columns


def test_fid_as_the_id_column(tmp_path, area_file):
    path = tmp_path / "inc.geojson"
    _incidents(fid=[11, 12, 13]).drop(columns="incident_id").to_file(path)
    ws, _ = build_workspace(area=LayerSource(str(area_file)), incidents=LayerSource(str(path), id_col="fid"))
    inc = read_workspace(write_workspace(ws, tmp_path / "ws.gpkg")).layer("incidents")
    assert sorted(inc["incident_id"]) == ["11", "12", "13"]


def test_loose_shapefile_with_and_without_its_sidecars(tmp_path, area_file):
    folder = tmp_path / "upload"
    folder.mkdir()
    _incidents(名称=["甲", "乙", "丙"]).to_file(folder / "警情.shp", encoding="gbk")
    (folder / "警情.cpg").unlink(missing_ok=True)  # many Chinese exports carry no .cpg
    with warnings.catch_warnings():
        warnings.simplefilter("error", GridPatrolWarning)
        with pytest.raises(GridPatrolWarning, match="no .cpg file.*GB18030"):
            read_layer(folder / "警情.shp")
    gdf, _ = _read(folder / "警情.shp")
    assert list(gdf["名称"]) == ["甲", "乙", "丙"]
    ws, _ = build_workspace(area=LayerSource(str(area_file)),
                            incidents=LayerSource(str(folder / "警情.shp"), id_col="incident_i"))
    assert len(ws.layer("incidents")) == 3
    (folder / "警情.dbf").unlink()
    with pytest.raises(InputError, match=r"the Shapefile is incomplete, 警情\.dbf is missing next to it"):
        read_layer(folder / "警情.shp")
    (folder / "警情.shx").unlink()
    with pytest.raises(InputError, match=r"警情\.shx and 警情\.dbf are missing.*or a zip of them"):
        read_layer(folder / "警情.shp")


def test_loose_shapefile_without_prj_has_no_crs(tmp_path):
    _incidents().to_file(tmp_path / "p.shp")
    (tmp_path / "p.prj").unlink()
    assert read_layer(tmp_path / "p.shp").crs is None  # validation asks for the CRS


def test_excel_incidents_build_into_a_workspace(tmp_path):
    area = tmp_path / "area.geojson"
    gpd.GeoDataFrame({"name": ["城关"]}, geometry=[box(113.90, 34.30, 114.00, 34.40)],
                     crs="EPSG:4326").to_file(area)
    path = _xlsx(tmp_path / "inc.xlsx", [
        ["J001", dt.datetime(2024, 3, 5, 20, 15), 113.91, 34.31, "盗窃", "一级"],
        ["J002", "2024/3/5 21:40", 113.92, 34.32, "纠纷", "二级"],
        ["J003", "2024/3/5 22:40", "", 34.32, "纠纷", "二级"]])
    with captured_warnings() as notes:
        ws, _ = build_workspace(area=LayerSource(str(area)),
                                incidents=LayerSource(str(path), id_col="警情编号"), cell_size_m=2000)
    out = write_workspace(ws, tmp_path / "ws.gpkg")
    inc = read_workspace(out).layer("incidents")
    assert sorted(inc["incident_id"]) == ["J001", "J002"]
    assert sorted(inc["time"].dt.hour) == [20, 21] and set(inc["category"]) == {"盗窃", "纠纷"}
    assert any("1 of 3 rows cannot be placed" in n and "rows 5" in n for n in notes)
