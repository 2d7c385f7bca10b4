"""The briefing's ``patrol`` section: one station's units patrolling the riskiest cells of one
shift for the whole shift (``planning.patrol.dose_routes``), their routes, the visits per place,
each unit's use of the shift and timetable."""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import Normalize
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from geo.errors import InputError
from geo.ids import id_str, normalise_ids
from ui.briefing.context import SectionContext, pct
from ui.briefing.document import BriefingSection
from ui.briefing.figures import fill, outline
from ui.briefing.queries import cells_with_station, station_workload
from ui.colors import natural_key

__all__ = ["DEFAULT_SHIFT", "MAX_HOTSPOTS", "section_patrol"]

DEFAULT_SHIFT = "08:00-16:00"
MAX_HOTSPOTS = 25  # the riskiest cells of the shift a patrol map shows and visits
UNIT_COLOURS = ("#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#a65628")


def section_patrol(c: SectionContext) -> BriefingSection:
    """Routes of ``c.options.units`` units of ``c.options.station`` (default: the station with
    most incidents) over the ``MAX_HOTSPOTS`` riskiest cells of ``c.options.shift``."""
    from geo.hotspots import cell_risk, shift_from_text
    from geo.network import snap_points
    from planning.patrol.dose_routes import dose_routes, place_hour_risk, place_names
    from ui.patrol_timetable import unit_timetables
    ws, t, o = c.ws, c.t, c.options
    G, engine = c.graph()
    cells = cells_with_station(ws)
    station = o.station
    if station is None:
        wl = c.cache.get("workload")
        wl = station_workload(ws) if wl is None else wl
        station = str(wl["incidents"].idxmax() if "incidents" in wl else wl.index[0])
    st_layer = ws.layer("stations")
    hit = st_layer[normalise_ids(st_layer["station_id"]) == id_str(station)]
    if not len(hit):
        raise InputError(f"--station was {station!r} but the stations are "
                         f"{sorted(st_layer['station_id'].astype(str), key=natural_key)}")
    sh = shift_from_text(o.shift)
    own = cells[cells["station_id"] == id_str(station)]
    incidents = ws.layer("incidents")
    risk = cell_risk(own, incidents, shift=sh, half_life_days=None)
    hot = risk[risk["risk"] > 0].sort_values("risk", ascending=False).head(MAX_HOTSPOTS)
    if not len(hot):
        raise InputError(f"station {station} has no incidents in the shift {sh}; choose another shift")
    name = c.base.names.get(str(station), str(station))
    node = hit["node_id"].iloc[0] if "node_id" in hit.columns else None
    start = id_str(node) if node is not None and id_str(node) in G else \
        snap_points(hit.iloc[[0]], G, what="station")["node"].iloc[0]
    edges = ws.layer("road_edges") if ws.has("road_edges") else None
    # Dose mode: every unit patrols the whole shift (planning.patrol.dose).
    routes = dose_routes(G, hot, place_hour_risk(hot, incidents, shift=sh), start, units=o.units,
                         shift=sh, id_col="cell_id", names=place_names(hot, edges),
                         station=str(station), station_name=name, rng=np.random.default_rng(o.seed),
                         time_limit_s=2.0, iterations=60, engine=engine, compare_with_best=False)
    summary = routes.summary()
    share = float(summary["dose_top_share"])
    c.facts.update(patrol_station=str(station), patrol_shift=str(sh), patrol_dose_top_share=share,
                   patrol_baseline_top_share=float(summary["baseline_top_share"]),
                   patrol_share_of_shift=[r["share_of_shift"] for r in summary["routes"]])
    c.key("patrol_dose_top_share", "brief.k.patrol_dose", pct(share), share, station=name, shift=str(sh))
    jur = ws.layer("jurisdictions") if ws.has("jurisdictions") else None
    own_j = jur[normalise_ids(jur["station_id"]) == id_str(station)] if jur is not None else own.iloc[:0]
    extent = own_j.total_bounds if len(own_j) else own.total_bounds

    def draw(axes):
        ax = axes[0]
        if len(own_j):
            fill(ax, own_j, c.base.colours.get(str(station), "#999999"), alpha=0.15, zorder=1)
        if jur is not None:
            outline(ax, jur, "#666666", linewidth=0.9, zorder=5)
        vmax = float(hot["risk"].max())
        colours = colormaps["OrRd"](Normalize(0, vmax if vmax > 0 else 1.0)(hot["risk"].to_numpy(dtype=float)))
        fill(ax, hot, colours, alpha=0.85, edgecolour="#7f2704", linewidth=0.4, zorder=4)
        c.base.draw(ax, extent=extent)
        handles = []
        for i, line in enumerate(routes.lines.itertuples()):
            colour = UNIT_COLOURS[i % len(UNIT_COLOURS)]
            outline(ax, [line.geometry], colour, linewidth=2.0, alpha=0.9, zorder=10 + i)
            handles.append(Line2D([], [], color=colour, linewidth=2.0,
                                  label=t("brief.l.unit", n=int(line.unit), m=f"{float(line.minutes):.0f}")))
        stops = routes.stops.drop_duplicates("hotspot").assign(
            order=routes.stops.groupby("hotspot")["order"].transform("size"))  # visits per place
        for r in stops.itertuples():
            ax.annotate(str(r.order), (r.geometry.x, r.geometry.y), fontsize=6.5, ha="center", va="center",
                        zorder=20, bbox=dict(boxstyle="circle,pad=0.15", facecolor="white", edgecolor="#333333",
                                             linewidth=0.5))
        c.base.stations(ax, only=[str(station)])
        handles.append(Patch(color="#fc8d59", label=t("brief.l.hotspots")))
        return handles

    rs = summary["routes"]
    shown = pd.DataFrame({t("brief.c.patrol_unit"): [str(r["unit"]) for r in rs],
                          t("brief.c.used"): [f"{r['minutes_used']:.0f}" for r in rs],
                          t("brief.c.share_of_shift"): [pct(r["share_of_shift"]) for r in rs],
                          t("brief.c.patrol_min"): [f"{r['patrol_min']:.0f}" for r in rs],
                          t("brief.c.visits"): [str(len(r["visits"])) for r in rs],
                          t("brief.c.break"): [f"{routes.clock(r['break']['start_min'])}-"
                                               f"{routes.clock(r['break']['end_min'])}" if r["break"] else "—"
                                               for r in rs]})
    notes = [t("brief.n.patrol_dose", station=name, shift=str(sh), units=o.units, hot=len(hot),
               shares=" / ".join(pct(r["share_of_shift"]) for r in rs), top=pct(share),
               base=pct(summary["baseline_top_share"]))]
    notes += list(routes.notes)
    extra = tuple((f"{t('tt.title')} — {t('tt.unit', n=u)}", frame)
                  for u, frame in unit_timetables(routes, lang=c.lang).items())
    return BriefingSection("patrol", t("brief.section.patrol") + f" — {name} {sh}", draw, shown, notes=notes,
                           extra_tables=extra)
