"""Tables and files for the pages: attribute tables without geometry, layer lists, metrics,
tables as the pages show them (headers, units and times in the UI language), downloads.

One rule for every table a page draws (``table_for_page``, ``show_table``):

- headers in the UI language: the caller's ``<keys>.<column>`` string, else ``col.<column>``
  (a column the strings do not know, e.g. one from the user's own file, keeps its name);
  ``<x>_before``/``<x>_after``/``<x>_change`` are named from ``<x>``; the unit of the column's
  kind follows in brackets (``人口 (人)``, ``面积 (km²)``, ``用时 (分钟)``);
- values in the units people read: areas in km² with one decimal, minutes with one decimal,
  shares as % with one decimal, people and counts whole, stored UTC stamps as local time
  (``geo.times.local_time_text``, ``2026-12-06 11:05``), road classes and the values the code
  writes (``col.value.<column>.<value>``: directions, rings, ``station``) in words;
- downloads keep the data's own column names, units and UTC stamps (readable by GIS,
  spreadsheets and the gridpatrol command); their buttons say so (``download_help``).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import geopandas as gpd
import pandas as pd

from geo.markup import spreadsheet_safe
from geo.times import local_time_text
from geo.validate import LAYERS
from geo.workspace import Workspace, workspace_info
from ui.i18n import STRINGS, layer_name, road_class_label, text

__all__ = ["attribute_table", "layer_table", "workspace_metrics", "geojson_bytes", "csv_bytes",
           "KINDS", "column_kind", "column_header", "table_for_page", "show_table", "download_help"]


def attribute_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The layer's attributes as a plain DataFrame (geometry dropped), for ``st.dataframe``."""
    if isinstance(frame, gpd.GeoDataFrame):
        return pd.DataFrame(frame.drop(columns=frame.geometry.name))
    return pd.DataFrame(frame)


def layer_table(ws: Workspace, *, lang: str = "zh") -> pd.DataFrame:
    """One row per layer: name, display name, feature count and geometry type(s)."""
    rows = []
    for name, frame in ws.layers.items():
        if isinstance(frame, gpd.GeoDataFrame):
            types = sorted(str(t) for t in frame.geometry.geom_type.dropna().unique())
            geometry = ", ".join(types) or (LAYERS[name].geometry if name in LAYERS else "")
        else:
            geometry = text("data.table_only", lang)
        rows.append({"name": name, "label": layer_name(name, lang), "features": int(len(frame)),
                     "geometry": geometry})
    frame = pd.DataFrame(rows, columns=["name", "label", "features", "geometry"])
    return frame.rename(columns={c: text(f"data.col.{c}", lang) for c in frame.columns})


def workspace_metrics(ws: Workspace) -> dict[str, float | int | None]:
    """Headline numbers: ``area_km2``, ``population`` (cells, else townships), ``stations``,
    ``incidents`` (None where the workspace lacks the layer or column)."""
    info = workspace_info(ws)
    population = None
    for name in ("cells", "townships"):
        if ws.has(name) and "population" in ws.layer(name).columns:
            population = float(pd.to_numeric(ws.layer(name)["population"], errors="coerce").sum())
            break
    return {
        "area_km2": info["area_km2"],
        "population": population,
        "stations": int(len(ws.layer("stations"))) if ws.has("stations") else None,
        "incidents": int(len(ws.layer("incidents"))) if ws.has("incidents") else None,
    }


def geojson_bytes(gdf: gpd.GeoDataFrame) -> bytes:
    """The layer as UTF-8 GeoJSON in EPSG:4326 (what web maps and most tools expect)."""
    return gdf.to_crs("EPSG:4326").to_json(ensure_ascii=False, drop_id=True).encode("utf-8")


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """The attributes as CSV, UTF-8 with a byte-order mark so that Excel shows Chinese correctly;
    text that a spreadsheet would run as a formula starts with an apostrophe (``spreadsheet_safe``)."""
    return spreadsheet_safe(attribute_table(frame)).to_csv(index=False).encode("utf-8-sig")


# --- tables as the pages show them ---------------------------------------------------------------

# Kinds of column: how values are converted and formatted, and the unit named in the header.
KINDS = ("text", "count", "people", "number", "m2", "km2", "minutes", "seconds", "metres",
         "share", "percent", "deviation", "stamp", "datetime")
_KIND_OF: dict[str, str] = {
    "population": "people", "officers": "people", "auxiliaries": "people",
    "incidents": "count", "cells": "count", "nodes": "count", "count": "count", "sites": "count",
    "demand_within": "count", "features": "count", "stops": "count",
    "weight_within": "number", "workload": "number", "speed_kmh": "number",
    "area_m2": "m2", "area_km2": "km2",
    "minutes": "minutes", "turnout_min": "minutes", "turnout_min_least": "minutes",
    "turnout_min_mean": "minutes", "turnout_min_most": "minutes", "travel_min": "minutes",
    "units_needed": "count",
    "travel_s": "seconds", "length_m": "metres", "width_m": "metres",
    "share_within": "share", "max_deviation": "deviation", "deviation": "deviation",
    "created": "stamp", "time": "datetime",
}
_UNIT_OF = {"people": "people", "m2": "km2", "km2": "km2", "minutes": "minutes",
            "seconds": "seconds", "metres": "metres"}
_STATES = ("before", "after", "change")


def _split_state(column: str) -> tuple[str, str | None]:
    """``"population_before"`` -> (``"population"``, ``"before"``); other names unchanged."""
    for state in _STATES:
        if column.endswith(f"_{state}") and len(column) > len(state) + 1:
            return column[: -len(state) - 1], state
    return column, None


