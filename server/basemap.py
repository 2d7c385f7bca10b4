"""The basemap setting of a data directory: no tiles (a drawn background), an intranet tile
service (XYZ or WMTS, e.g. 天地图 or a PGIS copy; GCJ-02 tiles flagged), or local tiles (an
MBTiles file or a z/x/y folder in ``<data_dir>/tiles``) that ``gridpatrol serve`` serves itself.

One setting for the whole app, stored as ``{"basemap": {...}}`` in ``<data_dir>/settings.json``
(written atomically; only an admin may change it, checked here on the server). No field takes a
server path: local tile sets are chosen by name among those ``tilesets`` lists, and a name that
is not a direct entry of ``tiles/`` is refused.

How local tiles are served: Streamlit serves the folder ``static/`` beside the script it runs at
``/app/static/`` (``server.enableStaticServing``). ``gridpatrol serve`` runs the app through a
small launcher ``<data_dir>/.serve/app.py`` whose ``static`` is a link to ``<data_dir>/tiles``
(``prepare_launcher``); tile folders are served as they are, and an MBTiles file is unpacked once
into ``tiles/.extracted/<file name>/z/x/y.<ext>`` (``extract_mbtiles``; again only when the file
changes). Whatever lies in ``tiles/`` can be fetched without signing in: put only tiles there.

Nothing here imports folium: ``ui.basemap`` draws the setting on a map.
"""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sqlite3
import unicodedata
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from geo.atomic import write_text_atomic
from geo.errors import InputError
from server.accounts import Account, require

__all__ = ["KINDS", "SETTINGS_FILE", "TILES_DIR", "EXTRACTED_DIR", "LAUNCHER_DIR", "TILE_FORMATS",
           "Basemap", "TileSet", "TileSource", "leaflet_url", "basemap_from_url", "tileset_name",
           "tilesets", "tileset", "mbtiles_info", "extract_mbtiles", "served_path", "read_basemap",
           "save_basemap", "tile_source", "prepare_launcher", "launcher_serves_tiles"]

log = logging.getLogger(__name__)

KINDS = ("none", "url", "tiles")
SETTINGS_FILE = "settings.json"
TILES_DIR = "tiles"
EXTRACTED_DIR = ".extracted"
LAUNCHER_DIR = ".serve"
TILE_FORMATS = ("png", "jpg", "jpeg", "webp")
MAX_URL = 2000
MAX_ZOOM = 22
_STAMP = ".source.json"
_XYZ_FIELDS = {"s", "z", "x", "y", "-y", "r"}
_FIELD = re.compile(r"\{([^{}]*)\}")
_BAD_URL_CHARS = re.compile(r"[\s\"'<>\\`^|\x00-\x1f\x7f]")
_BAD_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')
# WMTS tile matrix sets in degrees (EPSG:4326/4490, 天地图 "c"): Leaflet's Web Mercator map cannot use them.
_GEOGRAPHIC_SETS = re.compile(r"^(c|.*\b(4326|4490|4610|4214|crs84|wgs84|cgcs2000)\b.*)$", re.IGNORECASE)
_GEOGRAPHIC_SEGMENT = re.compile(r"^((EPSG:?)?(4326|4490)|CRS84|c)$", re.IGNORECASE)
_MAGIC = ((b"\x89PNG", "png"), (b"\xff\xd8\xff", "jpg"), (b"RIFF", "webp"))


