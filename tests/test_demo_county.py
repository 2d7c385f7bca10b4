"""The committed demo county (data/boundaries/demo_county.gpkg) has the properties its README claims.

Every figure is computed from the file; only the design (which township is split, which station
covers two townships) is named. The rebuild test runs the seeded generator twice (~20 s each).
"""
from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import CRS
from scipy.stats import chi2_contingency

from geo.overlay import intersection_table
from geo.validate import LAYERS, check_layer, check_stations_in_jurisdictions
from geo.workspace import read_workspace, write_workspace

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "boundaries" / "demo_county.gpkg"
SCRIPT = ROOT / "data" / "boundaries" / "make_demo_county.py"


def _generator():
    spec = importlib.util.spec_from_file_location("make_demo_county", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_demo_county", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def ws():
    if not DEMO.exists():
        pytest.fail(f"{DEMO} is missing; rebuild it with `make demo`")
    return read_workspace(DEMO)


@pytest.fixture(scope="module")
def layers(ws):
    return ws.layers


@pytest.fixture(scope="module")
def area(layers):
    return layers["area"].geometry.iloc[0]


@pytest.fixture(scope="module")
def crosswalk(layers):
    """Township x jurisdiction pairs with their shared area and shares."""
    t, j = layers["townships"], layers["jurisdictions"]
    tab = intersection_table(t, j)
    tab["township_id"] = t["township_id"].to_numpy()[tab["a"]]
    tab["station_id"] = j["station_id"].to_numpy()[tab["b"]]
    tab["share_of_township"] = tab["area_m2"] / t.geometry.area.to_numpy()[tab["a"]]
    tab["share_of_station"] = tab["area_m2"] / j.geometry.area.to_numpy()[tab["b"]]
    return tab


def _polygonal(geom):
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and p.area > 100.0]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _mean_width(poly) -> float:
    """Width of a thin strip: 2 * area / perimeter."""
    return 2.0 * poly.area / poly.length


def _digraph(edges: pd.DataFrame, mask=None) -> nx.DiGraph:
    e = edges if mask is None else edges[mask]
    g = nx.DiGraph()
    g.add_edges_from(zip(e["u"], e["v"]))
    two = ~e["oneway"].to_numpy()
    g.add_edges_from(zip(e["v"].to_numpy()[two], e["u"].to_numpy()[two]))
    return g


def _crossings(edges: gpd.GeoDataFrame, area) -> pd.DataFrame:
    ring = area.exterior
    geoms = np.asarray(edges.geometry.values)
    rows = []
    for i in np.sort(shapely.STRtree(geoms).query(ring, predicate="intersects")):
        for p in shapely.get_parts(shapely.intersection(geoms[i], ring)):
            if p.geom_type == "Point":
                rows.append((int(i), p, edges["road_class"].iloc[i]))
    return pd.DataFrame(rows, columns=["edge", "point", "road_class"])


# --- the workspace -------------------------------------------------------------------------------

def test_every_layer_is_valid_in_the_working_crs(ws, layers, area):
    assert CRS(ws.crs).equals(CRS("EPSG:4547"))
    assert ws.meta["cell_size"] == "500" and ws.meta["cell_shape"] == "square"
    assert "synthetic" in ws.meta["name"] and "make_demo_county.py seed" in ws.meta["source"]
    for name in ("area", "townships", "communities", "gov_grids", "stations", "jurisdictions",
                 "police_grids", "posts", "checkpoints", "incidents", "cells", "road_nodes",
                 "road_edges"):
        checked = check_layer(layers[name], name, area=layers["area"])
        assert not checked.problems, (name, [str(p) for p in checked.problems])
        assert CRS(layers[name].crs).equals(ws.crs)
    assert layers["rivers"].geometry.iloc[0].intersects(area)
    assert "rivers" in layers and set(LAYERS) >= {"road_nodes", "road_edges"}


def test_area_is_a_county_sized_irregular_outline(layers, area):
    assert len(layers["area"]) == 1 and area.geom_type == "Polygon" and area.is_valid
    assert 600e6 <= area.area <= 900e6
    assert area.area / area.convex_hull.area < 0.97          # not convex
    assert area.area / area.envelope.area < 0.85             # not a rectangle
    assert len(area.exterior.coords) > 200


# --- townships, population, cells -------------------------------------------------------------------

