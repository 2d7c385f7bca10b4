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


# Fixes in the code that say nothing the generic fix of the rule does not say.
_EMPTY_FIXES = frozenset({"", "see the message", "none needed"})


def _norm(value: str) -> str:
    return " ".join(value.lower().split()).rstrip(".")


def _rule_texts(rule: str, message: str, fix: str, lang: str) -> tuple[str, str, str]:
    """The rule, message and fix columns of one problem in ``lang``.

    In Chinese a rule with ``rule.<name>``/``rulefix.<name>`` strings gives the message
    "<title>：<detail>" (the detail keeps column names, counts and file names) and the fix
    "<generic fix>（<detail fix>）", the detail left out when it adds nothing. The rule column
    keeps the bare machine name (tests/test_app.py looks rows up by it). English, and rules
    without strings, keep the problem's own words.
    """
    title_key, fix_key = f"rule.{rule}", f"rulefix.{rule}"
    if lang != "zh" or title_key not in STRINGS or fix_key not in STRINGS:
        return rule, message, fix
    title, generic = text(title_key, lang), text(fix_key, lang)
    detail = message.strip()
    shown_message = f"{title}：{detail}" if detail else title
    if _norm(fix) in _EMPTY_FIXES or _norm(fix) == _norm(text(fix_key, "en")):
        shown_fix = generic
    else:
        shown_fix = f"{generic}（{fix.strip()}）"
    return rule, shown_message, shown_fix


def problems_table(problems: Sequence[Problem], *, lang: str = "zh",
                   hide_folders: Sequence[str | Path] = ()) -> pd.DataFrame:
    """One row per problem with translated headers: layer, file, rule, message, ids, fix.

    ``hide_folders`` are temporary folders whose paths are cut out of file names and messages,
    so that the user sees the name of the file they uploaded. In Chinese, known rules get a
    Chinese title and fix in front of the (English) details; see ``_rule_texts``.
    """
    folders = [str(f) for f in hide_folders]
    rows = []
    for p in problems:
        key = f"layer.{p.layer}"
        label = f"{text(key, lang)} ({p.layer})" if key in STRINGS else p.layer
        rule, message, fix = _rule_texts(str(p.rule), _hide(str(p.message), folders),
                                         _hide(str(p.fix), folders), lang)
        rows.append({
            "layer": label,
            "file": _hide(str(p.source), folders),
            "rule": rule,
            "message": message,
            "ids": format_ids(p.ids) if p.ids else "",
            "fix": fix,
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
