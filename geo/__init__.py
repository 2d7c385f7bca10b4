"""GridPatrol measuring layer: layers, validation, CRS, grids, overlays, networks.

Nothing in this package imports streamlit or folium.
"""
