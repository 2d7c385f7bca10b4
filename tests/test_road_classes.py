"""The one road-class table (geo/road_classes.py) and the tables derived from it."""
from __future__ import annotations

import math

import pytest

from geo import road_classes as rc


def _has_cjk(s: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in s)


@pytest.mark.parametrize("cls", rc.ROAD_CLASSES, ids=[c.name for c in rc.ROAD_CLASSES])
def test_every_class_has_synonyms_speed_rank_and_both_names(cls):
    assert cls.synonyms and all(s == s.strip().lower() for s in cls.synonyms)
    assert cls.speed_kmh > 0 and math.isfinite(cls.speed_kmh)
    assert 0 <= cls.rank < rc.UNKNOWN_RANK
    assert _has_cjk(cls.zh) and cls.en and not _has_cjk(cls.en)
    if cls.ramps:
        assert cls.ramp_speed_kmh is not None and 0 < cls.ramp_speed_kmh <= cls.speed_kmh


def test_classes_are_ranked_0_to_6_in_order_and_slower_as_they_rank_lower():
    assert [c.rank for c in rc.ROAD_CLASSES] == list(range(7))
    speeds = [c.speed_kmh for c in rc.ROAD_CLASSES]
    assert speeds == sorted(speeds, reverse=True)


def test_no_value_belongs_to_two_classes():
    seen: dict[str, str] = {}
    for cls in rc.ROAD_CLASSES:
        for value in (cls.name, *cls.synonyms, *cls.ramps):
            assert value not in seen, f"{value!r} is in {seen.get(value)} and {cls.name}"
            seen[value] = cls.name
    assert set(seen) == set(rc.SPEED_DEFAULTS_KMH) == set(rc.ROAD_CLASS_RANK)


def test_the_values_of_the_former_tables_keep_their_speed_and_rank():
    # geo/network.py's SPEED_DEFAULTS_KMH and ROAD_CLASS_RANK before the one table (commit 55067d1)
    old = {"expressway": (100, 0), "motorway": (100, 0), "高速公路": (100, 0), "高速": (100, 0),
           "motorway_link": (60, 1), "national": (70, 1), "trunk": (70, 1), "国道": (70, 1),
           "trunk_link": (50, 2), "provincial": (60, 2), "primary": (60, 2), "省道": (60, 2),
           "primary_link": (40, 3), "arterial": (50, 3), "secondary": (50, 3), "主干路": (50, 3),
           "主干道": (50, 3), "secondary_link": (40, 4), "rural": (40, 4), "tertiary": (40, 4),
           "县道": (40, 4), "乡道": (40, 4), "次干路": (40, 4), "tertiary_link": (30, 5),
           "street": (30, 5), "residential": (30, 5), "unclassified": (30, 5), "支路": (30, 5),
           "街道": (30, 5), "road": (30, 5), "village": (20, 6), "村道": (20, 6), "service": (20, 6),
           "track": (20, 6), "living_street": (10, 6)}
    for value, (speed, rank) in old.items():
        assert (rc.SPEED_DEFAULTS_KMH[value], rc.ROAD_CLASS_RANK[value]) == (speed, rank), value


def test_lookups_ignore_case_spaces_and_take_the_first_of_a_list():
    assert rc.road_class_of(" Motorway ").name == "expressway"
    assert rc.road_class_of("motorway_link").name == "expressway"
    assert rc.road_class_of("县乡道").name == "rural"
    assert rc.road_class_rank(["trunk", "primary"]) == 1
    assert rc.road_class_rank("Primary_Link") == 3
    assert rc.default_speed_kmh("TRUNK_LINK") == 50.0
    for missing in (None, float("nan"), "", [], "footway"):
        assert rc.road_class_of(missing) is None
        assert rc.road_class_rank(missing) == rc.UNKNOWN_RANK == 7
        assert rc.default_speed_kmh(missing) == rc.DEFAULT_SPEED_KMH == 30.0


def test_the_derived_tables_follow_the_one_table():
    from geo import network
    from ui.colors import ROAD_STYLES, road_style
    from ui.i18n import road_class_label

    assert network.SPEED_DEFAULTS_KMH is rc.SPEED_DEFAULTS_KMH
    assert network.ROAD_CLASS_RANK is rc.ROAD_CLASS_RANK
    assert network.road_class_rank is rc.road_class_rank
    assert set(ROAD_STYLES) == {c.name for c in rc.ROAD_CLASSES}
    for cls in rc.ROAD_CLASSES:
        assert road_class_label(cls.name, "zh") == cls.zh and road_class_label(cls.name, "en") == cls.en
        for value in cls.synonyms:  # a synonym is drawn as its class
            assert road_style(value) == (*ROAD_STYLES[cls.name], cls.rank)
        for value in cls.ramps:  # a ramp in the class colour, one rank lower
            assert road_style(value) == (*ROAD_STYLES[cls.name], cls.rank + 1)
    assert road_style("footway")[2] == rc.UNKNOWN_RANK
    assert road_style("footway")[0] not in {c for c, _ in ROAD_STYLES.values()}


def test_trunk_and_main_road_thresholds():
    trunk = [c.name for c in rc.ROAD_CLASSES if c.rank <= rc.TRUNK_MAX_RANK]
    main = [c.name for c in rc.ROAD_CLASSES if c.rank <= rc.MAIN_MAX_RANK]
    assert trunk == ["expressway", "national", "provincial"]
    assert main == [*trunk, "arterial"]
