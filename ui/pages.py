"""The page registry: one module per page, each with a ``render()`` function; app.py lists these.

A later issue adds its page by writing ``ui/page_<name>.py`` with ``render()`` and appending one
``PageSpec`` here (its title key goes into ``ui/i18n.py``; keys for the planned pages exist:
page.audit, page.coverage, page.redistrict, page.patrol, page.brief). Only pages that work are
listed.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

__all__ = ["PageSpec", "PAGES", "page_function", "find_page"]


@dataclass(frozen=True)
class PageSpec:
    """One page: the module holding ``render()``, the i18n key of its title, a Material icon,
    and its URL path (also the name ``--page`` / GRIDPATROL_PAGE accept)."""

    module: str
    title_key: str
    icon: str
    url_path: str


PAGES: tuple[PageSpec, ...] = (
    PageSpec("ui.page_overview", "page.overview", ":material/map:", "overview"),
    PageSpec("ui.page_data", "page.data", ":material/table_view:", "data"),
    PageSpec("ui.page_audit", "page.audit", ":material/compare:", "audit"),
    PageSpec("ui.page_redistrict", "page.redistrict", ":material/dashboard_customize:", "redistrict"),
    PageSpec("ui.page_districts", "page.districts", ":material/grid_view:", "districts"),
    PageSpec("ui.page_coverage", "page.coverage", ":material/timer:", "coverage"),
    PageSpec("ui.page_patrol", "page.patrol", ":material/route:", "patrol"),
    PageSpec("ui.page_briefing", "page.brief", ":material/summarize:", "briefing"),
)


def page_function(spec: PageSpec) -> Callable[[], None]:
    """The page's ``render`` function (imported on first use)."""
    return importlib.import_module(spec.module).render


def find_page(name: str | None) -> PageSpec:
    """The page whose url_path or module is ``name``; the first page when none matches."""
    for spec in PAGES:
        if name in (spec.url_path, spec.module, spec.module.rsplit(".", 1)[-1]):
            return spec
    return PAGES[0]