def test_townships_tile_the_county_exactly(layers, area):
    t = layers["townships"]
    geoms = t.geometry.values
    assert t["township_id"].is_unique and t.geometry.is_valid.all()
    assert abs(t.geometry.area.sum() - area.area) < 1.0
    assert shapely.union_all(geoms).symmetric_difference(area).area < 1.0
    for i in range(len(t)):
        for j in range(i + 1, len(t)):
            assert shapely.intersection(geoms[i], geoms[j]).area < 1.0
    assert (t.geometry.geom_type == "Polygon").all()  # each township is one piece


def test_a_dense_seat_of_subdistricts_and_a_sparse_countryside(layers):
    t = layers["townships"].assign(km2=lambda d: d.geometry.area / 1e6)
    kinds = t["kind"].value_counts()
    assert 4 <= kinds.get("街道", 0) <= 5
    assert 7 <= kinds.get("镇", 0) + kinds.get("乡", 0) <= 10
    assert set(t["kind"]) <= {"街道", "镇", "乡"}
    assert t["name"].str[-2:].isin(["街道"]).sum() == kinds["街道"]
    assert 350_000 <= t["population"].sum() <= 550_000
    urban, rural = t[t["kind"] == "街道"], t[t["kind"] != "街道"]
    assert urban["km2"].max() < rural["km2"].min()
    assert (urban["population"] / urban["km2"]).min() > 3 * (rural["population"] / rural["km2"]).max()


def test_cell_population_adds_up_to_the_townships(layers):
    t, c = layers["townships"], layers["cells"]
    assert (c["population"] >= 0).all()
    assert c["population"].sum() == t["population"].sum()   # the same rounded pieces
    by_label = c.groupby("township_id")["population"].sum()
    ratio = by_label.reindex(t["township_id"]).to_numpy() / t["population"].to_numpy()
    assert np.all(np.abs(ratio - 1.0) < 0.08), ratio          # border cells go to one side


def test_cells_are_the_500m_grid_with_labels_and_counts(layers, area):
    c = layers["cells"]
    assert c["cell_id"].is_unique
    assert np.isclose(c["area_m2"].max(), 250_000.0)
    assert abs(c.geometry.area.sum() - area.area) < 10.0
    assert c["township_id"].notna().all() and c["station_id"].notna().all()
    assert c["incidents"].sum() == len(layers["incidents"])


# --- stations and jurisdictions -----------------------------------------------------------------------

def test_stations_sit_in_their_own_jurisdictions(layers):
    s, j = layers["stations"], layers["jurisdictions"]
    assert 8 <= len(s) <= 12 and set(s["station_id"]) == set(j["station_id"])
    checked = check_stations_in_jurisdictions(s, j)
    assert not checked.problems and not checked.warnings
    assert (s["officers"] > 0).all() and (s["auxiliaries"] > 0).all()


def test_the_old_town_subdistrict_is_split_between_two_stations(crosswalk, layers):
    t = layers["townships"]
    split = crosswalk[crosswalk["share_of_township"] > 0.05].groupby("township_id")["station_id"].nunique()
    assert (split >= 2).any()
    seat_core = t.loc[t["name"] == "城关街道", "township_id"].iloc[0]
    shares = crosswalk[crosswalk["township_id"] == seat_core].set_index("station_id")["share_of_township"]
    assert (shares > 0.05).sum() == 2 and shares.max() < 0.95
    small = crosswalk[crosswalk["township_id"] == seat_core]["share_of_station"]
    assert (small > 0.9).sum() == 2          # two small old-town jurisdictions inside it


def test_a_central_station_covers_two_whole_townships(crosswalk, layers):
    whole = crosswalk[crosswalk["share_of_township"] > 0.95].groupby("station_id")["township_id"].nunique()
    assert (whole >= 2).any()
    sid = layers["stations"].loc[layers["stations"]["name"] == "李庄中心派出所", "station_id"].iloc[0]
    assert whole.get(sid, 0) == 2


def test_the_new_district_jurisdiction_is_oversized(layers, crosswalk):
    j = layers["jurisdictions"].assign(km2=lambda d: d.geometry.area / 1e6)
    t = layers["townships"]
    urban = set(t.loc[t["kind"] == "街道", "township_id"])
    mostly_urban = crosswalk[crosswalk["township_id"].isin(urban) & (crosswalk["share_of_station"] > 0.3)]
    urban_stations = j[j["station_id"].isin(mostly_urban["station_id"])]
    new = urban_stations.loc[urban_stations["name"] == "新区派出所"]
    assert len(new) == 1
    others = urban_stations[urban_stations["name"] != "新区派出所"]["km2"]
    assert new["km2"].iloc[0] > 3 * others.max()
    # it reaches beyond its own 街道 into a rural town
    sid = new["station_id"].iloc[0]
    reach = crosswalk[(crosswalk["station_id"] == sid) & ~crosswalk["township_id"].isin(urban)]
    assert reach["share_of_station"].sum() > 0.3


