"""The Boundary audit page: a click on the audit map picks the township or station whose counterparts
are listed (pure helper on a tiny literal audit), and the page end to end with a simulated click."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from pyproj import Transformer
from shapely.geometry import box
from streamlit.testing.v1 import AppTest

from geo.audit import audit_partitions
from geo.workspace import write_workspace
from tests.test_app import _tiny_workspace
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
    return write_workspace(_tiny_workspace(), tmp_path / "tiny.gpkg")


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


def _table(at: AppTest):
    from ui.i18n import text
    heads = [s.value for s in at.subheader]
    assert text("audit.counterparts", "zh") in heads
    # the counterparts table: the dataframe with share columns whose rows name the chosen unit
    return [d.value for d in at.dataframe if "share_of_admin" in d.value.columns]


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
    assert table["share_of_admin"].sum() == pytest.approx(1.0, abs=0.01)

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
    from tests.test_mapview import MapSpy, assert_rebuilt

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
