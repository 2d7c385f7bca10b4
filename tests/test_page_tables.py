"""The UI speaks the UI language: every table a page draws has headers in it (no raw column
names), units people read and local times; widget typing slips are said in it; library messages
name parameters and the command line says them as its flags."""
from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import cli
from geo.coverage import parse_bands
from geo.errors import InputError
from geo.hotspots import shift_from_text
from geo.times import TZ_ENV, local_time_text, local_zone
from geo.workspace import read_workspace, write_workspace
from tests._apptest import tiny_workspace
from ui.tables import column_header, table_for_page

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
TIMEOUT = 300
RAW_NAME = re.compile(r"[a-z]+_[a-z_]+")
# The pages whose tables this work localised (audit and briefing have their own tests).
PAGES = ("overview", "data", "coverage", "patrol", "redistrict")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """The tiny workspace with incident times (for the patrol page) and one saved plan."""
    from planning.editing import save_plan
    from planning.plan import Plan, district_graph

    ws = tiny_workspace()
    incidents = ws.layers["incidents"].copy()
    hours = np.arange(len(incidents)) % 24
    incidents["time"] = pd.Timestamp("2026-03-05") + pd.to_timedelta(hours, unit="h")
    stations = ws.layers["stations"].to_crs("EPSG:4326")  # beside road nodes: patrols start there
    stations = stations.set_geometry(gpd.points_from_xy([113.9, 113.949], [34.299, 34.301]), crs="EPSG:4326")
    ws = ws.with_layers(incidents=incidents, stations=stations.to_crs(ws.crs))
    path = write_workspace(ws, tmp_path_factory.mktemp("tables") / "tiny.gpkg")
    cells, stations = ws.layers["cells"], ws.layers["stations"]
    graph = district_graph(cells, stations, weights="incidents=1")
    plan = Plan.from_labels(graph, cells.set_index("cell_id")["station_id"], name="current")
    save_plan(path, plan, name="第一版", author="tester", note="测试",
              created="2026-12-06T03:05:00+00:00")
    return path


def _page(monkeypatch, path: Path, page: str, lang: str) -> AppTest:
    monkeypatch.setenv("GRIDPATROL_WORKSPACE", str(path))
    monkeypatch.setenv("GRIDPATROL_PAGE", page)
    # Widgets' format functions also run in the test, outside the session, where the language
    # is the default one: the same language there.
    monkeypatch.setattr("ui.i18n.DEFAULT_LANGUAGE", lang)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["lang"] = lang
    return at.run()


def _clean(at: AppTest, where: str) -> None:
    assert not at.exception, (where, [e.value for e in at.exception])
    assert not at.error, (where, [e.value for e in at.error])


def _headers(at: AppTest) -> list[str]:
    return [str(c) for df in at.dataframe for c in df.value.columns]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_page_table_shows_a_raw_column_name(workspace, monkeypatch, lang):
    seen: dict[str, list[str]] = {}
    for page in PAGES:
        at = _page(monkeypatch, workspace, page, lang)
        _clean(at, page)
        headers = _headers(at)
        if page == "overview":
            at.toggle(key="gp_ov_show_table").set_value(True).run()
        if page in ("overview", "data"):  # the attribute table of every layer
            key = "gp_ov_table" if page == "overview" else "gp_data_table"
            for layer in read_workspace(workspace).layers:
                at.selectbox(key=key).set_value(layer).run()
                _clean(at, f"{page}/{layer}")
                headers += _headers(at)
        if page == "coverage":  # the placement's tables appear after its button
            at.button(key="gp_cv_place_run").click().run()
            _clean(at, page)
            headers += _headers(at)
        seen[page] = headers
    assert all(seen[p] for p in PAGES), {p: len(h) for p, h in seen.items()}
    raw = {p: sorted({h for h in headers if RAW_NAME.search(h)}) for p, headers in seen.items()}
    assert not any(raw.values()), f"raw column names in the {lang} tables: {raw}"
    flat = [h for headers in seen.values() for h in headers]
    assert ("Saved at" in flat) == (lang == "en") and ("保存时间" in flat) == (lang == "zh")
    if lang == "zh":
        flat = [h for headers in seen.values() for h in headers]
        for wanted in ("保存时间", "人口 (人)", "用时 (分钟)", "面积 (km²)", "调整前人口 (人)"):
            assert wanted in flat, wanted


def test_plan_history_shows_local_time_and_no_bookkeeping(workspace, monkeypatch):
    at = _page(monkeypatch, workspace, "redistrict", "zh")
    _clean(at, "redistrict")
    history = next(df.value for df in at.dataframe if "保存时间" in df.value.columns)
    assert history["保存时间"].tolist() == ["2026-12-06 11:05"]  # 03:05 UTC in Asia/Shanghai
    assert history["保存人"].tolist() == ["tester"] and "草稿" not in history.columns


