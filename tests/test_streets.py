"""Street coverage: the tour traverses every required segment, with the rural-postman optimum."""
from __future__ import annotations

from collections import Counter

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

from geo.errors import InputError
from geo.network import graph_from_tables
from planning.patrol import PatrolInfeasible
from planning.streets import postman_tour, split_tour, tour_lines

METRIC = "EPSG:32650"


def _graph(points: dict[str, tuple[float, float]], pairs: list[tuple[str, str]]):
    nodes = gpd.GeoDataFrame({"node_id": list(points)}, geometry=[Point(p) for p in points.values()],
                             crs=METRIC)
    return graph_from_tables(nodes, pd.DataFrame(pairs, columns=["u", "v"]).assign(speed_kmh=30.0))


def _covers(tour, required):
    steps = Counter(frozenset(p) for p in zip(tour.nodes[:-1], tour.nodes[1:]))
    need = Counter(frozenset(p) for p in required)
    return all(steps[e] >= n for e, n in need.items())


def test_cycle_needs_no_deadhead():
    G = _graph({"a": (0, 0), "b": (1000, 0), "c": (1000, 1000), "d": (0, 1000)},
               [("a", "b"), ("b", "c"), ("c", "d"), ("d", "a")])
    req = [("a", "b"), ("b", "c"), ("c", "d"), ("d", "a")]
    t = postman_tour(G, req, start="a")
    assert t.nodes[0] == t.nodes[-1] == "a" and _covers(t, req)
    assert t.length_m == pytest.approx(4000) and t.deadhead_m == pytest.approx(0)
    assert t.lower_bound_m == pytest.approx(t.length_m)


def test_star_is_walked_twice():
    # Three 1 km spokes: each is walked out and back, 6 km (hand optimum).
    G = _graph({"o": (0, 0), "x": (1000, 0), "y": (0, 1000), "z": (-1000, 0)},
               [("o", "x"), ("o", "y"), ("o", "z")])
    req = [("o", "x"), ("o", "y"), ("o", "z")]
    t = postman_tour(G, req, start="o")
    assert _covers(t, req)
    assert t.length_m == pytest.approx(6000) and t.lower_bound_m == pytest.approx(6000)
    assert t.matching_m == pytest.approx(3000)


def test_rural_postman_on_a_line_with_a_gap():
    # 0-1-2-3 in a line, 1 km each; only 0-1 and 2-3 required: the optimum 0-1-2-3-2-1-0 is 6 km.
    G = _graph({str(i): (i * 1000.0, 0) for i in range(4)}, [("0", "1"), ("1", "2"), ("2", "3")])
    req = [("0", "1"), ("2", "3")]
    t = postman_tour(G, req, start="0")
    assert _covers(t, req) and t.length_m == pytest.approx(6000)
    assert t.lower_bound_m <= t.length_m + 1e-6


def test_grid_tour_matches_chinese_postman_by_hand():
    # 3 x 2 nodes (2 squares side by side), all 7 edges required, 1 km each.
    # Odd nodes: the two middle nodes (degree 3), 1 km apart: optimum 7 + 1 = 8 km.
    pts = {f"{i}{j}": (i * 1000.0, j * 1000.0) for i in range(3) for j in range(2)}
    pairs = [("00", "10"), ("10", "20"), ("01", "11"), ("11", "21"), ("00", "01"), ("10", "11"), ("20", "21")]
    G = _graph(pts, pairs)
    t = postman_tour(G, pairs, start="00")
    assert _covers(t, pairs) and t.length_m == pytest.approx(8000)
    assert t.lower_bound_m == pytest.approx(8000)


def test_split_among_units_covers_everything_and_returns_to_depot():
    pts = {f"{i}{j}": (i * 1000.0, j * 1000.0) for i in range(3) for j in range(2)}
    pairs = [("00", "10"), ("10", "20"), ("01", "11"), ("11", "21"), ("00", "01"), ("10", "11"), ("20", "21")]
    G = _graph(pts, pairs)
    t = postman_tour(G, pairs, start="00")
    s = split_tour(G, t, units=2, speed_kmh=5.0)
    assert s.covered_share == pytest.approx(1.0) and not s.uncovered
    walked = Counter(frozenset(p) for path in s.paths for p in zip(path[:-1], path[1:]))
    assert all(walked[frozenset(p)] >= 1 for p in pairs)
    for path in s.paths:
        if path:
            assert path[0] == path[-1] == "00"
    assert s.minutes.max() < t.length_m / (5000 / 60)  # two units finish sooner than one
    lines = tour_lines(G, s)
    assert len(lines) == 2 and lines.crs is not None


def test_split_with_a_tight_budget_reports_what_is_left():
    G = _graph({str(i): (i * 1000.0, 0) for i in range(5)}, [(str(i), str(i + 1)) for i in range(4)])
    t = postman_tour(G, [(str(i), str(i + 1)) for i in range(4)], start="0")
    s = split_tour(G, t, units=1, speed_kmh=60.0, budget_min=4.0)  # 4 km of 8 km
    assert 0 < s.covered_share < 1 and s.uncovered and s.minutes[0] <= 4.0 + 1e-6
    with pytest.raises(PatrolInfeasible, match="does not reach any required segment"):
        split_tour(G, t, units=1, speed_kmh=60.0, budget_min=1.0)


def test_bad_segments_are_named():
    G = _graph({"a": (0, 0), "b": (1000, 0), "c": (2000, 0)}, [("a", "b"), ("b", "c")])
    with pytest.raises(InputError, match="not edges of the network"):
        postman_tour(G, [("a", "c")])
    with pytest.raises(InputError, match="no street segments"):
        postman_tour(G, [])
