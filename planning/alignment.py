"""Alignment proposal: make each township answer to one station where possible, keeping stations contiguous.

Works on the pieces of a ``geo.audit.BoundaryAudit`` (police unit x admin unit intersections).
For every admin unit (township) the *owner* is the unlocked station holding most of its weight;
the township's other pieces move to the owner one at a time, largest first, and a move is made
only if neither the giving nor the receiving station ends up in more connected parts than it
has now, and the giving station keeps at least one piece. Pieces that cannot move are listed
with the reason. Parts of stations outside every township stay with their station.
"""
from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from geo.audit import BoundaryAudit
from geo.errors import InputError

__all__ = ["AlignmentProposal", "propose_alignment"]


@dataclass(frozen=True)
class AlignmentProposal:
    """An alignment proposal. Nothing in the audit is changed.

    Attributes
    ----------
    owners : one row per admin unit: ``admin``, ``owner`` (proposed station, None when locked
        or without pieces), ``stations_before``/``stations_after`` (how many stations hold a
        piece of it), ``locked``.
    moves : pieces moved: ``piece``, ``admin``, ``from_station``, ``to_station``, ``area_m2``
        and ``population``/``incidents`` where the audit has them.
    kept : pieces that stay with another station than the owner, with ``reason``.
    workload : one row per station: ``station``, then ``<measure>_before``, ``_after`` and
        ``_change`` for area (m²), population and incidents where known, and ``parts_before``
        / ``parts_after`` (connected parts of the jurisdiction).
    pieces : the audit's pieces with ``station_before`` and ``station_after``.
    """

    owners: pd.DataFrame
    moves: pd.DataFrame
    kept: pd.DataFrame
    workload: pd.DataFrame
    pieces: gpd.GeoDataFrame

    @property
    def contiguous(self) -> bool:
        """True when no station has more parts after than before."""
        w = self.workload
        return bool((w["parts_after"] <= w["parts_before"]).all())

    def jurisdictions(self) -> gpd.GeoDataFrame:
        """Proposed jurisdictions (within the admin layer) dissolved by station."""
        return self.pieces.dissolve(by="station_after", as_index=False)[["station_after", "geometry"]] \
            .rename(columns={"station_after": "station"})


def _touch_graph(geoms: np.ndarray, *, tolerance_m: float) -> nx.Graph:
    """Pieces as nodes, edges between pieces that touch (within ``tolerance_m``) along a line."""
    g = nx.Graph()
    g.add_nodes_from(range(len(geoms)))
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=tolerance_m)
    keep = left < right
    left, right = left[keep], right[keep]
    # Corner contacts (a shared point) do not make a jurisdiction contiguous.
    shared = shapely.length(shapely.intersection(
        shapely.buffer(geoms[left], tolerance_m, quad_segs=1), geoms[right]))
    ok = shared > 2.5 * tolerance_m
    g.add_edges_from(zip(left[ok].tolist(), right[ok].tolist()))
    return g


def _parts(graph: nx.Graph, nodes: set[int]) -> int:
    return nx.number_connected_components(graph.subgraph(nodes)) if nodes else 0


