"""Police grids vs governance grids vs stations: a synthetic city whose answer is known by
construction, the crosswalk "which grid belongs to which police grid and station", the severity
ranking without the designed containment, and ``gridpatrol audit ws.gpkg:police_grids
ws.gpkg:gov_grids`` with the workspace's default ids, population and incidents.

The layout (metres, 4 x 3 police grids of 1 km, each split into 4 governance grids of 500 m):

- stations S1 (police grid columns 0-1) and S2 (columns 2-3); station S1's jurisdiction also
  takes the west 400 m of police grid P21, which is recorded as S2's: P21 crosses stations
  (40 % in S1);
- governance grids nest in their police grid, except four whose shared boundary was moved:
  A (in P10) reaches 200 m into P20 (2/7 of A outside, and across the station boundary),
  C (in P01) 100 m into P02 (1/6 outside), E (in P30) 2 m into P31 (a sliver, no split) and
  H (in P12) 20 m into P13 (20/520 = 3.8 %, below the 5 % threshold). Their neighbours shrink.
"""
from __future__ import annotations

import json

import pytest
import shapely
from pyproj import CRS

import cli
from geo.audit import audit_files, audit_partitions, audit_workspace, unit_crosswalk, workspace_layer
from geo.workspace import Workspace, write_workspace
from tests._audit_city import METRIC, A, C, E, H, city


@pytest.fixture(scope="module")
def layers():
    return city()


@pytest.fixture(scope="module")
def ws_path(layers, tmp_path_factory):
    return write_workspace(Workspace(crs=CRS(METRIC), layers=layers, meta={"name": "grids"}),
                           tmp_path_factory.mktemp("grids") / "grids.gpkg")


def _shares_by_hand(layers, grid: str) -> dict[str, float]:
    """Share of a governance grid in each police grid, from plain shapely areas."""
    g = layers["gov_grids"].set_index("grid_id").geometry[grid]
    out = {}
    for pid, geom in zip(layers["police_grids"]["pgrid_id"], layers["police_grids"].geometry):
        a = shapely.intersection(g, geom).area
        if a > 0:
            out[pid] = a / g.area
    return out


def test_grids_split_between_police_grids_known_by_construction(layers):
    a = audit_partitions(layers["police_grids"], layers["gov_grids"], police_id="pgrid_id",
                         admin_id="grid_id", police_layer="police_grids", admin_layer="gov_grids",
                         police_station="station_id")
    assert sorted(a.split_admin) == sorted([A, C])  # E is a sliver, H below 5 %
    assert a.container == "police"
    # ranked: only the governance grids (police grids holding several grids is the design),
    # worst first by the area outside the main police grid: A 100,000 m2, C 50,000 m2
    assert a.severity["side"].tolist() == ["admin", "admin"]
    assert a.severity["id"].tolist() == [A, C]
    assert a.severity["minority_area_m2"].tolist() == pytest.approx([100_000, 50_000])
    # every police grid of the 4 x 3 layout spans several grids: still reported (P13 holds
    # only H's strip)
    assert len(a.split_police) == 12 and "P13" not in a.split_police
    slivers = a.defects[a.defects["kind"] == "sliver"]
    assert (slivers["admin"] == E).any()
    assert a.gaps_m2 == pytest.approx(0.0) and a.overlaps_m2 == pytest.approx(0.0)


def test_which_grid_belongs_to_which_police_grid_and_station(layers):
    a = audit_partitions(layers["police_grids"], layers["gov_grids"], police_id="pgrid_id",
                         admin_id="grid_id", police_layer="police_grids", admin_layer="gov_grids",
                         police_station="station_id")
    cw = unit_crosswalk(a).set_index("id")
    assert len(cw) == len(layers["gov_grids"])
    for grid in cw.index:  # every grid: main police grid = the one it was built in
        home = "P" + grid[1:3]
        hand = _shares_by_hand(layers, grid)
        assert cw.loc[grid, "main"] == max(hand, key=hand.get) == home, grid
        assert cw.loc[grid, "main_share"] == pytest.approx(hand[home]), grid
        assert cw.loc[grid, "station"] == ("S1" if int(grid[1]) < 2 else "S2"), grid
    assert cw.loc[A, "main_share"] == pytest.approx(5 / 7)
    assert cw.loc[A, "station_share"] == pytest.approx(5 / 7)  # 2/7 in P20, a police grid of S2
    assert cw.loc[C, "main_share"] == pytest.approx(5 / 6)
    assert cw.loc[C, "station_share"] == pytest.approx(1.0)  # P01 and P02 are both S1's
    assert cw.loc[H, "main_share"] == pytest.approx(500 / 520)
    assert bool(cw.loc[A, "split"]) and not bool(cw.loc[H, "split"]) and not bool(cw.loc[E, "split"])


