"""Imported units as the base units of plans: villages and communities (村/社区), governance
grids, beats or reporting areas instead of generated cells.

``build_workspace(units=...)`` calls these: ``check_units`` finds the problems of the units file
(duplicate ids, missing columns, station ids that are no station), ``units_as_cells`` turns the
checked units into the workspace's ``cells`` layer (``cell_id`` = the unit id as text, ``name``,
``area_m2``, the units' own columns, ``township_id``, ``station_id``) with the warnings
(ambiguous units, overlaps, gaps in the cover of the study area).
"""
from __future__ import annotations

import logging
from typing import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.columns import guess_population_column, guess_roles
from geo.errors import Problem, format_ids
from geo.grid import cells_with_attributes
from geo.ids import id_str, normalise_ids
from geo.overlay import intersection_table

__all__ = ["check_units", "check_unit_stations", "units_as_cells", "AMBIGUOUS_SHARE",
           "OVERLAP_SHARE", "UNCOVERED_SHARE", "name_column"]

log = logging.getLogger(__name__)

# A unit is ambiguous when the jurisdiction covering most of it covers less than this share.
AMBIGUOUS_SHARE = 0.90
# Two units overlap when they share more than this share of the smaller one.
OVERLAP_SHARE = 0.01
# The units cover less than the study area when more than this share of it lies outside them.
UNCOVERED_SHARE = 0.01


def _columns(gdf: pd.DataFrame) -> list:
    geometry = getattr(gdf, "_geometry_column_name", None)
    return [c for c in gdf.columns if c != geometry]


def name_column(gdf: pd.DataFrame, *, given: str | None = None,
                exclude: tuple = ()) -> object | None:
    """The units' name column: ``given``, else one guessed from its header (``name``, ``名称``,
    ``村名``… see ``geo.columns.NAME_NAMES``), else None."""
    if given:
        return given
    roles = guess_roles(gdf.drop(columns=[c for c in exclude if c in gdf.columns]),
                        layer="communities")
    return next((c for c, r in roles.items() if r == "name"), None)


def check_units(gdf: gpd.GeoDataFrame, *, source: str, id_col: str | None,
                station_col: str | None = None, name_col: str | None = None) -> list[Problem]:
    """Problems of the units file as read (before ``check_layer``): no id column named, a
    missing id / station / name column, duplicate ids (each unit must be one feature)."""
    problems: list[Problem] = []
    cols = _columns(gdf)
    if not id_col:
        problems.append(Problem(source, "units", "missing_id_column", "the units' id column was "
                                "not named (`unit_id`)", f"name the id column (one of {cols})"))
    for param, col in (("unit_id", id_col), ("unit_station", station_col),
                       ("unit_name", name_col)):
        if col and col not in gdf.columns:
            problems.append(Problem(source, "units", "missing_column",
                                    f"`{param}` was {col!r} but the units have no such column",
                                    f"choose one of {cols}"))
    if id_col and id_col in gdf.columns:
        ids = normalise_ids(gdf[id_col])
        dup = ids[ids.duplicated(keep=False) & ids.notna()]
        if len(dup):
            rows = [f"{v} (rows {', '.join(str(i + 1) for i in np.flatnonzero((ids == v).to_numpy()))})"
                    for v in dict.fromkeys(dup.tolist())]
            problems.append(Problem(source, "units", "duplicate_ids",
                                    f"{dup.nunique()} unit ids are used by more than one feature",
                                    "give every unit its own id, or merge its parts into one "
                                    "feature", tuple(rows)))
    return problems


def check_unit_stations(units: gpd.GeoDataFrame, station_col: str, known: set[str] | None, *,
                        source: str, known_from: str) -> list[Problem]:
    """An error naming the units whose ``station_col`` value is no known station id (``known``;
    None: nothing to check against)."""
    if known is None or station_col not in units.columns:
        return []
    values = normalise_ids(units[station_col])
    bad = values.notna() & ~values.isin(known)
    if not bad.any():
        return []
    unit_ids = units["cell_id"].tolist() if "cell_id" in units.columns else list(units.index)
    rows = [f"{unit_ids[i]}: {values.iloc[i]}" for i in np.flatnonzero(bad.to_numpy())]
    hint = ""
    stripped = {k.lstrip("0") or "0": k for k in known}
    near = [v for v in values[bad].unique() if (v.lstrip("0") or "0") in stripped]
    if near:
        v = near[0]
        hint = (f" (ids are text: {v!r} is not {stripped[v.lstrip('0') or '0']!r}; write them "
                f"as the {known_from} do)")
    return [Problem(source, "units", "unknown_station",
                    f"{int(bad.sum())} units name a station ({station_col!r}) that is not one of "
                    f"the {len(known)} stations of the {known_from} "
                    f"({format_ids(sorted(known), limit=12)})",
                    f"correct the station ids in the units' {station_col!r} column{hint}, or "
                    f"add those stations to the {known_from}", tuple(rows))]


