"""geo.scale and geo.scale_sql: incident aggregation and the audit's crosswalk on dask partitions
and in PostGIS SQL give the in-memory results (counts exactly), and memory stays bounded by the
partition size."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Point, box

from geo import hot_times as HT
from geo import hotspots, scale
from geo.audit import audit_files, crosswalk_pieces
from geo.errors import InputError
from geo.workspace import read_workspace
from tests.clirun import run_cli
from tests.conftest import ROOT

DEMO = ROOT / "data" / "boundaries" / "demo_county.gpkg"
SYNC = dict(engine="dask", scheduler="synchronous")


@pytest.fixture(scope="module")
def demo():
    return read_workspace(DEMO, layers=["incidents", "cells", "jurisdictions", "townships",
                                        "police_grids", "gov_grids"])


@pytest.fixture(scope="module")
def cluster_address():
    """A real distributed cluster (2 worker processes) for the module, reached by its address as
    a remote cluster would be."""
    from distributed import LocalCluster
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    yield cluster.scheduler_address
    cluster.close()


def _sjoin_table(cells, incidents) -> np.ndarray:
    """Cells x hour of week by geopandas' sjoin and a groupby (a second method)."""
    t = pd.to_datetime(incidents["time"], errors="coerce")
    pts = incidents.assign(how=(t.dt.day_of_week * 24 + t.dt.hour))[t.notna()]
    joined = gpd.sjoin(pts[["how", "geometry"]], cells[["geometry"]].reset_index(names="pos"),
                       how="inner", predicate="intersects")
    joined = joined[~joined.index.duplicated(keep="first")]
    out = np.zeros((len(cells), 168), dtype=np.int64)
    np.add.at(out, (joined["pos"].to_numpy(), joined["how"].to_numpy().astype(int)), 1)
    return out


# --- cells x hour of week ----------------------------------------------------------------------

@pytest.mark.parametrize("rows", [30_000, 2_501])
def test_cell_hour_counts_on_partitions_equal_memory(demo, rows):
    cells, inc = demo.layer("cells"), demo.layer("incidents")
    got = scale.cell_hour_counts(cells, DEMO, scale=scale.Scale(partition_rows=rows, **SYNC))
    mem = scale.cell_hour_counts(cells, inc, scale=scale.Scale(engine="memory"))
    assert (got.table.to_numpy() == _sjoin_table(cells, inc)).all()
    assert got.table.equals(mem.table)
    assert (got.table.index == cells["cell_id"].to_numpy()).all()
    assert (got.incidents, got.outside, got.without_time) == (30_000, 0, 0)
    # the hotspots' own count of one hour of the week, and the county profile
    for h in (0, 45, 167):
        ref = hotspots.cell_risk(cells, inc, hour_of_week=h, half_life_days=None, neighbour_share=0)
        assert (ref["n_incidents"].to_numpy() == got.table[h].to_numpy()).all()
    assert (got.hour_of_week == HT.hot_times(inc).hour_of_week).all()


def test_a_dask_geopandas_frame_is_used_as_partitioned(demo):
    import dask_geopandas
    cells, inc = demo.layer("cells"), demo.layer("incidents")
    frame = dask_geopandas.from_geopandas(inc, npartitions=3)
    got = scale.cell_hour_counts(cells, frame, scale=scale.Scale(scheduler="threads"))
    assert (got.table.to_numpy() == _sjoin_table(cells, inc)).all()
    parts = scale.incident_partitions(DEMO, partition_rows=12_000, columns=["time"])
    assert isinstance(parts, dask_geopandas.GeoDataFrame) and parts.npartitions == 3
    assert list(parts.columns) == ["time", "geometry"]


def test_cell_hour_counts_count_missing_times_and_points_outside():
    cells = gpd.GeoDataFrame({"cell_id": [10, 11]}, geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)],
                             crs="EPSG:32650")
    # Monday 2025-01-06 08:30 -> hour 8; Sunday 2025-01-12 23:59 -> hour 167; on the shared
    # border x = 10 the first cell found counts it, once
    inc = gpd.GeoDataFrame({"time": ["2025-01-06T08:30:00", "2025-01-12T23:59:00", None, "x",
                                     "2025-01-06T08:00:00", "2025-01-07T00:00:00"]},
                           geometry=[Point(5, 5), Point(15, 5), Point(5, 5), Point(15, 5),
                                     Point(50, 50), Point(10, 5)], crs="EPSG:32650")
    for s in (scale.Scale(engine="memory"), scale.Scale(partition_rows=2, **SYNC)):
        got = scale.cell_hour_counts(cells, inc, scale=s)
        assert got.table.loc[10, 8] == 1 and got.table.loc[11, 167] == 1
        assert got.table.to_numpy().sum() == 3 and got.table.loc[:, 24].sum() == 1
        assert (got.incidents, got.outside, got.without_time) == (3, 1, 2)


