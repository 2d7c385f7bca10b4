"""The audit for people: tables with headers in Chinese or English (no column names such as
``main_share``), areas in km² or m² by one rule, shares in percent; the reports (Markdown and
HTML, zh/en) with the map, whose split pieces and legend colours are drawn."""
from __future__ import annotations

import base64
import io
import re
import zipfile

import matplotlib.image
import numpy as np
import pytest

from geo.audit import audit_partitions
from geo.audit_map import COLOURS, audit_map_png
from geo.audit_report import MAP_FILE, report_bundle, report_html, report_markdown, write_audit
from geo.audit_tables import class_table, defects_table, pieces_table, readable_area, severity_table, unit_table
from tests._audit_city import A, C, city

RAW = ("main_share", "minority_area_m2", "minority_population", "minority_incidents", "area_m2",
       "share_of_police", "share_of_admin", "station_share", "one_to_one", "police_spans_many",
       "admin_split_among_many", "many_to_many", "u/v", "sliver_rule", "police_id", "admin_id")


@pytest.fixture(scope="module")
def audit():
    layers = city()
    return audit_partitions(layers["police_grids"], layers["gov_grids"], police_id="pgrid_id",
                            admin_id="grid_id", police_layer="police_grids", admin_layer="gov_grids",
                            police_station="station_id", population=layers["cells"],
                            population_col="population", incidents=layers["incidents"])


def _has_cjk(s: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in s)


def _tables(audit, lang):
    return {"severity": severity_table(audit, lang=lang), "defects": defects_table(audit, lang=lang),
            "pieces": pieces_table(audit, side="admin", unit=A, lang=lang),
            "units": unit_table(audit, lang=lang), "classes": class_table(audit, lang=lang)}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_table_headers_are_words_in_the_language(audit, lang):
    for name, table in _tables(audit, lang).items():
        for col in table.columns:
            assert not re.search(r"[a-z]+_[a-z0-9]+", col), (name, col)
            assert _has_cjk(col) == (lang == "zh"), (name, col)


def test_units_and_values_for_people(audit):
    sev = severity_table(audit, lang="zh")
    assert list(sev.columns) == ["单元类型", "编号", "对应单元数", "主要对应单元", "主要对应单元占比 (%)",
                                 "其余部分面积 (m²)", "其余部分人口 (人)", "其余部分警情 (起)"]
    assert sev["单元类型"].tolist() == ["综治网格", "综治网格"]
    assert sev["主要对应单元占比 (%)"].tolist() == [71.4, 83.3]  # percent, one decimal
    assert sev["其余部分面积 (m²)"].tolist() == [100_000, 50_000]  # grids are small: m², whole
    assert sev["其余部分人口 (人)"].tolist() == [160, 80]  # 100 people per 62,500 m² cell
    units = unit_table(audit, lang="zh").set_index("综治网格")
    assert units.loc[A, "主要所属警务区/警格"] == "P10" and units.loc[A, "主要所属派出所"] == "S1"
    assert units.loc[A, "是否拆分"] == "是" and units.loc["G000", "是否拆分"] == "否"
    en = unit_table(audit, lang="en").set_index("gov grids")
    assert en.loc[A, "Main station"] == "S1" and en.loc[A, "Share in that station (%)"] == 71.4
    # the rule: km² with one decimal from a median of 1 km² on, else m² whole numbers
    assert readable_area([2_345_678.0, 1_000_000.0, 5.0])[1] == "km²"
    values, unit = readable_area([2_345_678.0, 999_999.4, 5.0])
    assert unit == "m²" and values.tolist() == [2_345_678, 999_999, 5]
    assert readable_area([2_345_678.0, 3e6])[0].tolist() == [2.3, 3.0]


def test_given_names_replace_the_layer_names(audit):
    names = {"police": "Police grids", "admin": "Governance grids"}
    table = unit_table(audit, lang="en", names=names)
    assert table.columns[0] == "Governance grids" and "Main police grids" in table.columns


@pytest.mark.parametrize("lang,heading,legend", [("zh", "## 地图", "辖区比对地图"),
                                                 ("en", "## Map", "Map of the audit")])
def test_reports_in_both_languages_carry_the_map_and_no_column_names(audit, lang, heading, legend):
    png = audit_map_png(audit, lang=lang)
    md = report_markdown(audit, lang=lang, map_file=MAP_FILE)
    html = report_html(audit, lang=lang, map_png=png)
    assert heading in md and f"![{legend}](audit_map.png)" in md
    m = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert m and base64.b64decode(m.group(1)) == png
    for text in (md, html):
        for raw in RAW:
            assert raw not in text, (lang, raw)
        assert A in text and C in text
        assert _has_cjk(text) == (lang == "zh")
    if lang == "zh":
        assert "生成时间：" in md and "Asia/Shanghai" in md and "面积单位" in md
        assert "分属两个及以上警务区/警格的 2 个" in md
    else:
        assert "Generated " in md and "of which 2 are split among two or more police grids" in md


def test_map_draws_the_split_pieces_and_both_partitions(audit):
    png = audit_map_png(audit, lang="zh")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(io.BytesIO(png), format="png")[..., :3]

    def present(hex_colour: str) -> int:
        rgb = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]) / 255.0
        return int((np.abs(image - rgb).max(axis=-1) < 0.02).sum())

    for key in ("elsewhere", "main", "police"):
        assert present(COLOURS[key]) > 50, key


def test_markdown_bundle_and_folder_hold_the_map_beside_the_report(audit, tmp_path):
    with zipfile.ZipFile(io.BytesIO(report_bundle(audit, lang="en"))) as z:
        assert sorted(z.namelist()) == ["audit_map.png", "report.md"]
        assert "](audit_map.png)" in z.read("report.md").decode("utf-8")
    written = write_audit(audit, tmp_path / "out", lang="zh")
    names = {p.name for p in written}
    assert {"report.md", "report.html", "audit_map.png", "units.csv"} <= names
    assert "辖区比对报告" in (tmp_path / "out" / "report.md").read_text("utf-8")
    with pytest.raises(Exception, match="`lang` was 'fr'"):
        write_audit(audit, tmp_path / "bad", lang="fr")
    assert not (tmp_path / "bad").exists()


def test_report_escapes_names_and_map_file(audit):
    md = report_markdown(audit, names={"police": "<b>*P*</b>", "admin": "a|b"})
    assert "<b>" not in md and r"\*P\*" in md and r"a\|b" in md
    html = report_html(audit, names={"police": "<script>x</script>", "admin": "g"})
    assert "<script>x" not in html and "&lt;script&gt;x" in html
    with pytest.raises(Exception, match="`map_file`"):
        report_markdown(audit, map_file="x.png) ![y](http://evil")


def test_map_legend_falls_back_to_english_without_a_cjk_font(audit, monkeypatch, caplog):
    import geo.audit_map
    from geo.errors import GridPatrolError

    def no_font():
        raise GridPatrolError("no CJK font found")

    monkeypatch.setattr(geo.audit_map, "find_cjk_font", no_font)
    png = audit_map_png(audit, lang="zh")
    assert png[:4] == b"\x89PNG" and "legend in English" in caplog.text