def _numeric(gdf: gpd.GeoDataFrame, column: str, source: str,
             warnings: list[Problem]) -> gpd.GeoDataFrame:
    raw = gdf[column]
    numbers = pd.to_numeric(raw, errors="coerce")
    bad = numbers.isna() & raw.notna()
    if bad.any():
        warnings.append(Problem(source, "units", "not_numeric",
                                f"{int(bad.sum())} units have a {column} that is not a number; "
                                "counted as 0", f"correct the {column} column",
                                tuple(gdf["cell_id"].to_numpy()[bad.to_numpy()])))
    out = gdf.copy()
    out[column] = numbers.fillna(0.0).to_numpy()
    return out


def units_as_cells(units: gpd.GeoDataFrame, *, source: str, area: gpd.GeoDataFrame | None = None,
                   townships: gpd.GeoDataFrame | None = None,
                   jurisdictions: gpd.GeoDataFrame | None = None,
                   incidents: gpd.GeoDataFrame | None = None,
                   attributes: Sequence[tuple[gpd.GeoDataFrame, dict[str, str]]] = (),
                   station_col: str | None = None, name_col: str | None = None
                   ) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """The workspace ``cells`` layer made of ``units`` (checked: ``cell_id`` text ids, working
    CRS) and the warnings.

    - ``name``: the ``name_col`` column, else a guessed name column, else the id;
    - ``area_m2``: the unit's area;
    - ``population``: the units' ``population`` column (or a column guessed to hold head
      counts: ``人口``, ``POP2010``…) as given; only when there is none, apportioned from the
      ``attributes`` mapped to ``population`` or from the ``townships``' population;
    - other ``attributes`` mappings are apportioned by area as for cells;
    - ``incidents``: counted from the ``incidents`` points when given, else the units' own
      ``incidents`` column, else 0; other columns (``migrants``…) are kept as they are;
    - ``township_id``: the township covering most of each unit (else the units' own column);
    - ``station_id``: the ``station_col`` value where given; else (and for units with none)
      the jurisdiction covering most of the unit; units whose largest share is below
      ``AMBIGUOUS_SHARE`` are listed in a warning with their shares.

    Warnings also name overlapping units (more than ``OVERLAP_SHARE`` of the smaller) and a
    study ``area`` the units cover less than (more than ``UNCOVERED_SHARE`` outside them).
    """
    warnings: list[Problem] = []
    out = units.copy()
    out["cell_id"] = normalise_ids(out["cell_id"]).to_numpy()
    # name
    col = name_column(out, given=name_col, exclude=("cell_id", station_col or ""))
    if col is not None and col != "name":
        out["name"] = out[col].astype(object).where(out[col].notna(), None).to_numpy()
    elif col is None and "name" not in out.columns:
        out["name"] = out["cell_id"].to_numpy()
    out["name"] = [id_str(v) or c for v, c in zip(out["name"].tolist(), out["cell_id"].tolist())]
    out["area_m2"] = shapely.area(np.asarray(out.geometry.values))
    # population: the units' own, else apportioned
    pop_col = "population" if "population" in out.columns else guess_population_column(
        out, exclude=("cell_id", "name", "area_m2", station_col or "", "incidents"))
    attrs = list(attributes)
    population_from = townships
    if pop_col is not None:
        if pop_col != "population":
            out["population"] = out[pop_col].to_numpy()
            log.info("%s: the units' population taken from their %r column", source, pop_col)
        out = _numeric(out, "population", source, warnings)
        dropped = [s for _, m in attrs for s, c in m.items() if c == "population"]
        if dropped:
            warnings.append(Problem(source, "units", "population_given",
                                    f"the units carry their own population ({pop_col!r}); the "
                                    f"population of the attribute polygons ({', '.join(dropped)}) "
                                    "was not apportioned to them",
                                    "none needed; remove the units' population column to "
                                    "apportion it instead"))
            attrs = [(g, {s: c for s, c in m.items() if c != "population"}) for g, m in attrs]
            attrs = [(g, m) for g, m in attrs if m]
        population_from = None
    if "incidents" in out.columns and (incidents is None or not len(incidents)):
        out = _numeric(out, "incidents", source, warnings)
    given_station = None
    if station_col:
        given_station = normalise_ids(out[station_col]).to_numpy()
    out = out.drop(columns=["station_id"], errors="ignore") if station_col != "station_id" else out
    keep_township = townships is None and "township_id" in out.columns
    out = cells_with_attributes(out, townships=townships, jurisdictions=None, incidents=incidents,
                                attributes=attrs, population_from=population_from)
    if keep_township:
        out["township_id"] = normalise_ids(out["township_id"]).to_numpy()
    # station: given, else by largest overlap (with the ambiguous units listed)
    station = np.array([None] * len(out), dtype=object)
    if given_station is not None:
        station[:] = given_station
    todo = np.array([s is None for s in station])
    if todo.any() and jurisdictions is not None and len(jurisdictions):
        sub = out.iloc[np.flatnonzero(todo)]
        table = intersection_table(sub, jurisdictions)
        if len(table):
            best = table.sort_values(["a", "area_m2"], ascending=[True, False]).drop_duplicates("a")
            pos = np.flatnonzero(todo)[best["a"].to_numpy()]
            station[pos] = jurisdictions["station_id"].to_numpy()[best["b"].to_numpy()]
            share = best["area_m2"].to_numpy() / np.maximum(out["area_m2"].to_numpy()[pos], 1e-9)
            low = share < AMBIGUOUS_SHARE
            if low.any():
                listed = [f"{out['cell_id'].iloc[p]} ({out['name'].iloc[p]}: {s:.0%} in "
                          f"{station[p]})" for p, s in zip(pos[low], share[low])]
                warnings.append(Problem(
                    source, "units", "ambiguous_station",
                    f"{int(low.sum())} units lie less than {AMBIGUOUS_SHARE:.0%} in one "
                    "jurisdiction; each was given the station covering most of it",
                    "check these units' stations, or give each unit its station "
                    "(`unit_station`)", tuple(listed)))
        if given_station is not None:
            filled = [out["cell_id"].iloc[p] for p in np.flatnonzero(todo)]
            warnings.append(Problem(source, "units", "station_by_overlap",
                                    f"{len(filled)} units have no station in {station_col!r}; "
                                    "they were given the jurisdiction covering most of each",
                                    f"fill their {station_col!r}", tuple(filled)))
    if given_station is not None or (jurisdictions is not None and len(jurisdictions)):
        out["station_id"] = station
        none = [out["cell_id"].iloc[p] for p in np.flatnonzero([s is None for s in station])]
        if none:
            warnings.append(Problem(source, "units", "no_station_id",
                                    f"{len(none)} units have no station", "give their station "
                                    "(`unit_station`) or jurisdictions that cover them",
                                    tuple(none)))
    warnings += _cover_warnings(out, area, source)
    return out, warnings


