"""The sidebar: language switch, which workspace is open, and the way to open or build another."""
from __future__ import annotations

import streamlit as st

from ui import importer, state
from ui.i18n import language_switch, t

__all__ = ["render_sidebar"]

_UPLOAD_SEEN = "gp_workspace_upload_seen"


def _open_controls() -> None:
    path = state.workspace_path()
    st.caption(t("sb.current", name=path.name) if path else t("sb.none"))
    if st.button(t("sb.open_demo"), key="gp_open_demo", width="stretch"):
        if state.DEMO_WORKSPACE.exists():
            state.open_workspace(state.DEMO_WORKSPACE)
            st.rerun()
        st.warning(t("sb.demo_missing", path=state.DEMO_WORKSPACE.relative_to(state.APP_DIR)))
    with st.expander(t("sb.open_file")):
        uploaded = st.file_uploader(t("sb.upload_gpkg"), type=["gpkg"], key="gp_up_workspace")
        if uploaded is not None and st.session_state.get(_UPLOAD_SEEN) != uploaded.file_id:
            st.session_state[_UPLOAD_SEEN] = uploaded.file_id
            state.open_workspace(importer.save_upload(uploaded, state.session_folder() / "opened"))
            st.rerun()
        typed = st.text_input(t("sb.path"), key="gp_path_text").strip()
        if st.button(t("sb.open"), key="gp_open_path", disabled=not typed):
            state.open_workspace(typed)
            st.rerun()


def render_sidebar() -> importer.BuildRequest | None:
    """Draw the sidebar; return a build request when the user asked for one.

    The build itself runs in the main area (``importer.run_build``), where its report has room.
    """
    with st.sidebar:
        language_switch()
        st.subheader(t("sb.workspace"))
        _open_controls()
        # A toggle, not an expander: a collapsed expander still draws its eleven file
        # uploaders, which slowed every page's first draw by ~0.2 s.
        if not st.toggle(t("sb.build"), key="gp_show_build"):
            return None
        with st.container(border=True):
            return importer.build_form()
