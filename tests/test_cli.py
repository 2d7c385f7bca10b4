"""The `gridpatrol` command: demo, info and import, JSON output and exit codes."""
from __future__ import annotations

import json

import geopandas as gpd
import pytest

import cli
from tests.clirun import import_args


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_import_builds_a_workspace(capsys, inputs, tmp_path):
    out = tmp_path / "ws.gpkg"
    code, stdout, err = run(capsys, *import_args(inputs, out), "--json")
    assert code == 0, err
    info = json.loads(stdout)
    assert info["crs"] == "EPSG:32650" and info["area_km2"] == pytest.approx(2.0, abs=1e-3)
    assert info["layers"] == {"area": 1, "townships": 2, "stations": 2, "jurisdictions": 2, "cells": 8}
    assert any("dissolved" in w and "S2 (x2)" in w for w in info["warnings"])
    cells = gpd.read_file(out, layer="cells")
    assert cells["population"].sum() == pytest.approx(4000, rel=1e-6)
    assert sorted(cells["station_id"].unique()) == ["S1", "S2"]


def test_import_hex_cells_and_text_output(capsys, inputs, tmp_path):
    code, stdout, _ = run(capsys, *import_args(inputs, tmp_path / "h.gpkg"), "--cell-shape", "hex",
                          "--cell-size", "250")
    assert code == 0 and "EPSG:32650" in stdout and "cells" in stdout
    cells = gpd.read_file(tmp_path / "h.gpkg", layer="cells")
    assert cells.area.sum() == pytest.approx(2_000_000, rel=1e-4)


def test_import_reports_every_problem_and_writes_nothing(capsys, inputs, tmp_path):
    (inputs / "stations.csv").write_text("pcs,lon,lat\nS1,1,1\n,2,2\n", encoding="utf-8")
    out = tmp_path / "bad.gpkg"
    args = import_args(inputs, out)
    args[args.index("--township-id") + 1] = "nope"
    code, stdout, err = run(capsys, *args)
    assert code == 2 and stdout == ""
    assert "problem(s) in the input, nothing written" in err
    assert "no id column 'nope'" in err and "town.geojson" in err
    assert "1 features have no pcs (rows: #2)" in err
    assert "Traceback" not in err and not out.exists()


def test_stations_outside_their_jurisdiction_fail_the_import(capsys, inputs, tmp_path):
    lines = (inputs / "stations.csv").read_text(encoding="utf-8").splitlines()
    lines[1], lines[2] = lines[1].replace("S1,", "S2,", 1), lines[2].replace("S2,", "S1,", 1)
    (inputs / "stations.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, _, err = run(capsys, *import_args(inputs, tmp_path / "x.gpkg"))
    assert code == 2 and "2 stations lie outside their own jurisdiction (rows: S2, S1)" in err


def test_bad_arguments_exit_2_with_one_line(capsys, tmp_path):
    code, _, err = run(capsys, "info", str(tmp_path / "missing.gpkg"))
    assert code == 2 and err.count("\n") == 1 and "workspace not found" in err
    code, _, err = run(capsys, "demo", "--out", str(tmp_path / "demo.txt"))
    assert code == 2 and "ending in .gpkg" in err
    with pytest.raises(SystemExit) as exc:
        cli.main(["import"])
    assert exc.value.code == 2


def test_internal_failure_exits_1_without_traceback(capsys, monkeypatch, tmp_path):
    import geo.workspace
    monkeypatch.setattr(geo.workspace, "read_workspace", lambda *a, **k: 1 / 0)
    (tmp_path / "w.gpkg").write_bytes(b"")
    code, _, err = run(capsys, "info", str(tmp_path / "w.gpkg"))
    assert code == 1 and "internal error (ZeroDivisionError" in err and "Traceback" not in err


def test_demo_writes_the_embedded_workspace_and_info_reads_it(capsys, tmp_path):
    out = tmp_path / "demo.gpkg"
    code, stdout, err = run(capsys, "demo", "--out", str(out), "--json")
    assert code == 0, err
    payload = json.loads(stdout)
    assert payload["path"] == str(out) and payload["layers"]["stations"] >= 8
    code, stdout, _ = run(capsys, "info", str(out), "--json")
    info = json.loads(stdout)
    assert set(info) >= {"crs", "area_km2", "layers"} and 600 <= info["area_km2"] <= 900
    assert info["layers"] == payload["layers"]


def test_json_into_a_closed_pipe_ends_quietly(tmp_path):
    """`gridpatrol ... --json | head -c 10`: the reader leaves early; no BrokenPipeError trace."""
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    demo = root / "data" / "boundaries" / "demo_county.gpkg"
    cmd = (f"{sys.executable} -c 'import sys, cli; sys.exit(cli.main(sys.argv[1:]))' audit "
           f"{demo}:police_grids {demo}:gov_grids --json | head -c 10")
    done = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], cwd=root, capture_output=True,
                          text=True, timeout=300)
    assert done.stdout.startswith("{") and len(done.stdout) == 10
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr[-2000:]
    assert done.returncode == 0