def column_kind(column: str, kinds: Mapping[str, str] | None = None) -> str:
    """The kind of ``column`` (one of ``KINDS``): ``kinds`` given for it or for its base name
    (``x`` of ``x_before``), else the kind its name stands for, else ``text``."""
    base, _ = _split_state(str(column))
    for name in (str(column), base):
        if kinds and name in kinds:
            return kinds[name]
    return _KIND_OF.get(str(column), _KIND_OF.get(base, "text"))


def column_header(column: str, lang: str, *, keys: str | None = None,
                  kinds: Mapping[str, str] | None = None) -> str:
    """The header of ``column`` in ``lang``: ``<keys>.<name>`` or ``col.<name>`` (the column's
    own name when neither string exists), with the state of ``_before``/``_after``/``_change``
    columns and the unit of the column's kind (``调整前人口 (人)``, ``Population before (people)``)."""
    base, state = _split_state(str(column))
    if state is not None and not any(f"{p}.{base}" in STRINGS for p in (keys, "col") if p):
        base, state = str(column), None  # a name that only ends like a state
    label = next((text(f"{p}.{base}", lang) for p in (keys, "col") if p and f"{p}.{base}" in STRINGS), base)
    if state is not None:
        label = text(f"col.state.{state}", lang, label=label)
    unit = _UNIT_OF.get(column_kind(str(column), kinds))
    return f"{label} ({text(f'col.unit.{unit}', lang)})" if unit else label


def _values(values: pd.Series, kind: str, column: str, lang: str) -> tuple[pd.Series, object]:
    """The values converted for showing, and the column configuration that formats them."""
    import streamlit as st

    cc = st.column_config
    if kind in ("count", "people"):
        numbers = pd.to_numeric(values, errors="coerce").round(0)
        return numbers.astype("Int64"), cc.NumberColumn(format="localized")
    if kind == "number":
        return pd.to_numeric(values, errors="coerce").round(1), cc.NumberColumn(format="localized")
    if kind in ("m2", "km2"):
        numbers = pd.to_numeric(values, errors="coerce") / (1e6 if kind == "m2" else 1.0)
        return numbers, cc.NumberColumn(format="%.1f")
    if kind in ("minutes", "seconds"):
        return pd.to_numeric(values, errors="coerce"), cc.NumberColumn(format="%.1f")
    if kind == "metres":
        return pd.to_numeric(values, errors="coerce"), cc.NumberColumn(format="%.0f")
    if kind in ("share", "deviation"):
        return pd.to_numeric(values, errors="coerce") * 100.0, cc.NumberColumn(
            format="%.1f%%" if kind == "share" else "%.2f%%")
    if kind == "percent":
        return pd.to_numeric(values, errors="coerce"), cc.NumberColumn(format="%.1f%%")
    if kind == "stamp":
        return values.map(local_time_text).astype(object), cc.TextColumn()
    if kind == "datetime":
        if pd.api.types.is_datetime64_any_dtype(values):
            return values, cc.DatetimeColumn(format="YYYY-MM-DD HH:mm")
        return values, None
    if column == "road_class":
        return values.map(lambda v: road_class_label(v, lang)).astype(object), None
    if any(k.startswith(f"col.value.{column}.") for k in STRINGS):  # words the code writes
        return values.map(lambda v: text(f"col.value.{column}.{v}", lang)
                          if f"col.value.{column}.{v}" in STRINGS else v).astype(object), None
    return values, None


def table_for_page(frame: pd.DataFrame, *, lang: str, keys: str | None = None,
                   kinds: Mapping[str, str] | None = None,
                   drop: Sequence[str] = ()) -> tuple[pd.DataFrame, dict[str, object]]:
    """``frame`` as a page shows it: headers in ``lang``, values converted to the units of
    their kind (see the module docstring), geometry and ``drop`` left out, the index dropped;
    and the ``column_config`` (keyed by header) that formats the numbers. ``keys`` is the
    caller's string prefix tried before ``col`` (``pt.col``); ``kinds`` overrides the kind
    of columns (or of base names such as ``workload`` for ``workload_before``). The input is
    not changed."""
    data = attribute_table(frame).drop(columns=[c for c in drop if c in frame.columns])
    columns: dict[str, pd.Series] = {}
    config: dict[str, object] = {}
    for column in data.columns:
        header = column_header(str(column), lang, keys=keys, kinds=kinds)
        while header in columns:  # two columns with one name: keep both
            header = f"{header} ·"
        values, cfg = _values(data[column].reset_index(drop=True), column_kind(str(column), kinds),
                              str(column), lang)
        columns[header] = values
        if cfg is not None:
            config[header] = cfg
    return pd.DataFrame(columns, index=pd.RangeIndex(len(data))), config


def show_table(frame: pd.DataFrame, *, lang: str, keys: str | None = None,
               kinds: Mapping[str, str] | None = None, drop: Sequence[str] = (), container=None,
               height: int | str = "auto") -> None:
    """Draw ``frame`` with ``st.dataframe`` as ``table_for_page`` prepares it (in
    ``container``, default the page), full width, without the index."""
    import streamlit as st

    shown, config = table_for_page(frame, lang=lang, keys=keys, kinds=kinds, drop=drop)
    (container or st).dataframe(shown, column_config=config, hide_index=True, width="stretch",
                                height=height)


def download_help(lang: str) -> str:
    """The help of download buttons: files keep the data's own column names and units."""
    return text("tables.download_help", lang)
