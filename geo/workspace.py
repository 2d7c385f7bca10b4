"""The workspace: one GeoPackage holding every layer in one projected working CRS, plus metadata.

All reading and writing of workspaces goes through this module. Writes are atomic: the whole
GeoPackage is written to a temporary file beside the target and renamed into place, so an
interrupted save leaves the previous file intact.
"""
from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

import geopandas as gpd
import pandas as pd
import pyogrio
from pyogrio.errors import DataSourceError
from pyproj import CRS

from geo.errors import InputError
from geo.validate import LAYERS

__all__ = ["Workspace", "read_workspace", "write_workspace", "workspace_info", "META_TABLE",
           "LAYER_ORDER", "TABLE_LAYERS"]

META_TABLE = "gridpatrol_meta"
TABLE_LAYERS = ("plans", "plan_cells")
LAYER_ORDER = tuple(LAYERS) + TABLE_LAYERS


@dataclass(frozen=True)
class Workspace:
    """An opened workspace. Immutable: ``with_layers`` returns a new one.

    Attributes
    ----------
    crs : the projected working CRS (metres) of every spatial layer.
    layers : layer name -> GeoDataFrame (spatial) or DataFrame (``plans``, ``plan_cells``).
    meta : string metadata (name, working CRS, sources, created, cell size…).
    path : the file it was read from, if any.
    """

    crs: CRS
    layers: Mapping[str, pd.DataFrame]
    meta: Mapping[str, str] = field(default_factory=dict)
    path: Path | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", MappingProxyType(dict(self.layers)))
        object.__setattr__(self, "meta", MappingProxyType(dict(self.meta)))

    def has(self, name: str) -> bool:
        """True when the workspace holds a non-empty layer ``name``."""
        return name in self.layers and len(self.layers[name]) > 0

    def layer(self, name: str) -> gpd.GeoDataFrame:
        """The layer ``name`` (a copy is not made: treat it as read-only)."""
        if name not in self.layers:
            have = ", ".join(self.layers) or "none"
            where = f" {self.path}" if self.path else ""
            raise InputError(f"workspace{where} has no layer {name!r} (it has: {have}); import "
                             f"one with `gridpatrol import` or the sidebar")
        return self.layers[name]

    def with_layers(self, **layers: pd.DataFrame) -> "Workspace":
        """A new workspace with ``layers`` added or replaced."""
        merged = dict(self.layers)
        merged.update(layers)
        return replace(self, layers=merged)

    def with_meta(self, **meta: str) -> "Workspace":
        """A new workspace with metadata entries added or replaced."""
        merged = dict(self.meta)
        merged.update({k: str(v) for k, v in meta.items()})
        return replace(self, meta=merged)

    @property
    def name(self) -> str:
        return self.meta.get("name", self.path.stem if self.path else "workspace")


def _ordered(names) -> list[str]:
    known = [n for n in LAYER_ORDER if n in names]
    return known + sorted(n for n in names if n not in LAYER_ORDER)


def read_workspace(path: str | Path, *, layers: list[str] | None = None) -> Workspace:
    """Open a workspace GeoPackage written by ``write_workspace`` (or ``gridpatrol import``).

    ``layers`` limits which layers are read (all by default). Raises InputError naming the file
    when it is missing or not a GridPatrol workspace.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: workspace not found; create one with `gridpatrol demo --out "
                         f"{path}` or `gridpatrol import {path} ...`")
    try:
        listed = {str(name): gtype for name, gtype in pyogrio.list_layers(path)}
    except DataSourceError:
        raise InputError(f"{path}: not a GeoPackage; a workspace is a .gpkg file written by "
                         "GridPatrol") from None
    if META_TABLE not in listed:
        raise InputError(f"{path}: a GeoPackage but not a GridPatrol workspace (no "
                         f"{META_TABLE} table); build one with `gridpatrol import`")
    meta_df = pyogrio.read_dataframe(path, layer=META_TABLE, read_geometry=False)
    meta = dict(zip(meta_df["key"].astype(str), meta_df["value"].astype(str)))
    crs = CRS.from_user_input(meta["crs"])
    wanted = [n for n in listed if n != META_TABLE and (layers is None or n in layers)]
    frames: dict[str, pd.DataFrame] = {}
    for name in _ordered(wanted):
        if listed[name] is None:
            frames[name] = pyogrio.read_dataframe(path, layer=name, read_geometry=False)
        else:
            frames[name] = pyogrio.read_dataframe(path, layer=name)
    return Workspace(crs=crs, layers=frames, meta=meta, path=path)


def write_workspace(ws: Workspace, path: str | Path, *, timestamp: str | None = None) -> Path:
    """Write ``ws`` to ``path`` atomically and return the path.

    The GeoPackage is written to a temporary file in the same folder and renamed over ``path``
    only when complete. ``timestamp`` (ISO 8601) fixes the GeoPackage's internal change dates,
    which makes the file byte-for-byte reproducible (used by the demo generator).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp.gpkg", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()
    options = {"OGR_CURRENT_DATE": timestamp} if timestamp else {}
    previous = {k: pyogrio.get_gdal_config_option(k) for k in options}
    try:
        pyogrio.set_gdal_config_options(options)
        meta = {**ws.meta, "crs": ws.crs.to_wkt(), "crs_name": ws.crs.to_string(), "format": "gridpatrol-workspace/1"}
        meta_df = pd.DataFrame({"key": list(meta), "value": [str(v) for v in meta.values()]})
        pyogrio.write_dataframe(meta_df, tmp, layer=META_TABLE, driver="GPKG")
        for name in _ordered(ws.layers):
            frame = ws.layers[name]
            if isinstance(frame, gpd.GeoDataFrame):
                if frame.crs is None or not CRS(frame.crs).equals(ws.crs):
                    raise InputError(f"layer {name!r} is not in the workspace CRS "
                                     f"{ws.crs.to_string()}; reproject it before saving")
                pyogrio.write_dataframe(frame, tmp, layer=name, driver="GPKG", append=False)
            else:
                pyogrio.write_dataframe(pd.DataFrame(frame), tmp, layer=name, driver="GPKG")
        if timestamp:
            _fix_sqlite_dates(tmp, timestamp)
        os.replace(tmp, path)
    finally:
        pyogrio.set_gdal_config_options(previous)
        if tmp.exists():
            tmp.unlink()
    return path


def _fix_sqlite_dates(path: Path, timestamp: str) -> None:
    """Set every last_change date to ``timestamp`` (belt and braces for reproducible files)."""
    con = sqlite3.connect(path)
    try:
        con.execute("UPDATE gpkg_contents SET last_change = ?", (timestamp,))
        con.commit()
        con.execute("VACUUM")
    finally:
        con.close()


def workspace_info(ws: Workspace) -> dict:
    """The summary ``gridpatrol info`` prints: ``crs``, ``area_km2``, ``layers`` {name: count}."""
    area_km2 = None
    if ws.has("area"):
        area_km2 = round(float(ws.layer("area").geometry.area.sum()) / 1e6, 3)
    return {
        "name": ws.name,
        "path": str(ws.path) if ws.path else None,
        "crs": ws.crs.to_string(),
        "area_km2": area_km2,
        "layers": {name: int(len(frame)) for name, frame in ws.layers.items()},
    }
