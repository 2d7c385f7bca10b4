"""Chicago's police beats as the base units of plans (`gridpatrol import --units`).

The beats file holds 277 features: 275 beats (`BEAT_NUM`, text with leading zeros: ``0111``)
in 23 districts (`DISTRICT`, text ``01``..``25`` and ``31``, the airport, whose beat 3100 comes
in 3 parts and has no station). The 22 station points carry `DISTRICT` as numbers (1..25).
"""
from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest

import cli
from geo.workspace import read_workspace
from planning.redistrict import optimize, repaired_plan
from planning.study import current_plan, workspace_graph


def _args(d, units, out) -> list[str]:
    return ["import", str(out), "--units", str(units), "--unit-id", "BEAT_NUM",
            "--unit-station", "DISTRICT",
            "--stations", str(d / "crime_counts_and_stations" / "Police_Stations.csv"),
            "--station-id", "DISTRICT",
            "--townships", str(d / "community_areas.zip"), "--township-id", "AREA_NUMBE",
            "--attributes", str(d / "population" / "chicago_commpop.zip"),
            "--columns", "POP2010=population", "--json"]


def test_chicago_beats_as_units(shared_data, tmp_path, capsys):
    d = shared_data / "chicago"
    raw = gpd.read_file(d / "police_beats.zip.geojson")
    assert len(raw) == 277 and raw["BEAT_NUM"].nunique() == 275 and raw["DISTRICT"].nunique() == 23

    # As published: beat 3100 (the airport) is three features: an error naming its rows.
    code = cli.main(_args(d, d / "police_beats.zip.geojson", tmp_path / "a.gpkg"))
    _, err = capsys.readouterr()
    assert code == 2 and "3100 (rows 2, 56, 264)" in err and "Traceback" not in err

    # Without the airport: the districts are written "01" but the stations 1: an error naming
    # the beats and their values (ids are text; "01" is not "1").
    beats = raw[raw["DISTRICT"] != "31"]
    beats.to_file(tmp_path / "beats.geojson")
    code = cli.main(_args(d, tmp_path / "beats.geojson", tmp_path / "b.gpkg"))
    _, err = capsys.readouterr()
    assert code == 2 and "0111: 01" in err
    n_bad = int(beats["DISTRICT"].str.startswith("0").sum())
    assert f"{n_bad} units name a station" in err

    # With the district numbers as the stations write them: 274 beats, the plan exactly.
    fixed = beats.assign(DISTRICT=beats["DISTRICT"].astype(int).astype(str))
    fixed.to_file(tmp_path / "fixed.geojson")
    out = tmp_path / "beats.gpkg"
    code = cli.main(_args(d, tmp_path / "fixed.geojson", out))
    stdout, err = capsys.readouterr()
    assert code == 0, err
    info = json.loads(stdout)
    assert info["layers"]["cells"] == 274 and info["layers"]["stations"] == 22
    ws = read_workspace(out)
    cells = ws.layer("cells")
    assert cells["cell_id"].tolist() == fixed["BEAT_NUM"].tolist()  # "0111" kept as text
    assert "0111" in set(cells["cell_id"])
    graph = workspace_graph(ws, weights="population")
    current = current_plan(ws, graph)
    expected = fixed.set_index("BEAT_NUM")["DISTRICT"]
    assert current.labels.reindex(expected.index).tolist() == expected.tolist()
    assert current.labels.nunique() == 22
    # population apportioned from the community areas (the beats carry none)
    assert cells["population"].sum() == pytest.approx(2_695_598, rel=0.01)
    assert ws.meta["units"] == "fixed.geojson" and ws.meta["unit_id"] == "BEAT_NUM"

    # A short redistricting on the beats: contiguous districts, each holding its station.
    start = repaired_plan(current)
    last = None
    for last in optimize(start, max_deviation=0.10, baseline=current, time_limit_s=15,
                         rng=np.random.default_rng(0)):
        pass
    plan = last["plan"]
    assert plan.contiguous and plan.contains_station
    assert plan.max_deviation < current.max_deviation
    print(f"Chicago beats: current max deviation {current.max_deviation:.1%}, after 15 s "
          f"{plan.max_deviation:.1%}, {plan.cells_changed(current)} of 274 beats moved")
