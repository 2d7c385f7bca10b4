"""The workspace library of a data directory: list, create, open, save as, rename and delete.

Workspaces are addressed by name, never by a path a user typed: a name becomes the file
``<data_dir>/workspaces/<name>.gpkg`` after it is checked (no folders, no leading dot, no
characters that paths or layer specs use), so no field of the app reaches another file of the
server. Every change checks the account's role here, on the server: viewers read, planners
create, save as and rename, admins delete. Deleted workspaces are moved to ``<data_dir>/trash``
(nothing is lost by a click; an administrator empties it by hand).

A workspace in PostGIS joins the library as ``<data_dir>/workspaces/<name>.pgws``, a one-line file
holding its ``postgresql://...?schema=NAME`` URL without a password (an administrator adds it:
``add_database``); the password comes from the server's environment, ``~/.pgpass`` or a pg service
file. It is listed, opened and guarded by roles like a file; deleting it removes the link only.
"""
from __future__ import annotations

import logging
import os
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from geo.atomic import clean_stale_temps, copy_atomic, write_text_atomic
from geo.errors import InputError
from geo.pgurl import DatabaseURL, database_url, is_database_url
from geo.workspace import (
    Workspace,
    check_workspace,
    copy_workspace,
    is_workspace,
    plan_count,
    read_plans,
    write_workspace,
)
from server.accounts import Account, require

__all__ = ["Library", "LibraryEntry", "workspace_name", "library_of", "ensure_library", "MAX_NAME",
           "DEMO_WORKSPACE"]

log = logging.getLogger(__name__)

MAX_NAME = 80
# The embedded demo county (tracked in the repository; copied into a library, never written).
DEMO_WORKSPACE = Path(__file__).resolve().parent.parent / "data" / "boundaries" / "demo_county.gpkg"
_BAD = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')
LINK_SUFFIX = ".pgws"  # a library entry naming a workspace in PostGIS


def workspace_name(text: str) -> str:
    """``text`` as a workspace name, or InputError saying why it cannot be one.

    Letters of any script, digits, spaces and ``_ - . ( ) （ ）`` are allowed; no slashes or
    other path characters, no leading dot, at most 80 characters.
    """
    name = unicodedata.normalize("NFC", str(text or "")).strip()
    if name.lower().endswith(".gpkg"):
        name = name[:-5].strip()
    if not name:
        raise InputError("`name` was empty; give the workspace a name, e.g. 某某县2026")
    if len(name) > MAX_NAME:
        raise InputError(f"`name` has {len(name)} characters; use at most {MAX_NAME}")
    if name.startswith(".") or name in ("..",) or _BAD.search(name):
        raise InputError(f"`name` was {name!r}; a workspace name may not start with a dot or "
                         "contain / \\ : * ? \" < > | or control characters")
    return name


@dataclass(frozen=True)
class LibraryEntry:
    """One workspace of the library: its name, size, last change and plan count."""

    name: str
    path: Path | DatabaseURL
    size_bytes: int
    modified: str
    plans: int


def library_of(path: str | Path | DatabaseURL) -> Path | None:
    """The data directory whose library holds the workspace at ``path`` (None when it is a
    file elsewhere). For a database workspace: the data directory of this environment
    (``server.data_dir``) when its library links to that workspace."""
    if is_database_url(path):
        from server import data_dir
        lib = Library(data_dir())
        wanted = database_url(path).identity
        linked = any(isinstance(e, DatabaseURL) and e.identity == wanted for e in lib._links().values())
        return lib.data_dir if linked else None
    p = Path(path).resolve()
    if p.parent.name == "workspaces":
        return p.parent.parent
    return None


