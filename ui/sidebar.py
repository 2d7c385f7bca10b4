"""The sidebar: language switch, the workspace library (open, add, save as, rename, delete) and
the way to build a workspace from layers.

No field takes a server path: workspaces are chosen by name from the data directory's library
(``server.library``), which checks every name and every role on the server.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from geo.workspace import is_workspace
from ui import basemap, dblink, importer, login, state
from ui.errors import shown_errors
from ui.i18n import language_switch, t

__all__ = ["render_sidebar"]

_UPLOAD_SEEN = "gp_workspace_upload_seen"
_LOCAL = "\x00local"  # the option standing for the file given at start
_PICK = "gp_library_pick"  # the select box of the library
_SHOWN = "gp_library_shown"  # the open workspace the select box was last set to


def _choose() -> None:
    """The library as a select box (plus the file given at start, in local mode)."""
    lib = state.library()
    entries = lib.entries()
    local = state.local_file()
    options = ([_LOCAL] if local is not None else []) + [e.name for e in entries]
    plans = {e.name: e.plans for e in entries}
    path = state.workspace_path()
    if not options:
        st.info(t("sb.empty"))
        return
    if local is not None and path == local:
        current = _LOCAL
    else:
        current = next((e.name for e in entries if path is not None and e.path == path), options[0])

    def label(option: str) -> str:
        if option == _LOCAL:
            return t("sb.local", name=local.name)
        n = plans.get(option, 0)
        return f"{option} · {t('sb.plans_n', n=n)}" if n else option

    # The open workspace may change without this widget (a build, save as, rename): show it.
    if st.session_state.get(_SHOWN) != str(path) or st.session_state.get(_PICK) not in options:
        st.session_state[_PICK] = current
        st.session_state[_SHOWN] = str(path)
    chosen = st.selectbox(t("sb.library"), options, format_func=label, key=_PICK)
    if chosen != current:
        with shown_errors():
            if chosen == _LOCAL:
                state.open_workspace(local)
            else:
                state.open_library_workspace(chosen)
            st.rerun()


def _add_upload() -> None:
    """Add an uploaded workspace file to the library (planners)."""
    account = login.current_account()
    if not account.can("planner"):
        return
    with st.expander(t("sb.open_file")):
        uploaded = st.file_uploader(t("sb.upload_gpkg"), type=["gpkg"], key="gp_up_workspace")
        if uploaded is None:
            return
        name = st.text_input(t("sb.upload_name"), value=state.safe_file_name(uploaded.name).removesuffix(".gpkg"),
                             key="gp_up_workspace_name")
        seen = st.session_state.get(_UPLOAD_SEEN) == (uploaded.file_id, name)
        if st.button(t("sb.add_upload"), key="gp_add_upload") and not seen:
            with shown_errors(hide_folders=[state.upload_folder_root()]):
                with state.uploaded_files({uploaded.name: uploaded.getvalue()}) as paths:
                    path = state.library().add_file(paths[uploaded.name], name, account=account)
                st.session_state[_UPLOAD_SEEN] = (uploaded.file_id, name)
                state.open_workspace(path)
                st.toast(t("sb.added", name=path.stem))
                st.rerun()


def _manage() -> None:
    """Save as, rename (planners) and delete (admins) the open library workspace."""
    account = login.current_account()
    path = state.workspace_path()
    lib = state.library()
    if (not account.can("planner") or not isinstance(path, Path) or path.parent != lib.folder
            or not is_workspace(path)):  # a workspace in PostGIS is managed in its database
        return
    name = path.stem
    with st.expander(t("sb.manage")):
        new = st.text_input(t("sb.new_name"), key="gp_ws_new_name").strip()
        c = st.columns(2)
        if c[0].button(t("sb.save_as"), key="gp_ws_save_as", disabled=not new):
            with shown_errors():
                target = lib.save_as(name, new, account=account)
                state.open_workspace(target)
                st.toast(t("sb.saved_as", name=target.stem))
                st.rerun()
        if c[1].button(t("sb.rename"), key="gp_ws_rename", disabled=not new):
            with shown_errors():
                target = lib.rename(name, new, account=account)
                state.open_workspace(target)
                st.toast(t("sb.renamed", name=target.stem))
                st.rerun()
        if account.can("admin"):
            sure = st.checkbox(t("sb.delete_confirm", name=name), key="gp_ws_delete_sure")
            if st.button(t("sb.delete"), key="gp_ws_delete", disabled=not sure):
                with shown_errors():
                    lib.delete(name, account=account)
                    rest = lib.names()
                    if rest:
                        state.open_library_workspace(rest[0])
                    else:
                        state.close_workspace()
                    st.toast(t("sb.deleted", name=name))
                    st.rerun()


def render_sidebar() -> importer.BuildRequest | None:
    """Draw the sidebar; return a build request when the user asked for one.

    The build itself runs in the main area (``importer.run_build``), where its report has room.
    """
    with st.sidebar:
        language_switch()
        st.subheader(t("sb.workspace"))
        _choose()
        if not login.current_account().can("planner"):
            st.caption(t("sb.viewer"))
            return None
        _add_upload()
        _manage()
        dblink.link_form()  # admins: link a workspace in PostGIS by its URL
        basemap.settings_form()  # admins: the basemap of every map
        # A toggle, not an expander: a collapsed expander still draws its twelve file
        # uploaders (and the previews of files given), which slowed every page's first draw.
        if not st.toggle(t("sb.build"), key="gp_show_build"):
            return None
        with st.container(border=True):
            return importer.build_form()