def test_police_lines_leave_township_lines_here_and_there(crosswalk):
    # small slivers of a township in a second station: what a boundary audit should find
    small = crosswalk[(crosswalk["share_of_township"] > 0.001) & (crosswalk["share_of_township"] < 0.05)]
    assert len(small) >= 5
    assert small["township_id"].nunique() >= 4


def test_one_thin_gap_and_one_thin_overlap(layers, area):
    j = layers["jurisdictions"]
    geoms = j.geometry.values
    gap = _polygonal(area.difference(shapely.union_all(geoms)))
    assert gap.area > 0
    gaps = [p for p in shapely.get_parts(gap)]
    assert len(gaps) == 1
    assert 15.0 <= _mean_width(gaps[0]) <= 60.0 and gaps[0].length / 2 > 1500.0
    overlaps = []
    for a in range(len(j)):
        for b in range(a + 1, len(j)):
            o = _polygonal(shapely.intersection(geoms[a], geoms[b]))
            if o.area > 0:
                overlaps.append(o)
    assert len(overlaps) == 1
    o = overlaps[0]
    assert 15.0 <= _mean_width(o) <= 60.0 and o.length / 2 > 1500.0
    # apart from the two defects the jurisdictions tile the county
    assert abs(j.geometry.area.sum() - o.area + gap.area - area.area) < 100.0


# --- communities, governance grids, police districts --------------------------------------------------

def _shares(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame, a_id: str, b_id: str) -> pd.DataFrame:
    """Every (a, b) piece with the share of a's area it holds."""
    tab = intersection_table(a, b)
    tab[a_id] = a[a_id].to_numpy()[tab["a"]]
    tab["other"] = b[b_id].to_numpy()[tab["b"]]
    tab["share"] = tab["area_m2"] / a.geometry.area.to_numpy()[tab["a"]]
    return tab


def _best(a, b, a_id, b_id) -> pd.DataFrame:
    """For each unit of ``a``: the unit of ``b`` holding most of it and that share."""
    tab = _shares(a, b, a_id, b_id).sort_values("share", ascending=False).drop_duplicates(a_id)
    return tab.set_index(a_id)[["other", "share"]].reindex(a[a_id])


def _split(a, b, a_id, b_id, min_share: float = 0.05) -> pd.Index:
    """Units of ``a`` that two or more units of ``b`` each hold at least ``min_share`` of."""
    tab = _shares(a, b, a_id, b_id)
    n = tab[tab["share"] >= min_share].groupby(a_id)["other"].nunique()
    return n.index[n >= 2]


@pytest.mark.parametrize("name, id_col, low, high", [("communities", "community_id", 200, 450),
                                                     ("gov_grids", "grid_id", 1000, 1500),
                                                     ("police_grids", "pgrid_id", 40, 70)])
def test_nested_layers_have_unique_ids_and_names(layers, area, name, id_col, low, high):
    g = layers[name]
    assert low <= len(g) <= high and g[id_col].is_unique
    assert g["name"].str.strip().str.len().gt(0).all() and g["name"].is_unique
    assert (g.geometry.geom_type == "Polygon").all() and g.geometry.is_valid.all()
    assert (g["population"] >= 0).all()


def test_communities_tile_their_townships(layers, area):
    c, t = layers["communities"], layers["townships"]
    best = _best(c, t, "community_id", "township_id")
    assert (best["share"] > 0.999).all() and (best["other"].to_numpy() == c["township_id"].to_numpy()).all()
    assert abs(c.geometry.area.sum() - area.area) < 10.0
    pop = c.groupby("township_id")["population"].sum().reindex(t["township_id"]).to_numpy()
    assert (pop == t["population"].to_numpy()).all()
    # the seat's 街道 are all 社区; every town has a few small 社区 at its centre, the rest 村
    kind = c.merge(t[["township_id", "kind"]].rename(columns={"kind": "t_kind"}), on="township_id")
    assert (kind.loc[kind["t_kind"] == "街道", "kind"] == "社区").all()
    towns = kind[kind["t_kind"] != "街道"]
    assert towns.groupby("township_id")["kind"].apply(lambda k: (k == "社区").sum()).between(1, 4).all()
    assert set(c["kind"]) == {"社区", "村"} and c["name"].str[-2:].eq("社区").sum() == (c["kind"] == "社区").sum()
    km2 = c.geometry.area / 1e6
    assert km2[towns.index[towns["kind"] == "社区"]].median() < 0.6 * km2[c["kind"] == "村"].median()
    assert km2[kind["township_id"] == "T01"].max() < km2[c["kind"] == "村"].median()


