"""What every section builder receives (``SectionContext``: the workspace, the base map layers,
the road graph built once, the key figures and facts collected so far, the options) and the
number formats the sections share."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geo.workspace import Workspace
from ui.i18n import text

__all__ = ["BriefOptions", "SectionContext", "KeyFigure", "pct", "num", "signed_pct", "need"]


def pct(v: float | None) -> str:
    """0.123 -> "12.3%"; "—" for None or NaN."""
    return "—" if v is None or not np.isfinite(v) else f"{v:.1%}"


def num(v: float | None, digits: int = 0) -> str:
    """1234.5 -> "1,235" (``digits`` decimals); "—" for None or NaN."""
    return "—" if v is None or not np.isfinite(v) else f"{v:,.{digits}f}"


def signed_pct(v: float | None) -> str:
    """0.034 -> "+3.4%"; "—" for None or NaN."""
    return "—" if v is None or not np.isfinite(v) else f"{v:+.1%}"


@dataclass(frozen=True)
class KeyFigure:
    """One line of the commander's table: ``key`` (stable, machine-readable), label, value (text)
    and the raw number."""

    key: str
    label: str
    value: str
    number: float | None = None


@dataclass(frozen=True)
class BriefOptions:
    """The choices the sections read: the saved plan (``plan_ref``: (plan_id, name), None when
    the workspace holds none; ``plan``: as asked, None for the latest), the patrol ``shift``
    (``HH:MM-HH:MM``), ``station`` (None: the busiest), ``units`` and ``seed``, and ``at`` (time
    of day of the coverage section, None: all day)."""

    plan: str | None
    plan_ref: tuple[int, str] | None
    shift: str
    station: str | None
    units: int
    seed: int
    at: str | None


class SectionContext:
    """What the sections share: the workspace, base layers, the road graph (built once), the
    facts and key figures collected, and scratch results one section leaves another (``cache``)."""

    def __init__(self, ws: Workspace, lang: str, options: BriefOptions):
        from ui.briefing.figures import BaseLayers
        self.ws = ws
        self.lang = lang
        self.options = options
        self.base = BaseLayers(ws)
        self._graph = None
        self.facts: dict = {}
        self.keys: list[KeyFigure] = []
        self.cache: dict = {}

    def t(self, key: str, **kw) -> str:
        return text(key, self.lang, **kw)

    def network(self):
        """The workspace's road network (``geo.network.RoadNetwork``), built on first use: its
        ``engine`` covers every node (coverage), ``graph()`` gives the NetworkX graph."""
        if self._graph is None:
            from geo.network import road_network_from_workspace
            self._graph = road_network_from_workspace(self.ws)
        return self._graph

    def graph(self):
        """(road graph, travel-time engine) of the workspace, built on first use."""
        return self.network().graph()

    def key(self, key: str, label_key: str, value: str, number: float | None = None, **kw) -> None:
        """Add a key figure: ``label_key`` is the i18n key of its label (``kw`` fill it)."""
        self.keys.append(KeyFigure(key, self.t(label_key, **kw), value, number))


def need(ws: Workspace, lang: str, layers: tuple[str, ...]) -> str | None:
    """The empty-state reason when a layer is missing ("load checkpoints to see the ring")."""
    missing = [n for n in layers if not ws.has(n)]
    if not missing:
        return None
    from ui.i18n import layer_name
    sep = "、" if lang == "zh" else ", "
    return text("brief.need", lang, layers=sep.join(layer_name(n, lang, in_sentence=True) for n in missing))
