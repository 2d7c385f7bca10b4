"""Colours shared by every map and chart: one colour per station, the same everywhere."""
from __future__ import annotations

import colorsys
import re
from typing import TYPE_CHECKING, Iterable

from geo.road_classes import road_class_of, road_class_rank

if TYPE_CHECKING:
    from geo.workspace import Workspace

__all__ = ["STATION_PALETTE", "station_colors", "workspace_station_colors", "natural_key",
           "ROAD_STYLES", "road_style"]

# Twenty distinguishable colours (Tableau 10 and its lighter companions, reordered so that
# neighbouring ids do not get similar hues).
STATION_PALETTE: tuple[str, ...] = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#bcbd22", "#7f7f7f", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94",
    "#f7b6d2", "#9edae5", "#dbdb8d", "#393b79",
)


def natural_key(value: object) -> tuple:
    """Sort key that puts ``"2"`` before ``"10"`` and ``"A2"`` before ``"A10"``."""
    parts = re.split(r"(\d+)", str(value))
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts if p != "")


def _extra_colour(i: int) -> str:
    """Colours beyond the palette: hues spaced by the golden angle."""
    hue = (i * 0.618033988749895) % 1.0
    r, g, b = colorsys.hls_to_rgb(hue, 0.45, 0.65)
    return f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"


def station_colors(station_ids: Iterable[object]) -> dict[str, str]:
    """A hex colour per station id, deterministic: ids are sorted naturally and coloured in order.

    Ids are compared as strings (``7`` and ``"7"`` are the same station); duplicates and nulls
    are ignored. The same set of ids always gives the same colours.
    """
    ids = sorted({str(i) for i in station_ids if i is not None and str(i) not in ("", "nan", "None")},
                 key=natural_key)
    return {sid: STATION_PALETTE[k] if k < len(STATION_PALETTE) else _extra_colour(k)
            for k, sid in enumerate(ids)}


# Colour and line weight (pixels) of each road class of ``geo.road_classes`` (its synonyms and
# ramps are drawn as the class); an unknown class is drawn thin and grey.
ROAD_STYLES: dict[str, tuple[str, float]] = {
    "expressway": ("#e15759", 4.0), "national": ("#f28e2b", 3.5), "provincial": ("#edc948", 3.0),
    "arterial": ("#b07aa1", 2.6), "rural": ("#a0a0a0", 1.6), "street": ("#9c9c9c", 1.3),
    "village": ("#c8c8c8", 1.0),
}
_DEFAULT_ROAD = ("#b8b8b8", 1.0)


def road_style(road_class: object) -> tuple[str, float, int]:
    """(colour, line weight in pixels, rank: 0 = most important) for a road class value."""
    cls = road_class_of(road_class)
    colour, weight = ROAD_STYLES[cls.name] if cls is not None else _DEFAULT_ROAD
    return colour, weight, road_class_rank(road_class)


def workspace_station_colors(ws: "Workspace") -> dict[str, str]:
    """``station_colors`` over every station id of a workspace (stations and jurisdictions), so
    that a page showing only some stations still gives each one its workspace-wide colour."""
    ids: list[object] = []
    for name in ("stations", "jurisdictions"):
        if ws.has(name) and "station_id" in ws.layer(name).columns:
            ids.extend(ws.layer(name)["station_id"].tolist())
    return station_colors(ids)
