"""Session state: how the app was started, which workspace is open, cached reads of it."""
from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import pandas as pd
import streamlit as st
from pyproj import CRS

from geo.errors import Problem
from geo.pgurl import DatabaseURL, database_url, is_database_url
from geo.workspace import TABLE_LAYERS, Workspace, layers_version, read_plan_cells, read_plans, read_workspace
from server import DEFAULT_DATA_DIR, data_dir
from server import library as library_module
from server.library import Library
from ui import maps
from ui.mapview import frame_digest
from ui.report import recheck_workspace

__all__ = ["APP_DIR", "DEMO_WORKSPACE", "ENV_WORKSPACE", "ENV_PAGE", "StartOptions",
           "start_options", "init_session", "open_workspace", "close_workspace", "workspace_path", "current_workspace",
           "display_layers_of", "map_context_of", "road_network", "road_network_of", "map_cache_key", "layers_key",
           "recheck_of", "ImportReport", "library", "local_file",
           "open_library_workspace", "uploaded_files", "upload_folder_root", "safe_file_name",
           "set_report", "last_report"]

APP_DIR = Path(__file__).resolve().parent.parent
DEMO_WORKSPACE = library_module.DEMO_WORKSPACE
ENV_WORKSPACE = "GRIDPATROL_WORKSPACE"
ENV_PAGE = "GRIDPATROL_PAGE"

_PATH_KEY = "gp_workspace_path"
_DATA_KEY = "gp_data_dir"
_LOCAL_KEY = "gp_local_file"
_REPORT_KEY = "gp_import_report"


@dataclass(frozen=True)
class StartOptions:
    """What the command line (``streamlit run app.py -- --workspace PATH --page data``) or the
    environment (GRIDPATROL_WORKSPACE, GRIDPATROL_PAGE; these win) asked for at start."""

    workspace: Path | None
    page: str | None = None
    data_dir: Path = Path(DEFAULT_DATA_DIR)

    @property
    def local_file(self) -> bool:
        """True when one workspace file was given (local mode on that file: plans are saved
        into it); False when the app serves the data directory's library."""
        return self.workspace is not None


def _resolve(path: str) -> Path | str:
    """A path as given; a relative one that does not exist from here is taken from the app folder.
    A database workspace's URL stays as it is."""
    if is_database_url(path):
        return path
    p = Path(path).expanduser()
    if not p.is_absolute() and not p.exists():
        return APP_DIR / p
    return p


def start_options(argv: Sequence[str] | None = None,
                  environ: Mapping[str, str] | None = None) -> StartOptions:
    """Read ``--workspace`` and ``--page`` from ``argv`` (default: sys.argv) and the environment."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--workspace")
    parser.add_argument("--page")
    parser.add_argument("--data-dir")
    args, _ = parser.parse_known_args(list(sys.argv[1:] if argv is None else argv))
    env = os.environ if environ is None else environ
    workspace = env.get(ENV_WORKSPACE) or args.workspace
    page = env.get(ENV_PAGE) or args.page
    return StartOptions(workspace=_resolve(workspace) if workspace else None, page=page or None,
                        data_dir=data_dir(args.data_dir, environ=env))


def init_session(options: StartOptions) -> None:
    """Open the start workspace once per session (later choices in the sidebar win): the file
    given at start (local mode on that file), else a workspace of the data directory's library
    (on first run the demo county is copied into it; the tracked demo file is never written)."""
    st.session_state[_DATA_KEY] = str(options.data_dir)
    if _PATH_KEY in st.session_state:
        return
    if options.workspace is not None:
        st.session_state[_LOCAL_KEY] = str(options.workspace)
        st.session_state[_PATH_KEY] = str(options.workspace)
        return
    lib = library()
    lib.ensure_demo(DEMO_WORKSPACE)
    names = lib.names()
    if names:
        pick = DEMO_WORKSPACE.stem if DEMO_WORKSPACE.stem in names else names[0]
        st.session_state[_PATH_KEY] = str(lib.path_of(pick))
    else:
        st.session_state[_PATH_KEY] = ""


def library() -> Library:
    """The workspace library of the data directory this app serves."""
    return Library(st.session_state.get(_DATA_KEY) or data_dir())


def _location(value: str) -> Path | DatabaseURL:
    """The stored text of a workspace location as a Path, or a DatabaseURL for PostGIS."""
    return database_url(value) if is_database_url(value) else Path(value)


def local_file() -> Path | DatabaseURL | None:
    """The workspace file given at start (local mode), if any."""
    value = st.session_state.get(_LOCAL_KEY)
    return _location(value) if value else None


def open_library_workspace(name: str) -> None:
    """Make the library's workspace ``name`` the open one (InputError when there is none)."""
    st.session_state[_PATH_KEY] = str(library().path_of(name))


