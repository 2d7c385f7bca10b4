"""Road classes: the one table of the classes GridPatrol knows, with their synonyms, default speed, rank and names.

A road's class is the value of its ``road_class`` column (``road_edges``, the graph's edges). The
data keep their own values; this table says what a value means. GridPatrol's seven classes, each
with the values that mean the same class (OpenStreetMap ``highway`` tags and Chinese names):

===========  ====  ====  ==========  ===============  ===================================================
class        rank  km/h  中文         English          also accepted (synonyms)
===========  ====  ====  ==========  ===============  ===================================================
expressway   0     100   高速公路      Expressway       motorway, 高速公路, 高速
national     1     70    国道         National road    trunk, 国道
provincial   2     60    省道         Provincial road  primary, 省道
arterial     3     50    城市主干路    Arterial road    secondary, 主干路, 主干道, 城市主干路, 城市主干道
rural        4     40    县乡道       Rural road       tertiary, county, township, 县道, 乡道, 县乡道, 次干路
street       5     30    城市支路      Street           residential, unclassified, road, 支路, 街道, 城市支路
village      6     20    村道         Village road     service, track, living_street (10 km/h), 村道
===========  ====  ====  ==========  ===============  ===================================================

* **rank**: 0 is the most important road; an unknown class ranks ``UNKNOWN_RANK`` (7). Ring
  crossings, checkpoints and map drawing order use it.
* **speed**: the default speed (km/h) of an edge that has none of its own; an unknown class moves
  at ``DEFAULT_SPEED_KMH`` (30).
* **ramps**: OpenStreetMap link roads (``motorway_link`` …) belong to the class of their road,
  one rank lower and at the class's ramp speed (``motorway_link``: rank 1, 60 km/h).

Values are matched without regard to case or surrounding spaces (``"Motorway "`` is
``motorway``); an OSMnx list value counts by its first item.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["RoadClass", "ROAD_CLASSES", "DEFAULT_SPEED_KMH", "UNKNOWN_RANK", "TRUNK_MAX_RANK",
           "MAIN_MAX_RANK", "SPEED_DEFAULTS_KMH", "ROAD_CLASS_RANK", "road_class_of",
           "road_class_rank", "default_speed_kmh"]

DEFAULT_SPEED_KMH = 30.0
UNKNOWN_RANK = 7
#: Trunk roads: expressway, national and provincial (ranks 0-2), where county checkpoints stand.
TRUNK_MAX_RANK = 2
#: Main roads: trunk roads and arterials (ranks 0-3).
MAIN_MAX_RANK = 3


@dataclass(frozen=True)
class RoadClass:
    """One road class.

    Attributes
    ----------
    name : the class as GridPatrol writes it (``"expressway"``).
    rank : importance, 0 = most important.
    speed_kmh : default speed in km/h of an edge of this class without a speed of its own.
    zh, en : the class's name in Chinese and English (the interface shows these).
    synonyms : other ``road_class`` values meaning this class (lower case).
    ramps : OpenStreetMap link values of the class (``motorway_link``): rank ``rank + 1``.
    ramp_speed_kmh : default speed of the ramps in km/h.
    """

    name: str
    rank: int
    speed_kmh: float
    zh: str
    en: str
    synonyms: tuple[str, ...]
    ramps: tuple[str, ...] = ()
    ramp_speed_kmh: float | None = None


ROAD_CLASSES: tuple[RoadClass, ...] = (
    RoadClass("expressway", 0, 100.0, "高速公路", "Expressway", ("motorway", "高速公路", "高速"),
              ramps=("motorway_link",), ramp_speed_kmh=60.0),
    RoadClass("national", 1, 70.0, "国道", "National road", ("trunk", "国道"),
              ramps=("trunk_link",), ramp_speed_kmh=50.0),
    RoadClass("provincial", 2, 60.0, "省道", "Provincial road", ("primary", "省道"),
              ramps=("primary_link",), ramp_speed_kmh=40.0),
    RoadClass("arterial", 3, 50.0, "城市主干路", "Arterial road",
              ("secondary", "主干路", "主干道", "城市主干路", "城市主干道"),
              ramps=("secondary_link",), ramp_speed_kmh=40.0),
    RoadClass("rural", 4, 40.0, "县乡道", "Rural road",
              ("tertiary", "county", "township", "县道", "乡道", "县乡道", "次干路"),
              ramps=("tertiary_link",), ramp_speed_kmh=30.0),
    RoadClass("street", 5, 30.0, "城市支路", "Street",
              ("residential", "unclassified", "road", "支路", "街道", "城市支路")),
    RoadClass("village", 6, 20.0, "村道", "Village road", ("service", "track", "living_street", "村道")),
)

#: Values whose default speed differs from their class's (km/h).
_OWN_SPEED_KMH: dict[str, float] = {"living_street": 10.0}


def _index() -> dict[str, tuple[RoadClass, bool]]:
    """{value: (its class, whether it is a ramp)} over names, synonyms and ramps."""
    out: dict[str, tuple[RoadClass, bool]] = {}
    for cls in ROAD_CLASSES:
        out.update({value: (cls, False) for value in (cls.name, *cls.synonyms)})
        out.update({value: (cls, True) for value in cls.ramps})
    return out


_BY_VALUE = _index()
#: {value: default km/h} for every known value (derived from ``ROAD_CLASSES``).
SPEED_DEFAULTS_KMH: dict[str, float] = {
    value: _OWN_SPEED_KMH.get(value, cls.ramp_speed_kmh if ramp and cls.ramp_speed_kmh else cls.speed_kmh)
    for value, (cls, ramp) in _BY_VALUE.items()}
#: {value: rank} for every known value (derived from ``ROAD_CLASSES``).
ROAD_CLASS_RANK: dict[str, int] = {value: cls.rank + int(ramp) for value, (cls, ramp) in _BY_VALUE.items()}


def _value(road_class: object) -> str:
    """The class value as a lower-case string ('' for missing; the first item of a list)."""
    if isinstance(road_class, (list, tuple)):
        road_class = road_class[0] if road_class else None
    if road_class is None or (isinstance(road_class, float) and math.isnan(road_class)):
        return ""
    return str(road_class).strip().lower()


def road_class_of(road_class: object) -> RoadClass | None:
    """The class a ``road_class`` value belongs to (a synonym or ramp included); None when unknown."""
    found = _BY_VALUE.get(_value(road_class))
    return None if found is None else found[0]


def road_class_rank(road_class: object) -> int:
    """Importance rank of a road class value (0 = expressway … 6 = village road, 7 = unknown)."""
    return ROAD_CLASS_RANK.get(_value(road_class), UNKNOWN_RANK)


def default_speed_kmh(road_class: object) -> float:
    """Default speed in km/h of a road class value (``DEFAULT_SPEED_KMH`` when unknown)."""
    return SPEED_DEFAULTS_KMH.get(_value(road_class), DEFAULT_SPEED_KMH)
