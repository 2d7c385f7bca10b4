"""Patrol routes: team orienteering over hotspots for one station and shift, on the road network.

Two layers, as for every GridPatrol solver:

* ``PatrolProblem.from_matrix`` is the pure problem, built from arrays: travel minutes between
  sites, the risk (prize) and dwell of every hotspot visit, and per unit a start, an end, a
  time budget and a travel mode. ``solve_heuristic`` (greedy ratio insertion, then iterated
  local search: 2-opt, relocate, insert, replace, and perturbation by removing blocks of
  visits), ``solve_mip`` (the exact HiGHS model, for small instances, as a yardstick) and
  ``solve_nearest_first`` (the naive baseline) all take it and return a ``PatrolPlan``.
* ``plan_routes`` is the geo adapter: it snaps the hotspots and the station to the road graph,
  builds the travel-time matrix with ``geo.traveltime`` (one multi-source Dijkstra), delegates,
  and draws each leg along its shortest path (``PatrolRoutes``: lines, stops, timetable,
  GeoJSON/GPX export).

Times are minutes from the start of the shift. A visit is *served* when the unit arrives at its
hotspot no later than the visit's window closes (it waits when early) and stays ``dwell_min``.
A revisit interval ``r`` for a hotspot makes ``ceil(shift / r)`` visits of it, the k-th to be
made in ``[k r, (k + 1) r]``, each worth the hotspot's risk. Risk covered is the summed risk of
the served visits; its share is relative to the risk of all visits.

Randomised plans (``variety > 0`` with an ``rng``) choose each insertion among the candidates
whose ratio is within ``variety`` of the best, which gives different routes from day to day;
``plan_routes`` reports the loss in covered risk against the deterministic plan.

Dose mode (``dose``, ``dose_routes``) is the default of the command and the app: every unit
patrols its whole shift with repeated 10-15 minute stays at the places that are risky in that
hour, a minimum gap between visits of one place and a break at the station (see
``planning.patrol.dose``); visit-once stays available.

The package has one module per job: ``problem`` (the problem and plan from arrays), ``search``
(heuristics), ``exact`` (the MIP yardstick), ``routes`` (the road-network adapter), ``export``
(GeoJSON/GPX files), ``workspace`` (a station's shift on a workspace), ``dose`` (the dose
problem, plan and solver from arrays) and ``dose_routes`` (risk per place and hour, the dose
plan on the network and on a workspace, its timetable).
"""
from planning.patrol.dose import DosePlan, DoseProblem, solve_dose, solve_random
from planning.patrol.dose_routes import DoseRoutes, dose_for_workspace, dose_routes, place_hour_risk
from planning.patrol.exact import solve_mip
from planning.patrol.export import routes_to_geojson, routes_to_gpx, write_routes
from planning.patrol.problem import PatrolInfeasible, PatrolPlan, PatrolProblem
from planning.patrol.routes import PatrolRoutes, leg_paths, plan_routes
from planning.patrol.search import solve_heuristic, solve_nearest_first
from planning.patrol.workspace import plan_for_workspace, shift_hotspots

__all__ = ["PatrolInfeasible", "PatrolProblem", "PatrolPlan", "PatrolRoutes", "solve_heuristic",
           "solve_mip", "solve_nearest_first", "plan_routes", "routes_to_geojson",
           "routes_to_gpx", "write_routes", "leg_paths", "shift_hotspots", "plan_for_workspace",
           "DoseProblem", "DosePlan", "DoseRoutes", "solve_dose", "solve_random", "dose_routes",
           "dose_for_workspace", "place_hour_risk"]
