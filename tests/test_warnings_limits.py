"""Every warning reaches a person; unknown columns and ids are errors; garbage input and grids
that are too fine are refused (issue 11).

Through ``cli.main`` (exit codes, stderr lines, ``warnings`` in --json) and through the geo/
planning functions, on tiny literal networks and on a copy of the demo workspace.
"""
from __future__ import annotations

import json
import logging
import shutil
import threading
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

import cli
from geo.coverage import coverage_from_layers
from geo.errors import GridPatrolWarning, InputError
from geo.grid import MAX_CELLS, cell_count, cells_from_area, check_cell_count
from geo.ids import id_str, normalise_ids
from geo.network import SNAP_REFUSE_M, snap_points, tables_from_graph
from geo.ring import ring_crossings
from geo.traveltime import engine_from_graph
from geo.warn import captured_warnings
from planning.placement import place_posts
from tests.netutil import LINE, LINE_EDGES, METRIC, graph, points

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "boundaries" / "demo_county.gpkg"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """A copy of the demo workspace (nothing here writes to the original)."""
    if not DEMO.exists():
        pytest.skip("the demo workspace is missing (make demo)")
    path = tmp_path_factory.mktemp("demo") / "demo.gpkg"
    shutil.copyfile(DEMO, path)
    return path


@pytest.fixture
def line_net(tmp_path) -> Path:
    """The line A-B-C-D-E (1 km apart) plus an island X-Y that is dropped, as a GeoPackage."""
    coords = {**LINE, "X": (50_000, 0), "Y": (51_000, 0)}
    G = graph(coords, [*LINE_EDGES, ("X", "Y")], keep_largest=False)
    nodes, edges = tables_from_graph(G)
    path = tmp_path / "net.gpkg"
    nodes.to_file(path, layer="road_nodes")
    edges.to_file(path, layer="road_edges")
    return path


# ----------------------------------------------------------------------------------------------
# One id rule

def test_ids_are_strings_and_never_cast_to_int():
    assert normalise_ids(pd.Series([7, 7.0, " 12 ", None, "A-1", np.nan, "007", 7.5])).tolist() == \
        ["7", "7", "12", None, "A-1", None, "007", "7.5"]
    assert normalise_ids(pd.Series([1, 2], dtype="int64")).tolist() == ["1", "2"]
    assert id_str(np.int64(7)) == "7" and id_str(np.float32(3.0)) == "3" and id_str("  ") is None
    from geo.validate import normalise_ids as again  # the re-export keeps working
    assert again is normalise_ids


def test_plan_compares_cell_ids_as_strings():
    from planning.plan import district_graph
    cells = gpd.GeoDataFrame({"cell_id": ["007", "8"], "incidents": [1, 1]},
                             geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)], crs=METRIC)
    stations = gpd.GeoDataFrame({"station_id": [1.0, 2.0]},
                                geometry=[Point(50, 50), Point(150, 50)], crs=METRIC)
    g = district_graph(cells, stations, weights="incidents")
    assert g.station_ids == ("1", "2")  # 1.0 is station "1", as everywhere else
    assert g.positions(["8", 8, 8.0]).tolist() == [1, 1, 1]
    with pytest.raises(InputError, match="cell ids 7 are not cells"):
        g.positions([7])  # "007" is not 7: ids are never cast to int


# ----------------------------------------------------------------------------------------------
# Warning capture

def test_captured_warnings_collects_logs_and_gridpatrol_warnings_once():
    log = logging.getLogger("geo.some_module")
    with captured_warnings() as notes:
        log.warning("%d cells far away", 3)
        log.warning("%d cells far away", 3)  # the same message twice: kept once
        logging.getLogger("planning.x").error("worse than a warning")
        logging.getLogger("somebody.else").warning("not ours")
        warnings.warn("a repaired  problem", GridPatrolWarning, stacklevel=1)
        warnings.warn("a repaired  problem", GridPatrolWarning, stacklevel=1)
        log.info("not a warning")
    assert notes == ["3 cells far away", "worse than a warning", "a repaired problem"]


