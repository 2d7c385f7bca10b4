"""Reading user layers: GeoPackage, GeoJSON, (zipped or loose) Shapefile, CSV and Excel tables.

``read_layer`` returns a GeoDataFrame whose ``attrs["source"]`` names where it came from, so
that validation messages can name the file. It does not validate; ``geo.validate`` does. Tables
are read by ``geo.tables``; point layers get the ``time``/``category``/``priority`` columns of
``geo.columns.with_incident_columns``. Recoverable problems (rows left out, an assumed CRS,
unreadable times, renamed columns) are GridPatrolWarnings (``geo.warn.captured_warnings``).
"""
from __future__ import annotations

import re
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
from pyogrio.errors import DataLayerError, DataSourceError

from geo.columns import LAT_NAMES, LON_NAMES, with_incident_columns
from geo.columns import X_NAMES as _X
from geo.columns import Y_NAMES as _Y
from geo.crs import parse_crs, to_wgs84_from
from geo.errors import CRSError, GridPatrolWarning, InputError
from geo.tables import EXCEL_SUFFIXES, TEXT_SUFFIXES, points_from_table, table_from_file, unique_headers

__all__ = ["LayerSource", "split_layer_spec", "read_layer", "X_NAMES", "Y_NAMES", "TABLE_SUFFIXES",
           "SHAPEFILE_PARTS"]

# Header names (compared by ``geo.columns.header_key``) of coordinate columns, lon/lat first.
X_NAMES = LON_NAMES + _X
Y_NAMES = LAT_NAMES + _Y
TABLE_SUFFIXES = TEXT_SUFFIXES + EXCEL_SUFFIXES
# The files of one Shapefile: required, then optional (.prj: the CRS; .cpg: the text encoding).
SHAPEFILE_PARTS = {"required": (".shp", ".shx", ".dbf"), "optional": (".prj", ".cpg")}
_DATASET_SUFFIXES = (".shp", ".geojson", ".json", ".gpkg")


@dataclass(frozen=True)
class LayerSource:
    """Where one layer comes from and how to read it.

    Attributes
    ----------
    path : file path, optionally ``file.gpkg:layer``, ``file.xlsx:sheet`` or ``file.zip:member.shp``.
    id_col : the column holding the unit ids (None: the layer's default id column).
    crs : CRS to assume when the file carries none (EPSG code or string); for tables, the CRS of
        the coordinate columns (default: WGS84 lon/lat when the values are degrees).
    x_col, y_col : coordinate columns of a CSV/Excel table (found from the headers if None:
        ``经度/纬度``, ``东经/北纬``, ``lng/lat``, ``X坐标/Y坐标``…, see ``geo.columns``).
    source_crs : ``gcj02`` or ``bd09`` when the lon/lat come from Amap/Tencent or Baidu maps
        (converted to WGS84 on reading); chosen per file.
    """

    path: str
    id_col: str | None = None
    crs: str | None = None
    x_col: str | None = None
    y_col: str | None = None
    source_crs: str | None = None


def split_layer_spec(spec: str | Path) -> tuple[Path, str | None]:
    """Split ``file.gpkg:layer`` (or ``file.xlsx:sheet``, ``file.zip:member``) into the path and
    the layer name (None when not given). A database workspace
    ``postgresql://...?schema=NAME:layer`` splits into its ``geo.pgurl.DatabaseURL`` and the layer."""
    from geo.pgurl import database_url, is_database_url
    if is_database_url(spec):
        head, _, tail = str(spec).rpartition(":")
        if re.fullmatch(r"[a-z_][a-z0-9_]*", tail) and "?" in head:
            return database_url(head), tail  # type: ignore[return-value]
        return database_url(str(spec)), None  # type: ignore[return-value]
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


def _sibling(path: Path, suffix: str) -> Path | None:
    """The file next to ``path`` with the same stem and ``suffix`` (any case), or None."""
    try:
        for p in path.parent.iterdir():
            if p.stem == path.stem and p.suffix.lower() == suffix:
                return p
    except OSError:
        return None
    return None


def _check_shapefile(path: Path) -> None:
    """Raise InputError listing the required files of a loose Shapefile that are missing."""
    missing = [path.stem + suffix for suffix in SHAPEFILE_PARTS["required"][1:]
               if _sibling(path, suffix) is None]
    if missing:
        raise InputError(f"{path}: the Shapefile is incomplete, {' and '.join(missing)} "
                         f"{'is' if len(missing) == 1 else 'are'} missing next to it; a Shapefile "
                         "is several files (.shp, .shx, .dbf, and .prj for the CRS, .cpg for the "
                         "text encoding): give them together, or a zip of them")