def test_gov_grids_nest_in_communities(layers):
    g, c = layers["gov_grids"], layers["communities"]
    best = _best(g, c, "grid_id", "community_id")
    assert (best["share"] >= 0.95).all()
    assert (best["other"].to_numpy() == g["community_id"].to_numpy()).all()
    assert (g["grid_id"].str.rsplit("-", n=1).str[0] == g["community_id"]).all()
    pop = g.groupby("community_id")["population"].sum().reindex(c["community_id"]).to_numpy()
    assert (pop == c["population"].to_numpy()).all()
    # their police district and station are the ones covering most of each (as an import labels them)
    best_pgrid = _best(g, layers["police_grids"], "grid_id", "pgrid_id")["other"]
    assert (best_pgrid.to_numpy() == g["pgrid_id"].to_numpy()).all()
    best_station = _best(g, layers["jurisdictions"], "grid_id", "station_id")["other"]
    assert (best_station.to_numpy() == g["station_id"].to_numpy()).all()


def test_police_districts_nest_in_station_jurisdictions(layers):
    p, j = layers["police_grids"], layers["jurisdictions"]
    best = _best(p, j, "pgrid_id", "station_id")
    assert (best["share"] > 0.999).all() and (best["other"].to_numpy() == p["station_id"].to_numpy()).all()
    per_station = p.groupby("station_id").size()
    assert set(per_station.index) == set(j["station_id"]) and per_station.between(3, 9).all()
    assert (p["name"].str.endswith("警务区")).all()
    inc = shapely.STRtree(p.geometry.values).query(layers["incidents"].geometry.values, predicate="within")
    assert len(np.unique(inc[0])) > 0.99 * len(layers["incidents"])   # all but the gap strip


def test_police_districts_follow_communities_with_a_few_mismatches(layers):
    c, g, p = layers["communities"], layers["gov_grids"], layers["police_grids"]
    whole = _best(c, p, "community_id", "pgrid_id")["share"] >= 0.95
    assert whole.mean() > 0.85                        # made of whole communities where possible
    split = _split(c, p, "community_id", "pgrid_id")
    by_station = _split(c, layers["jurisdictions"], "community_id", "station_id")
    assert 10 <= len(split) <= 60
    assert len(split.difference(by_station)) >= 3    # cut on purpose inside one station
    straddling = _split(g, p, "grid_id", "pgrid_id")
    assert 5 <= len(straddling) <= 0.05 * len(g)     # a few gov grids straddle police districts


# --- roads ------------------------------------------------------------------------------------------

def test_network_tables_are_consistent(layers):
    n, e = layers["road_nodes"], layers["road_edges"]
    assert 5_000 <= len(n) <= 15_000 and n["node_id"].is_unique
    assert set(e["u"]) | set(e["v"]) == set(n["node_id"])
    xy = pd.DataFrame(shapely.get_coordinates(n.geometry.values), index=n["node_id"], columns=["x", "y"])
    start = shapely.get_coordinates(shapely.get_point(e.geometry.values, 0))
    end = shapely.get_coordinates(shapely.get_point(e.geometry.values, -1))
    assert np.allclose(start, xy.loc[e["u"]].to_numpy(), atol=0.01)
    assert np.allclose(end, xy.loc[e["v"]].to_numpy(), atol=0.01)
    assert np.allclose(e["length_m"], e.geometry.length, atol=0.01)
    assert np.allclose(e["travel_s"], e["length_m"] / (e["speed_kmh"] / 3.6), atol=0.02)
    assert (e["length_m"] > 0).all()


def test_road_classes_and_speeds(layers):
    e = layers["road_edges"]
    defaults = {"expressway": 100, "national": 70, "provincial": 60, "arterial": 50, "street": 30,
                "rural": 40, "village": 20}
    assert set(e["road_class"]) == set(defaults)
    ramps = e["name"].fillna("").str.endswith("匝道")
    assert 3 <= ramps.sum() <= 12
    assert (e.loc[~ramps, "speed_kmh"] == e.loc[~ramps, "road_class"].map(defaults)).all()
    assert (e.loc[ramps, "road_class"] == "expressway").all()
    one = e[e["oneway"]]
    assert len(one) > 20 and set(one["road_class"]) == {"street"}
    # the seat's streets are a dense grid: most street edges are block sides of 150-250 m or less
    street = e[e["road_class"] == "street"]["length_m"]
    assert street.median() < 260.0


