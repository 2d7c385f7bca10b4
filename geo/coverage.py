"""Response coverage: nearest facility by travel time per node and per cell, response bands
(1, 3, 5 minutes by default), network Voronoi response areas, places beyond the last band, the
nodes no facility reaches and the workload of each facility.

Coverage runs on the sparse travel-time graph of every node (``geo.network.engine_from_tables``
and friends: ``coverage_from_network``); no NetworkX graph is built. Every node a facility can
reach counts, one-way dead ends outside the largest strongly connected component included; the
nodes no facility reaches are listed (``Coverage.unreachable``) and named in a warning.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geo.errors import InputError, format_ids
from geo.network import SNAP_REFUSE_M, snap_points
from geo.traveltime import TravelEngine, arrival_arrays, facility_of, facility_series, node_labels

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["Coverage", "DEFAULT_BANDS_MIN", "coverage_from_facilities", "coverage_from_network",
           "coverage_from_layers", "parse_bands", "band_of", "response_areas", "edges_with_minutes"]

log = logging.getLogger(__name__)

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
    bands : the bands, minutes, ascending.
    facilities : facility id -> node id.
    node_ids : every node of the network (a pandas Index named ``node``).
    node_minutes : per node (``node_ids`` order), minutes to the first facility, turnout
        delay included; ``inf`` where no facility reaches it.
    node_first : per node, the position in ``facilities`` of the facility that reaches it
        first; -1 where none does.
    cells : the cells (if given) with ``node``, ``facility``, ``minutes``, ``band`` added;
        weights such as ``population`` and ``incidents`` kept.
    weight : the cell column used as facility workload (None: node counts).
    nodes : (built on first use) indexed by node id: ``facility``, ``minutes``, ``band``
        (smallest band holding it; NaN beyond the last band).
    """

    bands: tuple[float, ...]
    facilities: pd.Series
    node_ids: pd.Index
    node_minutes: np.ndarray
    node_first: np.ndarray
    cells: gpd.GeoDataFrame | None = None
    weight: str | None = None

    @cached_property
    def nodes(self) -> pd.DataFrame:
        """Indexed by node id: ``facility`` (missing where unreachable), ``minutes`` (``inf``
        where unreachable), ``band``."""
        return pd.DataFrame({"facility": facility_of(self.facilities, self.node_first),
                             "minutes": self.node_minutes,
                             "band": band_of(self.node_minutes, self.bands)}, index=self.node_ids)

    @cached_property
    def within(self) -> dict[str, int]:
        """{band minutes: number of nodes reached within it} (cumulative)."""
        m = self.node_minutes
        return {_key(b): int((m <= b).sum()) for b in self.bands}

    @cached_property
    def uncovered(self) -> list:
        """Node ids beyond the largest band (or unreachable)."""
        return self.node_ids[~(self.node_minutes <= self.bands[-1])].tolist()

    @cached_property
    def max_minutes(self) -> float | None:
        """The longest finite response time over the nodes (minutes)."""
        m = self.node_minutes
        finite = m[np.isfinite(m)]
        return float(finite.max()) if len(finite) else None

    @cached_property
    def unreachable(self) -> list:
        """Node ids no facility can reach."""
        return self.node_ids[self.node_first < 0].tolist()

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
            row: dict[str, object] = {"band": _key(b) if np.isfinite(b) else "beyond"}
            if np.isfinite(b):
                row["nodes"] = int((self.node_minutes <= b).sum())
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
        """The JSON of ``gridpatrol coverage``: ``nodes`` (all of the network), ``within``,
        ``uncovered`` (node ids beyond the last band, unreachable ones included),
        ``unreachable`` (how many nodes no facility reaches) and ``unreachable_nodes`` (their
        ids), ``max_minutes``, ``by_facility``, ``bands``; with cells, ``cells`` and
        ``cells_beyond``."""
        out = {"nodes": int(len(self.node_ids)), "within": self.within, "uncovered": self.uncovered,
               "max_minutes": self.max_minutes, "by_facility": self.by_facility,
               "unreachable": len(self.unreachable), "unreachable_nodes": self.unreachable,
               "bands": list(self.bands)}
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
    fac = facility_series(facilities)
    who, minutes, _ = arrival_arrays(engine, fac, delays_min=delays_min)
    labels = node_labels(engine)
    unreached = who < 0
    if unreached.any():
        log.warning("%d of %d network nodes are reached by no facility (one-way dead ends, or "
                    "roads not joined to any facility's); they count as beyond every band: %s",
                    int(unreached.sum()), engine.n, format_ids(engine.nodes[unreached]))
    out_cells, used_weight = None, None
    if cells is not None:
        if cell_nodes is None or len(cell_nodes) != len(cells):
            raise InputError("cells need their network node (cell_nodes, one per cell)")
        out_cells = cells.copy()
        out_cells["node"] = pd.Series(cell_nodes).to_numpy()
        at = labels.get_indexer(out_cells["node"].to_numpy(dtype=object))  # -1: not a node
        on = at >= 0
        out_cells["facility"] = facility_of(fac, np.where(on, who[at], -1)).to_numpy()
        out_cells["minutes"] = np.where(on, minutes[at], np.nan)
        out_cells["band"] = band_of(out_cells["minutes"], bands)
        if weight is not None and weight not in out_cells.columns:
            cols = [c for c in cells.columns if c != cells.geometry.name]
            raise InputError(f"weight was {weight!r} but the cells have no such column; columns "
                             f"are {cols} (or None to count nodes)")
        used_weight = weight
    return Coverage(bands=bands, facilities=fac, node_ids=labels, node_minutes=minutes, node_first=who,
                    cells=out_cells, weight=used_weight)


