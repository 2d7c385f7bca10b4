"""Alignment proposal on tiny literal partitions: owners, moves, locks, contiguity, workload."""
from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import box

from geo.audit import audit_partitions
from geo.errors import GridPatrolError
from planning.alignment import propose_alignment

METRIC = "EPSG:32650"
X0, Y0 = 500_000.0, 3_000_000.0


def b(x0, y0, x1, y1):
    return box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def layer(ids, geoms, **extra):
    return gpd.GeoDataFrame({"id": ids, **extra}, geometry=geoms, crs=METRIC)


def audit(police, admin, **kw):
    return audit_partitions(police, admin, police_id="id", admin_id="id", **kw)


TOWNS = layer(["T1", "T2"], [b(0, 0, 100, 100), b(100, 0, 200, 100)], pop=[1000.0, 2000.0])


def test_township_goes_whole_to_its_main_station():
    # S1 holds T1 and 30 % of T2; S2 holds the rest of T2.
    police = layer(["S1", "S2"], [b(0, 0, 130, 100), b(130, 0, 200, 100)])
    before = audit(police, TOWNS)
    pieces_before = before.pieces.copy()
    prop = propose_alignment(before)
    owners = prop.owners.set_index("admin")["owner"].to_dict()
    assert owners == {"T1": "S1", "T2": "S2"}
    assert list(zip(prop.moves["admin"], prop.moves["from_station"], prop.moves["to_station"])) == [
        ("T2", "S1", "S2")]
    w = prop.workload.set_index("station")
    assert w.loc["S1", "area_m2_change"] == pytest.approx(-3000)
    assert w.loc["S2", "area_m2_change"] == pytest.approx(3000)
    assert prop.contiguous and prop.kept.empty
    assert (prop.owners["stations_after"] == 1).all()
    assert before.pieces.equals(pieces_before)  # the audit is untouched


def test_population_weight_picks_the_owner_and_reports_population():
    # T2 is 60 % S1 by area, but its people live in S2's part.
    police = layer(["S1", "S2"], [b(0, 0, 160, 100), b(160, 0, 200, 100)])
    people = layer(["a", "b"], [b(0, 0, 100, 100), b(160, 0, 200, 100)], population=[1000.0, 2000.0])
    a = audit(police, TOWNS, weight="population", population=people, population_col="population")
    prop = propose_alignment(a)
    assert prop.owners.set_index("admin").loc["T2", "owner"] == "S2"
    w = prop.workload.set_index("station")
    assert w.loc["S2", "population_change"] == pytest.approx(0.0)
    assert w.loc["S2", "area_m2_change"] == pytest.approx(6000)


def test_locked_station_neither_gives_nor_takes():
    police = layer(["S1", "S2"], [b(0, 0, 130, 100), b(130, 0, 200, 100)])
    prop = propose_alignment(audit(police, TOWNS), locked_stations=["S1"])
    assert prop.moves.empty
    assert "locked" in prop.kept["reason"].iloc[0]


def test_locked_township_is_left_alone():
    police = layer(["S1", "S2"], [b(0, 0, 130, 100), b(130, 0, 200, 100)])
    prop = propose_alignment(audit(police, TOWNS), locked_townships=["T2"])
    assert prop.moves.empty
    assert prop.owners.set_index("admin").loc["T2", "locked"]


def test_never_breaks_a_station_in_two():
    # S1 is a band along the south of T1, T2 and T3; moving its middle piece (in T2, which
    # S2 mostly holds) would cut S1 in two, so it stays and the proposal says why.
    towns = layer(["T1", "T2", "T3"], [b(0, 0, 100, 100), b(100, 0, 200, 100), b(200, 0, 300, 100)])
    police = layer(["S1", "S2", "S3"], [b(0, 0, 300, 30).union(b(0, 0, 100, 100)),
                                        b(100, 30, 200, 100),
                                        b(200, 30, 300, 100)])
    prop = propose_alignment(audit(police, towns))
    kept = prop.kept.set_index("admin")
    assert "more parts" in kept.loc["T2", "reason"]
    assert prop.contiguous
    assert (prop.workload["parts_after"] == 1).all()


def test_a_station_is_never_emptied():
    # S2 lies wholly inside T1, which S1 mostly holds: S2 keeps its only piece.
    towns = layer(["T1"], [b(0, 0, 200, 100)])
    police = layer(["S1", "S2"], [b(0, 0, 200, 100).difference(b(80, 20, 120, 80)), b(80, 20, 120, 80)])
    prop = propose_alignment(audit(police, towns, min_share=0.01))
    assert prop.moves.empty
    assert "all that is left" in prop.kept["reason"].iloc[0]


def test_unknown_locked_ids():
    police = layer(["S1", "S2"], [b(0, 0, 130, 100), b(130, 0, 200, 100)])
    with pytest.raises(GridPatrolError, match="S9"):
        propose_alignment(audit(police, TOWNS), locked_stations=["S9"])
