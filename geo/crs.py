"""Coordinate systems: the working CRS, CRS checks, and GCJ-02 / BD-09 conversion to WGS84.

Every CRS rule of GridPatrol lives here. Metric work runs in one projected working CRS
(metres); maps are drawn in EPSG:4326. Chinese web-map exports (Amap/Gaode, Tencent: GCJ-02;
Baidu: BD-09) are offset from WGS84 by a published obfuscation; ``to_wgs84_from`` undoes it.
"""
from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError as _PyprojCRSError

from geo.errors import CRSError

__all__ = [
    "parse_crs", "require_projected", "check_same_crs", "choose_working_crs", "utm_crs_for", "to_crs",
    "wgs84_to_gcj02", "gcj02_to_wgs84", "gcj02_to_bd09", "bd09_to_gcj02", "wgs84_to_bd09",
    "bd09_to_wgs84", "to_wgs84_from", "SOURCE_SYSTEMS", "MAP_CRS",
]

MAP_CRS = "EPSG:4326"
SOURCE_SYSTEMS = ("wgs84", "gcj02", "bd09")


def parse_crs(value: object, *, what: str = "`crs`") -> CRS:
    """Return a pyproj CRS from an EPSG code (``4547``, ``"EPSG:4547"``), WKT or PROJ string.

    Raises CRSError naming ``what`` and the value when pyproj does not know it.
    """
    if isinstance(value, CRS):
        return value
    text = str(value).strip()
    if text.isdigit():
        text = f"EPSG:{text}"
    try:
        return CRS.from_user_input(text)
    except _PyprojCRSError:
        raise CRSError(
            f"{what} was {value!r}, which is not a known coordinate system; give an EPSG code "
            "such as 4326 (lon/lat WGS84), 4490 (CGCS2000) or 4547 (CGCS2000 / 3-degree "
            "Gauss-Kruger CM 114E)") from None


def require_projected(crs: object, *, what: str) -> CRS:
    """Return ``crs`` as a CRS if it is projected in metres, else raise CRSError."""
    crs = parse_crs(crs, what=what)
    if not crs.is_projected:
        raise CRSError(f"{what} is {crs.to_string()}, a geographic CRS in degrees; metric work "
                       "needs a projected CRS in metres such as a UTM zone or a CGCS2000 "
                       "Gauss-Kruger zone")
    unit = crs.axis_info[0].unit_name if crs.axis_info else "metre"
    if unit not in ("metre", "meter"):
        raise CRSError(f"{what} is {crs.to_string()}, whose unit is {unit}; choose a "
                       "projected CRS in metres")
    return crs


def check_same_crs(a: gpd.GeoDataFrame | gpd.GeoSeries, b: gpd.GeoDataFrame | gpd.GeoSeries,
                   *, what: str = "the two layers") -> None:
    """Raise CRSError unless ``a`` and ``b`` carry the same, non-missing CRS."""
    if a.crs is None or b.crs is None:
        raise CRSError(f"{what}: a layer has no CRS; set one before combining layers")
    if not CRS(a.crs).equals(CRS(b.crs)):
        raise CRSError(f"{what} are in different CRSs ({CRS(a.crs).to_string()} vs "
                       f"{CRS(b.crs).to_string()}); reproject one with to_crs first")


def choose_working_crs(area: gpd.GeoDataFrame | gpd.GeoSeries, *,
                       requested: object | None = None) -> CRS:
    """The projected working CRS: ``requested`` if given (must be metric), else the UTM zone
    estimated from the area's centroid."""
    if requested is not None:
        return require_projected(requested, what="the working CRS (`working_crs`)")
    if area.crs is None:
        raise CRSError("the study area has no CRS; give one so that a working CRS can be chosen")
    return utm_crs_for(area)


