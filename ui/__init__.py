"""GridPatrol's Streamlit shell: one module per page, folium layer builders, zh/en strings.

Only this package (and ``app.py``) imports streamlit or folium; it shows what ``geo`` measures
and ``planning`` proposes, and does no geometry of its own beyond preparing layers for display.
"""