def test_network_is_strongly_connected(layers):
    assert nx.is_strongly_connected(_digraph(layers["road_edges"]))


def test_river_is_crossed_only_on_a_few_bridges(layers):
    e, river = layers["road_edges"], layers["rivers"].geometry.iloc[0]
    touching = e[e.geometry.intersects(river)]
    assert len(touching) > 0 and touching["bridge"].all()
    bridges = e[e["bridge"]]
    assert bridges.geometry.intersects(river).all()
    groups = shapely.get_parts(shapely.union_all(bridges.geometry.buffer(50.0).values))
    assert 3 <= len(groups) <= 6


def test_the_river_separates_the_network_without_its_bridges(layers, area):
    e, n = layers["road_edges"], layers["road_nodes"]
    river = layers["rivers"].geometry.iloc[0]
    sides = sorted(shapely.get_parts(area.difference(river)), key=lambda g: -g.area)[:2]
    assert sides[1].area > 0.2 * area.area          # the river really cuts the county in two
    g = nx.Graph()
    g.add_nodes_from(n["node_id"])
    g.add_edges_from(zip(e["u"], e["v"]))
    assert nx.number_connected_components(g) == 1
    g.remove_edges_from(zip(e.loc[e["bridge"], "u"], e.loc[e["bridge"], "v"]))
    comps = list(nx.connected_components(g))
    assert len(comps) > 1
    xy = shapely.get_coordinates(n.geometry.values)
    side_of = {}
    for k, side in enumerate(sides):
        for nid in n["node_id"].to_numpy()[shapely.contains_xy(side, xy[:, 0], xy[:, 1])]:
            side_of[nid] = k
    for comp in comps:
        assert len({side_of[v] for v in comp if v in side_of}) <= 1


def test_roads_leave_the_county_at_25_or_more_points(layers, area):
    e, n = layers["road_edges"], layers["road_nodes"]
    cross = _crossings(e, area)
    assert len(cross) >= 25
    assert {"expressway", "national", "provincial"} <= set(cross["road_class"])
    d = n.geometry.distance(area)
    outside = d[d > 0]
    assert outside.max() < 3500.0 and (outside > 900.0).sum() >= 20


def test_checkpoints_guard_most_but_not_all_entries(layers, area):
    e, cp = layers["road_edges"], layers["checkpoints"]
    cross = _crossings(e, area)
    assert cp["checkpoint_id"].is_unique and (cp["ring"] == "outer").all()
    pts = np.asarray(cross["point"].to_numpy())
    d = np.array([shapely.distance(p, cp.geometry.values).min() for p in pts])
    guarded = d <= 50.0
    assert 4 <= (~guarded).sum() <= 8
    assert set(cross.loc[~guarded, "road_class"]) <= {"rural", "village"}
    trunk = cross["road_class"].isin(["expressway", "national", "provincial"]).to_numpy()
    assert guarded[trunk].all()
    # each checkpoint is a road node inside the county, near (<= 50 m) one crossing
    for p in cp.geometry.values:
        assert shapely.distance(p, pts).min() <= 50.0 and area.contains(p)
    nodes = layers["road_nodes"].set_index("node_id")
    assert np.allclose(shapely.get_coordinates(nodes.loc[cp["node_id"]].geometry.values),
                       shapely.get_coordinates(cp.geometry.values))


def test_posts_are_in_the_county_seat(layers):
    p, t = layers["posts"], layers["townships"]
    assert 10 <= len(p) <= 15 and p["post_id"].is_unique
    assert set(p["kind"]) == {"街面警务站", "交巡警平台"}
    assert p["turnout_min"].between(0.5, 1.0).all()
    seat = shapely.union_all(t.loc[t["kind"] == "街道"].geometry.values)
    assert shapely.contains(seat, p.geometry.values).all()


# --- incidents --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def incidents(layers):
    inc = layers["incidents"].copy()
    t = pd.to_datetime(inc["time"], format="%Y-%m-%dT%H:%M:%S")
    return inc.assign(hour=t.dt.hour, weekday=t.dt.day_of_week, ts=t)