# --- the setting ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Basemap:
    """The basemap of every map of the app.

    Attributes
    ----------
    kind : ``"none"`` (no tiles: the drawn background), ``"url"`` (a tile service) or
        ``"tiles"`` (a local tile set of ``<data_dir>/tiles``).
    url : the Leaflet URL template (``{z}``, ``{x}``, ``{y}``, optionally ``{s}``), made from
        ``source`` by ``leaflet_url`` (kind ``url``).
    source : the XYZ or WMTS URL as the admin gave it (kind ``url``; shown back in the form).
    attribution : the tiles' attribution, plain text (escaped where it reaches HTML).
    subdomains : the letters or digits ``{s}`` stands for (``"01234567"`` for 天地图's t0-t7).
    max_zoom : the deepest zoom level the service has tiles for (deeper zooms enlarge them).
    tileset : the tile set's name in ``tiles/`` (kind ``tiles``).
    gcj02 : the tiles are in GCJ-02 (Amap/Gaode, Tencent and copies of them): the maps shift
        their WGS84 layers onto them.
    background : draw the workspace's roads, water and boundaries beneath the layers (with no
        tiles: the map's only context; with tiles: shown where tiles fail to load).
    changed_by, changed : who saved the setting and when (UTC, ISO 8601).
    """

    kind: str = "none"
    url: str = ""
    source: str = ""
    attribution: str = ""
    subdomains: str = ""
    max_zoom: int = 18
    tileset: str = ""
    gcj02: bool = False
    background: bool = True
    changed_by: str = ""
    changed: str = ""

    def __post_init__(self) -> None:
        for name in ("kind", "url", "source", "attribution", "subdomains", "tileset", "changed_by", "changed"):
            object.__setattr__(self, name, "" if getattr(self, name) is None else str(getattr(self, name)))
        for name in ("gcj02", "background"):
            value = getattr(self, name)
            if not isinstance(value, bool):
                raise InputError(f"`{name}` was {value!r}; give true or false")
        try:
            object.__setattr__(self, "max_zoom", int(self.max_zoom))
        except (TypeError, ValueError):
            raise InputError(f"`max_zoom` was {self.max_zoom!r}; give a zoom level from 0 to {MAX_ZOOM}") from None
        if self.kind not in KINDS:
            raise InputError(f"`kind` was {self.kind!r} but is expected to be one of {', '.join(KINDS)}")
        if not 0 <= int(self.max_zoom) <= MAX_ZOOM:
            raise InputError(f"`max_zoom` was {self.max_zoom!r}; give a zoom level from 0 to {MAX_ZOOM}")
        if self.subdomains and not re.fullmatch(r"[A-Za-z0-9]{1,16}", self.subdomains):
            raise InputError(f"`subdomains` was {self.subdomains!r}; give the letters or digits "
                             "that {s} stands for, e.g. abc or 01234567")
        if len(self.attribution) > 300:
            raise InputError(f"`attribution` has {len(self.attribution)} characters; use at most 300")
        if self.kind == "url":
            if not self.url:
                raise InputError("`url` was empty; give the tile service's XYZ or WMTS URL")
            _check_leaflet_template(self.url)
        if self.kind == "tiles":
            tileset_name(self.tileset)


def _check_url_text(url: str, *, what: str) -> tuple:
    if not isinstance(url, str) or not url.strip():
        raise InputError(f"{what} was empty; give the tile service's URL, e.g. "
                         "http://tiles.intranet/osm/{z}/{x}/{y}.png")
    url = url.strip()
    if len(url) > MAX_URL:
        raise InputError(f"{what} has {len(url)} characters; use at most {MAX_URL}")
    bad = _BAD_URL_CHARS.search(url)
    if bad:
        raise InputError(f"{what} contains {bad.group()!r} (spaces, quotes, < > \\ and control characters "
                         "are not allowed in a URL); copy the URL again or percent-encode it")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InputError(f"{what} was {url!r}; a tile URL starts with http:// or https:// and names a server")
    if parts.username is not None or parts.password is not None:
        raise InputError(f"{what} carries a user name or password (user:password@host); browsers refuse "
                         "those for map tiles: use a key parameter the service gives (e.g. tk=...)")
    return parts


def _check_leaflet_template(url: str) -> None:
    _check_url_text(url, what="`url`")
    fields = set(_FIELD.findall(url))
    unknown = sorted(fields - _XYZ_FIELDS)
    if unknown:
        raise InputError(f"`url` holds the placeholders {', '.join('{' + f + '}' for f in unknown)}, which "
                         "a tile URL cannot fill; write their values into the URL (layer, style, "
                         "tile matrix set) or use {z} {x} {y}")
    if not {"z", "x"} <= fields or not fields & {"y", "-y"}:
        raise InputError(f"`url` was {url!r}; an XYZ tile URL holds {{z}}, {{x}} and {{y}} "
                         "(a WMTS URL {TileMatrix}, {TileRow} and {TileCol})")


