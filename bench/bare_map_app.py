"""The baseline of bench_map: a bare Streamlit page (a header, a metric) with a one-point map
drawn the same way as GridPatrol's maps (``ui.mapview.show_map``: embedded Leaflet, cached).
What Streamlit and streamlit-folium cost on this machine before any GridPatrol layer."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import folium  # noqa: E402
import streamlit as st  # noqa: E402

from ui.mapview import show_map  # noqa: E402

st.set_page_config(layout="wide")
st.header("Baseline")
st.metric("points", 1)
m = folium.Map(location=[34.3, 113.9], zoom_start=10, tiles=None)
folium.CircleMarker([34.3, 113.9], radius=6).add_to(m)
show_map(m, key="baseline_map", cache_key=("baseline",))
