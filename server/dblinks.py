"""Links from a data directory's library to workspaces in PostGIS: the URL an administrator gives
is checked (a postgresql URL, no password, optionally no file of the server, a reachable schema
holding a GridPatrol workspace) before ``server.library`` stores it; links are listed with their
state and removed (the schema stays in its database).

Every refusal is a ``LinkRefused`` (an InputError) whose ``reason`` says which check failed, so
that the app can say it in the interface language; its text (English) names the URL without its
password and the fix.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from geo.errors import InputError
from geo.pgurl import DatabaseURL, database_url, is_database_url, redact
from server.accounts import Account, require
from server.library import LINK_SUFFIX, Library, workspace_name

__all__ = ["LinkRefused", "LinkState", "REASONS", "SERVER_FILE_PARAMETERS", "link_url", "probe_link",
           "link_database", "unlink_database", "database_links", "without_password"]

log = logging.getLogger(__name__)

# Why a link is refused (LinkRefused.reason); the app has a message for each (ui/i18n.py db.err.*).
REASONS = ("not_url", "schema", "password", "server_file", "name", "name_taken", "unreachable",
           "refused", "no_schema", "not_workspace", "not_link")
# libpq parameters that name a file of the machine that connects (or hold a secret): a form of
# the app may not set them; the server's pg service file can (?service=NAME).
SERVER_FILE_PARAMETERS = ("passfile", "sslcert", "sslkey", "sslrootcert", "sslcrl", "sslcrldir",
                          "servicefile", "sslpassword")
_FIX_PASSWORD = ("give it to the server with PGPASSWORD, ~/.pgpass or a pg service file "
                 "(?service=NAME)")
_FIX_COPY = "copy a workspace there first: `gridpatrol copy ws.gpkg URL`"


class LinkRefused(InputError):
    """A database workspace that cannot be linked: ``reason`` is one of ``REASONS``; ``detail``
    the driver's or the check's own words (English, no password), possibly empty."""

    def __init__(self, message: str, *, reason: str, detail: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class LinkState:
    """One link of a library: its ``name``, ``url`` (None when the link file holds no workspace
    URL), ``status`` (``ok``, ``unchecked``, ``bad_url`` or a ``LinkRefused.reason``), the number
    of saved ``plans`` (None unless ok) and the ``detail`` of a failed check."""

    name: str
    url: DatabaseURL | None
    status: str
    plans: int | None = None
    detail: str = ""


def without_password(text: str) -> str:
    """``text`` (a postgresql URL) with its password removed: from the user part and from
    ``password=``/``sslpassword=`` of the query; other text comes back unchanged."""
    text = str(text or "").strip()
    if not is_database_url(text):
        return text
    scheme, rest = text.split("://", 1)
    end = min((rest.index(mark) for mark in "/?#" if mark in rest), default=len(rest))
    netloc, tail = rest[:end], rest[end:]
    if "@" in netloc:
        user, host = netloc.rsplit("@", 1)
        netloc = f"{user.split(':', 1)[0]}@{host}"
    if "?" in tail:
        path, query = tail.split("?", 1)
        fragment = ""
        if "#" in query:
            query, fragment = query.split("#", 1)
            fragment = "#" + fragment
        kept = [part for part in query.split("&")
                if part.split("=", 1)[0].lower() not in ("password", "sslpassword")]
        tail = path + ("?" + "&".join(kept) if kept else "") + fragment
    return f"{scheme}://{netloc}{tail}"


def link_url(text: str | DatabaseURL, *, server_files: bool = True) -> DatabaseURL:
    """``text`` as the URL of a workspace to link, without touching the network.

    Refused (LinkRefused): anything that is not a ``postgresql://`` or ``postgres://`` URL (a path
    of the server is never read), a URL without a valid ``schema``, a URL holding a password,
    and, unless ``server_files``, libpq parameters naming files of the server
    (``SERVER_FILE_PARAMETERS``).
    """
    if not isinstance(text, DatabaseURL):
        text = str(text or "").strip()
        if not is_database_url(text):
            shown = redact(text)[:120]
            raise LinkRefused(f"`url` was {shown!r}, which is not a database URL; give "
                              "postgresql://USER@HOST:PORT/DB?schema=NAME (a workspace file is "
                              "added as a file, not linked)", reason="not_url")
    try:
        url = database_url(text)
    except InputError as exc:
        raise LinkRefused(str(exc), reason="schema", detail=str(exc)) from None
    query = [k.lower() for k, _ in parse_qsl(urlsplit(url.conninfo).query, keep_blank_values=True)]
    if url.password or {"password", "sslpassword"} & set(query):  # any spelling of the keys
        raise LinkRefused(f"{url.display}: a library keeps no passwords; remove it from the URL and "
                          f"{_FIX_PASSWORD}", reason="password")
    files = sorted({k for k in query if k in SERVER_FILE_PARAMETERS})
    if files and not server_files:
        raise LinkRefused(f"{url.display}: {', '.join(files)} would name files of the server; set "
                          "them in the server's pg service file and give ?service=NAME",
                          reason="server_file", detail=", ".join(files))
    return url


def probe_link(url: str | DatabaseURL) -> int:
    """Connect to ``url`` and check that its schema holds a GridPatrol workspace; the number of
    saved plan versions. LinkRefused says why not: ``unreachable`` (no connection),
    ``refused`` (the database refused a query, e.g. no privilege on the schema), ``no_schema``
    or ``not_workspace`` (with the fix: ``gridpatrol copy``)."""
    from geo import pgworkspace as pg
    from geo.workspace import META_TABLE
    url = database_url(url)
    connected = False
    try:
        with pg._connection(url) as con:
            connected = True
            if pg._has_table(con, url.schema, META_TABLE):
                return pg._plan_count(con, url)
            exists = con.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s",
                                 (url.schema,)).fetchone()
    except LinkRefused:
        raise
    except InputError as exc:
        detail = redact(str(exc), (url.password,))
        if connected:
            raise LinkRefused(detail, reason="refused", detail=detail) from None
        raise LinkRefused(detail, reason="unreachable", detail=detail) from None
    if exists:
        raise LinkRefused(f"{url.display}: the schema {url.schema!r} holds no GridPatrol "
                          f"workspace; {_FIX_COPY}", reason="not_workspace")
    raise LinkRefused(f"{url.display}: the schema {url.schema!r} does not exist in that database; "
                      f"{_FIX_COPY}", reason="no_schema")


def link_database(lib: Library, url: str | DatabaseURL, name: str | None = None, *,
                  account: Account, server_files: bool = True) -> Path:
    """Link the workspace at ``url`` into ``lib`` as ``name`` (default: its schema); admins only.

    The role is checked first, then the URL (``link_url``), the name (free in the library), and
    the database (``probe_link``); ``Library.add_database`` writes the link. Returns the link
    file. ``server_files`` False refuses libpq parameters naming files of the server (the app).
    """
    require(account, "admin", action="link a database workspace")
    url = link_url(url, server_files=server_files)
    try:
        name = workspace_name(name if name and str(name).strip() else url.schema)
    except InputError as exc:
        raise LinkRefused(str(exc), reason="name", detail=str(exc)) from None
    if lib.exists(name):
        raise LinkRefused(f"the library has a workspace {name!r} already; choose another `name`",
                          reason="name_taken", detail=name)
    probe_link(url)
    return lib.add_database(url, name, account=account)


def unlink_database(lib: Library, name: str, *, account: Account) -> Path:
    """Remove the link ``name`` from ``lib`` (admins): the link file moves to the data
    directory's trash, the schema stays in its database. Returns where the link file went.
    A GeoPackage workspace of that name is refused (``not_link``)."""
    require(account, "admin", action="unlink a database workspace")
    name = workspace_name(name)
    if not (lib.folder / f"{name}{LINK_SUFFIX}").is_file():
        links = ", ".join(database_links(lib)) or "none"
        if lib.exists(name):
            raise LinkRefused(f"{name!r} is a workspace file of the library, not a link to a "
                              "database; delete it in the app (admins) instead", reason="not_link")
        raise LinkRefused(f"the library links no database workspace {name!r}; its links: {links}",
                          reason="not_link")
    return lib.delete(name, account=account)


def database_links(lib: Library, *, check: bool = False) -> dict[str, LinkState]:
    """name -> ``LinkState`` of every database link of ``lib`` (by name). With ``check`` each is
    connected to (``probe_link``; each may wait for its ``connect_timeout``, 10 s by default)."""
    out: dict[str, LinkState] = {}
    for name, url in lib._links().items():
        if url is None:
            out[name] = LinkState(name, None, "bad_url")
        elif not check:
            out[name] = LinkState(name, url, "unchecked")
        else:
            try:
                out[name] = LinkState(name, url, "ok", plans=probe_link(url))
            except LinkRefused as exc:
                out[name] = LinkState(name, url, exc.reason, detail=str(exc))
    return out
