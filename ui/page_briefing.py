"""The Briefing page (简报): choose sections, plan, shift and language; build with a progress bar;
preview the HTML and download it and the PDF. The work is done by ``ui.briefing``."""
from __future__ import annotations

import re
import time

import streamlit as st
import streamlit.components.v1 as components

from ui import briefing, state
from ui.colors import natural_key
from ui.i18n import LANGUAGES, current_language, t

__all__ = ["render"]

_RESULT = "gp_brief_result"


def _file_stem(name: str) -> str:
    stem = re.sub(r"[^\w\u4e00-\u9fff-]+", "_", name).strip("_")
    return (stem or "briefing")[:40]


def _build(ws, options: dict) -> dict:
    bar = st.progress(0.0, text=t("brief.finishing"))
    started = time.perf_counter()
    steps = briefing.briefing_steps(ws, **{k: v for k, v in options.items() if k != "pdf"})
    while True:
        try:
            fraction, label = next(steps)
        except StopIteration as done:
            brief = done.value
            break
        bar.progress(min(max(fraction, 0.0), 1.0), text=label)
    page = brief.to_html()
    pdf = brief.pdf_bytes() if options["pdf"] else None
    bar.progress(1.0, text=t("brief.page.done", n=len(brief.sections),
                             s=f"{time.perf_counter() - started:.1f}"))
    return {"path": str(ws.path), "html": page, "pdf": pdf, "sections": len(brief.sections),
            "seconds": time.perf_counter() - started, "skipped": dict(brief.skipped),
            "stem": _file_stem(f"{ws.name}_{brief.date}")}


def render() -> None:
    """Draw the Briefing page for the open workspace."""
    st.header(t("page.brief"))
    ws = state.workspace_for_page()
    if ws is None:
        return
    st.caption(t("brief.page.intro"))
    plans = briefing.plan_names(ws)
    stations = (sorted(ws.layer("stations")["station_id"].astype(str).unique(), key=natural_key)
                if ws.has("stations") else [])
    default_sections = [s for s in briefing.SECTIONS if s != "plan" or plans]
    with st.form("gp_brief_form"):
        sections = st.multiselect(t("brief.page.sections"), briefing.SECTIONS, default=default_sections,
                                  format_func=lambda k: t(f"brief.section.{k}"), key="gp_brief_sections",
                                  placeholder=t("ui.choose"))
        c1, c2, c3 = st.columns(3)
        langs = list(LANGUAGES)
        lang = c1.radio(t("brief.page.lang"), langs, index=langs.index(current_language()),
                        format_func=LANGUAGES.__getitem__, horizontal=True, key="gp_brief_lang")
        plan = c1.selectbox(t("brief.page.plan"), [None, *plans], key="gp_brief_plan",
                            format_func=lambda p: t("brief.page.plan_latest") if p is None else p,
                            disabled=not plans)
        if not plans:
            c1.caption(t("brief.page.no_plans"))
        shift = c2.text_input(t("brief.page.shift"), briefing.DEFAULT_SHIFT, key="gp_brief_shift")
        units = c2.number_input(t("brief.page.units"), min_value=1, max_value=6, value=2, step=1,
                                key="gp_brief_units")
        station = c3.selectbox(t("brief.page.station"), [None, *stations], key="gp_brief_station",
                               format_func=lambda s: t("brief.page.station_auto") if s is None else s)
        want_pdf = c3.checkbox(t("brief.page.pdf"), value=True, key="gp_brief_pdf")
        submitted = st.form_submit_button(t("brief.page.build"), type="primary")
    if submitted:
        if not sections:
            st.warning(t("brief.page.none"))
        else:
            st.session_state[_RESULT] = _build(ws, {
                "sections": list(sections), "lang": lang, "plan": plan, "shift": shift.strip() or None,
                "station": station, "units": int(units), "pdf": want_pdf})
    result = st.session_state.get(_RESULT)
    if not result or result["path"] != str(ws.path):
        return
    st.success(t("brief.page.done", n=result["sections"], s=f"{result['seconds']:.1f}"))
    d1, d2 = st.columns(2)
    d1.download_button(t("brief.page.dl_html"), result["html"].encode("utf-8"),
                       file_name=f"{result['stem']}.html", mime="text/html", key="gp_brief_dl_html",
                       on_click="ignore")
    if result["pdf"] is not None:
        d2.download_button(t("brief.page.dl_pdf"), result["pdf"], file_name=f"{result['stem']}.pdf",
                           mime="application/pdf", key="gp_brief_dl_pdf", on_click="ignore")
    st.subheader(t("brief.page.preview"))
    components.html(result["html"], height=900, scrolling=True)