def test_captured_warnings_sees_its_own_thread_only():
    log = logging.getLogger("geo.threads")
    with captured_warnings() as notes:
        other = threading.Thread(target=lambda: log.warning("from another session"))
        other.start()
        other.join()
        log.warning("mine")
    assert notes == ["mine"]


def test_cli_prints_every_warning_and_lists_them_in_json(capsys, line_net, tmp_path):
    # a facility 800 m from the road (snapped, with a warning) on a network whose island no
    # facility reaches (another warning, naming its nodes)
    points({"F1": (0, 800)}, id_col="station_id").to_file(tmp_path / "fac.gpkg")
    code, out, err = run(capsys, "coverage", "--network", line_net, "--facilities",
                         tmp_path / "fac.gpkg", "--minutes", "1,3", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert any("farther than 500 m" in w and "F1 (800 m)" in w for w in data["warnings"])
    assert any("2 of 7 network nodes are reached by no facility" in w and w.endswith(": X, Y")
               for w in data["warnings"])
    assert data["unreachable"] == 2 and data["unreachable_nodes"] == ["X", "Y"]
    lines = [ln for ln in err.splitlines() if ln.startswith("gridpatrol coverage: warning: ")]
    assert len(lines) == len(data["warnings"]) == 2
    # text mode: the same warnings on stderr, the result on stdout
    code, out, err = run(capsys, "coverage", "--network", line_net, "--facilities", tmp_path / "fac.gpkg")
    assert code == 0 and "nodes" in out and err.count("warning:") == 2


def test_command_warnings_are_merged_without_duplicates(capsys, tmp_path):
    area = gpd.GeoDataFrame({"name": ["x"]}, geometry=[box(0, 0, 2000, 1000)], crs=METRIC)
    area.to_crs(4326).to_file(tmp_path / "area.geojson")  # reprojected: one warning
    code, out, err = run(capsys, "import", tmp_path / "ws.gpkg", "--area", tmp_path / "area.geojson",
                         "--json")
    assert code == 0, err
    data = json.loads(out)
    assert len(data["warnings"]) == 1 and "working CRS chosen" in data["warnings"][0]
    assert err.count("gridpatrol import: warning: ") == 1


def test_far_facility_is_refused_not_snapped(capsys, line_net, tmp_path):
    G = graph(LINE, LINE_EDGES)
    far = points({"P": (0, 0), "Paris": (-9_000_000, 0)})
    with pytest.raises(InputError, match=r"1 facilities lie farther than 5 km .*Paris \(9,000\.0 km\)"):
        snap_points(far, G, id_col="id", what="facilities", refuse_m=SNAP_REFUSE_M)
    with captured_warnings() as notes:  # demand (cells) is snapped with a warning
        snapped = snap_points(far, G, id_col="id", what="cells")
    assert snapped["node"].tolist() == ["A", "A"] and "Paris (9000000 m)" in notes[0]
    with pytest.raises(InputError, match="farther than 5 km"):  # coverage refuses far facilities
        coverage_from_layers(G, engine_from_graph(G), far, id_col="id")
    far.to_file(tmp_path / "far.gpkg")
    code, out, err = run(capsys, "coverage", "--network", line_net, "--facilities", tmp_path / "far.gpkg")
    assert code == 2 and "farther than 5 km" in err and "internal error" not in err


# ----------------------------------------------------------------------------------------------
# Unknown columns and ids: exit 2, naming the argument, the value and what is allowed

@pytest.mark.parametrize("argv,expected", [
    (["redistrict", "{demo}", "--weight", "NOPE"], r"weight column 'NOPE' is not a cell column.*incidents"),
    (["redistrict", "{demo}", "--lock", "99999,abc"], r"cell ids 99999, abc are not cells"),
    (["redistrict", "{demo}", "--lock-stations", "NOPE"], r"station 'NOPE' is not a station.*S01"),
    (["patrol", "{demo}", "--station", "NOPE", "--units", "1", "--shift", "08:00-16:00"],
     r"station was 'NOPE'.*S01"),
])
def test_unknown_ids_in_workspace_commands_exit_2(capsys, demo, argv, expected):
    import re
    code, out, err = run(capsys, *[a.format(demo=demo) for a in argv])
    assert code == 2, err
    assert re.search(expected, err.replace("\n", " ")), err
    assert "internal error" not in err and "Traceback" not in err


@pytest.mark.parametrize("extra,expected", [
    (["coverage", "--weight", "NOPE"], "--weight was 'NOPE' but the cells have no such column; columns are [cell_id"),
    (["coverage", "--id", "NOPE"], "--id was 'NOPE' but the facilities have no such column; columns are [station_id"),
    (["place-posts", "--weight", "NOPE", "--k", "1"], "--weight was 'NOPE' but the cells have no such column"),
    (["place-posts", "--existing-id", "NOPE", "--k", "1", "--existing", "{fac}"],
     "--existing-id was 'NOPE' but the existing sites have no such column"),
    (["ring", "--checkpoint-id", "NOPE"], "--checkpoint-id was 'NOPE' but the checkpoints have no such column; "
                                          "columns are [checkpoint_id"),
    (["seal", "--units", "{fac}", "--exits", "{fac}", "--unit-id", "NOPE"], "--unit-id was 'NOPE'"),
])
def test_unknown_columns_of_network_commands_exit_2(capsys, tmp_path, line_net, extra, expected):
    # a workspace-like network file: the line network plus stations, cells and checkpoints
    ws = tmp_path / "ws.gpkg"
    shutil.copyfile(line_net, ws)
    points({"S1": (0, 0)}, id_col="station_id").to_file(tmp_path / "fac.gpkg")
    cells = gpd.GeoDataFrame({"cell_id": list("abcde"), "population": [1.0] * 5, "incidents": [1] * 5},
                             geometry=[box(x - 100, -100, x + 100, 100) for x, _ in LINE.values()], crs=METRIC)
    command, *rest = extra
    args = [command, "--network", ws, *[a.format(fac=tmp_path / "fac.gpkg") for a in rest]]
    if command in ("coverage", "place-posts"):
        cells.to_file(tmp_path / "cells.gpkg")
        args += ["--cells", tmp_path / "cells.gpkg"]
        if command == "coverage":
            args += ["--facilities", tmp_path / "fac.gpkg"]
    if command == "ring":
        gpd.GeoDataFrame(geometry=[box(1500, -500, 5000, 500)], crs=METRIC).to_file(tmp_path / "ring.gpkg")
        points({"K": (1500, 0)}, id_col="checkpoint_id").to_file(tmp_path / "cp.gpkg")
        args += ["--ring", tmp_path / "ring.gpkg", "--checkpoints", tmp_path / "cp.gpkg"]
    code, out, err = run(capsys, *args)
    assert code == 2, err
    assert expected in err, err
    assert "internal error" not in err


def test_library_rejects_unknown_columns_naming_the_parameter():
    from geo.coverage import coverage_from_facilities
    from geo.ring import blocked_edges
    from planning.placement import demand_from_cells
    G = graph(LINE, LINE_EDGES)
    cells = gpd.GeoDataFrame({"cell_id": ["a"], "population": [1.0]}, geometry=[box(-1, -1, 1, 1)], crs=METRIC)
    with pytest.raises(InputError, match=r"^weight was 'NOPE' but the cells have no such column"):
        coverage_from_facilities(engine_from_graph(G), {"F": "A"}, cells=cells,
                                 cell_nodes=pd.Series(["A"]), weight="NOPE")
    with pytest.raises(InputError, match=r"^id_col was 'NOPE' but the checkpoints have no such column"):
        blocked_edges(G, points({"K": (0, 0)}, id_col="checkpoint_id"), id_col="NOPE")
    with pytest.raises(InputError, match=r"^weight was 'NOPE'"):
        demand_from_cells(cells, pd.Series(["A"]), weight="NOPE")


# ----------------------------------------------------------------------------------------------
# A ring that misses the network is not closed

def test_ring_that_misses_the_network_is_not_closed(caplog):
    G = graph(LINE, LINE_EDGES)
    with captured_warnings() as notes:
        far = ring_crossings(G, gpd.GeoDataFrame(geometry=[box(90_000, 0, 91_000, 1000)], crs=METRIC))
    assert not far.closed and "no road node lies inside the ring" in far.reason
    assert far.summary()["closed"] is False and far.summary()["reason"] == far.reason
    assert len(notes) == 1 and "reported as not closed" in notes[0]
    everything = ring_crossings(G, gpd.GeoDataFrame(geometry=[box(-500, -500, 4500, 500)], crs=METRIC))
    assert not everything.closed and "all 5 road nodes lie inside" in everything.reason
    between = ring_crossings(G, gpd.GeoDataFrame(geometry=[box(1500, -500, 5000, 500)], crs=METRIC),
                             checkpoints=points({"K": (1500, 0)}, id_col="checkpoint_id"))
    assert between.closed and between.reason is None  # a real ring still closes


def test_cli_ring_missing_the_network(capsys, line_net, tmp_path):
    gpd.GeoDataFrame(geometry=[box(90_000, 0, 91_000, 1000)], crs=METRIC).to_file(tmp_path / "far.gpkg")
    code, out, err = run(capsys, "ring", "--network", line_net, "--ring", tmp_path / "far.gpkg", "--propose")
    assert code == 0 and "NOT CLOSED" in out and "CLOSED" not in out.replace("NOT CLOSED", "")
    assert "gridpatrol ring: warning: the checkpoint ring cannot be checked" in err
    code, out, err = run(capsys, "ring", "--network", line_net, "--ring", tmp_path / "far.gpkg", "--json")
    data = json.loads(out)
    assert data["closed"] is False and data["reason"] and data["warnings"]


# ----------------------------------------------------------------------------------------------
# Targets not met say so, with the figure reached

def test_set_cover_target_not_met_warns_with_the_share():
    G = graph(LINE, LINE_EDGES)
    demand = pd.Series(1.0, index=list("ABCDE"))
    with captured_warnings() as notes:
        result = place_posts(engine_from_graph(G), demand, minutes=1.0, candidates=["A"],
                             model="set_cover")
    assert result.after["share_within"] == pytest.approx(0.4)
    assert any("coverage target not met" in n and "40 %" in n and "C, D, E" in n for n in notes), notes


def test_redistrict_deviation_not_met_is_printed(capsys, demo):
    code, out, err = run(capsys, "redistrict", demo, "--max-deviation", "0.0001", "--time-limit", "0.3",
                         "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["target_met"] is False and data["max_deviation_target"] == 0.0001
    hits = [w for w in data["warnings"] if "workload target not met" in w]
    assert len(hits) == 1 and "max_deviation 0.01 %" in hits[0]
    assert f"{100 * data['max_workload_deviation']:.3g} %" in hits[0]  # the figure reached
    assert "gridpatrol redistrict: warning: workload target not met" in err


# ----------------------------------------------------------------------------------------------
# Garbage input: exit 2 naming the file, never an internal error

@pytest.fixture
def garbage(tmp_path) -> dict[str, Path]:
    rng = np.random.default_rng(11)
    noise = rng.integers(0, 256, 4000, dtype=np.uint8).tobytes()
    files = {
        "random.csv": noise,
        "random_text.csv": bytes(b for b in noise if b) + b"\n",
        "empty.csv": b"",
        "binary.geojson": noise,
        "binary.gpkg": noise,
        "wide.csv": (",".join(f"c{i}" for i in range(3000)) + "\n"
                     + ",".join("1" for _ in range(3000)) + "\n").encode(),
        "no_coords.csv": b"a,b\n1,2\n",
        "ragged.csv": b"lon,lat\n1,2\n3,4,5,6\n",
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    return {name: tmp_path / name for name in files}


@pytest.mark.parametrize("name", ["random.csv", "random_text.csv", "empty.csv", "binary.geojson",
                                  "binary.gpkg", "wide.csv", "no_coords.csv", "ragged.csv"])
def test_garbage_files_exit_2(capsys, garbage, line_net, tmp_path, name):
    path = garbage[name]
    code, out, err = run(capsys, "coverage", "--network", line_net, "--facilities", path)
    assert code == 2 and name in err and "internal error" not in err, err
    assert len(err) < 1500  # a wide file does not flood the message with its columns
    code, out, err = run(capsys, "import", tmp_path / "ws.gpkg", "--area", path)
    assert code == 2 and name in err and "internal error" not in err, err
    assert not (tmp_path / "ws.gpkg").exists()


@pytest.mark.parametrize("name", ["binary.gpkg", "random.csv"])
def test_garbage_network_exits_2(capsys, garbage, name):
    code, out, err = run(capsys, "coverage", "--network", garbage[name])
    assert code == 2 and name in err and "internal error" not in err, err


# ----------------------------------------------------------------------------------------------
# A cell limit, checked before the grid is built

def test_grid_over_the_limit_is_refused_before_it_is_built():
    area = gpd.GeoDataFrame(geometry=[box(0, 0, 10_000, 10_000)], crs=METRIC)  # 100 km²
    assert cell_count(area, size_m=500) == (400, 441)
    started = time.perf_counter()
    with pytest.raises(InputError, match=r"cell size was 10 m, which would make about 1,000,000 cells "
                                         r"over the 100\.0 km² area, more than the 200,000 allowed; "
                                         r"give a cell size of at least 23 m"):
        cells_from_area(area, size_m=10)
    assert time.perf_counter() - started < 0.5
    check_cell_count(area, size_m=23)  # the size suggested is allowed
    with pytest.raises(InputError, match="positive number of metres"):
        check_cell_count(area, size_m=0)
    # a thin diagonal area: few cells but a huge bounding box is refused too
    thin = gpd.GeoDataFrame(geometry=[box(0, 0, 200_000, 10)], crs=METRIC).rotate(45, origin=(0, 0))
    thin = gpd.GeoDataFrame(geometry=thin, crs=METRIC)
    cells, candidates = cell_count(thin, size_m=100)
    assert cells <= MAX_CELLS < candidates
    with pytest.raises(InputError, match="at least"):
        check_cell_count(thin, size_m=100)


def test_import_with_a_tiny_cell_size_exits_2_at_once(capsys, tmp_path):
    started = time.perf_counter()
    code, out, err = run(capsys, "import", tmp_path / "ws.gpkg", "--area", f"{DEMO}:area",
                         "--cell-size", "5")
    assert time.perf_counter() - started < 1.0
    assert code == 2 and out == ""
    assert "cells over the" in err and "more than the 200,000 allowed" in err
    assert "give a cell size of at least 62 m" in err
    assert not (tmp_path / "ws.gpkg").exists()


# ----------------------------------------------------------------------------------------------
# The app: warnings shown, internal errors without traceback or server path

def _page():
    import logging

    import streamlit as st

    from geo.errors import InputError
    from ui.errors import show_warnings, shown_errors

    with shown_errors():
        with shown_errors():  # nested: the warning is shown once
            logging.getLogger("geo.network").warning("3 facilities lie farther than 500 m")
        st.write("after the warning")
        show_warnings(["a note kept by a cached computation"])  # shown once, not again at exit
        logging.getLogger("geo.coverage").warning("a note kept by a cached computation")
    with shown_errors():
        raise RuntimeError("boom in /srv/gridpatrol/data/secret/ws.gpkg")
    with shown_errors():
        raise InputError("/srv/gridpatrol/data/uploads/ab12/stations.csv: not a readable CSV table")
    st.write("the page goes on")


def test_shown_errors_in_the_app():
    from streamlit.testing.v1 import AppTest

    from ui.i18n import text
    at = AppTest.from_function(_page, default_timeout=60).run()
    assert not at.exception
    warnings_shown = [w.value for w in at.warning]
    assert len(warnings_shown) == 2 and "3 facilities lie farther than 500 m" in warnings_shown[0]
    assert "a note kept by a cached computation" in warnings_shown[1]
    errors = [e.value for e in at.error]
    assert errors[0] in (text("err.internal", "zh"), text("err.internal", "en"))
    assert errors[1] == "stations.csv: not a readable CSV table"
    page = " ".join(errors + warnings_shown + [m.value for m in at.markdown])
    assert "Traceback" not in page and "/srv" not in page and "boom" not in page
    assert "the page goes on" in page