def propose_alignment(audit: BoundaryAudit, *, locked_stations: tuple[str, ...] | list[str] = (),
                      locked_townships: tuple[str, ...] | list[str] = (),
                      tolerance_m: float = 1.0) -> AlignmentProposal:
    """Propose which station should own each township, and the pieces to move.

    Parameters
    ----------
    audit : a boundary audit (police units = stations, admin units = townships). Owners are
        chosen by the audit's weight; sliver pieces move with their township too.
    locked_stations : station ids that neither give nor receive pieces.
    locked_townships : township ids whose pieces all stay where they are.
    tolerance_m : pieces closer than this (metres) along a line count as touching.

    Returns
    -------
    AlignmentProposal. Pieces that would leave a station in more connected parts than now (or
    without any territory) are not moved and are listed in ``kept`` with the reason.
    """
    stations = set(audit.police["police"])
    towns = set(audit.admin["admin"])
    unknown = sorted(set(locked_stations) - stations) + sorted(set(locked_townships) - towns)
    if unknown:
        raise InputError(f"locked ids {unknown} are neither station ids ({len(stations)} known) "
                         "nor township ids of the audit; check the spelling")
    locked_s, locked_t = set(map(str, locked_stations)), set(map(str, locked_townships))
    pieces = audit.pieces.copy()
    pieces = pieces[~shapely.is_empty(np.asarray(pieces.geometry.values))].reset_index(drop=True)
    n = len(pieces)
    # Parts of stations outside every township stay put but count for contiguity.
    covered = pieces.groupby("_p").geometry.agg(lambda s: shapely.union_all(s.values))
    outside = []
    for pos, geom in zip(range(len(audit.police)), audit.police.geometry.values):
        rest = shapely.difference(geom, covered.get(pos, shapely.Polygon()))
        if shapely.area(rest) > tolerance_m ** 2:
            outside.append((audit.police["police"].iat[pos], rest))
    geoms = np.concatenate([np.asarray(pieces.geometry.values),
                            np.array([g for _, g in outside], dtype=object)])
    station = np.concatenate([pieces["police"].to_numpy(), np.array([s for s, _ in outside], dtype=object)])
    graph = _touch_graph(geoms, tolerance_m=tolerance_m)
    members: dict[str, set[int]] = {s: set() for s in stations}
    for i, s in enumerate(station):
        members[s].add(i)
    parts_before = {s: _parts(graph, m) for s, m in members.items()}
    before = station.copy()
    weight = pieces["weight"].to_numpy(float)
    area = pieces["area_m2"].to_numpy(float)

    owners, moves, kept = [], [], []
    towns_order = audit.admin.sort_values("weight", ascending=False)["admin"].tolist()
    by_town = pieces.groupby("admin").indices
    for town in towns_order:
        idx = np.asarray(by_town.get(town, []), dtype=np.int64)
        if not len(idx):
            owners.append((town, None, 0, 0, town in locked_t))
            continue
        holders = set(station[idx])
        if town in locked_t:
            owners.append((town, None, len(holders), len(holders), True))
            continue
        free = [i for i in idx if station[i] not in locked_s]
        totals = pd.Series(weight[free] + 1e-12 * area[free], index=station[free]).groupby(level=0).sum()
        if not len(totals):
            owners.append((town, None, len(holders), len(holders), False))
            for i in idx:
                kept.append((int(i), town, station[i], None, "the station holding it is locked"))
            continue
        owner = totals.idxmax()
        pending = sorted((i for i in free if station[i] != owner), key=lambda i: -area[i])
        progress = True
        reasons: dict[int, str] = {}
        while pending and progress:  # retry: a piece may touch the owner only via another one
            progress = False
            for i in list(pending):
                donor = station[i]
                d_after = members[donor] - {i}
                r_after = members[owner] | {i}
                if not d_after:
                    reasons[i] = f"it is all that is left of station {donor}"
                    continue
                if _parts(graph, d_after) > _parts(graph, members[donor]):
                    reasons[i] = f"station {donor} would fall into more parts"
                    continue
                if _parts(graph, r_after) > _parts(graph, members[owner]):
                    reasons[i] = f"it does not touch station {owner}'s territory"
                    continue
                members[donor] = d_after
                members[owner] = r_after
                station[i] = owner
                moves.append(int(i))
                pending.remove(i)
                reasons.pop(i, None)
                progress = True
        for i in pending:
            kept.append((int(i), town, station[i], owner, reasons.get(i, "blocked")))
        for i in idx:
            if station[i] in locked_s and station[i] != owner:
                kept.append((int(i), town, station[i], owner, f"station {station[i]} is locked"))
        after = set(station[idx])
        owners.append((town, owner, len(holders), len(after), False))

    pieces["station_before"] = before[:n]
    pieces["station_after"] = station[:n]
    measures = [("area_m2", "area_m2")] + [(c, c) for c in ("population", "incidents") if c in pieces.columns]
    moved = pieces.iloc[moves]
    move_cols = ["piece", "admin", "station_before", "station_after"] + [m for m, _ in measures]
    moves_df = moved[move_cols].rename(columns={"station_before": "from_station",
                                                "station_after": "to_station"})
    moves_df = pd.DataFrame(moves_df).reset_index(drop=True)
    kept_df = pd.DataFrame(kept, columns=["row", "admin", "station", "owner", "reason"])
    kept_df.insert(0, "piece", pieces["piece"].to_numpy()[kept_df["row"].to_numpy(int)] if len(kept_df) else [])
    kept_df = kept_df.drop(columns="row")
    owners_df = pd.DataFrame(owners, columns=["admin", "owner", "stations_before", "stations_after", "locked"])

    ids = audit.police["police"].tolist()
    work = pd.DataFrame({"station": ids})
    for col, name in measures:
        b = pieces.groupby("station_before")[col].sum().reindex(ids, fill_value=0.0).to_numpy()
        a = pieces.groupby("station_after")[col].sum().reindex(ids, fill_value=0.0).to_numpy()
        work[f"{name}_before"], work[f"{name}_after"], work[f"{name}_change"] = b, a, a - b
    work["parts_before"] = [parts_before[s] for s in ids]
    work["parts_after"] = [_parts(graph, members[s]) for s in ids]
    work["locked"] = work["station"].isin(locked_s)
    return AlignmentProposal(owners=owners_df, moves=moves_df, kept=kept_df, workload=work,
                             pieces=pieces.drop(columns=["_p", "_a"]))