def utm_crs_for(layer: gpd.GeoDataFrame | gpd.GeoSeries) -> CRS:
    """The WGS84 UTM zone (EPSG:326xx north, 327xx south) of the layer's bounding-box centre.

    Arithmetic on the centre's longitude; no database search (``estimate_utm_crs`` takes
    ~0.15 s). Zones follow the plain 6-degree rule (no Norway/Svalbard exceptions).
    """
    minx, miny, maxx, maxy = layer.to_crs(MAP_CRS).total_bounds
    lon, lat = (minx + maxx) / 2.0, (miny + maxy) / 2.0
    zone = int((lon + 180.0) // 6.0) % 60 + 1
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def to_crs(gdf: gpd.GeoDataFrame, crs: object) -> gpd.GeoDataFrame:
    """Return ``gdf`` in ``crs`` (a new frame; the input is untouched)."""
    if gdf.crs is None:
        raise CRSError("cannot reproject a layer without a CRS; set its CRS first")
    target = parse_crs(crs)
    if CRS(gdf.crs).equals(target):
        return gdf.copy()
    return gdf.to_crs(target)


# --------------------------------------------------------------------------------------------
# GCJ-02 and BD-09. The forward formula is the published one (Krasovsky ellipsoid constants);
# the inverse is solved by fixed-point iteration to better than 1e-9 degrees (about 0.1 mm).

_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0


def _out_of_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = lon - 105.0
    y = lat - 35.0
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
            + common
            + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
            + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0)
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
            + common
            + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
            + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0)
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    out = _out_of_china(lon, lat)
    return np.where(out, 0.0, dlon), np.where(out, 0.0, dlat)


def _arrays(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def wgs84_to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 lon/lat (degrees, arrays or scalars) to GCJ-02 lon/lat. Outside China: unchanged."""
    lon, lat = _arrays(lon, lat)
    dlon, dlat = _delta(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon, lat, *, tol: float = 1e-10, max_iter: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 lon/lat to WGS84, the exact inverse of ``wgs84_to_gcj02`` (iterated to ``tol`` degrees)."""
    glon, glat = _arrays(lon, lat)
    wlon, wlat = glon.copy(), glat.copy()
    for _ in range(max_iter):
        flon, flat = wgs84_to_gcj02(wlon, wlat)
        elon, elat = flon - glon, flat - glat
        wlon, wlat = wlon - elon, wlat - elat
        if np.all(np.abs(elon) < tol) and np.all(np.abs(elat) < tol):
            break
    return wlon, wlat


def gcj02_to_bd09(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 lon/lat to Baidu BD-09 lon/lat."""
    x, y = _arrays(lon, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon, lat, *, tol: float = 1e-10, max_iter: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Baidu BD-09 lon/lat to GCJ-02: the published approximate inverse, refined by iteration
    so that ``gcj02_to_bd09`` of the result gives back the input."""
    blon, blat = _arrays(lon, lat)
    x, y = blon - 0.0065, blat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    glon, glat = z * np.cos(theta), z * np.sin(theta)
    for _ in range(max_iter):
        flon, flat = gcj02_to_bd09(glon, glat)
        elon, elat = flon - blon, flat - blat
        glon, glat = glon - elon, glat - elat
        if np.all(np.abs(elon) < tol) and np.all(np.abs(elat) < tol):
            break
    return glon, glat


def wgs84_to_bd09(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 lon/lat to Baidu BD-09."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Baidu BD-09 lon/lat to WGS84."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def to_wgs84_from(gdf: gpd.GeoDataFrame, system: str) -> gpd.GeoDataFrame:
    """Return ``gdf`` converted from ``system`` (``wgs84``, ``gcj02`` or ``bd09``) to EPSG:4326.

    The layer must be in lon/lat degrees (EPSG:4326 or no CRS, as web-map exports come):
    GCJ-02 and BD-09 are offsets applied to lon/lat, not projections.
    """
    system = system.lower().replace("-", "").replace("_", "")
    if system not in SOURCE_SYSTEMS:
        raise CRSError(f"`source_crs` was {system!r} but is expected to be one of "
                       f"{list(SOURCE_SYSTEMS)}")
    if gdf.crs is not None and not CRS(gdf.crs).equals(CRS(MAP_CRS)):
        raise CRSError(f"a {system.upper()} layer must be in lon/lat degrees, but this one is in "
                       f"{CRS(gdf.crs).to_string()}; export it as lon/lat from the web map")
    out = gdf.copy()
    if system != "wgs84":
        inverse = gcj02_to_wgs84 if system == "gcj02" else bd09_to_wgs84

        def _convert(coords: np.ndarray) -> np.ndarray:
            lon, lat = inverse(coords[:, 0], coords[:, 1])
            return np.column_stack([lon, lat])

        out[out.geometry.name] = shapely.transform(out.geometry.values, _convert)
    return out.set_crs(MAP_CRS, allow_override=True)
