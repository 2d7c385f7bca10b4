"""Street patrols of a station: choose the streets (by road class or by risk), drive them all with
the least deadheading (one-way streets honoured: ``planning.streets.street_tour``) and split the
tour among the units within their time budgets (``split_tour``)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Sequence

import geopandas as gpd
import networkx as nx
import numpy as np

from geo.errors import InputError, format_ids
from geo.ids import id_str, normalise_ids
from planning.streets import StreetSplit, StreetTour, split_tour, street_tour

__all__ = ["StreetPlan", "choose_streets", "streets_for_workspace", "DEFAULT_RISK_TOP"]

log = logging.getLogger(__name__)

DEFAULT_RISK_TOP = 0.2  # the riskiest fifth of a station's streets when nothing is chosen


@dataclass(frozen=True, eq=False)
class StreetPlan:
    """Street coverage of one station.

    Attributes
    ----------
    station : station id; ``depot`` its network node.
    streets : the chosen street segments (u, v, road_class, length_m, oneway, risk, geometry),
        one row a street (a two-way street once).
    tour : the covering tour; ``split`` its pieces per unit.
    speed_kmh, budget_min, units : as asked; ``selection`` how the streets were chosen.
    """

    station: str
    depot: object
    streets: gpd.GeoDataFrame
    tour: StreetTour
    split: StreetSplit
    speed_kmh: float
    budget_min: float
    units: int
    selection: str

    def unit_streets(self) -> list[int]:
        """Per unit, how many chosen streets it is the first to drive."""
        key: dict[tuple, list[int]] = {}
        for i, (u, v, ow) in enumerate(zip(self.streets["u"], self.streets["v"], self.streets["oneway"])):
            key.setdefault((u, v), []).append(i)
            if not ow:
                key.setdefault((v, u), []).append(i)
        done: set[int] = set()
        out = []
        for path in self.split.paths:
            n = 0
            for a, b in zip(path[:-1], path[1:]):
                for i in key.get((a, b), ()):
                    if i not in done:
                        done.add(i)
                        n += 1
                        break
            out.append(n)
        return out

    def summary(self) -> dict:
        """JSON-ready figures: units [{unit, km, minutes, streets}], total_km (driven by all
        units, to and from the station included), required_km (the chosen streets), deadhead_km
        (total less the chosen streets driven), covered_share (share of the tour driven within
        the budgets), tour_km, lower_bound_km, exact."""
        km = self.split.length_m / 1000.0
        counts = self.unit_streets()
        total = float(km.sum())
        covered_req = self.tour.required_m * self.split.covered_share / 1000.0
        return {
            "station": self.station, "selection": self.selection, "streets": int(len(self.streets)),
            "oneway_streets": int(self.streets["oneway"].sum()), "speed_kmh": self.speed_kmh,
            "budget_min": self.budget_min,
            "units": [{"unit": k + 1, "km": round(float(km[k]), 3),
                       "minutes": round(float(self.split.minutes[k]), 1), "streets": counts[k]}
                      for k in range(len(km))],
            "total_km": round(total, 3), "required_km": round(self.tour.required_m / 1000.0, 3),
            "deadhead_km": round(max(0.0, total - covered_req), 3),
            "covered_share": round(float(self.split.covered_share), 4),
            "tour_km": round(self.tour.length_m / 1000.0, 3),
            "lower_bound_km": round(self.tour.lower_bound_m / 1000.0, 3),
            "exact": bool(self.tour.matching_exact and self.tour.length_m <= self.tour.lower_bound_m + 1e-3),
        }


def choose_streets(edges: gpd.GeoDataFrame, *, classes: Sequence[str] | None = None,
                   risk: np.ndarray | None = None, risk_top: float | None = None) -> np.ndarray:
    """Boolean mask of the ``edges`` (one row a street, with ``road_class``) to cover: those of
    the road ``classes``, or the ``risk_top`` share (0-1] of them with the highest ``risk`` (only
    streets with some risk). Raises InputError naming the parameter and the choices."""
    if classes is not None and risk_top is not None:
        raise InputError("give either `classes` or `risk_top`, not both")
    if classes is not None:
        want = [str(c).strip() for c in classes if str(c).strip()]
        have = sorted(set(edges["road_class"].astype(str)))
        unknown = [c for c in want if c not in have]
        if not want or unknown:
            raise InputError(f"`classes` was {list(classes)!r} but the station's streets have the "
                             f"road classes {', '.join(have)}; choose among them")
        return edges["road_class"].astype(str).isin(want).to_numpy()
    top = DEFAULT_RISK_TOP if risk_top is None else risk_top
    if not (isinstance(top, (int, float)) and 0 < top <= 1):
        raise InputError(f"`risk_top` was {risk_top!r} but must be a share in (0, 1], e.g. 0.2 "
                         "for the riskiest fifth of the streets")
    r = np.asarray(risk, dtype=float)
    risky = np.flatnonzero(r > 0)
    if not len(risky):
        raise InputError("no street of the station has any incident near it; choose streets "
                         "by `classes` instead")
    k = max(1, int(round(top * len(risky))))
    pick = risky[np.argsort(-r[risky], kind="stable")[:k]]
    mask = np.zeros(len(edges), dtype=bool)
    mask[pick] = True
    return mask


def streets_for_workspace(ws, *, station: object, units: int, budget_min: float,
                          classes: Sequence[str] | None = None, risk_top: float | None = None,
                          speed_kmh: float = 30.0, oneway: bool = True,
                          exact_time_limit_s: float | None = 10.0,
                          G: nx.MultiDiGraph | None = None) -> StreetPlan:
    """Street patrol of one station's units: the streets inside its jurisdiction (midpoint
    inside) chosen by road ``classes`` or as the ``risk_top`` share by incidents near them
    (``geo.hotspots.segment_risk``; default the riskiest 20 %), covered by one tour from the
    station (``street_tour``; one-way streets honoured unless ``oneway`` is False, e.g. foot
    patrols) and split among ``units`` units of ``budget_min`` minutes each at ``speed_kmh``.
    A warning (with the share reached) when the budgets cannot cover the tour."""
    from geo.hotspots import segment_risk
    from geo.network import graph_from_workspace, tables_from_graph
    if not isinstance(units, (int, np.integer)) or units < 1:
        raise InputError(f"`units` was {units!r}; give at least one patrol unit (a whole number >= 1)")
    if not (isinstance(budget_min, (int, float)) and budget_min > 0):
        raise InputError(f"`budget_min` was {budget_min!r}; give minutes > 0 per unit")
    if not (isinstance(speed_kmh, (int, float)) and speed_kmh > 0):
        raise InputError(f"`speed_kmh` was {speed_kmh!r}; give km/h > 0 (car patrol 30, foot 5)")
    for name in ("stations", "jurisdictions"):
        ws.layer(name)  # InputError naming the missing layer
    stations = ws.layer("stations")
    sid = normalise_ids(stations["station_id"])
    hit = stations[(sid == id_str(station)).to_numpy()]
    if not len(hit):
        raise InputError(f"`station` was {station!r} but the workspace's stations are "
                         f"{format_ids(sorted(sid.dropna()), limit=30)}; give one of them")
    G = G if G is not None else graph_from_workspace(ws)
    node = id_str(hit["node_id"].iloc[0]) if "node_id" in hit.columns and hit["node_id"].notna().iloc[0] else None
    if node is None or node not in G:
        from geo.network import nodes_from_points
        node = nodes_from_points(hit, G).iloc[0]
    juris = ws.layer("jurisdictions")
    jid = normalise_ids(juris["station_id"])
    area = juris[(jid == id_str(station)).to_numpy()]
    if not len(area):
        raise InputError(f"station {station!r} has no jurisdiction polygon; import the "
                         "jurisdictions layer with its station_id")
    _, edges = tables_from_graph(G)
    mid = edges.geometry.interpolate(0.5, normalized=True)
    inside = edges[mid.within(area.geometry.union_all()).to_numpy()].reset_index(drop=True)
    if not len(inside):
        raise InputError(f"no street lies inside the jurisdiction of station {station!r}")
    risk = (segment_risk(inside, ws.layer("incidents")).to_numpy() if ws.has("incidents")
            else np.zeros(len(inside)))
    inside["risk"] = risk
    if classes is None and risk_top is None and not ws.has("incidents"):
        raise InputError("the workspace has no incidents to rank streets by risk; choose "
                         "streets by `classes`")
    mask = choose_streets(inside, classes=classes, risk=risk, risk_top=risk_top)
    chosen = inside[mask].reset_index(drop=True)
    selection = (f"classes {','.join(classes)}" if classes is not None
                 else f"risk top {DEFAULT_RISK_TOP if risk_top is None else risk_top:g}")
    required = list(zip(chosen["u"], chosen["v"]))
    tour = street_tour(G, required, start=node, oneway=oneway,
                       exact_time_limit_s=exact_time_limit_s)
    split = split_tour(G, tour, units=int(units), speed_kmh=float(speed_kmh),
                       budget_min=float(budget_min), depot=node)
    return StreetPlan(station=id_str(station) or "", depot=node, streets=chosen, tour=tour, split=split,
                      speed_kmh=float(speed_kmh), budget_min=float(budget_min), units=int(units),
                      selection=selection)
