"""The map briefing (ui/briefing/, `gridpatrol brief`): self-contained HTML, PDF pages whose tables
fit their columns, figures checked against values recomputed independently from the demo
workspace, maps drawn once with roads and the area boundary, clear font error."""
from __future__ import annotations

import html as _html
import re
import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

import cli
from geo.errors import GridPatrolError, InputError
from geo.workspace import read_workspace
from ui import briefing

DEMO = Path(__file__).resolve().parent.parent / "data" / "boundaries" / "demo_county.gpkg"


@pytest.fixture(scope="module")
def ws():
    return read_workspace(DEMO)


@pytest.fixture(scope="module")
def brief(ws):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return briefing.build_briefing(ws, lang="zh", date="2026-01-15")


@pytest.fixture(scope="module")
def page(brief):
    return brief.to_html()


def figure(page: str, key: str) -> str:
    m = re.search(rf'<td data-key="{re.escape(key)}">([^<]*)</td>', page)
    assert m, f"key figure {key} missing"
    return _html.unescape(m.group(1))


def pdf_page_count(path: Path) -> int:
    try:
        from pypdf import PdfReader
    except ImportError:  # count the page objects
        return len(re.findall(rb"/Type\s*/Page(?![s\w])", path.read_bytes()))
    return len(PdfReader(str(path)).pages)