def _zoom_value(value: str) -> str:
    """A WMTS TILEMATRIX value as a template: ``12`` or ``{TileMatrix}`` -> ``{z}``,
    ``EPSG:900913:12`` -> ``EPSG:900913:{z}`` (GeoServer names its matrices by set and zoom)."""
    m = re.fullmatch(r"(.*?)(\{[^{}]*\}|\d+)", value)
    return (m.group(1) if m else "") + "{z}"


def _fill_rest(path: str) -> str:
    """A WMTS RESTful template with {TileMatrix}/{TileRow}/{TileCol} as {z}/{y}/{x}."""
    out = re.sub(r"\{\s*tilematrix\s*\}", "{z}", path, flags=re.IGNORECASE)
    out = re.sub(r"\{\s*tilerow\s*\}", "{y}", out, flags=re.IGNORECASE)
    return re.sub(r"\{\s*tilecol\s*\}", "{x}", out, flags=re.IGNORECASE)


def leaflet_url(source: str) -> str:
    """The Leaflet URL template of a tile service URL, validated.

    Accepts

    * an XYZ template: ``http://host/tiles/{z}/{x}/{y}.png`` (``{s}`` for subdomains, ``{-y}``
      for TMS rows);
    * a WMTS RESTful template: ``.../{TileMatrix}/{TileRow}/{TileCol}.png`` (any case);
    * a WMTS KVP GetTile URL (天地图, PGIS, GeoServer): ``...?SERVICE=WMTS&REQUEST=GetTile&LAYER=vec&
      STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={TileMatrix}&TILEROW={TileRow}&
      TILECOL={TileCol}&tk=KEY``; the three tile parameters may also hold numbers (a GetTile
      URL copied from a browser): they are replaced. SERVICE, REQUEST and VERSION are added when
      missing; LAYER and TILEMATRIXSET must be given.

    Raises InputError for anything else: not http(s), a user name or password in the URL,
    characters that do not belong in a URL, placeholders Leaflet cannot fill, or a tile matrix set
    in degrees (EPSG:4326/4490, 天地图's ``c``): the app's maps are Web Mercator, so a WMTS must
    offer its Web Mercator set (EPSG:3857, GoogleMapsCompatible, 天地图's ``w``).
    """
    parts = _check_url_text(source, what="`url`")
    source = source.strip()
    params = parse_qsl(parts.query, keep_blank_values=True)
    keys = {k.lower(): k for k, _ in params}
    is_kvp = ("tilematrix" in keys or "tilerow" in keys or "tilecol" in keys
              or any(k.lower() == "service" and v.lower() == "wmts" for k, v in params))
    if is_kvp:
        missing = [k.upper() for k in ("layer", "tilematrixset") if not dict(
            (k2.lower(), v) for k2, v in params).get(k)]
        if missing:
            raise InputError(f"`url` is a WMTS GetTile URL without {', '.join(missing)}; copy the full "
                             "GetTile URL from the service's capabilities (or a browser's network log)")
        values = {k.lower(): v for k, v in params}
        if _GEOGRAPHIC_SETS.match(values["tilematrixset"].strip()):
            raise InputError(f"`url` asks for the tile matrix set {values['tilematrixset']!r}, which is in "
                             "degrees; the maps are Web Mercator: use the service's Web Mercator set "
                             "(天地图: vec_w/img_w with TILEMATRIXSET=w; otherwise EPSG:3857 or "
                             "GoogleMapsCompatible)")
        filled = {"tilematrix": _zoom_value(values.get("tilematrix", "")), "tilerow": "{y}", "tilecol": "{x}"}
        out = []
        for k, v in params:
            value = filled.get(k.lower(), v)
            out.append(f"{quote(k, safe='')}={quote(value, safe=':/,{}-_.~')}")
        for k, v in (("SERVICE", "WMTS"), ("REQUEST", "GetTile"), ("VERSION", "1.0.0"),
                     ("TILEMATRIX", "{z}"), ("TILEROW", "{y}"), ("TILECOL", "{x}")):
            if k.lower() not in keys:
                out.append(f"{k}={v}")
        url = urlunsplit((parts.scheme, parts.netloc, _fill_rest(parts.path), "&".join(out), ""))
    else:
        url = _fill_rest(source)
        restful = url != source
        for segment in parts.path.split("/"):
            if restful and _GEOGRAPHIC_SEGMENT.match(segment):
                raise InputError(f"`url` names the tile matrix set {segment!r}, which is in degrees; the "
                                 "maps are Web Mercator: use the service's EPSG:3857 / "
                                 "GoogleMapsCompatible set")
    _check_leaflet_template(url)
    return url


