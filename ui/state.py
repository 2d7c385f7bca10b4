"""Session state: how the app was started, which workspace is open, cached reads of it."""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd
import streamlit as st
from pyproj import CRS

from geo.errors import Problem
from geo.layers import LayerSource, read_layer
from geo.workspace import Workspace, read_workspace
from ui import maps
from ui.mapview import frame_digest
from ui.report import recheck_workspace

__all__ = ["APP_DIR", "DEMO_WORKSPACE", "ENV_WORKSPACE", "ENV_PAGE", "StartOptions",
           "start_options", "init_session", "open_workspace", "workspace_path", "current_workspace",
           "display_layers_of", "map_cache_key", "recheck_of", "session_folder", "layer_columns", "ImportReport",
           "set_report", "last_report"]

APP_DIR = Path(__file__).resolve().parent.parent
DEMO_WORKSPACE = APP_DIR / "data" / "boundaries" / "demo_county.gpkg"
ENV_WORKSPACE = "GRIDPATROL_WORKSPACE"
ENV_PAGE = "GRIDPATROL_PAGE"

_PATH_KEY = "gp_workspace_path"
_FOLDER_KEY = "gp_session_folder"
_REPORT_KEY = "gp_import_report"


@dataclass(frozen=True)
class StartOptions:
    """What the command line (``streamlit run app.py -- --workspace PATH --page data``) or the
    environment (GRIDPATROL_WORKSPACE, GRIDPATROL_PAGE; these win) asked for at start."""

    workspace: Path
    page: str | None = None


def _resolve(path: str) -> Path:
    """A path as given; a relative one that does not exist from here is taken from the app folder."""
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
    args, _ = parser.parse_known_args(list(sys.argv[1:] if argv is None else argv))
    env = os.environ if environ is None else environ
    workspace = env.get(ENV_WORKSPACE) or args.workspace
    page = env.get(ENV_PAGE) or args.page
    return StartOptions(workspace=_resolve(workspace) if workspace else DEMO_WORKSPACE, page=page or None)


def init_session(options: StartOptions) -> None:
    """Open the start workspace once per session (later choices in the sidebar win)."""
    if _PATH_KEY not in st.session_state:
        st.session_state[_PATH_KEY] = str(options.workspace)


def open_workspace(path: str | Path) -> None:
    """Make ``path`` the open workspace (read, and any error shown, when a page needs it)."""
    st.session_state[_PATH_KEY] = str(_resolve(str(path)))


def workspace_path() -> Path | None:
    """The path of the open workspace, if any."""
    value = st.session_state.get(_PATH_KEY)
    return Path(value) if value else None


def _mtime(path: Path) -> float:
    return path.stat().st_mtime if path.exists() else 0.0


@st.cache_resource(max_entries=4, show_spinner=False)
def _workspace_parts(path: str, mtime: float) -> tuple[str, dict[str, pd.DataFrame], dict[str, str]]:
    ws = read_workspace(path)
    return ws.crs.to_wkt(), dict(ws.layers), dict(ws.meta)


def _workspace(path: str, mtime: float) -> Workspace:
    """The workspace read once per path and modification time and shared by every session; each
    call gets shallow copies of its layers, which pandas' copy-on-write keeps apart from the
    shared ones (a page that changes a column changes only its own copy). Sharing instead of
    ``st.cache_data``'s pickled copies saves ~0.2 s a rerun with 10,000 cells."""
    wkt, layers, meta = _workspace_parts(path, mtime)
    return Workspace(crs=CRS.from_wkt(wkt), layers={k: v.copy(deep=False) for k, v in layers.items()},
                     meta=dict(meta), path=Path(path))


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
def _display(path: str, mtime: float) -> maps.DisplayLayers:
    return maps.display_layers(_workspace(path, mtime))


def display_layers_of(ws: Workspace) -> maps.DisplayLayers:
    """``maps.display_layers`` of a workspace read from a file, cached by path and mtime.

    Shared by all sessions (``st.cache_resource``: unpickling a copy on every rerun cost ~0.4 s
    with 10,000 cells): treat it as read-only."""
    if ws.path is None:
        return maps.display_layers(ws)
    return _display(str(ws.path), _mtime(ws.path))


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
def _recheck(path: str, mtime: float) -> tuple[list[Problem], list[Problem]]:
    return recheck_workspace(_workspace(path, mtime))


def recheck_of(ws: Workspace) -> tuple[list[Problem], list[Problem]]:
    """``report.recheck_workspace`` of a workspace read from a file, cached by path and mtime."""
    if ws.path is None:
        return recheck_workspace(ws)
    return _recheck(str(ws.path), _mtime(ws.path))


def session_folder() -> Path:
    """This session's temporary folder (uploads and built workspaces)."""
    folder = st.session_state.get(_FOLDER_KEY)
    if not folder or not Path(folder).is_dir():
        folder = tempfile.mkdtemp(prefix="gridpatrol-")
        st.session_state[_FOLDER_KEY] = folder
    return Path(folder)


@st.cache_data(max_entries=64, show_spinner=False)
def layer_columns(path: str, size: int) -> list[str]:
    """The attribute columns of an uploaded layer file (read with ``geo.layers.read_layer``)."""
    gdf = read_layer(LayerSource(path))
    return [str(c) for c in gdf.columns if c != gdf.geometry.name]


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
