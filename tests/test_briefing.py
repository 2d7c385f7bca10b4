"""The map briefing (ui/briefing.py, `gridpatrol brief`): self-contained HTML, PDF pages, figures
checked against values recomputed independently from the demo workspace, clear font error."""
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
    assert len(images) == len(brief.sections) >= 5
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
    from geo.network import graph_from_workspace
    from geo.ring import ring_crossings
    from geo.traveltime import engine_from_graph, minutes_matrix
    from geo.network import snap_points
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
    assert "patrol planning briefing" in page and "Key figures" in page
    assert b.pdf_pages == 2


def test_plan_before_after(ws):
    cells = ws.layer("cells")
    moved = cells[cells["station_id"].astype(str) == "S01"]["cell_id"].head(7).tolist()
    labels = cells.set_index("cell_id")["station_id"].astype(str)
    labels.loc[moved] = "S02"
    plan_ws = ws.with_layers(
        plans=pd.DataFrame({"plan_id": [1], "parent_id": [pd.NA], "name": ["试行方案"],
                            "created": ["2026-01-01"], "note": [""]}),
        plan_cells=pd.DataFrame({"plan_id": 1, "cell_id": labels.index, "station_id": labels.to_numpy()}))
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
