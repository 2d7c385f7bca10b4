"""Barriers to adjacency (geo/barriers.py): rivers, railways and motorways separate units except
where a road crosses them; station-less islands are joined with an explained warning."""
from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import CRS
from shapely.geometry import LineString, Point, box

from geo.barriers import barrier_pairs, barrier_zone
from geo.workspace import Workspace
from planning.plan import Plan, adjacency_pairs
from planning.redistrict import redistrict
from planning.study import workspace_graph

from .conftest import METRIC

# A 4 x 4 grid of 500 m cells; the river runs along y = 1000 (990..1010): rows 0-1 are the
# south bank, rows 2-3 the north bank. S1 is in the south-west corner, S2 in the north-east.
# The south holds 8 people, the north 16 (2 a cell): a balanced plan (12 each) needs S1 to take
# two northern cells across the river.
SIZE = 500.0


def cid(col: int, row: int) -> str:
    return f"c{row}{col}"


def cells_grid() -> gpd.GeoDataFrame:
    rows = [(cid(c, r), box(c * SIZE, r * SIZE, (c + 1) * SIZE, (r + 1) * SIZE), 1 if r < 2 else 2)
            for r in range(4) for c in range(4)]
    return gpd.GeoDataFrame({"cell_id": [r[0] for r in rows], "population": [r[2] for r in rows],
                             "station_id": ["S1" if r[0][1] in "01" else "S2" for r in rows]},
                            geometry=[r[1] for r in rows], crs=METRIC)


def stations() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"station_id": ["S1", "S2"]},
                            geometry=[Point(250, 250), Point(1750, 1750)], crs=METRIC)


def river() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": ["清溪河"], "width_m": [20.0]},
                            geometry=[box(-100, 990, 2100, 1010)], crs=METRIC)


def roads(*lines: LineString, classes=None) -> gpd.GeoDataFrame:
    classes = classes or ["village"] * len(lines)
    return gpd.GeoDataFrame({"u": range(len(lines)), "v": range(1, len(lines) + 1),
                             "road_class": classes}, geometry=list(lines), crs=METRIC)


def workspace(cells=None, **layers) -> Workspace:
    cells = cells_grid() if cells is None else cells
    return Workspace(crs=CRS(METRIC), layers={"cells": cells, "stations": stations(), **layers},
                     meta={"name": "t"})


def south(ids) -> list[bool]:
    return [int(str(i)[1]) < 2 for i in ids]


def cross_pairs(graph) -> set[tuple[str, str]]:
    """The graph's pairs joining the two banks, as sorted id pairs."""
    ids = graph.cell_ids
    bank = np.array(south(ids))
    a, b = graph.pairs["a"].to_numpy(), graph.pairs["b"].to_numpy()
    x = bank[a] != bank[b]
    return {tuple(sorted((ids[i], ids[j]))) for i, j in zip(a[x], b[x])}


def optimised(graph) -> Plan:
    start = Plan.from_labels(graph, graph.cells.set_index("cell_id")["station_id"])
    return redistrict(start, max_deviation=0.05, rng=np.random.default_rng(1), iterations=20000)


def north_of(plan: Plan, station: str) -> list[str]:
    lab = plan.labels
    return sorted(i for i, s in lab.items() if s == station and not south([i])[0])


def test_without_the_river_the_optimiser_crosses_it(caplog):
    graph = workspace_graph(workspace(), weights="population")
    assert len(cross_pairs(graph)) == 4  # the four cells of row 1 touch those of row 2
    plan = optimised(graph)
    assert plan.max_deviation == pytest.approx(0.0)
    assert len(north_of(plan, "S1")) == 2  # S1 took two northern cells


def test_with_the_river_the_district_stays_on_its_bank(caplog):
    with caplog.at_level(logging.WARNING, logger="geo"):
        graph = workspace_graph(workspace(rivers=river()), weights="population")
    assert cross_pairs(graph) == set()
    assert caplog.text.count("no road network") == 1  # barriers closed: said once
    plan = optimised(graph)
    assert north_of(plan, "S1") == []
    assert plan.labels[[i for i in graph.cell_ids if south([i])[0]]].eq("S1").all()
    assert plan.max_deviation == pytest.approx(1 / 3)  # 8 against a mean of 12
    assert plan.contiguous


def test_a_bridge_allows_the_crossing_exactly_there():
    bridge = LineString([(1250, 800), (1250, 1200)])  # column 2, from row 1 to row 2
    street = LineString([(100, 300), (900, 300)])     # on land: no crossing
    graph = workspace_graph(workspace(rivers=river(), road_edges=roads(bridge, street)),
                            weights="population")
    assert cross_pairs(graph) == {(cid(2, 1), cid(2, 2))}
    plan = optimised(graph)
    assert plan.max_deviation == pytest.approx(0.0)
    north = north_of(plan, "S1")
    assert len(north) == 2 and cid(2, 2) in north and plan.contiguous
    assert plan.labels[cid(2, 1)] == "S1"  # the southern end of the bridge