def test_html_is_self_contained(brief, page):
    assert not re.search(r"<script", page, re.I)
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//|@import", page, re.I)
    assert "<link" not in page.lower()
    images = re.findall(r'<img [^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == len(brief.sections) + 1 >= 6  # the overview map of page 1, then one a section
    import base64
    for data in images:
        assert base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "示范县" in page and "巡防态势简报" in page and "2026-01-15" in page
    assert "<h1>" in page and "要点数据" in page


def test_sections_and_empty_states(brief):
    keys = [s.key for s in brief.sections]
    assert keys == ["jurisdictions", "audit", "coverage", "ring", "patrol", "staffing"]
    # The demo holds no saved plan: the sections on one are left out with the reason, not an error.
    assert set(brief.skipped) == {"plan", "orders"} and "方案" in brief.skipped["plan"]
    assert "方案" in brief.skipped["orders"]
    staffing = brief.sections[-1]
    assert len(staffing.table) == 11 and brief.facts["staffing_totals"]["stations"]["auxiliaries"]["shortfall"] > 0
    for s in brief.sections:
        assert s.png[:4] == b"\x89PNG" and len(s.png) > 20_000


def test_station_figures_match_the_workspace(ws, page):
    assert figure(page, "stations") == str(ws.layer("stations")["station_id"].nunique()) == "11"
    cells = ws.layer("cells")
    per = cells.groupby(cells["station_id"].astype(str))["incidents"].sum()
    dev = per / per.mean() - 1
    assert figure(page, "max_deviation") == f"{dev.abs().max():.1%}"


def test_coverage_figures_match_geo_coverage(ws, brief, page):
    from geo.coverage import coverage_from_layers
    from geo.network import graph_from_workspace
    from geo.traveltime import engine_from_graph
    G = graph_from_workspace(ws)
    st, po = ws.layer("stations"), ws.layer("posts")
    fac = gpd.GeoDataFrame(
        {"fid": [*st["station_id"].astype(str), *po["post_id"].astype(str)],
         "turnout_min": [0.0] * len(st) + list(po["turnout_min"].astype(float))},
        geometry=[*st.geometry, *po.geometry], crs=ws.crs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cov = coverage_from_layers(G, engine_from_graph(G), fac, id_col="fid", cells=ws.layer("cells"))
    cells = cov.cells
    total = cells["population"].sum()
    for m in (1, 3, 5):
        share = cells.loc[cells["minutes"] <= m, "population"].sum() / total
        assert figure(page, f"coverage_population_{m}") == f"{share:.1%}"
        assert brief.facts["coverage"][str(m)]["population"] == pytest.approx(share)
    beyond = int((~(cells["minutes"] <= 5)).sum())
    assert figure(page, "cells_beyond") == f"{beyond:,}"


def test_ring_and_seal_figures(ws, page, brief):
    from geo.network import graph_from_workspace, snap_points
    from geo.ring import ring_crossings
    from geo.traveltime import engine_from_graph, minutes_matrix
    from planning.seal import seal_from_cost_matrix
    G = graph_from_workspace(ws)
    ring = ring_crossings(G, ws.layer("area"), checkpoints=ws.layer("checkpoints"))
    entries = ring.crossings[ring.crossings["direction"] != "out"]
    assert figure(page, "uncovered_entries") == f"{int((~entries['covered']).sum())} / {len(entries)}"
    cps = ws.layer("checkpoints")
    trunk = cps[cps["road_class"].isin(["expressway", "national", "provincial"])]
    units = pd.concat([ws.layer("stations")[["geometry"]], ws.layer("posts")[["geometry"]]], ignore_index=True)
    units = gpd.GeoDataFrame(units, geometry="geometry", crs=ws.crs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        un = snap_points(units, G)["node"].tolist()
        ex = snap_points(trunk, G)["node"].tolist()
    cost = minutes_matrix(engine_from_graph(G), un, ex)
    seal = seal_from_cost_matrix(cost, unit_ids=range(len(un)), exit_ids=range(len(ex)))
    assert figure(page, "seal_minutes") == f"{seal.seal_minutes:.1f} 分钟"
    assert brief.facts["seal_minutes"] == pytest.approx(seal.seal_minutes)


def test_pdf_has_a_title_page_and_one_page_per_section(brief, tmp_path):
    out = brief.write_pdf(tmp_path / "b.pdf")
    assert out.read_bytes()[:5] == b"%PDF-"
    assert pdf_page_count(out) == brief.pdf_pages == 1 + len(brief.sections)


def test_english_and_chosen_sections(ws):
    b = briefing.build_briefing(ws, lang="en", sections="jurisdictions")
    page = b.to_html()
    assert [s.key for s in b.sections] == ["jurisdictions"] and not b.skipped
    assert "patrol planning briefing" in page and "Key figures" in page and "Overview map" in page
    assert b.pdf_pages == 2


@pytest.fixture(scope="module")
def plan_ws(ws):
    """The demo with a saved plan "试行方案" that moves 7 cells of S01 to S02."""
    cells = ws.layer("cells")
    moved = cells[cells["station_id"].astype(str) == "S01"]["cell_id"].head(7).tolist()
    labels = cells.set_index("cell_id")["station_id"].astype(str)
    labels.loc[moved] = "S02"
    return ws.with_layers(
        plans=pd.DataFrame({"plan_id": [1], "parent_id": [pd.NA], "name": ["试行方案"],
                            "created": ["2026-01-01"], "note": [""]}),
        plan_cells=pd.DataFrame({"plan_id": 1, "cell_id": labels.index, "station_id": labels.to_numpy()}))


def test_plan_before_after(plan_ws):
    b = briefing.build_briefing(plan_ws, sections=["plan"], plan="试行方案")
    assert [s.key for s in b.sections] == ["plan"] and b.sections[0].panels == 2
    assert figure(b.to_html(), "plan_cells_changed") == "7"
    assert b.facts["plan_cells_changed"] == 7
    with pytest.raises(InputError, match="试行方案"):
        briefing.build_briefing(plan_ws, sections="plan", plan="nope")


def test_missing_cjk_font_fails_clearly(ws, monkeypatch):
    import geo.fonts
    monkeypatch.setattr(geo.fonts, "CJK_FONT_FAMILIES", ("No Such CJK Font",))
    with pytest.raises(GridPatrolError, match=r"apt-get install fonts-noto-cjk"):
        briefing.find_cjk_font()
    with pytest.raises(GridPatrolError, match="no CJK font"):
        briefing.build_briefing(ws, sections="jurisdictions")


def test_bad_arguments_raise_before_any_work(ws):
    with pytest.raises(InputError, match=r"--sections was 'maps' .*'jurisdictions'"):
        briefing.build_briefing(ws, sections="maps")
    with pytest.raises(InputError, match="--lang was 'fr'"):
        briefing.build_briefing(ws, lang="fr")
    with pytest.raises(InputError, match="`shift` was"):
        briefing.build_briefing(ws, sections="patrol", shift="8-16")
    with pytest.raises(InputError, match="holds no saved plans"):
        briefing.build_briefing(ws, plan="A")


def test_scale_bar_lengths_are_round():
    assert briefing.nice_scale_length(30_000) == 5000
    assert briefing.nice_scale_length(9_000) == 2000
    assert briefing.nice_scale_length(3_900) == 500
    assert briefing.nice_scale_length(0) == 0


def test_cli_brief_writes_html_and_pdf(tmp_path, capsys):
    out = tmp_path / "brief" / "b.html"
    code = cli.main(["brief", str(DEMO), "--out", str(out), "--pdf", "--sections", "jurisdictions,audit",
                     "--json"])
    assert code == 0
    import json
    payload = json.loads(capsys.readouterr().out)
    assert payload["path"] == str(out) and payload["pdf"] == str(out.with_suffix(".pdf"))
    assert out.exists() and out.with_suffix(".pdf").exists()
    assert pdf_page_count(out.with_suffix(".pdf")) == 3


def test_cli_brief_chooses_the_format_by_suffix(tmp_path, capsys):
    """`--out b.pdf` writes the PDF alone (as patrol --out decides by suffix); with --pdf both."""
    import json
    only = tmp_path / "only" / "b.pdf"
    assert cli.main(["brief", str(DEMO), "--out", str(only), "--sections", "jurisdictions", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["pdf"] == payload["path"] == str(only) and "html" not in payload
    assert sorted(p.name for p in only.parent.iterdir()) == ["b.pdf"] and pdf_page_count(only) == 2
    both = tmp_path / "both" / "b.pdf"
    assert cli.main(["brief", str(DEMO), "--out", str(both), "--pdf", "--sections", "jurisdictions",
                     "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["html"] == str(both.with_suffix(".html")) and payload["pdf"] == str(both)
    assert sorted(p.name for p in both.parent.iterdir()) == ["b.html", "b.pdf"]


@pytest.mark.parametrize("extra", [["--sections", "maps"], ["--lang", "fr"], ["--shift", "25:00-26:00"],
                                   ["--plan", "A"], ["--station", "S999"]])
def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, extra):
    out = tmp_path / "x" / "b.html"
    assert cli.main(["brief", str(DEMO), "--out", str(out), "--pdf", *extra]) == 2
    assert "gridpatrol brief:" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_cli_wrong_suffix_and_font_missing(tmp_path, capsys, monkeypatch):
    assert cli.main(["brief", str(DEMO), "--out", str(tmp_path / "b.txt")]) == 2
    assert ".html" in capsys.readouterr().err
    import geo.fonts
    monkeypatch.setattr(geo.fonts, "CJK_FONT_FAMILIES", ("No Such CJK Font",))
    assert cli.main(["brief", str(DEMO), "--out", str(tmp_path / "b.html")]) == 2
    assert "fonts-noto-cjk" in capsys.readouterr().err
    assert not (tmp_path / "b.html").exists()


# --- the PDF's tables fit their columns -----------------------------------------------------------

def _squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


def test_wrap_breaks_between_cjk_characters_and_at_spaces():
    from ui.briefing.layout import Measure, tokens, wrap_text
    m = Measure(None)  # a CJK character 1 em, anything else 0.6 em
    assert m.width("李庄中心派出所", 10) == pytest.approx(70.0)
    assert m.width("4,489", 10) == pytest.approx(30.0)
    assert wrap_text("李庄中心派出所", 40, 10, m) == ["李庄中心", "派出所"]
    assert wrap_text("Population share", 60, 10, m) == ["Population", "share"]
    # closing punctuation stays with the character before it, opening with the one after
    assert tokens("警情 (调整前)") == ["警", "情", " ", "(调", "整", "前)"]
    assert wrap_text("偏差，调整", 20, 10, m) == ["偏", "差，", "调整"]  # "，" never starts a line
    # a word wider than the whole line is cut rather than clipped
    assert wrap_text("ABCDEFGHIJ", 30, 10, m) == ["ABCDE", "FGHIJ"]


def test_table_layout_wraps_the_header_first_by_hand():
    """Worked by hand, size 10 (pad 4.5 each side + 0.5 slack): column 1 needs 70 + 9.5 = 79.5
    for "李庄中心派出所"; column 2 needs 68 x 1.05 (headers are bold) + 9.5 = 80.9 for its header
    "警情 (调整前)" (警情 20, space 6, "(" 6, 调整前 30, ")" 6) but only 30 + 9.5 = 39.5 for
    "4,489". In 120 points the header wraps: column 2 gets 120 - 79.5 = 40.5, 31.5 for text:
    "警情" (21) / "(调整" (27.3) / "前)"; "警情 (调" would take 44.1."""
    from ui.briefing.layout import Measure, layout_table
    lay = layout_table(["派出所", "警情 (调整前)"], [["李庄中心派出所", "4,489"]], width=120, size=10,
                       measure=Measure(None))
    assert lay.widths == pytest.approx((79.5, 40.5), abs=0.01)
    assert lay.header == (("派出所",), ("警情", "(调整", "前)"))
    assert lay.rows == ((("李庄中心派出所",), ("4,489",)),)
    assert lay.numeric == ((False, True),)
    assert lay.header_height == pytest.approx(2 * 3.5 + 3 * 13)
    assert lay.row_heights == pytest.approx((2 * 3.5 + 13,))
    # room for everything on one line: natural widths, nothing wraps
    wide = layout_table(["派出所", "警情 (调整前)"], [["李庄中心派出所", "4,489"]], width=400, size=10,
                        measure=Measure(None))
    assert wide.widths == pytest.approx((79.5, 80.9)) and wide.header[1] == ("警情 (调整前)",)


def test_table_layout_never_exceeds_its_width_and_keeps_every_character():
    from ui.briefing.layout import Measure, layout_table
    m = Measure(None)
    header = ["派出所", "警情 (调整前)", "警情 (调整后)", "偏差 (调整前)", "偏差 (调整后)", "Population share"]
    rows = [["李庄中心派出所", "4,489", "4,500", "+64.6%", "+60.1%", "12.5%"],
            ["示范县城关镇中心派出所 (老城区)", "24,712", "1", "-0.1%", "+0.0%", "—"]]
    for width in (500, 300, 200, 120, 60):
        lay = layout_table(header, rows, width=width, size=8, measure=m)
        assert sum(lay.widths) <= width + 1e-6
        for cells in (lay.header, *lay.rows):
            for j, lines in enumerate(cells):
                assert all(m.width(line, lay.size, bold=cells is lay.header) <= lay.widths[j] - 2 * lay.pad_x + 1e-6
                           for line in lines), (width, lines)
        assert [_squash("".join(lines)) for lines in lay.header] == [_squash(h) for h in header]
        for got, want in zip(lay.rows, rows):
            assert [_squash("".join(lines)) for lines in got] == [_squash(v) for v in want]
        assert lay.size == 8 or width <= 120  # smaller type only where single characters do not fit
    # 300 points: the station names stay whole, only headers wrap
    lay = layout_table(header, rows, width=300, size=8, measure=m)
    assert lay.rows[0][0] == ("李庄中心派出所",) and len(lay.header[1]) > 1


def test_flow_continues_a_long_table_with_its_header():
    from ui.briefing.layout import Frame, Measure, PlacedTable, PlacedText, TableBlock, TextBlock, flow
    rows = tuple((f"S{i}", f"{i * 10}") for i in range(40))
    more = lambda: [Frame(0, 200, 150, 200), Frame(200, 200, 150, 200)]  # noqa: E731
    pages = flow([TableBlock(("站", "数"), rows, 10), TextBlock("注：" + "长" * 60, 10)],
                 [Frame(0, 200, 150, 100)], more, Measure(None))
    tables = [p for page in pages for p in page if isinstance(p, PlacedTable)]
    assert len(tables) >= 3 and all(t.table.header == (("站",), ("数",)) for t in tables)
    assert [r[0][0] for t in tables for r in t.table.rows] == [f"S{i}" for i in range(40)]
    # rows and header 2 x 3.5 + 13 = 20 points high: 4 rows under the header in the first frame
    # (100 high), 9 in each further one (200 high): 4 + 9 x 4 = 40, two frames a page
    assert [len(t.table.rows) for t in tables] == [4, 9, 9, 9, 9]
    for t in tables:  # every piece inside its frame
        assert t.top - t.table.header_height - sum(t.table.row_heights) >= 0 - 1e-6
    # the note starts in the next frame (the last one was full): a fourth page, 15 characters a line
    texts = [p for p in pages[3] if isinstance(p, PlacedText)]
    assert len(pages) == 4 and "".join(texts[0].lines) == "注：" + "长" * 60
    assert all(len(line) <= 15 for line in texts[0].lines)


def test_pdf_tables_fit_and_every_cell_text_is_whole(plan_ws, tmp_path):
    """Draw every page; each cell's text lies inside its cell (measured by matplotlib's renderer);
    the PDF's text holds every station name and header whole ("李庄中心派出所", "警情 (调整前)")."""
    import matplotlib
    from pypdf import PdfReader

    from ui.briefing.figures import rc
    from ui.briefing.pdf import draw_page, page_layouts
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = briefing.build_briefing(plan_ws, sections="jurisdictions,plan,staffing", lang="zh")
    layouts = page_layouts(b)
    checked = 0
    with matplotlib.rc_context(rc(b.font)):
        for n, page in enumerate(layouts, 1):
            drawn = draw_page(page, number=n, total=len(layouts), footer="", font=b.font)
            fig = drawn.figure
            renderer = fig.canvas.get_renderer()
            to_points = fig.dpi_scale_trans.inverted()
            for txt, (x0, y0, x1, y1) in drawn.cells:
                box = txt.get_window_extent(renderer).transformed(to_points)
                assert box.x0 * 72 >= x0 - 0.01 and box.x1 * 72 <= x1 + 0.01, (txt.get_text(), box, x0, x1)
                assert box.y0 * 72 >= y0 - 0.5 and box.y1 * 72 <= y1 + 0.5, (txt.get_text(), box, y0, y1)
                checked += 1
    assert checked > 100
    out = b.write_pdf(tmp_path / "b.pdf")
    pages = PdfReader(str(out)).pages
    assert len(pages) == b.pdf_pages == len(layouts)
    whole = _squash("".join(p.extract_text() for p in pages))
    names = plan_ws.layer("stations")["name"].astype(str)
    assert "李庄中心派出所" in set(names)
    for name in names:
        assert _squash(name) in whole
    for s in b.sections:
        for col in s.table.columns:
            assert _squash(str(col)) in whole, col
    assert "警情(调整前)" in whole and "偏差(调整后)" in whole


def test_page_one_has_the_key_figures_and_the_overview_map(brief):
    from ui.briefing.pdf import PlacedTable, page_layouts
    first = page_layouts(brief)[0]
    assert first.image is not None and first.image.png == brief.overview_png
    assert first.image.width > 5 * 72 and first.image.height > 3.5 * 72
    table = next(p for p in first.items if isinstance(p, PlacedTable))
    labels = [_squash("".join(row[0])) for row in table.table.rows]
    assert labels == [_squash(k.label) for k in brief.key_figures]
    assert brief.overview_png[:8] == b"\x89PNG\r\n\x1a\n"


# --- maps: drawn once, roads and the boundary beneath the data ----------------------------------

def test_maps_are_rendered_once_and_reused_by_the_pdf(ws, monkeypatch):
    import ui.briefing.build as build
    calls = []
    real = build.render_png
    monkeypatch.setattr(build, "render_png", lambda *a, **k: calls.append(1) or real(*a, **k))
    b = briefing.build_briefing(ws, sections="jurisdictions,audit", lang="en")
    assert len(calls) == len(b.sections) + 1 == 3  # two sections and the overview
    monkeypatch.setattr(build, "render_png", lambda *a, **k: pytest.fail("a map drawn again"))
    assert b.pdf_bytes()[:5] == b"%PDF-" and b.to_html().count("data:image/png") == 3
    assert {"jurisdictions", "jurisdictions.map", "audit", "audit.map", "overview.map"} <= set(b.timings)


def _edge_colours(ax) -> set[str]:
    from matplotlib.colors import to_hex
    found = set()
    for coll in ax.collections:
        found |= {to_hex(c) for c in coll.get_edgecolor()}
    return found


def test_every_map_draws_roads_and_the_area_boundary(ws, brief):
    from matplotlib.figure import Figure

    from ui.briefing.context import BriefOptions, SectionContext
    from ui.briefing.figures import ROAD_MAJOR, ROAD_MINOR
    from ui.briefing.overview import overview_section
    c = SectionContext(ws, "zh", BriefOptions(None, None, "08:00-16:00", None, 2, 0, None))
    for s in [*brief.sections, overview_section(c)]:
        fig = Figure()
        axes = [fig.add_subplot(1, s.panels, i + 1) for i in range(s.panels)]
        s.draw(axes)
        for ax in axes:
            colours = _edge_colours(ax)
            assert {ROAD_MINOR, ROAD_MAJOR, "#111111"} <= colours, (s.key, colours)
            roads = [k for k in ax.collections if ROAD_MINOR in _edge_colours_of(k)]
            marks = [a.get_zorder() for a in ax.collections + ax.lines]
            assert roads and max(r.get_zorder() for r in roads) < max(marks), s.key  # beneath the data


def _edge_colours_of(coll) -> set[str]:
    from matplotlib.colors import to_hex
    return {to_hex(c) for c in coll.get_edgecolor()}


def test_incident_classes_by_hand():
    import numpy as np

    from ui.briefing.overview import incident_classes
    cls, ranges = incident_classes(np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), classes=5)
    # positive values 1..10; quantile upper bounds 2.8, 4.6, 6.4, 8.2, 10 -> ceil 3, 5, 7, 9, 10
    assert ranges == [(1, 3), (4, 5), (6, 7), (8, 9), (10, 10)]
    assert cls.tolist() == [-1, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4]
    assert incident_classes(np.zeros(3))[1] == []


def test_the_registry_is_the_one_list_of_sections():
    from ui.briefing.registry import REGISTRY, parse_sections
    assert briefing.SECTIONS == tuple(s.key for s in REGISTRY) == (
        "jurisdictions", "audit", "coverage", "ring", "patrol", "plan", "orders", "staffing")
    for spec in REGISTRY:
        assert callable(spec.build_function()) and spec.title_key == f"brief.section.{spec.key}"
    assert [s.key for s in REGISTRY if s.needs_plan] == ["plan", "orders"]
    assert [s.key for s in parse_sections("staffing, audit")] == ["audit", "staffing"]
