"""Two parts of the Redistricting page: the change orders of the compared plans (a table, the
order sentences, CSV/XLSX downloads) and staffing against the workspace's norms, today against a
proposed plan, shortfalls highlighted, the norms editable.

Thin: ``planning.orders`` and ``planning.staffing`` compute; this module draws. Names from data
reach the page only as Markdown-escaped text or as dataframe cells (never HTML).
"""
from __future__ import annotations

from typing import Callable, Sequence

import pandas as pd
import streamlit as st

from geo.errors import InputError
from geo.markup import escape_markdown
from geo.tables import table_bytes
from planning.orders import change_orders, order_lines, order_table, station_table
from planning.plan import Plan
from planning.staffing import (
    NORMS,
    ROLES,
    save_norms,
    staffing_context,
    staffing_for_plan,
    staffing_frame,
    workspace_norms,
)
from server.accounts import require
from ui import login
from ui.errors import shown_errors
from ui.i18n import current_language, t
from ui.tables import download_help

__all__ = ["orders_block", "staffing_block", "staffing_compare", "STAFF_COLUMNS"]

_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STAFF_COLUMNS = tuple(f"{r}_{k}" for r in ROLES for k in ("actual", "required", "shortfall", "binding"))


def orders_block(before: Plan, after: Plan) -> None:
    """The change orders from ``before`` to ``after``: sentences, the table per unit, the
    summary per station, and the table as CSV and XLSX (headers in the UI language)."""
    lang = current_language()
    st.markdown(f"**{escape_markdown(t('rd.orders'))}**")
    co = change_orders(before, after)
    if not co.totals["units"]:
        st.caption(t("rd.orders_none"))
        return
    lines = order_lines(co, lang=lang)
    shown = lines[:40] + ([f"… ({len(lines) - 40})"] if len(lines) > 40 else [])
    st.markdown("\n".join(f"- {escape_markdown(line)}" for line in shown))
    table = order_table(co, lang=lang)
    st.dataframe(table, hide_index=True, width="stretch", height=min(420, 38 + 35 * len(table)))
    with st.expander(t("rd.orders_stations")):
        st.dataframe(station_table(co, lang=lang), hide_index=True, width="stretch")
    c = st.columns(2)
    sheet = "调整命令" if lang == "zh" else "Change orders"
    c[0].download_button(t("rd.dl_orders_csv"), table_bytes(table, ".csv"), "change_orders.csv",
                         "text/csv", key="gp_rd_dl_orders_csv", help=download_help(lang))
    c[1].download_button(t("rd.dl_orders_xlsx"), lambda: table_bytes(table, ".xlsx", sheet=sheet),
                         "change_orders.xlsx", _XLSX, key="gp_rd_dl_orders_xlsx",
                         help=download_help(lang))


def staffing_compare(today: Sequence[dict], proposed: Sequence[dict], *, key: str) -> pd.DataFrame:
    """Rows of two ``Staffing`` results (same stations or police districts, keyed by ``key``)
    side by side: the ids, names and counts of the proposed plan, each role's actual, required
    and shortfall today and ``_plan`` (under the proposed plan)."""
    a = staffing_frame(today).set_index(key)
    b = staffing_frame(proposed).set_index(key)
    out = pd.DataFrame(index=b.index)
    out["name"] = b["name"]
    for col in ("police_districts", "villages", "population"):
        if col in b.columns:
            out[f"{col}_today"] = a[col].reindex(b.index)
            out[f"{col}_plan"] = b[col]
    if "station_id" in b.columns:
        out["station_today"] = a["station_id"].reindex(b.index)
        out["station_plan"] = b["station_id"]
    for role in ROLES:
        out[f"{role}_actual"] = b[f"{role}_actual"]
        for k in ("required", "shortfall"):
            out[f"{role}_{k}_today"] = a[f"{role}_{k}"].reindex(b.index)
            out[f"{role}_{k}_plan"] = b[f"{role}_{k}"]
        out[f"{role}_binding_plan"] = b[f"{role}_binding"]
    return out.reset_index()


_HEADERS = {"station_id": "staff.col.station_id", "pgrid_id": "staff.col.pgrid_id",
            "name": "staff.col.name", "police_districts": "staff.col.police_districts",
            "villages": "staff.col.villages", "population": "staff.col.population",
            "station": "staff.col.station_now"}