def coverage_from_network(network: TravelEngine, facilities: gpd.GeoDataFrame, *,
                          id_col: str | None = None, bands: Sequence[float] = DEFAULT_BANDS_MIN,
                          turnout_col: str | None = "turnout_min", turnout_min: float | None = None,
                          cells: gpd.GeoDataFrame | None = None,
                          weight: str | None = "incidents", at: str | None = None) -> Coverage:
    """Coverage of point facilities (stations, posts) over the sparse road graph and the cells.

    Parameters
    ----------
    network : the travel-time engine of every node, with node coordinates
        (``geo.network.engine_from_tables``, ``engine_from_file``, ``engine_from_workspace``).
        Every node counts; the nodes no facility reaches are listed in ``Coverage.unreachable``.
    facilities : points (any CRS), snapped to the nearest node of the network's largest strongly
        connected component, or naming their node in a ``node_id`` column (any node).
    id_col : facility id column (default: the row labels).
    bands : response bands in minutes.
    turnout_col, turnout_min : the turnout delay: ``turnout_min`` minutes for all when given,
        else the ``turnout_col`` column where the layer has it (posts: ``turnout_min``), else none.
    cells : cells with ``cell_id`` (and weights); their centroids, taken in the network's metric
        CRS, are snapped like the facilities (far ones with a warning, never refused).
    weight : cell column summed as facility workload (None: node counts).
    at : ``HH:MM``: only the facilities open then count (their ``hours`` column, ``geo.hours``;
        no column: open 7x24); InputError when none is open.
    """
    return _coverage_of_points(network, network, facilities, id_col=id_col, bands=bands,
                               turnout_col=turnout_col, turnout_min=turnout_min, cells=cells,
                               weight=weight, at=at)


def coverage_from_layers(G: nx.MultiDiGraph, engine: TravelEngine, facilities: gpd.GeoDataFrame, *,
                         id_col: str | None = None, bands: Sequence[float] = DEFAULT_BANDS_MIN,
                         turnout_col: str | None = "turnout_min", turnout_min: float | None = None,
                         cells: gpd.GeoDataFrame | None = None,
                         weight: str | None = "incidents", at: str | None = None) -> Coverage:
    """Coverage as ``coverage_from_network``, with the points snapped onto the NetworkX graph
    ``G`` and travel times from ``engine`` (for callers that hold a graph already). The nodes
    counted are ``engine``'s: an engine of a graph reduced to its largest strongly connected
    component counts only those; ``coverage_from_network`` counts every node.
    """
    return _coverage_of_points(G, engine, facilities, id_col=id_col, bands=bands,
                               turnout_col=turnout_col, turnout_min=turnout_min, cells=cells,
                               weight=weight, at=at)


def _coverage_of_points(snap_on: "nx.MultiDiGraph | TravelEngine", engine: TravelEngine,
                        facilities: gpd.GeoDataFrame, *, id_col: str | None,
                        bands: Sequence[float], turnout_col: str | None, turnout_min: float | None,
                        cells: gpd.GeoDataFrame | None, weight: str | None,
                        at: str | None) -> Coverage:
    """Snap facilities and cell centroids onto ``snap_on``, then ``coverage_from_facilities``."""
    if at is not None:
        from geo.hours import facility_hours, parse_time_of_day_text
        minute = parse_time_of_day_text(at)
        hours = facility_hours(facilities, layer="facilities", id_col=id_col)
        is_open = np.array([h.is_open(minute) for h in hours], dtype=bool)
        if not is_open.any():
            raise InputError(f"no facility is open at {at} (`at`); choose another time of day or "
                             "check the facilities' opening hours")
        facilities = facilities[is_open]
    snapped = snap_points(facilities, snap_on, id_col=id_col, what="facilities", refuse_m=SNAP_REFUSE_M)
    ids = snapped["id"].to_numpy(dtype=object)
    if len(set(ids)) < len(ids):
        dup = pd.unique(ids[pd.Series(ids).duplicated().to_numpy()])
        raise InputError(f"facility ids are used more than once: {list(dup)[:12]}; give every "
                         "facility its own id, or name the id column (`id_col`)")
    fac = pd.Series(snapped["node"].to_numpy(dtype=object), index=ids)
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
        # Centroids in the network's metric CRS, never in degrees.
        crs = snap_on.crs if isinstance(snap_on, TravelEngine) else snap_on.graph.get("crs")
        metric = cells
        if cells.crs is not None and crs is not None and not CRS(cells.crs).equals(CRS(crs)):
            metric = cells.to_crs(crs)
        centroids = gpd.GeoDataFrame({"cell_id": metric["cell_id"].to_numpy()},
                                     geometry=metric.geometry.centroid.values, crs=metric.crs)
        # demand far from every road is snapped with a warning, never refused
        cell_nodes = snap_points(centroids, snap_on, id_col="cell_id", what="cell centroids")["node"]
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


def edges_with_minutes(G: "nx.MultiDiGraph", coverage: Coverage) -> gpd.GeoDataFrame:
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