def test_incidents_cover_2025_inside_the_county(incidents, area):
    inc = incidents
    assert 20_000 <= len(inc) <= 50_000 and inc["incident_id"].is_unique
    assert (inc["ts"].dt.year == 2025).all() and inc["ts"].dt.month.nunique() == 12
    assert set(inc["category"]) == {"theft", "fraud", "dispute", "fight", "traffic", "other"}
    zh = inc.groupby("category")["category_zh"].first().to_dict()
    assert zh["theft"] == "盗窃" and zh["fight"] == "打架斗殴"
    assert set(inc["priority"]) == {1, 2, 3}
    assert shapely.contains(area, inc.geometry.values).all()


def test_incident_hours_and_weekdays_differ_by_category(incidents):
    inc = incidents
    night = inc.groupby("category")["hour"].apply(lambda h: ((h >= 21) | (h < 3)).mean())
    rush = inc.groupby("category")["hour"].apply(lambda h: h.isin([7, 8, 17, 18]).mean())
    day = inc.groupby("category")["hour"].apply(lambda h: h.between(9, 17).mean())
    weekend = inc.groupby("category")["weekday"].apply(lambda w: (w >= 5).mean())
    assert night["fight"] > 2 * night["theft"] and night["fight"] == night.max()
    assert rush["traffic"] == rush.max() and rush["traffic"] > 1.5 * rush["fraud"]
    assert day["theft"] > 0.5 and day["theft"] > 2 * day["fight"]
    assert weekend["fight"] > weekend["fraud"] + 0.1
    table = pd.crosstab(inc["category"], inc["hour"])
    assert chi2_contingency(table.loc[["theft", "fight"]])[1] < 1e-12
    assert chi2_contingency(table.loc[["traffic", "fraud"]])[1] < 1e-12


def test_incidents_concentrate_at_hotspots_and_on_busy_roads(incidents, layers):
    cells = layers["cells"].sort_values("incidents", ascending=False)
    top = cells["incidents"].head(max(1, len(cells) // 100)).sum()
    assert top > 0.15 * len(incidents)                      # top 1 % of cells: > 15 %
    e = layers["road_edges"]
    busy = shapely.union_all(e[e["road_class"].isin(["expressway", "national", "provincial",
                                                     "arterial"])].geometry.values)
    near = shapely.dwithin(incidents.geometry.values, busy, 30.0)
    share = pd.Series(near).groupby(incidents["category"].to_numpy()).mean()
    assert share["traffic"] > 0.4 and share["traffic"] > 2 * share["fraud"]


# --- reproducibility --------------------------------------------------------------------------------

def _content_digest(path: Path) -> str:
    """A digest of every layer's columns, values and geometry (WKB), independent of file layout."""
    h = hashlib.sha256()
    for name, _ in sorted(pyogrio.list_layers(path), key=lambda r: str(r[0])):
        df = pyogrio.read_dataframe(path, layer=name)
        h.update(str(name).encode())
        for col in df.columns:
            values = df[col]
            if isinstance(df, gpd.GeoDataFrame) and col == df.geometry.name:
                data = b"".join(shapely.to_wkb(values.values, output_dimension=2, byte_order=1))
            else:
                data = "\x1f".join(map(str, values.tolist())).encode()
            h.update(col.encode() + b"\x1e" + data)
    return h.hexdigest()


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory):
    """Two fresh builds of the default seed, each written like `make demo` writes it."""
    gen = _generator()
    paths = []
    for k in range(2):
        out = tmp_path_factory.mktemp(f"demo{k}") / "demo_county.gpkg"
        write_workspace(gen.build_demo_county(gen.DEFAULT_SEED), out, timestamp=gen.TIMESTAMP)
        paths.append(out)
    return paths


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_rebuild_is_byte_for_byte_reproducible(rebuilt):
    assert _sha(rebuilt[0]) == _sha(rebuilt[1])


def test_committed_file_is_what_the_script_builds(rebuilt, ws):
    """Same GEOS and GDAL as the committed file: same bytes. Other versions may round
    differently; then the content digest is compared and a mismatch means `make demo`."""
    now = f"GEOS {shapely.geos_version_string}, GDAL {pyogrio.__gdal_version_string__}"
    if ws.meta.get("built_with") == now:
        assert _sha(rebuilt[0]) == _sha(DEMO), "demo_county.gpkg is stale: run `make demo`"
    elif _content_digest(rebuilt[0]) != _content_digest(DEMO):
        pytest.skip(f"demo_county.gpkg was built with {ws.meta.get('built_with')}, this is {now}; "
                    "geometry results differ between versions")
