"""Nothing from data reaches HTML as markup (STYLE note 21), without a browser: every map builder,
the audit reports, the briefing and the CSV downloads on a workspace whose every name, id, kind
and category carries a script payload (tests/_payloads.py). tests/test_browser_xss.py checks the
same pages in Chromium.

A map passes when (1) ``ui.offline.self_contained`` accepts it (it refuses folium's own tooltips
and popups, which read text as HTML), (2) every element is of a kind whose HTML is known: the HTML
strings of labels, legends and tooltips hold only harmless tags and no payload, (3) the script's
HTML sinks are only those known to carry checked strings or text nodes, and (4) no payload appears
raw anywhere in the rendered page.
"""
from __future__ import annotations

import re
import warnings

import folium
import folium.plugins
import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geo.markup import escape_html, escape_markdown, spreadsheet_safe
from geo.workspace import read_workspace
from tests._payloads import PAYLOADS, RAW_MARKERS, ROOT
from tests._xss import UnsafeTags, check_map
from ui import maps
from ui.cell_raster import CellRaster
from ui.offline import self_contained


@pytest.fixture(scope="module")
def ws(payload_workspace):
    return read_workspace(payload_workspace)


@pytest.fixture(scope="module")
def network(ws):
    from geo.network import graph_from_workspace
    from geo.traveltime import engine_from_graph
    G = graph_from_workspace(ws)
    return G, engine_from_graph(G)


def test_the_payload_workspace_is_payloads_throughout(ws):
    stations = ws.layer("stations")
    assert all(any(str(v).startswith(p) for p in PAYLOADS) for v in stations["station_id"])
    assert set(ws.layer("cells")["station_id"].dropna()) <= set(stations["station_id"])
    assert {str(v)[:12] for v in stations["name"]} & {p[:12] for p in PAYLOADS[:4]}
    assert any(ws.name.startswith(p) for p in PAYLOADS)


def test_escape_helpers():
    assert escape_html("<img src=x onerror=alert(1)>") == "&lt;img src=x onerror=alert(1)&gt;"
    assert escape_html("\"'") == "&quot;&#x27;" and escape_html(None) == ""
    assert escape_markdown("a|b *c* [d](e) $x^2$ <b>\nf") == r"a\|b \*c\* \[d\](e) \$x^2\$ &lt;b&gt; f"
    frame = pd.DataFrame({"name": ["=HYPERLINK(\"x\")", "@SUM(A1)", "-3", "+1.5%", "-x", "ok", None],
                          "n": [-1, 2, 3, 4, 5, 6, 7]})
    safe = spreadsheet_safe(frame)
    assert safe["name"].tolist()[:6] == ["'=HYPERLINK(\"x\")", "'@SUM(A1)", "-3", "+1.5%", "'-x", "ok"]
    assert pd.isna(safe["name"].iloc[6])
    assert safe["n"].tolist() == frame["n"].tolist() and frame["name"].iloc[0].startswith("=")


@pytest.mark.parametrize("colour_by,labelled", [("population", True), (None, False)])
def test_overview_map(ws, colour_by, labelled, monkeypatch):
    if not labelled:  # many stations: a GeoJSON layer with feature tooltips instead of labels
        monkeypatch.setattr(maps, "MAX_LABELLED_STATIONS", 0)
    page = check_map(maps.overview_map(maps.display_layers(ws), colour_by=colour_by), "overview")
    assert "\\u0026lt;img src=x" in page  # the payloads are there, escaped, then JSON-encoded


def test_audit_maps(ws):
    from geo.audit import audit_partitions
    from planning.alignment import propose_alignment
    from ui.page_audit import audit_map
    audit = audit_partitions(ws.layer("jurisdictions"), ws.layer("townships"), police_id="station_id",
                             admin_id="township_id", working_crs=ws.crs)
    check_map(audit_map(audit.pieces, audit.defects, station_col="police", title="t"), "audit")
    proposal = propose_alignment(audit)
    check_map(audit_map(proposal.pieces, audit.defects.iloc[0:0], station_col="station_after", title="t"),
              "alignment")


