"""Layered rings (三圈三层): every ring's entries, covered and uncovered, closure proof, the fewest
new checkpoints that close it and the time to seal it with several units per entry.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.errors import InputError, format_ids
from geo.ids import normalise_ids
from geo.network import SNAP_REFUSE_M, snap_points
from geo.ring import (
    DEFAULT_TOLERANCE_M,
    EdgeCheckpoints,
    Ring,
    RingGraph,
    RingSpec,
    edge_checkpoints,
    ring_crossings,
    ring_graph,
    rings_from_workspace,
)
from geo.road_classes import MAIN_MAX_RANK
from geo.traveltime import TravelEngine, minutes_matrix
from planning.placement import Cut, fewest_checkpoints
from planning.seal import Seal, SealInfeasible, seal_from_cost_matrix

if TYPE_CHECKING:
    import networkx as nx

__all__ = [
    "DEFAULT_UNITS_NEEDED",
    "SEAL_ENTRIES",
    "RingResult",
    "Rings",
    "analyse_rings",
    "closure_witness",
    "rings_report",
    "units_from_workspace",
]

log = logging.getLogger(__name__)

#: Units each entry of a ring needs when it is sealed, by level, unless the checkpoints or the
#: rings layer say otherwise: two at the county border (a car each way), one further in.
DEFAULT_UNITS_NEEDED = {"outer": 2, "inner": 1, "core": 1}
#: Which entries a seal sends units to: those without a checkpoint, those of them on main roads
#: (arterial and above, ``MAJOR_RANK``), or all of them.
SEAL_ENTRIES = ("uncovered", "major", "all")
MAJOR_RANK = MAIN_MAX_RANK  # expressway 0, national 1, provincial 2, arterial 3 (geo.road_classes)


def closure_witness(G: nx.MultiDiGraph | RingGraph, polygon,
                    blocked: Mapping | EdgeCheckpoints) -> list | None:
    """A shortest road path (node ids, fewest roads) from a node outside ``polygon`` to a node
    inside it that uses no road in ``blocked``: the proof that a ring is open. None when there is
    none, which is the proof that it is closed (no inside node is reachable from outside).

    ``blocked``: {(u, v, key): checkpoint} (``geo.ring.blocked_edges``) or the
    ``geo.ring.edge_checkpoints`` of the same graph.

    Notes
    -----
    Every path from outside to inside has a last outside node followed by an inside one, so
    the shortest path is one open road from an outside node to an inside node, and there is
    none exactly when no inside node can be reached. Of those roads this returns the one a
    bidirectional breadth-first search from all outside nodes to all inside nodes meets first
    (NetworkX's ``shortest_path``; what this function returned when it built that graph):
    with at most as many outside as inside nodes the first in edge order, else the one into
    the first inside node (node order) from its first outside neighbour (node order).
    """
    rg = ring_graph(G)
    is_in = rg.inside(polygon)
    if isinstance(blocked, EdgeCheckpoints):
        shut = blocked.blocked
    else:
        shut = np.fromiter((k in blocked for k in rg.keys), dtype=bool, count=len(rg.keys))
    n_out = int((~is_in).sum())
    n_in = rg.n - n_out
    if n_out == 0 or n_in == 0:
        return None
    if n_out == 1:  # the search starts differently with one outside node: run it
        return _witness_search(rg, is_in, shut)
    roads = np.flatnonzero(~shut & ~is_in[rg.src] & is_in[rg.dst])
    if len(roads) == 0:
        return None
    e = roads[0] if n_out <= n_in else roads[np.lexsort((rg.src[roads], rg.dst[roads]))[0]]
    return [rg.nodes[rg.src[e]], rg.nodes[rg.dst[e]]]


def _witness_search(rg: RingGraph, is_in: np.ndarray, shut: np.ndarray) -> list | None:
    """``closure_witness`` by NetworkX's bidirectional search on the graph of open roads plus a
    source before every outside node and a sink after every inside node."""
    import networkx as nx
    H = nx.DiGraph()
    H.add_nodes_from(rg.nodes)
    H.add_edges_from((u, v) for (u, v, _), s in zip(rg.keys, shut.tolist()) if not s)
    S, T = ("__outside__",), ("__inside__",)
    H.add_edges_from((S, n) for n, i in zip(rg.nodes, is_in.tolist()) if not i)
    H.add_edges_from((n, T) for n, i in zip(rg.nodes, is_in.tolist()) if i)
    try:
        path = nx.shortest_path(H, S, T)
    except nx.NetworkXNoPath:
        return None
    return path[1:-1]


@dataclass(frozen=True, eq=False)
class RingResult:
    """One ring checked.

    Attributes
    ----------
    spec : the ring (level, name, polygon, source).
    ring : its crossings and closure (``geo.ring.Ring``).
    witness : for an open ring, a road path (node ids) from outside to inside that passes no
        checkpoint; None for a closed ring (or one that cannot be checked).
    proposal : the fewest new checkpoints that close it (None unless asked for, or when the ring
        cannot be checked).
    seal : the optimal seal of its entries (None when not asked, nothing to seal, or infeasible;
        ``seal_reason`` says which).
    entries_sealed : the entries sealed: ``crossing_id``, ``units_needed``, ``u``, ``v``.
    """

    spec: RingSpec
    ring: Ring
    witness: list | None = None
    proposal: Cut | None = None
    seal: Seal | None = None
    seal_reason: str | None = None
    entries_sealed: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def entry_ids(self) -> list:
        return self.ring.entries["crossing_id"].tolist()

    @property
    def covered_entries(self) -> list:
        e = self.ring.entries
        return e.loc[e["covered"].to_numpy(dtype=bool), "crossing_id"].tolist()

    @property
    def uncovered_entries(self) -> list:
        e = self.ring.entries
        return e.loc[~e["covered"].to_numpy(dtype=bool), "crossing_id"].tolist()

    def summary(self) -> dict:
        """One ring of ``gridpatrol ring --rings --json``: ``entries``, ``covered`` and
        ``uncovered`` are crossing ids of inbound crossings (outbound-only ones stay in
        ``crossings``)."""
        base = self.ring.summary()
        return {"name": self.spec.name, "level": self.spec.level, "source": self.spec.source,
                "entries": self.entry_ids, "covered": self.covered_entries,
                "uncovered": self.uncovered_entries, "closed": self.ring.closed,
                "closure": {"closed": self.ring.closed, "reason": self.ring.reason,
                            "leaks": self.ring.leaks, "open_path": self.witness},
                "proposal": None if self.proposal is None else self.proposal.summary(),
                "seal_minutes": None if self.seal is None else self.seal.seal_minutes,
                "seal": None if self.seal is None else self.seal.summary(),
                "seal_reason": self.seal_reason,
                "units_needed": {str(r.crossing_id): int(r.units_needed)
                                 for r in self.entries_sealed.itertuples()},
                "crossings": base["crossings"], "inside_nodes": base["inside_nodes"],
                "outside_nodes": base["outside_nodes"], "tolerance_m": base["tolerance_m"]}


@dataclass(frozen=True, eq=False)
class Rings:
    """All rings checked, outermost first."""

    results: list

    def summary(self) -> dict:
        rings = [r.summary() for r in self.results]
        return {"rings": rings, "all_closed": all(r["closed"] for r in rings),
                "levels": [r["level"] for r in rings]}


def units_from_workspace(ws) -> gpd.GeoDataFrame:
    """The units that can seal: stations and posts, one unit each, as ``unit_id`` (station or
    post id), ``kind`` (station/post), ``turnout_min`` (the layer's column, else 0), ``node_id``
    where every row has one; points in the workspace CRS. Empty when there are neither."""
    parts = []
    for layer, id_col, kind in (("stations", "station_id", "station"), ("posts", "post_id", "post")):
        if not ws.has(layer):
            continue
        g = ws.layer(layer)
        ids = (normalise_ids(g[id_col]) if id_col in g.columns
               else pd.Series([f"{kind}{i + 1}" for i in range(len(g))], index=g.index))
        turnout = (pd.to_numeric(g["turnout_min"], errors="coerce").fillna(0.0).to_numpy(dtype=float)
                   if "turnout_min" in g.columns else np.zeros(len(g)))
        part = pd.DataFrame({"unit_id": ids.to_numpy(), "kind": kind, "turnout_min": turnout})
        if "node_id" in g.columns:
            part["node_id"] = g["node_id"].to_numpy(dtype=object)
        parts.append(gpd.GeoDataFrame(part, geometry=g.geometry.values, crs=ws.crs))
    if not parts:
        return gpd.GeoDataFrame({"unit_id": [], "kind": [], "turnout_min": []}, geometry=[], crs=ws.crs)
    out = pd.concat(parts, ignore_index=True)
    if "node_id" in out.columns and out["node_id"].isna().any():
        out = out.drop(columns="node_id")  # snap every unit rather than mixing
    return gpd.GeoDataFrame(out, geometry="geometry", crs=ws.crs)


def _need_of(spec: RingSpec, units_needed) -> int:
    if isinstance(units_needed, Mapping):
        k = units_needed.get(spec.level)
    else:
        k = units_needed
    if k is None:
        k = spec.units_needed if spec.units_needed is not None else DEFAULT_UNITS_NEEDED[spec.level]
    if not (isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k >= 1):
        raise InputError(f"`units_needed` was {k!r} for the {spec.level} ring but must be a whole "
                         "number of units >= 1")
    return int(k)


def _entries_to_seal(ring: Ring, need: int, which: str, checkpoints, id_col) -> pd.DataFrame:
    e = ring.entries
    if which in ("uncovered", "major"):
        e = e[~e["covered"].to_numpy(dtype=bool)]
    if which == "major":
        e = e[e["rank"].to_numpy() <= MAJOR_RANK]
    k = np.full(len(e), need, dtype=int)
    if (which == "all" and checkpoints is not None and id_col is not None
            and "units_needed" in checkpoints.columns):
        own = pd.to_numeric(checkpoints["units_needed"], errors="coerce")
        own.index = normalise_ids(checkpoints[id_col]).to_numpy()
        own = own[~own.index.duplicated()]
        at = own.reindex(e["checkpoint_id"].astype(object).where(e["covered"], None)).to_numpy()
        ok = np.isfinite(at) & (at >= 1)
        k = np.where(ok, np.round(np.where(ok, at, 1)).astype(int), k)
    return pd.DataFrame({"crossing_id": e["crossing_id"].to_numpy(), "units_needed": k,
                         "u": e["u"].to_numpy(dtype=object), "v": e["v"].to_numpy(dtype=object)})


def _seal(engine: TravelEngine, unit_nodes: list, unit_ids: list, delays: np.ndarray,
          entries: pd.DataFrame) -> Seal:
    """Units to entries: an entry is held once a unit stands at either end of its road."""
    to_u = minutes_matrix(engine, unit_nodes, entries["u"].tolist())
    to_v = minutes_matrix(engine, unit_nodes, entries["v"].tolist())
    return seal_from_cost_matrix(np.minimum(to_u, to_v), unit_ids=unit_ids,
                                 exit_ids=entries["crossing_id"].tolist(),
                                 units_needed=entries["units_needed"].to_numpy(), turnout_min=delays)


def analyse_rings(G: nx.MultiDiGraph | RingGraph, engine: TravelEngine | None,
                  specs: Sequence[RingSpec], *,
                  checkpoints: gpd.GeoDataFrame | None = None, id_col: str | None = "checkpoint_id",
                  tolerance_m: float = DEFAULT_TOLERANCE_M, propose: bool = False,
                  band_m: float = 0.0, junctions: bool = False,
                  units: gpd.GeoDataFrame | None = None, unit_id: str = "unit_id",
                  turnout_col: str | None = "turnout_min",
                  units_needed: int | Mapping[str, int] | None = None,
                  seal_entries: str = "uncovered") -> Rings:
    """Check every ring: crossings, covered and uncovered entries, closure with its proof, the
    fewest new checkpoints (``propose``) and the seal time (when ``units`` and ``engine`` are
    given).

    Parameters
    ----------
    G, engine : road graph (metric CRS), or its ``geo.ring.RingGraph`` (then units are snapped
        on ``engine``), and its travel-time engine.
    specs : the rings (``geo.ring.rings_from_workspace``).
    checkpoints : every checkpoint; one covers the roads within ``tolerance_m`` metres, whatever
        ring its ``ring`` column names.
    propose, band_m, junctions : the fewest new checkpoints (``planning.placement.fewest_checkpoints``).
    units : the units that seal (points, ``unit_id`` column; ``turnout_col`` minutes before
        they leave, 0 where the column is missing). A unit holds one entry.
    units_needed : units per entry: one number for every ring, a mapping level -> number, or
        None: the rings layer's ``units_needed``, else ``DEFAULT_UNITS_NEEDED``. With
        ``seal_entries="all"`` a checkpoint's own ``units_needed`` column wins for its entry.
    seal_entries : ``uncovered`` (the entries without a checkpoint: the checkpoints hold theirs),
        ``major`` (those of them on arterial or bigger roads) or ``all``.

    Notes
    -----
    Closure is proved both ways: an open ring carries a witness path from outside to inside
    that passes no checkpoint; a closed ring is one where no inside node is reachable from
    outside once the checkpointed roads are removed (the fewest new checkpoints is then 0).
    The seal time is the exact bottleneck assignment (``planning.seal``) of units to entries,
    each entry repeated as many times as the units it needs, an entry being held once a unit
    reaches either end of its crossing road, each unit arriving after its turnout delay plus
    travel. A ring that cannot be sealed says why in ``seal_reason`` (and a warning).
    """
    if seal_entries not in SEAL_ENTRIES:
        raise InputError(f"`seal_entries` was {seal_entries!r} but is expected to be one of "
                         f"{list(SEAL_ENTRIES)}")
    unit_nodes = unit_ids = delays = None
    if units is not None and len(units) and engine is not None:
        snapped = snap_points(units, engine if isinstance(G, RingGraph) else G,
                              id_col=unit_id if unit_id in units.columns else None,
                              what="units", refuse_m=SNAP_REFUSE_M)
        dup = snapped["id"][snapped["id"].duplicated()].unique()
        if len(dup):
            raise InputError(f"unit ids are used more than once: {format_ids(dup)}; give every unit "
                             "its own id")
        unit_nodes, unit_ids = snapped["node"].tolist(), snapped["id"].tolist()
        delays = (pd.to_numeric(units[turnout_col], errors="coerce").fillna(0.0).to_numpy(dtype=float)
                  if turnout_col is not None and turnout_col in units.columns else np.zeros(len(units)))
    results = []
    rg = ring_graph(G) if specs else None  # the graph read once, for every ring
    blocked = None  # the roads the checkpoints close: found once, for every ring
    for spec in specs:
        if blocked is None:
            blocked = edge_checkpoints(rg, checkpoints, id_col=id_col, tolerance_m=tolerance_m)
        ring = ring_crossings(rg, spec.polygon, checkpoints=checkpoints, id_col=id_col,
                              tolerance_m=tolerance_m, blocked=blocked)
        witness = None
        if ring.reason is None and not ring.closed:
            witness = closure_witness(rg, spec.polygon, blocked)
        proposal = None
        if propose and ring.reason is None:
            proposal = fewest_checkpoints(rg, spec.polygon, checkpoints=checkpoints, id_col=id_col,
                                          tolerance_m=tolerance_m, band_m=band_m, junctions=junctions,
                                          blocked=blocked)
        need = _need_of(spec, units_needed)
        entries = _entries_to_seal(ring, need, seal_entries, checkpoints, id_col)
        seal, reason = None, None
        if units is None or engine is None:
            reason = "no seal asked (no units or no travel times given)"
        elif unit_nodes is None or unit_ids is None or delays is None:  # set together, above
            reason = "no units to seal with (stations or posts)"
        elif len(ring.entries) == 0:
            reason = f"the ring has no entries to seal: {ring.reason or 'no road enters it'}"
        elif len(entries) == 0:
            reason = {"uncovered": "every entry has a checkpoint, so no units are sent",
                      "major": "every entry on a main road has a checkpoint, so no units are sent",
                      "all": "the ring has no entries"}[seal_entries]
        else:
            try:
                seal = _seal(engine, unit_nodes, unit_ids, delays, entries)
            except SealInfeasible as exc:
                reason = str(exc)
                log.warning("the %s ring %r cannot be sealed: %s", spec.level, spec.name, reason)
        results.append(RingResult(spec, ring, witness, proposal, seal, reason, entries))
    return Rings(results)


def rings_report(ws, G: nx.MultiDiGraph, engine: TravelEngine | None, *,
                 rings: gpd.GeoDataFrame | None = None, tolerance_m: float = DEFAULT_TOLERANCE_M,
                 propose: bool = False, band_m: float = 0.0, junctions: bool = False,
                 seal: bool = True, units_needed: int | Mapping[str, int] | None = None,
                 seal_entries: str = "uncovered") -> Rings:
    """``analyse_rings`` on a workspace: its rings (``rings_from_workspace``), its checkpoints,
    and its stations and posts as the units that seal (``seal`` False: no seal)."""
    specs = rings_from_workspace(ws, rings)
    cps = ws.layer("checkpoints") if ws.has("checkpoints") else None
    id_col = "checkpoint_id" if cps is not None and "checkpoint_id" in cps.columns else None
    units = units_from_workspace(ws) if seal else None
    return analyse_rings(G, engine, specs, checkpoints=cps, id_col=id_col, tolerance_m=tolerance_m,
                         propose=propose, band_m=band_m, junctions=junctions, units=units,
                         units_needed=units_needed, seal_entries=seal_entries)