def basemap_from_url(source: str, *, attribution: str = "", subdomains: str = "", max_zoom: int = 18,
                     gcj02: bool = False, background: bool = True) -> Basemap:
    """A ``Basemap`` of kind ``url`` from an XYZ or WMTS URL (``leaflet_url``); a URL with
    ``{s}`` and no ``subdomains`` gets Leaflet's ``abc``."""
    url = leaflet_url(source)
    if "{s}" in url and not subdomains:
        subdomains = "abc"
    return Basemap(kind="url", url=url, source=source.strip(), attribution=str(attribution or "").strip(),
                   subdomains=subdomains, max_zoom=int(max_zoom), gcj02=bool(gcj02), background=bool(background))


# --- local tile sets ---------------------------------------------------------------------------

@dataclass(frozen=True)
class TileSet:
    """One tile set of ``<data_dir>/tiles``.

    Attributes
    ----------
    name : the entry's name in ``tiles/`` (``city.mbtiles`` or ``city``).
    kind : ``"mbtiles"`` or ``"folder"`` (``z/x/y.<ext>`` files).
    path : the file or folder.
    format : the tiles' image format (``png``, ``jpg``, ``jpeg``, ``webp``).
    min_zoom, max_zoom : the zoom levels present.
    tms : rows counted from the south (a folder with gdal2tiles' ``tilemapresource.xml``, or a
        ``metadata.json`` saying ``"scheme": "tms"``); MBTiles are unpacked as XYZ.
    bounds : (west, south, east, north) in degrees, when the tile set says so.
    attribution : the tile set's attribution, when it says so.
    """

    name: str
    kind: str
    path: Path
    format: str
    min_zoom: int
    max_zoom: int
    tms: bool = False
    bounds: tuple[float, float, float, float] | None = None
    attribution: str = ""


def tileset_name(text: str) -> str:
    """``text`` as the name of an entry of ``tiles/``, or InputError: no folders, no leading dot,
    none of ``\\ / : * ? " < > |``, at most 120 characters (a name never reaches another file)."""
    name = unicodedata.normalize("NFC", str(text or "")).strip()
    if not name:
        raise InputError("`tileset` was empty; choose a tile set of the data directory's tiles folder")
    if len(name) > 120 or name.startswith(".") or _BAD_NAME.search(name):
        raise InputError(f"`tileset` was {name!r}; a tile set is chosen by its name in the tiles folder "
                         "(no folders, no leading dot, none of \\ / : * ? \" < > |)")
    return name


def _tiles_dir(data_dir: str | Path) -> Path:
    return Path(data_dir).resolve() / TILES_DIR


def _bounds(text: object) -> tuple[float, float, float, float] | None:
    try:
        w, s, e, n = (float(v) for v in str(text).split(","))
    except (TypeError, ValueError):
        return None
    if -180 <= w < e <= 180 and -90 <= s < n <= 90:
        return (w, s, e, n)
    return None