def test_coverage_maps(ws, network):
    from geo.coverage import coverage_from_layers, response_areas
    from geo.ring import ring_crossings
    from geo.stations import facilities_from_workspace
    from planning.seal import seal_from_network
    from ui import page_coverage as pc
    G, engine = network
    fac = facilities_from_workspace(ws, units="both")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cov = coverage_from_layers(G, engine, fac, id_col="facility_id", bands=(1, 3, 5),
                                   turnout_col="turnout_min", cells=ws.layer("cells"))
    check_map(pc.coverage_map(cov, response_areas(cov), fac, ws.layer("area")), "coverage")
    ring = ring_crossings(G, ws.layer("area"), checkpoints=ws.layer("checkpoints"), tolerance_m=50.0)
    check_map(pc.ring_map(ring, ws.layer("area"), ws.layer("checkpoints")), "ring")
    exits = pc.exits_from("uncovered_crossings", ring, ws.layer("checkpoints"))
    seal = seal_from_network(G, engine, fac, exits, unit_id="facility_id", exit_id="exit_id")
    check_map(pc.seal_map(pc.seal_lines(seal.assignment, fac, exits), fac, exits), "seal")
    nodes = list(G.nodes)[:2]
    chosen = gpd.GeoDataFrame({"site": [PAYLOADS[0] + "new1", PAYLOADS[2] + "new2"], "node": nodes},
                              geometry=[shapely.Point(G.nodes[n]["x"], G.nodes[n]["y"]) for n in nodes],
                              crs=G.graph["crs"])
    check_map(pc.placement_map(chosen, fac, ws.layer("area")), "placement")


def test_patrol_map(ws, network):
    from planning.patrol import plan_for_workspace
    from ui.page_patrol import patrol_map
    G, engine = network
    stations = ws.layer("stations")
    routes, hot = plan_for_workspace(ws, station=stations["station_id"].iloc[0], units=2, shift="08:00-16:00",
                                     dwell_min=10.0, seed=0, speed_kmh=None, time_limit_s=2.0, iterations=50,
                                     G=G, engine=engine)
    assert len(routes.stops)
    check_map(patrol_map(routes, hot, stations.to_crs("EPSG:4326").geometry.iloc[0]), "patrol")


def test_redistrict_maps(payload_workspace, ws):
    from planning.plan import Plan
    from ui import page_redistrict as pr
    key = (str(payload_workspace), payload_workspace.stat().st_mtime, "incidents=1")
    graph = pr._graph(*key)
    current = Plan.from_labels(graph, ws.layer("cells").set_index("cell_id")["station_id"])
    edited = current.assignment.copy()
    edited[::50] = (edited[::50] + 1) % len(graph.station_ids)
    stations, bounds = pr._stations(key)
    colours = {str(s): "#123456" for s in graph.station_ids}
    m = pr.plan_map(pr._districts(key, edited.tobytes()), stations, colours, bounds=bounds,
                    changed=pr._changed(key, current.assignment.tobytes(), edited.tobytes()), draw=True)
    check_map(m, "redistrict")


def test_cell_raster_shows_attributes_as_text(ws):
    display = maps.display_layers(ws)
    m = folium.Map(tiles=None)
    attributes = pd.DataFrame({"name": [PAYLOADS[i % 4] for i in range(len(display.layers["cells"]))]})
    CellRaster(display.cell_ids, ["#ff0000"] * len(attributes), attributes=attributes,
               labels=[PAYLOADS[0]]).add_to(m)
    page = check_map(m, "cells")
    assert "textContent" in page


def test_folium_tooltips_are_refused():
    for bad in (folium.Tooltip("x"), folium.Popup("x")):
        m = folium.Map(tiles=None)
        folium.CircleMarker([34.3, 113.9], tooltip=bad if isinstance(bad, folium.Tooltip) else None,
                            popup=bad if isinstance(bad, folium.Popup) else None).add_to(m)
        with pytest.raises(RuntimeError, match="TextTooltip"):
            self_contained(m)
    m = folium.Map(tiles=None)
    folium.CircleMarker([34.3, 113.9], tooltip=maps.TextTooltip(PAYLOADS[3] + PAYLOADS[0])).add_to(m)
    page = check_map(m, "marker")
    assert '"\\u003cdiv\\u003e${alert(4)}\\u0026lt;img src=x' in page  # JSON, not a template literal


