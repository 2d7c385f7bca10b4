"""Validation reports: problems as readable tables, and the re-check of an opened workspace."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable, Sequence

import geopandas as gpd
import pandas as pd

from geo.errors import Problem, format_ids
from geo.validate import LAYERS, check_layer, check_stations_in_jurisdictions
from geo.workspace import Workspace
from ui.i18n import STRINGS, text

__all__ = ["PROBLEM_COLUMNS", "problems_table", "recheck_workspace"]

PROBLEM_COLUMNS = ("layer", "file", "rule", "message", "ids", "fix")


def _hide(value: str, folders: Iterable[str]) -> str:
    """Remove temporary upload folders (``<folder>/<hash>/``) from a file name or a message."""
    for folder in folders:
        value = re.sub(re.escape(str(folder).rstrip("/")) + r"/(?:[0-9a-f]+/)?", "", value)
    return value


def problems_table(problems: Sequence[Problem], *, lang: str = "zh",
                   hide_folders: Sequence[str | Path] = ()) -> pd.DataFrame:
    """One row per problem with translated headers: layer, file, rule, message, ids, fix.

    ``hide_folders`` are temporary folders whose paths are cut out of file names and messages,
    so that the user sees the name of the file they uploaded.
    """
    folders = [str(f) for f in hide_folders]
    rows = []
    for p in problems:
        key = f"layer.{p.layer}"
        label = f"{text(key, lang)} ({p.layer})" if key in STRINGS else p.layer
        rows.append({
            "layer": label,
            "file": _hide(str(p.source), folders),
            "rule": p.rule,
            "message": _hide(str(p.message), folders),
            "ids": format_ids(p.ids) if p.ids else "",
            "fix": _hide(str(p.fix), folders),
        })
    frame = pd.DataFrame(rows, columns=list(PROBLEM_COLUMNS))
    return frame.rename(columns={c: text(f"col.{c}", lang) for c in PROBLEM_COLUMNS})


def recheck_workspace(ws: Workspace) -> tuple[list[Problem], list[Problem]]:
    """Run the import checks again on every layer of an opened workspace.

    A workspace edited outside GridPatrol (e.g. in QGIS) may have lost ids or validity. Returns
    (problems, warnings); the workspace is not changed.
    """
    problems: list[Problem] = []
    warnings: list[Problem] = []
    source = ws.path.name if ws.path else ws.name
    area = ws.layer("area") if ws.has("area") else None
    for name, frame in ws.layers.items():
        if name not in LAYERS or not isinstance(frame, gpd.GeoDataFrame):
            continue
        spec = LAYERS[name]
        checked = check_layer(frame, name, working_crs=ws.crs, crs_chosen=True,
                              area=area if spec.geometry == "point" and name != "road_nodes" else None,
                              source=f"{source}:{name}")
        problems += checked.problems
        warnings += checked.warnings
    if ws.has("stations") and ws.has("jurisdictions"):
        stations, jurisdictions = ws.layer("stations"), ws.layer("jurisdictions")
        if "station_id" in stations.columns and "station_id" in jurisdictions.columns:
            stations = stations.copy()
            jurisdictions = jurisdictions.copy()
            stations.attrs["source"] = f"{source}:stations"
            jurisdictions.attrs["source"] = f"{source}:jurisdictions"
            checked = check_stations_in_jurisdictions(stations, jurisdictions)
            problems += checked.problems
            warnings += checked.warnings
    return problems, warnings
