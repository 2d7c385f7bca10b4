"""Building a briefing: the arguments checked before any work, then every chosen section
computed and its map drawn once, with progress yielded along the way."""
from __future__ import annotations

import datetime as _dt
import time
from typing import Generator, Sequence

import numpy as np

from geo.errors import GridPatrolError, InputError
from geo.fonts import find_cjk_font
from geo.ids import id_str, normalise_ids
from geo.workspace import Workspace
from ui.briefing.context import BriefOptions, SectionContext, need
from ui.briefing.document import Briefing, BriefingSection
from ui.briefing.figures import render_png
from ui.briefing.patrol import DEFAULT_SHIFT
from ui.briefing.queries import resolve_plan
from ui.briefing.registry import parse_sections
from ui.colors import natural_key
from ui.i18n import LANGUAGES, text

__all__ = ["briefing_steps", "build_briefing"]


def _render(s: BriefingSection, lang: str, font: str) -> bytes:
    return render_png(s.draw, panels=s.panels, panel_titles=s.panel_titles, lang=lang, font=font)


def briefing_steps(ws: Workspace, *, sections: str | Sequence[str] | None = None, lang: str = "zh",
                   plan: str | None = None, shift: str | None = None, station: str | None = None,
                   units: int = 2, seed: int = 0, date: str | None = None,
                   title: str | None = None, at: str | None = None) -> Generator[tuple[float, str], None, Briefing]:
    """Build a briefing step by step: yields ``(fraction done, label)``, returns the ``Briefing``.

    Parameters
    ----------
    ws : the workspace (projected working CRS in metres); it is not modified.
    sections : which topics, in any order (``SECTIONS``; a list or ``"a,b"``); all by default.
    lang : ``"zh"`` (default) or ``"en"``.
    plan : name or id of a saved plan for the before/after and orders sections (default: the latest).
    shift : ``HH:MM-HH:MM`` of the patrol section (default ``08:00-16:00``).
    station : station id of the patrol section (default: the station with most incidents).
    units : patrol units of that station; ``seed`` seeds their routes.
    date : the date printed (default: today, ISO); ``title`` overrides the title.
    at : time of day ``HH:MM`` of the coverage section: only the stations and posts open then
        (their opening hours, ``geo.hours``) count; default all.

    Bad arguments raise InputError before any work; a missing CJK font raises GridPatrolError.
    A section whose layers are missing is skipped with its reason (``Briefing.skipped``). Each
    map is drawn once, to PNG; the HTML embeds it and the PDF places the same image.
    """
    if lang not in LANGUAGES:
        raise InputError(f"--lang was {lang!r} but is expected to be one of {list(LANGUAGES)}")
    chosen = parse_sections(sections)
    if shift is not None or any(s.key == "patrol" for s in chosen):
        from geo.hotspots import shift_from_text
        shift_from_text(shift or DEFAULT_SHIFT)
    if not isinstance(units, (int, np.integer)) or units < 1:
        raise InputError(f"--units was {units!r}; give at least one patrol unit")
    if at is not None:
        from geo.hours import parse_time_of_day_text
        parse_time_of_day_text(at)
    plan_ref = resolve_plan(ws, plan)
    if station is not None and ws.has("stations") and \
            id_str(station) not in set(normalise_ids(ws.layer("stations")["station_id"])):
        raise InputError(f"--station was {station!r} but the stations are "
                         f"{sorted(ws.layer('stations')['station_id'].astype(str), key=natural_key)}")
    font = find_cjk_font()
    options = BriefOptions(plan=plan, plan_ref=plan_ref, shift=shift or DEFAULT_SHIFT, station=station,
                           units=int(units), seed=int(seed), at=at)
    c = SectionContext(ws, lang, options)
    date = date or _dt.date.today().isoformat()
    title = title or text("brief.title", lang, name=ws.name)
    area_km2 = float(ws.layer("area").geometry.area.sum()) / 1e6 if ws.has("area") else None
    area = ws.name + (f" ({area_km2:,.1f} km²)" if area_km2 else "")
    c.facts.update(area_km2=area_km2, sections=[s.key for s in chosen])
    timings: dict[str, float] = {}

    skipped: dict[str, str] = {}
    built: list[BriefingSection] = []
    total = len(chosen) * 2 + 2
    step = 0
    for spec in chosen:
        yield step / total, text(spec.title_key, lang)
        step += 1
        started = time.perf_counter()
        reason = need(ws, lang, spec.layers)
        if reason is None and spec.needs_plan and plan_ref is None:
            reason = text("brief.no_plans", lang)
        if reason is None:
            try:
                s = spec.build_function()(c)
            except GridPatrolError as exc:
                if spec.needs_plan and plan is not None:
                    raise
                reason = str(exc)
        timings[spec.key] = time.perf_counter() - started
        if reason is not None:
            skipped[spec.key] = reason
            step += 1
            continue
        yield step / total, text("brief.drawing", lang, section=s.title)
        step += 1
        started = time.perf_counter()
        s.png = _render(s, lang, font)
        timings[f"{spec.key}.map"] = time.perf_counter() - started
        built.append(s)
    from ui.briefing.overview import overview_section
    overview = overview_section(c)
    yield step / total, text("brief.drawing", lang, section=overview.title)
    started = time.perf_counter()
    overview_png = _render(overview, lang, font)
    timings["overview.map"] = time.perf_counter() - started
    yield (total - 1) / total, text("brief.finishing", lang)
    c.facts["skipped"] = dict(skipped)
    return Briefing(title=title, date=date, area=area, lang=lang, font=font, crs=ws.crs.to_string(),
                    sections=built, key_figures=c.keys, skipped=skipped, facts=c.facts,
                    overview_png=overview_png, timings=timings)


def build_briefing(ws: Workspace, *, sections: str | Sequence[str] | None = None, lang: str = "zh",
                   plan: str | None = None, shift: str | None = None, station: str | None = None,
                   units: int = 2, seed: int = 0, date: str | None = None,
                   title: str | None = None, at: str | None = None) -> Briefing:
    """``briefing_steps`` run to the end (same arguments); returns the ``Briefing``."""
    steps = briefing_steps(ws, sections=sections, lang=lang, plan=plan, shift=shift, station=station,
                           units=units, seed=seed, date=date, title=title, at=at)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value