def test_police_grids_crossing_stations(layers):
    a = audit_partitions(layers["police_grids"], layers["jurisdictions"], police_id="pgrid_id",
                         admin_id="station_id", police_layer="police_grids", admin_layer="jurisdictions",
                         police_station="station_id")
    assert a.container == "admin"
    assert a.split_police == ["P21"]
    assert a.severity[["side", "id", "main"]].values.tolist() == [["police", "P21", "S2"]]
    assert a.severity["main_share"].iloc[0] == pytest.approx(0.6)
    cw = unit_crosswalk(a).set_index("id")  # the held side: police grids
    assert cw.loc["P21", "main"] == "S2" and cw.loc["P21", "station"] == "S2"
    assert (cw["main"] == cw["station"]).all()  # every grid lies mostly in its recorded station


def test_station_column_problems(layers):
    police = layers["police_grids"].copy()
    police.loc[0, "station_id"] = None
    a = audit_partitions(police, layers["gov_grids"], police_id="pgrid_id", admin_id="grid_id",
                         police_layer="police_grids", admin_layer="gov_grids",
                         police_station="station_id")
    assert [w.rule for w in a.warnings if w.rule == "no_station"] == ["no_station"]
    assert a.police.set_index("police").loc["P00", "station"] is None
    from geo.errors import ValidationError
    with pytest.raises(ValidationError, match="no station column 'station'"):
        audit_partitions(police, layers["gov_grids"], police_id="pgrid_id", admin_id="grid_id",
                         police_station="station")


def test_workspace_audit_uses_ids_population_incidents_and_stations(layers, ws_path):
    from geo.workspace import read_workspace
    ws = read_workspace(ws_path)
    a = audit_workspace(ws, police_layer="police_grids", admin_layer="gov_grids", weight="population")
    assert sorted(a.split_admin) == sorted([A, C])
    assert "station" in a.police.columns and "incidents" in a.pieces.columns
    assert a.pieces["incidents"].sum() == 3
    assert a.admin.set_index("admin").loc[A, "population"] == pytest.approx(700 * 500 / 62_500 * 100)
    assert workspace_layer(f"{ws_path}:police_grids") == "police_grids"
    assert workspace_layer(f"{ws_path}:stations") is None  # not a polygon layer
    with pytest.raises(Exception, match="`police_layer` was 'stations'"):
        audit_workspace(ws, police_layer="stations", admin_layer="gov_grids")


def test_audit_files_needs_ids_only_for_plain_files(layers, ws_path, tmp_path):
    a = audit_files(f"{ws_path}:police_grids", f"{ws_path}:gov_grids")
    assert sorted(a.split_admin) == sorted([A, C]) and "population" in a.pieces.columns
    assert CRS(a.crs).equals(CRS(METRIC))  # the workspace's CRS
    plain = tmp_path / "grids.geojson"
    layers["gov_grids"].to_file(plain)
    with pytest.raises(Exception, match="`admin_id` is needed"):
        audit_files(f"{ws_path}:police_grids", plain)
    b_ = audit_files(f"{ws_path}:police_grids", plain, admin_id="grid_id")
    assert sorted(b_.split_admin) == sorted([A, C])


# --- command line ---------------------------------------------------------------------------

def test_cli_workspace_layers_with_default_ids(ws_path, tmp_path, capsys):
    out = tmp_path / "out"
    code = cli.main(["audit", f"{ws_path}:police_grids", f"{ws_path}:gov_grids", "--json",
                     "--weight", "population", "--out", str(out), "--lang", "en"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    data = json.loads(captured.out)
    assert sorted(data["split_admin"]) == sorted([A, C])
    assert data["container"] == "police" and data["police_layer"] == "police_grids"
    assert data["weight"] == "population"
    units = {u["id"]: u for u in data["units"]}
    assert data["units_side"] == "admin" and len(units) == 48
    assert units[A]["main"] == "P10" and units[A]["station"] == "S1"
    assert [r["id"] for r in data["severity"]] == [A, C]
    assert sorted(p.name for p in out.iterdir()) == ["audit.gpkg", "audit_map.png", "crosswalk.csv",
                                                     "report.html", "report.md", "units.csv"]
    md = (out / "report.md").read_text("utf-8")
    assert "](audit_map.png)" in md and "Boundary audit: police grids vs gov grids" in md
    assert "P10" in (out / "units.csv").read_text("utf-8")


def test_cli_text_lists_split_grids_with_station(ws_path, capsys):
    code = cli.main(["audit", f"{ws_path}:police_grids", f"{ws_path}:gov_grids"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "not ranked" in captured.out
    assert f"{A}  main P10 71%, station S1 71%" in captured.out


def test_cli_police_grids_vs_jurisdictions(ws_path, capsys):
    code = cli.main(["audit", f"{ws_path}:police_grids", f"{ws_path}:jurisdictions", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    data = json.loads(captured.out)
    assert data["split_police"] == ["P21"] and data["container"] == "admin"
    assert data["units_side"] == "police"


def test_cli_plain_file_still_needs_the_id_flag(layers, ws_path, tmp_path, capsys):
    plain = tmp_path / "gov.geojson"
    layers["gov_grids"].to_file(plain)
    code = cli.main(["audit", f"{ws_path}:police_grids", str(plain)])
    err = capsys.readouterr().err
    assert code == 2 and "--admin-id is required" in err and "Traceback" not in err
    code = cli.main(["audit", str(plain), f"{ws_path}:gov_grids"])
    err = capsys.readouterr().err
    assert code == 2 and "--police-id is required" in err