def _md_table_rows(md: str) -> list[str]:
    return [line for line in md.splitlines() if line.startswith("|")]


def test_audit_reports(ws, tmp_path):
    from geo.audit import audit_partitions
    from geo.audit_report import report_html, report_markdown, write_audit
    audit = audit_partitions(ws.layer("jurisdictions"), ws.layer("townships"), police_id="station_id",
                             admin_id="township_id", working_crs=ws.crs)
    md = report_markdown(audit, title=PAYLOADS[0])
    assert "<" not in md and ">" not in md.replace("&gt;", ""), "raw HTML in report.md"
    assert "&lt;img src=x" in md and r"\$x^2\$" in md
    for table in re.split(r"\n\n", md):
        rows = _md_table_rows(table)
        if rows:  # every row has as many cell separators as the header (escaped pipes are no cells)
            counts = {len(re.findall(r"(?<!\\)\|", r)) for r in rows}
            assert len(counts) == 1, rows[:3]
    assert not re.search(r"(?<!\\)\$", md), "an unescaped $ (maths) in report.md"
    page = report_html(audit, title=PAYLOADS[2])
    parser = UnsafeTags()
    parser.feed(page)
    assert not [b for b in parser.bad if not b.startswith(("<h", "<html", "<head", "<meta", "<title", "<style",
                                                           "<body", "<ul", "<li", "<p", "<thead", "<table"))]
    assert not any(m in page for m in RAW_MARKERS)
    write_audit(audit, tmp_path / "out")
    crosswalk = pd.read_csv(tmp_path / "out" / "crosswalk.csv", dtype=str)
    assert not crosswalk["police"].str.match(r"[=+\-@]").any()


def test_csv_downloads_never_start_a_formula():
    from ui.tables import csv_bytes
    frame = pd.DataFrame({"name": ["=cmd|' /C calc'!A0", "-2", "ok"], "n": [-1.5, 2.0, 3.0]})
    text = csv_bytes(frame).decode("utf-8-sig")
    assert text.splitlines()[1:] == ["'=cmd|' /C calc'!A0,-1.5", "-2,2.0", "ok,3.0"]


def test_briefing(ws):
    from ui import briefing
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        brief = briefing.build_briefing(ws, lang="zh", date="2026-01-15", title=PAYLOADS[0] + "简报")
    assert not brief.skipped, brief.skipped
    page = brief.to_html()
    parser = UnsafeTags()
    parser.feed(page)
    allowed = ("<html", "<head", "<meta", "<title", "<style", "<body", "<header", "<h1", "<h2", "<p",
               "<section", "<thead", "<table", "<ul", "<li", "<footer", "<img", "img src=")
    assert not [b for b in parser.bad if not b.startswith(allowed)], parser.bad[:5]
    assert not re.search(r"<img(?![^>]*src=\"data:image/png)", page)
    assert not any(m in page for m in RAW_MARKERS)
    assert escape_html(PAYLOADS[0]) in page
    assert brief.pdf_bytes().startswith(b"%PDF")


def test_briefing_draws_dollar_names_as_typed(ws):
    """A name with ``$`` is not matplotlib mathtext: ``$\\notacommand$`` neither fails nor renders as maths."""
    from ui import briefing
    bad = r"$\notacommand{$"
    stations = ws.layer("stations").assign(name=lambda f: bad + f["name"].astype(str))
    jur = ws.layer("jurisdictions").assign(name=lambda f: bad + f["name"].astype(str))
    odd = ws.with_layers(stations=stations, jurisdictions=jur).with_meta(name=bad)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        brief = briefing.build_briefing(odd, sections="jurisdictions", lang="en", date="2026-01-15")
    assert brief.pdf_bytes().startswith(b"%PDF")


def test_pages_open_on_the_payload_workspace(payload_workspace, monkeypatch):
    """The workspace opens and the pages run without an exception (Streamlit's AppTest)."""
    from streamlit.testing.v1 import AppTest
    monkeypatch.setenv("GRIDPATROL_WORKSPACE", str(payload_workspace))
    for page in ("overview", "data", "audit", "redistrict", "coverage", "patrol", "briefing"):
        monkeypatch.setenv("GRIDPATROL_PAGE", page)
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
        assert not at.exception, (page, [e.value for e in at.exception][:1])
