"""GridPatrol proposing layer: plans, redistricting, placement, sealing, patrols.

Nothing in this package imports streamlit or folium.
"""
