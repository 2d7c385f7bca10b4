"""GridPatrol (网格巡防规划) Streamlit entry: page setup and navigation only.

Run ``streamlit run app.py -- --workspace data/boundaries/demo_county.gpkg [--page data]``.
The environment variables GRIDPATROL_WORKSPACE and GRIDPATROL_PAGE override the arguments.
"""
from __future__ import annotations

import streamlit as st

from ui import importer, state
from ui.errors import shown_errors
from ui.i18n import t
from ui.pages import PAGES, find_page, page_function
from ui.sidebar import render_sidebar

st.set_page_config(page_title="GridPatrol 网格巡防规划", page_icon="🚓",
                   layout="wide")

options = state.start_options()
state.init_session(options)
start = find_page(options.page)
page = st.navigation([
    st.Page(page_function(spec), title=t(spec.title_key), icon=spec.icon, url_path=spec.url_path,
            default=spec is start)
    for spec in PAGES
])
request = render_sidebar()
if request is not None:
    importer.run_build(request)
importer.show_fresh_report()
with shown_errors():
    page.run()
