"""The one way pages put a folium map on screen: offline-ready, and no reruns on pan or zoom."""
from __future__ import annotations

from typing import Iterable

import folium
from streamlit_folium import st_folium

from ui.offline import self_contained

__all__ = ["show_map"]


def show_map(m: folium.Map, *, key: str, height: int = 560,
             returned_objects: Iterable[str] = ()) -> dict:
    """Draw ``m`` with its scripts embedded (works without internet).

    ``returned_objects`` lists what the page needs back from the browser (e.g.
    ``["last_active_drawing"]`` for the lasso); by default nothing, so panning and zooming never
    rerun the page.
    """
    return st_folium(self_contained(m), key=key, height=height, use_container_width=True,
                     returned_objects=list(returned_objects))
