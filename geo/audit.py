"""Boundary audit of two partitions: crosswalk, split relations, gaps/overlaps/slivers, severity.

A *police* partition (station jurisdictions, police grids, beats) is compared with an *admin*
partition (townships, governance grids, community areas). Everything is measured in one
projected working CRS (metres) on the pieces that ``geo.overlay.intersection_table`` proposes.

Definitions (also in docs/audit.md):

- **piece**: the intersection of one police unit and one admin unit (area > 0).
- **weight** of a piece: its area (m²), its population (apportioned by area from a polygon or
  cell layer) or its incident count (points inside it).
- **share_of_police** / **share_of_admin**: the piece's weight divided by the whole weight of
  its police / admin unit (the unit's full polygon, also the part outside the other layer).
- **split**: a unit is split when two or more counterparts each hold at least ``min_share`` of
  its weight (slivers never count).
- **significant pair**: a non-sliver piece holding at least ``min_share`` of either side. Its
  class says which ends are split: ``one_to_one`` (neither), ``police_spans_many`` (the police
  unit), ``admin_split_among_many`` (the admin unit), ``many_to_many`` (both). A unit takes the
  most tangled class of its pairs (``unmatched`` without any: zero weight, or outside the other
  layer); ``group`` numbers the connected groups of the bipartite graph of significant pairs.
- **gap**: part of the study area (the union of the admin units, or a given area) in no police
  unit; **overlap**: part of an admin unit inside two or more police units; **sliver**: a piece
  smaller than ``sliver_area_m2`` or narrower than ``sliver_width_m`` everywhere (it vanishes
  under an inward buffer of half that width). Gaps and overlaps smaller than ``defect_min_m2``
  are numerical noise and are dropped.
- **container**: for layers where one side is meant to hold whole units of the other (警网融合: a
  police grid holds whole governance grids, a station whole police grids; ``CONTAINERS``), that
  side spanning many counterparts is the design. Its units stay in ``split_police`` /
  ``split_admin`` but are left out of the severity ranking, which then lists only the mismatches.
- **station** of a police unit (police grids): read from a column of the police layer; a unit
  of the other side belongs to the station whose police units hold most of its weight.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from geo.crs import choose_working_crs, to_crs
from geo.errors import GridPatrolError, InputError, Problem
from geo.ids import normalise_ids
from geo.layers import LayerSource, read_layer, split_layer_spec
from geo.overlay import apportion_by_area, count_points, intersection_table
from geo.validate import LAYERS, Checked, check_layer, raise_if_problems
from geo.workspace import Workspace, is_workspace, read_workspace

__all__ = ["BoundaryAudit", "WEIGHTS", "CLASSES", "CONTAINERS", "audit_partitions", "audit_files",
           "audit_workspace", "workspace_layer", "unit_crosswalk", "crosswalk_pieces",
           "find_relations", "find_defects", "rank_splits"]

log = logging.getLogger(__name__)

WEIGHTS = ("area", "population", "incidents")
CLASSES = ("one_to_one", "police_spans_many", "admin_split_among_many", "many_to_many")
# the polygon layers with ids: layer -> its id column
_POLYGON_ID_COLS: dict[str, str] = {n: s.id_col for n, s in LAYERS.items() if s.geometry == "polygon" and s.id_col}
_POLYGON_KINDS = tuple(_POLYGON_ID_COLS)
SIDES = ("police", "admin")
# (police layer, admin layer) -> the side meant to hold whole units of the other (警网融合).
CONTAINERS: dict[tuple[str, str], str] = {
    ("police_grids", "gov_grids"): "police",
    ("jurisdictions", "gov_grids"): "police",
    ("jurisdictions", "communities"): "police",
    ("jurisdictions", "police_grids"): "police",
    ("police_grids", "jurisdictions"): "admin",
}


@dataclass(frozen=True)
class BoundaryAudit:
    """The outcome of one audit. Every frame is in ``crs`` (metres); ids are strings.

    Attributes
    ----------
    police, admin : one row per unit: ``police``/``admin`` id, ``area_m2``, ``population`` and
        ``incidents`` where known, ``weight`` (the unit's total of the chosen weight),
        ``counterparts`` (how many counterparts hold at least ``min_share`` of it), ``split``,
        ``main`` (the counterpart holding most of it) and ``main_share``, ``relation`` (its class)
        and ``group`` (its connected group of significant pairs), and the unit's polygon.
    pieces : the crosswalk, one row per intersecting pair: ``piece`` (0..n-1), ``police``,
        ``admin``, ``area_m2``, ``population``/``incidents`` where known, ``weight``,
        ``share_of_police``, ``share_of_admin``, ``significant``, ``sliver``, ``relation`` (the
        pair's class, '' when not significant), polygon; ``_p``/``_a`` are row positions into
        ``police``/``admin``.
    defects : gaps, overlaps and slivers: ``kind``, ``rule`` (in words), ``area_m2``,
        ``police`` and ``admin`` (ids involved, comma-separated), polygon.
    severity : the split units, worst first: ``side``, ``id``, ``counterparts``, ``main``,
        ``main_share`` and the minority (everything outside ``main``) as ``minority_area_m2``,
        ``minority_population``, ``minority_incidents`` where known. The ``container`` side's
        units are not listed.
    police_layer, admin_layer : the workspace layer kinds compared (``police_grids``…).
    container : ``"police"`` or ``"admin"`` when that side is meant to hold whole units of the
        other (see ``CONTAINERS``), else None.
    params : the sliver and noise rule (``sliver_area_m2``, ``sliver_width_m``,
        ``defect_min_m2``) and ``study_area`` (True when a study area was given).

    ``police`` also has a ``station`` column (the unit's station, None when unknown) when a
    station column was named.
    """

    police: gpd.GeoDataFrame
    admin: gpd.GeoDataFrame
    pieces: gpd.GeoDataFrame
    defects: gpd.GeoDataFrame
    severity: pd.DataFrame
    weight: str
    min_share: float
    crs: CRS
    rules: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    police_layer: str = "jurisdictions"
    admin_layer: str = "townships"
    container: str | None = None
    params: dict = field(default_factory=dict)

    @property
    def split_police(self) -> list[str]:
        """Ids of the split police units, in layer order."""
        return self.police.loc[self.police["split"], "police"].tolist()

    @property
    def split_admin(self) -> list[str]:
        """Ids of the split admin units, in layer order."""
        return self.admin.loc[self.admin["split"], "admin"].tolist()

    @property
    def gaps_m2(self) -> float:
        """Area of the study area in no police unit (m²)."""
        return float(self.defects.loc[self.defects["kind"] == "gap", "area_m2"].sum())

    @property
    def overlaps_m2(self) -> float:
        """Area inside two or more police units (m², each place counted once)."""
        over = self.defects.loc[self.defects["kind"] == "overlap"]
        if not len(over):
            return 0.0
        return float(shapely.union_all(over.geometry.values).area)

    def class_counts(self) -> dict[str, int]:
        """Number of significant pairs in each class (a pair's class: which of its ends are split)."""
        rel = self.pieces["relation"]
        return {c: int((rel == c).sum()) for c in CLASSES}

    def unit_classes(self) -> dict[str, dict[str, int]]:
        """Number of police and admin units in each class (plus ``unmatched``)."""
        return {side: {c: int((frame["relation"] == c).sum()) for c in CLASSES + ("unmatched",)}
                for side, frame in (("police", self.police), ("admin", self.admin))}

    def summary(self) -> dict:
        """The ``gridpatrol audit --json`` object (the DESIGN contract plus a few extras)."""
        keep = ["police", "admin", "area_m2", "share_of_police", "share_of_admin"]
        extra = [c for c in ("population", "incidents") if c in self.pieces.columns]
        pairs = self.pieces[keep + extra + ["significant", "sliver"]]
        records = []
        for row in pairs.itertuples(index=False):
            rec = {"police": row.police, "admin": row.admin, "area_m2": round(float(row.area_m2), 3),
                   "share_of_police": _round_share(row.share_of_police),
                   "share_of_admin": _round_share(row.share_of_admin)}
            for c in extra:
                rec[c] = round(float(getattr(row, c)), 3)
            rec["significant"] = bool(row.significant)
            rec["sliver"] = bool(row.sliver)
            records.append(rec)
        kinds = self.defects["kind"].value_counts()
        return {
            "police_units": int(len(self.police)),
            "admin_units": int(len(self.admin)),
            "split_police": self.split_police,
            "split_admin": self.split_admin,
            "pairs": records,
            "classes": self.class_counts(),
            "unit_classes": self.unit_classes(),
            "gaps_m2": round(self.gaps_m2, 3),
            "overlaps_m2": round(self.overlaps_m2, 3),
            "slivers": int(kinds.get("sliver", 0)),
            "weight": self.weight,
            "min_share": self.min_share,
            "crs": self.crs.to_string(),
            "rules": dict(self.rules),
            "severity": [{k: _plain(v) for k, v in r.items()}
                         for r in self.severity.head(50).to_dict("records")],
            "police_layer": self.police_layer,
            "admin_layer": self.admin_layer,
            "container": self.container,
            "units_side": _finer_side(self),
            "units": [{k: _plain(v) for k, v in r.items()}
                      for r in unit_crosswalk(self).to_dict("records")],
            "warnings": [str(w) for w in self.warnings],
        }


def _round_share(v: float) -> float | None:
    return None if not np.isfinite(v) else round(float(v), 6)


def _plain(v):
    if isinstance(v, (np.floating, float)):
        return None if not np.isfinite(v) else round(float(v), 3)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


# --------------------------------------------------------------------------------------------
# Input: read and validate both partitions in one pass.

def _check_partition(gdf: gpd.GeoDataFrame, *, kind: str, id_col: str, role: str,
                     source: str | None) -> Checked:
    """check_layer for one partition, then a slim frame with the ids in column ``role``."""
    checked = check_layer(gdf, kind, id_col=id_col, source=source)
    if checked.gdf is not None:
        g = checked.gdf
        canonical = LAYERS[kind].id_col
        slim = gpd.GeoDataFrame({role: g[canonical].to_numpy()}, geometry=g.geometry.values,
                                crs=g.crs)
        slim.attrs["source"] = g.attrs.get("source", source)
        checked.gdf = slim
    return checked


def _points_checked(points: gpd.GeoDataFrame, *, source: str | None) -> Checked:
    """Incident points: geometry type, CRS and emptiness checked by check_layer (no ids needed)."""
    tagged = points.assign(_row=np.arange(len(points)))
    tagged.attrs.update(points.attrs)
    return check_layer(tagged, "incidents", id_col="_row", source=source)


def _population_checked(layer: gpd.GeoDataFrame, column: str, *, source: str | None) -> Checked:
    src = source or layer.attrs.get("source", "<population>")
    if column not in layer.columns:
        cols = [c for c in layer.columns if c != layer.geometry.name]
        return Checked(None, [Problem(src, "population", "missing_column",
                                      f"no population column {column!r}",
                                      f"name the population column (one of {cols})")])
    values = pd.to_numeric(layer[column], errors="coerce")
    bad = np.flatnonzero((values.isna() & layer[column].notna()).to_numpy() | (values < 0).to_numpy())
    checked = check_layer(layer[[column, layer.geometry.name]], "attributes", source=src)
    if len(bad):
        checked.problems.append(Problem(src, "population", "bad_population",
                                        f"{len(bad)} features have a {column} that is not a "
                                        "non-negative number", "correct or blank those values",
                                        tuple(f"#{i + 1}" for i in bad)))
    if checked.gdf is not None:
        g = checked.gdf
        checked.gdf = gpd.GeoDataFrame(
            {"population": pd.to_numeric(g[column], errors="coerce").fillna(0.0).to_numpy(float)},
            geometry=g.geometry.values, crs=g.crs)
    return checked


def _stations_of(police: gpd.GeoDataFrame, *, id_col: str, station_col: str, layer: str,
                 source: str | None) -> tuple[dict[str, str], list[Problem], list[Problem]]:
    """Police unit id -> its station, from the column ``station_col`` of the police layer as read,
    with the problems (no such column) and warnings (units with no station, or several)."""
    src = str(source or police.attrs.get("source", "<police>"))
    if station_col not in police.columns or id_col not in police.columns:
        if station_col in police.columns:
            return {}, [], []  # the missing id column is reported by check_layer
        cols = [c for c in police.columns if c != police.geometry.name]
        return {}, [Problem(src, layer, "missing_column", f"no station column {station_col!r}",
                            f"name the column holding each unit's station (one of {cols})")], []
    frame = pd.DataFrame({"id": normalise_ids(police[id_col]).to_numpy(),
                          "station": normalise_ids(police[station_col]).to_numpy()}).dropna(subset=["id"])
    known = frame.dropna(subset=["station"]).drop_duplicates()
    several = known.groupby("id")["station"].nunique()
    several = several[several > 1].index.tolist()
    missing = sorted(set(frame["id"]) - set(known["id"]), key=str)
    warnings = []
    if missing:
        warnings.append(Problem(src, layer, "no_station", f"{len(missing)} police units name no "
                                f"station in {station_col!r}", "fill in their station", tuple(missing)))
    if several:
        warnings.append(Problem(src, layer, "several_stations", f"{len(several)} police units name "
                                f"more than one station in {station_col!r}; the first is used",
                                "give each unit one station", tuple(several)))
    return dict(known.drop_duplicates("id")[["id", "station"]].itertuples(index=False)), [], warnings


def _check_options(weight: str, min_share: float, population_col: str | None,
                   incidents: object, sliver_area_m2: float, sliver_width_m: float) -> None:
    if weight not in WEIGHTS:
        raise InputError(f"--weight was {weight!r} but is expected to be one of {list(WEIGHTS)}")
    if not (0.0 < float(min_share) < 1.0):
        raise InputError(f"--min-share was {min_share!r} but must lie between 0 and 1 "
                         "(0.05 means 5 % of a unit's weight)")
    if weight == "population" and population_col is None:
        raise InputError("--weight population needs a population column: give --population-col "
                         "COL (on ADMIN, or on --population FILE)")
    if weight == "incidents" and incidents is None:
        raise InputError("--weight incidents needs incident points: give --points FILE")
    if sliver_area_m2 < 0 or sliver_width_m < 0:
        raise InputError(f"the sliver rule needs non-negative sizes, got area {sliver_area_m2!r} "
                         f"m² and width {sliver_width_m!r} m")


# --------------------------------------------------------------------------------------------
# Measuring.

def _polygonal_parts(geoms: np.ndarray) -> np.ndarray:
    """Drop the line and point leftovers of intersections (GeometryCollections only), vectorised."""
    out = geoms.copy()
    gc = np.flatnonzero(shapely.get_type_id(geoms) == 7)
    if not len(gc):
        return out
    parts, owner = shapely.get_parts(geoms[gc], return_index=True)
    kind = shapely.get_type_id(parts)
    multi = kind == 6
    if multi.any():  # flatten MultiPolygons held inside a collection
        sub, sub_owner = shapely.get_parts(parts[multi], return_index=True)
        parts = np.concatenate([parts[~multi], sub])
        owner = np.concatenate([owner[~multi], owner[multi][sub_owner]])
        kind = shapely.get_type_id(parts)
    keep = kind == 3
    out[gc] = shapely.Polygon()
    if keep.any():
        order = np.argsort(owner[keep], kind="stable")
        present, dense = np.unique(owner[keep][order], return_inverse=True)
        out[gc[present]] = shapely.multipolygons(parts[keep][order], indices=dense)
    return out


def crosswalk_pieces(police: gpd.GeoDataFrame, admin: gpd.GeoDataFrame, *,
                     population: gpd.GeoDataFrame | None = None,
                     incidents: gpd.GeoDataFrame | None = None, scale=None) -> gpd.GeoDataFrame:
    """Every police x admin piece with its area, and population / incidents when given.

    Parameters
    ----------
    police, admin : polygons in the same projected CRS (metres) with the ids in a ``police`` /
        ``admin`` column.
    population : polygons with a ``population`` column, apportioned to the pieces by area.
    incidents : points; each counts in the piece that covers it.
    scale : a ``geo.scale.Scale`` to compute the pieces on dask partitions (same pieces).

    Returns
    -------
    GeoDataFrame with ``piece`` (0..n-1), ``police``, ``admin``, ``area_m2``, optional
    ``population`` and ``incidents`` and the piece polygon, ordered by police then admin position.
    """
    if scale is None:
        table = intersection_table(police, admin, keep_geometry=True)
    else:
        from geo.scale import intersection_table as partitioned_table
        table = partitioned_table(police, admin, keep_geometry=True, scale=scale)
    table = table.sort_values(["a", "b"], kind="stable").reset_index(drop=True)
    geoms = _polygonal_parts(np.asarray(table["geometry"].to_numpy(), dtype=object))
    pieces = gpd.GeoDataFrame({
        "piece": np.arange(len(table), dtype=np.int64),
        "police": police["police"].to_numpy()[table["a"].to_numpy()],
        "admin": admin["admin"].to_numpy()[table["b"].to_numpy()],
        "area_m2": table["area_m2"].to_numpy(float),
        "_p": table["a"].to_numpy(), "_a": table["b"].to_numpy(),
    }, geometry=geoms, crs=police.crs)
    if population is not None:
        pieces["population"] = apportion_by_area(pieces, population, ["population"])["population"].to_numpy()
    if incidents is not None:
        pieces["incidents"] = count_points(pieces, incidents).to_numpy()
    return pieces


def _slivers(pieces: gpd.GeoDataFrame, *, area_m2: float, width_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Which pieces are slivers and by which rule ('' where none)."""
    geoms = np.asarray(pieces.geometry.values)
    area = pieces["area_m2"].to_numpy(float)
    small = area < area_m2
    thin = np.zeros(len(pieces), bool)
    if width_m > 0 and len(pieces):
        # A shape narrower than w everywhere has area < perimeter * w / 2: test only those.
        perim = shapely.length(geoms)
        cand = np.flatnonzero(~small & (2.0 * area < perim * width_m))
        if len(cand):
            shrunk = shapely.buffer(geoms[cand], -width_m / 2.0, quad_segs=2)
            thin[cand] = shapely.is_empty(shrunk) | (shapely.area(shrunk) <= 0.0)
    rule = np.where(small, f"area < {area_m2:g} m2",
                    np.where(thin, f"narrower than {width_m:g} m everywhere", ""))
    return small | thin, rule


def find_relations(police: gpd.GeoDataFrame, admin: gpd.GeoDataFrame, pieces: gpd.GeoDataFrame,
                   *, weight: str = "area", min_share: float = 0.05
                   ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Shares, splits and relation classes from the crosswalk.

    ``police``/``admin`` must carry the unit totals of ``weight`` in a ``weight`` column and
    ``pieces`` the piece weights in ``weight`` and a boolean ``sliver`` column. Returns new
    (police, admin, pieces) frames with the columns described in ``BoundaryAudit``.
    """
    police, admin, pieces = police.copy(), admin.copy(), pieces.copy()
    ip, ia = pieces["_p"].to_numpy(), pieces["_a"].to_numpy()
    w = pieces["weight"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        sp = w / police["weight"].to_numpy(float)[ip]
        sa = w / admin["weight"].to_numpy(float)[ia]
    sp = np.where(np.isfinite(sp), sp, np.nan)
    sa = np.where(np.isfinite(sa), sa, np.nan)
    pieces["share_of_police"] = sp
    pieces["share_of_admin"] = sa
    real = ~pieces["sliver"].to_numpy(bool)
    holds_p = real & (np.nan_to_num(sp) >= min_share)
    holds_a = real & (np.nan_to_num(sa) >= min_share)
    significant = holds_p | holds_a
    pieces["significant"] = significant

    n_p, n_a = len(police), len(admin)
    police["counterparts"] = np.bincount(ip[holds_p], minlength=n_p)
    admin["counterparts"] = np.bincount(ia[holds_a], minlength=n_a)
    police["split"] = police["counterparts"].to_numpy() >= 2
    admin["split"] = admin["counterparts"].to_numpy() >= 2
    for frame, idx, share, other in ((police, ip, sp, "admin"), (admin, ia, sa, "police")):
        order = np.lexsort((-np.nan_to_num(share, nan=-1.0), idx))
        first = order[np.r_[True, idx[order][1:] != idx[order][:-1]]] if len(order) else order
        main = np.full(len(frame), None, dtype=object)
        main_share = np.full(len(frame), np.nan)
        main[idx[first]] = pieces[other].to_numpy()[first]
        main_share[idx[first]] = share[first]
        frame["main"] = main
        frame["main_share"] = main_share

    # Each significant pair is classed by whether its two ends are split; a unit takes the
    # most tangled class among its pairs. Groups: connected components of the significant pairs.
    p_split, a_split = police["split"].to_numpy(), admin["split"].to_numpy()
    ps, as_ = p_split[ip], a_split[ia]
    pair_class = np.where(~significant, "",
                          np.where(ps & as_, "many_to_many",
                                   np.where(ps, "police_spans_many",
                                            np.where(as_, "admin_split_among_many", "one_to_one"))))
    pieces["relation"] = pair_class
    rank = {"": 0, "one_to_one": 1, "admin_split_among_many": 2, "police_spans_many": 2,
            "many_to_many": 3}
    pair_rank = np.array([rank[c] for c in pair_class], dtype=np.int64)
    for frame, idx, own, other in ((police, ip, "police_spans_many", "admin_split_among_many"),
                                   (admin, ia, "admin_split_among_many", "police_spans_many")):
        worst = np.zeros(len(frame), np.int64)
        np.maximum.at(worst, idx, pair_rank)
        split = frame["split"].to_numpy()
        frame["relation"] = np.where(worst == 0, "unmatched",
                                     np.where(worst == 3, "many_to_many",
                                              np.where(split, own,
                                                       np.where(worst == 2, other, "one_to_one"))))
    sig = np.flatnonzero(significant)
    graph = coo_matrix((np.ones(len(sig)), (ip[sig], n_p + ia[sig])), shape=(n_p + n_a,) * 2)
    _, label = connected_components(graph, directed=False)
    police["group"] = label[:n_p]
    admin["group"] = label[n_p:]
    return police, admin, pieces


def _uneven_units(admin: gpd.GeoDataFrame, pieces: gpd.GeoDataFrame, *,
                  min_m2: float) -> tuple[dict[int, object], np.ndarray]:
    """Admin units whose pieces do not add up to the unit: the union of their pieces, and which
    of them hold an overlap (the union is smaller than the sum of the pieces)."""
    sums = np.bincount(pieces["_a"].to_numpy(), weights=pieces["area_m2"].to_numpy(),
                       minlength=len(admin))
    unit_area = shapely.area(np.asarray(admin.geometry.values))
    tol = np.maximum(min_m2, 1e-9 * unit_area)
    cand = np.flatnonzero(np.abs(sums - unit_area) > tol)
    sub = pieces[pieces["_a"].isin(cand)]
    parts = {int(k): list(v) for k, v in sub.groupby("_a")["geometry"]}
    unions: dict[int, object] = {}
    overlapped = []
    for j in cand:
        geoms = parts.get(int(j), [])
        u = shapely.union_all(geoms) if geoms else shapely.Polygon()
        unions[int(j)] = u
        if shapely.area(u) < sums[j] - tol[j]:
            overlapped.append(int(j))
    return unions, np.asarray(overlapped, dtype=np.int64)


def _gaps(admin: gpd.GeoDataFrame, police: gpd.GeoDataFrame, *, unions: dict[int, object],
          study: gpd.GeoDataFrame | None, min_m2: float) -> list[dict]:
    """Parts of the study area in no police unit, per admin unit (or per study polygon)."""
    if study is None:
        units = np.asarray(admin.geometry.values)
        labels = admin["admin"].to_numpy()
        covered = unions
    else:
        units = np.asarray(study.geometry.values)
        labels = np.array([""] * len(units), dtype=object)
        table = intersection_table(study, police, keep_geometry=True)
        covered = {int(k): shapely.union_all(list(v)) for k, v in table.groupby("a")["geometry"]}
        covered = {j: covered.get(j, shapely.Polygon()) for j in range(len(units))}
    out: list[dict] = []
    police_tree = shapely.STRtree(np.asarray(police.geometry.values))
    ids = police["police"].to_numpy()
    for j, u in covered.items():
        hole = shapely.difference(units[j], u)
        for g in shapely.get_parts(_polygonal_parts(np.array([hole], dtype=object))[0]):
            if g.area <= min_m2:
                continue
            near = police_tree.query(g, predicate="dwithin", distance=1.0)
            out.append({"kind": "gap", "rule": "in the study area but in no police unit",
                        "area_m2": float(g.area), "police": ",".join(ids[np.sort(near)]),
                        "admin": labels[j], "geometry": g})
    return out


def _overlaps(pieces: gpd.GeoDataFrame, overlapped: np.ndarray, *, min_m2: float) -> list[dict]:
    """Parts of the ``overlapped`` admin units inside two or more police units."""
    if not len(overlapped):
        return []
    sub = pieces[pieces["_a"].isin(overlapped)].reset_index(drop=True)
    table = intersection_table(sub, sub, keep_geometry=True)
    a_adm, b_adm = sub["_a"].to_numpy()[table["a"]], sub["_a"].to_numpy()[table["b"]]
    table = table[(table["a"].to_numpy() < table["b"].to_numpy()) & (a_adm == b_adm)
                  & (table["area_m2"].to_numpy() > min_m2)]
    out = []
    geoms = _polygonal_parts(np.asarray(table["geometry"].to_numpy(), dtype=object))
    for (a, b, area), g in zip(table[["a", "b", "area_m2"]].itertuples(index=False), geoms):
        ids = sorted({sub["police"].iat[a], sub["police"].iat[b]}, key=str)
        out.append({"kind": "overlap", "rule": "inside two or more police units",
                    "area_m2": float(area), "police": ",".join(ids),
                    "admin": sub["admin"].iat[a], "geometry": g})
    return out


def find_defects(police: gpd.GeoDataFrame, admin: gpd.GeoDataFrame, pieces: gpd.GeoDataFrame, *,
                 study: gpd.GeoDataFrame | None = None, defect_min_m2: float = 1.0
                 ) -> gpd.GeoDataFrame:
    """Gaps, overlaps and slivers as one GeoDataFrame (columns as in ``BoundaryAudit.defects``).

    ``pieces`` must carry the ``sliver`` flag and ``sliver_rule`` text; ``study`` (polygons in
    the same CRS) replaces the union of the admin units as the area that should be covered.
    Only admin units whose pieces do not add up to the unit are examined.
    """
    unions, overlapped = _uneven_units(admin, pieces, min_m2=defect_min_m2)
    rows = _overlaps(pieces, overlapped, min_m2=defect_min_m2)
    rows += _gaps(admin, police, unions=unions, study=study, min_m2=defect_min_m2)
    sl = pieces[pieces["sliver"]]
    for r in sl.itertuples(index=False):
        rows.append({"kind": "sliver", "rule": r.sliver_rule, "area_m2": float(r.area_m2),
                     "police": r.police, "admin": r.admin, "geometry": r.geometry})
    frame = pd.DataFrame(rows, columns=["kind", "rule", "area_m2", "police", "admin", "geometry"])
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=police.crs)


def rank_splits(police: gpd.GeoDataFrame, admin: gpd.GeoDataFrame, pieces: gpd.GeoDataFrame, *,
                weight: str = "area", sides: tuple[str, ...] = SIDES) -> pd.DataFrame:
    """The split units, worst first, with what lies outside their main counterpart.

    For each split unit the *minority* is everything of it (within the other layer) outside the
    counterpart that holds most of it: its area (m²), population and incidents where known.
    Sorted by the minority of ``weight``, then by minority area. Only the split units of
    ``sides`` (``"police"``, ``"admin"`` or both) are listed.
    """
    measures = ["area_m2"] + [c for c in ("population", "incidents") if c in pieces.columns]
    rows = []
    for side, frame, idx, other in (("police", police, "_p", "admin"), ("admin", admin, "_a", "police")):
        if side not in sides:
            continue
        split = np.flatnonzero(frame["split"].to_numpy())
        if not len(split):
            continue
        sub = pieces[pieces[idx].isin(split)]
        is_main = sub[other].to_numpy() == frame["main"].to_numpy()[sub[idx].to_numpy()]
        minority = sub.loc[~is_main].groupby(idx)[measures].sum().reindex(split, fill_value=0.0)
        part = pd.DataFrame({"side": side, "id": frame[side].to_numpy()[split],
                             "counterparts": frame["counterparts"].to_numpy()[split],
                             "main": frame["main"].to_numpy()[split],
                             "main_share": frame["main_share"].to_numpy()[split]})
        for m in measures:
            part["minority_" + m] = minority[m].to_numpy()
        rows.append(part)
    cols = ["side", "id", "counterparts", "main", "main_share"] + ["minority_" + m for m in measures]
    if not rows:
        return pd.DataFrame(columns=cols)
    key = {"area": "minority_area_m2", "population": "minority_population",
           "incidents": "minority_incidents"}[weight]
    out = pd.concat(rows, ignore_index=True)
    return out.sort_values([key, "minority_area_m2"], ascending=False, kind="stable").reset_index(drop=True)


def _unit_totals(units: gpd.GeoDataFrame, *, population: gpd.GeoDataFrame | None,
                 incidents: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    out = units.copy()
    out["area_m2"] = shapely.area(np.asarray(out.geometry.values))
    if population is not None:
        out["population"] = apportion_by_area(out, population, ["population"])["population"].to_numpy()
    if incidents is not None:
        out["incidents"] = count_points(out, incidents).to_numpy()
    return out


def audit_partitions(police: gpd.GeoDataFrame, admin: gpd.GeoDataFrame, *, police_id: str,
                     admin_id: str, weight: str = "area", min_share: float = 0.05,
                     population: gpd.GeoDataFrame | None = None, population_col: str | None = None,
                     incidents: gpd.GeoDataFrame | None = None, area: gpd.GeoDataFrame | None = None,
                     working_crs: object | None = None, sliver_area_m2: float = 100.0,
                     sliver_width_m: float = 5.0, defect_min_m2: float = 1.0,
                     police_layer: str = "jurisdictions", admin_layer: str = "townships",
                     police_station: str | None = None, container: str | None = None,
                     scale=None, _problems: list[Problem] | None = None) -> BoundaryAudit:
    """Audit a police partition against an admin partition.

    Parameters
    ----------
    police, admin : polygon layers as read (any CRS, ids in ``police_id`` / ``admin_id``, which
        may be the same column name). Features sharing an id are parts of one unit (dissolved,
        with a warning). The inputs are not modified.
    weight : ``"area"`` (m²), ``"population"`` or ``"incidents"``: what shares are shares of.
    min_share : a unit is split when two or more counterparts each hold at least this fraction
        of its weight.
    population : polygons (townships, cells…) carrying ``population_col``, apportioned by area;
        when None and ``population_col`` is given, the admin layer's own column is used.
    incidents : incident points (any CRS).
    area : the study area (polygons) for gaps; default the union of the admin units.
    working_crs : projected CRS in metres; default the UTM zone estimated from the admin layer.
    sliver_area_m2, sliver_width_m : the sliver rule (pieces smaller, or narrower everywhere).
    defect_min_m2 : gaps and overlaps up to this area are numerical noise and dropped.
    police_layer, admin_layer : workspace layer names used for validation rules and messages.
    police_station : a column of ``police`` naming each unit's station (police grids:
        ``station_id``); the audit's police units then carry it in ``station``.
    container : ``"police"`` or ``"admin"``: the side meant to hold whole units of the other
        (its spanning many is not ranked as a mismatch); default ``CONTAINERS`` for the two
        layer names, else None.
    scale : a ``geo.scale.Scale``: where the pieces are computed (default in memory).

    Raises ValidationError with every problem of every input at once, InputError for options.
    """
    _check_options(weight, min_share, population_col, incidents, sliver_area_m2, sliver_width_m)
    if container is None:
        container = CONTAINERS.get((police_layer, admin_layer))
    elif container not in SIDES:
        raise InputError(f"`container` was {container!r} but is expected to be one of "
                         f"{list(SIDES)} or None")
    problems = list(_problems or [])
    warnings: list[Problem] = []
    stations: dict[str, str] | None = None
    if police_station is not None:
        stations, more_problems, more_warnings = _stations_of(
            police, id_col=police_id, station_col=police_station, layer=police_layer, source=None)
        problems += more_problems
        warnings += more_warnings
    cp = _check_partition(police, kind=police_layer, id_col=police_id, role="police", source=None)
    ca = _check_partition(admin, kind=admin_layer, id_col=admin_id, role="admin", source=None)
    checks = [cp, ca]
    pop_layer = population if population is not None else (admin if population_col else None)
    cpop = (_population_checked(pop_layer, population_col, source=None)
            if population_col and pop_layer is not None else None)
    cinc = _points_checked(incidents, source=None) if incidents is not None else None
    carea = check_layer(area, "area") if area is not None else None
    checks += [c for c in (cpop, cinc, carea) if c is not None]
    for c in checks:
        problems += c.problems
        warnings += c.warnings
    raise_if_problems(problems)
    police_g, admin_g = cp.gdf, ca.gdf
    assert police_g is not None and admin_g is not None  # check_layer gives a frame when no problems

    basis = admin_g if admin_g.crs is not None else police_g
    crs = choose_working_crs(basis, requested=working_crs)
    for g, what in ((police_g, "police"), (admin_g, "admin")):
        if not CRS(g.crs).equals(crs):
            src = g.attrs.get("source", what)
            warnings.append(Problem(str(src), what, "reprojected",
                                    f"reprojected from {CRS(g.crs).to_string()} to the working "
                                    f"CRS {crs.to_string()}", "none needed"))
    police_w = to_crs(police_g, crs)
    admin_w = to_crs(admin_g, crs)
    pop_w = to_crs(cpop.gdf, crs) if cpop is not None else None
    inc_w = to_crs(cinc.gdf, crs) if cinc is not None else None
    study = None
    if carea is not None:
        study = to_crs(carea.gdf, crs)
        study = gpd.GeoDataFrame(geometry=shapely.get_parts(np.asarray(study.geometry.values)), crs=crs)

    pieces = crosswalk_pieces(police_w, admin_w, population=pop_w, incidents=inc_w, scale=scale)
    if not len(pieces):
        pb = shapely.total_bounds(np.asarray(police_w.geometry.values)).round(0).tolist()
        ab = shapely.total_bounds(np.asarray(admin_w.geometry.values)).round(0).tolist()
        raise InputError(f"the two layers do not overlap at all (police extent {pb}, admin extent "
                         f"{ab} in {crs.to_string()}); check that both cover the same place and "
                         "that each file's CRS is right")
    police_t = _unit_totals(police_w, population=pop_w, incidents=inc_w)
    admin_t = _unit_totals(admin_w, population=pop_w, incidents=inc_w)
    col = {"area": "area_m2", "population": "population", "incidents": "incidents"}[weight]
    police_t["weight"] = police_t[col].to_numpy(float)
    admin_t["weight"] = admin_t[col].to_numpy(float)
    pieces["weight"] = pieces[col].to_numpy(float)
    sliver, rule = _slivers(pieces, area_m2=sliver_area_m2, width_m=sliver_width_m)
    pieces["sliver"] = sliver
    pieces["sliver_rule"] = rule
    police_r, admin_r, pieces_r = find_relations(police_t, admin_t, pieces, weight=weight,
                                                 min_share=min_share)
    if stations is not None:
        police_r["station"] = police_r["police"].map(stations).astype(object)
        police_r["station"] = police_r["station"].where(police_r["station"].notna(), None)
    defects = find_defects(police_r, admin_r, pieces_r, study=study, defect_min_m2=defect_min_m2)
    severity = rank_splits(police_r, admin_r, pieces_r, weight=weight,
                           sides=tuple(s for s in SIDES if s != container))
    empty_p = np.flatnonzero(police_r["weight"].to_numpy() <= 0)
    if weight != "area" and len(empty_p):
        warnings.append(Problem("police", "police", "zero_weight",
                                f"{len(empty_p)} police units hold no {weight}; they cannot be split",
                                "none needed", tuple(police_r["police"].to_numpy()[empty_p])))
    for w in warnings:
        log.warning("%s", w)
    rules = {
        "split": f"two or more counterparts each hold at least {min_share:g} of the unit's {weight}",
        "sliver": f"a piece smaller than {sliver_area_m2:g} m2 or narrower than {sliver_width_m:g} m "
                  "everywhere (empty after an inward buffer of half that width)",
        "gap": "part of the study area (" + ("the given area" if study is not None else
                                              "union of the admin units") + ") in no police unit",
        "overlap": "part of an admin unit inside two or more police units",
        "noise": f"gaps and overlaps of at most {defect_min_m2:g} m2 are ignored",
    }
    if container is not None:
        rules["container"] = (f"{container} units ({police_layer if container == 'police' else admin_layer}) "
                              "are meant to hold whole units of the other side: their spanning "
                              "several is not ranked")
    return BoundaryAudit(
        police=police_r, admin=admin_r,
        pieces=pieces_r.drop(columns=["sliver_rule"]),
        defects=defects, severity=severity, weight=weight, min_share=float(min_share), crs=crs,
        rules=rules, warnings=warnings, police_layer=police_layer, admin_layer=admin_layer,
        container=container,
        params={"sliver_area_m2": float(sliver_area_m2), "sliver_width_m": float(sliver_width_m),
                "defect_min_m2": float(defect_min_m2), "study_area": study is not None})


def _layer_kind(path: str, default: str) -> str:
    """The workspace layer named in ``file.gpkg:layer`` when it is a polygon layer, else ``default``."""
    _, layer = split_layer_spec(path)
    return layer if layer in _POLYGON_KINDS else default


def _spec_path(spec: str | Path | LayerSource) -> str:
    return str(spec.path) if isinstance(spec, LayerSource) else str(spec)


def workspace_layer(spec: str | Path | LayerSource) -> str | None:
    """The polygon layer named by ``spec`` (``ws.gpkg:police_grids``) when its file is a GridPatrol
    workspace, else None (a plain file, or a layer that is no polygon layer of a workspace)."""
    path, layer = split_layer_spec(_spec_path(spec))
    return layer if layer in _POLYGON_KINDS and is_workspace(path) else None


def _finer_side(audit: BoundaryAudit) -> str:
    """The side whose units are looked up in the other (the non-container side; admin if none)."""
    return "police" if audit.container == "admin" else "admin"


def unit_crosswalk(audit: BoundaryAudit, *, side: str | None = None) -> pd.DataFrame:
    """Which unit each unit of ``side`` belongs to: which grid lies in which police grid and station.

    Parameters
    ----------
    audit : a boundary audit.
    side : ``"admin"`` or ``"police"``; default the side held by the other (``audit.container``),
        else ``"admin"``.

    Returns
    -------
    DataFrame, one row per unit of ``side`` in layer order: ``id``, ``main`` (the counterpart
    holding most of its weight; None without any), ``main_share`` (0..1), ``counterparts`` (how
    many hold at least ``min_share``), ``split`` and ``area_m2``. When the police units carry a
    station (``audit.police["station"]``): for ``side="admin"`` the ``station`` whose police
    units hold most of its weight and that ``station_share``; for ``side="police"`` the unit's
    own ``station``.
    """
    side = side or _finer_side(audit)
    if side not in SIDES:
        raise InputError(f"`side` was {side!r} but is expected to be one of {list(SIDES)}")
    frame = audit.admin if side == "admin" else audit.police
    out = pd.DataFrame({"id": frame[side].to_numpy(), "main": frame["main"].to_numpy(),
                        "main_share": frame["main_share"].to_numpy(float),
                        "counterparts": frame["counterparts"].to_numpy(),
                        "split": frame["split"].to_numpy(bool),
                        "area_m2": frame["area_m2"].to_numpy(float)})
    if "station" not in audit.police.columns:
        return out
    if side == "police":
        out["station"] = audit.police["station"].to_numpy()
        return out
    pieces = audit.pieces
    by = pd.DataFrame({"_a": pieces["_a"].to_numpy(),
                       "station": audit.police["station"].to_numpy()[pieces["_p"].to_numpy()],
                       "share": np.nan_to_num(pieces["share_of_admin"].to_numpy(float))})
    by = by.dropna(subset=["station"]).groupby(["_a", "station"], sort=False)["share"].sum().reset_index()
    best = by.sort_values(["_a", "share"], ascending=[True, False], kind="stable").drop_duplicates("_a")
    station = np.full(len(out), None, dtype=object)
    share = np.full(len(out), np.nan)
    station[best["_a"].to_numpy()] = best["station"].to_numpy()
    share[best["_a"].to_numpy()] = best["share"].to_numpy()
    out["station"] = station
    out["station_share"] = share
    return out


def _workspace_extras(ws: Workspace) -> dict:
    """Population (cells) and incidents of a workspace, as ``audit_partitions`` keywords."""
    extras: dict = {}
    if ws.has("cells") and "population" in ws.layer("cells").columns:
        extras.update(population=ws.layer("cells"), population_col="population")
    if ws.has("incidents"):
        extras["incidents"] = ws.layer("incidents")
    return extras


def _default_station(police: gpd.GeoDataFrame | None, police_layer: str) -> str | None:
    """The station column of a police grids layer (``station_id``) when it has one."""
    col = LAYERS["jurisdictions"].id_col
    if police is not None and police_layer == "police_grids" and col in police.columns:
        return col
    return None


def audit_workspace(ws: Workspace, *, police_layer: str, admin_layer: str, weight: str = "area",
                    min_share: float = 0.05, sliver_area_m2: float = 100.0,
                    sliver_width_m: float = 5.0, defect_min_m2: float = 1.0) -> BoundaryAudit:
    """Audit two polygon layers of one workspace (``police_grids`` vs ``gov_grids``…).

    Ids are the layers' id columns (``LAYERS``), the working CRS is the workspace's, population
    comes from the cells' ``population`` and incidents from the ``incidents`` layer when the
    workspace has them, police grids carry their ``station_id``, and the container side is
    taken from ``CONTAINERS``. Other parameters as in ``audit_partitions``.
    """
    for name, role in ((police_layer, "police_layer"), (admin_layer, "admin_layer")):
        if name not in _POLYGON_KINDS:
            raise InputError(f"`{role}` was {name!r} but is expected to be one of "
                             f"{list(_POLYGON_KINDS)}; choose a polygon layer with ids")
    police = ws.layer(police_layer)
    return audit_partitions(police, ws.layer(admin_layer), police_id=_POLYGON_ID_COLS[police_layer],
                            admin_id=_POLYGON_ID_COLS[admin_layer], weight=weight, min_share=min_share,
                            working_crs=ws.crs, sliver_area_m2=sliver_area_m2,
                            sliver_width_m=sliver_width_m, defect_min_m2=defect_min_m2,
                            police_layer=police_layer, admin_layer=admin_layer,
                            police_station=_default_station(police, police_layer),
                            **_workspace_extras(ws))


def audit_files(police: str | LayerSource, admin: str | LayerSource, *,
                police_id: str | None = None, admin_id: str | None = None,
                population: str | LayerSource | None = None,
                points: str | LayerSource | None = None, area: str | LayerSource | None = None,
                weight: str = "area", min_share: float = 0.05, population_col: str | None = None,
                working_crs: object | None = None, sliver_area_m2: float = 100.0,
                sliver_width_m: float = 5.0, defect_min_m2: float = 1.0,
                police_station: str | None = None, scale=None) -> BoundaryAudit:
    """Read the layers (paths may be ``file.gpkg:layer``) and run ``audit_partitions``.

    A layer of a GridPatrol workspace (``ws.gpkg:police_grids``, see ``workspace_layer``) needs no
    id column (its ``LAYERS`` id column is used) and brings the workspace along: its cells'
    population and its incidents (unless ``population``/``population_col`` or ``points`` are
    given), its working CRS (unless ``working_crs``) and, for police grids, their
    ``station_id`` (unless ``police_station``). Plain files need ``police_id`` / ``admin_id``.
    Unreadable files are collected with the validation problems and raised together. Other
    parameters as in ``audit_partitions``.
    """
    problems: list[Problem] = []
    p_path, a_path = _spec_path(police), _spec_path(admin)
    p_ws, a_ws = workspace_layer(police), workspace_layer(admin)
    ids: dict[str, str] = {}
    for role, given, kind, path in (("police_id", police_id, p_ws, p_path),
                                    ("admin_id", admin_id, a_ws, a_path)):
        if given is not None:
            ids[role] = given
        elif kind is not None:  # a polygon layer of a workspace (``workspace_layer``)
            ids[role] = _POLYGON_ID_COLS[kind]
        else:
            raise InputError(f"`{role}` is needed: {path!r} is not a layer of a GridPatrol "
                             "workspace (such as ws.gpkg:police_grids), so its id column is not "
                             "known; name the id column")

    def read(src, layer):
        if src is None:
            return None
        try:
            return read_layer(src)
        except GridPatrolError as exc:
            path = _spec_path(src)
            text = str(exc).rstrip(".")
            for prefix in (path + ": ", str(split_layer_spec(path)[0]) + ": "):
                text = text[len(prefix):] if text.startswith(prefix) else text
            problems.append(Problem(path, layer, "unreadable", text,
                                    "give a GeoPackage, GeoJSON, zipped Shapefile or CSV layer"))
            return None

    frames = {"police": read(police, "police"), "admin": read(admin, "admin"),
              "population": read(population, "population"), "points": read(points, "incidents"),
              "area": read(area, "area")}
    p_kind, a_kind = _layer_kind(p_path, "jurisdictions"), _layer_kind(a_path, "townships")
    if problems:
        # Validate what could be read, so that every problem is reported at once.
        for key, kind, col in (("police", p_kind, ids["police_id"]), ("admin", a_kind, ids["admin_id"])):
            if frames[key] is not None:
                problems += check_layer(frames[key], kind, id_col=col).problems
        raise_if_problems(problems)
    extras: dict = {}
    ws_path = split_layer_spec(p_path)[0] if p_ws else split_layer_spec(a_path)[0] if a_ws else None
    if ws_path is not None:
        ws = read_workspace(ws_path, layers=["cells", "incidents"])
        found = _workspace_extras(ws)
        if population is None and population_col is None:
            extras.update({k: found[k] for k in ("population", "population_col") if k in found})
        if points is None and "incidents" in found:
            extras["incidents"] = found["incidents"]
        if working_crs is None:
            working_crs = ws.crs
    if police_station is None and p_ws == "police_grids":
        police_station = _default_station(frames["police"], p_ws)
    return audit_partitions(frames["police"], frames["admin"], police_id=ids["police_id"],
                            admin_id=ids["admin_id"],
                            population=extras.get("population", frames["population"]),
                            incidents=extras.get("incidents", frames["points"]), area=frames["area"],
                            weight=weight, min_share=min_share,
                            population_col=extras.get("population_col", population_col),
                            working_crs=working_crs, sliver_area_m2=sliver_area_m2,
                            sliver_width_m=sliver_width_m, defect_min_m2=defect_min_m2,
                            police_layer=p_kind, admin_layer=a_kind, police_station=police_station,
                            scale=scale)
