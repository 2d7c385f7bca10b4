"""Workspace locations in PostgreSQL: ``postgresql://`` URLs parsed, checked and shown without
their password.

A workspace in a database is addressed by a libpq connection URL plus the schema that holds it::

    postgresql://USER@HOST:PORT/DB?schema=NAME
    postgresql://USER:PASSWORD@HOST/DB?schema=NAME&sslmode=require
    postgresql:///?service=NAME&schema=NAME          (host, user, database from a pg service file)

``schema`` is GridPatrol's; every other part goes to libpq unchanged, so passwords may also come
from ``PGPASSWORD``, ``~/.pgpass`` or the service file. A password is never shown: ``str`` and
``repr`` of a ``DatabaseURL``, and every message made here, print ``***`` in its place.

This module imports no database driver (``geo.workspace`` uses it to decide where a call goes).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from geo.errors import InputError

__all__ = ["DatabaseURL", "is_database_url", "database_url", "redact"]

_SCHEMES = ("postgresql://", "postgres://")
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_RESERVED = ("information_schema",)


def is_database_url(location: object) -> bool:
    """True when ``location`` names a workspace in PostgreSQL (a ``DatabaseURL``, or text
    starting with ``postgresql://`` or ``postgres://``); False for paths of files."""
    if isinstance(location, DatabaseURL):
        return True
    return isinstance(location, str) and location.strip().lower().startswith(_SCHEMES)


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """``text`` with the password of every postgresql URL in it, every ``password=...``
    key-value, and each of ``secrets`` replaced by ``***``."""
    out = re.sub(r"(postgres(?:ql)?://[^:/@\s?#]*:)[^@\s/?#]*@", r"\1***@", str(text),
                 flags=re.IGNORECASE)
    out = re.sub(r"(password\s*=\s*)('[^']*'|[^\s&]+)", r"\1***", out, flags=re.IGNORECASE)
    for secret in secrets:
        if secret:
            out = out.replace(secret, "***")
    return out


@dataclass(frozen=True)
class DatabaseURL:
    """A parsed ``postgresql://...?schema=NAME`` workspace location.

    Attributes
    ----------
    conninfo : the libpq connection URL (the given one without ``schema``; the password kept).
    schema : the schema holding the workspace (lower-case letters, digits and ``_``).
    display : the URL as shown to people: the password replaced by ``***``.

    ``str`` and ``repr`` are the display form; ``name`` and ``stem`` are the schema, so that
    code naming a workspace by its file name names it by its schema.
    """

    conninfo: str = field(repr=False)
    schema: str
    display: str
    password: str = field(default="", repr=False, compare=False)

    @property
    def name(self) -> str:
        return self.schema

    @property
    def identity(self) -> tuple:
        """What names the workspace, whatever the spelling: user, host, port, database, service
        and schema (no password, no connection options)."""
        parts = urlsplit(self.conninfo)
        query = dict(parse_qsl(parts.query))
        return (parts.username or query.get("user"), parts.hostname or query.get("host"),
                parts.port or query.get("port"), parts.path.lstrip("/") or query.get("dbname"),
                query.get("service"), self.schema)

    @property
    def stem(self) -> str:
        return self.schema

    def with_schema(self, schema: str) -> "DatabaseURL":
        """The same database, another schema."""
        return database_url(_with_query(self.conninfo, schema=schema), password_hint=self.password)

    def __str__(self) -> str:
        return self.display

    def __repr__(self) -> str:
        return f"DatabaseURL({self.display!r})"


def _with_query(conninfo: str, **extra: str) -> str:
    parts = urlsplit(conninfo)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in extra]
    query += list(extra.items())
    return f"postgresql://{parts.netloc}{parts.path}?{urlencode(query, quote_via=quote, safe='/')}"


def database_url(location: "str | DatabaseURL", *, password_hint: str = "") -> DatabaseURL:
    """Parse ``location`` (see the module docstring) into a ``DatabaseURL``.

    Raises InputError (naming the URL without its password) when it is not a postgresql URL,
    has no ``schema`` or a schema that is not lower-case letters, digits and ``_`` (at most 63,
    not starting with a digit, not ``pg_...`` or ``information_schema``).
    """
    if isinstance(location, DatabaseURL):
        return location
    text = str(location).strip()
    if not is_database_url(text):
        raise InputError(f"{redact(text)!r} is not a database workspace; give "
                         "postgresql://USER@HOST:PORT/DB?schema=NAME")
    parts = urlsplit(text)
    query = parse_qsl(parts.query, keep_blank_values=True)
    password = unquote(parts.password or "") or next((v for k, v in query if k == "password"), "")
    password = password or password_hint
    shown = redact(text, (password,) if password else ())
    schemas = [v for k, v in query if k == "schema"]
    if not schemas or not schemas[-1]:
        raise InputError(f"{shown}: no schema given; add ?schema=NAME (the schema that holds the "
                         "workspace, e.g. ?schema=county2026)")
    schema = schemas[-1]
    if not _SCHEMA.match(schema) or schema.startswith("pg_") or schema in _RESERVED:
        raise InputError(f"{shown}: `schema` was {schema!r}; a workspace schema is lower-case "
                         "letters, digits and _ (at most 63, not starting with a digit or pg_), "
                         "e.g. county2026")
    rest = [(k, v) for k, v in query if k != "schema"]
    keys = {k for k, _ in rest}
    if "connect_timeout" not in keys:
        rest.append(("connect_timeout", "10"))
    if "application_name" not in keys:
        rest.append(("application_name", "gridpatrol"))
    # built by hand: urlunsplit drops the empty host of postgresql:///?service=NAME
    conninfo = (f"postgresql://{parts.netloc}{parts.path}"
                f"?{urlencode(rest, quote_via=quote, safe='/')}")
    return DatabaseURL(conninfo=conninfo, schema=schema, display=shown, password=password)