def test_cell_hour_counts_on_a_real_cluster_address(demo, cluster_address):
    cells = demo.layer("cells")
    got = scale.cell_hour_counts(cells, DEMO, scale=scale.Scale(
        engine="auto", scheduler=cluster_address, partition_rows=6_000))
    assert (got.table.to_numpy() == _sjoin_table(cells, demo.layer("incidents"))).all()


# --- hotspots input -----------------------------------------------------------------------------

@pytest.mark.parametrize("kw", [dict(shift="20:00-04:00"),
                                dict(hour_of_week=20, half_life_days=30.0),
                                dict(now="2025-06-30", category_weights={"theft": 2.0})])
def test_cell_risk_on_partitions_equals_memory(demo, kw):
    cells, inc = demo.layer("cells"), demo.layer("incidents")
    ref = hotspots.cell_risk(cells, inc, **kw)
    got = scale.cell_risk(cells, DEMO, scale=scale.Scale(partition_rows=4_000, **SYNC), **kw)
    assert (got["n_incidents"].to_numpy() == ref["n_incidents"].to_numpy()).all()
    assert ref["weighted"].sum() > 0
    np.testing.assert_allclose(got["weighted"], ref["weighted"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got["risk"], ref["risk"], rtol=1e-12, atol=1e-12)
    assert got.index.equals(cells.index)


def test_cell_risk_reports_bad_times_of_every_partition():
    cells = gpd.GeoDataFrame({"cell_id": [1]}, geometry=[box(0, 0, 10, 10)], crs="EPSG:32650")
    inc = gpd.GeoDataFrame({"time": ["2025-01-06T08:30:00", "bad", "2025-01-06T09:30:00", "worse"]},
                           geometry=[Point(1, 1)] * 4, crs="EPSG:32650")
    with pytest.raises(InputError, match="2 incident times are not dates"):
        scale.cell_risk(cells, inc, shift="08:00-16:00", scale=scale.Scale(partition_rows=1, **SYNC))


# --- hot times ----------------------------------------------------------------------------------

@pytest.mark.parametrize("kw", [{}, {"station": "S01", "township": "T01"}])
def test_workspace_hot_times_on_partitions_equal_memory(demo, kw):
    ref = HT.workspace_hot_times(demo, **kw)
    got = scale.workspace_hot_times(DEMO, scale=scale.Scale(partition_rows=5_000, **SYNC), **kw)
    assert ref.incidents > 0 and got.incidents == ref.incidents
    assert (got.hour_of_week == ref.hour_of_week).all()
    assert (got.first, got.last, got.scope, got.without_time) == (ref.first, ref.last, ref.scope, 0)
    assert got.peaks(5) == ref.peaks(5)


def test_aoristic_hot_times_on_partitions_equal_memory(demo):
    inc = demo.layer("incidents").iloc[:6000].copy()
    rng = np.random.default_rng(3)
    start = pd.to_datetime(inc["time"])
    minutes = rng.integers(0, 3 * 24 * 60, len(inc)).astype(float)
    minutes[::7] = 0  # some without an interval
    inc["end"] = (start + pd.to_timedelta(minutes, unit="min")).dt.strftime("%Y-%m-%dT%H:%M:%S")
    ref = HT.hot_times(inc, end_col="end")
    got = scale.hot_times(inc, end_col="end", scale=scale.Scale(partition_rows=1_000, **SYNC))
    assert got.spread == ref.spread > 0 and got.incidents == ref.incidents
    np.testing.assert_allclose(got.hour_of_week, ref.hour_of_week, rtol=1e-12)
    assert got.hour_of_week.sum() == pytest.approx(len(inc))


def test_hot_times_errors_name_the_parameter(demo):
    s = scale.Scale(partition_rows=10_000, **SYNC)
    with pytest.raises(InputError, match="`station` was 'S99'.*stations with incidents: S01"):
        scale.workspace_hot_times(DEMO, station="S99", scale=s)
    with pytest.raises(InputError, match="`township` was 'T99' but is not a township"):
        scale.workspace_hot_times(DEMO, township="T99", scale=s)
    with pytest.raises(InputError, match="`end_col` was 'finish'"):
        scale.workspace_hot_times(DEMO, end_col="finish", scale=s)


# --- memory bounded by the partition size ---------------------------------------------------------

def test_the_chunked_reader_never_holds_more_than_partition_rows(demo, monkeypatch):
    held = []
    real = scale.read_chunk

    def counting(source, start, stop, columns=None, **kw):
        out = real(source, start, stop, columns, **kw)
        held.append(len(out))
        return out

    monkeypatch.setattr(scale, "read_chunk", counting)
    got = scale.cell_hour_counts(demo.layer("cells"), DEMO,
                                 scale=scale.Scale(partition_rows=3_000, **SYNC))
    assert got.incidents == 30_000
    assert max(held) == 3_000  # and never the whole layer
    parts = [n for n in held if n]
    assert sum(parts) == 30_000 + 1_000  # every row once, plus the first rows for the format
    assert len(parts) == 11


def test_geoparquet_source_reads_row_ranges(tmp_path, demo):
    inc = demo.layer("incidents").iloc[:2_500]
    path = tmp_path / "inc.parquet"
    inc.to_parquet(path, row_group_size=700)
    src = scale.incident_source(path)
    assert (src.kind, src.rows) == ("parquet", 2_500) and src.crs.equals(inc.crs)
    part = scale.read_chunk(src, 650, 1_460, ["time"])
    assert list(part.index) == list(range(650, 1_460))
    assert (part["time"].to_numpy() == inc["time"].iloc[650:1_460].to_numpy()).all()
    assert shapely.equals(np.asarray(part.geometry.values), np.asarray(inc.geometry.values[650:1_460])).all()
    cells = demo.layer("cells")
    got = scale.cell_hour_counts(cells, path, scale=scale.Scale(partition_rows=900, **SYNC))
    assert (got.table.to_numpy() == _sjoin_table(cells, inc)).all()


# --- the audit's crosswalk ------------------------------------------------------------------------

@pytest.mark.parametrize("police,admin,pid,aid", [("police_grids", "gov_grids", "pgrid_id", "grid_id"),
                                                  ("jurisdictions", "police_grids", "station_id", "pgrid_id")])
def test_crosswalk_on_hilbert_partitions_equals_memory(demo, police, admin, pid, aid):
    p, a = demo.layer(police), demo.layer(admin)
    got = scale.crosswalk_areas(p, a, police_id=pid, admin_id=aid,
                                scale=scale.Scale(partition_rows=150, **SYNC))
    ref = crosswalk_pieces(p[[pid, "geometry"]].rename(columns={pid: "police"}),
                           a[[aid, "geometry"]].rename(columns={aid: "admin"}))
    assert len(got) == len(ref) > 20
    assert (got["police"].to_numpy() == ref["police"].to_numpy()).all()
    assert (got["admin"].to_numpy() == ref["admin"].to_numpy()).all()
    np.testing.assert_allclose(got["area_m2"], ref["area_m2"], rtol=1e-6)
    # the pieces tile each police unit
    per_unit = got.groupby("police")["area_m2"].sum()
    np.testing.assert_allclose(per_unit.loc[p[pid]].to_numpy(), p.geometry.area.to_numpy(), rtol=1e-6)


def test_hilbert_partitions_are_compact_patches(demo):
    grids = demo.layer("gov_grids")
    parts = scale.hilbert_partitions(grids, 4)
    assert sorted(np.concatenate(parts)) == list(range(len(grids)))

    def envelopes(chunks):  # the summed bounding-box area of the partitions
        return sum(shapely.area(shapely.envelope(shapely.union_all(grids.geometry.values[c])))
                   for c in chunks)

    shuffled = np.array_split(np.random.default_rng(0).permutation(len(grids)), 4)
    assert envelopes(parts) < 0.5 * envelopes(shuffled)


def test_audit_on_a_cluster_equals_the_audit_in_memory(cluster_address):
    spec = (f"{DEMO}:police_grids", f"{DEMO}:gov_grids")
    ref = audit_files(*spec)
    got = audit_files(*spec, scale=scale.Scale(scheduler=cluster_address, partition_rows=200))
    assert got.summary() == ref.summary()
    assert got.pieces.drop(columns="geometry").equals(ref.pieces.drop(columns="geometry"))


# --- command line -------------------------------------------------------------------------------

def test_cli_bad_scheduler_is_a_clear_error():
    code, out, err = run_cli("hot-times", str(DEMO), "--scheduler", "tcp://127.0.0.1:9")
    assert code == 2 and out == ""
    assert "--scheduler was 'tcp://127.0.0.1:9' but no Dask scheduler answered there" in err
    assert "Traceback" not in err and "dask scheduler" in err
    code, _, err = run_cli("audit", f"{DEMO}:police_grids", f"{DEMO}:gov_grids", "--scheduler", "nowhere")
    assert code == 2 and "--scheduler was 'nowhere'" in err and "Traceback" not in err
    code, _, err = run_cli("hot-times", str(DEMO), "--partition-rows", "0")
    assert code == 2 and "--partition-rows was 0" in err


def test_cli_hot_times_engines_agree(cluster_address):
    code, out, _ = run_cli("hot-times", str(DEMO), "--json")
    assert code == 0
    import json
    ref = json.loads(out)
    code, out, err = run_cli("hot-times", str(DEMO), "--json", "--scheduler", cluster_address,
                             "--partition-rows", "9000", "--station", "S02")
    assert code == 0, err
    got = json.loads(out)
    assert got["engine"] == "dask" and ref["engine"] == "memory"
    code, out, _ = run_cli("hot-times", str(DEMO), "--json", "--station", "S02")
    same = json.loads(out)
    for key in ("incidents", "hour_of_week", "peaks", "shifts", "first", "last"):
        assert got[key] == same[key]


def test_cli_hotspots_on_partitions_equal_memory():
    argv = ("hotspots", str(DEMO), "--shift", "22:00-06:00", "--top", "30", "--json",
            "--permutations", "19")
    code, ref, err = run_cli(*argv)
    assert code == 0, err
    code, got, err = run_cli(*argv, "--engine", "dask", "--scheduler", "synchronous",
                             "--partition-rows", "6000")
    assert code == 0, err
    assert got == ref and '"n_incidents"' in got


# --- PostGIS SQL ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pg_demo(pg_cluster, demo):
    """The demo's incidents, cells, jurisdictions and townships in a PostGIS workspace."""
    from geo.workspace import write_workspace
    url = pg_cluster.url("gridpatrol", "scale_demo")
    write_workspace(demo.with_layers(), url)
    return url


def test_sql_cell_hour_counts_equal_memory(pg_demo, demo):
    from geo.scale_sql import cell_hour_counts_sql
    got = cell_hour_counts_sql(pg_demo)
    cells, inc = demo.layer("cells"), demo.layer("incidents")
    assert (got.table.to_numpy() == _sjoin_table(cells, inc)).all()
    assert (got.table.index == cells["cell_id"].to_numpy()).all()
    assert (got.incidents, got.outside, got.without_time) == (30_000, 0, 0)


@pytest.mark.parametrize("kw", [{}, {"station": "S04", "township": "T03"}])
def test_sql_hot_times_equal_memory(pg_demo, demo, kw):
    ref = HT.workspace_hot_times(demo, **kw)
    got = scale.workspace_hot_times(pg_demo, **kw)  # auto: SQL for a database workspace
    assert scale.workspace_engine(pg_demo) == "postgis"
    assert (got.hour_of_week == ref.hour_of_week).all() and got.incidents == ref.incidents > 0
    assert (got.first, got.last, got.scope) == (ref.first, ref.last, ref.scope)
    with pytest.raises(InputError, match="`station` was 'S77'"):
        scale.workspace_hot_times(pg_demo, station="S77")


def test_sql_reads_text_times_as_pandas_does(pg_cluster):
    """Times stored as text: pandas infers one format from the first value; the SQL reads the
    same ones and leaves the same ones out (unpadded fields are read; a Z, fractions of a second
    or another layout are not)."""
    from pyproj import CRS

    from geo.scale_sql import cell_hour_counts_sql
    from geo.workspace import Workspace, write_workspace
    crs = CRS.from_epsg(32650)
    times = ["2025-01-06T08:30:00", "2025-1-7T9:05:00", "2025-01-06T08:30:00Z", None, "soon",
             "2025-01-08 10:00:00", "2025-01-08T10:00:00.5", "2025-01-09T23:59:59",
             "2025-01-10T07:00:00", "2025-01-10T07:10:00"]
    where = [Point(5, 5)] * 8 + [Point(10, 5), Point(30, 5)]  # on the shared border; outside
    inc = gpd.GeoDataFrame({"incident_id": [f"I{i}" for i in range(len(times))],
                            "time": pd.Series(times, dtype=object)}, geometry=where, crs=crs)
    cells = gpd.GeoDataFrame({"cell_id": [7, 3]}, geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)],
                             crs=crs)
    url = pg_cluster.url("gridpatrol", "scale_times")
    write_workspace(Workspace(crs=crs, layers={"incidents": inc, "cells": cells}), url)
    got = cell_hour_counts_sql(url)
    ref = scale.cell_hour_counts(cells, inc, scale=scale.Scale(engine="memory"))
    assert (got.incidents, got.outside, got.without_time) == (ref.incidents, ref.outside,
                                                              ref.without_time) == (4, 1, 5)
    assert (got.hour_of_week == ref.hour_of_week).all()
    # Mon 08:30, Tue 09:05, Thu 23:59 in cell 7; the border point (Fri 07:00) once, in cell 7 (fid 1)
    assert got.table.loc[7, [8, 24 + 9, 72 + 23, 96 + 7]].tolist() == [1, 1, 1, 1]
    assert got.table.to_numpy().sum() == 4 and got.table.loc[3].sum() == 0