def test_table_helper_converts_units_and_names_states():
    frame = pd.DataFrame({"population_before": [10811.8], "area_m2": [2_500_000.0],
                          "share_within": [0.807], "minutes": [4.63], "direction": ["in"],
                          "road_class": ["national"], "own_column": [1]})
    shown, config = table_for_page(frame, lang="zh")
    assert list(shown.columns) == ["调整前人口 (人)", "面积 (km²)", "时限内占比", "用时 (分钟)", "方向",
                                   "道路等级", "own_column"]  # a user's own column keeps its name
    row = shown.iloc[0]
    assert row["调整前人口 (人)"] == 10812 and row["面积 (km²)"] == pytest.approx(2.5)
    assert row["时限内占比"] == pytest.approx(80.7) and row["方向"] == "驶入" and row["道路等级"] == "国道"
    assert config["面积 (km²)"]["type_config"]["format"] == "%.1f"
    assert config["时限内占比"]["type_config"]["format"] == "%.1f%%"
    assert column_header("population_change", "en") == "Population change (people)"
    assert column_header("unit", "zh", keys="pt.col") == "巡逻组"
    assert list(frame.columns)[0] == "population_before", "the input is not changed"


# --- local times ----------------------------------------------------------------------------------

def test_local_time_of_stored_utc_stamps(monkeypatch):
    monkeypatch.delenv(TZ_ENV, raising=False)
    assert local_zone() == "Asia/Shanghai"
    assert local_time_text("2026-12-06T03:05:00+00:00") == "2026-12-06 11:05"
    assert local_time_text("2026-12-06T20:30:00Z") == "2026-12-07 04:30"  # the next local day
    assert local_time_text("2026-12-06 03:05:00") == "2026-12-06 11:05"  # no offset: UTC
    assert local_time_text(None) == "" and local_time_text(float("nan")) == "" and local_time_text("") == ""
    assert local_time_text("yesterday-ish") == "yesterday-ish"
    assert local_time_text("2026-12-06T03:05:00+00:00", zone="Asia/Urumqi") == "2026-12-06 09:05"
    monkeypatch.setenv(TZ_ENV, "Asia/Urumqi")
    assert local_time_text("2026-12-06T03:05:00+00:00") == "2026-12-06 09:05"
    monkeypatch.setenv(TZ_ENV, "Mars/Olympus")
    with pytest.raises(InputError, match="GRIDPATROL_TZ was 'Mars/Olympus'"):
        local_time_text("2026-12-06T03:05:00+00:00")


# --- messages: parameters in the library, flags on the command line, the UI language in the app ---

def test_library_messages_name_parameters_not_flags():
    with pytest.raises(InputError, match=r"^`minutes` was '5,abc,1' but must be comma-separated"):
        parse_bands("5,abc,1")
    with pytest.raises(InputError, match=r"^`shift` was '25:00-26:00', which is not a time of day"):
        shift_from_text("25:00-26:00")


def test_the_command_line_says_parameters_as_its_flags(capsys):
    assert cli.cli_wording("`minutes` was '5,abc,1' but must be minutes", "coverage") == \
        "--minutes was '5,abc,1' but must be minutes"
    assert cli.cli_wording("give `source_crs` (an EPSG code)", "ring") == "give --network-crs (an EPSG code)"
    assert cli.cli_wording("name it (`id_col`)", "coverage") == "name it (--id)"
    assert cli.cli_wording("name it (`id_col`)", "seal") == "name it (`id_col`)"  # no such flag there
    assert cli.cli_wording("`x_col`/`y_col`", "import") == "--x-col/--y-col"
    code = cli.main(["coverage", "--network", "nowhere.gpkg", "--minutes", "5,abc,1"])
    err = capsys.readouterr().err
    assert code == 2 and "--minutes was '5,abc,1'" in err and "`minutes`" not in err, err


def test_widget_slips_are_said_in_the_ui_language(workspace, monkeypatch):
    at = _page(monkeypatch, workspace, "coverage", "zh")
    at.text_input(key="gp_cv_bands").input("5,abc,1").run()
    assert [e.value for e in at.error] == ["响应圈“5,abc,1”无法识别：请填写大于 0 的分钟数，用逗号分隔，如 1,3,5"]
    at = _page(monkeypatch, workspace, "patrol", "zh")
    _clean(at, "patrol")
    at.text_input(key="gp_pt_shift").input("8-16").run()
    assert [e.value for e in at.error] == [
        "班次“8-16”无法识别：请按“时:分-时:分”填写，如 08:00-16:00，跨午夜如 22:00-06:00"]
    at = _page(monkeypatch, workspace, "redistrict", "zh")
    at.text_input(key="gp_rd_ids").input("14-12")
    at.button(key="gp_rd_apply_ids").click().run()
    assert len(at.error) == 1 and at.error[0].value.startswith("网格编号“14-12”无法识别")
    at.text_input(key="gp_rd_ids").input("99999")
    at.button(key="gp_rd_apply_ids").click().run()
    assert [e.value for e in at.error] == ["1 个编号不是本方案的网格：99999；请填写地图提示中的网格编号"]


def test_streamlit_own_words_are_relabelled_in_the_ui_language():
    from ui.chrome import chrome_css

    zh, en = chrome_css("zh", max_upload_mb=200), chrome_css("en", max_upload_mb=50)
    assert zh.startswith("<style>") and zh.endswith("</style>")
    assert 'content: "浏览文件"' in zh and 'content: "每个文件不超过 200 MB"' in zh and "按回车键确认" in zh
    assert 'content: "Browse files"' in en and 'content: "At most 50 MB per file"' in en
    assert "InputInstructions" not in en  # Streamlit's own English hint is right in English
