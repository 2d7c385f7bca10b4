"""Generate the embedded demo county (示范县): a seeded, synthetic Chinese county workspace.

Every name in it is fictional. The county sits in CGCS2000 / 3-degree Gauss-Kruger CM 114E
(EPSG:4547) around 34.3N 113.9E; every layer is in that CRS (metres). One
``numpy.random.default_rng(seed)`` is created in ``build_demo_county`` and passed to every step, so
the same seed gives the same layers, and ``write_workspace(..., timestamp=TIMESTAMP)`` gives the
same bytes.

Run ``python data/boundaries/make_demo_county.py [--out PATH] [--seed N]`` (or ``make demo``).
The layout (where the seat, the towns, the river and the trunk roads are) is fixed by design in
kilometres from the county centre; the seed moves and shapes everything within that design.
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS
from scipy.interpolate import PchipInterpolator
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import Delaunay, cKDTree
from shapely import affinity, ops
from shapely.geometry import LineString, MultiPoint, Point, Polygon

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script from a checkout without `pip install -e`
    sys.path.insert(0, str(ROOT))

from geo.grid import cells_from_area, cells_with_attributes  # noqa: E402
from geo.overlay import label_by_largest_overlap  # noqa: E402
from geo.workspace import Workspace, write_workspace  # noqa: E402

__all__ = ["build_demo_county", "main", "DEFAULT_SEED", "DEFAULT_OUT", "TIMESTAMP", "SPEEDS_KMH",
           "WORKING_CRS"]

log = logging.getLogger("make_demo_county")

DEFAULT_SEED = 20261125
DEFAULT_OUT = ROOT / "data" / "boundaries" / "demo_county.gpkg"
TIMESTAMP = "2026-01-01T00:00:00Z"
WORKING_CRS = "EPSG:4547"
#: The county centre in EPSG:4547 (113.9E, 34.3N), metres.
ORIGIN = (490794.0, 3796943.0)

#: Default speed of each road class, km/h (ramps are class expressway at RAMP_SPEED_KMH).
SPEEDS_KMH = {"expressway": 100.0, "national": 70.0, "provincial": 60.0, "arterial": 50.0,
              "street": 30.0, "rural": 40.0, "village": 20.0}
RAMP_SPEED_KMH = 40.0
CLASS_ZH = {"expressway": "高速公路", "national": "国道", "provincial": "省道", "arterial": "城市主干道",
            "street": "街巷", "rural": "县乡道", "village": "村道"}

RIVER_NAME = "清溪河"
RIVER_HALF_WIDTH_M = 60.0      # the water surface is 120 m wide
RIVER_CUT_M = 85.0             # non-bridge roads stop this far from the river's centre line

# --- the design, in km from the county centre ----------------------------------------------------
SEAT = (-2.0, 1.5)
SUBDISTRICTS = [  # township_id, name, seed (km), Voronoi weight
    ("T01", "城关街道", (-2.0, 1.6), 0.20),
    ("T02", "东城街道", (0.7, 2.1), 0.32),
    ("T03", "西城街道", (-4.7, 2.3), 0.32),
    ("T04", "新区街道", (-1.3, -1.6), 0.42),
]
TOWNS = [  # township_id, name, kind, centre (km)
    ("T05", "河西镇", "镇", (-13.5, -4.0)),
    ("T06", "李庄乡", "乡", (-9.5, 7.0)),
    ("T07", "王集乡", "乡", (0.5, 9.0)),
    ("T08", "柳林镇", "镇", (8.5, 7.5)),
    ("T09", "双庙镇", "镇", (13.0, 2.5)),
    ("T10", "清河镇", "镇", (7.5, -7.5)),
    ("T11", "杨桥镇", "镇", (-4.0, -8.5)),
]
STATIONS = [  # station_id, name, target (township whose centre it sits near), officers range
    ("S01", "城关派出所", "T01w", (30, 42)),
    ("S02", "东关派出所", "T01e", (26, 36)),
    ("S03", "东城派出所", "T02", (24, 34)),
    ("S04", "西城派出所", "T03", (22, 32)),
    ("S05", "新区派出所", "T04", (34, 46)),
    ("S06", "河西派出所", "T05", (14, 20)),
    ("S07", "李庄中心派出所", "T06", (20, 26)),
    ("S08", "柳林派出所", "T08", (13, 19)),
    ("S09", "双庙派出所", "T09", (12, 18)),
    ("S10", "清河派出所", "T10", (13, 19)),
    ("S11", "杨桥派出所", "T11", (12, 18)),
]
#: township -> station, where a township is served by one station (T01 and T05 are split).
TOWNSHIP_STATION = {"T02": "S03", "T03": "S04", "T04": "S05", "T06": "S07", "T07": "S07",
                    "T08": "S08", "T09": "S09", "T10": "S10", "T11": "S11"}

CATEGORIES = {  # code: (中文, share of all incidents)
    "theft": ("盗窃", 0.27), "fraud": ("诈骗", 0.12), "dispute": ("纠纷", 0.26),
    "fight": ("打架斗殴", 0.07), "traffic": ("交通事故", 0.18), "other": ("其他", 0.10),
}
HOTSPOTS = {  # name: (kind, centre km, sigma m)
    "城关农贸市场": ("market", (-2.4, 1.9), 90.0),
    "汽车站": ("bus_station", (-0.9, 2.7), 110.0),
    "火车站": ("rail_station", (-2.2, -2.3), 120.0),
    "东城美食夜市街": ("nightlife", (0.5, 2.2), 45.0),
    "县第一高级中学": ("school", (-2.9, 2.6), 70.0),
    "实验小学": ("school", (-1.5, 1.2), 60.0),
    "新区中学": ("school", (-0.8, -1.4), 70.0),
    "柳林镇中学": ("school", (8.8, 7.7), 70.0),
}
#: Share of each category's incidents drawn at each kind of hotspot; the rest follow population
#: (and, for traffic, the roads).
HOTSPOT_SHARE = {
    "theft": {"market": 0.18, "bus_station": 0.10, "rail_station": 0.05, "nightlife": 0.04,
              "school": 0.04},
    "fraud": {"market": 0.03},
    "dispute": {"market": 0.06, "school": 0.03},
    "fight": {"nightlife": 0.35, "bus_station": 0.08, "rail_station": 0.04},
    "traffic": {"school": 0.05},
    "other": {"bus_station": 0.05, "rail_station": 0.05, "school": 0.05},
}
ROAD_SHARE = {"traffic": 0.85}
HOUR_PROFILE = {  # relative weight of each hour 0..23 (local time)
    "theft": [2, 1.5, 1.5, 1.5, 1, 1, 1.5, 3, 5, 7, 9, 9, 7, 6, 7, 8, 8, 7, 6, 5, 4, 3.5, 3, 2.5],
    "fraud": [1, .5, .3, .3, .3, .5, 1, 2, 4, 5.5, 6, 5.5, 4.5, 4.5, 5.5, 6, 5.5, 5, 4, 4, 4, 3.5, 2.5, 1.5],
    "dispute": [2, 1.2, .8, .5, .5, .7, 1.5, 3, 4.5, 5.5, 6, 6, 5.5, 5, 5, 5.5, 6, 6.5, 7, 8, 8, 7, 5, 3.5],
    "fight": [8, 7, 5, 3, 1.5, .7, .5, .5, .7, 1, 1.2, 1.5, 2, 2, 2, 2, 2.5, 3, 4, 5.5, 7, 9, 10, 9.5],
    "traffic": [1, .6, .5, .5, .7, 1.5, 4, 9, 8, 5, 4, 4.5, 5, 4.5, 4.5, 5, 6.5, 9, 8.5, 5, 3.5, 3, 2, 1.5],
    "other": [1.5, 1, .7, .5, .5, .8, 2, 3.5, 5, 6, 6, 6, 5, 5, 5.5, 6, 6, 5.5, 5, 4.5, 4, 3.5, 2.5, 2],
}
WEEKDAY_PROFILE = {  # Monday .. Sunday
    "theft": [1.0, 0.95, 0.95, 1.0, 1.05, 1.2, 1.15],
    "fraud": [1.15, 1.1, 1.1, 1.05, 1.0, 0.75, 0.7],
    "dispute": [0.95, 0.95, 0.95, 1.0, 1.0, 1.15, 1.15],
    "fight": [0.6, 0.6, 0.65, 0.8, 1.3, 1.9, 1.5],
    "traffic": [1.1, 1.0, 1.0, 1.0, 1.15, 0.95, 0.85],
    "other": [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
}
MONTH_PROFILE = {  # January .. December
    "theft": [1.2, 1.3, 1.0, 0.95, 0.95, 0.95, 1.0, 1.0, 0.95, 1.0, 1.05, 1.2],
    "fraud": [1.1, 1.0, 1.0, 1.0, 1.0, 1.0, 0.95, 0.95, 1.0, 1.0, 1.0, 1.1],
    "dispute": [1.1, 1.2, 1.0, 0.95, 1.0, 1.0, 1.05, 1.05, 0.95, 1.0, 0.95, 1.0],
    "fight": [0.8, 0.9, 0.85, 0.9, 1.05, 1.25, 1.35, 1.3, 1.0, 0.95, 0.85, 0.8],
    "traffic": [1.15, 1.2, 0.95, 0.95, 0.95, 0.95, 1.0, 1.0, 0.95, 1.05, 1.05, 1.1],
    "other": [1.0] * 12,
}
PRIORITY_P = {  # P(priority 1, 2, 3); 1 is the most urgent
    "theft": [0.10, 0.50, 0.40], "fraud": [0.15, 0.45, 0.40], "dispute": [0.10, 0.40, 0.50],
    "fight": [0.60, 0.35, 0.05], "traffic": [0.35, 0.45, 0.20], "other": [0.05, 0.35, 0.60],
}

# --- communities (社区/村), governance grids (综治网格) and police districts (警务区) ---------------
#: People per community aimed at: 社区 of the seat's 街道 and of town centres, rural 村.
SEAT_COMMUNITY_PEOPLE = 4500
TOWN_COMMUNITY_PEOPLE = 2500
VILLAGE_PEOPLE = 1300
TOWN_CENTRE_M = 900.0          # atoms this close to a town's centre make its 社区, the rest its 村
GRID_PEOPLE = 400              # people per governance grid aimed at
DENSITY_FLOOR = 200.0          # people/km² of weight every atom gets, so farmland draws centres too
PGRID_PEOPLE = 12_000          # police districts per station: people / PGRID_PEOPLE + km² / PGRID_KM2
PGRID_KM2 = 50.0
PGRID_RANGE = (3, 9)
DELIBERATE_SPLITS = 6          # communities cut by a police district line inside one station
#: Names of urban communities (+ 社区) and, combined, of villages (surname + place word + 村).
URBAN_NAMES = (
    "东关 西关 南关 北关 东街 西街 南街 北街 文化路 人民路 解放路 建设路 和平 幸福 光明 新华 胜利 朝阳 "
    "团结 民主 育才 书院 鼓楼 府前 钟楼 滨河 清溪 新兴 富民 阳光 锦绣 康宁 永安 长青 春华 兴隆 龙泉 迎宾 "
    "振兴 翠园 花园 桂花 杏林 柳园 荷花 梧桐 车站 商贸城 学府 凤凰 天桥 向阳 红旗 五一 工农 前进 友谊 丰乐 "
    "金桥 银杏 玉兰 文峰 青年 健康 铁路 老城 新城 城南 城北 城东 城西 望湖 观澜 景苑 华庭 紫荆 牡丹 芙蓉 "
    "海棠 紫薇 丁香 月季 百合 松柏 竹园 梅园 兰亭 菊园 园林 东湖 西湖 南湖 北湖 广场 体育路 医院路 "
    "工业园 开发区 新华街 府后 仓巷 市场街 大十字 小十字 东大街 西大街 南大街 北大街").split()
SURNAMES = ("王 李 张 刘 陈 杨 赵 黄 周 吴 徐 孙 胡 朱 高 林 何 郭 马 罗 梁 宋 郑 谢 韩 唐 冯 于 董 程 "
            "曹 袁 邓 许 傅 沈 曾 彭 吕 苏 卢 蒋 蔡 贾 丁 魏 薛 叶 阎 余 潘 杜 戴 夏 钟 汪 田 任 姜 范 "
            "方 石 姚 谭 邹 金 陆 郝 孔 白 崔 康 毛 邱 秦 史 顾 侯 邵 孟 段 雷 钱 汤 尹 常 武 乔 贺 龚").split()
PLACE_WORDS = "庄 楼 寨 营 集 屯 湾 岗 店 庙 洼 坡 园 桥 沟 圪垱 河 台".split()


def _xy(km: tuple[float, float]) -> tuple[float, float]:
    """A design position (km from the centre) in EPSG:4547 metres."""
    return (ORIGIN[0] + 1000.0 * km[0], ORIGIN[1] + 1000.0 * km[1])


@dataclass(frozen=True)
class Frame:
    """The fixed geography every layer is drawn against (all in EPSG:4547 metres)."""

    area: Polygon            # the county outline
    inner: Polygon           # the outline shrunk by 25 m: roads that must not exit stay in it
    river_line: LineString   # the river's centre line, extending 10 km beyond the county
    river: Polygon           # the water surface
    cut: Polygon             # non-bridge roads are cut out of this zone
    old_town: Polygon        # the seat's old town (north of the river)
    new_town: Polygon        # the new district (south of the river)
    towns: dict              # township_id -> (x, y) of the town centre
    seeds: dict              # township_id -> (x, y) of the township's Voronoi seed


# --- outline and river ---------------------------------------------------------------------------

def county_outline(rng: np.random.Generator, *, target_km2: float = 780.0) -> Polygon:
    """An irregular county outline: a wobbly ellipse (about 36 x 27 km), area ~``target_km2``.

    The radius is modulated by a few low harmonics (the county's shape, within +-20 %) and many
    small ones (a jagged border); the result is star-shaped around the centre, hence valid.
    """
    theta = np.linspace(0.0, 2.0 * np.pi, 900, endpoint=False)
    low = np.zeros_like(theta)
    for k in range(2, 7):
        low += rng.normal(0.0, 0.09 / k ** 0.5) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    low *= min(1.0, 0.2 / np.abs(low).max())
    high = np.zeros_like(theta)
    for k in range(7, 120):  # a 1/k spectrum: a jagged, not scalloped, border
        high += rng.normal(0.0, 0.07 / k) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    r = 1.0 + low + high + rng.normal(0.0, 0.0015, theta.size)
    x, y = 18000.0 * r * np.cos(theta), 13500.0 * r * np.sin(theta)
    poly = Polygon(np.column_stack([x, y]))
    scale = np.sqrt(target_km2 * 1e6 * rng.uniform(0.98, 1.02) / poly.area)
    poly = affinity.scale(poly, scale, scale, origin=(0, 0))
    return affinity.translate(poly, *ORIGIN)


def river_centreline(rng: np.random.Generator) -> LineString:
    """The river's centre line, west to east, 1.1 km south of the seat, meandering gently.

    It runs from 32 km west to 32 km east of the centre, so it cuts the county in two and
    extends well beyond it (no road can go round it).
    """
    xs = np.array([-32.0, -24.0, -16.0, -9.0, SEAT[0], 3.0, 9.0, 15.0, 21.0, 27.0, 32.0])
    base = np.where(xs < SEAT[0], 0.4 + (xs - SEAT[0]) * 0.05, 0.4 - (xs - SEAT[0]) * 0.085)
    noise = rng.normal(0.0, 0.45, xs.size)
    noise[xs == SEAT[0]] = 0.0
    spline = PchipInterpolator(xs, base + noise)
    fx = np.arange(-32.0, 32.0001, 0.1)
    fy = spline(fx)
    taper = np.clip(np.abs(fx - SEAT[0]) / 2.0, 0.0, 1.0)   # keep it put at the seat
    fy = fy + taper * (0.10 * np.sin(2 * np.pi * fx / 1.7 + rng.uniform(0, 2 * np.pi))
                       + 0.05 * np.sin(2 * np.pi * fx / 0.9 + rng.uniform(0, 2 * np.pi)))
    return LineString([_xy((a, b)) for a, b in zip(fx, fy)])


def _ellipse(centre_km: tuple[float, float], a_km: float, b_km: float, angle_deg: float,
             rng: np.random.Generator | None = None) -> Polygon:
    """An ellipse (km), rotated; with ``rng``, its radius wobbles by up to ~12 %."""
    theta = np.linspace(0.0, 2.0 * np.pi, 256, endpoint=False)
    r = np.ones_like(theta)
    if rng is not None:
        for k in range(2, 9):
            r += rng.normal(0.0, 0.06 / k ** 0.7) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    x0, y0 = _xy(centre_km)
    ring = np.column_stack([1000.0 * a_km * r * np.cos(theta), 1000.0 * b_km * r * np.sin(theta)])
    return affinity.translate(affinity.rotate(Polygon(ring), angle_deg, origin=(0, 0)), x0, y0)


def county_frame(rng: np.random.Generator) -> Frame:
    """Outline, river and seat footprints; town centres jittered and kept >= 3 km inside."""
    area = county_outline(rng)
    river_line = river_centreline(rng)
    river = river_line.buffer(RIVER_HALF_WIDTH_M, cap_style="flat")
    cut = river_line.buffer(RIVER_CUT_M, cap_style="flat")
    keep_off = river_line.buffer(200.0, cap_style="flat")
    north = shapely.Polygon([(ORIGIN[0] - 40000, ORIGIN[1] + 30000), (ORIGIN[0] + 40000, ORIGIN[1] + 30000)]
                            + list(river_line.coords)[::-1])
    old_town = _ellipse((-2.0, 1.9), 2.6, 1.45, 8.0, rng).intersection(north).difference(keep_off)
    new_town = _ellipse((-1.4, -1.4), 2.2, 1.25, -5.0, rng).difference(north).difference(keep_off)
    old_town = max(shapely.get_parts(old_town), key=lambda g: g.area)
    new_town = max(shapely.get_parts(new_town), key=lambda g: g.area)
    towns = {}
    for tid, _name, _kind, km in TOWNS:
        p = np.array(_xy(km)) + rng.uniform(-600.0, 600.0, 2)
        centre = np.array(ORIGIN)
        while area.exterior.distance(Point(p)) < 3000.0 or not area.contains(Point(p)):
            p = centre + (p - centre) * 0.95
        while river_line.distance(Point(p)) < 2200.0:
            p = p + np.sign(p[1] - river_line.interpolate(river_line.project(Point(p))).y) * np.array([0.0, 200.0])
        towns[tid] = (float(p[0]), float(p[1]))
    seeds = {tid: _xy(km) for tid, _n, km, _w in SUBDISTRICTS}
    seeds.update(towns)
    return Frame(area=area, inner=area.buffer(-25.0), river_line=river_line, river=river, cut=cut,
                 old_town=old_town, new_town=new_town, towns=towns, seeds=seeds)


# --- townships and jurisdictions from one set of small Voronoi "atoms" ---------------------------

def atoms_from_area(frame: Frame, rng: np.random.Generator) -> np.ndarray:
    """Small polygons (about 0.25 km2, finer in the seat) that tile the county exactly.

    Townships and jurisdictions are unions of atoms, so both tile the county by construction,
    and a jurisdiction boundary can leave a township line by an atom (a few hundred metres).
    """
    minx, miny, maxx, maxy = frame.area.bounds
    pts = np.column_stack([rng.uniform(minx, maxx, 4200), rng.uniform(miny, maxy, 4200)])
    seat = np.array(_xy(SEAT))
    extra = seat + rng.normal(0.0, 2200.0, (700, 2))
    pts = np.vstack([pts, extra])
    pts = pts[shapely.contains_xy(frame.area, pts[:, 0], pts[:, 1])]
    vor = shapely.voronoi_polygons(MultiPoint(pts), extend_to=frame.area.envelope.buffer(5000.0),
                                   ordered=True)
    cells = shapely.intersection(np.asarray(shapely.get_parts(vor)), frame.area)
    parts = shapely.get_parts(cells)
    parts = parts[shapely.get_type_id(parts) == 3]
    return parts[shapely.area(parts) > 1.0]


def atom_adjacency(atoms: np.ndarray) -> list[list[int]]:
    """For each atom, the sorted atoms it shares more than 1 m of border with."""
    tree = shapely.STRtree(atoms)
    a, b = tree.query(atoms, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    shared = shapely.length(shapely.intersection(atoms[a], atoms[b]))
    adj: list[list[int]] = [[] for _ in range(len(atoms))]
    for i, j in zip(a[shared > 1.0], b[shared > 1.0]):
        adj[i].append(int(j))
        adj[j].append(int(i))
    return [sorted(n) for n in adj]


def _make_contiguous(labels: np.ndarray, adj: list[list[int]], anchors: dict,
                     locked: set | None = None) -> np.ndarray:
    """Reassign atoms cut off from their label's anchor atom to a neighbouring label."""
    labels = labels.copy()
    for _ in range(50):
        changed = False
        for lab in sorted(anchors):
            start = anchors[lab]
            seen = {start}
            stack = [start]
            while stack:
                i = stack.pop()
                for j in adj[i]:
                    if j not in seen and labels[j] == lab:
                        seen.add(j)
                        stack.append(j)
            for i in np.flatnonzero(labels == lab):
                if int(i) in seen:
                    continue
                others = [labels[j] for j in adj[i] if labels[j] != lab]
                if others:
                    values, counts = np.unique(others, return_counts=True)
                    labels[i] = values[np.argmax(counts)]
                    changed = True
        if not changed:
            return labels
    raise RuntimeError("could not make the partition contiguous")


def _is_contiguous(labels: np.ndarray, adj: list[list[int]], lab, start: int) -> bool:
    members = set(np.flatnonzero(labels == lab).tolist())
    seen = {start}
    stack = [start]
    while stack:
        i = stack.pop()
        for j in adj[i]:
            if j in members and j not in seen:
                seen.add(j)
                stack.append(j)
    return len(seen) == len(members)


def township_labels(atoms: np.ndarray, adj: list[list[int]], frame: Frame,
                    rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Assign each atom to a township by a noisy multiplicatively weighted Voronoi of the seeds.

    The seat's four 街道 have small weights (small, dense units); the seven towns have weights
    around 1. Returns the label array and the anchor atom of each township.
    """
    ids = [t[0] for t in SUBDISTRICTS] + [t[0] for t in TOWNS]
    weights = np.array([t[3] for t in SUBDISTRICTS] + list(rng.uniform(0.9, 1.1, len(TOWNS))))
    seeds = np.array([frame.seeds[t] for t in ids])
    c = shapely.get_coordinates(shapely.point_on_surface(atoms))
    d = np.hypot(c[:, None, 0] - seeds[None, :, 0], c[:, None, 1] - seeds[None, :, 1])
    score = d / weights[None, :] * rng.uniform(0.93, 1.07, d.shape)
    labels = np.array(ids, dtype=object)[np.argmin(score, axis=1)]
    tree = shapely.STRtree(atoms)
    anchors = {}
    for tid, (x, y) in zip(ids, seeds):
        hit = tree.query(Point(x, y), predicate="intersects")
        anchors[tid] = int(hit[0])
        labels[anchors[tid]] = tid
    return _make_contiguous(labels, adj, anchors), anchors


def jurisdiction_labels(atoms: np.ndarray, adj: list[list[int]], towns: np.ndarray,
                        t_anchor: dict, frame: Frame, rng: np.random.Generator
                        ) -> tuple[np.ndarray, dict]:
    """Station of each atom: township lines, except where police lines really differ.

    - T01 城关街道 is split about evenly between S01 (west) and S02 (east);
    - S05 新区 takes 新区街道 and the ~35 % of 河西镇 nearest to it (oversized);
    - S07 李庄中心 takes the two whole townships 李庄乡 and 王集乡;
    - 24 border atoms (a few hundred metres each, some with a neighbour) go to the next station.
    """
    area = shapely.area(atoms)
    c = shapely.get_coordinates(shapely.point_on_surface(atoms))
    labels = np.array([TOWNSHIP_STATION.get(t, "") for t in towns], dtype=object)
    t01 = np.flatnonzero(towns == "T01")
    axis = np.array([np.cos(np.radians(8.0)), np.sin(np.radians(8.0))])
    proj = c[t01] @ axis
    order = np.argsort(proj)
    cum = np.cumsum(area[t01][order]) / area[t01].sum()
    cut = rng.uniform(0.45, 0.58)
    labels[t01[order[cum <= cut]]] = "S01"
    labels[t01[order[cum > cut]]] = "S02"
    t05 = np.flatnonzero(towns == "T05")
    dist = np.hypot(*(c[t05] - np.array(frame.seeds["T04"])).T)
    order = np.argsort(dist)
    cum = np.cumsum(area[t05][order]) / area[t05].sum()
    labels[t05[order[cum <= 0.35]]] = "S05"
    labels[t05[order[cum > 0.35]]] = "S06"
    anchors = {"S01": int(t01[np.argmin(proj)]), "S02": int(t01[np.argmax(proj)]),
               "S05": t_anchor["T04"], "S06": t_anchor["T05"]}
    for tid, sid in TOWNSHIP_STATION.items():
        anchors.setdefault(sid, t_anchor[tid])
    labels = _make_contiguous(labels, adj, anchors)
    locked = set(anchors.values())
    flips, tries = 0, 0
    while flips < 24 and tries < 4000:
        tries += 1
        i = int(rng.integers(len(atoms)))
        others = sorted({labels[j] for j in adj[i]} - {labels[i]})
        if i in locked or not others or {labels[i], *others} <= {"S01", "S02"}:
            continue
        if towns[i] in ("T06", "T07") and labels[i] == "S07" and flips % 3:
            continue  # keep the central station's two townships (nearly) whole
        new = others[int(rng.integers(len(others)))]
        group = [i] + [j for j in adj[i] if labels[j] == labels[i] and j not in locked][:int(rng.integers(0, 2))]
        old = labels[i]
        trial = labels.copy()
        trial[group] = new
        if _is_contiguous(trial, adj, old, anchors[old]):
            labels = trial
            flips += 1
    return labels, anchors


def _dissolve(atoms: np.ndarray, labels: np.ndarray, ids: list[str]) -> list:
    return [shapely.union_all(atoms[labels == i]) for i in ids]


def _shared_border(a, b) -> LineString | None:
    inter = shapely.intersection(a.boundary, b.boundary)
    lines = [g for g in shapely.get_parts(inter) if g.geom_type == "LineString" and not g.is_empty]
    if not lines:
        return None
    merged = shapely.line_merge(shapely.MultiLineString(lines))
    parts = [g for g in shapely.get_parts(merged) if g.geom_type == "LineString"]
    return max(parts, key=lambda g: g.length)


def add_digitising_defects(polys: dict, frame: Frame) -> tuple[dict, dict]:
    """A thin gap and a thin overlap along two rural borders (each a strip ~3 km long).

    The gap: a 30 m wide strip along the longest border between two rural stations belongs to
    no jurisdiction. The overlap: a 30 m strip on the far side of another border is claimed by
    both neighbours. Returns the new polygons and a description of each defect.
    """
    rural = ["S06", "S07", "S08", "S09", "S10", "S11"]
    pairs = []
    for i, a in enumerate(rural):
        for b in rural[i + 1:]:
            line = _shared_border(polys[a], polys[b])
            if line is not None:
                inside = line.intersection(frame.area.buffer(-1500.0))
                pairs.append((inside.length, a, b, line))
    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    gap_pair = pairs[0]
    over_pair = next(p for p in pairs if not {p[1], p[2]} & {gap_pair[1], gap_pair[2]})

    def middle(line: LineString, length: float) -> LineString:
        start = max(0.0, (line.length - length) / 2.0)
        return ops.substring(line, start, min(line.length, start + length))

    out = dict(polys)
    gap_line = middle(gap_pair[3], 3000.0)
    gap = gap_line.buffer(15.0, cap_style="flat").intersection(frame.area)
    for sid in out:
        out[sid] = out[sid].difference(gap)
    over_line = middle(over_pair[3], 2600.0)
    a, b = over_pair[1], over_pair[2]
    overlap = over_line.buffer(30.0, cap_style="flat").intersection(polys[b])
    out[a] = out[a].union(overlap)
    for sid, geom in out.items():  # drop slivers the strips may cut off
        parts = shapely.get_parts(geom)
        if len(parts) > 1:
            out[sid] = shapely.union_all(parts[shapely.area(parts) > 5000.0])
    info = {"gap": {"between": [gap_pair[1], gap_pair[2]], "length_m": gap_line.length,
                    "width_m": 30.0},
            "overlap": {"between": [a, b], "length_m": over_line.length, "width_m": 30.0}}
    return out, info


# --- population ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class DensityRaster:
    """Population on a 100 m raster (cell centres x, y; people per raster cell), inside the county."""

    x: np.ndarray
    y: np.ndarray
    people: np.ndarray
    spacing_m: float = 100.0


def villages_in_county(frame: Frame, rng: np.random.Generator) -> np.ndarray:
    """Village centres (n x 2, metres): at least 750 m apart, off the seat, towns and river."""
    minx, miny, maxx, maxy = frame.area.bounds
    cand = np.column_stack([rng.uniform(minx, maxx, 5000), rng.uniform(miny, maxy, 5000)])
    ok = shapely.contains_xy(frame.area.buffer(-350.0), cand[:, 0], cand[:, 1])
    avoid = shapely.union_all([frame.old_town.buffer(500.0), frame.new_town.buffer(500.0),
                               frame.river_line.buffer(300.0)]
                              + [Point(p).buffer(1000.0) for p in frame.towns.values()])
    ok &= ~shapely.contains_xy(avoid, cand[:, 0], cand[:, 1])
    cand = cand[ok]
    chosen: list[np.ndarray] = []
    arr = np.empty((0, 2))
    for p in cand:
        if len(arr) == 0 or np.min(np.hypot(*(arr - p).T)) >= 750.0:
            chosen.append(p)
            arr = np.array(chosen)
    return arr


def density_raster(frame: Frame, villages: np.ndarray, village_pop: np.ndarray,
                   rng: np.random.Generator, *, total: int) -> DensityRaster:
    """People per 100 m raster cell from Gaussian kernels, scaled to ``total`` people.

    Kernels: the old town (sigma 1.1 km), the east and west 街道 and the new district (0.9 km),
    each town (0.45 km), each village (0.13 km), plus 25 people/km2 of scattered farmsteads.
    Nobody lives in the river.
    """
    s = 100.0
    minx, miny, maxx, maxy = frame.area.bounds
    xs = np.arange(minx + s / 2, maxx, s)
    ys = np.arange(miny + s / 2, maxy, s)
    grid = np.zeros((ys.size, xs.size))

    def add(x0: float, y0: float, sigma: float, people: float) -> None:
        i0, i1 = np.searchsorted(xs, [x0 - 4 * sigma, x0 + 4 * sigma])
        j0, j1 = np.searchsorted(ys, [y0 - 4 * sigma, y0 + 4 * sigma])
        if i0 >= i1 or j0 >= j1:
            return
        w = np.exp(-((xs[None, i0:i1] - x0) ** 2 + (ys[j0:j1, None] - y0) ** 2) / (2 * sigma ** 2))
        grid[j0:j1, i0:i1] += people * w / (2 * np.pi * sigma ** 2 / (s * s))

    add(*_xy((-2.0, 1.9)), 1100.0, 150_000)
    add(*_xy((0.8, 2.2)), 900.0, 35_000)
    add(*_xy((-4.6, 2.2)), 900.0, 30_000)
    add(*_xy((-1.2, -1.4)), 900.0, 45_000)
    for tid in sorted(frame.towns):
        add(*frame.towns[tid], 450.0, float(rng.uniform(6000, 12000)))
    for (x0, y0), p in zip(villages, village_pop):
        add(float(x0), float(y0), 130.0, float(p))
    grid += 25.0 * s * s / 1e6
    gx, gy = np.meshgrid(xs, ys)
    gx, gy, people = gx.ravel(), gy.ravel(), grid.ravel()
    inside = shapely.contains_xy(frame.area, gx, gy) & ~shapely.contains_xy(frame.river, gx, gy)
    gx, gy, people = gx[inside], gy[inside], people[inside]
    people = people * (total / people.sum())
    return DensityRaster(gx, gy, people, s)


def _largest_remainder(values: np.ndarray, total: int) -> np.ndarray:
    floor = np.floor(values).astype(np.int64)
    rest = int(total - floor.sum())
    order = np.lexsort((np.arange(values.size), -(values - floor)))
    floor[order[:rest]] += 1
    return floor


def population_pieces(raster: DensityRaster, cells: gpd.GeoDataFrame, townships: list,
                      total: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer population of each township and each cell, from the same (cell, township) pieces.

    The raster's people are summed per piece (cell x township), rounded to whole people by the
    largest remainder (the county total is exact), then added up per township and per cell.
    """
    pts = shapely.points(raster.x, raster.y)
    cell_tree = shapely.STRtree(np.asarray(cells.geometry.values))
    ip, ic = cell_tree.query(pts, predicate="intersects")
    order = np.lexsort((ic, ip))
    ip, ic = ip[order], ic[order]
    first = np.r_[True, ip[1:] != ip[:-1]]
    cell_of = np.full(len(pts), -1)
    cell_of[ip[first]] = ic[first]
    t_tree = shapely.STRtree(np.asarray(townships))
    ip, it = t_tree.query(pts, predicate="intersects")
    order = np.lexsort((it, ip))
    ip, it = ip[order], it[order]
    first = np.r_[True, ip[1:] != ip[:-1]]
    town_of = np.full(len(pts), -1)
    town_of[ip[first]] = it[first]
    ok = (cell_of >= 0) & (town_of >= 0)
    key = cell_of[ok] * len(townships) + town_of[ok]
    uniq, inv = np.unique(key, return_inverse=True)
    piece_pop = np.bincount(inv, weights=raster.people[ok])
    piece_pop = _largest_remainder(piece_pop * total / piece_pop.sum(), total)
    cell_pop = np.bincount(uniq // len(townships), weights=piece_pop, minlength=len(cells))
    town_pop = np.bincount(uniq % len(townships), weights=piece_pop, minlength=len(townships))
    return town_pop.astype(np.int64), cell_pop.astype(np.int64)


# --- roads --------------------------------------------------------------------------------------

@dataclass
class RoadLine:
    """One road before noding: geometry, class, name, one-way (along the line), bridge allowed,
    and whether it may leave the county (trunk roads and exit roads may; the rest are clipped)."""

    geom: LineString
    road_class: str
    name: str | None = None
    oneway: bool = False
    bridge_ok: bool = False
    may_exit: bool = False


def _meander(points: list, rng: np.random.Generator, *, amp_m: float = 120.0,
             straight_last: bool = False) -> LineString:
    """A polyline through ``points`` with smooth sideways wobble (zero at each waypoint)."""
    out = [np.asarray(points[0], float)]
    for k in range(len(points) - 1):
        p0, p1 = np.asarray(points[k], float), np.asarray(points[k + 1], float)
        d = np.hypot(*(p1 - p0))
        n = max(2, int(d / 400.0))
        t = np.linspace(0.0, 1.0, n + 1)[1:]
        if straight_last and k >= len(points) - 3 or amp_m == 0:
            off = np.zeros_like(t)
        else:
            walk = np.cumsum(rng.normal(0.0, 1.0, t.size))
            walk = walk - t * walk[-1]
            off = amp_m * walk / max(1.0, np.abs(walk).max()) * np.sin(np.pi * t)
        normal = np.array([-(p1 - p0)[1], (p1 - p0)[0]]) / d
        out.extend(p0 + np.outer(t, p1 - p0) + np.outer(off, normal))
    return LineString(out)


def _exit_points(frame: Frame, p: tuple, angle_deg: float, beyond_m: float) -> tuple:
    """Boundary point b on a ray from inside point ``p`` and a point ``beyond_m`` outside.

    The ray is turned a few degrees at a time until the road from p to o crosses the county
    boundary exactly once.
    """
    for turn in [0, 4, -4, 8, -8, 12, -12, 16, -16, 20, -20, 25, -25, 30, -30]:
        a = np.radians(angle_deg + turn)
        d = np.array([np.cos(a), np.sin(a)])
        ray = LineString([p, tuple(np.asarray(p) + 60000.0 * d)])
        hits = shapely.get_parts(ray.intersection(frame.area.exterior))
        if len(hits) == 0:
            continue
        b = min(hits, key=lambda h: Point(p).distance(h))
        o = np.array(b.coords[0]) + beyond_m * d
        seg = LineString([p, tuple(o)])
        if len(shapely.get_parts(seg.intersection(frame.area.exterior))) == 1:
            return b.coords[0], tuple(o)
    raise RuntimeError(f"no clean exit from {p} towards {angle_deg} degrees")


def _grid_lines(centre: tuple, angle_deg: float, spacing: float, half_w: float, half_h: float,
                rng: np.random.Generator) -> list[tuple[str, int, LineString]]:
    """A street grid (local x/y lines) around ``centre``, rotated; returns (axis, index, line)."""
    out = []
    nx_ = int(half_w // spacing)
    ny_ = int(half_h // spacing)
    for k in range(-nx_, nx_ + 1):
        x = k * spacing + rng.uniform(-0.1, 0.1) * spacing
        out.append(("ns", k, LineString([(x, -half_h - 60), (x, half_h + 60)])))
    for k in range(-ny_, ny_ + 1):
        y = k * spacing + rng.uniform(-0.1, 0.1) * spacing
        out.append(("ew", k, LineString([(-half_w - 60, y), (half_w + 60, y)])))
    return [(ax, k, affinity.translate(affinity.rotate(g, angle_deg, origin=(0, 0)), *centre))
            for ax, k, g in out]


SEAT_ARTERIALS_NS = ["人民路", "解放路", "文化路", "建设路", "中山路", "新华路"]
SEAT_ARTERIALS_EW = ["和平大道", "迎宾大道", "工业路", "长安路"]
SEAT_STREETS = ["府前街", "书院街", "顺河街", "东大街", "西大街", "南大街", "北大街", "青年街",
                "光明街", "鼓楼街", "仓巷街", "学前街", "考棚街", "马市街", "文庙街", "城隍庙街"]


def seat_streets(frame: Frame, rng: np.random.Generator) -> list[RoadLine]:
    """The seat: old-town grid (~200 m blocks, one-way pairs in the core, arterials every 4th
    line), the new district (~260 m blocks, arterials every 3rd line), ring roads, and 人民路
    running from the old town over the 人民桥 into the new district."""
    roads: list[RoadLine] = []
    core = _ellipse((-2.0, 1.9), 1.4, 0.8, 8.0)
    old_c = frame.old_town.centroid
    lines = _grid_lines((old_c.x, old_c.y), 8.0, 200.0, 2700.0, 1500.0, rng)
    clip = frame.old_town.buffer(40.0)
    ns_names = iter(SEAT_ARTERIALS_NS)
    ew_names = iter(SEAT_ARTERIALS_EW)
    street_names = iter(SEAT_STREETS)
    bridge_k = -4
    for ax, k, g in lines:
        arterial = k % 4 == 0
        if ax == "ns" and k == bridge_k:
            # 人民路: extend south over the river into the new district (local y down to -3.6 km)
            a = np.radians(8.0)
            d = np.array([np.sin(a), -np.cos(a)])
            top = np.array(g.coords[1])
            start = top if top[1] > np.array(g.coords[0])[1] else np.array(g.coords[0])
            end = start + d * (start[1] - (_xy((0, -2.4))[1])) / np.cos(a)
            full = LineString([tuple(start), tuple(end)])
            clip_full = frame.old_town.buffer(40.0).union(frame.new_town.buffer(40.0)).union(
                full.buffer(1.0).intersection(frame.river_line.buffer(900.0)))
            roads.append(RoadLine(full.intersection(clip_full), "arterial", "人民路", bridge_ok=True))
            continue
        geom = g.intersection(clip)
        if geom.is_empty:
            continue
        if arterial:
            name = next(ns_names if ax == "ns" else ew_names, None)
            roads.append(RoadLine(geom, "arterial", name))
            continue
        name = next(street_names, None)
        mid = g.interpolate(0.5, normalized=True)
        oneway = ax == "ew" and core.contains(mid) and k % 2 != 0
        if oneway and (k // 2) % 2:
            geom = shapely.reverse(geom)
        roads.append(RoadLine(geom, "street", name, oneway=oneway))
    roads.append(RoadLine(frame.old_town.exterior, "arterial", "环城路"))
    new_c = frame.new_town.centroid
    clip = frame.new_town.buffer(40.0)
    for ax, k, g in _grid_lines((new_c.x, new_c.y), -5.0, 260.0, 2300.0, 1300.0, rng):
        geom = g.intersection(clip)
        if geom.is_empty:
            continue
        arterial = k % 3 == 0
        name = {("ns", 0): "新区大道", ("ew", 0): "世纪大道", ("ns", 3): "科技路", ("ns", -3): "创业路",
                ("ew", 3): "学府路", ("ew", -3): "产业路"}.get((ax, k))
        roads.append(RoadLine(geom, "arterial" if arterial else "street", name))
    roads.append(RoadLine(frame.new_town.exterior, "arterial", "新区环路"))
    return roads


def town_streets(frame: Frame, rng: np.random.Generator) -> list[RoadLine]:
    """Each town's small street grid (~200 m blocks, about 1.6 x 1.2 km)."""
    roads = []
    for tid in sorted(frame.towns):
        centre = frame.towns[tid]
        for ax, k, g in _grid_lines(centre, float(rng.uniform(-15, 15)), float(rng.uniform(180, 230)),
                                    float(rng.uniform(650, 900)), float(rng.uniform(450, 650)), rng):
            roads.append(RoadLine(g, "street"))
    return roads


def village_lanes(villages: np.ndarray, village_pop: np.ndarray,
                  rng: np.random.Generator) -> list[RoadLine]:
    """Each village's lanes: a small rotated grid (2-4 lanes each way, 70-100 m apart)."""
    roads = []
    big = np.quantile(village_pop, [0.35, 0.8])
    for (x0, y0), p in zip(villages, village_pop):
        n = 2 + int(p > big[0]) + int(p > big[1])
        m = 2 + int(rng.random() < 0.5) + int(p > big[1] and rng.random() < 0.5)
        s = float(rng.uniform(70, 100))
        ang = float(rng.uniform(0, 90))
        hw, hh = (n - 1) * s / 2, (m - 1) * s / 2
        local = [LineString([(-hw + i * s, -hh - 25), (-hw + i * s, hh + 25)]) for i in range(n)]
        local += [LineString([(-hw - 25, -hh + j * s), (hw + 25, -hh + j * s)]) for j in range(m)]
        for g in local:
            roads.append(RoadLine(affinity.translate(affinity.rotate(g, ang, origin=(0, 0)), x0, y0),
                                  "village"))
    return roads


def rural_roads(frame: Frame, villages: np.ndarray, rng: np.random.Generator) -> tuple[list[RoadLine], dict]:
    """County and township roads between villages, towns and the seat's edge.

    A relative neighbourhood graph of the villages, towns and anchor points on the seat's ring
    roads, plus a third of the remaining Gabriel edges up to 2.6 km. Edges that would cross the
    river, run through the seat or leave the county are dropped; one eastern road over the river
    is kept as the rural bridge.
    """
    anchors = []
    for fp in (frame.old_town, frame.new_town):
        ring = fp.exterior
        for s in np.arange(0.0, ring.length, 1100.0):
            q = ring.interpolate(s)
            c = fp.centroid
            v = np.array([c.x - q.x, c.y - q.y])
            anchors.append(np.array(q.coords[0]) + 60.0 * v / np.hypot(*v))
    anchors = np.array(anchors)
    towns = np.array([frame.towns[t] for t in sorted(frame.towns)])
    pts = np.vstack([villages, towns, anchors])
    n_v, n_t = len(villages), len(towns)
    is_anchor = np.arange(len(pts)) >= n_v + n_t
    tri = Delaunay(pts)
    edges = set()
    for simplex in tri.simplices:
        for a, b in ((0, 1), (1, 2), (0, 2)):
            i, j = sorted((int(simplex[a]), int(simplex[b])))
            edges.add((i, j))
    edges = sorted(edges)
    tree = cKDTree(pts)
    seat = frame.old_town.union(frame.new_town).buffer(-120.0)
    river_line = frame.river_line
    roads = []
    crossing = []
    for i, j in edges:
        if is_anchor[i] and is_anchor[j]:
            continue
        pi, pj = pts[i], pts[j]
        d = float(np.hypot(*(pi - pj)))
        near = tree.query_ball_point(pi, d * 0.999)
        rng_edge = not any(np.hypot(*(pts[k] - pj)) < d * 0.999 for k in near if k not in (i, j))
        if not rng_edge:
            mid = (pi + pj) / 2
            gab = [k for k in tree.query_ball_point(mid, d / 2 * 0.999) if k not in (i, j)]
            if gab or d > 2600.0 or rng.random() > 0.33:
                continue
        line = LineString([tuple(pi), tuple(pj)])
        if line.intersects(river_line):
            crossing.append((d, i, j, line))
            continue
        if line.intersection(seat).length > 150.0 or not frame.inner.contains(line):
            continue
        roads.append(RoadLine(line, "rural"))
    # the rural bridge: the shortest crossing edge in the east
    east = [c for c in crossing if min(pts[c[1]][0], pts[c[2]][0]) > ORIGIN[0] + 12000.0
            and c[0] < 2600.0 and frame.inner.contains(c[3])
            and len(shapely.get_parts(c[3].intersection(river_line))) == 1]
    east.sort(key=lambda c: c[0])
    info = {}
    if east:
        roads.append(RoadLine(east[0][3], "rural", "X021县道", bridge_ok=True))
        info["rural_bridge"] = east[0][3]
    return roads, info


TRUNK_ROUTES = [  # name, class, waypoints (town ids or km), exits: (which end, angle deg), bridge
    ("G588国道", "national", ["T07", (-0.4, 4.0), (-0.6, 1.9), (-0.7, -1.2), (-1.6, -3.0), "T11"],
     [("start", 88.0), ("end", 255.0)], True),
    ("G590国道", "national", [(-12.0, 3.2), (-7.0, 2.8), (-4.7, 2.5), (-2.2, 2.7), (0.7, 2.4),
                             (6.0, 2.8), "T09"], [("start", 182.0), ("end", 5.0)], False),
    ("S215省道", "provincial", ["T06", (-11.0, 4.5), (-12.3, 2.4), (-12.8, -1.5), "T05"],
     [("start", 128.0), ("end", 215.0)], True),
    ("S318省道", "provincial", ["T06", (-6.5, 4.8), (-3.6, 3.4), (-1.0, 3.3), (3.5, 5.0), "T08"],
     [("end", 40.0)], False),
    ("S331省道", "provincial", ["T05", (-9.0, -6.5), "T11", (2.0, -8.0), "T10"], [("end", 330.0)],
     False),
    ("S332省道", "provincial", [(-0.2, -1.9), (3.0, -4.5), "T10"], [], False),
]


def trunk_roads(frame: Frame, rng: np.random.Generator) -> list[RoadLine]:
    """National and provincial roads through the seat and the towns, leaving the county 1.5-2.5 km."""
    roads = []
    for name, cls, waypoints, exits, bridge in TRUNK_ROUTES:
        pts = [frame.towns[w] if isinstance(w, str) else _xy(w) for w in waypoints]
        line = _meander(pts, rng)
        coords = list(line.coords)
        for end, angle in exits:
            p = pts[0] if end == "start" else pts[-1]
            b, o = _exit_points(frame, p, angle, float(rng.uniform(1500, 2500)))
            leg = list(_meander([p, b], rng, amp_m=0.0).coords) + [o]
            if end == "start":
                coords = leg[::-1][:-1] + coords
            else:
                coords = coords[:-1] + leg
        roads.append(RoadLine(LineString(coords), cls, name, bridge_ok=bridge, may_exit=True))
    return roads


def exit_roads(frame: Frame, villages: np.ndarray, trunk: list[RoadLine],
               rng: np.random.Generator, *, wanted: int = 22) -> list[RoadLine]:
    """County and village roads that leave the county: from a village to the border and 1-3 km on.

    Exit points are at least 2.2 km apart along the border (and from the trunk exits) and away
    from the river; each road crosses the border exactly once.
    """
    ring = frame.area.exterior
    taken = []
    for r in trunk:
        taken.extend(shapely.get_parts(r.geom.intersection(ring)))
    taken = [np.array(p.coords[0]) for p in taken if not p.is_empty and p.geom_type == "Point"]
    positions = np.arange(0.0, ring.length, 250.0)
    positions = positions[rng.permutation(positions.size)]
    vtree = cKDTree(villages)
    avoid = shapely.union_all([frame.cut.buffer(800.0), frame.old_town.buffer(300.0),
                               frame.new_town.buffer(300.0)])
    roads = []
    k = 0
    for s in positions:
        if len(roads) >= wanted:
            break
        b = np.array(ring.interpolate(s).coords[0])
        if any(np.hypot(*(b - t)) < 2200.0 for t in taken):
            continue
        t1 = np.array(ring.interpolate((s + 150.0) % ring.length).coords[0])
        t0 = np.array(ring.interpolate((s - 150.0) % ring.length).coords[0])
        tangent = (t1 - t0) / np.hypot(*(t1 - t0))
        normal = np.array([tangent[1], -tangent[0]])
        if frame.area.contains(Point(b + 30.0 * normal)):
            normal = -normal
        inner_pt = b - 300.0 * normal
        dist, vi = vtree.query(inner_pt)
        if dist > 3000.0:
            continue
        v = villages[vi]
        o = b + float(rng.uniform(1000.0, 3000.0)) * normal
        line = LineString([tuple(v), tuple(inner_pt), tuple(b), tuple(o)])
        head = LineString([tuple(v), tuple(inner_pt)])
        if (not frame.inner.contains(head) or line.intersects(avoid)
                or len(shapely.get_parts(line.intersection(ring))) != 1):
            continue
        village_road = rng.random() < 0.25
        k += 1
        roads.append(RoadLine(line, "village" if village_road else "rural",
                              None if village_road else f"Y{k:03d}乡道", may_exit=True))
        taken.append(b)
    return roads


def expressway(frame: Frame, rng: np.random.Generator) -> LineString:
    """The expressway: a gentle curve SW to NE, 4 km south of the seat, 3 km beyond the county."""
    a = np.radians(25.0 + rng.uniform(-2, 2))
    d = np.array([np.cos(a), np.sin(a)])
    base = np.array(_xy((-2.0, -3.6)))
    s = np.arange(-26000.0, 26001.0, 500.0)
    bend = 350.0 * np.sin(s / 26000.0 * np.pi)
    pts = base + np.outer(s, d) + np.outer(bend, [-d[1], d[0]])
    line = LineString(pts)
    inside = line.intersection(frame.area)
    parts = shapely.get_parts(inside)
    first = min(line.project(Point(p)) for g in parts for p in g.boundary.geoms)
    last = max(line.project(Point(p)) for g in parts for p in g.boundary.geoms)
    return ops.substring(line, first - 3000.0, last + 3000.0)


def _node_lines(roads: list[RoadLine], frame: Frame) -> gpd.GeoDataFrame:
    """Clip, cut at the river and split bridges; then node every surface road at its crossings.

    Returns one row per noded segment with the attributes of the road it came from.
    """
    geoms, attrs = [], []
    for r in roads:
        g = r.geom if r.may_exit else r.geom.intersection(frame.inner)
        pieces = [(g.difference(frame.cut), False)]
        if r.bridge_ok:
            pieces.append((g.intersection(frame.cut), True))
        for piece, bridge in pieces:
            for part in shapely.get_parts(shapely.line_merge(piece) if piece.geom_type == "MultiLineString" else piece):
                if part.geom_type == "LineString" and part.length > 0.5:
                    geoms.append(part)
                    attrs.append((r.road_class, r.name, r.oneway, bridge))
    parts = np.array(geoms, dtype=object)
    noded = shapely.get_parts(shapely.union_all(parts, grid_size=0.01))
    noded = noded[shapely.get_type_id(noded) == 1]
    noded = noded[shapely.length(noded) > 0.05]
    mids = shapely.line_interpolate_point(noded, 0.5, normalized=True)
    tree = shapely.STRtree(parts)
    near = tree.query_nearest(mids, all_matches=False)
    src = np.empty(len(noded), dtype=np.int64)
    src[near[0]] = near[1]
    cls, name, oneway, bridge = (np.array(v, dtype=object) for v in zip(*[attrs[i] for i in src]))
    # orient one-way segments along their road
    ow = np.flatnonzero(oneway.astype(bool))
    if ow.size:
        s0 = shapely.line_locate_point(parts[src[ow]], shapely.get_point(noded[ow], 0))
        s1 = shapely.line_locate_point(parts[src[ow]], shapely.get_point(noded[ow], -1))
        flip = ow[s1 < s0]
        noded[flip] = shapely.reverse(noded[flip])
    return gpd.GeoDataFrame({"road_class": cls, "name": name, "oneway": oneway.astype(bool),
                             "bridge": bridge.astype(bool)}, geometry=noded, crs=WORKING_CRS)


def _edges_table(segs: gpd.GeoDataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Node coordinates and edges (u, v by coordinates) of a set of segments."""
    geoms = np.asarray(segs.geometry.values)
    a = np.round(shapely.get_coordinates(shapely.get_point(geoms, 0)), 2)
    b = np.round(shapely.get_coordinates(shapely.get_point(geoms, -1)), 2)
    nodes, inv = np.unique(np.vstack([a, b]), axis=0, return_inverse=True)
    inv = inv.ravel()
    df = pd.DataFrame({"u": inv[: len(a)], "v": inv[len(a):]})
    for col in ("road_class", "name", "oneway", "bridge", "speed_kmh"):
        df[col] = segs[col].to_numpy()
    df["geometry"] = geoms
    return nodes, df


def road_network(frame: Frame, villages: np.ndarray, village_pop: np.ndarray,
                 rng: np.random.Generator) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, dict]:
    """The road network: ``road_nodes`` (node_id) and ``road_edges`` (u, v, length_m, speed_kmh,
    travel_s, oneway, road_class, name, bridge), plus facts for the README.

    Surface roads are noded at every crossing; the expressway is grade-separated (it meets other
    roads only at its three interchanges' ramps). Two-way edges are stored once (``oneway``
    False: both directions); one-way edges run from u to v. Short dead-end stubs (< 60 m)
    left by clipping are pruned and the network is reduced to one strongly connected piece.
    """
    trunk = trunk_roads(frame, rng)
    rural, info = rural_roads(frame, villages, rng)
    roads = (seat_streets(frame, rng) + town_streets(frame, rng) + trunk + rural
             + village_lanes(villages, village_pop, rng) + exit_roads(frame, villages, trunk, rng))
    segs = _node_lines(roads, frame)
    segs["speed_kmh"] = segs["road_class"].map(SPEEDS_KMH).astype(float)

    # expressway: its own segments (about 500 m), a bridge over the river, and three interchanges
    xw = expressway(frame, rng)
    xw_pieces = [(p, False) for p in shapely.get_parts(xw.difference(frame.cut))] + \
                [(p, True) for p in shapely.get_parts(xw.intersection(frame.cut))]
    xw_rows = []
    for piece, bridge in xw_pieces:
        c = list(piece.coords)
        for k in range(len(c) - 1):
            xw_rows.append((LineString([c[k], c[k + 1]]), bridge))
    xw_segs = gpd.GeoDataFrame({"road_class": "expressway", "name": "示范高速", "oneway": False,
                                "bridge": [b for _, b in xw_rows], "speed_kmh": SPEEDS_KMH["expressway"]},
                               geometry=[g for g, _ in xw_rows], crs=WORKING_CRS)
    main = segs[segs["road_class"].isin(["national", "provincial", "arterial"])]
    main_pts = shapely.get_coordinates(np.concatenate([shapely.get_point(main.geometry.values, 0),
                                                        shapely.get_point(main.geometry.values, -1)]))
    ramps = []
    xw_vertices = np.array(xw.coords)
    usable = np.array([frame.cut.distance(Point(v)) > 300.0 for v in xw_vertices])
    vtree = cKDTree(xw_vertices[usable])
    for label, km in (("河西互通", (-12.0, -8.3)), ("县城互通", (-0.6, -2.9)), ("双庙互通", (13.0, 3.4))):
        # the trunk-road node within 6 km of the planned spot that is closest to the expressway
        target = np.array(_xy(km))
        near = np.flatnonzero(np.hypot(*(main_pts - target).T) < 6000.0)
        dist, iv = vtree.query(main_pts[near])
        for k in np.lexsort((np.hypot(*(main_pts[near] - target).T), np.round(dist, 1))):
            ramp = LineString([tuple(xw_vertices[usable][iv[k]]), tuple(main_pts[near[k]])])
            if ramp.length > 80.0 and not ramp.intersects(frame.cut) and frame.area.contains(ramp):
                ramps.append((ramp, f"示范高速{label}匝道"))
                break
    ramp_segs = gpd.GeoDataFrame({"road_class": "expressway", "name": [n for _, n in ramps],
                                  "oneway": False, "bridge": False, "speed_kmh": RAMP_SPEED_KMH},
                                 geometry=[g for g, _ in ramps], crs=WORKING_CRS)
    allsegs = pd.concat([segs, xw_segs, ramp_segs], ignore_index=True)
    nodes, edges = _edges_table(allsegs)
    edges = edges[edges["u"] != edges["v"]]
    key = np.sort(edges[["u", "v"]].to_numpy(), axis=1)
    edges = edges[~pd.DataFrame(key).duplicated().to_numpy()]
    node_inside = shapely.contains_xy(frame.area, nodes[:, 0], nodes[:, 1])
    for _ in range(3):  # prune short dead-end stubs left by clipping
        deg = np.bincount(np.r_[edges["u"], edges["v"]], minlength=len(nodes))
        length = shapely.length(edges["geometry"].to_numpy())
        dead_u = (deg[edges["u"]] == 1) & node_inside[edges["u"]]
        dead_v = (deg[edges["v"]] == 1) & node_inside[edges["v"]]
        drop = (dead_u | dead_v) & (length < 60.0) & ~edges["bridge"].to_numpy()
        edges = edges[~drop]
    # one strongly connected network: one-way stubs become two-way, islands are dropped
    for _ in range(6):
        g = nx.DiGraph()
        g.add_edges_from(zip(edges["u"], edges["v"]))
        two = ~edges["oneway"].to_numpy()
        g.add_edges_from(zip(edges["v"].to_numpy()[two], edges["u"].to_numpy()[two]))
        comps = sorted(nx.strongly_connected_components(g), key=lambda c: (-len(c), min(c)))
        if len(comps) == 1:
            break
        big = comps[0]
        weak = max(nx.weakly_connected_components(g), key=len)
        big, weak = sorted(big), sorted(weak)
        in_big = edges["u"].isin(big).to_numpy() & edges["v"].isin(big).to_numpy()
        in_weak = edges["u"].isin(weak).to_numpy()
        fix = ~in_big & in_weak & edges["oneway"].to_numpy()
        if fix.any():
            edges.loc[fix, "oneway"] = False
            continue
        edges = edges[in_big]
    used = np.unique(np.r_[edges["u"], edges["v"]])
    remap = np.full(len(nodes), -1)
    remap[used] = np.arange(used.size)
    nodes = nodes[used]
    edges = edges.assign(u=remap[edges["u"].to_numpy()], v=remap[edges["v"].to_numpy()])
    edges = edges.sort_values(["u", "v"], kind="stable").reset_index(drop=True)
    length = shapely.length(edges["geometry"].to_numpy())
    road_edges = gpd.GeoDataFrame({
        "edge_id": np.arange(len(edges), dtype=np.int64),
        "u": edges["u"].to_numpy(np.int64), "v": edges["v"].to_numpy(np.int64),
        "length_m": np.round(length, 2),
        "speed_kmh": edges["speed_kmh"].to_numpy(float),
        "travel_s": np.round(length / (edges["speed_kmh"].to_numpy(float) / 3.6), 2),
        "oneway": edges["oneway"].to_numpy(bool),
        "road_class": edges["road_class"].astype(str).to_numpy(),
        "name": edges["name"].to_numpy(object),
        "bridge": edges["bridge"].to_numpy(bool),
    }, geometry=edges["geometry"].to_numpy(), crs=WORKING_CRS)
    road_nodes = gpd.GeoDataFrame({"node_id": np.arange(len(nodes), dtype=np.int64)},
                                  geometry=shapely.points(nodes), crs=WORKING_CRS)
    info["ramps"] = [n for _, n in ramps]
    return road_nodes, road_edges, info


def _split_edge(nodes: gpd.GeoDataFrame, edges: gpd.GeoDataFrame, i: int, at_m: float
                ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, int]:
    """Split edge row ``i`` at ``at_m`` metres from u; returns the new tables and the new node id."""
    row = edges.iloc[i]
    g = row.geometry
    w = int(nodes["node_id"].max()) + 1
    p = g.interpolate(at_m)
    p = Point(round(p.x, 2), round(p.y, 2))
    first = LineString(list(ops.substring(g, 0.0, at_m).coords[:-1]) + [p.coords[0]])
    second = LineString([p.coords[0]] + list(ops.substring(g, at_m, g.length).coords[1:]))
    rows = []
    for geom, u, v in ((first, row.u, w), (second, w, row.v)):
        rows.append({**row.drop(labels="geometry").to_dict(), "u": u, "v": v,
                     "length_m": round(geom.length, 2),
                     "travel_s": round(geom.length / (row.speed_kmh / 3.6), 2), "geometry": geom})
    new = gpd.GeoDataFrame(rows, geometry="geometry", crs=edges.crs)
    edges = pd.concat([edges.drop(index=edges.index[i]), new], ignore_index=True)
    nodes = pd.concat([nodes, gpd.GeoDataFrame({"node_id": [w]}, geometry=[p], crs=nodes.crs)],
                      ignore_index=True)
    return nodes, edges, w


def boundary_crossings(edges: gpd.GeoDataFrame, area: Polygon) -> pd.DataFrame:
    """Every place a road edge crosses the county border: edge row, point, road class."""
    ring = area.exterior
    geoms = np.asarray(edges.geometry.values)
    idx = shapely.STRtree(geoms).query(ring, predicate="intersects")
    rows = []
    for i in np.sort(idx):
        for p in shapely.get_parts(shapely.intersection(geoms[i], ring)):
            if p.geom_type == "Point":
                rows.append((int(i), p, edges["road_class"].iloc[i]))
    return pd.DataFrame(rows, columns=["edge", "point", "road_class"])


def checkpoints_on_exits(nodes: gpd.GeoDataFrame, edges: gpd.GeoDataFrame, frame: Frame,
                         townships: gpd.GeoDataFrame, rng: np.random.Generator, *,
                         unguarded: int = 6) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame,
                                                      gpd.GeoDataFrame, pd.DataFrame]:
    """Outer-ring checkpoints 20-45 m inside the border on every trunk exit and most rural ones.

    ``unguarded`` rural/village exits are left without one. The exit edge is split where the
    checkpoint stands, so each checkpoint is a road node (``node_id``).
    """
    cross = boundary_crossings(edges, frame.area)
    minor = np.flatnonzero(cross["road_class"].isin(["rural", "village"]).to_numpy())
    open_ = set(rng.choice(minor, size=min(unguarded, minor.size), replace=False).tolist())
    cross["guarded"] = [i not in open_ for i in range(len(cross))]
    rows = []
    # split from the last edge row backwards so earlier row positions stay valid
    order = sorted(np.flatnonzero(cross["guarded"].to_numpy()), key=lambda k: -cross["edge"].iloc[k])
    names_seen: dict = {}
    split_done: set = set()
    for k in order:
        i = int(cross["edge"].iloc[k])
        if i in split_done:  # an edge crossing twice gets one checkpoint
            continue
        split_done.add(i)
        g = edges.geometry.iloc[i]
        s = g.project(cross["point"].iloc[k])
        u_inside = frame.area.contains(Point(g.coords[0]))
        d = float(rng.uniform(20.0, 45.0))
        at = s - d if u_inside else s + d
        at = float(np.clip(at, 1.0, g.length - 1.0))
        nodes, edges, w = _split_edge(nodes, edges, i, at)
        p = nodes.geometry.iloc[-1]
        cls = cross["road_class"].iloc[k]
        road = edges["name"].iloc[-1]
        road = road if isinstance(road, str) and road else None
        tname = townships.loc[townships.geometry.distance(p).idxmin(), "name"]
        base = f"{tname}{road or CLASS_ZH[cls]}"
        kind = "公安检查站" if cls in ("expressway", "national") else "治安卡口"
        names_seen[base] = names_seen.get(base, 0) + 1
        rows.append({"node_id": w, "road_class": cls, "kind": kind, "base": base, "geometry": p,
                     "crossing_m": float(p.distance(cross["point"].iloc[k]))})
    cp = gpd.GeoDataFrame(rows, geometry="geometry", crs=WORKING_CRS)
    cp = cp.sort_values("node_id").reset_index(drop=True)
    count: dict = {}
    names = []
    for base, kind in zip(cp["base"], cp["kind"]):
        count[base] = count.get(base, 0) + 1
        suffix = f"{count[base]}号" if names_seen[base] > 1 else ""
        names.append(f"{base}{suffix}{'检查站' if kind == '公安检查站' else '卡口'}")
    cp = gpd.GeoDataFrame({"checkpoint_id": [f"C{i + 1:02d}" for i in range(len(cp))], "name": names,
                           "ring": "outer", "kind": cp["kind"], "road_class": cp["road_class"],
                           "node_id": cp["node_id"].astype(np.int64)},
                          geometry=cp.geometry.values, crs=WORKING_CRS)
    edges = edges.sort_values(["u", "v"], kind="stable").reset_index(drop=True)
    edges["edge_id"] = np.arange(len(edges), dtype=np.int64)
    nodes = nodes.reset_index(drop=True)
    return cp, nodes, edges, boundary_crossings(edges, frame.area).assign(
        guarded=lambda t: [bool(cp.geometry.distance(p).min() < 60.0) for p in t["point"]])


# --- points: stations, posts, incidents ----------------------------------------------------------

def stations_in_jurisdictions(jur: gpd.GeoDataFrame, nodes: gpd.GeoDataFrame, frame: Frame,
                              towns: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Each station on a road node at least 150 m inside its own jurisdiction, near its target
    (the town centre, or the middle of its part of the seat); officers and auxiliary staff."""
    xy = shapely.get_coordinates(nodes.geometry.values)
    rows = []
    for sid, name, target, (lo, hi) in STATIONS:
        poly = jur.loc[jur["station_id"] == sid].geometry.iloc[0]
        if target in frame.towns:
            t = np.array(frame.towns[target])
        elif target in frame.seeds:
            t = np.array(frame.seeds[target])
        else:
            c = poly.centroid
            t = np.array([c.x, c.y])
        inner = poly.buffer(-150.0)
        ok = shapely.contains_xy(inner, xy[:, 0], xy[:, 1])
        cand = np.flatnonzero(ok)
        j = cand[np.argmin(np.hypot(*(xy[cand] - t).T))]
        officers = int(rng.integers(lo, hi + 1))
        rows.append({"station_id": sid, "name": name, "officers": officers,
                     "auxiliaries": int(round(officers * rng.uniform(1.4, 2.2))),
                     "node_id": int(nodes["node_id"].iloc[j]), "geometry": Point(xy[j])})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=WORKING_CRS)


def street_posts(nodes: gpd.GeoDataFrame, edges: gpd.GeoDataFrame, frame: Frame,
                 rng: np.random.Generator) -> gpd.GeoDataFrame:
    """12 posts in the seat (9 old town, 3 new district) at spread-out arterial junctions;
    the first two of each part are 交巡警平台, the rest 街面警务站; turnout 0.5-1.0 min; opening
    ``hours`` 7x24, except every other 街面警务站 day only (08:00-20:00)."""
    main = edges[edges["road_class"].isin(["arterial", "national"])]
    deg = np.bincount(np.r_[main["u"], main["v"]], minlength=len(nodes))
    xy = shapely.get_coordinates(nodes.geometry.values)
    rows = []
    for part, n in ((frame.old_town, 9), (frame.new_town, 3)):
        inner = part.buffer(-100.0)
        cand = np.flatnonzero((deg >= 3) & shapely.contains_xy(inner, xy[:, 0], xy[:, 1]))
        c = part.centroid
        chosen = [int(cand[np.argmin(np.hypot(xy[cand, 0] - c.x, xy[cand, 1] - c.y))])]
        while len(chosen) < n:
            cx, cy = xy[cand, 0][:, None], xy[cand, 1][:, None]
            d = np.min(np.hypot(cx - xy[chosen, 0][None, :], cy - xy[chosen, 1][None, :]), axis=1)
            d = d * rng.uniform(0.9, 1.0, d.size)
            chosen.append(int(cand[np.argmax(d)]))
        for k, j in enumerate(chosen):
            rows.append((j, "交巡警平台" if k < 2 else "街面警务站"))
    named = edges[edges["name"].notna() & edges["road_class"].isin(["arterial", "national", "street"])]
    ntree = shapely.STRtree(np.asarray(named.geometry.values))
    out, seen = [], {}
    for k, (j, kind) in enumerate(rows):
        p = Point(xy[j])
        road = named["name"].iloc[int(ntree.nearest(p))]
        seen[road] = seen.get(road, 0) + 1
        label = road if seen[road] == 1 else f"{road}{seen[road]}号"
        turnout = 0.5 if kind == "交巡警平台" else float(rng.choice([0.5, 0.6, 0.7, 0.8, 0.9, 1.0]))
        # opening hours (no randomness): platforms 7x24, every other street post day only
        hours = "7x24" if kind == "交巡警平台" or k % 2 else "08:00-20:00"
        out.append({"post_id": f"P{k + 1:02d}", "name": f"{label}{kind}", "kind": kind,
                    "turnout_min": turnout, "hours": hours, "node_id": int(nodes["node_id"].iloc[j]),
                    "geometry": p})
    return gpd.GeoDataFrame(out, geometry="geometry", crs=WORKING_CRS)


def _points_inside(frame: Frame, draw, n: int, rng: np.random.Generator) -> np.ndarray:
    """Call ``draw(k) -> (k, 2)`` until ``n`` points inside the county (not in the river)."""
    out = np.empty((0, 2))
    while len(out) < n:
        p = draw(n - len(out))
        ok = shapely.contains_xy(frame.area, p[:, 0], p[:, 1]) & ~shapely.contains_xy(frame.river, p[:, 0], p[:, 1])
        out = np.vstack([out, p[ok]])
    return out[:n]


def incidents_for_year(frame: Frame, raster: DensityRaster, edges: gpd.GeoDataFrame,
                       hotspots: dict, rng: np.random.Generator, *, total: int = 30_000
                       ) -> gpd.GeoDataFrame:
    """A year (2025) of incidents: where from hotspots, roads and population; when from each
    category's hour, weekday and month profile; local time (UTC+8) as ISO 8601 without offset."""
    cats = list(CATEGORIES)
    counts = rng.multinomial(total, np.array([CATEGORIES[c][1] for c in cats]) / sum(CATEGORIES[c][1] for c in cats))
    pop_p = raster.people / raster.people.sum()
    road_w = {"expressway": 6.0, "national": 10.0, "provincial": 7.0, "arterial": 6.0, "street": 1.5,
              "rural": 0.5, "village": 0.1}
    in_county = shapely.contains_xy(frame.area, *shapely.get_coordinates(
        shapely.line_interpolate_point(edges.geometry.values, 0.5, normalized=True)).T)
    ew = edges["length_m"].to_numpy() * edges["road_class"].map(road_w).to_numpy() * in_county
    ew = ew / ew.sum()
    egeoms = np.asarray(edges.geometry.values)
    days = pd.date_range("2025-01-01", "2025-12-31", freq="D")
    frames = []
    for cat, n in zip(cats, counts):
        shares = dict(HOTSPOT_SHARE.get(cat, {}))
        road = ROAD_SHARE.get(cat, 0.0)
        kinds = list(shares) + ["road", "population"]
        p = np.array(list(shares.values()) + [road, 1.0 - sum(shares.values()) - road])
        source = rng.choice(len(kinds), size=n, p=p)
        xy = np.empty((n, 2))
        for k, kind in enumerate(kinds):
            idx = np.flatnonzero(source == k)
            if not idx.size:
                continue
            if kind == "population":
                def draw(m):
                    j = rng.choice(raster.people.size, size=m, p=pop_p)
                    return np.column_stack([raster.x[j], raster.y[j]]) + rng.uniform(-50, 50, (m, 2))
            elif kind == "road":
                def draw(m):
                    j = rng.choice(len(egeoms), size=m, p=ew)
                    pts = shapely.line_interpolate_point(egeoms[j], rng.random(m), normalized=True)
                    return shapely.get_coordinates(pts) + rng.normal(0.0, 6.0, (m, 2))
            else:
                spots = [h for h, (knd, _c, _s) in HOTSPOTS.items() if knd == kind]

                def draw(m, spots=spots):
                    j = rng.integers(len(spots), size=m)
                    centre = np.array([hotspots[spots[i]] for i in j])
                    sigma = np.array([HOTSPOTS[spots[i]][2] for i in j])
                    return centre + rng.normal(0.0, 1.0, (m, 2)) * sigma[:, None]
            xy[idx] = _points_inside(frame, draw, idx.size, rng)
        wd = np.array(WEEKDAY_PROFILE[cat])[days.day_of_week] * np.array(MONTH_PROFILE[cat])[days.month - 1]
        day = days[rng.choice(len(days), size=n, p=wd / wd.sum())]
        hour = rng.choice(24, size=n, p=np.array(HOUR_PROFILE[cat]) / sum(HOUR_PROFILE[cat]))
        secs = hour * 3600 + rng.integers(0, 3600, n)
        when = day + pd.to_timedelta(secs, unit="s")
        frames.append(pd.DataFrame({"time": when, "category": cat, "category_zh": CATEGORIES[cat][0],
                                    "priority": 1 + rng.choice(3, size=n, p=PRIORITY_P[cat]),
                                    "x": np.round(xy[:, 0], 1), "y": np.round(xy[:, 1], 1)}))
    df = pd.concat(frames, ignore_index=True).sort_values(["time", "x", "y"], kind="stable")
    df = df.reset_index(drop=True)
    return gpd.GeoDataFrame({
        "incident_id": [f"I{i + 1:06d}" for i in range(len(df))],
        "time": df["time"].dt.strftime("%Y-%m-%dT%H:%M:%S").to_numpy(),
        "category": df["category"].to_numpy(), "category_zh": df["category_zh"].to_numpy(),
        "priority": df["priority"].to_numpy(np.int64),
    }, geometry=shapely.points(df["x"].to_numpy(), df["y"].to_numpy()), crs=WORKING_CRS)


# --- communities, governance grids and police districts from the same atoms ---------------------

def atom_population(atoms: np.ndarray, raster: DensityRaster, t_labels: np.ndarray,
                    townships: gpd.GeoDataFrame) -> np.ndarray:
    """Whole people per atom: the raster's people in it, scaled per township to the township's
    population and rounded by the largest remainder (so atoms add up to their township)."""
    pts = shapely.points(raster.x, raster.y)
    ip, ia = shapely.STRtree(atoms).query(pts, predicate="intersects")
    order = np.lexsort((ia, ip))
    ip, ia = ip[order], ia[order]
    first = np.r_[True, ip[1:] != ip[:-1]]
    raw = np.bincount(ia[first], weights=raster.people[ip[first]], minlength=len(atoms))
    out = np.zeros(len(atoms), dtype=np.int64)
    for tid, pop in zip(townships["township_id"], townships["population"]):
        idx = np.flatnonzero(t_labels == tid)
        out[idx] = _largest_remainder(raw[idx] * (int(pop) / raw[idx].sum()), int(pop))
    return out


def _weighted_kmeans(xy: np.ndarray, w: np.ndarray, k: int, rng: np.random.Generator,
                     *, iters: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's k-means of points ``xy`` with weights ``w`` (centres drawn in proportion to
    ``w``); the label of each point and the centres."""
    k = max(1, min(k, len(xy)))
    centres = xy[rng.choice(len(xy), size=k, replace=False, p=w / w.sum())]
    for _ in range(iters):
        labels = np.argmin(((xy[:, None, :] - centres[None, :, :]) ** 2).sum(-1), axis=1)
        new = centres.copy()
        for j in range(k):
            m = labels == j
            if m.any():
                new[j] = (xy[m] * w[m, None]).sum(0) / w[m].sum()
        if np.allclose(new, centres):
            break
        centres = new
    labels = np.argmin(((xy[:, None, :] - centres[None, :, :]) ** 2).sum(-1), axis=1)
    return labels, centres


def _groups(xy: np.ndarray, w: np.ndarray, adj: list[list[int]], k: int,
            rng: np.random.Generator) -> np.ndarray:
    """Split connected units (points ``xy``, weights ``w``, adjacency ``adj``) into about ``k``
    contiguous groups by weighted k-means; labels 0..m-1 numbered from the north-west."""
    labels, centres = _weighted_kmeans(xy, w, k, rng)
    anchors = {}
    for j in np.unique(labels):
        idx = np.flatnonzero(labels == j)
        anchors[int(j)] = int(idx[np.argmin(((xy[idx] - centres[j]) ** 2).sum(1))])
    labels = _make_contiguous(labels, adj, anchors)
    uniq = np.unique(labels)
    cx = np.array([np.average(xy[labels == u, 0], weights=w[labels == u]) for u in uniq])
    cy = np.array([np.average(xy[labels == u, 1], weights=w[labels == u]) for u in uniq])
    order = np.lexsort((cx, -np.round(cy / 1000.0)))  # 1 km bands north to south, west to east
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[order] = np.arange(len(uniq))
    return rank[np.searchsorted(uniq, labels)]


def _local_adjacency(members: np.ndarray, adj: list[list[int]]) -> list[list[int]]:
    """``adj`` restricted to ``members`` (atom numbers), in positions into ``members``."""
    local = {int(a): i for i, a in enumerate(members)}
    return [[local[j] for j in adj[a] if j in local] for a in members]


def _components(members: np.ndarray, adj: list[list[int]], same: np.ndarray | None = None) -> np.ndarray:
    """Connected component (0..) of each of ``members`` (atom numbers) in ``adj`` restricted to
    them; with ``same`` (a label per atom), only atoms with the same label are connected."""
    rows, cols = [], []
    for i, nbrs in enumerate(_local_adjacency(members, adj)):
        for j in nbrs:
            if same is None or same[members[i]] == same[members[j]]:
                rows.append(i)
                cols.append(j)
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(members), len(members)))
    return connected_components(graph, directed=False)[1]


def _town_centre(members: np.ndarray, adj: list[list[int]], xy: np.ndarray,
                 centre: tuple[float, float]) -> np.ndarray:
    """Which of a township's atoms ``members`` form its town centre: those within
    ``TOWN_CENTRE_M`` of ``centre``, made one piece with the rest one piece too (stray pieces of
    the centre go to the rest, stray pieces of the rest to the centre)."""
    d = np.hypot(xy[members, 0] - centre[0], xy[members, 1] - centre[1])
    zone = d <= TOWN_CENTRE_M
    zone[np.argmin(d)] = True
    comp = _components(members[zone], adj)
    keep = comp == comp[np.argmin(d[zone])]
    zone[np.flatnonzero(zone)[~keep]] = False
    comp = _components(members[~zone], adj)
    largest = np.argmax(np.bincount(comp))
    zone[np.flatnonzero(~zone)[comp != largest]] = True
    return zone


def _cn(n: int) -> str:
    """1..99 in Chinese numerals (一, 十二, 二十三)."""
    digits = "零一二三四五六七八九"
    tens, ones = divmod(n, 10)
    if tens == 0:
        return digits[ones]
    return (digits[tens] if tens > 1 else "") + "十" + (digits[ones] if ones else "")


def _polygonal(geom, min_m2: float = 1000.0):
    """The polygon parts of ``geom`` of at least ``min_m2`` (slivers a strip cut off dropped)."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and p.area >= min_m2]
    return parts[0] if len(parts) == 1 else shapely.union_all(parts)


def community_labels(atoms: np.ndarray, adj: list[list[int]], t_labels: np.ndarray,
                     townships: gpd.GeoDataFrame, atom_pop: np.ndarray, frame: Frame,
                     rng: np.random.Generator) -> tuple[np.ndarray, pd.DataFrame]:
    """Communities (社区/村) as contiguous groups of atoms inside each township: the seat's 街道
    are all 社区 (``SEAT_COMMUNITY_PEOPLE`` people each), a town's centre (``TOWN_CENTRE_M``) is a
    few small 社区 (``TOWN_COMMUNITY_PEOPLE``), the rest rural 村 (``VILLAGE_PEOPLE``, larger in
    area). Returns the community of each atom and a table (community_id ``T01-01``…, numbered
    from the north-west, centre first; township_id, kind, population, area_m2, name)."""
    xy = shapely.get_coordinates(shapely.point_on_surface(atoms))
    area = shapely.area(atoms)
    w = atom_pop + DENSITY_FLOOR * area / 1e6
    comm_of = np.full(len(atoms), -1, dtype=np.int64)
    rows = []
    for tid, kind in zip(townships["township_id"], townships["kind"]):
        members = np.flatnonzero(t_labels == tid)
        if kind == "街道":
            zones = [(members, "社区", SEAT_COMMUNITY_PEOPLE)]
        else:
            centre = _town_centre(members, adj, xy, frame.towns[tid])
            zones = [(members[centre], "社区", TOWN_COMMUNITY_PEOPLE),
                     (members[~centre], "村", VILLAGE_PEOPLE)]
        n = 0
        for zone, zone_kind, people in zones:
            k = max(1, round(int(atom_pop[zone].sum()) / people))
            labels = _groups(xy[zone], w[zone], _local_adjacency(zone, adj), k, rng)
            for j in range(int(labels.max()) + 1):
                idx = zone[labels == j]
                comm_of[idx] = len(rows)
                n += 1
                rows.append({"community_id": f"{tid}-{n:02d}", "township_id": tid,
                             "kind": zone_kind, "population": int(atom_pop[idx].sum()),
                             "area_m2": float(area[idx].sum())})
    table = pd.DataFrame(rows)
    urban = np.flatnonzero(table["kind"].to_numpy() == "社区")
    rural = np.flatnonzero(table["kind"].to_numpy() == "村")
    if len(urban) > len(URBAN_NAMES):
        raise RuntimeError(f"{len(urban)} urban communities but only {len(URBAN_NAMES)} names")
    villages = [s + p for p in PLACE_WORDS for s in SURNAMES]
    names = np.empty(len(table), dtype=object)
    names[urban] = [URBAN_NAMES[i] + "社区" for i in rng.permutation(len(URBAN_NAMES))[:len(urban)]]
    names[rural] = [villages[i] + "村" for i in rng.permutation(len(villages))[:len(rural)]]
    return comm_of, table.assign(name=names)


def grid_labels(atoms: np.ndarray, adj: list[list[int]], comm_of: np.ndarray,
                communities: pd.DataFrame, atom_pop: np.ndarray,
                rng: np.random.Generator) -> tuple[np.ndarray, pd.DataFrame]:
    """Governance grids (综治网格): contiguous groups of atoms inside each community, about
    ``GRID_PEOPLE`` people each (at least one a community). Returns the grid of each atom and a
    table (grid_id ``T01-01-01``, community_id, township_id, name, population)."""
    xy = shapely.get_coordinates(shapely.point_on_surface(atoms))
    w = atom_pop + DENSITY_FLOOR * shapely.area(atoms) / 1e6
    grid_of = np.full(len(atoms), -1, dtype=np.int64)
    rows = []
    for c, row in enumerate(communities.itertuples()):
        members = np.flatnonzero(comm_of == c)
        k = max(1, min(len(members), round(row.population / GRID_PEOPLE)))
        labels = _groups(xy[members], w[members], _local_adjacency(members, adj), k, rng)
        for j in range(int(labels.max()) + 1):
            idx = members[labels == j]
            grid_of[idx] = len(rows)
            rows.append({"grid_id": f"{row.community_id}-{j + 1:02d}", "community_id": row.community_id,
                         "township_id": row.township_id, "name": f"{row.name}第{j + 1}网格",
                         "population": int(atom_pop[idx].sum())})
    return grid_of, pd.DataFrame(rows)


def police_grid_labels(atoms: np.ndarray, adj: list[list[int]], s_labels: np.ndarray,
                       comm_of: np.ndarray, grid_of: np.ndarray, atom_pop: np.ndarray,
                       rng: np.random.Generator) -> tuple[np.ndarray, pd.DataFrame, list[str]]:
    """Police districts (警务区) inside each station's atoms, made of whole communities (the
    station's part of a community the station line cuts): contiguous groups of those parts, a
    few per station (people / ``PGRID_PEOPLE`` + km² / ``PGRID_KM2``, within ``PGRID_RANGE``).

    Then ``DELIBERATE_SPLITS`` communities, each inside one district, lose one border atom to the
    neighbouring district of the same station (an atom whose governance grid has other atoms, so
    that grid straddles two districts too). Returns the district of each atom, a table
    (pgrid_id ``S01-01``, station_id, name, population) and the communities cut on purpose.
    """
    xy = shapely.get_coordinates(shapely.point_on_surface(atoms))
    area = shapely.area(atoms)
    w = atom_pop + DENSITY_FLOOR * area / 1e6
    pg_of = np.full(len(atoms), -1, dtype=np.int64)
    rows = []
    for sid, name, _target, _officers in STATIONS:
        members = np.flatnonzero(s_labels == sid)
        # a part: one connected piece of a community inside the station
        _, part_of = np.unique(comm_of[members] * len(atoms) + _components(members, adj, comm_of),
                               return_inverse=True)
        parts = np.unique(part_of)
        pw = np.bincount(part_of, weights=w[members])
        pxy = np.column_stack([np.bincount(part_of, weights=w[members] * xy[members, 0]),
                               np.bincount(part_of, weights=w[members] * xy[members, 1])]) / pw[:, None]
        local = _local_adjacency(members, adj)
        padj = [set() for _ in parts]
        for i, nbrs in enumerate(local):
            for j in nbrs:
                if part_of[i] != part_of[j]:
                    padj[part_of[i]].add(int(part_of[j]))
        people, km2 = float(atom_pop[members].sum()), float(area[members].sum()) / 1e6
        k = int(np.clip(round(people / PGRID_PEOPLE + km2 / PGRID_KM2), *PGRID_RANGE))
        labels = _groups(pxy, pw, [sorted(s) for s in padj], k, rng)
        for j in range(int(labels.max()) + 1):
            pg_of[members[labels[part_of] == j]] = len(rows)
            rows.append({"pgrid_id": f"{sid}-{j + 1:02d}", "station_id": sid,
                         "name": f"{name}第{_cn(j + 1)}警务区"})
    table = pd.DataFrame(rows)
    # Deliberate mismatches: a border atom of a whole community moves to the next district.
    comm_area = np.bincount(comm_of, weights=area)
    cut: list[str] = []
    used_stations: set[str] = set()
    for c in rng.permutation(int(comm_of.max()) + 1):
        if len(cut) == DELIBERATE_SPLITS:
            break
        idx = np.flatnonzero(comm_of == c)
        if len(set(pg_of[idx])) != 1 or len(set(s_labels[idx])) != 1:
            continue
        sid, src = s_labels[idx[0]], pg_of[idx[0]]
        if sid in used_stations:
            continue
        for a in idx[rng.permutation(len(idx))]:
            dest = sorted({int(pg_of[j]) for j in adj[a] if s_labels[j] == sid and pg_of[j] != src})
            share = area[a] / comm_area[c]
            if not dest or not 0.05 <= share <= 0.4 or (grid_of == grid_of[a]).sum() < 2:
                continue
            trial = pg_of.copy()
            trial[a] = dest[0]
            rest = np.flatnonzero(trial == src)
            if _is_contiguous(trial, adj, src, int(rest[0])):
                pg_of = trial
                cut.append(int(c))
                used_stations.add(sid)
                break
    table["population"] = np.bincount(pg_of, weights=atom_pop, minlength=len(table)).astype(np.int64)
    return pg_of, table, cut


def community_layers(atoms: np.ndarray, adj: list[list[int]], t_labels: np.ndarray,
                     s_labels: np.ndarray, townships: gpd.GeoDataFrame,
                     jurisdictions: gpd.GeoDataFrame, raster: DensityRaster, frame: Frame,
                     rng: np.random.Generator) -> dict[str, gpd.GeoDataFrame]:
    """The layers ``communities``, ``gov_grids`` and ``police_grids`` (see the functions above).

    Communities and grids are unions of atoms, so they tile their townships exactly; a police
    district is the union of its atoms clipped to its station's jurisdiction (the jurisdictions'
    gap strip belongs to no district). Governance grids carry the police district and station
    covering most of each (``geo.overlay.label_by_largest_overlap``, as an import does).
    """
    atom_pop = atom_population(atoms, raster, t_labels, townships)
    comm_of, comm = community_labels(atoms, adj, t_labels, townships, atom_pop, frame, rng)
    grid_of, grids = grid_labels(atoms, adj, comm_of, comm, atom_pop, rng)
    pg_of, pgrids, cut = police_grid_labels(atoms, adj, s_labels, comm_of, grid_of, atom_pop, rng)
    jur = jurisdictions.set_index("station_id").geometry
    communities = gpd.GeoDataFrame(
        comm[["community_id", "township_id", "name", "kind", "population"]],
        geometry=[shapely.union_all(atoms[comm_of == c]) for c in range(len(comm))], crs=WORKING_CRS)
    police = gpd.GeoDataFrame(
        pgrids, geometry=[_polygonal(shapely.intersection(shapely.union_all(atoms[pg_of == p]),
                                                          jur.loc[sid]))
                          for p, sid in enumerate(pgrids["station_id"])], crs=WORKING_CRS)
    gov = gpd.GeoDataFrame(grids, geometry=[shapely.union_all(atoms[grid_of == g])
                                            for g in range(len(grids))], crs=WORKING_CRS)
    gov["pgrid_id"] = label_by_largest_overlap(gov, police, "pgrid_id").to_numpy()
    gov["station_id"] = label_by_largest_overlap(gov, jurisdictions, "station_id").to_numpy()
    log.info("communities: %d (%d 社区), %d gov grids, %d police districts, cut on purpose: %s",
             len(communities), (communities["kind"] == "社区").sum(), len(gov), len(police),
             ", ".join(comm["community_id"].iloc[cut]))
    return {"communities": communities, "gov_grids": gov, "police_grids": police}


def police_grid_staff(police: gpd.GeoDataFrame, communities: gpd.GeoDataFrame,
                      rng: np.random.Generator) -> gpd.GeoDataFrame:
    """``police`` with ``officers`` (民警) and ``auxiliaries`` (辅警) on strength, seeded so that
    some police districts fall short of the default norms (一区一警两辅, 一村一辅警): about one
    district in seven has no community officer, and the auxiliaries are the need (the larger of
    2 and the villages 村 the district holds most of) plus -2..+1."""
    pgrid_of = label_by_largest_overlap(communities, police, "pgrid_id")
    villages = pgrid_of[(communities["kind"] == "村").to_numpy()].value_counts()
    need = np.maximum(2, villages.reindex(police["pgrid_id"]).fillna(0).to_numpy(dtype=np.int64))
    officers = np.where(rng.random(len(police)) < 0.15, 0, 1).astype(np.int64)
    auxiliaries = np.maximum(0, need + rng.choice([-2, -1, 0, 0, 1, 1], len(police))).astype(np.int64)
    return police.assign(officers=officers, auxiliaries=auxiliaries)


def ring_layers(frame: Frame) -> gpd.GeoDataFrame:
    """The three rings (三圈三层), drawn from the frame without randomness: outer, the county;
    inner, the seat's town (old town and new district, 150 m beyond their ring roads); core,
    the old-town centre (500 m around it: the county offices' quarter). ``units_needed`` per
    entry when sealing: two at the county border, one further in."""
    seat = shapely.union_all([frame.old_town.buffer(150.0), frame.new_town.buffer(150.0)])
    core = frame.old_town.centroid.buffer(500.0)
    geoms = [shapely.MultiPolygon([g]) if g.geom_type == "Polygon" else g
             for g in (frame.area, seat, core)]
    return gpd.GeoDataFrame({"ring": ["outer", "inner", "core"], "name": ["县界", "县城城区", "老城核心区"],
                             "units_needed": np.array([2, 1, 1], dtype=np.int64)},
                            geometry=geoms, crs=WORKING_CRS)


# --- the workspace ------------------------------------------------------------------------------

def build_demo_county(seed: int = DEFAULT_SEED) -> Workspace:
    """Build the whole demo county from ``seed``; every random draw comes from one generator."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    frame = county_frame(rng)
    area = gpd.GeoDataFrame({"name": ["示范县"]}, geometry=[frame.area], crs=WORKING_CRS)

    atoms = atoms_from_area(frame, rng)
    adj = atom_adjacency(atoms)
    t_labels, t_anchor = township_labels(atoms, adj, frame, rng)
    s_labels, _ = jurisdiction_labels(atoms, adj, t_labels, t_anchor, frame, rng)
    t_ids = [t[0] for t in SUBDISTRICTS] + [t[0] for t in TOWNS]
    t_polys = _dissolve(atoms, t_labels, t_ids)
    s_ids = [s[0] for s in STATIONS]
    s_polys, defects = add_digitising_defects(dict(zip(s_ids, _dissolve(atoms, s_labels, s_ids))), frame)
    log.info("partitions: %d atoms, %.1fs", len(atoms), time.perf_counter() - t0)

    villages = villages_in_county(frame, rng)
    village_pop = np.exp(rng.normal(np.log(520.0), 0.45, len(villages)))
    total_pop = int(rng.integers(470_000, 520_000))
    raster = density_raster(frame, villages, village_pop, rng, total=total_pop)
    cells = cells_from_area(area, size_m=500.0, shape="square")
    town_pop, cell_pop = population_pieces(raster, cells, t_polys, total_pop)
    names = {t[0]: (t[1], "街道") for t in SUBDISTRICTS} | {t[0]: (t[1], t[2]) for t in TOWNS}
    townships = gpd.GeoDataFrame({
        "township_id": t_ids, "name": [names[t][0] for t in t_ids],
        "kind": [names[t][1] for t in t_ids], "population": town_pop,
    }, geometry=t_polys, crs=WORKING_CRS)
    jurisdictions = gpd.GeoDataFrame({"station_id": s_ids, "name": [s[1] for s in STATIONS]},
                                     geometry=[s_polys[s] for s in s_ids], crs=WORKING_CRS)
    log.info("population: %d people, %d villages, %.1fs", total_pop, len(villages), time.perf_counter() - t0)

    nodes, edges, road_info = road_network(frame, villages, village_pop, rng)
    checkpoints, nodes, edges, _exits = checkpoints_on_exits(nodes, edges, frame, townships, rng)
    log.info("roads: %d nodes, %d edges, %.1fs", len(nodes), len(edges), time.perf_counter() - t0)

    stations = stations_in_jurisdictions(jurisdictions, nodes, frame, townships, rng)
    posts = street_posts(nodes, edges, frame, rng)
    xy = shapely.get_coordinates(nodes.geometry.values)
    hotspots = {}
    for name, (_kind, km, _s) in HOTSPOTS.items():
        t = np.array(_xy(km))
        hotspots[name] = tuple(xy[int(np.argmin(np.hypot(*(xy - t).T)))])
    incidents = incidents_for_year(frame, raster, edges, hotspots, rng)
    # drawn last, so that every layer above comes out as it did before these existed
    nested = community_layers(atoms, adj, t_labels, s_labels, townships, jurisdictions, raster,
                              frame, rng)
    # staff of the police districts: drawn after everything else, so the layers above are unchanged
    police = police_grid_staff(nested["police_grids"], nested["communities"], rng)
    cells = cells.assign(population=cell_pop)
    cells = cells_with_attributes(cells, townships=townships, jurisdictions=jurisdictions,
                                  incidents=incidents)
    rivers = gpd.GeoDataFrame({"name": [RIVER_NAME], "kind": ["river"], "width_m": [2 * RIVER_HALF_WIDTH_M]},
                              geometry=[frame.river], crs=WORKING_CRS)
    log.info("done in %.1fs", time.perf_counter() - t0)
    ws = Workspace(crs=CRS.from_user_input(WORKING_CRS), layers={
        "area": area, "townships": townships, "communities": nested["communities"],
        "gov_grids": nested["gov_grids"], "stations": stations, "jurisdictions": jurisdictions,
        "police_grids": police,
        "posts": posts, "checkpoints": checkpoints, "incidents": incidents, "cells": cells,
        "road_nodes": nodes[["node_id", "geometry"]], "road_edges": edges, "rivers": rivers,
        "rings": ring_layers(frame),
    }, meta={
        "name": "示范县 (Demo County, synthetic)", "created": TIMESTAMP,
        "source": f"synthetic, data/boundaries/make_demo_county.py seed {seed}",
        "cell_size": "500", "cell_shape": "square",
        # geometry results and GeoPackage bytes depend on these (the tests compare bytes only
        # when the same versions rebuild the file)
        "built_with": f"GEOS {shapely.geos_version_string}, GDAL {pyogrio.__gdal_version_string__}",
    })
    return ws


def main(argv: list[str] | None = None) -> int:
    """Build the demo county and write it (byte-for-byte reproducible for a given seed)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="GeoPackage to write (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default: %(default)s)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    log.setLevel(logging.INFO if args.verbose else logging.WARNING)
    t0 = time.perf_counter()
    ws = build_demo_county(args.seed)
    path = write_workspace(ws, args.out, timestamp=TIMESTAMP)
    counts = ", ".join(f"{k} {len(v)}" for k, v in ws.layers.items())
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, {time.perf_counter() - t0:.1f} s): {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
