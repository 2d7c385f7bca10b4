"""GridPatrol (网格巡防规划) Streamlit entry: page setup and navigation only.

Run ``gridpatrol serve [--data-dir DIR]`` (the workspace library of a data directory, with
accounts), or ``streamlit run app.py -- [--data-dir DIR] [--workspace PATH] [--page data]``
(``--workspace``: local mode on that one file). The environment variables GRIDPATROL_DATA,
GRIDPATROL_WORKSPACE and GRIDPATROL_PAGE override the arguments.
"""
from __future__ import annotations

import streamlit as st

from ui import chrome, importer, login, state
from ui.errors import shown_errors
from ui.i18n import t
from ui.pages import PAGES, find_page, page_function
from ui.sidebar import render_sidebar

st.set_page_config(page_title="GridPatrol 网格巡防规划", page_icon="🚓",
                   layout="wide")
chrome.apply_chrome()  # Streamlit's own words (uploader, input hints) in the UI language

options = state.start_options()
start = find_page(options.page)
pages = [st.Page(page_function(spec), title=t(spec.title_key), icon=spec.icon, url_path=spec.url_path,
                 default=spec is start)
         for spec in PAGES]
# Every page needs a sign-in once accounts exist; the pages are registered (hidden) before the
# form so that a link to one of them leads there after signing in.
account = login.gate(options.data_dir, before_form=lambda: st.navigation(pages, position="hidden"))
state.init_session(options)
page = st.navigation(pages)
login.account_box()
login.pending_cookie()
request = render_sidebar()
if request is not None:
    importer.run_build(request)
importer.show_fresh_report()
with shown_errors():
    page.run()
