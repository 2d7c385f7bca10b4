"""Boundary audit on real layers (../shared/data): split counts of ../shared/data/README.md.

Expected figures come from an independent script (area shares in a UTM projection). A unit's
verdict may differ only where one of its shares lies within 0.5 % (relative) of the threshold:
for each unit we count the counterparts that are surely above the threshold and those that may
be, and require the README figure and ours to lie between those bounds.
"""
from __future__ import annotations

import numpy as np
import pytest
from pyproj import CRS

import cli
from geo.audit import audit_files
from geo.layers import read_layer

MIN_SHARE = 0.05
BAND = 0.005 * MIN_SHARE  # shares within 0.5 % of the threshold may go either way


def _bounds(pieces, side: str) -> tuple[int, int]:
    """(surely split, possibly split) unit counts on ``side`` given the tolerance band."""
    share = pieces[f"share_of_{side}"].to_numpy()
    real = ~pieces["sliver"].to_numpy()
    sure = pieces[real & (share >= MIN_SHARE + BAND)].groupby(side).size()
    maybe = pieces[real & (share >= MIN_SHARE - BAND)].groupby(side).size()
    return int((sure >= 2).sum()), int((maybe >= 2).sum())


def _check(audit, side: str, expected: int, total: int) -> None:
    units = audit.police if side == "police" else audit.admin
    assert len(units) == total
    lo, hi = _bounds(audit.pieces, side)
    got = len(audit.split_police if side == "police" else audit.split_admin)
    assert lo <= expected <= hi, (side, lo, expected, hi)
    assert lo <= got <= hi, (side, lo, got, hi)
    if lo == hi:
        assert got == expected


def test_chicago_districts_vs_community_areas(shared_data):
    chicago = shared_data / "chicago"
    comm = read_layer(chicago / "community_areas.zip")
    assert CRS(comm.crs).to_epsg() == 3435
    assert CRS(comm.crs).axis_info[0].unit_name.startswith("US survey foot")
    audit = audit_files(chicago / "police_districts.zip.geojson", chicago / "community_areas.zip",
                        police_id="DIST_NUM", admin_id="AREA_NUMBE", min_share=MIN_SHARE)
    _check(audit, "police", 21, 23)
    _check(audit, "admin", 26, 77)
    # Reprojected, not read as metres: Chicago's community areas cover about 606 km2.
    assert audit.admin["area_m2"].sum() / 1e6 == pytest.approx(606, rel=0.02)
    assert audit.crs.is_projected and audit.crs.axis_info[0].unit_name == "metre"
    assert any(w.rule == "dissolved_parts" for w in audit.warnings)  # district 31: 3 parts


def test_bhubaneswar_stations_vs_wards(shared_data):
    bbsr = shared_data / "bhubaneswar"
    for admin_id in ("wardno", "objectid"):
        audit = audit_files(bbsr / "Police_Jurisdiction.geojson", bbsr / "Wards_no_contacts.geojson",
                            police_id="OBJECTID", admin_id=admin_id, min_share=MIN_SHARE)
        _check(audit, "police", 10, 17)
        _check(audit, "admin", 33, 67)


def test_bhubaneswar_population_weight_and_cli(shared_data, tmp_path, capsys):
    bbsr = shared_data / "bhubaneswar"
    out = tmp_path / "out"
    code = cli.main(["audit", str(bbsr / "Police_Jurisdiction.geojson"),
                     str(bbsr / "Wards_no_contacts.geojson"), "--police-id", "OBJECTID",
                     "--admin-id", "wardno", "--weight", "population", "--population-col",
                     "totalwardpopulation", "--out", str(out), "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert (out / "report.html").exists() and (out / "audit.gpkg").exists()
    import json
    data = json.loads(captured.out)
    assert data["police_units"] == 17 and data["admin_units"] == 67
    total = sum(p["population"] for p in data["pairs"])
    assert total == pytest.approx(840_834, rel=0.01)  # 2011 census, all 67 wards (some fall in gaps)


def test_chicago_beats_vs_community_areas(shared_data):
    chicago = shared_data / "chicago"
    audit = audit_files(chicago / "police_beats.zip.geojson", chicago / "community_areas.zip",
                        police_id="BEAT_NUM", admin_id="AREA_NUMBE", min_share=MIN_SHARE)
    _check(audit, "police", 129, 275)
    _check(audit, "admin", 76, 77)
    assert np.isfinite(audit.pieces["share_of_police"]).all()
