"""Response coverage: nearest facility by travel time per node and per cell, response bands
(1, 3, 5 minutes by default), network Voronoi response areas, places beyond the last band and
the workload of each facility.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Mapping, Sequence

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geo.errors import InputError
from geo.ids import id_str
from geo.network import SNAP_REFUSE_M, snap_points
from geo.traveltime import TravelEngine, nearest_facility

__all__ = ["Coverage", "DEFAULT_BANDS_MIN", "coverage_from_facilities", "coverage_from_layers",
           "parse_bands", "band_of", "response_areas", "edges_with_minutes"]

DEFAULT_BANDS_MIN = (1.0, 3.0, 5.0)


def parse_bands(text: str | Sequence[float]) -> tuple[float, ...]:
    """Response bands in minutes from ``"1,3,5"`` or a sequence: positive, sorted, distinct."""
    try:
        values = [float(t) for t in (text.split(",") if isinstance(text, str) else text)
                  if str(t).strip()]
    except ValueError:
        raise InputError(f"`minutes` was {text!r} but must be comma-separated minutes such as "
                         "1,3,5") from None
    if not values or any(not (v > 0) or not np.isfinite(v) for v in values):
        raise InputError(f"`minutes` was {text!r} but needs one or more minutes > 0, e.g. 1,3,5")
    return tuple(sorted(set(values)))


def band_of(minutes: np.ndarray | pd.Series, bands: Sequence[float]) -> np.ndarray:
    """The smallest band (minutes) each value falls within; NaN beyond the last band."""
    m = np.asarray(minutes, dtype=float)
    b = np.asarray(bands, dtype=float)
    pos = np.searchsorted(b, m, side="left")
    out = np.full(m.shape, np.nan)
    inside = pos < len(b)
    out[inside] = b[pos[inside]]
    return out


def _key(minutes: float) -> str:
    return f"{minutes:g}"


@dataclass(frozen=True, eq=False)
class Coverage:
    """Who reaches what, and when. Build with ``coverage_from_facilities`` or ``coverage_from_layers``.

    Attributes
    ----------
    nodes : indexed by node id: ``facility``, ``minutes`` (turnout delay included; ``inf``
        where unreachable), ``band`` (smallest band holding it; NaN beyond the last band).
    bands : the bands, minutes, ascending.
    facilities : facility id -> node id.
    cells : the cells (if given) with ``node``, ``facility``, ``minutes``, ``band`` added;
        weights such as ``population`` and ``incidents`` kept.
    weight : the cell column used as facility workload (None: node counts).
    """

    nodes: pd.DataFrame
    bands: tuple[float, ...]
    facilities: pd.Series
    cells: gpd.GeoDataFrame | None = None
    weight: str | None = None

    @cached_property
    def within(self) -> dict[str, int]:
        """{band minutes: number of nodes reached within it} (cumulative)."""
        m = self.nodes["minutes"].to_numpy()
        return {_key(b): int((m <= b).sum()) for b in self.bands}

    @cached_property
    def uncovered(self) -> list:
        """Node ids beyond the largest band (or unreachable)."""
        return self.nodes.index[~(self.nodes["minutes"] <= self.bands[-1])].tolist()

    @cached_property
    def max_minutes(self) -> float | None:
        """The longest finite response time over the nodes (minutes)."""
        m = self.nodes["minutes"].to_numpy()
        finite = m[np.isfinite(m)]
        return float(finite.max()) if len(finite) else None

    @cached_property
    def unreachable(self) -> list:
        """Node ids no facility can reach."""
        return self.nodes.index[~np.isfinite(self.nodes["minutes"].to_numpy())].tolist()

    @cached_property
    def by_facility(self) -> dict[str, dict]:
        """{facility id: {nodes: count of nodes it reaches first, weight: its workload}}.

        The workload is the sum of ``weight`` over the cells in its response area when cells
        were given, else the node count.
        """
        counts = self.nodes["facility"].value_counts()
        if self.cells is not None and self.weight is not None:
            weights = self.cells.groupby("facility")[self.weight].sum()
        else:
            weights = counts
        return {str(f): {"nodes": int(counts.get(f, 0)), "weight": float(weights.get(f, 0.0))}
                for f in self.facilities.index}

    @cached_property
    def band_table(self) -> pd.DataFrame:
        """Per band (cumulative): nodes, cells, and the sum of each numeric weight column of
        the cells (``population``, ``incidents``…) within it; a last row ``beyond``."""
        rows = []
        cols = self._weight_columns()
        for b in [*self.bands, np.inf]:
            row = {"band": _key(b) if np.isfinite(b) else "beyond"}
            if np.isfinite(b):
                row["nodes"] = int((self.nodes["minutes"] <= b).sum())
            else:
                row["nodes"] = len(self.uncovered)
            if self.cells is not None:
                cm = self.cells["minutes"].to_numpy()
                sel = cm <= b if np.isfinite(b) else ~(cm <= self.bands[-1])
                row["cells"] = int(sel.sum())
                for c in cols:
                    row[c] = float(self.cells.loc[sel, c].sum())
            rows.append(row)
        return pd.DataFrame(rows).set_index("band")

    @cached_property
    def cells_beyond(self) -> list:
        """Cell ids beyond the last band (places that no facility reaches in time)."""
        if self.cells is None:
            return []
        sel = ~(self.cells["minutes"].to_numpy() <= self.bands[-1])
        return self.cells.loc[sel, "cell_id"].tolist()

    def _weight_columns(self) -> list[str]:
        if self.cells is None:
            return []
        return [c for c in ("population", "incidents") if c in self.cells.columns]

    def summary(self) -> dict:
        """The JSON of ``gridpatrol coverage``."""
        out = {"nodes": int(len(self.nodes)), "within": self.within, "uncovered": self.uncovered,
               "max_minutes": self.max_minutes, "by_facility": self.by_facility,
               "unreachable": len(self.unreachable), "bands": list(self.bands)}
        if self.cells is not None:
            out["cells"] = {k: {c: (int(v) if c in ("nodes", "cells") else v) for c, v in row.items()}
                            for k, row in self.band_table.to_dict("index").items()}
            out["cells_beyond"] = self.cells_beyond
        return out


def coverage_from_facilities(engine: TravelEngine, facilities: Mapping | pd.Series, *,
                             bands: Sequence[float] = DEFAULT_BANDS_MIN,
                             delays_min: Mapping | pd.Series | float | None = None,
                             cells: gpd.GeoDataFrame | None = None,
                             cell_nodes: pd.Series | None = None,
                             weight: str | None = "incidents") -> Coverage:
    """Coverage from facilities already on nodes (the pure core; see ``coverage_from_layers``).

    Parameters
    ----------
    engine : travel-time engine of the network.
    facilities : facility id -> node id.
    bands : response bands in minutes.
    delays_min : turnout delay (minutes) per facility id, or one number for all.
    cells : analysis cells with ``cell_id`` and weights (``population``, ``incidents``).
    cell_nodes : node id of every cell, indexed like ``cells`` (required with ``cells``).
    weight : cell column summed as facility workload; None counts nodes instead. A column the
        cells do not have is an InputError.
    """
    bands = parse_bands(bands)
    fac = pd.Series(facilities)
    fac.index = fac.index.map(id_str)
    near = nearest_facility(engine, fac, delays_min=delays_min)
    nodes = near[["facility", "minutes"]].copy()
    nodes["band"] = band_of(nodes["minutes"], bands)
    out_cells, used_weight = None, None
    if cells is not None:
        if cell_nodes is None or len(cell_nodes) != len(cells):
            raise InputError("cells need their network node (cell_nodes, one per cell)")
        out_cells = cells.copy()
        out_cells["node"] = pd.Series(cell_nodes).to_numpy()
        hit = nodes.reindex(out_cells["node"].to_numpy())
        out_cells["facility"] = hit["facility"].to_numpy()
        out_cells["minutes"] = hit["minutes"].to_numpy(dtype=float)
        out_cells["band"] = band_of(out_cells["minutes"], bands)
        if weight is not None and weight not in out_cells.columns:
            cols = [c for c in cells.columns if c != cells.geometry.name]
            raise InputError(f"weight was {weight!r} but the cells have no such column; columns "
                             f"are {cols} (or None to count nodes)")
        used_weight = weight
    return Coverage(nodes=nodes, bands=bands, facilities=fac, cells=out_cells, weight=used_weight)


def coverage_from_layers(G: nx.MultiDiGraph, engine: TravelEngine, facilities: gpd.GeoDataFrame, *,
                         id_col: str | None = None, bands: Sequence[float] = DEFAULT_BANDS_MIN,
                         turnout_col: str | None = "turnout_min", turnout_min: float | None = None,
                         cells: gpd.GeoDataFrame | None = None,
                         weight: str | None = "incidents", at: str | None = None) -> Coverage:
    """Coverage of point facilities (stations, posts) over the network and the cells.

    Facilities are snapped to their nearest node (or given by a ``node_id`` column); cells by
    their centroid. The turnout delay is ``turnout_min`` for all when given, else the
    ``turnout_col`` column where the layer has it (posts: ``turnout_min``), else none.
    ``at`` (``HH:MM``): only the facilities open then count (their ``hours`` column,
    ``geo.hours``; no column: open 7x24); InputError when none is open.
    """
    if at is not None:
        from geo.hours import facility_hours, parse_time_of_day_text
        minute = parse_time_of_day_text(at)
        hours = facility_hours(facilities, layer="facilities", id_col=id_col)
        is_open = np.array([h.is_open(minute) for h in hours], dtype=bool)
        if not is_open.any():
            raise InputError(f"no facility is open at {at} (`at`); choose another time of day or "
                             "check the facilities' opening hours")
        facilities = facilities[is_open]
    snapped = snap_points(facilities, G, id_col=id_col, what="facilities", refuse_m=SNAP_REFUSE_M)
    fac = pd.Series(snapped["node"].to_numpy(), index=snapped["id"].to_numpy())
    dup = fac.index[fac.index.duplicated()].unique()
    if len(dup):
        raise InputError(f"facility ids are used more than once: {list(dup)[:12]}; give every "
                         "facility its own id, or name the id column (`id_col`)")
    delays = None
    if turnout_min is not None:
        delays = float(turnout_min)
    elif turnout_col and turnout_col in facilities.columns:
        delays = pd.Series(pd.to_numeric(facilities[turnout_col], errors="coerce").fillna(0.0).to_numpy(),
                           index=fac.index)
    cell_nodes = None
    if cells is not None:
        if "cell_id" not in cells.columns:
            raise InputError("the cells have no cell_id column")
        # Centroids in the graph's metric CRS, never in degrees.
        metric = cells
        if cells.crs is not None and G.graph.get("crs") is not None \
                and not CRS(cells.crs).equals(CRS(G.graph["crs"])):
            metric = cells.to_crs(G.graph["crs"])
        centroids = gpd.GeoDataFrame({"cell_id": metric["cell_id"].to_numpy()},
                                     geometry=metric.geometry.centroid.values, crs=metric.crs)
        # demand far from every road is snapped with a warning, never refused
        cell_nodes = snap_points(centroids, G, id_col="cell_id", what="cell centroids")["node"]
    return coverage_from_facilities(engine, fac, bands=bands, delays_min=delays, cells=cells,
                                    cell_nodes=cell_nodes, weight=weight)


def response_areas(coverage: Coverage) -> gpd.GeoDataFrame:
    """Network Voronoi response areas: the cells dissolved by the facility that reaches them
    first (``facility``, ``cells``, and the summed weights), in the cells' CRS."""
    if coverage.cells is None:
        raise InputError("response areas need cells; compute coverage with cells")
    cells = coverage.cells[coverage.cells["facility"].notna()]
    cols = [c for c in ("population", "incidents") if c in cells.columns]
    agg = cells.groupby("facility").agg(cells=("cell_id", "size"), **{c: (c, "sum") for c in cols})
    geoms = cells.groupby("facility")[cells.geometry.name].agg(lambda s: shapely.union_all(s.values))
    return gpd.GeoDataFrame(agg.reset_index(), geometry=geoms.reindex(agg.index).values,
                            crs=coverage.cells.crs)


def edges_with_minutes(G: nx.MultiDiGraph, coverage: Coverage) -> gpd.GeoDataFrame:
    """Road segments with the response minutes of their later end (``minutes``, ``band``),
    one row per physical road, in ``G.graph["crs"]`` (for colouring roads by band)."""
    minutes = coverage.nodes["minutes"]
    rows, geoms, seen = [], [], set()
    for u, v, k, d in G.edges(keys=True, data=True):
        if (v, u, k) in seen:
            continue
        seen.add((u, v, k))
        m = float(max(minutes[u], minutes[v]))
        rows.append({"u": u, "v": v, "road_class": d.get("road_class", ""), "minutes": m,
                     "facility": coverage.nodes.at[u, "facility"]})
        geoms.append(d.get("geometry"))
    out = gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs=G.graph["crs"])
    out["band"] = band_of(out["minutes"], coverage.bands)
    return out
