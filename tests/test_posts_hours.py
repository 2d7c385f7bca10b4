"""Posts by the hour: opening hours parsed (Chinese too), coverage at a time of day and the hours a
new post must be staffed, all checked by hand on tiny cases."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from geo.columns import guess_roles
from geo.coverage import coverage_from_layers
from geo.errors import InputError
from geo.hours import (
    ALWAYS,
    facility_hours,
    open_at,
    parse_hours,
    parse_time_of_day_text,
)
from geo.network import graph_from_tables
from geo.traveltime import engine_from_graph
from planning.post_hours import hours_from_mask, shortest_window, staffing_hours
from tests.clirun import run_cli

METRIC = "EPSG:32650"
DEMO = Path(__file__).resolve().parents[1] / "data" / "boundaries" / "demo_county.gpkg"


@pytest.mark.parametrize("text, windows", [
    ("7x24", "7x24"), ("7*24", "7x24"), ("24h", "7x24"), ("24小时", "7x24"), ("全天", "7x24"),
    ("00:00-24:00", "7x24"), ("08:00-20:00", "08:00-20:00"), ("8-20", "08:00-20:00"),
    ("8点至20点", "08:00-20:00"), ("08：00～20：00", "08:00-20:00"), ("白天", "08:00-20:00"),
    ("夜间", "20:00-08:00"), ("22:00-06:00", "22:00-06:00"),
    ("08:00-12:00,14:00-18:00", "08:00-12:00,14:00-18:00"),
    ("08:00-12:00；14:00-18:00", "08:00-12:00,14:00-18:00"),
])
def test_parse_hours(text, windows):
    assert str(parse_hours(text)) == windows


def test_parsed_minutes_and_openness_by_hand():
    split = parse_hours("08:00-12:00,14:00-18:00")
    assert split.minutes_open() == 480 and not split.always
    assert split.is_open(8 * 60) and not split.is_open(12 * 60) and split.is_open(17 * 60 + 59)
    night = parse_hours("22:00-06:00")
    assert night.is_open(23 * 60) and night.is_open(3 * 60) and not night.is_open(6 * 60)
    assert night.minutes_open() == 480
    assert list(night.hour_share()) == [1.0] * 6 + [0.0] * 16 + [1.0] * 2
    assert parse_hours("") is None and parse_hours(None) is None and parse_hours(float("nan")) is None


@pytest.mark.parametrize("bad", ["sometimes", "25:00-26:00", "08:00", "08:00-20:00-22:00", "8:75-9"])
def test_bad_hours_are_refused_with_the_accepted_forms(bad):
    with pytest.raises(InputError, match="`hours` was .*7x24.*HH:MM-HH:MM"):
        parse_hours(bad)


def test_facility_hours_names_the_bad_rows_and_notes_the_missing(caplog):
    posts = pd.DataFrame({"post_id": ["P1", "P2", "P3", "P4"],
                          "值守时间": ["7x24", "whenever", "白天", "99:00-10:00"]})
    with pytest.raises(InputError) as err:
        facility_hours(posts, layer="posts", id_col="post_id")
    msg = str(err.value)
    assert "posts layer" in msg and "值守时间" in msg and "P2 ('whenever')" in msg and "P4" in msg
    assert "P1" not in msg and "P3" not in msg
    ok = pd.DataFrame({"post_id": ["P1", "P2", "P3"], "在岗时间": ["白天", None, ""]})
    with caplog.at_level(logging.WARNING):
        hours = facility_hours(ok, layer="posts", id_col="post_id")
    assert [str(h) for h in hours] == ["08:00-20:00", "7x24", "7x24"]
    assert "2 posts have no opening hours" in caplog.text and "P2, P3" in caplog.text
    # no hours column at all: everyone 7x24, no note
    assert facility_hours(pd.DataFrame({"post_id": ["P1"]}), layer="posts") == [ALWAYS]


@pytest.mark.parametrize("header", ["hours", "开放时间", "值守时间", "在岗时间"])
def test_hours_header_is_a_column_role(header):
    frame = pd.DataFrame({"post_id": ["P1", "P2"], "名称": ["甲", "乙"], header: ["7x24", "白天"]})
    assert guess_roles(frame, layer="posts")[header] == "hours"


def test_time_of_day_text():
    assert parse_time_of_day_text("03:00") == 180 and parse_time_of_day_text("24:00") == 0
    assert parse_time_of_day_text("14：30") == 870
    for bad in ("3pm", "25:00", "12:60", ""):
        with pytest.raises(InputError, match="`at` was"):
            parse_time_of_day_text(bad)


def _line():
    """Five nodes 600 m apart on a two-way road at 36 km/h: one minute a step."""
    pts = {str(i): (i * 600.0, 0.0) for i in range(5)}
    nodes = gpd.GeoDataFrame({"node_id": list(pts)}, geometry=[Point(p) for p in pts.values()], crs=METRIC)
    edges = pd.DataFrame({"u": ["0", "1", "2", "3"], "v": ["1", "2", "3", "4"], "speed_kmh": 36.0})
    G = graph_from_tables(nodes, edges)
    return G, engine_from_graph(G)


def _posts():
    return gpd.GeoDataFrame({"post_id": ["A", "B"], "hours": ["7x24", "08:00-20:00"],
                             "node_id": ["0", "4"]},
                            geometry=[Point(0, 0), Point(2400, 0)], crs=METRIC)


def test_coverage_at_a_time_of_day_by_hand():
    G, engine = _line()
    posts = _posts()
    assert list(open_at(posts, "03:00", layer="posts")) == [True, False]
    day = coverage_from_layers(G, engine, posts, id_col="post_id", bands=(1.0, 2.0), turnout_col=None)
    night = coverage_from_layers(G, engine, posts, id_col="post_id", bands=(1.0, 2.0),
                                 turnout_col=None, at="03:00")
    noon = coverage_from_layers(G, engine, posts, id_col="post_id", bands=(1.0, 2.0),
                                turnout_col=None, at="12:00")
    # Both open: nodes 0,1 (A) and 3,4 (B) within 1 min, node 2 within 2. At 03:00 only A:
    # nodes 0,1 within 1 min, 0,1,2 within 2, nodes 3 and 4 beyond.
    assert day.within == noon.within == {"1": 4, "2": 5}
    assert night.within == {"1": 2, "2": 3}
    assert set(night.uncovered) == {"3", "4"}
    posts_closed = posts.assign(hours=["白天", "白天"])
    with pytest.raises(InputError, match="no facility is open at 23:00"):
        coverage_from_layers(G, engine, posts_closed, id_col="post_id", at="23:00")


def test_place_posts_hours_answer_by_hand():
    G, engine = _line()
    demand = pd.Series(1.0, index=[str(i) for i in range(5)])
    existing = pd.Series({"A": "0", "B": "4"})
    hours = dict(zip(["A", "B"], facility_hours(_posts(), layer="posts", id_col="post_id")))
    by_hour = np.ones(24)
    by_hour[[22, 23]] = 5.0  # a late peak
    (h,) = staffing_hours(engine, demand, sites=["3"], existing=existing, existing_hours=hours,
                          by_hour=by_hour, minutes=1.0)
    # The new post at node 3 reaches 2, 3, 4. By day B (node 4) reaches 3 and 4: it adds node 2
    # alone; 20:00-08:00 B is closed: it adds 2, 3 and 4.
    night = [x for x in range(24) if x < 8 or x >= 20]
    assert all(h.added[x] == 3.0 for x in night) and all(h.added[x] == 1.0 for x in range(8, 20))
    # value = added x hour's share of the 32 incidents: 22 and 23 give 15/32, other night hours
    # 3/32, day hours 1/32; total 72/32.
    assert h.value.sum() == pytest.approx(72 / 32)
    assert h.value[22] == pytest.approx(15 / 32) and h.value[3] == pytest.approx(3 / 32)
    assert h.top_hours(4) == [22, 23, 0, 1]
    # 80 % = 57.6/32: 22 and 23 (30), then ten more night hours at 3 (60 >= 57.6; nine give 57):
    # all twelve night hours, 20:00-08:00, 60/72 of the value.
    assert str(h.hours) == "20:00-08:00"
    d = h.as_dict()
    assert d["proposed_hours_share"] == pytest.approx(60 / 72, abs=1e-4)
    assert d["proposed_hours_count"] == 12
    # The shortest single window: no 11-hour window reaches 57.6 (best 57); of the 12-hour ones
    # 20:00-08:00 holds most (60).
    assert str(h.window) == "20:00-08:00"
    # Against existing posts open around the clock the new post adds node 2 at every hour.
    (flat,) = staffing_hours(engine, demand, sites=["3"], existing=existing, by_hour=by_hour,
                             minutes=1.0)
    assert list(flat.added) == [1.0] * 24


def test_hours_from_mask_and_shortest_window():
    mask = np.zeros(24, dtype=bool)
    mask[[22, 23, 0, 1, 9, 10]] = True
    assert str(hours_from_mask(mask)) == "09:00-11:00,22:00-02:00"
    assert hours_from_mask(np.ones(24, dtype=bool)) is ALWAYS and hours_from_mask(np.zeros(24)) is None
    v = np.zeros(24)
    v[[23, 0]] = 1.0
    assert str(shortest_window(v, 1.0)) == "23:00-01:00"
    assert shortest_window(np.zeros(24), 0.8) is None
    with pytest.raises(InputError, match="`share` was"):
        staffing_hours(None, pd.Series(dtype=float), sites=[], minutes=1.0, share=1.5)


needs_demo = pytest.mark.skipif(not DEMO.exists(), reason="demo_county.gpkg not generated yet")


@needs_demo
def test_demo_posts_have_hours_and_coverage_at_night_drops_the_day_posts():
    code, out, err = run_cli("coverage", "--network", str(DEMO), "--facilities", f"{DEMO}:posts",
                          "--at", "03:00", "--json")
    assert code == 0, err
    night = json.loads(out)
    code, out, _ = run_cli("coverage", "--network", str(DEMO), "--facilities", f"{DEMO}:posts",
                        "--at", "14:00", "--json")
    day = json.loads(out)
    posts = gpd.read_file(DEMO, layer="posts")
    closed = int((~open_at(posts, "03:00", layer="posts")).sum())
    assert closed == 4 and night["closed_facilities"] == closed and day["closed_facilities"] == 0
    assert night["within"]["5"] < day["within"]["5"]
    code, out, err = run_cli("coverage", "--network", str(DEMO), "--at", "25:00", "--json")
    assert code == 2 and "--at was '25:00'" in err and "Traceback" not in err


@needs_demo
def test_place_posts_reports_the_hours_of_each_new_post():
    code, out, err = run_cli("place-posts", "--network", str(DEMO), "--k", "1", "--minutes", "3",
                          "--weight", "incidents", "--json")
    assert code == 0, err
    p = json.loads(out)
    (h,) = p["hours"]
    assert h["site"] == p["chosen"][0] and len(h["value_by_hour"]) == 24
    assert h["proposed_hours_share"] >= 0.8 and h["proposed_window_share"] >= 0.8
    assert p["hours_weighted_by"] == "incidents by hour"
    code, out, err = run_cli("place-posts", "--network", str(DEMO), "--k", "1", "--hours-share", "2",
                          "--json")
    assert code == 2 and "--hours-share was 2.0" in err
