"""Run the ``gridpatrol`` command line in-process and keep what it printed (for tests)."""
from __future__ import annotations

import contextlib
import io


def run_cli(*argv: str) -> tuple[int, str, str]:
    """``cli.main(argv)``: its exit code, stdout and stderr."""
    import cli
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(argv))
    return code, out.getvalue(), err.getvalue()


def import_args(d, out) -> list[str]:
    return ["import", str(out), "--area", str(d / "area.geojson"), "--townships", str(d / "town.geojson"),
            "--township-id", "code", "--stations", str(d / "stations.csv"), "--station-id", "pcs",
            "--jurisdictions", f"{d / 'jur.gpkg'}:jurisdictions", "--jurisdiction-id", "pcs",
            "--attributes", str(d / "town.geojson"), "--columns", "pop=population", "--crs", "32650"]