def _dbf_encoding(dbf: bytes | None, has_cpg: bool) -> str | None:
    """The text encoding of a .dbf that declares none (no .cpg, no language driver byte), from
    its bytes: ``utf-8`` or ``gb18030`` (Chinese exports without .cpg are usually GBK); None
    when the file declares one, or its text is plain ASCII."""
    if dbf is None or has_cpg or len(dbf) < 32 or dbf[29] != 0:
        return None
    header = int.from_bytes(dbf[8:10], "little")
    body = dbf[header:]
    if not any(b >= 0x80 for b in body):
        return None
    for encoding in ("utf-8", "gb18030"):
        try:
            body.decode(encoding)
            return encoding
        except UnicodeDecodeError:
            continue
    return None


def _shapefile_encoding(path: Path, member: str | None) -> str | None:
    """``_dbf_encoding`` of a loose Shapefile (``member`` None) or of one inside a zip."""
    if member is None:
        dbf, cpg = _sibling(path, ".dbf"), _sibling(path, ".cpg")
        return _dbf_encoding(dbf.read_bytes() if dbf else None, cpg is not None)
    stem = member[: -len(".shp")]
    with zipfile.ZipFile(path) as z:
        names = {n.lower(): n for n in z.namelist()}
        dbf = names.get(stem.lower() + ".dbf")
        return _dbf_encoding(z.read(dbf) if dbf else None, stem.lower() + ".cpg" in names)


def _safe_columns(gdf: gpd.GeoDataFrame, keep: str | None, where: str) -> gpd.GeoDataFrame:
    """``gdf`` with columns renamed that a GeoPackage cannot store as given: ``fid`` (its row id)
    and names that differ only in case. ``keep`` (the id column asked for) is left as it is."""
    geometry = gdf.geometry.name
    names = [c for c in gdf.columns if c != geometry and c != keep]
    new = unique_headers(names, tidy=False)
    taken = {str(c).lower() for c in (geometry, keep) if c is not None}
    fixed = []
    for old, name in zip(names, new):
        base, k = name, 2
        while name.lower() in taken:
            name, k = f"{base}_{k}", k + 1
        taken.add(name.lower())
        fixed.append(name)
    renamed = {old: name for old, name in zip(names, fixed) if old != name}
    if not renamed:
        return gdf
    warnings.warn(f"{where}: columns renamed so that a workspace can store them: "
                  + ", ".join(f"{old!r} -> {name!r}" for old, name in renamed.items())
                  + " (fid is the GeoPackage row id; column names must differ in more than case)",
                  GridPatrolWarning, stacklevel=3)
    return gdf.rename(columns=renamed)


def _read_table(path: Path, sheet: str | None, source: LayerSource, where: str) -> gpd.GeoDataFrame:
    table = table_from_file(path, sheet=sheet)
    if "sheet" in table.attrs:
        where = f"{path}:{table.attrs['sheet']}"
    try:
        gdf = points_from_table(table, x_col=source.x_col, y_col=source.y_col, crs=source.crs,
                                source=where)
    except InputError as exc:
        sheets = table.attrs.get("sheets", [])
        if sheet is None and len(sheets) > 1:  # the first sheet may be a cover note
            raise InputError(f"{exc}; the workbook has the sheets {sheets}: name the one with the "
                             f"points as {path.name}:<sheet>") from None
        raise
    if gdf.attrs.get("crs_assumed") and not source.source_crs:
        hint = gdf.attrs.get("web_map")
        advice = (f"the headers name a web map: set source_crs to {hint!r} to convert them"
                  if hint else "if they come from Amap/Tencent (GCJ-02) or Baidu (BD-09) maps, "
                  "set source_crs; if they are not lon/lat, give their CRS (`crs`)")
        xc, yc = gdf.attrs["coordinates"]
        warnings.warn(f"{where}: coordinates {xc}/{yc} read as WGS84 longitude/latitude in "
                      f"degrees (EPSG:4326); {advice}", GridPatrolWarning, stacklevel=3)
    return gdf


