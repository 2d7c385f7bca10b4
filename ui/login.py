"""Sign-in before any page, the signed-in account for this run, and the sidebar account box."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pandas as pd
import streamlit as st

from geo.errors import GridPatrolError
from server.accounts import LOCAL_ACCOUNT, ROLES, Account, AccountStore, AuthError, PermissionDenied, require
from server.serve import is_loopback
from ui.i18n import language_switch, t

__all__ = ["gate", "current_account", "account_box", "pending_cookie", "COOKIE"]

_TOKEN_KEY = "gp_session_token"
_ACCOUNT_KEY = "gp_account"
_DIR_KEY = "gp_account_dir"
_FLASH_KEY = "gp_account_flash"
_ENDED_KEY = "gp_session_ended"
_PROXY_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")
_COOKIE_KEY = "gp_cookie_pending"   # token to write into the cookie (None: clear it)
_SIGNED_OUT_KEY = "gp_signed_out"   # this browser session signed out: ignore the old cookie
COOKIE = "gridpatrol_session"
_COOKIE_MAX_AGE_S = 24 * 3600       # the server's absolute session limit decides anyway


def _client_address() -> str | None:
    """The browser's address as Streamlit sees it (None in tests and when unknown)."""
    try:
        address = st.context.ip_address
    except Exception:  # no script run context
        return None
    return address if isinstance(address, str) and address else None


def _client_is_local() -> bool:
    """True when the browser runs on this machine: a loopback address (or none known) and no
    reverse-proxy header (behind a proxy every browser would look local)."""
    try:
        headers = {str(k).lower() for k in st.context.headers.keys()}
    except Exception:  # no script run context, or no request (tests)
        headers = set()
    if headers & set(_PROXY_HEADERS):
        return False
    address = _client_address()
    return True if address is None else is_loopback(address)


def _store() -> AccountStore:
    return AccountStore(Path(st.session_state[_DIR_KEY]))


def _md(text: str) -> str:
    """``text`` with Markdown's special characters escaped (names are text, never markup)."""
    return "".join("\\" + c if c in "\\`*_{}[]()#+-.!|~<>$" else c for c in str(text))


def _role_label(role: str) -> str:
    return t(f"login.role.{role}")


def _centre():
    return st.columns([1, 2, 1])[1]


def _cookie_token() -> str | None:
    """The session token the browser kept in its cookie (sent with the page request)."""
    try:
        value = (st.context.cookies or {}).get(COOKIE)
    except Exception:  # no script run context (unit tests)
        return None
    return value if isinstance(value, str) and 20 <= len(value) <= 200 else None


def _cookie_script(token: str | None) -> None:
    """Set (``token``) or clear (None) the session cookie in the browser, so that a reload keeps
    the sign-in. The token is random and stored on the server only as a hash; the cookie is
    SameSite=Strict and dies with the session on the server (expiry, sign-out, removal)."""
    import json

    from streamlit.components.v1 import html
    if token is None:
        value = f"{COOKIE}=; Path=/; Max-Age=0; SameSite=Strict"
    else:
        value = f"{COOKIE}={token}; Path=/; Max-Age={_COOKIE_MAX_AGE_S}; SameSite=Strict"
    html(f"<script>document.cookie = {json.dumps(value)} + (location.protocol === 'https:' ? "
         f"'; Secure' : '');</script>", height=0)


def pending_cookie() -> None:
    """Write or clear the session cookie when a sign-in or sign-out asked for it (call once per
    run, after the page is set up: a component drawn right before ``st.rerun`` never arrives)."""
    if _COOKIE_KEY in st.session_state:
        _cookie_script(st.session_state.pop(_COOKIE_KEY))


def gate(data_dir: Path, *, before_form: Callable[[], object] | None = None) -> Account:
    """The account this run acts for; call before the navigation is built.

    With accounts in ``data_dir``: the account of this browser session's valid sign-in (kept
    across reloads by a session cookie), or else ``before_form`` is called (the app registers
    its pages there, hidden, so that a deep link survives the sign-in), a sign-in form is drawn
    and the run stops (``st.stop``). Without accounts: ``LOCAL_ACCOUNT`` for a browser on this
    machine; any other browser is told that an administrator must create an account first, and
    the run stops.
    """
    st.session_state[_DIR_KEY] = str(data_dir)
    store = AccountStore(Path(data_dir))
    if store.is_empty():
        st.session_state.pop(_TOKEN_KEY, None)
        if _client_is_local():
            st.session_state[_ACCOUNT_KEY] = LOCAL_ACCOUNT
            return LOCAL_ACCOUNT
        st.session_state.pop(_ACCOUNT_KEY, None)
        if before_form is not None:
            before_form()
        with _centre():
            st.title(t("app.title"))
            language_switch()
            st.warning(t("login.no_accounts"))
        st.stop()
    token = st.session_state.get(_TOKEN_KEY)
    if token is None and not st.session_state.get(_SIGNED_OUT_KEY):
        token = _cookie_token()  # a reload: the browser's cookie names the session
    account = store.session_account(token) if token else None
    if account is not None:
        st.session_state[_TOKEN_KEY] = token
        st.session_state[_ACCOUNT_KEY] = account
        return account
    if token:  # expired, signed out elsewhere, or the account was removed
        st.session_state[_ENDED_KEY] = True
        st.session_state[_COOKIE_KEY] = None
    st.session_state.pop(_TOKEN_KEY, None)
    st.session_state.pop(_ACCOUNT_KEY, None)
    if before_form is not None:
        before_form()
    pending_cookie()
    _login_form(store)
    st.stop()
    raise AssertionError("unreachable")  # st.stop() ends the run


