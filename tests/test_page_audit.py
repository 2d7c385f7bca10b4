"""The Boundary audit page: a click on the audit map picks the township or station whose counterparts
are listed (pure helper on a tiny literal audit), the page end to end with a simulated click, and
the page with police grids against governance grids and against stations (tables in zh and en)."""
from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pytest
from pyproj import Transformer
from shapely.geometry import box
from streamlit.testing.v1 import AppTest

from geo.audit import audit_partitions
from geo.workspace import write_workspace
from tests._apptest import tiny_workspace
from ui.page_audit import clicked_unit

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
TIMEOUT = 120

METRIC = "EPSG:32650"
X0, Y0 = 500_000.0, 3_000_000.0  # UTM 50N, as in tests/test_audit.py


def b(x0, y0, x1, y1):
    return box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def layer(ids, geoms):
    return gpd.GeoDataFrame({"id": ids}, geometry=geoms, crs=METRIC)


@pytest.fixture(scope="module")
def audit():
    # Police P1 covers A1 and half of A2, P2 the other half of A2; P2 stops 20 m short of the
    # east edge, leaving a gap (in A2, in no police unit).
    police = layer(["P1", "P2"], [b(0, 0, 150, 100), b(150, 0, 180, 100)])
    admin = layer(["A1", "A2"], [b(0, 0, 100, 100), b(100, 0, 200, 100)])
    return audit_partitions(police, admin, police_id="id", admin_id="id")


_TO_LL = Transformer.from_crs(METRIC, "EPSG:4326", always_xy=True)


def click_at(x, y, *, key="last_object_clicked"):
    """What show_map returns after a click at local metres (x, y)."""
    lng, lat = _TO_LL.transform(X0 + x, Y0 + y)
    return {key: {"lat": lat, "lng": lng}}


def test_click_picks_the_unit_of_the_preferred_side(audit):
    assert clicked_unit(click_at(50, 50), audit) == ("admin", "A1")
    assert clicked_unit(click_at(50, 50), audit, prefer="admin") == ("admin", "A1")
    assert clicked_unit(click_at(50, 50), audit, prefer="police") == ("police", "P1")
    assert clicked_unit(click_at(125, 50), audit, prefer="admin") == ("admin", "A2")
    assert clicked_unit(click_at(125, 50), audit, prefer="police") == ("police", "P1")
    assert clicked_unit(click_at(165, 50), audit, prefer="police") == ("police", "P2")


def test_click_in_a_gap_falls_back_to_the_civil_unit(audit):
    assert clicked_unit(click_at(190, 50), audit, prefer="police") == ("admin", "A2")


def test_click_payload_shapes(audit):
    point = click_at(50, 50)["last_object_clicked"]
    assert clicked_unit(point, audit, prefer="police") == ("police", "P1")  # a bare lat/lng
    assert clicked_unit(click_at(50, 50, key="last_clicked"), audit) == ("admin", "A1")
    # the tooltip text is not needed (nor trusted)
    assert clicked_unit({**click_at(50, 50), "last_object_clicked_tooltip": "police P2 admin A2"},
                        audit) == ("admin", "A1")


def test_click_just_outside_is_snapped_within_tolerance(audit):
    # the map draws simplified outlines: a click a few metres outside still picks the unit
    assert clicked_unit(click_at(-3, 50), audit, prefer="police") == ("police", "P1")
    assert clicked_unit(click_at(-3, 50), audit, prefer="police", tolerance_m=1) is None
    assert clicked_unit(click_at(-500, 50), audit) is None


@pytest.mark.parametrize("payload", [None, {}, {"last_object_clicked": None},
                                     {"last_object_clicked": {"lat": "x", "lng": 1}},
                                     {"last_object_clicked": {"lat": float("nan"), "lng": 1.0}},
                                     {"lat": 95.0, "lng": 0.0}, "P1", 3])
def test_nothing_usable_clicked(audit, payload):
    assert clicked_unit(payload, audit) is None


def test_ids_are_strings():
    police = gpd.GeoDataFrame({"id": [1, 2]}, geometry=[b(0, 0, 100, 100), b(100, 0, 200, 100)],
                              crs=METRIC)
    admin = gpd.GeoDataFrame({"id": [7]}, geometry=[b(0, 0, 200, 100)], crs=METRIC)
    a = audit_partitions(police, admin, police_id="id", admin_id="id")
    assert clicked_unit(click_at(150, 50), a, prefer="police") == ("police", "2")
    assert clicked_unit(click_at(150, 50), a) == ("admin", "7")


