"""Map briefings: static maps and the key figures of a workspace as one self-contained HTML file
and a PDF.

Pure: no Streamlit, no browser, no web tiles. ``briefing_steps`` is a generator that yields
progress ``(fraction, label)`` and returns a ``Briefing``; ``build_briefing`` runs it to the end.
A ``Briefing`` writes itself as HTML (``to_html``, ``write_html``) and as a PDF (``pdf_bytes``,
``write_pdf``): page 1 carries the key figures and the overview map, then each section its map
with its table and notes.

Modules, one job each:

- ``registry``: the one list of sections (``REGISTRY`` of ``SectionSpec``: key, layers needed,
  needs a saved plan, builder); ``SECTIONS`` are their keys.
- ``build``: argument checks, then every section computed and its map drawn once.
- ``context``: what a section builder receives (workspace, base layers, road graph, options)
  and the number formats.
- ``queries``: workspace-derived tables (station names, cells with station, workload per
  station, facilities, seal exits, saved plans).
- sections: ``districts`` (jurisdictions, audit, plan), ``response`` (coverage, ring),
  ``patrol``, ``orders`` (orders, staffing), ``overview`` (the map of page 1).
- ``figures``: the maps (canvas, base layers, collections, scale bar, north arrow, legend, PNG).
- ``document``: ``Briefing`` and ``BriefingSection``, the HTML; ``pdf``: the PDF pages;
  ``layout``: text measuring, wrapping, tables fitted to their columns, pages flowed.

A section whose layers are missing is left out and the reason listed.
"""
from __future__ import annotations

from geo.fonts import CJK_FONT_FAMILIES, find_cjk_font
from ui.briefing.build import briefing_steps, build_briefing
from ui.briefing.context import KeyFigure
from ui.briefing.document import Briefing, BriefingSection
from ui.briefing.figures import nice_scale_length
from ui.briefing.patrol import DEFAULT_SHIFT
from ui.briefing.queries import coverage_facilities, plan_names, seal_exits, station_workload
from ui.briefing.registry import REGISTRY, SECTIONS, SectionSpec

__all__ = ["SECTIONS", "REGISTRY", "SectionSpec", "DEFAULT_SHIFT", "CJK_FONT_FAMILIES", "Briefing",
           "BriefingSection", "KeyFigure", "find_cjk_font", "briefing_steps", "build_briefing",
           "station_workload", "coverage_facilities", "seal_exits", "plan_names", "nice_scale_length"]
