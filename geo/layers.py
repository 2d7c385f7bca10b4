"""Reading user layers: GeoPackage, GeoJSON, (zipped) Shapefile and CSV point tables.

``read_layer`` returns a GeoDataFrame whose ``attrs["source"]`` names where it came from, so
that validation messages can name the file. It does not validate; ``geo.validate`` does.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from pyogrio.errors import DataLayerError, DataSourceError

from geo.crs import parse_crs, to_wgs84_from
from geo.errors import InputError

__all__ = ["LayerSource", "split_layer_spec", "read_layer", "X_NAMES", "Y_NAMES"]

X_NAMES = ("lon", "lng", "long", "longitude", "x", "wgs84_lon", "point_x")
Y_NAMES = ("lat", "latitude", "y", "wgs84_lat", "point_y")
_DATASET_SUFFIXES = (".shp", ".geojson", ".json", ".gpkg")


@dataclass(frozen=True)
class LayerSource:
    """Where one layer comes from and how to read it.

    Attributes
    ----------
    path : file path, optionally ``file.gpkg:layer`` or ``file.zip:member.shp``.
    id_col : the column holding the unit ids (None: the layer's default id column).
    crs : CRS to assume when the file carries none (EPSG code or string).
    x_col, y_col : coordinate columns of a CSV file (detected from common names if None).
    source_crs : ``gcj02`` or ``bd09`` when the lon/lat come from Amap/Baidu exports.
    """

    path: str
    id_col: str | None = None
    crs: str | None = None
    x_col: str | None = None
    y_col: str | None = None
    source_crs: str | None = None


def split_layer_spec(spec: str | Path) -> tuple[Path, str | None]:
    """Split ``file.gpkg:layer`` into the path and the layer name (None when not given)."""
    text = str(spec)
    if not Path(text).exists() and ":" in text:
        head, _, tail = text.rpartition(":")
        if head and "/" not in tail and "\\" not in tail and Path(head).exists():
            return Path(head), tail
    return Path(text), None


def _zip_member(path: Path, member: str | None) -> str:
    try:
        names = zipfile.ZipFile(path).namelist()
    except zipfile.BadZipFile:
        raise InputError(f"{path}: not a readable zip archive; re-create the zip or give the "
                         ".shp/.geojson file itself") from None
    candidates = [n for n in names if n.lower().endswith(_DATASET_SUFFIXES)
                  and not n.startswith("__MACOSX") and "/._" not in n and not n.startswith("._")]
    if member is not None:
        if member not in candidates:
            raise InputError(f"{path}: no dataset {member!r} in the archive; it holds "
                             f"{candidates or 'no .shp/.geojson/.gpkg'}")
        return member
    shapefiles = [n for n in candidates if n.lower().endswith(".shp")]
    if len(shapefiles) == 1:
        return shapefiles[0]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise InputError(f"{path}: the archive holds no .shp, .geojson or .gpkg file; zip the "
                         "layer's .shp with its .shx, .dbf and .prj")
    raise InputError(f"{path}: the archive holds several datasets {candidates}; name one as "
                     f"{path}:<member>")


# A wider table is not a point layer (and would flood messages that list its columns).
MAX_CSV_COLUMNS = 1000


def _columns(columns, limit: int = 30) -> str:
    from geo.errors import format_ids
    return "[" + format_ids([str(c) for c in columns], limit=limit) + "]"


def _read_csv(path: Path, source: LayerSource) -> gpd.GeoDataFrame:
    fix = "save it as comma-separated UTF-8 (or GBK) text with a header line"
    head = path.read_bytes()[:4096]
    if b"\x00" in head:
        raise InputError(f"{path}: a binary file, not a CSV table; {fix}")
    df = None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            df = pd.read_csv(path, encoding=encoding)
            break
        except UnicodeDecodeError:
            continue
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
            detail = " ".join(str(exc).split())[:200]
            raise InputError(f"{path}: not a readable CSV table ({detail}); {fix}") from None
    if df is None:
        raise InputError(f"{path}: not a CSV text file (neither UTF-8 nor GBK text); {fix}")
    if df.shape[1] > MAX_CSV_COLUMNS:
        raise InputError(f"{path}: {df.shape[1]} columns, more than the {MAX_CSV_COLUMNS} a point "
                         "table may have; give a table of points with an x/longitude and a "
                         "y/latitude column (check the separator: comma-separated)")
    lower = {str(c).lower().strip(): c for c in df.columns}

    def pick(given: str | None, names: tuple[str, ...], axis: str) -> str:
        if given is not None:
            if given not in df.columns:
                raise InputError(f"{path}: the {axis} column {given!r} does not exist; columns "
                                 f"are {_columns(df.columns)}")
            return given
        for name in names:
            if name in lower:
                return lower[name]
        raise InputError(f"{path}: no {axis} column found (looked for {list(names)}); name it "
                         f"with --x-col/--y-col; columns are {_columns(df.columns)}")

    xc = pick(source.x_col, X_NAMES, "x/longitude")
    yc = pick(source.y_col, Y_NAMES, "y/latitude")
    x = pd.to_numeric(df[xc], errors="coerce")
    y = pd.to_numeric(df[yc], errors="coerce")
    bad = np.flatnonzero((x.isna() | y.isna()).to_numpy())
    if len(bad):
        rows = ", ".join(str(i + 2) for i in bad[:12])  # +2: header line and 1-based lines
        raise InputError(f"{path}: {len(bad)} rows have no numeric {xc}/{yc} (lines {rows}); "
                         "fill or delete them")
    crs = source.crs
    lonlat = xc.lower() in X_NAMES[:4] + ("wgs84_lon",) and yc.lower() in Y_NAMES[:2] + ("wgs84_lat",)
    if crs is None and lonlat and x.between(-180, 180).all() and y.between(-90, 90).all():
        crs = "EPSG:4326"
    geometry = gpd.points_from_xy(x, y)
    return gpd.GeoDataFrame(df, geometry=geometry, crs=parse_crs(crs) if crs else None)


def read_layer(source: LayerSource | str | Path) -> gpd.GeoDataFrame:
    """Read one layer from a GeoPackage, GeoJSON, (zipped) Shapefile or CSV file.

    The CRS is the file's; ``source.crs`` is used only where the file carries none. When
    ``source.source_crs`` is ``gcj02`` or ``bd09`` the coordinates are converted to WGS84
    (EPSG:4326). Raises InputError naming the file when it cannot be read as a layer.
    """
    if not isinstance(source, LayerSource):
        source = LayerSource(str(source))
    path, layer = split_layer_spec(source.path)
    if not path.exists():
        raise InputError(f"{path}: file not found; check the path")
    if path.is_dir() and path.suffix.lower() != ".gdb":
        raise InputError(f"{path}: is a folder, not a layer file; give a .gpkg, .geojson, "
                         ".shp, .zip or .csv file")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        gdf = _read_csv(path, source)
    else:
        target = str(path)
        if suffix == ".zip":
            target = f"/vsizip/{path.resolve()}/{_zip_member(path, layer)}"
            layer = None
        try:
            if layer is None and suffix == ".gpkg":
                layers = [str(name) for name, gtype in pyogrio.list_layers(target)]
                if len(layers) > 1:
                    raise InputError(f"{path}: the GeoPackage holds several layers {layers}; name "
                                     f"one as {path}:<layer>")
            gdf = pyogrio.read_dataframe(target, layer=layer)
        except InputError:
            raise
        except (DataSourceError, DataLayerError, RuntimeError, ValueError, UnicodeError,
                OSError) as exc:  # whatever GDAL makes of a damaged or foreign file
            detail = " ".join(str(exc).split(";")[0].split())[:200]
            raise InputError(f"{path}{':' + layer if layer else ''}: not a layer GridPatrol can "
                             f"read ({detail}); give a GeoPackage, GeoJSON, zipped Shapefile or "
                             "CSV file") from None
        if not isinstance(gdf, gpd.GeoDataFrame):
            raise InputError(f"{path}: the table has no geometry; give a layer with geometry or "
                             "a CSV with coordinate columns")
        if gdf.crs is None and source.crs is not None:
            gdf = gdf.set_crs(parse_crs(source.crs, what=f"the CRS given for {path}"))
    if source.source_crs and source.source_crs.lower() not in ("wgs84", "epsg:4326"):
        if gdf.crs is None:
            gdf = gdf.set_crs("EPSG:4326")
        gdf = to_wgs84_from(gdf, source.source_crs)
    gdf.attrs["source"] = str(source.path)
    return gdf