def test_a_motorway_separates_except_at_a_crossing_road():
    motorway = LineString([(1000, -50), (1000, 2050)])
    under = LineString([(750, 250), (1250, 250)])  # an underpass in row 0
    g = workspace_graph(workspace(road_edges=roads(motorway, under,
                                                   classes=["expressway", "village"])),
                        weights="population")
    col = {i: int(i[2]) for i in g.cell_ids}
    a, b = g.pairs["a"].to_numpy(), g.pairs["b"].to_numpy()
    across = {tuple(sorted((g.cell_ids[i], g.cell_ids[j]))) for i, j in zip(a, b)
              if (col[g.cell_ids[i]] < 2) != (col[g.cell_ids[j]] < 2)}
    assert across == {(cid(1, 0), cid(2, 0))}
    # with motorways not counted as barriers, the four touching pairs are back
    g2 = workspace_graph(workspace(road_edges=roads(motorway, under,
                                                    classes=["expressway", "village"])),
                         weights="population", barriers=("rivers",))
    assert len(g2.pairs) == len(adjacency_pairs(cells_grid()))


def test_a_straddling_unit_goes_with_the_bank_holding_most_of_its_land():
    # the river 900..1000: row 1 loses a fifth of its cells, row 2 nothing
    r = river().set_geometry([box(-100, 900, 2100, 1000)])
    cells = cells_grid()
    pairs = adjacency_pairs(cells)
    out = barrier_pairs(cells, pairs, rivers=r, road_edges=roads(LineString([(0, 0), (1, 1)])))
    ids = cells["cell_id"].to_numpy()
    got = {tuple(sorted((ids[i], ids[j]))) for i, j in zip(out["a"], out["b"])}
    assert not any(south([x])[0] != south([y])[0] for x, y in got)
    # the pairs within row 1 stay (their land shares 400 m of edge), as do all others
    assert len(got) == len(pairs) - 4
    z = barrier_zone(rivers=r)
    assert z.zone.area == pytest.approx(2200 * 100)


def test_an_island_is_joined_with_an_explained_warning(caplog):
    # units cut by the river: the northern ones are 20 m from the southern ones; the only
    # station of the north moves south, so the north is an island
    rows = []
    for r in range(4):
        for c in range(4):
            y0, y1 = r * SIZE, (r + 1) * SIZE
            if r == 1:
                y1 = 990
            if r == 2:
                y0 = 1010
            rows.append((cid(c, r), box(c * SIZE, y0, (c + 1) * SIZE, y1), 100 if r > 1 else 1))
    cells = gpd.GeoDataFrame({"cell_id": [r[0] for r in rows],
                              "population": [r[2] for r in rows]},
                             geometry=[r[1] for r in rows], crs=METRIC)
    st = gpd.GeoDataFrame({"station_id": ["S1", "S2"]},
                          geometry=[Point(250, 250), Point(1750, 250)], crs=METRIC)
    ws = Workspace(crs=CRS(METRIC), layers={"cells": cells, "stations": st, "rivers": river(),
                                            "road_edges": roads(LineString([(0, 0), (5, 5)]))},
                   meta={"name": "t"})
    with caplog.at_level(logging.WARNING, logger="geo"):
        graph = workspace_graph(ws, weights="population")
    links = cross_pairs(graph)
    assert len(links) == 1
    (x, y), = links
    assert not south([x])[0] or not south([y])[0]
    msg = [r.getMessage() for r in caplog.records if "cut off" in r.getMessage()]
    assert len(msg) == 1
    assert "cut off by the river with no bridge in the road network" in msg[0]
    assert "(800 people)" in msg[0] and ", 20 m," in msg[0]
    assert "add the bridge or ferry" in msg[0]
    north = [i for i in graph.cell_ids if not south([i])[0]]
    assert all(i in msg[0] for i in north)
    # every unit can now belong to a contiguous district
    plan = Plan.from_labels(graph, pd.Series({i: ("S1" if i[2] in "01" else "S2")
                                              for i in graph.cell_ids}))
    from planning.redistrict import repaired_plan
    assert repaired_plan(plan).contiguous


DEMO = __import__("pathlib").Path(__file__).resolve().parents[1] / "data/boundaries/demo_county.gpkg"