# ----------------------------------------------------------------------------------------------
# The page end to end. The map component does not run under AppTest, so show_map is replaced by
# one returning a click (as the browser would) for the audit map.

@pytest.fixture
def tiny(tmp_path) -> Path:
    return write_workspace(tiny_workspace(), tmp_path / "tiny.gpkg")


def _open(monkeypatch, path: Path, click: dict | None = None) -> AppTest:
    import ui.page_audit

    real = ui.page_audit.show_map
    calls = []

    def fake(m, *, key, **kw):
        calls.append((key, tuple(kw.get("returned_objects", ()))))
        real(m, key=key, **kw)
        return click if key == "gp_au_map" and click is not None else {}

    monkeypatch.setattr(ui.page_audit, "show_map", fake)
    monkeypatch.setenv("GRIDPATROL_WORKSPACE", str(path))
    monkeypatch.setenv("GRIDPATROL_PAGE", "audit")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.calls = calls
    return at


SHARE_OF_TOWNSHIP = "占该街道/乡镇的比例 (%)"


def _table(at: AppTest):
    """The counterparts table (headers in Chinese), with the columns the tests read renamed."""
    from ui.i18n import text
    heads = [s.value for s in at.subheader]
    assert text("audit.counterparts", "zh") in heads
    # the counterparts table: the dataframe with share columns whose rows name the chosen unit
    return [d.value.rename(columns={"派出所辖区": "police", "街道/乡镇": "admin",
                                    SHARE_OF_TOWNSHIP: "share_of_admin"})
            for d in at.dataframe if SHARE_OF_TOWNSHIP in d.value.columns]


def test_page_renders_with_the_map_asking_for_clicks(monkeypatch, tiny):
    at = _open(monkeypatch, tiny)
    assert not at.exception, at.exception
    assert ("gp_au_map", ("last_object_clicked",)) in at.calls
    assert at.selectbox(key="gp_au_unit").value == "T1"  # the first township, as before


def test_a_map_click_lists_the_clicked_units_counterparts(monkeypatch, tiny):
    # tiny workspace: townships T1 (west) / T2 (east) of 113.9E, stations S1 (south) / S2 (north)
    # of 34.3N; click in the south-east quarter.
    click = {"last_object_clicked": {"lat": 34.27, "lng": 113.93}}
    at = _open(monkeypatch, tiny, click)
    assert not at.exception, at.exception
    assert at.radio(key="gp_au_side").value == "admin"
    assert at.selectbox(key="gp_au_unit").value == "T2"
    (table,) = _table(at)
    assert set(table["admin"]) == {"T2"} and set(table["police"]) == {"S1", "S2"}
    assert table["share_of_admin"].sum() == pytest.approx(100.0, abs=1.0)  # percent

    # the side chosen with the radio decides what a click picks: the station there
    at.radio(key="gp_au_side").set_value("police").run()
    at.session_state["gp_au_last_click"] = None  # as if the click were new
    at.run()
    assert at.selectbox(key="gp_au_unit").value == "S1"
    (table,) = _table(at)
    assert set(table["police"]) == {"S1"} and set(table["admin"]) == {"T1", "T2"}

    # the same click seen again on a rerun does not undo an explicit choice in the selectbox
    at.selectbox(key="gp_au_unit").set_value("S2").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="gp_au_unit").value == "S2"
    (table,) = _table(at)
    assert set(table["police"]) == {"S2"}


# ----------------------------------------------------------------------------------------------
# Map caching: a rerun sends the stored maps; a map is rebuilt when something it shows changes.

def test_audit_maps_are_cached_until_what_they_show_changes(monkeypatch, tiny):
    import ui.page_audit
    from tests._apptest import MapSpy, assert_rebuilt

    maps = {"gp_au_map", "gp_au_before", "gp_au_after"}
    spy = MapSpy(monkeypatch, ui.page_audit, "audit_map")
    at = spy.open(monkeypatch, tiny, "audit")
    assert spy.built == {k: 1 for k in maps}
    first = dict(spy.sent)

    at.radio(key="gp_au_side").set_value("police")  # the counterparts table only
    spy.run(at)
    assert_rebuilt(spy, first, changed=set(), kept=maps)

    at.multiselect(key="gp_au_lt").set_value(["T1", "T2"])  # townships kept split: another "after"
    spy.run(at)
    assert_rebuilt(spy, first, changed={"gp_au_before", "gp_au_after"}, same_content={"gp_au_before"},
                   kept={"gp_au_map"})
    locked = dict(spy.sent)

    at.selectbox(key="gp_au_admin").set_value("cells")  # other pieces everywhere
    spy.run(at)
    assert_rebuilt(spy, locked, changed=maps)
    cells = dict(spy.sent)

    at.sidebar.radio(key="lang").set_value("en")  # layer names in English
    spy.run(at)
    assert_rebuilt(spy, cells, changed=maps)


