"""Road classes are shown in the interface language (the data keeps its own values)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from geo.workspace import read_workspace
from ui.i18n import STRINGS, road_class_label

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "boundaries" / "demo_county.gpkg"
CLASSES = ("expressway", "national", "provincial", "arterial", "street", "rural", "village")
needs_demo = pytest.mark.skipif(not DEMO.exists(), reason="data/boundaries/demo_county.gpkg not generated yet")


def _has_cjk(s: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in s)


def test_road_class_label_translates_known_classes_and_keeps_the_rest():
    assert road_class_label("expressway", "zh") == "高速公路"
    assert road_class_label("national", "zh") == "国道"
    assert road_class_label("provincial", "zh") == "省道"
    assert road_class_label("village", "zh") == "村道"
    assert road_class_label("Expressway", "zh") == "高速公路"  # case-insensitive
    for cls in CLASSES:
        assert f"road.{cls}" in STRINGS
        assert _has_cjk(road_class_label(cls, "zh"))
        assert road_class_label(cls, "en") and not _has_cjk(road_class_label(cls, "en"))
    assert road_class_label("motorway_link", "zh") == "motorway_link"  # unknown: as it is
    assert road_class_label("县道", "en") == "县道"
    assert road_class_label(None, "zh") == "" and road_class_label(float("nan"), "zh") == ""


@needs_demo
def test_every_demo_road_class_has_a_chinese_label():
    edges = read_workspace(DEMO, layers=["road_edges"]).layer("road_edges")
    classes = set(edges["road_class"].dropna().astype(str))
    assert classes, "the demo county has no road classes"
    for cls in sorted(classes):
        label = road_class_label(cls, "zh")
        assert label != cls and _has_cjk(label), f"road class {cls!r} has no Chinese label"


def _legend_html(page: str) -> str:
    """The overview legend's HTML (stored as a JSON string in the page)."""
    m = re.search(r'div\.innerHTML = ("(?:[^"\\]|\\.)*");', page)
    assert m, "no legend in the map"
    return json.loads(m.group(1))


@needs_demo
def test_chinese_overview_map_names_road_classes_in_chinese():
    from ui.maps import display_layers, overview_map

    ws = read_workspace(DEMO, layers=["area", "road_edges"])
    page = overview_map(display_layers(ws), lang="zh").get_root().render()
    assert "高速公路" in page  # the roads' tooltips
    legend = _legend_html(page)
    assert "高速公路" in legend and "国道" in legend
    for cls in CLASSES:
        assert f"</span>{cls}</div>" not in legend, f"bare English road class {cls!r} in the legend"

    page_en = overview_map(display_layers(ws), lang="en").get_root().render()
    legend_en = _legend_html(page_en)
    assert "</span>Expressway</div>" in legend_en and "高速公路" not in legend_en