def test_demo_banks_are_joined_only_at_bridges():
    """On the demo, cells on opposite banks of 清溪河 are neighbours only where a bridge that is
    not the expressway's joins them (the banks computed here by overlay, a second method)."""
    from geo.workspace import read_workspace
    from planning.study import STUDY_LAYERS
    ws = read_workspace(DEMO, layers=STUDY_LAYERS)
    graph = workspace_graph(ws, weights="incidents=2,population")
    cells = ws.layer("cells")
    land = ws.layer("area").overlay(ws.layer("rivers")[["geometry"]], how="difference")
    banks = land.explode(index_parts=False).reset_index(drop=True)
    banks = banks[banks.area > 1e6].reset_index(drop=True)
    assert len(banks) == 2  # the river cuts the county in two
    banks["bank"] = range(2)
    pieces = gpd.overlay(cells[["cell_id", "geometry"]], banks[["bank", "geometry"]],
                         how="intersection")
    pieces["a"] = pieces.area
    bank = pieces.sort_values("a").groupby("cell_id")["bank"].last()
    ids = graph.cell_ids
    b = bank.reindex(ids).to_numpy()
    pa, pb = graph.pairs["a"].to_numpy(), graph.pairs["b"].to_numpy()
    across = [(ids[i], ids[j]) for i, j in zip(pa, pb) if b[i] != b[j]]
    edges = ws.layer("road_edges")
    bridges = edges[edges["bridge"].astype(bool) & (edges["road_class"] != "expressway")]
    assert len(bridges) == 4
    # each pair joins the cells at the two landings of one bridge: the landing's cell, or,
    # where the landing is on the sliver of a cell of the other bank, its neighbour there
    geom = cells.set_index("cell_id").geometry
    near = {tuple(sorted((x, y))): [k for k, line in enumerate(bridges.geometry)
                                     if geom[x].distance(line) < 250 and geom[y].distance(line) < 250]
            for x, y in across}
    assert all(len(v) == 1 for v in near.values()), near
    assert sorted(v[0] for v in near.values()) == [0, 1, 2, 3]  # one pair a bridge
    # and a plan of the optimiser crosses the river only at those pairs, whatever it does
    from planning.redistrict import repaired_plan
    current = Plan.from_labels(graph, graph.cells.set_index("cell_id")["station_id"])
    assert not current.contiguous  # today's jurisdictions span the river away from bridges
    plan = redistrict(repaired_plan(current), max_deviation=0.05,
                      rng=np.random.default_rng(0), iterations=3000)
    assert plan.contiguous
    lab = plan.assignment
    crossing = {(i, j) for i, j in zip(pa, pb) if b[i] != b[j]}
    for d in range(graph.n_stations):
        mine = set(np.flatnonzero(lab == d).tolist())
        if len({b[i] for i in mine}) == 2:  # on both banks: through one of its own bridge pairs
            assert any(i in mine and j in mine for i, j in crossing)


def test_import_keeps_rivers_and_railways_as_barriers(tmp_path, capsys, caplog):
    import cli
    from geo.workspace import read_workspace
    area = gpd.GeoDataFrame({"name": ["县"]}, geometry=[box(0, 0, 2000, 2000)], crs=METRIC)
    area.to_file(tmp_path / "area.geojson")
    stations().to_file(tmp_path / "st.geojson")
    river().to_crs(4326).to_file(tmp_path / "river.geojson")  # reprojected on import
    rail = gpd.GeoDataFrame({"name": ["京广线"]}, geometry=[LineString([(1000, -50), (1000, 2050)])],
                            crs=METRIC)
    rail.to_file(tmp_path / "rail.geojson")
    out = tmp_path / "ws.gpkg"
    code = cli.main(["import", str(out), "--area", str(tmp_path / "area.geojson"),
                     "--stations", str(tmp_path / "st.geojson"), "--rivers",
                     str(tmp_path / "river.geojson"), "--railways", str(tmp_path / "rail.geojson"),
                     "--crs", "32650", "--json"])
    stdout, err = capsys.readouterr()
    assert code == 0, err
    ws = read_workspace(out)
    assert ws.layer("rivers").area.sum() == pytest.approx(2200 * 20, rel=1e-3)
    assert len(ws.layer("railways")) == 1
    with caplog.at_level(logging.WARNING, logger="geo"):
        graph = workspace_graph(ws, weights="area")
    # 500 m cells cut in four quarters by the river and the railway; with no road network the
    # quarters are joined only by the island links (one per quarter without a station)
    ids = graph.cell_ids
    cells = ws.layer("cells").set_index("cell_id").geometry.centroid
    quarter = {i: (cells[i].x < 1000, cells[i].y < 1000) for i in ids}
    a, b = graph.pairs["a"].to_numpy(), graph.pairs["b"].to_numpy()
    across = [(ids[i], ids[j]) for i, j in zip(a, b) if quarter[ids[i]] != quarter[ids[j]]]
    assert len(across) == 2  # two quarters hold no station: each joined once
    assert caplog.text.count("closed everywhere: the workspace has no road network") == 1
    assert "cut off by the railway" in caplog.text and "cut off by the river" in caplog.text
