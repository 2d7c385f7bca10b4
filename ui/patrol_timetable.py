"""Per-unit patrol timetables of a dose plan: a table per unit and a printable HTML page (one
page per unit, escaped), for the patrol page's download and the briefing's patrol section."""
from __future__ import annotations

import pandas as pd

from geo.markup import escape_html
from ui.i18n import text

__all__ = ["unit_timetables", "timetable_html", "ACTIVITIES"]

ACTIVITIES = ("travel", "patrol", "wait", "break", "return")


def _place(row: dict, lang: str, station: str) -> str:
    place, name = str(row.get("place") or ""), str(row.get("name") or "")
    if row["activity"] in ("break", "return") or (station and place == station):
        return name or place
    label = text("tt.cell", lang, id=place) if place else ""
    return f"{label} {name}".strip()


def unit_timetables(routes, *, lang: str = "zh") -> dict[int, pd.DataFrame]:
    """{unit: table} with the columns time (``HH:MM-HH:MM``), what to do (travel / patrol /
    wait / break / return, in ``lang``), place (cell id and road name, or the station) and
    minutes, from ``DoseRoutes.timetable()``."""
    tt = routes.timetable()
    out: dict[int, pd.DataFrame] = {}
    for unit in range(1, routes.plan.problem.n_units + 1):
        rows = tt[tt["unit"] == unit].to_dict("records")
        out[unit] = pd.DataFrame({
            text("tt.col.time", lang): [f"{r['from']}-{r['to']}" for r in rows],
            text("tt.col.do", lang): [text(f"tt.do.{r['activity']}", lang) for r in rows],
            text("tt.col.place", lang): [_place(r, lang, str(routes.station)) for r in rows],
            text("tt.col.minutes", lang): [f"{r['minutes']:.0f}" if r["minutes"] >= 0.5 else "<1"
                                           for r in rows],
        })
    return out


_CSS = """
@page { size: A4 portrait; margin: 10mm; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif;
       font-size: 8.5pt; color: #111; margin: 0; }
section { page-break-after: always; break-after: page; }
section:last-child { page-break-after: auto; break-after: auto; }
h1 { font-size: 12pt; margin: 0 0 1mm 0; }
p.meta { margin: 0 0 2mm 0; color: #333; }
div.cols { display: flex; gap: 4mm; align-items: flex-start; }
table { border-collapse: collapse; flex: 1 1 0; }
th, td { border: 0.3pt solid #999; padding: 0.4mm 1.2mm; text-align: left; white-space: nowrap; }
th { background: #eee; }
tr.patrol td { font-weight: bold; }
tr.break td { background: #f3f3f3; }
"""


def timetable_html(routes, *, lang: str = "zh", title: str | None = None) -> str:
    """A self-contained printable page: one A4 page per unit, its rows in two to four
    side-by-side tables (travel, patrol, wait, break, return). Everything from the data is
    escaped."""
    tables = unit_timetables(routes, lang=lang)
    tt = routes.timetable()
    plan = routes.plan
    used, share, patrol = plan.minutes_used, plan.share_of_shift, plan.patrol_min
    head = title or text("tt.title", lang)
    sections = []
    for unit, frame in tables.items():
        acts = tt.loc[tt["unit"] == unit, "activity"].tolist()
        cols = list(frame.columns)
        # Side-by-side tables of at most ~40 rows keep a whole shift on one A4 page (a 24-hour
        # shift: four tables in a smaller font).
        n_tables = min(4, max(2, -(-len(frame) // 40)))
        per = max(1, -(-len(frame) // n_tables))
        parts = []
        for lo, hi in ((i, min(i + per, len(frame))) for i in range(0, max(len(frame), 1), per)):
            body = "".join(
                f'<tr class="{escape_html(acts[i])}">'
                + "".join(f"<td>{escape_html(frame.iloc[i][c])}</td>" for c in cols) + "</tr>"
                for i in range(lo, hi))
            parts.append("<table><thead><tr>" + "".join(f"<th>{escape_html(c)}</th>" for c in cols)
                         + f"</tr></thead><tbody>{body}</tbody></table>")
        meta = text("tt.meta", lang, station=f"{routes.station} {routes.station_name}".strip(),
                    shift=str(routes.shift) if routes.shift is not None else "",
                    used=f"{used[unit - 1]:.0f}", share=f"{share[unit - 1]:.0%}",
                    patrol=f"{patrol[unit - 1]:.0f}")
        small = ' style="font-size:7pt"' if n_tables > 2 else ""
        sections.append(f"<section{small}><h1>{escape_html(head)} — {escape_html(text('tt.unit', lang, n=unit))}</h1>"
                        f'<p class="meta">{escape_html(meta)}</p><div class="cols">{"".join(parts)}</div></section>')
    html_lang = "zh-CN" if lang == "zh" else "en"
    return (f'<!DOCTYPE html><html lang="{html_lang}"><head><meta charset="utf-8"><title>{escape_html(head)}</title>'
            f"<style>{_CSS}</style></head><body>{''.join(sections)}</body></html>\n")