def _sniff(data: bytes | None) -> str | None:
    for magic, fmt in _MAGIC:
        if data and data.startswith(magic):
            return fmt
    return None


def mbtiles_info(path: str | Path) -> TileSet:
    """The tile set of an MBTiles file (its ``metadata`` and ``tiles`` tables), read-only.

    Raises InputError when the file is not an SQLite MBTiles, holds vector tiles (``pbf``: they
    need a style renderer; export raster tiles) or no tiles at all."""
    path = Path(path)
    try:
        con = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise InputError(f"{path.name} cannot be opened as an MBTiles file ({exc})") from None
    try:
        meta = dict(con.execute("SELECT name, value FROM metadata").fetchall())
        zooms = con.execute("SELECT min(zoom_level), max(zoom_level) FROM tiles").fetchone()
        first = con.execute("SELECT tile_data FROM tiles LIMIT 1").fetchone()
    except sqlite3.Error as exc:
        raise InputError(f"{path.name} is not an MBTiles file (no metadata and tiles tables: {exc}); "
                         "export the tiles as MBTiles or as a z/x/y folder") from None
    finally:
        con.close()
    fmt = str(meta.get("format") or "").strip().lower() or (_sniff(first[0]) if first else None) or ""
    if fmt in ("pbf", "mvt"):
        raise InputError(f"{path.name} holds vector tiles (pbf), which need a style renderer; export raster "
                         "tiles (png or jpg) of the map instead")
    if fmt not in TILE_FORMATS:
        raise InputError(f"{path.name} has tiles of format {fmt or 'unknown'!r}; the maps show "
                         f"{', '.join(TILE_FORMATS)}")
    if zooms is None or zooms[0] is None:
        raise InputError(f"{path.name} holds no tiles")
    return TileSet(name=path.name, kind="mbtiles", path=path, format=fmt, min_zoom=int(zooms[0]),
                   max_zoom=int(zooms[1]), tms=False, bounds=_bounds(meta.get("bounds")),
                   attribution=str(meta.get("attribution") or ""))


def _folder_info(path: Path) -> TileSet | None:
    """A z/x/y tile folder's tile set (None when ``path`` holds no tiles)."""
    zooms = sorted(int(p.name) for p in path.iterdir() if p.is_dir() and p.name.isdigit() and int(p.name) <= 30)
    fmt = None
    for z in zooms:
        for col in (p for p in (path / str(z)).iterdir() if p.is_dir() and p.name.isdigit()):
            tile = next((f for f in col.iterdir() if f.suffix[1:].lower() in TILE_FORMATS and f.stem.isdigit()), None)
            if tile is not None:
                fmt = tile.suffix[1:].lower()
                break
        if fmt:
            break
    if not fmt:
        return None
    meta: dict = {}
    if (path / "metadata.json").is_file():
        try:
            meta = json.loads((path / "metadata.json").read_text("utf-8"))
            meta = meta if isinstance(meta, dict) else {}
        except (OSError, ValueError):
            meta = {}
    tms = (path / "tilemapresource.xml").is_file() or str(meta.get("scheme", "")).lower() == "tms"
    return TileSet(name=path.name, kind="folder", path=path, format=fmt, min_zoom=zooms[0], max_zoom=zooms[-1],
                   tms=tms, bounds=_bounds(meta.get("bounds")), attribution=str(meta.get("attribution") or ""))


def tilesets(data_dir: str | Path) -> list[TileSet]:
    """The tile sets of ``<data_dir>/tiles``, by name: ``*.mbtiles`` files and folders of
    ``z/x/y.<png|jpg|jpeg|webp>`` tiles. Entries that are neither, hidden entries and entries
    that cannot be read are left out (logged)."""
    folder = _tiles_dir(data_dir)
    if not folder.is_dir():
        return []
    out = []
    root = folder.resolve()
    for entry in sorted(folder.iterdir(), key=lambda p: p.name.lower()):
        if entry.name.startswith(".") or _BAD_NAME.search(entry.name):
            continue
        try:
            if entry.resolve().parent != root:
                log.warning("tile set %s left out: it links outside the tiles folder (not served)", entry.name)
                continue
            if entry.is_file() and entry.suffix.lower() == ".mbtiles":
                out.append(mbtiles_info(entry))
            elif entry.is_dir():
                found = _folder_info(entry)
                if found is not None:
                    out.append(found)
        except (InputError, OSError) as exc:
            log.warning("tile set %s left out: %s", entry.name, exc)
    return out