def _login_form(store: AccountStore) -> None:
    with _centre():
        st.title(t("app.title"))
        language_switch()
        if st.session_state.pop(_ENDED_KEY, False):
            st.info(t("login.expired"))
        with st.form("gp_login"):
            st.subheader(t("login.title"))
            name = st.text_input(t("login.name"), key="gp_login_name")
            password = st.text_input(t("login.password"), type="password")
            submitted = st.form_submit_button(t("login.submit"), type="primary")
        if not submitted:
            return
        try:
            account = store.authenticate(name, password, client=_client_address() or "")
        except AuthError as exc:
            if exc.locked_minutes:
                st.error(t("login.locked", minutes=exc.locked_minutes))
            else:
                st.error(t("login.failed"))
            return
        st.session_state[_TOKEN_KEY] = store.start_session(account)
        st.session_state[_ACCOUNT_KEY] = account
        st.session_state[_COOKIE_KEY] = st.session_state[_TOKEN_KEY]
        st.session_state.pop(_SIGNED_OUT_KEY, None)
        st.rerun()


def current_account() -> Account:
    """The account ``gate`` found for this run (``LOCAL_ACCOUNT`` when ``gate`` was not called,
    as in unit tests of single pages)."""
    try:
        account = st.session_state.get(_ACCOUNT_KEY)
    except Exception:  # outside a Streamlit run
        account = None
    return account if isinstance(account, Account) else LOCAL_ACCOUNT


def account_box() -> None:
    """In the sidebar: who is signed in, with the role and a sign-out button (nothing in local
    mode); for admins, an expander that lists, adds, re-roles, resets and removes accounts."""
    account = current_account()
    if account.local or _DIR_KEY not in st.session_state:
        return
    with st.sidebar:
        st.caption(_md(t("login.signed_in", name=account.name, role=_role_label(account.role))))
        if st.button(t("login.logout"), key="gp_logout"):
            _store().end_session(st.session_state.pop(_TOKEN_KEY, None))
            st.session_state.pop(_ACCOUNT_KEY, None)
            st.session_state[_COOKIE_KEY] = None  # cleared in the browser on the next run
            st.session_state[_SIGNED_OUT_KEY] = True
            st.rerun()
        if account.can("admin"):
            with st.expander(t("login.manage")):
                _admin_panel()


def _admin_action(action: str, do, done: str) -> None:
    """Run ``do()`` after checking (again, here) that the signed-in account is an admin; show the
    outcome after a rerun, or the error now."""
    try:
        require(current_account(), "admin", action=action)
        do()
    except PermissionDenied:
        st.error(t("login.denied", role=_role_label("admin")))
        return
    except GridPatrolError as exc:
        st.error(_md(str(exc)))
        return
    st.session_state[_FLASH_KEY] = done
    st.rerun()


def _admin_panel() -> None:
    store = _store()
    flash = st.session_state.pop(_FLASH_KEY, None)
    if flash:
        st.success(_md(flash))
    accounts = store.accounts()
    st.dataframe(pd.DataFrame({t("login.col_name"): [a.name for a in accounts],
                               t("login.col_role"): [_role_label(a.role) for a in accounts]}),
                 hide_index=True, width="stretch")
    names = [a.name for a in accounts]

    st.markdown(f"**{t('login.add')}**")
    with st.form("gp_acc_add", clear_on_submit=True):
        name = st.text_input(t("login.name"), key="gp_acc_add_name")
        role = st.selectbox(t("login.role"), ROLES, format_func=_role_label, key="gp_acc_add_role")
        password = st.text_input(t("login.new_password"), type="password")
        if st.form_submit_button(t("login.add_submit")):
            _admin_action("add an account", lambda: store.add(name.strip(), role=role, password=password),
                          t("login.done_add", name=name.strip()))

    st.markdown(f"**{t('login.change_role')}**")
    with st.form("gp_acc_role"):
        who = st.selectbox(t("login.account"), names, key="gp_acc_role_name")
        role = st.selectbox(t("login.role"), ROLES, format_func=_role_label, key="gp_acc_role_role")
        if st.form_submit_button(t("login.role_submit")) and who:
            _admin_action("change a role", lambda: store.set_role(who, role=role),
                          t("login.done_role", name=who, role=_role_label(role)))

    st.markdown(f"**{t('login.reset')}**")
    with st.form("gp_acc_reset", clear_on_submit=True):
        who = st.selectbox(t("login.account"), names, key="gp_acc_reset_name")
        password = st.text_input(t("login.new_password"), type="password")
        if st.form_submit_button(t("login.reset_submit")) and who:
            _admin_action("reset a password", lambda: store.set_password(who, password=password),
                          t("login.done_reset", name=who))

    st.markdown(f"**{t('login.remove')}**")
    with st.form("gp_acc_remove"):
        who = st.selectbox(t("login.account"), names, key="gp_acc_remove_name")
        sure = st.checkbox(t("login.confirm_remove"), key="gp_acc_remove_sure")
        if st.form_submit_button(t("login.remove_submit")) and who and sure:
            _admin_action("remove an account", lambda: store.remove(who),
                          t("login.done_remove", name=who))
