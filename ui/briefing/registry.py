"""The one list of the briefing's sections: for each, its key (its title is the i18n text
``brief.section.<key>``), the layers it needs, whether it needs a saved plan, and its builder.

Adding a section is adding one ``SectionSpec`` here (and its title and texts in ``ui.i18n``).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable, Sequence

from geo.errors import InputError

__all__ = ["SectionSpec", "REGISTRY", "SECTIONS", "parse_sections"]


@dataclass(frozen=True)
class SectionSpec:
    """One section: ``key``; ``layers`` it needs (a missing one leaves the section out with the
    reason); ``needs_plan``: left out when the workspace holds no saved plan, and its errors
    stop the briefing when a plan was named; ``builder``: ``"module:function"`` taking a
    ``SectionContext`` and returning a ``BriefingSection`` (imported when the section is built,
    so that importing ``ui.briefing`` stays light)."""

    key: str
    layers: tuple[str, ...]
    builder: str
    needs_plan: bool = False

    @property
    def title_key(self) -> str:
        return f"brief.section.{self.key}"

    def build_function(self) -> Callable:
        module, name = self.builder.split(":")
        return getattr(importlib.import_module(module), name)


REGISTRY: tuple[SectionSpec, ...] = (
    SectionSpec("jurisdictions", ("cells",), "ui.briefing.districts:section_jurisdictions"),
    SectionSpec("audit", ("jurisdictions", "townships"), "ui.briefing.districts:section_audit"),
    SectionSpec("coverage", ("road_nodes", "road_edges"), "ui.briefing.response:section_coverage"),
    SectionSpec("ring", ("area", "checkpoints", "road_nodes", "road_edges"), "ui.briefing.response:section_ring"),
    SectionSpec("patrol", ("stations", "cells", "incidents", "road_nodes", "road_edges"),
                "ui.briefing.patrol:section_patrol"),
    SectionSpec("plan", ("cells",), "ui.briefing.districts:section_plan", needs_plan=True),
    SectionSpec("orders", ("cells", "stations"), "ui.briefing.orders:section_orders", needs_plan=True),
    SectionSpec("staffing", ("cells", "stations"), "ui.briefing.orders:section_staffing"),
)

#: The section keys in the order the briefing shows them.
SECTIONS: tuple[str, ...] = tuple(s.key for s in REGISTRY)


def parse_sections(sections: str | Sequence[str] | None) -> list[SectionSpec]:
    """The chosen sections in briefing order: a list of keys or ``"a,b"``; None for all."""
    if sections is None:
        return list(REGISTRY)
    items = [str(s).strip() for s in (sections.split(",") if isinstance(sections, str) else sections)
             if str(s).strip()]
    bad = [s for s in items if s not in SECTIONS]
    if bad or not items:
        raise InputError(f"--sections was {','.join(items) or sections!r} but sections are "
                         f"expected among {list(SECTIONS)} (comma-separated)")
    return [s for s in REGISTRY if s.key in items]