def read_layer(source: LayerSource | str | Path) -> gpd.GeoDataFrame:
    """Read one layer from a GeoPackage, GeoJSON, (zipped or loose) Shapefile, CSV or Excel file.

    The CRS is the file's; ``source.crs`` is used only where the file carries none. Tables
    (``.csv``, ``.txt``, ``.xlsx``, ``.xls``…; ``file.xlsx:sheet`` picks a sheet) become points
    as ``geo.tables.points_from_table`` says: lon/lat in degrees are taken as EPSG:4326 (with a
    warning), rows that cannot be placed are left out (with a warning naming their row
    numbers). Point layers get ``time`` (naive local timestamps), ``category`` and ``priority``
    columns found from their headers (``geo.columns.with_incident_columns``). A column named
    ``fid`` becomes ``fid_src`` (a GeoPackage keeps its row id there) unless it is
    ``source.id_col``. When ``source.source_crs`` is ``gcj02`` or ``bd09`` the coordinates are
    converted to WGS84 (EPSG:4326). The index is a new RangeIndex.

    Raises InputError naming the file when it cannot be read as a layer; recoverable problems
    are GridPatrolWarnings.
    """
    if not isinstance(source, LayerSource):
        source = LayerSource(str(source))
    path, layer = split_layer_spec(source.path)
    database = not isinstance(path, Path)  # a layer of a workspace in PostGIS
    if not database and not path.exists():
        raise InputError(f"{path}: file not found; check the path")
    if not database and path.is_dir() and path.suffix.lower() != ".gdb":
        raise InputError(f"{path}: is a folder, not a layer file; give a .gpkg, .geojson, "
                         ".shp, .zip, .csv or .xlsx file")
    suffix = "" if database else path.suffix.lower()
    where = str(source.path)
    try:
        if database:
            gdf = _read_database_layer(path, layer)
            is_table = False
        elif suffix in TABLE_SUFFIXES:
            gdf = _read_table(path, layer, source, where)
            is_table = True
            if "sheet" in gdf.attrs:  # messages name the sheet read
                where = f"{path}:{gdf.attrs['sheet']}"
        else:
            gdf = _read_dataset(path, layer, source)
            is_table = False
        gdf = _safe_columns(gdf, source.id_col, where)
        geoms = gdf.geometry[gdf.geometry.notna() & ~gdf.geometry.is_empty]
        if is_table or (len(geoms) and geoms.geom_type.isin(["Point", "MultiPoint"]).all()):
            if not is_table:  # messages name features by number
                gdf.index = pd.RangeIndex(1, len(gdf) + 1)
            gdf = with_incident_columns(gdf, source=where)
        gdf = gdf.reset_index(drop=True)
        if source.source_crs and source.source_crs.lower() not in ("wgs84", "epsg:4326"):
            if gdf.crs is None:
                gdf = gdf.set_crs("EPSG:4326")
            gdf = to_wgs84_from(gdf, source.source_crs)
    except CRSError as exc:
        raise InputError(f"{where}: {exc}") from None
    gdf.attrs["source"] = str(source.path)
    return gdf


def _read_database_layer(url, layer: str | None) -> gpd.GeoDataFrame:
    """The layer ``layer`` of the workspace in PostGIS at ``url`` (a copy)."""
    from geo.workspace import read_workspace
    if layer is None:
        raise InputError(f"{url}: name the layer of the database workspace, e.g. "
                         f"{url}:police_grids")
    frame = read_workspace(url, layers=[layer]).layer(layer)
    if not isinstance(frame, gpd.GeoDataFrame):
        raise InputError(f"{url}:{layer} is a table without geometry; give a layer with geometry")
    return frame.copy()


def _read_dataset(path: Path, layer: str | None, source: LayerSource) -> gpd.GeoDataFrame:
    """A GIS dataset through GDAL (GeoPackage, GeoJSON, Shapefile, zip of one)."""
    suffix = path.suffix.lower()
    target = str(path)
    encoding = None
    if suffix == ".zip":
        member = _zip_member(path, layer)
        target = f"/vsizip/{path.resolve()}/{member}"
        if member.lower().endswith(".shp"):
            encoding = _shapefile_encoding(path, member)
        layer = None
    elif suffix == ".shp":
        _check_shapefile(path)
        encoding = _shapefile_encoding(path, None)
    try:
        if layer is None and suffix == ".gpkg":
            layers = [str(name) for name, gtype in pyogrio.list_layers(target)]
            if len(layers) > 1:
                raise InputError(f"{path}: the GeoPackage holds several layers {layers}; name "
                                 f"one as {path}:<layer>")
        gdf = pyogrio.read_dataframe(target, layer=layer, fid_as_index=True,
                                     **({"encoding": encoding} if encoding else {}))
    except InputError:
        raise
    except (DataSourceError, DataLayerError, RuntimeError, ValueError, UnicodeError,
            OSError) as exc:  # whatever GDAL makes of a damaged or foreign file
        detail = " ".join(str(exc).split(";")[0].split())[:200]
        raise InputError(f"{path}{':' + layer if layer else ''}: not a layer GridPatrol can "
                         f"read ({detail}); give a GeoPackage, GeoJSON, Shapefile (zipped, or "
                         ".shp with its .shx, .dbf and .prj), CSV or Excel file") from None
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputError(f"{path}: the table has no geometry; give a layer with geometry, or a "
                         "CSV/Excel table with coordinate columns (经度/纬度, lng/lat, X坐标/Y坐标)")
    if source.id_col and source.id_col.lower() == "fid" and source.id_col not in gdf.columns:
        gdf[source.id_col] = gdf.index.to_numpy()  # the GeoPackage's own row id, asked for
    gdf = gdf.reset_index(drop=True)
    if encoding:
        warnings.warn(f"{path}: the Shapefile does not say its text encoding (no .cpg file); read "
                      f"as {encoding.upper()}", GridPatrolWarning, stacklevel=3)
    if gdf.crs is None and source.crs is not None:
        gdf = gdf.set_crs(parse_crs(source.crs, what=f"`crs` given for {path}"))
    return gdf
