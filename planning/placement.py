"""New posts and checkpoints: maximal covering and set covering with existing sites fixed (exact
MIP with HiGHS), and the fewest checkpoints that close a ring (minimum cut).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator, Mapping, Sequence

import geopandas as gpd
import highspy
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import csc_matrix, csr_matrix, hstack, identity, vstack

from geo.errors import GridPatrolError, InputError, Problem, ValidationError, format_ids
from geo.ids import id_str
from geo.ring import EdgeCheckpoints, RingGraph, edge_checkpoints, ring_graph, ring_polygon
from geo.traveltime import TravelEngine, minutes_matrix, nearest_facility
from planning.highs import new_highs

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["Placement", "maximal_covering", "set_covering", "cover_from_cost_matrix",
           "iter_place_posts", "place_posts", "Cut", "fewest_checkpoints", "demand_from_cells",
           "cost_tables", "placement_from_cost_matrix", "COST_COLUMNS", "DEMAND_COLUMNS"]

log = logging.getLogger(__name__)

_STATUS = {highspy.HighsModelStatus.kOptimal: "optimal",
           highspy.HighsModelStatus.kTimeLimit: "time_limit",
           highspy.HighsModelStatus.kInfeasible: "infeasible",
           highspy.HighsModelStatus.kInterrupt: "interrupted"}


@dataclass(frozen=True, eq=False)
class Placement:
    """The sites chosen by a covering model.

    Attributes
    ----------
    chosen : candidate ids chosen (in candidate order).
    objective : weight covered (maximal covering: including what existing sites cover) or
        number of sites (set covering).
    status : ``optimal``, ``time_limit`` (best found when the limit stopped HiGHS) …
    gap : relative optimality gap (0 when optimal; the bound is the solver's dual bound).
    bound : the solver's bound on the objective.
    seconds : solve time.
    uncoverable : demand ids no candidate or existing site reaches within the time (excluded).
    """

    chosen: list
    objective: float
    status: str
    gap: float
    bound: float
    seconds: float
    model: str
    uncoverable: list = field(default_factory=list)
    before: dict = field(default_factory=dict)
    after: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """The JSON of ``gridpatrol place-posts``; ``before``/``after`` also name the weight
        within the time ``covered_weight`` and its share ``covered_share`` (spopt's words)."""
        def figures(d: dict) -> dict:
            out = dict(d)
            if "weight_within" in out:
                out.setdefault("covered_weight", out["weight_within"])
                out.setdefault("covered_share", out["share_within"])
            return out
        return {"model": self.model, "chosen": self.chosen, "objective": self.objective,
                "status": self.status, "gap": self.gap, "bound": self.bound,
                "seconds": round(self.seconds, 3), "uncoverable": self.uncoverable,
                "before": figures(self.before), "after": figures(self.after)}


def cover_from_cost_matrix(cost: np.ndarray, minutes: float) -> csr_matrix:
    """Sparse boolean (demand x candidates) coverage from candidates x demand minutes."""
    return csr_matrix((np.asarray(cost) <= minutes).T)


def _solve(h: highspy.Highs, time_limit_s: float | None) -> tuple[str, np.ndarray, float, float, float]:
    """Run a model made by ``planning.highs.new_highs`` (silent, one thread)."""
    if time_limit_s is not None:
        h.setOptionValue("time_limit", float(time_limit_s))
    t0 = time.perf_counter()
    h.run()
    seconds = time.perf_counter() - t0
    status = _STATUS.get(h.getModelStatus(), h.modelStatusToString(h.getModelStatus()))
    info = h.getInfo()
    values = np.array(h.getSolution().col_value)
    return status, values, float(info.mip_gap), float(info.mip_dual_bound), seconds


def _pass(h: highspy.Highs, cost, lower, upper, integer, A: csc_matrix, row_lower, row_upper,
          maximize: bool) -> None:
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = A.shape[1], A.shape[0]
    lp.col_cost_ = np.asarray(cost, dtype=float)
    lp.col_lower_ = np.asarray(lower, dtype=float)
    lp.col_upper_ = np.asarray(upper, dtype=float)
    lp.row_lower_ = np.asarray(row_lower, dtype=float)
    lp.row_upper_ = np.asarray(row_upper, dtype=float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr.astype(np.int32)
    lp.a_matrix_.index_ = A.indices.astype(np.int32)
    lp.a_matrix_.value_ = A.data.astype(float)
    lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                       for i in integer]
    lp.sense_ = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
    h.passModel(lp)


def _greedy_sites(cover: csr_matrix, weights: np.ndarray, k: int) -> np.ndarray:
    """Boolean mask of at most ``k`` columns of ``cover`` (demand x candidates) chosen greedily,
    each adding the most uncovered ``weights`` (the classic 1 - 1/e approximation)."""
    chosen = np.zeros(cover.shape[1], dtype=bool)
    open_w = np.asarray(weights, dtype=float).copy()
    cover_t = csr_matrix(cover.T, dtype=float)
    for _ in range(int(k)):
        gain = cover_t @ open_w
        gain[chosen] = -1.0
        best = int(np.argmax(gain))
        if gain[best] <= 0:
            break
        chosen[best] = True
        open_w[cover[:, best].toarray().ravel() > 0] = 0.0
    return chosen


def maximal_covering(cover: csr_matrix, weights: np.ndarray, *, k: int,
                     covered: np.ndarray | None = None, candidate_ids: Sequence[object] | None = None,
                     demand_ids: Sequence[object] | None = None,
                     time_limit_s: float | None = 60.0) -> Placement:
    """Choose at most ``k`` candidates to maximise the weight covered (pure core).

    Parameters
    ----------
    cover : (demand x candidates) boolean sparse matrix: candidate j reaches demand i in time.
    weights : demand weights (population, incidents), >= 0.
    k : number of new sites, >= 1.
    covered : demand already covered by the existing sites (fixed; they count but need no site).
    candidate_ids, demand_ids : labels.
    time_limit_s : HiGHS time limit; when it stops the search the status is ``time_limit``
        and ``gap`` states how far from proven optimal the answer may be.

    Notes
    -----
    max sum_i w_i y_i  s.t.  y_i <= sum_{j in N_i} x_j,  sum_j x_j <= k,  x binary,
    0 <= y <= 1 (y is integral at an optimum). Existing coverage is fixed: those demand rows
    are left out and their weight added to the objective.
    """
    cover = csr_matrix(cover, dtype=bool)
    n_dem, n_cand = cover.shape
    weights = np.asarray(weights, dtype=float)
    cand = list(candidate_ids) if candidate_ids is not None else list(range(n_cand))
    dem = list(demand_ids) if demand_ids is not None else list(range(n_dem))
    if not (isinstance(k, (int, np.integer)) and k >= 1):
        raise InputError(f"`k` was {k!r} but must be a whole number of new sites >= 1")
    if len(weights) != n_dem or (weights < 0).any() or np.isnan(weights).any():
        raise InputError("demand weights must be one number >= 0 per demand point")
    covered = np.zeros(n_dem, bool) if covered is None else np.asarray(covered, bool)
    base = float(weights[covered].sum())
    reach = np.asarray(cover.sum(axis=1)).ravel() > 0
    open_rows = np.flatnonzero(~covered & reach & (weights > 0))
    uncoverable = [dem[i] for i in np.flatnonzero(~covered & ~reach & (weights > 0))]
    if len(open_rows) == 0 or n_cand == 0:
        return Placement([], base, "optimal", 0.0, base, 0.0, "max_cover", uncoverable)
    sub = cover[open_rows]
    m = len(open_rows)
    # columns: x_0..x_{n-1}, y_0..y_{m-1}; rows: y_i - sum x_j <= 0 ; sum x <= k
    A_cov = csr_matrix(sub, dtype=float)
    top = hstack([-A_cov, identity(m, format="csr")])
    bottom = hstack([csr_matrix(np.ones((1, n_cand))), csr_matrix((1, m))])
    A = vstack([top, bottom]).tocsc()
    h = new_highs()
    _pass(h, np.r_[np.zeros(n_cand), weights[open_rows]], np.zeros(n_cand + m), np.ones(n_cand + m),
          [True] * n_cand + [False] * m, A, np.r_[np.full(m, -highspy.kHighsInf), -highspy.kHighsInf],
          np.r_[np.zeros(m), float(k)], maximize=True)
    # The greedy sites as the first incumbent: a search stopped by the time limit on a large,
    # hard instance then answers at least as well as greedy (else it may answer worse).
    x0 = _greedy_sites(A_cov, weights[open_rows], k)
    start = highspy.HighsSolution()
    start.col_value = np.r_[x0, np.asarray(A_cov[:, x0].sum(axis=1)).ravel() > 0].astype(float).tolist()
    start.value_valid = True
    h.setSolution(start)
    status, values, gap, bound, seconds = _solve(h, time_limit_s)
    if status not in ("optimal", "time_limit") or len(values) == 0:
        raise GridPatrolError(f"the maximal covering model ended with status {status!r}")
    x = values[:n_cand] > 0.5
    w_open = weights[open_rows]
    if w_open[np.asarray(sub[:, x0].sum(axis=1)).ravel() > 0].sum() > \
            w_open[np.asarray(sub[:, x].sum(axis=1)).ravel() > 0].sum():
        x = x0  # the solver kept a worse incumbent than its start
    chosen = [cand[j] for j in np.flatnonzero(x)]
    got = base + float(weights[open_rows][np.asarray(sub[:, x].sum(axis=1)).ravel() > 0].sum())
    gap = 0.0 if status == "optimal" else max(0.0, gap)
    return Placement(chosen, got, status, gap, base + bound, seconds, "max_cover", uncoverable)


def set_covering(cover: csr_matrix, *, required: np.ndarray | None = None,
                 covered: np.ndarray | None = None, candidate_ids: Sequence[object] | None = None,
                 demand_ids: Sequence[object] | None = None,
                 time_limit_s: float | None = 60.0) -> Placement:
    """The fewest candidates so that every required demand is reached in time (pure core).

    Demand already ``covered`` by existing sites needs nothing. Demand that no candidate
    reaches is reported in ``uncoverable`` and left out (the rest is still covered).
    """
    cover = csr_matrix(cover, dtype=bool)
    n_dem, n_cand = cover.shape
    cand = list(candidate_ids) if candidate_ids is not None else list(range(n_cand))
    dem = list(demand_ids) if demand_ids is not None else list(range(n_dem))
    required = np.ones(n_dem, bool) if required is None else np.asarray(required, bool)
    covered = np.zeros(n_dem, bool) if covered is None else np.asarray(covered, bool)
    reach = np.asarray(cover.sum(axis=1)).ravel() > 0
    need = np.flatnonzero(required & ~covered & reach)
    uncoverable = [dem[i] for i in np.flatnonzero(required & ~covered & ~reach)]
    if len(need) == 0:
        return Placement([], 0.0, "optimal", 0.0, 0.0, 0.0, "set_cover", uncoverable)
    A = csr_matrix(cover[need], dtype=float).tocsc()
    h = new_highs()
    _pass(h, np.ones(n_cand), np.zeros(n_cand), np.ones(n_cand), [True] * n_cand, A,
          np.ones(len(need)), np.full(len(need), highspy.kHighsInf), maximize=False)
    status, values, gap, bound, seconds = _solve(h, time_limit_s)
    if status not in ("optimal", "time_limit") or len(values) == 0:
        raise GridPatrolError(f"the set covering model ended with status {status!r}")
    chosen = [cand[j] for j in np.flatnonzero(values > 0.5)]
    gap = 0.0 if status == "optimal" else max(0.0, gap)
    return Placement(chosen, float(len(chosen)), status, gap, bound, seconds, "set_cover", uncoverable)


def demand_from_cells(cells: gpd.GeoDataFrame, cell_nodes: pd.Series, *, weight: str) -> pd.Series:
    """Demand weight per network node: the ``weight`` column of the cells summed by the node
    each cell's centroid snaps to."""
    if weight not in cells.columns:
        raise InputError(f"weight was {weight!r} but the cells have no such column; columns are "
                         f"{[c for c in cells.columns if c != cells.geometry.name]}")
    w = pd.to_numeric(cells[weight], errors="coerce").fillna(0.0).to_numpy()
    return pd.Series(w, index=pd.Index(np.asarray(cell_nodes), dtype=object)).groupby(level=0).sum()


def _coverage_figures(engine: TravelEngine, facilities: pd.Series, demand: pd.Series,
                      minutes: float, delays) -> dict:
    if len(facilities) == 0:
        return {"sites": 0, "weight_within": 0.0, "share_within": 0.0, "demand_within": 0}
    near = nearest_facility(engine, facilities, delays_min=delays, limit_min=minutes)
    within = near["minutes"].reindex(demand.index).to_numpy() <= minutes
    total = float(demand.sum())
    got = float(demand.to_numpy()[within].sum())
    return {"sites": int(len(facilities)), "weight_within": got,
            "share_within": got / total if total else 0.0, "demand_within": int(within.sum())}


def _warn_short(result: Placement, after: dict, *, minutes: float, time_limit_s: float | None,
                what: str) -> None:
    """Warn when a set covering leaves demand uncovered or the solver stopped at its limit."""
    if result.model == "set_cover" and after["share_within"] < 1.0 - 1e-9:
        log.warning("coverage target not met: the sites reach %s %% of the demand weight within "
                    "%g min, not all of it; %d %s no candidate reaches in time%s",
                    f"{100 * after['share_within']:.3g}", minutes, len(result.uncoverable), what,
                    f" ({format_ids(result.uncoverable)})" if result.uncoverable else "")
    if result.status == "time_limit":
        log.warning("the %s solver stopped at time_limit_s (%g s) before proving the answer "
                    "optimal; it may be up to %s %% from the best", result.model, time_limit_s,
                    f"{100 * result.gap:.3g}")


def iter_place_posts(engine: TravelEngine, demand: pd.Series, *, minutes: float,
                     existing: pd.Series | None = None, candidates: Sequence[object] | None = None,
                     k: int | None = None, model: str = "max_cover",
                     delays_min: Mapping | pd.Series | float | None = None,
                     time_limit_s: float | None = 60.0, chunk: int = 256) -> Iterator[dict]:
    """Progress of a post placement, then the result: yields ``{"stage", "done", "total"}``
    dicts and finally ``{"stage": "done", "result": Placement}``.

    Parameters
    ----------
    engine : travel-time engine.
    demand : weight per demand node (node id -> weight >= 0).
    minutes : response standard T (minutes).
    existing : existing site id -> node id (fixed).
    candidates : candidate node ids (default: the demand nodes).
    k : new sites (``max_cover``); ignored by ``set_cover``.
    model : ``max_cover`` or ``set_cover``.
    delays_min : turnout delay (minutes) of the existing sites (new sites: none).
    """
    if model not in ("max_cover", "set_cover"):
        raise InputError(f"`model` was {model!r} but is expected to be one of ['max_cover', 'set_cover']")
    if not (minutes > 0):
        raise InputError(f"`minutes` was {minutes!r} but must be minutes > 0")
    if model == "max_cover" and k is None:
        raise InputError("maximal covering needs `k`, the number of new sites")
    existing = pd.Series(dtype=object) if existing is None else pd.Series(existing)
    existing.index = existing.index.map(id_str)
    demand = pd.Series(demand, dtype=float)
    cand = list(dict.fromkeys(candidates if candidates is not None else demand.index))
    taken = set(existing.to_numpy())
    cand = [c for c in cand if c not in taken]
    if not cand:
        raise InputError("no candidate sites left once the existing sites are removed; give candidates")
    dem_nodes = list(demand.index)
    blocks = []
    for start in range(0, len(cand), chunk):
        part = cand[start:start + chunk]
        cost = minutes_matrix(engine, part, dem_nodes, limit_min=minutes)
        blocks.append(csr_matrix(cost <= minutes))
        yield {"stage": "travel times", "done": min(start + chunk, len(cand)), "total": len(cand)}
    cover = vstack(blocks).T.tocsr()
    before = _coverage_figures(engine, existing, demand, minutes, delays_min)
    if len(existing):
        near = nearest_facility(engine, existing, delays_min=delays_min, limit_min=minutes)
        covered = near["minutes"].reindex(dem_nodes).to_numpy() <= minutes
    else:
        covered = np.zeros(len(dem_nodes), bool)
    yield {"stage": "solving", "done": 0, "total": 1}
    if model == "max_cover":
        assert k is not None  # checked on entry
        result = maximal_covering(cover, demand.to_numpy(), k=k, covered=covered,
                                  candidate_ids=cand, demand_ids=dem_nodes, time_limit_s=time_limit_s)
    else:
        result = set_covering(cover, required=demand.to_numpy() > 0, covered=covered,
                              candidate_ids=cand, demand_ids=dem_nodes, time_limit_s=time_limit_s)
    new = pd.Series(result.chosen, index=[f"new{i + 1}" for i in range(len(result.chosen))], dtype=object)
    all_sites = pd.concat([existing, new])
    delays = None
    if delays_min is not None:
        d = pd.Series(delays_min, dtype=float) if isinstance(delays_min, (Mapping, pd.Series)) else \
            pd.Series(float(delays_min), index=existing.index)
        delays = d.reindex(all_sites.index).fillna(0.0)
    after = _coverage_figures(engine, all_sites, demand, minutes, delays)
    _warn_short(result, after, minutes=minutes, time_limit_s=time_limit_s, what="demand nodes")
    result = Placement(result.chosen, result.objective, result.status, result.gap, result.bound,
                       result.seconds, result.model, result.uncoverable, before, after)
    yield {"stage": "done", "done": 1, "total": 1, "result": result}


def place_posts(engine: TravelEngine, demand: pd.Series, **options) -> Placement:
    """``iter_place_posts`` run to the end: the Placement (see there for the options)."""
    for last in iter_place_posts(engine, demand, **options):
        pass
    return last["result"]  # the last step carries the result


# --------------------------------------------------------------------------------------------
# Posts from a travel-cost table a planner brings (spopt's ``from_cost_matrix``)

COST_COLUMNS = ("candidate_id", "demand_id", "cost")
DEMAND_COLUMNS = ("demand_id", "weight")


def _named_columns(table: pd.DataFrame, want: tuple[str, ...], *, source: str, layer: str,
                   problems: list[Problem]) -> pd.DataFrame | None:
    """``table`` with its columns renamed to ``want`` (headers matched without case or outer
    spaces), or None with a problem naming the missing ones and the columns it has."""
    names = {str(c).strip().lstrip("\ufeff").lower(): c for c in table.columns}
    missing = [c for c in want if c not in names]
    if missing:
        have = ", ".join(str(c) for c in table.columns) or "none"
        problems.append(Problem(source, layer, "missing_columns",
                                f"no column {', '.join(missing)}; the columns are [{have}]",
                                f"name the columns {', '.join(want)} (a header line, one row "
                                f"per {'candidate and demand point pair' if 'cost' in want else 'demand point'})"))
        return None
    return pd.DataFrame({c: table[names[c]] for c in want}, index=table.index)


def _bad_rows(mask, index) -> tuple:
    return tuple(index[np.asarray(mask, dtype=bool)])


def cost_tables(costs: pd.DataFrame, demand: pd.DataFrame, *, costs_source: str = "costs",
                demand_source: str = "demand") -> tuple[pd.DataFrame, pd.Series]:
    """Check a travel-cost table and its demand table and return them tidy.

    Parameters
    ----------
    costs : one row per (candidate, demand point) pair: ``candidate_id``, ``demand_id``,
        ``cost`` (minutes or any cost >= 0; pairs left out never cover). Headers are matched
        without case; the index names rows in messages (``geo.tables.table_from_file`` gives
        the spreadsheet row numbers).
    demand : one row per demand point: ``demand_id``, ``weight`` (>= 0).
    costs_source, demand_source : the names messages give the two tables (their files).

    Returns
    -------
    (pairs, weights): pairs with text ids and float costs; weights indexed by demand id (text),
    in the demand table's order.

    Raises
    ------
    ValidationError
        With every problem found: missing columns, blank ids, costs or weights that are not
        numbers or are negative, repeated pairs or demand ids, and demand ids of ``costs`` that
        ``demand`` lacks; each names the table, the rows and the fix.
    """
    from geo.ids import normalise_ids
    problems: list[Problem] = []
    c = _named_columns(costs, COST_COLUMNS, source=costs_source, layer="cost matrix",
                       problems=problems)
    d = _named_columns(demand, DEMAND_COLUMNS, source=demand_source, layer="demand",
                       problems=problems)
    weights = None
    if d is not None:
        ids = normalise_ids(d["demand_id"])
        w = pd.to_numeric(d["weight"], errors="coerce")
        checks = [
            (ids.isna(), "blank_ids", "without a demand_id", "give every row a demand_id"),
            (ids.notna() & ids.duplicated(keep=False), "duplicate_ids",
             "repeat a demand_id", "give each demand point one row (add up their weights)"),
            (w.isna(), "not_a_number", "have a weight that is not a number",
             "give each demand point a weight >= 0 (population, incidents; 1 to count points)"),
            (w < 0, "negative", "have a negative weight", "give weights >= 0"),
        ]
        for mask, rule, message, fix in checks:
            if mask.any():
                problems.append(Problem(demand_source, "demand", rule, f"{int(mask.sum())} "
                                        f"row(s) {message}", fix, _bad_rows(mask, d.index)))
        if len(d) == 0:
            problems.append(Problem(demand_source, "demand", "empty", "no demand points",
                                    "give one row per demand point (demand_id, weight)"))
        ok = ids.notna() & ~ids.duplicated(keep=False) & w.notna() & (w >= 0)
        if ok.all() and len(d):
            weights = pd.Series(w.to_numpy(dtype=float), index=pd.Index(ids.to_numpy(), dtype=object),
                                name="weight")
    pairs = None
    if c is not None:
        cand, dem = normalise_ids(c["candidate_id"]), normalise_ids(c["demand_id"])
        cost = pd.to_numeric(c["cost"], errors="coerce")
        blank = cand.isna() | dem.isna()
        checks = [
            (blank, "blank_ids", "without a candidate_id or demand_id",
             "give every row both ids"),
            (~blank & pd.DataFrame({"c": cand, "d": dem}).duplicated(keep=False),
             "duplicate_pairs", "repeat a candidate_id and demand_id pair",
             "give each pair one row (keep the shortest cost)"),
            (cost.isna(), "not_a_number", "have a cost that is not a number",
             "give each pair its travel cost (minutes) as a number"),
            (cost < 0, "negative", "have a negative cost", "give costs >= 0 (travel minutes)"),
        ]
        if weights is not None:
            unknown = ~blank & ~dem.isin(set(weights.index))
            lacking = format_ids(sorted(set(dem[unknown])), limit=8)
            checks.append((unknown, "unknown_ids", f"name demand ids the demand table lacks ({lacking})",
                           f"add these demand points to {demand_source} or remove their rows"))
        for mask, rule, message, fix in checks:
            if mask.any():
                problems.append(Problem(costs_source, "cost matrix", rule, f"{int(mask.sum())} "
                                        f"row(s) {message}", fix, _bad_rows(mask, c.index)))
        if len(c) == 0:
            problems.append(Problem(costs_source, "cost matrix", "empty", "no pairs",
                                    "give one row per candidate and demand point pair"))
        pairs = pd.DataFrame({"candidate_id": cand, "demand_id": dem, "cost": cost.astype(float)})
    if problems:
        raise ValidationError(problems)
    return pairs, weights


def placement_from_cost_matrix(costs: pd.DataFrame, demand: pd.DataFrame, *, minutes: float,
                               k: int | None = None, model: str = "max_cover",
                               existing: Sequence[object] = (),
                               time_limit_s: float | None = 60.0, costs_source: str = "costs",
                               demand_source: str = "demand") -> Placement:
    """New sites from a travel-cost table (e.g. travel times fetched from a map service), as
    spopt's ``MCLP.from_cost_matrix`` / ``LSCP.from_cost_matrix``: a candidate covers a demand
    point when their ``cost`` is at most ``minutes``.

    Parameters
    ----------
    costs, demand : the tables (see ``cost_tables``, which checks them).
    minutes : the cost limit (response standard T), > 0.
    k : new sites for ``max_cover`` (ignored by ``set_cover``).
    model : ``max_cover`` (the ``k`` sites covering most weight) or ``set_cover`` (the fewest
        sites reaching every demand point of positive weight that some candidate reaches).
    existing : candidate ids open already: kept, what they reach counts as covered.
    time_limit_s : HiGHS time limit (one thread).
    costs_source, demand_source : the names messages give the two tables (their files).

    Returns
    -------
    Placement: ``chosen`` candidate ids (text), ``before`` (existing sites) and ``after``
    (existing and chosen) with ``sites``, ``weight_within``, ``share_within`` (of the total
    weight) and ``demand_within`` (demand points within ``minutes``).
    """
    from geo.ids import id_str
    if model not in ("max_cover", "set_cover"):
        raise InputError(f"`model` was {model!r} but is expected to be one of ['max_cover', 'set_cover']")
    if not (minutes > 0):
        raise InputError(f"`minutes` was {minutes!r} but must be a cost limit > 0")
    if model == "max_cover" and k is None:
        raise InputError("maximal covering needs `k`, the number of new sites")
    pairs, weights = cost_tables(costs, demand, costs_source=costs_source,
                                 demand_source=demand_source)
    candidates = list(dict.fromkeys(pairs["candidate_id"]))
    opened = list(dict.fromkeys(id_str(e) for e in existing))
    unknown = [e for e in opened if e not in set(candidates)]
    if unknown:
        raise InputError(f"`existing` was {format_ids(unknown)} but the cost matrix has no such "
                         f"candidate_id; candidates are {format_ids(candidates, limit=20)}")
    col = {c: j for j, c in enumerate(candidates)}
    row = {d: i for i, d in enumerate(weights.index)}
    near = pairs[pairs["cost"] <= minutes]
    cover = csr_matrix((np.ones(len(near), dtype=bool),
                        (near["demand_id"].map(row).to_numpy(), near["candidate_id"].map(col).to_numpy())),
                       shape=(len(weights), len(candidates)))
    is_open = np.isin(np.arange(len(candidates)), [col[e] for e in opened])
    covered = np.asarray(cover[:, is_open].sum(axis=1)).ravel() > 0
    new = np.flatnonzero(~is_open)
    if not len(new):
        raise InputError("every candidate is open already (`existing`); give candidates to choose from")
    sub = cover[:, new]
    names = [candidates[j] for j in new]
    w = weights.to_numpy()
    if model == "max_cover":
        assert k is not None  # checked on entry
        result = maximal_covering(sub, w, k=k, covered=covered, candidate_ids=names,
                                  demand_ids=list(weights.index), time_limit_s=time_limit_s)
    else:
        result = set_covering(sub, required=w > 0, covered=covered, candidate_ids=names,
                              demand_ids=list(weights.index), time_limit_s=time_limit_s)
    total = float(w.sum())

    def figures(sites: list) -> dict:
        hit = (np.asarray(cover[:, [col[x] for x in sites]].sum(axis=1)).ravel() > 0
               if sites else np.zeros(len(w), bool))
        got = float(w[hit].sum())
        return {"sites": len(sites), "weight_within": got,
                "share_within": got / total if total else 0.0, "demand_within": int(hit.sum())}

    before, after = figures(opened), figures(opened + list(result.chosen))
    _warn_short(result, after, minutes=minutes, time_limit_s=time_limit_s, what="demand points")
    return Placement(list(result.chosen), result.objective, result.status, result.gap,
                     result.bound, result.seconds, result.model, result.uncoverable, before, after)


# --------------------------------------------------------------------------------------------
# Fewest checkpoints to close a ring

@dataclass(frozen=True, eq=False)
class Cut:
    """The fewest new checkpoints that close a ring.

    Attributes
    ----------
    count : number of new checkpoints (the minimum cut value).
    sites : GeoDataFrame, one row per new checkpoint: ``kind`` (``road`` or ``junction``),
        ``u``, ``v`` (the road; ``node`` for a junction), ``road_class``, point geometry.
    """

    count: int
    sites: gpd.GeoDataFrame

    def summary(self) -> dict:
        return {"new_checkpoints": self.count,
                "sites": [{"kind": r.kind, "u": r.u, "v": r.v, "node": r.node,
                           "road_class": r.road_class} for r in self.sites.itertuples()]}


def fewest_checkpoints(G: nx.MultiDiGraph | RingGraph, ring, *,
                       checkpoints: gpd.GeoDataFrame | None = None,
                       id_col: str | None = "checkpoint_id", tolerance_m: float = 50.0,
                       band_m: float = 0.0, junctions: bool = False,
                       blocked: EdgeCheckpoints | None = None) -> Cut:
    """The fewest new checkpoints that close ``ring``, with the existing ``checkpoints`` kept.

    Parameters
    ----------
    G : road graph, or its ``geo.ring.RingGraph`` (read once for several rings).
    ring : ring polygon (see ``geo.ring.ring_crossings``).
    checkpoints : existing checkpoints (their roads are already closed).
    band_m : checkpoints may be placed on roads within this many metres of the ring on either
        side (0: only on the crossing roads themselves).
    junctions : also allow a checkpoint at a junction (one site closes all its roads).
    blocked : the roads the existing checkpoints close (``geo.ring.edge_checkpoints`` of the
        same graph and checkpoints), when several rings share them; computed when None.

    Notes
    -----
    A minimum s-t cut (max-flow) on an auxiliary graph: nodes farther than ``band_m`` outside
    the ring are merged into the source, those farther than ``band_m`` inside into the sink;
    each road has capacity 1 (a two-way road is one gadget so that closing it closes both
    directions), each junction capacity 1 when ``junctions`` else unlimited. The cut is exact:
    ``scipy.sparse.csgraph.maximum_flow`` (unlimited = more than all unit capacities together),
    and the sites are the cut closest to the sink (the nodes that still reach the sink in the
    residual graph, the same for every maximum flow).
    """
    from scipy.sparse.csgraph import breadth_first_order, maximum_flow
    rg = ring_graph(G)
    poly = ring_polygon(ring, rg)
    is_in = rg.inside(poly)
    S, T, FREE = 0, 1, -1
    term = np.where(is_in, T, S)
    if band_m != 0 and rg.n:  # nodes within the band are free (checkpoints may stand there)
        term[~(shapely.distance(poly.boundary, shapely.points(rg.xy)) > band_m)] = FREE
    if blocked is None:
        blocked = edge_checkpoints(rg, checkpoints, id_col=id_col, tolerance_m=tolerance_m)
    src, dst = rg.src, rg.dst
    # roads that can carry a cut: open, not a loop, not inside one merged terminal
    use = ~blocked.blocked & (src != dst) & ~((term[src] != FREE) & (term[src] == term[dst]))
    roads: dict[tuple, dict] = {}
    for e in np.flatnonzero(use).tolist():
        u, v, _ = rg.keys[e]
        d = rg.data[e]
        a, b = (u, v) if str(u) <= str(v) else (v, u)
        rec = roads.setdefault((a, b, round(d.get("length_m", 0.0), 1)),
                               {"dirs": set(), "road_class": d.get("road_class", ""),
                                "geometry": d.get("geometry")})
        rec["dirs"].add((int(src[e]), int(dst[e])))
    # flow network: 0 source, 1 sink, then junctions (in, out), then a pair per road
    free = np.flatnonzero(term == FREE)
    head = np.where(term == FREE, -1, term)  # entering a node
    tail = head.copy()  # leaving it
    arcs: list[np.ndarray] = []  # rows (from, to, 1 for a unit capacity, 0 for unlimited)
    nid = 2
    if junctions:
        head[free] = nid + np.arange(len(free))
        tail[free] = nid + len(free) + np.arange(len(free))
        nid += 2 * len(free)
        arcs.append(np.column_stack([head[free], tail[free], np.ones(len(free), np.int64)]))
    else:
        head[free] = tail[free] = nid + np.arange(len(free))
        nid += len(free)
    ends = []
    for rec in roads.values():
        r_in, r_out = nid, nid + 1
        nid += 2
        rec["nodes"] = (r_in, r_out)
        ends.append((r_in, r_out, 1))
        for u, v in rec["dirs"]:
            ends.append((tail[u], r_in, 0))
            ends.append((r_out, head[v], 0))
    if ends:
        arcs.append(np.array(ends, dtype=np.int64))
    empty = Cut(0, gpd.GeoDataFrame({"kind": [], "u": [], "v": [], "node": [], "road_class": []},
                                    geometry=[], crs=rg.crs))
    if not arcs:
        return empty
    arc = np.concatenate(arcs)
    unit = arc[:, 2] == 1
    big = int(unit.sum()) + 1  # "unlimited": more than every unit capacity together
    cap = csr_matrix((np.where(unit, 1, big).astype(np.int32), (arc[:, 0], arc[:, 1])), shape=(nid, nid))
    cap.sum_duplicates()
    reached = breadth_first_order(cap, S, directed=True, return_predecessors=False)
    if T not in set(reached.tolist()):
        return empty
    flow = maximum_flow(cap, S, T, method="dinic")
    residual = (cap - flow.flow).tocsr()
    residual.data = (residual.data > 0).astype(float)
    residual.eliminate_zeros()
    to_sink = breadth_first_order(residual.T.tocsr(), T, directed=True, return_predecessors=False)
    reach = np.ones(nid, bool)  # the source side: every node that cannot reach the sink
    reach[to_sink] = False
    value = flow.flow_value
    rows, geoms = [], []
    for (a, b, _), rec in roads.items():
        if reach[rec["nodes"][0]] and not reach[rec["nodes"][1]]:
            line = rec["geometry"]
            rows.append({"kind": "road", "u": a, "v": b, "node": None, "road_class": rec["road_class"]})
            geoms.append(line.interpolate(0.5, normalized=True) if line is not None else None)
    if junctions:
        for p in free[reach[head[free]] & ~reach[tail[free]]].tolist():
            rows.append({"kind": "junction", "u": None, "v": None, "node": rg.nodes[p], "road_class": ""})
            geoms.append(shapely.Point(rg.xy[p]))
    sites = gpd.GeoDataFrame(pd.DataFrame(rows, columns=["kind", "u", "v", "node", "road_class"]),
                             geometry=geoms, crs=rg.crs)
    if len(sites) != int(round(value)):
        raise GridPatrolError(f"internal: cut value {value} but {len(sites)} sites read back")
    return Cut(int(round(value)), sites)
