"""In the sidebar, for administrators: link a workspace in PostGIS into the library by its
database URL, and unlink one.

The field takes a ``postgresql://`` URL, never a path of the server; URLs with a password and
libpq parameters naming files of the server are refused (``server.dblinks``), the connection and
the schema are checked before the link is saved, and the role is checked again by the library.
Refusals are said in the interface language, with the driver's own words below when it has any.
"""
from __future__ import annotations

import logging

import streamlit as st

from geo.errors import GridPatrolError
from geo.markup import escape_markdown
from server.accounts import PermissionDenied
from server.dblinks import LinkRefused, database_links, link_database, unlink_database, without_password
from ui import login, state
from ui.errors import _without_paths
from ui.i18n import t

__all__ = ["link_form"]

log = logging.getLogger(__name__)

_URL = "gp_db_url"
_NAME = "gp_db_name"
_PICK = "gp_db_unlink_pick"
_SURE = "gp_db_unlink_sure"
_RESULT = "gp_db_result"  # (kind, message, detail) of the last action, drawn under the buttons


def _message(exc: Exception) -> tuple[str, str]:
    """The interface-language message and the (escaped) detail for an action's exception."""
    if isinstance(exc, LinkRefused):
        fields = {"name": escape_markdown(exc.detail)} if exc.reason in ("name_taken",) else {}
        detail = "" if exc.reason in ("name_taken", "password") else exc.detail
        return t(f"db.err.{exc.reason}", **fields), detail
    if isinstance(exc, PermissionDenied):
        return t("err.denied", role=t(f"login.role.{exc.role}") if exc.role else "-"), ""
    return t("db.err.other"), str(exc)


def _act(action) -> None:
    """Run ``action`` (a callback of a button) and keep what to show for the next draw."""
    try:
        st.session_state[_RESULT] = ("success", *action())
    except GridPatrolError as exc:
        message, detail = _message(exc)
        st.session_state[_RESULT] = ("error", message, _without_paths(detail))
    except Exception:  # a bug: the log gets the traceback, the page one sentence
        log.exception("internal error linking a database workspace")
        st.session_state[_RESULT] = ("error", t("err.internal"), "")


def _link() -> tuple[str, str]:
    text = str(st.session_state.get(_URL) or "")
    name = str(st.session_state.get(_NAME) or "").strip() or None
    try:
        link = link_database(state.library(), text, name, account=login.current_account(),
                             server_files=False)
    except LinkRefused as exc:
        if exc.reason == "password":  # the password leaves the field (and the session) at once
            st.session_state[_URL] = without_password(text)
        raise
    st.session_state[_URL] = ""
    st.session_state[_NAME] = ""
    state.open_library_workspace(link.stem)
    return t("db.linked", name=escape_markdown(link.stem)), ""


def _unlink() -> tuple[str, str]:
    name = str(st.session_state.get(_PICK) or "")
    lib = state.library()
    link = database_links(lib).get(name)
    unlink_database(lib, name, account=login.current_account())
    st.session_state[_SURE] = False
    now = state.workspace_path()
    if link is not None and link.url is not None and now is not None and str(now) == str(link.url):
        rest = lib.names()  # the unlinked workspace was open: open another
        if rest:
            state.open_library_workspace(rest[0])
        else:
            state.close_workspace()
    return t("db.unlinked", name=escape_markdown(name)), ""


def _show_result() -> None:
    found = st.session_state.pop(_RESULT, None)
    if not found:
        return
    kind, message, detail = found
    (st.success if kind == "success" else st.error)(message)
    if detail:
        st.caption(escape_markdown(detail))


def link_form() -> None:
    """The expander "link a database workspace" (admins only; nothing for other roles)."""
    if not login.current_account().can("admin"):
        return
    with st.expander(t("db.title")):
        st.caption(t("db.help"))
        st.text_input(t("db.url"), key=_URL, placeholder="postgresql://USER@HOST:5432/DB?schema=NAME")
        st.text_input(t("db.name"), key=_NAME)
        st.button(t("db.link"), key="gp_db_link", on_click=_act, args=(_link,))
        _show_result()
        links = list(database_links(state.library()))
        if not links:
            return
        st.divider()
        st.selectbox(t("db.linked_list"), links, key=_PICK)
        picked = st.session_state.get(_PICK) or links[0]
        sure = st.checkbox(t("db.unlink_confirm", name=escape_markdown(picked)), key=_SURE)
        st.button(t("db.unlink"), key="gp_db_unlink", disabled=not sure, on_click=_act,
                  args=(_unlink,))