def _cover_warnings(units: gpd.GeoDataFrame, area: gpd.GeoDataFrame | None,
                    source: str) -> list[Problem]:
    warnings: list[Problem] = []
    geoms = np.asarray(units.geometry.values)
    table = intersection_table(units, units)
    table = table[table["a"] < table["b"]]
    if len(table):
        smaller = np.minimum(shapely.area(geoms[table["a"].to_numpy()]),
                             shapely.area(geoms[table["b"].to_numpy()]))
        share = table["area_m2"].to_numpy() / np.maximum(smaller, 1e-9)
        big = share > OVERLAP_SHARE
        if big.any():
            ids = units["cell_id"].to_numpy()
            listed = [f"{ids[a]} & {ids[b]} ({s:.0%})" for a, b, s in
                      zip(table["a"].to_numpy()[big], table["b"].to_numpy()[big], share[big])]
            warnings.append(Problem(source, "units", "overlapping_units",
                                    f"{int(big.sum())} pairs of units overlap by more than "
                                    f"{OVERLAP_SHARE:.0%} of the smaller one; their overlap is "
                                    "counted in both", "correct the units' boundaries in a GIS "
                                    "(each place in one unit)", tuple(listed)))
    if area is not None and len(area):
        whole = shapely.union_all(np.asarray(area.geometry.values))
        total = float(whole.area)
        if total > 0:
            covered = float(shapely.intersection(
                whole, shapely.union_all(geoms, grid_size=1e-3)).area)
            gap = 1.0 - covered / total
            if gap > UNCOVERED_SHARE:
                warnings.append(Problem(source, "units", "units_cover_less",
                                        f"the units cover {covered / total:.1%} of the study "
                                        f"area: {(total - covered) / 1e6:,.2f} km² lie in no "
                                        "unit and belong to no plan",
                                        "add the missing units, or give the units' union as the "
                                        "study area (leave `area` out)"))
    return warnings
