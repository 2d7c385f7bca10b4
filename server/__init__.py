"""Serving GridPatrol to a bureau: the data directory, its accounts and its workspace library.

Layout rule: ``server/`` sits beside ``ui/``: ``app.py``/``cli.py`` -> ``ui/`` -> ``server/`` ->
``planning/`` -> ``geo/``. Nothing in ``server/`` imports streamlit or folium.

The data directory (``--data-dir``, else the environment variable ``GRIDPATROL_DATA``, else
``./gridpatrol-data``) holds everything a bureau makes and nothing else:

- ``workspaces/<name>.gpkg``: the workspace library (``server.library``);
- ``accounts.sqlite``: accounts with salted slow password hashes, sessions and failed logins
  (``server.accounts``).

Backing up the directory backs up everything.
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ENV_DATA", "DEFAULT_DATA_DIR", "data_dir"]

ENV_DATA = "GRIDPATROL_DATA"
DEFAULT_DATA_DIR = "gridpatrol-data"


def data_dir(given: str | Path | None = None, *, environ: dict | None = None) -> Path:
    """The data directory: ``given``, else ``$GRIDPATROL_DATA``, else ``./gridpatrol-data``
    (an absolute path; not created here)."""
    env = os.environ if environ is None else environ
    chosen = given or env.get(ENV_DATA) or DEFAULT_DATA_DIR
    return Path(chosen).expanduser().resolve()
