"""One validation pass per layer: collect every problem, repair what can be repaired, raise once.

``check_layer`` returns the cleaned layer (reprojected to the working CRS, ids as strings in the
layer's canonical id column, invalid geometries repaired, multi-part units dissolved) together
with the problems and warnings it found; ``validate_layer`` raises ValidationError when there is
any problem. Cross-layer rules (a station outside its own jurisdiction) are separate functions.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geo.errors import Problem, ValidationError
from geo.ids import normalise_ids  # re-exported: the one id rule lives in geo.ids

__all__ = ["LayerSpec", "LAYERS", "Checked", "check_layer", "validate_layer", "normalise_ids",
           "check_stations_in_jurisdictions", "raise_if_problems"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LayerSpec:
    """What a workspace layer must be: geometry family, id column, other required columns."""

    name: str
    geometry: str  # "polygon", "point" or "line"
    id_col: str | None
    zh: str
    columns: tuple[str, ...] = ()
    outside_tolerance_m: float | None = None  # points farther than this outside the area fail


LAYERS: dict[str, LayerSpec] = {s.name: s for s in [
    LayerSpec("area", "polygon", None, "研究范围"),
    LayerSpec("townships", "polygon", "township_id", "街道/乡镇"),
    LayerSpec("communities", "polygon", "community_id", "社区/村"),
    LayerSpec("gov_grids", "polygon", "grid_id", "综治网格"),
    LayerSpec("stations", "point", "station_id", "派出所", outside_tolerance_m=100.0),
    LayerSpec("jurisdictions", "polygon", "station_id", "派出所辖区"),
    LayerSpec("police_grids", "polygon", "pgrid_id", "警务区/警格"),
    LayerSpec("posts", "point", "post_id", "街面警务站", outside_tolerance_m=100.0),
    LayerSpec("checkpoints", "point", "checkpoint_id", "卡口/检查站", outside_tolerance_m=1000.0),
    LayerSpec("incidents", "point", "incident_id", "警情"),
    LayerSpec("cells", "polygon", "cell_id", "分析网格"),
    LayerSpec("road_nodes", "point", "node_id", "路网节点"),
    LayerSpec("road_edges", "line", None, "路网路段", columns=("u", "v")),
    LayerSpec("attributes", "polygon", None, "属性面 (apportioned to cells)"),
]}

_FAMILY_TYPES = {
    "polygon": {"Polygon", "MultiPolygon"},
    "point": {"Point"},
    "line": {"LineString", "MultiLineString"},
}


@dataclass
class Checked:
    """The outcome of checking one layer."""

    gdf: gpd.GeoDataFrame | None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def _polygonal(geom):
    """Keep only the polygonal parts of a repaired geometry."""
    if geom is None or geom.is_empty:
        return geom
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _stem(source: str) -> str:
    """A readable name from a source path: ``data/county.gpkg:area`` -> ``county``."""
    from geo.layers import split_layer_spec
    path, _ = split_layer_spec(source)
    name = path.name
    for suffix in (".zip", ".geojson", ".gpkg", ".shp", ".json", ".csv"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name or "area"


def check_layer(gdf: gpd.GeoDataFrame, layer: str, *, id_col: str | None = None,
                working_crs: CRS | None = None, crs_chosen: bool = False,
                area: gpd.GeoDataFrame | None = None, source: str | None = None) -> Checked:
    """Check one layer against the rules of ``LAYERS[layer]`` and return what was found.

    Parameters
    ----------
    gdf : the layer as read (any CRS); it is not modified.
    layer : the workspace layer name (``stations``, ``townships``…).
    id_col : the user's id column; renamed to the canonical id column. Default: the canonical one.
    working_crs : projected CRS (metres) to reproject into; None keeps the layer's CRS.
    crs_chosen : True when the user chose ``working_crs``, so reprojection is silent.
    area : the study area (in ``working_crs``) for the points-outside-the-area rule.
    source : the file name for messages (default: ``gdf.attrs["source"]``).
    """
    spec = LAYERS[layer]
    src = source or gdf.attrs.get("source", "<layer>")
    out = Checked(None)

    def problem(rule: str, message: str, fix: str, ids=()) -> None:
        out.problems.append(Problem(src, layer, rule, message, fix, tuple(ids)))

    def warn(rule: str, message: str, fix: str, ids=()) -> None:
        out.warnings.append(Problem(src, layer, rule, message, fix, tuple(ids)))

    if len(gdf) == 0:
        problem("empty_layer", "the layer has no features", "give a file that holds the layer's features")
        return out
    gdf = gdf.copy()
    gdf.attrs["source"] = src

    # Ids first, so that later messages can name rows by id.
    want = spec.id_col
    given = id_col or want
    ids: pd.Series | None = None
    if want is not None:
        if given not in gdf.columns:
            cols = [c for c in gdf.columns if c != gdf.geometry.name]
            problem("missing_id_column", f"no id column {given!r}",
                    f"name the id column (one of {cols})")
        else:
            ids = normalise_ids(gdf[given])
            nulls = np.flatnonzero(ids.isna().to_numpy())
            if len(nulls):
                problem("null_ids", f"{len(nulls)} features have no {given}",
                        f"give every feature a {given} or delete those rows",
                        [f"#{i + 1}" for i in nulls])
    labels = (ids.fillna("#?") if ids is not None
              else pd.Series([f"#{i + 1}" for i in range(len(gdf))], index=gdf.index))

    # CRS.
    if gdf.crs is None:
        problem("no_crs", "the layer has no coordinate reference system",
                "add the .prj file, or say which CRS the file is in (`layer_crs`, an EPSG code, e.g. 4326 for lon/lat)")
    else:
        crs = CRS(gdf.crs)
        if not (crs.is_geographic or crs.is_projected):
            problem("unknown_crs", f"the layer's CRS is not a known geographic or projected one "
                    f"({crs.name})", "export the layer in a standard CRS such as EPSG:4326")
        elif working_crs is not None and not crs.equals(working_crs):
            if not crs_chosen:
                unit = crs.axis_info[0].unit_name if crs.axis_info else "?"
                warn("reprojected", f"reprojected from {crs.to_string()} ({unit}) to the working "
                     f"CRS {working_crs.to_string()}", "none needed; give `working_crs` to choose the working CRS")
            try:
                gdf = gdf.to_crs(working_crs)
            except Exception as exc:  # pyproj cannot build a transformation
                problem("unknown_crs", f"cannot transform from {crs.to_string()} ({exc})",
                        "export the layer in a standard CRS such as EPSG:4326")
        elif working_crs is None and crs.is_geographic and spec.geometry != "point":
            pass  # the caller reprojects once it knows the working CRS

    # Geometry.
    geoms = gdf.geometry
    missing = np.flatnonzero((geoms.isna() | geoms.is_empty).to_numpy())
    if len(missing):
        problem("no_geometry", f"{len(missing)} features have no geometry",
                "draw them or delete those rows", labels.iloc[missing])
    present = ~(geoms.isna() | geoms.is_empty).to_numpy()
    types = geoms.geom_type.to_numpy()
    allowed = _FAMILY_TYPES[spec.geometry]
    wrong = np.flatnonzero(present & ~np.isin(types, list(allowed)))
    if len(wrong):
        found = sorted(set(types[wrong]))
        problem("wrong_geometry_type", f"{len(wrong)} features are {', '.join(found)}, the layer "
                f"needs {spec.geometry}s", f"give a {spec.geometry} layer for {layer}",
                labels.iloc[wrong])
    if spec.geometry in ("polygon", "line") and not len(wrong):
        invalid = np.flatnonzero(present & ~geoms.is_valid.to_numpy())
        if len(invalid):
            warn("repaired_geometry", f"{len(invalid)} invalid geometries repaired with make_valid",
                 "check these features in a GIS", labels.iloc[invalid])
            fixed = shapely.make_valid(geoms.values[invalid])
            if spec.geometry == "polygon":
                fixed = [_polygonal(g) for g in fixed]
            gdf.iloc[invalid, gdf.columns.get_loc(gdf.geometry.name)] = fixed

    # Required attribute columns.
    for col in spec.columns:
        if col not in gdf.columns:
            problem("missing_column", f"no column {col!r}", f"add the {col} column")

    if out.problems:
        return out

    # Canonical ids; duplicates.
    if want is not None:
        gdf[want] = ids
        if given != want and given in gdf.columns:
            gdf = gdf.drop(columns=[given]) if given != gdf.geometry.name else gdf
        counts = gdf[want].value_counts()
        dup = counts[counts > 1]
        if len(dup):
            if spec.geometry == "point":
                problem("duplicate_ids", f"{len(dup)} ids are used by more than one point",
                        f"give every point its own {given}", [f"{i} (x{n})" for i, n in dup.items()])
                return out
            warn("dissolved_parts", f"{len(dup)} ids have several features; they were dissolved "
                 "into one multi-part unit each", "none needed if these are parts of one unit",
                 [f"{i} (x{n})" for i, n in dup.items()])
            first = gdf.drop_duplicates(want).set_index(want)
            merged = gdf.groupby(want, sort=False)[gdf.geometry.name].agg(
                lambda s: shapely.union_all(s.values))
            first[gdf.geometry.name] = merged.reindex(first.index).values
            gdf = gpd.GeoDataFrame(first.reset_index(), geometry=gdf.geometry.name, crs=gdf.crs)
    elif layer == "area" and len(gdf) > 1:
        gdf = gpd.GeoDataFrame({"name": [_stem(src)]},
                               geometry=[shapely.union_all(gdf.geometry.values)], crs=gdf.crs)
    if layer == "area" and ("name" not in gdf.columns or gdf["name"].isna().all()):
        gdf = gdf.assign(name=_stem(src))

    # Points outside the study area.
    if area is not None and spec.geometry == "point" and gdf.crs is not None:
        boundary = shapely.union_all(area.to_crs(gdf.crs).geometry.values)
        dist = shapely.distance(gdf.geometry.values, boundary)
        tol = spec.outside_tolerance_m
        if tol is None:
            outside = np.flatnonzero(dist > 0)
            if len(outside):
                warn("outside_area", f"{len(outside)} points lie outside the study area and were "
                     "left out", "check their coordinates and CRS",
                     (gdf[want] if want else labels).iloc[outside])
                gdf = gdf.drop(index=gdf.index[outside])
        else:
            outside = np.flatnonzero(dist > tol)
            if len(outside):
                problem("outside_area", f"{len(outside)} points lie more than {tol:g} m outside the "
                        "study area", "check their coordinates and CRS (lon/lat swapped? wrong "
                        "`source_crs`?) or correct the area", (gdf[want] if want else labels).iloc[outside])
                return out
    out.gdf = gdf
    return out


def raise_if_problems(checks: list[Checked] | list[Problem]) -> None:
    """Raise one ValidationError holding every problem of ``checks``."""
    problems: list[Problem] = []
    for c in checks:
        problems.extend(c.problems if isinstance(c, Checked) else [c])
    if problems:
        raise ValidationError(problems)


def validate_layer(gdf: gpd.GeoDataFrame, layer: str, **kwargs) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """``check_layer`` that raises ValidationError with every problem; returns (layer, warnings)."""
    checked = check_layer(gdf, layer, **kwargs)
    raise_if_problems([checked])
    for w in checked.warnings:
        log.warning("%s", w)
    return checked.gdf, checked.warnings


def check_stations_in_jurisdictions(stations: gpd.GeoDataFrame, jurisdictions: gpd.GeoDataFrame,
                                    *, tolerance_m: float = 0.0) -> Checked:
    """A station must lie inside the jurisdiction that carries its station_id.

    Returns a Checked whose problems name stations outside their own jurisdiction (or whose id no
    jurisdiction carries), and whose warnings name jurisdictions without a station.
    """
    out = Checked(stations)
    src_s = stations.attrs.get("source", "<stations>")
    src_j = jurisdictions.attrs.get("source", "<jurisdictions>")
    jur = jurisdictions.set_index("station_id").geometry
    unknown, outside = [], []
    for sid, point in zip(stations["station_id"], stations.geometry.values):
        if sid not in jur.index:
            unknown.append(sid)
        elif shapely.distance(point, jur.loc[sid]) > tolerance_m:
            outside.append(sid)
    if unknown:
        out.problems.append(Problem(src_s, "stations", "station_without_jurisdiction",
                                    f"{len(unknown)} stations have a station_id that no jurisdiction in {src_j} "
                                    "carries",
                                    "use the same station ids in both layers, or name the id column of each (`id_col`)",
                                    tuple(unknown)))
    if outside:
        out.problems.append(Problem(src_s, "stations", "station_outside_jurisdiction",
                                    f"{len(outside)} stations lie outside their own jurisdiction",
                                    "move the station point or correct its station_id",
                                    tuple(outside)))
    orphan = sorted(set(jur.index) - set(stations["station_id"]), key=str)
    if orphan:
        out.warnings.append(Problem(src_j, "jurisdictions", "jurisdiction_without_station",
                                    f"{len(orphan)} jurisdictions have no station point",
                                    "add the station or accept that these areas are served from outside",
                                    tuple(orphan)))
    return out