def open_workspace(path: str | Path) -> None:
    """Make ``path`` the open workspace (read, and any error shown, when a page needs it).
    Only for paths the server chose (the start file, the library's files), never typed ones."""
    st.session_state[_PATH_KEY] = str(_resolve(str(path)))


def close_workspace() -> None:
    """Leave no workspace open (e.g. after the open one was deleted)."""
    st.session_state[_PATH_KEY] = ""


def workspace_path() -> Path | DatabaseURL | None:
    """The path of the open workspace (its URL for a workspace in PostGIS), if any."""
    value = st.session_state.get(_PATH_KEY)
    return _location(value) if value else None


def _mtime(path: Path) -> tuple:
    """The version of the workspace's layers (``geo.workspace.layers_version``): unchanged by
    plan saves, so that a save does not make every cache read or draw again."""
    return layers_version(path)


@st.cache_resource(max_entries=4, show_spinner=False)
def _workspace_parts(path: str, version: tuple) -> tuple[str, dict[str, pd.DataFrame], dict[str, str]]:
    ws = read_workspace(path)
    layers = {k: v for k, v in ws.layers.items() if k not in TABLE_LAYERS}
    return ws.crs.to_wkt(), layers, dict(ws.meta)


@st.cache_data(max_entries=8, show_spinner=False, ttl=3600)
def _plan_tables(path: str, mtime_ns: int) -> dict[str, pd.DataFrame]:
    """The plan tables as saved now (read afresh after every save: the file's mtime moves)."""
    plans = read_plans(path)
    return {"plans": plans, "plan_cells": read_plan_cells(path)} if len(plans) else {}


def _workspace(path: str, version: tuple) -> Workspace:
    """The workspace's layers read once per path and layers version and shared by every
    session, with the plan tables as saved now; each call gets shallow copies of its layers,
    which pandas' copy-on-write keeps apart from the shared ones (a page that changes a column
    changes only its own copy). Sharing instead of ``st.cache_data``'s pickled copies saves
    ~0.2 s a rerun with 10,000 cells."""
    wkt, layers, meta = _workspace_parts(path, version)
    try:
        if is_database_url(path):  # the plan tables' change date moves with every save
            from geo.pgworkspace import plans_version
            plans = _plan_tables(path, plans_version(path))
        else:
            plans = _plan_tables(path, Path(path).stat().st_mtime_ns)
    except OSError:
        plans = {}
    return Workspace(crs=CRS.from_wkt(wkt), layers={**{k: v.copy(deep=False) for k, v in layers.items()},
                                                    **{k: v.copy() for k, v in plans.items()}},
                     meta=dict(meta), path=_location(path))


def layers_key(ws: Workspace) -> tuple:
    """A cache key of the workspace's layers (path and layers version; see ``_mtime``)."""
    if ws.path is None:
        return (ws.name, None)
    return (str(ws.path), _mtime(ws.path))


def current_workspace() -> Workspace | None:
    """The open workspace (None when none is chosen); raises InputError when it cannot be read.

    Reads are cached per path and modification time, and every session gets its own copy.
    """
    path = workspace_path()
    if path is None:
        return None
    return _workspace(str(path), _mtime(path))


def workspace_for_page(needed: Sequence[str] = (), *, missing_key: str = "page.need_layers") -> Workspace | None:
    """The open workspace when it holds every layer in ``needed``; otherwise None, after telling
    the user in words what to open or load (``missing_key`` is formatted with ``layers``)."""
    from ui.i18n import t
    ws = current_workspace()
    if ws is None:
        st.info(t("ov.no_workspace"))
        return None
    missing = [name for name in needed if not ws.has(name)]
    if missing:
        st.info(t(missing_key, layers=", ".join(missing)))
        return None
    return ws


@st.cache_resource(max_entries=4, show_spinner=False)
def _display(path: str, mtime: tuple) -> maps.DisplayLayers:
    return maps.display_layers(_workspace(path, mtime))


def display_layers_of(ws: Workspace) -> maps.DisplayLayers:
    """``maps.display_layers`` of a workspace read from a file, cached by path and mtime.

    Shared by all sessions (``st.cache_resource``: unpickling a copy on every rerun cost ~0.4 s
    with 10,000 cells): treat it as read-only."""
    if ws.path is None:
        return maps.display_layers(ws)
    return _display(str(ws.path), _mtime(ws.path))


