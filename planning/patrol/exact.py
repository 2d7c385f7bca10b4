"""The exact patrol model (HiGHS MIP) for small instances: the yardstick of the heuristic."""
from __future__ import annotations

import time

from planning.patrol.problem import _EPS, PatrolInfeasible, PatrolPlan, PatrolProblem


def solve_mip(problem: PatrolProblem, *, time_limit_s: float = 60.0, mip_gap: float = 0.0) -> PatrolPlan:
    """The exact team orienteering MIP (arc variables per unit, time variables for sub-tour
    elimination and windows), solved with HiGHS. For small instances (about 15 visits, 3 units).

    Returns the best plan found; ``optimal`` says whether HiGHS proved it, ``bound`` is its
    upper bound of the risk.
    """
    import highspy

    reasons = problem.explain_infeasible()
    if reasons:
        raise PatrolInfeasible("no patrol plan is possible: " + "; ".join(reasons))
    t0 = time.perf_counter()
    p = problem
    V, K = p.n_visits, p.n_units
    from planning.highs import new_highs  # silent, one thread, as every HiGHS model here
    h = new_highs()
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", float(mip_gap))
    S, E = -1, -2  # pseudo nodes start and end
    x: dict[tuple[int, int, int], highspy.highs_var] = {}  # arc of unit k from i to j
    y: dict[tuple[int, int], highspy.highs_var] = {}
    a: dict[tuple[int, int], highspy.highs_var] = {}
    for k in range(K):
        T = p.travel_min[p.mode[k]]
        B = p.budget_min[k]

        def site(n: int) -> int:
            return p.start_site[k] if n == S else (p.end_site[k] if n == E else p.visit_site[n])

        reach = [max(T[p.start_site[k], p.visit_site[v]], p.open_min[v]) for v in range(V)]
        latest = [min(p.close_min[v], B - p.dwell_min[v] - T[p.visit_site[v], p.end_site[k]])
                  for v in range(V)]
        for v in range(V):
            if reach[v] <= latest[v] + _EPS:
                y[k, v] = h.addBinary(obj=0.0)
                a[k, v] = h.addVariable(lb=float(reach[v]), ub=float(max(latest[v], reach[v])))
        nodes = [v for v in range(V) if (k, v) in y]
        if T[p.start_site[k], p.end_site[k]] <= B + _EPS:
            x[k, S, E] = h.addBinary()
        for j in nodes:
            x[k, S, j] = h.addBinary()
            x[k, j, E] = h.addBinary()
            for i in nodes:
                if i != j and reach[i] + p.dwell_min[i] + T[site(i), site(j)] <= p.close_min[j] + _EPS and \
                        reach[i] + p.dwell_min[i] + T[site(i), site(j)] + p.dwell_min[j] + \
                        T[site(j), p.end_site[k]] <= B + _EPS:
                    x[k, i, j] = h.addBinary()
        # The route's duration fits the budget (a knapsack cut the time variables alone lack).
        h.addConstr(sum(var * float(T[site(i), site(j)] + (p.dwell_min[j] if j >= 0 else 0.0))
                        for (kk, i, j), var in x.items() if kk == k) <= B)
        out_s = [x[key] for key in x if key[0] == k and key[1] == S]
        in_e = [x[key] for key in x if key[0] == k and key[2] == E]
        h.addConstr(sum(out_s) == 1)
        h.addConstr(sum(in_e) == 1)
        for v in nodes:
            h.addConstr(sum(x[key] for key in x if key[0] == k and key[1] == v) - y[k, v] == 0)
            h.addConstr(sum(x[key] for key in x if key[0] == k and key[2] == v) - y[k, v] == 0)
        for (kk, i, j), var in list(x.items()):
            if kk != k or i in (S,) or j in (E,):
                continue
            Tij = T[p.visit_site[i], p.visit_site[j]]
            # a_j >= a_i + dwell_i + T_ij when i -> j; big-M as small as the bounds allow.
            Mij = max(0.0, float(latest[i]) + p.dwell_min[i] + Tij - float(reach[j]))
            h.addConstr(a[k, i] + p.dwell_min[i] + Tij - a[k, j] - Mij * (1 - var) <= 0)
    identical = (len({(int(p.mode[k]), int(p.start_site[k]), int(p.end_site[k]), float(p.budget_min[k]))
                      for k in range(K)}) == 1)
    if identical:
        # Identical units: order routes by their lowest visit index (removes K! symmetric copies).
        for k in range(1, K):
            for v in range(V):
                if (k, v) in y:
                    h.addConstr(y[k, v] - sum(y[k - 1, u] for u in range(v) if (k - 1, u) in y) <= 0)
    for v in range(V):
        ys = [y[k, v] for k in range(K) if (k, v) in y]
        if not ys:
            continue
        if p.required[v]:
            h.addConstr(sum(ys) == 1)
        else:
            h.addConstr(sum(ys) <= 1)
    obj = sum(float(p.risk[v]) * var for (k, v), var in y.items())
    h.maximize(obj)
    status = h.modelStatusToString(h.getModelStatus())
    if h.getInfo().primal_solution_status < 2:
        raise PatrolInfeasible(f"the exact model found no plan ({status}); required hotspots may "
                               "not fit in the shift together")
    routes = []
    for k in range(K):
        succ = {i: j for (kk, i, j), var in x.items() if kk == k and h.val(var) > 0.5}
        r: list[int] = []
        cur = succ.get(S, E)
        while cur != E and len(r) <= V:
            r.append(int(cur))
            cur = succ[cur]
        routes.append(tuple(r))
    info = h.getInfo()
    return PatrolPlan(p, tuple(routes), method="mip", seconds=time.perf_counter() - t0,
                      bound=float(info.mip_dual_bound), optimal=status == "Optimal")