# ----------------------------------------------------------------------------------------------
# Police grids (警务区) against governance grids (综治网格) and against stations: the synthetic city
# of tests/test_audit_grids.py, whose answer is known by construction.

RAW_HEADER = re.compile(r"[a-z]+_[a-z0-9]+|^[uv]$")


def _has_cjk(s: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in s)


@pytest.fixture
def grids(tmp_path) -> Path:
    import shapely
    from pyproj import CRS

    from geo.workspace import Workspace
    from tests._audit_city import METRIC as GRID_CRS
    from tests._audit_city import city

    layers = city()
    area = gpd.GeoDataFrame({"name": ["城区"]}, geometry=[shapely.union_all(layers["police_grids"].geometry)],
                            crs=GRID_CRS)
    ws = Workspace(crs=CRS(GRID_CRS), layers={"area": area, **layers}, meta={"name": "grids"})
    return write_workspace(ws, tmp_path / "grids.gpkg")


def _frames(at: AppTest) -> list:
    return [d.value for d in at.dataframe]


def _frame_with(at: AppTest, column: str):
    (frame,) = [f for f in _frames(at) if column in f.columns]
    return frame


def _choose(at: AppTest, police: str, admin: str) -> AppTest:
    at.selectbox(key="gp_au_police").set_value(police).run()
    at.selectbox(key="gp_au_admin").set_value(admin).run()
    assert not at.exception, at.exception
    return at


def _headers_in(at: AppTest, lang: str) -> None:
    frames = _frames(at)
    assert len(frames) >= 4  # ranked, defects, counterparts, belonging (+ workload)
    for frame in frames:
        for col in frame.columns:
            assert not RAW_HEADER.search(str(col)), col
            assert _has_cjk(str(col)) == (lang == "zh"), col


def test_page_police_grids_vs_gov_grids(monkeypatch, grids):
    from tests._audit_city import A, C
    at = _choose(_open(monkeypatch, grids), "police_grids", "gov_grids")
    assert at.selectbox(key="gp_au_admin").options == ["综治网格", "分析网格", "派出所辖区"]
    _headers_in(at, "zh")
    ranked = _frame_with(at, "主要对应单元占比 (%)")  # only the split grids, worst first
    assert ranked["编号"].tolist() == [A, C] and set(ranked["单元类型"]) == {"综治网格"}
    belongs = _frame_with(at, "主要所属派出所").set_index("综治网格")
    assert len(belongs) == 48
    assert belongs.loc[A, "主要所属警务区/警格"] == "P10" and belongs.loc[A, "主要所属派出所"] == "S1"
    assert belongs.loc[A, "在其中的比例 (%)"] == pytest.approx(71.4)
    at.checkbox(key="gp_au_only_split").check().run()
    assert set(_frame_with(at, "主要所属派出所")["综治网格"]) == {A, C}
    labels = [b.label for b in at.get("download_button")]
    assert "下载归属对照表 (CSV)" in labels and "下载报告 (Markdown 和地图, ZIP)" in labels
    assert ("gp_au_after", ()) in at.calls  # the alignment proposal: each grid in one police grid

    at.sidebar.radio(key="lang").set_value("en").run()
    assert not at.exception, at.exception
    _headers_in(at, "en")
    belongs = _frame_with(at, "Main station").set_index("Governance grids")
    assert belongs.loc[A, "Main police grids"] == "P10"


def test_page_police_grids_crossing_stations(monkeypatch, grids):
    at = _choose(_open(monkeypatch, grids), "police_grids", "jurisdictions")
    _headers_in(at, "zh")
    ranked = _frame_with(at, "主要对应单元占比 (%)")
    assert ranked["编号"].tolist() == ["P21"] and ranked["主要对应单元"].tolist() == ["S2"]
    assert ranked["主要对应单元占比 (%)"].tolist() == [60.0]
    belongs = _frame_with(at, "登记的派出所").set_index("警务区/警格")
    assert belongs.loc["P21", "主要所属派出所辖区"] == "S2" and belongs.loc["P21", "是否拆分"] == "是"
    at.calls.clear()
    at.run()
    assert at.calls and not [c for c in at.calls if c[0] == "gp_au_after"]  # no owner per station