def tileset(data_dir: str | Path, name: str) -> TileSet:
    """The tile set ``name`` of ``<data_dir>/tiles``; InputError naming those there are when
    there is none of that name (a name with folders or dots is refused before any file is
    looked at, and an entry that links outside the tiles folder is refused)."""
    name = tileset_name(name)
    for found in tilesets(data_dir):
        if found.name == name:
            return found
    have = ", ".join(t.name for t in tilesets(data_dir)) or "none"
    raise InputError(f"the tiles folder of the data directory has no tile set {name!r}; it has: {have}. "
                     "Put an .mbtiles file or a z/x/y folder into it")


def _stamp_of(path: Path) -> dict:
    st = path.stat()
    return {"file": path.name, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _extracted_dir(data_dir: str | Path, name: str) -> Path:
    return _tiles_dir(data_dir) / EXTRACTED_DIR / tileset_name(name)


def extract_mbtiles(data_dir: str | Path, name: str) -> Path:
    """Unpack the MBTiles tile set ``name`` of ``<data_dir>/tiles`` into
    ``tiles/.extracted/<name>/z/x/y.<ext>`` (XYZ rows: MBTiles count rows from the south), unless
    an unpacked copy of the same file (size and modification time) is there already. Returns
    the folder. The copy is written beside and renamed into place, so a reader never sees half of
    it; rows with zoom, column or row out of range are skipped (logged)."""
    ts = tileset(data_dir, name)
    if ts.kind != "mbtiles":
        raise InputError(f"`tileset` {name!r} is a folder of tiles, served as it is; only MBTiles are unpacked")
    target = _extracted_dir(data_dir, ts.name)
    stamp = _stamp_of(ts.path)
    try:
        if json.loads((target / _STAMP).read_text("utf-8")) == stamp:
            return target
    except (OSError, ValueError):
        pass
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{ts.name}.{os.getpid()}-{os.urandom(4).hex()}.tmp"
    skipped = 0
    try:
        con = sqlite3.connect(f"file:{quote(str(ts.path.resolve()))}?mode=ro", uri=True)
        try:
            made: set[tuple[int, int]] = set()
            for z, col, row, data in con.execute("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles"):
                if not (isinstance(z, int) and isinstance(col, int) and isinstance(row, int)
                        and 0 <= z <= 30 and 0 <= col < 2 ** z and 0 <= row < 2 ** z and data):
                    skipped += 1
                    continue
                y = (2 ** z - 1) - row
                if (z, col) not in made:
                    (tmp / str(z) / str(col)).mkdir(parents=True, exist_ok=True)
                    made.add((z, col))
                (tmp / str(z) / str(col) / f"{y}.{ts.format}").write_bytes(bytes(data))
        finally:
            con.close()
        tmp.mkdir(parents=True, exist_ok=True)
        (tmp / _STAMP).write_text(json.dumps(stamp), "utf-8")
        old = None
        if target.exists():
            old = target.parent / f".{ts.name}.{os.getpid()}-{os.urandom(4).hex()}.old"
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except sqlite3.Error as exc:
        raise InputError(f"{ts.name} could not be read ({exc}); export the MBTiles again") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    if skipped:
        log.warning("%s: %d tiles with zoom, column or row out of range were skipped", ts.name, skipped)
    return target


def served_path(data_dir: str | Path, name: str) -> tuple[str, TileSet]:
    """The URL path of the tile set ``name`` below ``/app/static/`` (percent-encoded, ending in
    ``{z}/{x}/{y}.<ext>``) and the tile set; an MBTiles is unpacked first (``extract_mbtiles``)."""
    ts = tileset(data_dir, name)
    if ts.kind == "mbtiles":
        extract_mbtiles(data_dir, ts.name)
        folder = f"{EXTRACTED_DIR}/{quote(ts.name, safe='')}"
    else:
        folder = quote(ts.name, safe="")
    return f"{folder}/{{z}}/{{x}}/{{y}}.{ts.format}", ts


# --- reading and saving the setting ---------------------------------------------------------------

def _settings_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / SETTINGS_FILE


def _read_settings(data_dir: str | Path) -> dict:
    path = _settings_path(data_dir)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise InputError(f"{SETTINGS_FILE} of the data directory cannot be read ({exc.strerror})") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InputError(f"{SETTINGS_FILE} of the data directory is not valid JSON ({exc}); save the "
                         "basemap again in the app, or remove the file") from None
    if not isinstance(data, dict):
        raise InputError(f"{SETTINGS_FILE} of the data directory should hold a JSON object")
    return data


def read_basemap(data_dir: str | Path) -> Basemap:
    """The basemap setting of ``data_dir`` (``Basemap()``, no tiles and the drawn background,
    when none was saved). Raises InputError when the stored setting cannot be used (the file was
    edited by hand): the message says what is wrong."""
    stored = _read_settings(data_dir).get("basemap")
    if stored is None:
        return Basemap()
    if not isinstance(stored, dict):
        raise InputError(f"{SETTINGS_FILE}: `basemap` should be a JSON object")
    known = {f for f in Basemap.__dataclass_fields__}
    try:
        return Basemap(**{k: v for k, v in stored.items() if k in known})
    except TypeError as exc:
        raise InputError(f"{SETTINGS_FILE}: `basemap` cannot be read ({exc})") from None


def save_basemap(data_dir: str | Path, basemap: Basemap, *, account: Account | None) -> Basemap:
    """Store ``basemap`` as the setting of ``data_dir`` (admin only; PermissionDenied otherwise)
    and return it stamped with the account and time. A local tile set must exist in ``tiles/``
    (an MBTiles is unpacked now, so the first map does not wait). Other settings in the file are
    kept; the file is replaced atomically."""
    require(account, "admin", action="change the basemap")
    if basemap.kind == "tiles":
        ts = tileset(data_dir, basemap.tileset)
        if ts.kind == "mbtiles":
            extract_mbtiles(data_dir, ts.name)
    stamped = replace(basemap, changed_by=account.name,
                      changed=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    try:
        settings = _read_settings(data_dir)
    except InputError:
        settings = {}  # a broken file is replaced by a good one
    settings["basemap"] = asdict(stamped)
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    write_text_atomic(_settings_path(data_dir), json.dumps(settings, ensure_ascii=False, indent=2) + "\n")
    log.info("%s set the basemap to %s", account.name, stamped.kind)
    return stamped


# --- what a map draws ----------------------------------------------------------------------------

@dataclass(frozen=True)
class TileSource:
    """The tiles a map draws (what ``ui.basemap`` turns into a Leaflet tile layer).

    ``url`` is a Leaflet template (absolute, or a path on this server for local tiles);
    ``attribution`` plain text; ``max_native_zoom`` the deepest zoom with tiles; ``bounds``
    (west, south, east, north) where tiles exist, if known."""

    url: str
    attribution: str
    gcj02: bool = False
    tms: bool = False
    subdomains: str = ""
    min_zoom: int = 0
    max_native_zoom: int = 18
    bounds: tuple[float, float, float, float] | None = field(default=None)


def tile_source(basemap: Basemap, *, data_dir: str | Path, served: bool,
                base_path: str = "") -> tuple[TileSource | None, str | None]:
    """The tiles to draw for ``basemap``, and why none are drawn when a setting asked for some.

    Parameters
    ----------
    basemap : the setting.
    data_dir : the data directory (local tile sets live in its ``tiles/``).
    served : True when this app serves ``<data_dir>/tiles`` at ``/app/static/`` (started by
        ``gridpatrol serve``; ``launcher_serves_tiles``).
    base_path : Streamlit's ``server.baseUrlPath`` (the app behind a path on a proxy).

    Returns
    -------
    (source, None) when tiles are drawn; (None, None) for kind ``none``; (None, reason) when a
    local tile set cannot be drawn (not served, or gone): the maps then draw the background.
    """
    if basemap.kind == "url":
        return TileSource(url=basemap.url, attribution=basemap.attribution or urlsplit(basemap.url).hostname or "",
                          gcj02=basemap.gcj02, subdomains=basemap.subdomains,
                          max_native_zoom=basemap.max_zoom), None
    if basemap.kind != "tiles":
        return None, None
    if not served:
        return None, "not_served"
    try:
        path, ts = served_path(data_dir, basemap.tileset)
    except InputError as exc:
        log.warning("basemap tile set unavailable: %s", exc)
        return None, "missing"
    prefix = "/" + "/".join(p for p in str(base_path or "").strip("/").split("/") if p)
    url = f"{prefix.rstrip('/')}/app/static/{path}"
    return TileSource(url=url, attribution=basemap.attribution or ts.attribution or ts.name, gcj02=basemap.gcj02,
                      tms=ts.tms, min_zoom=ts.min_zoom, max_native_zoom=ts.max_zoom,
                      bounds=None if basemap.gcj02 else ts.bounds), None


# --- serving local tiles -------------------------------------------------------------------------

_LAUNCHER = '''"""Written by `gridpatrol serve` (rewritten at every start; do not edit).

Runs GridPatrol's app from here, so that Streamlit serves this folder's static/ (a link to the
data directory's tiles/) at /app/static/ for the maps' local tiles.
"""
import runpy
import sys

if {root!r} not in sys.path:
    sys.path.insert(0, {root!r})
runpy.run_path({app!r}, run_name="__main__")
'''


def prepare_launcher(data_dir: str | Path, app_script: str | Path) -> Path:
    """Write ``<data_dir>/.serve/app.py`` (runs ``app_script``) with ``static`` beside it linking to
    ``<data_dir>/tiles`` (created when missing), unpack the MBTiles of the saved setting, and
    return the launcher's path: ``streamlit run`` it with ``server.enableStaticServing``.

    Raises InputError when the link cannot be made (a file system without symbolic links)."""
    data_dir = Path(data_dir).resolve()
    app_script = Path(app_script).resolve()
    tiles = data_dir / TILES_DIR
    tiles.mkdir(parents=True, exist_ok=True)
    folder = data_dir / LAUNCHER_DIR
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "app.py"
    write_text_atomic(script, _LAUNCHER.format(root=str(app_script.parent), app=str(app_script)))
    link, want = folder / "static", Path("..") / TILES_DIR
    if link.is_symlink() and Path(os.readlink(link)) != want:
        link.unlink()
    elif link.exists() and not link.is_symlink():
        raise InputError(f"{link} is not the link to the tiles folder that `gridpatrol serve` makes; "
                         "remove it and start again")
    if not link.is_symlink():
        try:
            link.symlink_to(want, target_is_directory=True)
        except OSError as exc:
            raise InputError(f"cannot link {link} to the tiles folder ({exc.strerror}); local tiles need "
                             "a file system with symbolic links") from None
    try:
        setting = read_basemap(data_dir)
        if setting.kind == "tiles":
            served_path(data_dir, setting.tileset)
    except InputError as exc:
        log.warning("the basemap's tile set is not ready: %s", exc)
    return script


def launcher_serves_tiles(data_dir: str | Path, main_script: str | Path, *, static_serving: bool) -> bool:
    """True when the running app serves ``<data_dir>/tiles`` at ``/app/static/``: static serving
    is on and the ``static`` folder beside the main script is that folder."""
    if not static_serving:
        return False
    try:
        static = (Path(main_script).resolve().parent / "static").resolve()
        return static == _tiles_dir(data_dir).resolve()
    except OSError:
        return False