@st.cache_resource(max_entries=4, show_spinner=False)
def _context(path: str, mtime: tuple) -> maps.MapContext:
    return maps.map_context(_workspace(path, mtime))


def map_context_of(ws: Workspace) -> maps.MapContext:
    """``maps.map_context`` (roads, area, jurisdictions beneath every map's lines) of a workspace
    read from a file, made once per path and layers version and shared by all sessions
    (read-only); made afresh for a workspace not read from a file."""
    if ws.path is None:
        return maps.map_context(ws)
    return _context(str(ws.path), _mtime(ws.path))


@st.cache_resource(max_entries=4, show_spinner=False)
def road_network(path: str, version: tuple, speed_kmh: float | None = None):
    """The road network (``geo.network.RoadNetwork``: the sparse travel-time graph of every
    node, and the NetworkX graph when first asked for) of the workspace file ``path`` at layers
    version ``version`` (``layers_key``), built once for every page and session: treat it as
    read-only."""
    from geo.network import road_network_from_workspace
    ws = read_workspace(path, layers=["road_nodes", "road_edges"])
    return road_network_from_workspace(ws, speed_kmh=speed_kmh)


def road_network_of(ws: Workspace, *, speed_kmh: float | None = None):
    """``road_network`` of a workspace read from a file (cached); built afresh for one that
    was not."""
    if ws.path is None:
        from geo.network import road_network_from_workspace
        return road_network_from_workspace(ws, speed_kmh=speed_kmh)
    return road_network(str(ws.path), _mtime(ws.path), speed_kmh)


def map_cache_key(ws: Workspace, *options: object, frames: Sequence[pd.DataFrame | None] = ()) -> tuple | None:
    """A ``ui.mapview.show_map`` cache key for a map of ``ws`` drawn with ``options`` (hashable
    values: colour, basemap, language…) from computed ``frames`` (results, routes…): the
    workspace's path and modification time, the options, then ``ui.mapview.frame_digest`` of the
    frames. None (no caching) for a workspace not read from a file or frames that cannot be
    hashed."""
    if ws.path is None:
        return None
    if not frames:
        return (str(ws.path), _mtime(ws.path), *options)
    digest = frame_digest(*frames)
    return None if digest is None else (str(ws.path), _mtime(ws.path), *options, digest)


@st.cache_data(max_entries=4, show_spinner=False)
def _recheck(path: str, mtime: tuple) -> tuple[list[Problem], list[Problem]]:
    return recheck_workspace(_workspace(path, mtime))


def recheck_of(ws: Workspace) -> tuple[list[Problem], list[Problem]]:
    """``report.recheck_workspace`` of a workspace read from a file, cached by path and mtime."""
    if ws.path is None:
        return recheck_workspace(ws)
    return _recheck(str(ws.path), _mtime(ws.path))


@contextmanager
def uploaded_files(files: Mapping[str, bytes]) -> Iterator[dict[str, Path]]:
    """Write uploaded files (name -> content) into a private temporary folder, yield their
    paths by name and delete the folder afterwards, whatever happens. A name may be
    ``slot/file`` (each slot gets its own folder, so two layers may upload files of the same
    name); each part is reduced to a plain file name first (``safe_file_name``)."""
    folder = Path(tempfile.mkdtemp(prefix="gridpatrol-upload-"))
    try:
        paths = {}
        for name, data in files.items():
            slot, _, base = name.rpartition("/")
            target = folder / safe_file_name(slot) / safe_file_name(base) if slot else folder / safe_file_name(base)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            paths[name] = target
        yield paths
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def upload_folder_root() -> Path:
    """Where uploads are unpacked for reading (hidden from messages shown to users)."""
    return Path(tempfile.gettempdir())


def safe_file_name(name: str) -> str:
    """An uploaded file's name without folders or characters that paths and layer specs use."""
    base = Path(str(name).replace("\\", "/")).name
    base = re.sub(r'[:*?"<>|\x00-\x1f]', "_", base).strip(" .")
    return base or "upload"


@dataclass(frozen=True)
class ImportReport:
    """The outcome of the last build in this session, for the Data page."""

    ok: bool
    name: str
    problems: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()
    shown: bool = False


def set_report(report: ImportReport) -> None:
    """Keep the outcome of a build for the Data page (and for one message after a rerun)."""
    st.session_state[_REPORT_KEY] = report


def last_report() -> ImportReport | None:
    """The outcome of the last build in this session, if any."""
    return st.session_state.get(_REPORT_KEY)