def _header(column: str) -> str:
    for suffix, word in (("_today", "rd.plan.current"), ("_plan", "rd.staffing_plan")):
        if column.endswith(suffix):
            base = column[: -len(suffix)]
            if base == "station":
                return t("staff.col.station_now") if suffix == "_today" else t("staff.col.station_plan")
            key = _HEADERS.get(base, f"staff.col.{base}")
            return f"{t(key)} · {t(word)}"
    return t(_HEADERS.get(column, f"staff.col.{column}"))


def _styled(frame: pd.DataFrame):
    """``frame`` with headers in the UI language and positive shortfalls in red."""
    def binding(v: object) -> str:
        return t(f"staff.binding.{v or 'none'}")
    shown = frame.copy()
    for c in shown.columns:
        if c.endswith("binding_plan"):
            shown[c] = shown[c].map(binding)
    short = [c for c in shown.columns if "_shortfall" in c]
    shown = shown.rename(columns={c: _header(c) for c in shown.columns})
    heads = [_header(c) for c in short]

    def red(v: object) -> str:
        return "background-color: #f8b4a6; font-weight: 600" if pd.notna(v) and v and v > 0 else ""
    return shown.style.map(red, subset=heads)


@st.cache_resource(max_entries=4, show_spinner=False)
def _context(path: str, version: tuple, weights: str):
    """The plan-independent staffing context of a workspace file (read-only, shared)."""
    from geo.workspace import read_workspace
    from planning.study import workspace_graph
    ws = read_workspace(path, layers=["cells", "stations", "communities", "police_grids", "incidents"])
    return staffing_context(ws, workspace_graph(ws, weights=weights))


def staffing_block(ws, key: tuple, current: Plan | None, choices: Sequence[str],
                   fmt: Callable[[str], str], pick: Callable[[str], Plan]) -> None:
    """Staffing today against a proposed plan (chosen among ``choices``, shown by ``fmt``,
    built by ``pick``), with shortfalls highlighted, and the workspace's norms (planners may
    change them)."""
    st.subheader(t("rd.staffing"))
    st.caption(t("rd.staffing_intro"))
    if current is None or ws.path is None:
        st.info(t("rd.no_current"))
        return
    norms = workspace_norms(ws)
    with st.expander(t("rd.staffing_norms")):
        cols = st.columns(3)
        values = {}
        for i, name in enumerate(NORMS):
            values[name] = cols[i % 3].number_input(
                t(f"staff.norm.{name}"), min_value=0.0, max_value=1.0 if name == "communities_count" else 1e4,
                value=float(norms[name]), step=1.0 if name == "communities_count" else 0.5,
                key=f"gp_rd_norm_{name}")
        if st.button(t("rd.staffing_save"), key="gp_rd_norms_save"):
            with shown_errors():
                require(login.current_account(), "planner", action="change the staffing norms")
                save_norms(ws.path, values)
                st.success(t("rd.staffing_saved"))
                st.rerun()
    options = [c for c in choices if c != "current"]
    if not options:
        return
    choice = st.selectbox(t("rd.staffing_plan"), options, format_func=fmt, key="gp_rd_staff_plan")
    with shown_errors():
        ctx = _context(*key)
        graph = ctx.graph
        today = staffing_for_plan(ctx, Plan(graph, current.assignment), norms=norms)
        plan = pick(choice)
        if plan.graph.n_cells != graph.n_cells:
            raise InputError(t("rd.no_current"))
        proposed = staffing_for_plan(ctx, Plan(graph, plan.assignment), norms=norms)
        ts, td = proposed.totals["stations"], proposed.totals["police_districts"]
        st.caption(t("rd.staffing_short", o=ts["officers"]["shortfall"], a=ts["auxiliaries"]["shortfall"],
                     do=td["officers"]["shortfall"], da=td["auxiliaries"]["shortfall"]))
        st.dataframe(_styled(staffing_compare(today.stations, proposed.stations, key="station_id")),
                     hide_index=True, width="stretch")
        if proposed.police_districts:
            with st.expander(t("rd.staffing_districts")):
                st.dataframe(_styled(staffing_compare(today.police_districts, proposed.police_districts,
                                                      key="pgrid_id")),
                             hide_index=True, width="stretch")