class Library:
    """The workspaces of one data directory (``<data_dir>/workspaces``)."""

    def __init__(self, data_dir: str | Path):
        self.data_dir = Path(data_dir).resolve()
        self.folder = self.data_dir / "workspaces"
        self.trash = self.data_dir / "trash"

    # --- reading ---------------------------------------------------------------------------------
    def path_of(self, name: str) -> Path | DatabaseURL:
        """The file of the workspace ``name`` (its URL for a workspace in PostGIS); InputError
        when there is none of that name."""
        entry = self._entry_file(name)
        return entry if entry.suffix == ".gpkg" else self._link_url(entry)

    def _entry_file(self, name: str) -> Path:
        """The .gpkg file or .pgws link of the workspace ``name``; InputError when none."""
        for suffix in (".gpkg", LINK_SUFFIX):
            path = self.folder / f"{workspace_name(name)}{suffix}"
            if path.is_file():
                return path
        have = ", ".join(e.name for e in self.entries()[:20]) or "none"
        raise InputError(f"the library has no workspace {name!r}; it has: {have}")

    @staticmethod
    def _link_url(link: Path) -> DatabaseURL:
        return database_url(link.read_text(encoding="utf-8").strip())

    def _links(self) -> dict[str, DatabaseURL | None]:
        """name -> URL of every .pgws link (None when its text is not a workspace URL)."""
        out: dict[str, DatabaseURL | None] = {}
        for link in sorted(self.folder.glob(f"*{LINK_SUFFIX}")) if self.folder.is_dir() else []:
            try:
                out[link.stem] = self._link_url(link)
            except (OSError, InputError):
                out[link.stem] = None
        return out

    def exists(self, name: str) -> bool:
        return any((self.folder / f"{workspace_name(name)}{s}").is_file() for s in (".gpkg", LINK_SUFFIX))

    def entries(self) -> list[LibraryEntry]:
        """Every workspace of the library, by name (files that are not workspaces are left out)."""
        if not self.folder.is_dir():
            return []
        clean_stale_temps(self.folder)
        out = []
        for path in sorted(self.folder.glob("*.gpkg"), key=lambda p: p.stem.lower()):
            if path.name.startswith(".") or not is_workspace(path):
                continue
            st = path.stat()
            out.append(LibraryEntry(name=path.stem, path=path, size_bytes=st.st_size,
                                    modified=datetime.fromtimestamp(st.st_mtime, timezone.utc)
                                    .isoformat(timespec="seconds"), plans=plan_count(path)))
        for name, url in self._links().items():
            if url is None or name.startswith(".") or any(e.name == name for e in out):
                continue
            st = (self.folder / f"{name}{LINK_SUFFIX}").stat()
            out.append(LibraryEntry(name=name, path=url, size_bytes=0, plans=plan_count(url),
                                    modified=datetime.fromtimestamp(st.st_mtime, timezone.utc)
                                    .isoformat(timespec="seconds")))
        return sorted(out, key=lambda e: e.name.lower())

    def names(self) -> list[str]:
        return [e.name for e in self.entries()]

    # --- writing ---------------------------------------------------------------------------------
    def _target(self, name: str, suffix: str = ".gpkg") -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        other = self.folder / f"{workspace_name(name)}{LINK_SUFFIX if suffix == '.gpkg' else '.gpkg'}"
        if other.exists():
            raise InputError(f"the library has a workspace {other.stem!r} already; choose another name")
        return self.folder / f"{workspace_name(name)}{suffix}"

    def add_database(self, url: str | DatabaseURL, name: str, *, account: Account) -> Path:
        """Link the workspace in PostGIS at ``url`` into the library as ``name`` (admin); the
        link file. The URL may not hold a password (give it in the server's environment,
        ``~/.pgpass`` or a pg service file); the workspace must exist (``gridpatrol copy``)."""
        require(account, "admin", action="add a database workspace")
        url = database_url(url)
        if url.password:
            raise InputError(f"{url.display}: a library keeps no passwords; remove it from the URL "
                             "and give it to the server with PGPASSWORD, ~/.pgpass or a pg service file")
        check_workspace(url)
        target = self._target(name, LINK_SUFFIX)
        if target.exists():
            raise InputError(f"the library has a workspace {target.stem!r} already; choose another name")
        write_text_atomic(target, url.display + "\n")
        log.info("%s linked workspace %s to %s", account.name, target.stem, url.display)
        return target

    def create(self, ws: Workspace, name: str, *, account: Account, overwrite: bool = False) -> Path:
        """Save the built workspace ``ws`` as ``name`` (planner). An existing workspace of that
        name is replaced only with ``overwrite`` and never when it holds saved plans."""
        require(account, "planner", action="build a workspace")
        target = self._target(name)
        if target.exists():
            if not overwrite:
                raise InputError(f"the library has a workspace {target.stem!r} already; choose "
                                 "another name or allow replacing it")
            n = plan_count(target)
            if n:
                raise InputError(f"{target.stem!r} holds {n} saved plan version(s); save the new "
                                 "workspace under another name")
        stamped = ws.with_meta(author=account.name, name=ws.meta.get("name") or target.stem)
        write_workspace(stamped, target, overwrite_plans=False)
        log.info("%s created workspace %s", account.name, target.stem)
        return target

    def add_file(self, path: str | Path, name: str, *, account: Account) -> Path:
        """Add a workspace file (e.g. an uploaded .gpkg) to the library as ``name`` (planner):
        it must be an intact GridPatrol workspace; an existing name is never replaced."""
        require(account, "planner", action="add a workspace")
        check_workspace(path)
        target = self._target(name)
        if target.exists():
            raise InputError(f"the library has a workspace {target.stem!r} already; choose another name")
        copy_atomic(path, target)
        return target

    def save_as(self, name: str, new_name: str, *, account: Account) -> Path:
        """Copy the workspace ``name`` (with its plans and edits) to ``new_name`` (planner)."""
        require(account, "planner", action="save a workspace as")
        src = self.path_of(name)
        target = self._target(new_name)
        if target.exists():
            raise InputError(f"the library has a workspace {target.stem!r} already; choose another name")
        return copy_workspace(src, target)

    def rename(self, name: str, new_name: str, *, account: Account) -> Path:
        """Rename the workspace ``name`` to ``new_name`` (planner)."""
        require(account, "planner", action="rename a workspace")
        src = self._entry_file(name)
        target = self._target(new_name, src.suffix)
        if target.exists():
            raise InputError(f"the library has a workspace {target.stem!r} already; choose another name")
        os.link(src, target)  # fails rather than replace, unlike rename
        os.unlink(src)
        log.info("%s renamed workspace %s to %s", account.name, src.stem, target.stem)
        return target

    def delete(self, name: str, *, account: Account) -> Path:
        """Move the workspace ``name`` to the data directory's trash (admin); return where."""
        require(account, "admin", action="delete a workspace")
        src = self._entry_file(name)  # a link's schema stays in its database
        self.trash.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        target = self.trash / f"{src.stem}.{stamp}{src.suffix}"
        os.replace(src, target)
        log.info("%s deleted workspace %s (kept as %s)", account.name, src.stem, target.name)
        return target

    def ensure_demo(self, demo: str | Path) -> Path | None:
        """On first run (no workspace yet), copy the demo workspace ``demo`` into the library as
        ``demo_county``; the tracked file itself is never written. Returns the copy, if made."""
        if self.entries() or not Path(demo).is_file():
            return None
        target = self._target(Path(demo).stem)
        if target.exists():
            return None
        return copy_atomic(demo, target)

    def plans(self, name: str):
        """The plan versions of the workspace ``name`` (see ``geo.workspace.read_plans``)."""
        return read_plans(self.path_of(name))


def ensure_library(data_dir: str | Path) -> Library:
    """The library of ``data_dir``, created with a copy of the demo county on first run."""
    lib = Library(data_dir)
    lib.ensure_demo(DEMO_WORKSPACE)
    return lib
