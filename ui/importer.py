"""The sidebar form that builds a workspace from uploaded layers, and running that build.

Every layer ``gridpatrol import`` reads can be uploaded, and the build is the same function
(``geo.build.build_workspace``). Each uploaded file is previewed before the build: its columns
with three sample values and the role guessed for each (``geo.columns.guess_roles``), so that a
wrong id or population column is seen; an id column that is constant or mostly empty is refused
with the reason, one that would merge features asks for confirmation with the number of units,
and the population column must be numbers, shown with its total. Uploads exist on disk only
while they are read (``state.uploaded_files``); only planners build.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd
import pyogrio
import streamlit as st
from pyproj import CRS

from geo.build import build_workspace
from geo.columns import (
    column_preview,
    column_total,
    find_column,
    guess_population_column,
    guess_roles,
    id_column_problem,
    is_numeric_column,
    population_problem,
    units_from_ids,
)
from geo.errors import InputError, Problem
from geo.ids import normalise_ids
from geo.layers import SHAPEFILE_PARTS, LayerSource, read_layer
from geo.markup import escape_markdown
from geo.osm import OSM_NETWORK_TYPES, is_osm_file
from geo.tables import EXCEL_SUFFIXES, sheet_names
from geo.validate import LAYERS
from geo.warn import captured_warnings
from server.accounts import require
from ui import login, state
from ui.errors import show_problems, show_warnings, shown_errors
from ui.i18n import layer_name, t

__all__ = ["LAYER_INPUTS", "UPLOAD_TYPES", "NETWORK_UPLOAD_TYPES", "SOURCE_CRS",
           "CELL_SHAPES", "NETWORK_TYPES", "MAX_UPLOAD_MB", "Upload", "BuildRequest",
           "datasets_from_names", "entry_file", "network_entry", "build_form", "run_build",
           "show_fresh_report"]

# The layers of the form, in its order (as `gridpatrol import` takes them).
LAYER_INPUTS = ("area", "townships", "communities", "police_grids", "gov_grids", "jurisdictions",
                "stations", "posts", "checkpoints", "incidents")
_SHAPEFILE_SUFFIXES = SHAPEFILE_PARTS["required"] + SHAPEFILE_PARTS["optional"]
UPLOAD_TYPES = ["gpkg", "geojson", "json", "zip", "csv", "txt", "xlsx", "xls",
                *(s.lstrip(".") for s in _SHAPEFILE_SUFFIXES)]
NETWORK_UPLOAD_TYPES = ["osm", "pbf", "bz2", "gz", "xml", "graphml", "gpkg", "csv", "tntp"]
SOURCE_CRS = ("wgs84", "gcj02", "bd09")
CELL_SHAPES = ("square", "hex")
NETWORK_TYPES = tuple(OSM_NETWORK_TYPES)
# Streamlit refuses larger uploads (server.maxUploadSize in .streamlit/config.toml and in
# `gridpatrol serve`); the form states it.
MAX_UPLOAD_MB = 200
# Cell columns that an attribute column must not replace when apportioned under its own name.
# The preview reads a GeoPackage's row id as a column of this name (offered as an id only: a
# build reads it only when it is the id column).
_ROW_ID = "fid"
_CELL_COLUMNS = {"cell_id", "area_m2", "population", "incidents", "township_id", "station_id",
                 "community_id", "grid_id", "pgrid_id", "geometry"}


# --- requests ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Upload:
    """One uploaded dataset and the choices made for it.

    ``files`` are (name, content) pairs: one file, or the parts of one loose Shapefile (.shp with
    its .shx, .dbf, .prj, .cpg), or a network's node and edge tables. ``part`` is the GeoPackage
    layer or Excel sheet to read; ``id_col`` the id column; ``source_crs`` ``gcj02``/``bd09``
    when lon/lat come from a Chinese web map (``wgs84`` or None: as they are)."""

    files: tuple[tuple[str, bytes], ...]
    part: str | None = None
    id_col: str | None = None
    source_crs: str | None = None

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.files]

    def spec(self, path: Path) -> str:
        """The layer spec of this dataset once its entry file is at ``path`` (``file:part``)."""
        return f"{path}:{self.part}" if self.part else str(path)


@dataclass(frozen=True)
class BuildRequest:
    """What the form asked for: the dataset per layer and the build options.

    ``files`` are paths of files to read (tests pass their own files), with ``id_cols``,
    ``attributes`` (path, {column: cell column}) and ``network``; ``uploads``,
    ``attribute_uploads`` and ``network_upload`` are uploaded datasets (``Upload``), written to
    a private temporary folder only while the build reads them (``state.uploaded_files``).
    ``source_crs`` applies to ``files``; uploads carry their own."""

    files: dict[str, Path] = field(default_factory=dict)
    id_cols: dict[str, str] = field(default_factory=dict)
    attributes: tuple[tuple[Path, dict[str, str]], ...] = ()
    network: Path | None = None
    network_type: str = "drive"
    police_grid_station: str | None = None
    unit_station: str | None = None
    unit_name: str | None = None
    assume_crs: str | None = None
    source_crs: str = "wgs84"
    working_crs: str | None = None
    cell_size_m: float = 500.0
    cell_shape: str = "square"
    name: str | None = None
    uploads: dict[str, Upload] = field(default_factory=dict)
    attribute_uploads: tuple[tuple[Upload, dict[str, str]], ...] = ()
    network_upload: Upload | None = None
    overwrite: bool = False

    def upload_files(self) -> dict[str, bytes]:
        """Every uploaded file as ``slot/name`` -> content, for ``state.uploaded_files``."""
        out: dict[str, bytes] = {}
        slots = [*self.uploads.items(), *((f"attributes{i}", u) for i, (u, _) in enumerate(self.attribute_uploads)),
                 *((("network", self.network_upload),) if self.network_upload else ())]
        for slot, upload in slots:
            out.update({f"{slot}/{name}": data for name, data in upload.files})
        return out

    def _source(self, path: str, *, id_col: str | None = None, source_crs: str | None) -> LayerSource:
        src = None if source_crs in (None, "wgs84") else source_crs
        return LayerSource(path, id_col=id_col, crs=self.assume_crs, source_crs=src)

    def build_arguments(self, paths: Mapping[str, Path] | None = None) -> dict[str, object]:
        """The keyword arguments of ``geo.build.build_workspace`` for this request; ``paths``
        are where the uploaded files are now (``state.uploaded_files`` of ``upload_files``).
        Raises InputError when the area is missing."""
        paths = paths or {}
        layers = {layer: self._source(str(p), id_col=self.id_cols.get(layer), source_crs=self.source_crs)
                  for layer, p in self.files.items()}
        for layer, up in self.uploads.items():
            layers[layer] = self._source(up.spec(paths[f"{layer}/{entry_file(up.names)}"]),
                                         id_col=up.id_col, source_crs=up.source_crs)
        attributes = [(self._source(str(p), source_crs=self.source_crs), dict(m)) for p, m in self.attributes]
        attributes += [(self._source(up.spec(paths[f"attributes{i}/{entry_file(up.names)}"]),
                                     source_crs=up.source_crs), dict(m))
                       for i, (up, m) in enumerate(self.attribute_uploads)]
        network = LayerSource(str(self.network), crs=self.assume_crs) if self.network else None
        if self.network_upload is not None:
            network = LayerSource(str(paths[f"network/{network_entry(self.network_upload.names)}"]),
                                  crs=self.assume_crs)
        if "area" not in layers and "units" not in layers:
            raise InputError("the study area is missing: upload it (any polygon layer), or base "
                             "units whose union is the area")
        arguments: dict[str, object] = {
            "area": layers.pop("area", None), **layers, "attributes": attributes,
            "network": network, "network_type": self.network_type, "working_crs": self.working_crs,
            "cell_size_m": self.cell_size_m, "cell_shape": self.cell_shape, "name": self.name}
        if self.police_grid_station:
            arguments["police_grid_station"] = self.police_grid_station
        if "units" in arguments:
            arguments["unit_station"] = self.unit_station
            arguments["unit_name"] = self.unit_name
        return arguments


# --- uploaded files: datasets and the file read of each ----------------------------------------

def _suffix(name: str) -> str:
    return Path(name).suffix.lower()


def datasets_from_names(names: Sequence[str]) -> list[list[str]]:
    """Uploaded file names grouped into datasets, in upload order: the parts of one Shapefile
    (a ``.shp`` and the ``.shx``/``.dbf``/``.prj``/``.cpg`` of the same name, any case)
    together, every other file alone."""
    stems = {Path(n).stem.lower() for n in names if _suffix(n) == ".shp"}
    groups: dict[str, list[str]] = {}
    for n in names:
        part = _suffix(n) in _SHAPEFILE_SUFFIXES and Path(n).stem.lower() in stems
        groups.setdefault(Path(n).stem.lower() if part else "\x00" + n, []).append(n)
    return list(groups.values())


def entry_file(names: Sequence[str]) -> str:
    """The file of a dataset that is read: the ``.shp`` of a Shapefile's parts, else the one
    file. Raises InputError for Shapefile parts without their ``.shp``."""
    shp = [n for n in names if _suffix(n) == ".shp"]
    if shp:
        return shp[0]
    if all(_suffix(n) in _SHAPEFILE_SUFFIXES for n in names):
        raise InputError(f"{', '.join(names)}: parts of a Shapefile without its .shp; select the "
                         ".shp together with its .shx, .dbf and .prj (or upload a zip of them)")
    return names[0]


def network_entry(names: Sequence[str]) -> str:
    """The file a network is read from among its uploaded files: the one file, or the edge
    table of a CSV pair (``*edges*.csv`` beside ``*nodes*.csv``) or the ``*_net.tntp`` of a
    TNTP pair. Raises InputError for several files that are not such a pair."""
    if len(names) == 1:
        return names[0]
    edges = [n for n in names if _suffix(n) == ".csv" and "edges" in n.lower()]
    nets = [n for n in names if n.lower().endswith("_net.tntp")]
    for chosen in (edges, nets):
        if len(chosen) == 1:
            return chosen[0]
    raise InputError(f"the network was given as {len(names)} files ({', '.join(names)}); give one "
                     "network file (OSM, GraphML, GeoPackage), or an edge table *edges*.csv with "
                     "its node table *nodes*.csv")


@dataclass(frozen=True)
class Preview:
    """An uploaded dataset as read for the form: its attribute columns (``frame``, every row,
    no geometry), its geometry family (``point``, ``polygon``, ``line`` or None), whether its
    CRS is lon/lat, the web map its coordinate headers name (``gcj02``/``bd09``) and the
    warnings of reading it."""

    frame: pd.DataFrame
    geometry: str | None
    lonlat: bool
    web_map: str | None
    notes: tuple[str, ...]


def _family(types: set[str]) -> str | None:
    """``point``, ``polygon`` or ``line`` when every geometry type in ``types`` is of that
    family (``3D`` and ``Multi`` variants included), else None."""
    types = {str(g).replace("3D", "").replace("Z", "").strip() for g in types}
    for family, kinds in (("point", {"Point", "MultiPoint"}), ("polygon", {"Polygon", "MultiPolygon"}),
                          ("line", {"LineString", "MultiLineString"})):
        if types and types <= kinds:
            return family
    return None


@st.cache_data(max_entries=64, ttl=1800, show_spinner=False)
def _parts(key: tuple, _files: tuple[tuple[str, bytes], ...]) -> tuple[tuple[str, str | None], ...]:
    """The layers of an uploaded GeoPackage or the sheets of a workbook, each with its geometry
    type (None for sheets); () for other files. ``key`` identifies the upload."""
    entry = entry_file([n for n, _ in _files])
    if _suffix(entry) not in (".gpkg", *EXCEL_SUFFIXES):
        return ()
    with state.uploaded_files({f"p/{n}": d for n, d in _files}) as paths:
        path = paths[f"p/{entry}"]
        if _suffix(entry) == ".gpkg":
            try:
                return tuple((str(n), str(g) if g else None) for n, g in pyogrio.list_layers(path))
            except (pyogrio.errors.DataSourceError, OSError):
                return ()  # reading it says what is wrong
        return tuple((s, None) for s in sheet_names(path))


@st.cache_data(max_entries=16, ttl=1800, show_spinner=False)
def _preview(key: tuple, _files: tuple[tuple[str, bytes], ...], part: str | None) -> Preview:
    """``Preview`` of an uploaded dataset, read as the build reads it (``geo.layers.read_layer``;
    a ``fid`` column keeps its name, a GeoPackage's row id is offered as ``fid``)."""
    entry = entry_file([n for n, _ in _files])
    with captured_warnings() as notes, state.uploaded_files({f"p/{n}": d for n, d in _files}) as paths:
        spec = Upload(_files, part=part).spec(paths[f"p/{entry}"])
        gdf = read_layer(LayerSource(spec, id_col=_ROW_ID))
    geoms = gdf.geometry[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    lonlat = gdf.crs is not None and CRS(gdf.crs).is_geographic
    frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    return Preview(frame, _family(set(geoms.geom_type)), lonlat, gdf.attrs.get("web_map"), tuple(notes))


# --- the form ---------------------------------------------------------------------------------

def _hide() -> list[Path]:
    return [state.upload_folder_root()]


def _md(value: object) -> str:
    return escape_markdown(value)


def _read_upload(slot: str, files: list, *, family: str) -> tuple[Upload, Preview] | None:
    """Read one uploaded dataset of ``slot`` (after its GeoPackage layer or sheet is chosen) and
    show its columns; None (after showing why) when it cannot be read."""
    names = [f.name for f in files]
    if not any(_suffix(n) == ".shp" for n in names) and all(_suffix(n) in _SHAPEFILE_SUFFIXES for n in names):
        st.error(t("build.no_shp", names=_md(", ".join(names))))
        return None
    data = tuple((f.name, f.getvalue()) for f in files)
    key = (slot, tuple((f.name, f.file_id, f.size) for f in files))
    result = None
    with shown_errors(hide_folders=_hide()):
        parts = _parts(key, data)
        part = None
        if parts:
            names = [n for n, _ in parts]
            fits = [n for n, g in parts if g and _family({g}) == family]
            default = names.index(fits[0]) if fits else 0
            part = names[0] if len(names) == 1 else st.selectbox(
                t("build.part", layer=_slot_name(slot)), names, index=default, key=f"gp_part_{slot}")
        preview = _preview(key, data, part)
        show_warnings(preview.notes, hide_folders=_hide())
        result = Upload(data, part=part), preview
    return result


def _slot_name(slot: str) -> str:
    return layer_name(slot) if slot in LAYERS else layer_name("attributes")


def _preview_table(preview: Preview, roles: dict) -> None:
    """The compact table: column, guessed (or chosen) role, three sample values."""
    table = column_preview(preview.frame, layer="", roles=roles)
    column, role, samples = t("build.preview.column"), t("build.preview.role"), t("build.preview.samples")
    shown = pd.DataFrame({column: table["column"],
                          role: [t(f"build.role.{r}") if r else "" for r in table["role"]],
                          samples: table["samples"]})
    # Column and role fit the sidebar's width; the samples scroll (or open the table full screen).
    config = {column: st.column_config.TextColumn(width=105), role: st.column_config.TextColumn(width=70),
              samples: st.column_config.TextColumn(width=280)}
    with st.expander(t("build.preview", n=len(preview.frame), m=len(table)), expanded=True):
        st.dataframe(shown, hide_index=True, column_config=config, height=min(36 + 35 * len(shown), 250))


def _id_picker(layer: str, preview: Preview, roles: dict) -> tuple[str | None, list[str]]:
    """The id column chosen for ``layer`` and the reasons it cannot be used yet ([] when it can).

    The guess is preselected (never a constant or mostly empty column); a chosen column that
    is either is refused with the reason; one that would merge polygons asks for confirmation
    with the number of units that result."""
    frame = preview.frame
    columns = [str(c) for c in frame.columns]
    guess = next((str(c) for c, r in roles.items() if r == "id"), None)
    label = layer_name(layer)
    chosen = st.selectbox(t("build.id_col", layer=label), columns,
                          index=columns.index(guess) if guess in columns else None,
                          key=f"gp_id_{layer}", placeholder=t("build.id_choose"))
    if chosen is None or chosen not in frame.columns:
        st.caption(t("build.id.none", layer=label))
        return None, [label]
    values = frame[chosen]
    problem = id_column_problem(values)
    if problem is not None:
        st.error(t(f"build.id.{problem.rule}", column=_md(chosen), value=_md(problem.value),
                   count=problem.count, total=problem.total))
        return chosen, [label]
    features = int(normalise_ids(values).notna().sum())
    units = units_from_ids(values)
    if units < features and LAYERS[layer].geometry == "polygon":
        st.warning(t("build.id.merge", column=_md(chosen), n=features, units=units))
        if not st.checkbox(t("build.id.merge_ok", layer=label, units=units), key=f"gp_merge_{layer}"):
            return chosen, [label]
    elif units < features:
        ids = normalise_ids(values).dropna()
        st.warning(t("build.id.dup_points", column=_md(chosen), n=int((ids.value_counts() > 1).sum())))
    return chosen, []


def _source_crs_picker(key: str, label: str, preview: Preview) -> str | None:
    """For lon/lat data: from which map the coordinates come (WGS84, GCJ-02, BD-09); the
    headers' hint (``百度经度``) preselects."""
    if not preview.lonlat:
        return None
    index = SOURCE_CRS.index(preview.web_map) if preview.web_map in SOURCE_CRS else 0
    return st.radio(t("build.layer_source_crs", layer=label), SOURCE_CRS, index=index, key=key,
                    format_func=lambda v: t(f"build.src.{v}"))


def _layer_section(layer: str) -> tuple[Upload | None, Preview | None, list[str]]:
    """The uploader of one layer with its choices and preview: (the upload, its preview,
    reasons it cannot be built yet)."""
    label = layer_name(layer)
    files = st.file_uploader(label + (" *" if layer == "area" else ""), type=UPLOAD_TYPES,
                             accept_multiple_files=True, key=f"gp_up_{layer}")
    if not files:
        return None, None, []
    groups = datasets_from_names([f.name for f in files])
    if len(groups) > 1:
        st.error(t("build.several", layer=label, names=_md(", ".join(g[0] for g in groups))))
        return None, None, [label]
    read = _read_upload(layer, files, family=LAYERS[layer].geometry)
    if read is None:
        return None, None, [label]
    upload, preview = read
    roles = guess_roles(preview.frame, layer=layer)
    id_col, blocked = None, []
    if LAYERS[layer].id_col:
        id_col, blocked = _id_picker(layer, preview, roles)
        roles = {c: r for c, r in roles.items() if r != "id"} | ({id_col: "id"} if id_col else {})
    _preview_table(preview, roles)
    if layer == "townships" and "population" in preview.frame.columns \
            and is_numeric_column(preview.frame["population"]):
        st.caption(t("build.layer_population", layer=label,
                     total=f"{column_total(preview.frame['population']):,.0f}"))
    source_crs = _source_crs_picker(f"gp_src_{layer}", label, preview)
    return Upload(upload.files, part=upload.part, id_col=id_col, source_crs=source_crs), preview, blocked


def _units_section() -> tuple[Upload | None, str | None, str | None, list[str]]:
    """Base units (villages, grids, beats) instead of generated cells: the upload with its id
    column (unique, kept as text), its station column and its name column (both optional)."""
    label = t("build.units")
    files = st.file_uploader(label, type=UPLOAD_TYPES, accept_multiple_files=True, key="gp_up_units")
    if not files:
        return None, None, None, []
    groups = datasets_from_names([f.name for f in files])
    if len(groups) > 1:
        st.error(t("build.several", layer=label, names=_md(", ".join(g[0] for g in groups))))
        return None, None, None, [label]
    read = _read_upload("units", files, family="polygon")
    if read is None:
        return None, None, None, [label]
    upload, preview = read
    frame = preview.frame
    columns = [str(c) for c in frame.columns]
    roles = guess_roles(frame, layer="communities")
    guess = next((str(c) for c, r in roles.items() if r == "id"), None)
    id_col = st.selectbox(t("build.unit_id"), columns,
                          index=columns.index(guess) if guess in columns else None,
                          key="gp_unit_id", placeholder=t("build.id_choose"))
    blocked: list[str] = []
    if id_col is None or id_col not in frame.columns:
        blocked.append(label)
    else:
        problem = id_column_problem(frame[id_col])
        ids = normalise_ids(frame[id_col]).dropna()
        dup = int((ids.value_counts() > 1).sum())
        if problem is not None:
            st.error(t(f"build.id.{problem.rule}", column=_md(id_col), value=_md(problem.value),
                       count=problem.count, total=problem.total))
            blocked.append(label)
        elif dup:
            st.error(t("build.unit.duplicates", column=_md(id_col), n=dup))
            blocked.append(label)
        roles = {c: r for c, r in roles.items() if r != "id"} | {id_col: "id"}
    others = [c for c in columns if c != id_col and c != _ROW_ID]
    station_guess = find_column(others, ("stationid", "派出所编号", "派出所代码", "所属派出所编号",
                                         "所属派出所", "派出所", "district"))
    options = ["", *others]
    station = st.selectbox(t("build.unit_station"), options,
                           index=options.index(station_guess) if station_guess in options else 0,
                           key="gp_unit_station", format_func=lambda c: c or t("build.none"))
    name_guess = next((str(c) for c, r in roles.items() if r == "name"), None)
    name = st.selectbox(t("build.unit_name"), options,
                        index=options.index(name_guess) if name_guess in options else 0,
                        key="gp_unit_name", format_func=lambda c: c or t("build.none"))
    _preview_table(preview, roles)
    source_crs = _source_crs_picker("gp_src_units", label, preview)
    return (Upload(upload.files, part=upload.part, id_col=id_col, source_crs=source_crs),
            station or None, name or None, blocked)


def _attribute_sections() -> tuple[tuple[tuple[Upload, dict[str, str]], ...], list[str]]:
    """Attribute polygons (several files): for each, the population column (numbers only, with
    its total) and other numeric columns to apportion to the cells by area."""
    files = st.file_uploader(t("build.attributes"), type=UPLOAD_TYPES, accept_multiple_files=True,
                             key="gp_up_attributes")
    if not files:
        return (), []
    by_name = {f.name: f for f in files}
    out: list[tuple[Upload, dict[str, str]]] = []
    blocked: list[str] = []
    populations = 0
    for i, group in enumerate(datasets_from_names(list(by_name))):
        label = t("build.attr_file", name=_shp_name(group))
        st.markdown(f"**{_md(label)}**")
        read = _read_upload(f"attributes{i}", [by_name[n] for n in group], family="polygon")
        if read is None:
            blocked.append(label)
            continue
        upload, preview = read
        frame = preview.frame.drop(columns=[c for c in preview.frame.columns if c == _ROW_ID])
        columns = [str(c) for c in frame.columns]
        guess = guess_population_column(frame)
        options = ["", *columns]
        population = st.selectbox(t("build.attr_column"), options,
                                  index=options.index(str(guess)) if guess is not None else 0,
                                  key=f"gp_attr_population_{i}",
                                  format_func=lambda c: c or t("build.attr_population_none"))
        mapping: dict[str, str] = {}
        if population:
            problem = population_problem(frame[population])
            if problem is not None:
                st.error(t(f"build.attr.{problem.rule}", column=_md(population), value=_md(problem.value),
                           count=problem.count))
                blocked.append(label)
            else:
                mapping[population] = "population"
                populations += 1
        more_options = [c for c in columns if c != population and is_numeric_column(frame[c])
                        and c.lower() not in _CELL_COLUMNS]
        more = st.multiselect(t("build.attr_more"), more_options, key=f"gp_attr_more_{i}",
                              placeholder=t("ui.choose")) if more_options else []
        mapping.update({c: c for c in more})
        for column in mapping:
            st.caption(t("build.attr_total", column=_md(column), total=f"{column_total(frame[column]):,.0f}"))
        roles = guess_roles(frame, layer="attributes")
        roles = ({c: r for c, r in roles.items() if r != "population"}
                 | ({population: "population"} if population else {}))
        _preview_table(preview, roles)
        source_crs = _source_crs_picker(f"gp_attr_src_{i}", label, preview)
        if mapping:
            out.append((Upload(upload.files, part=upload.part, source_crs=source_crs), mapping))
    if populations > 1:
        st.error(t("build.attr.two_populations", n=populations))
        blocked.append(layer_name("attributes"))
    return tuple(out), blocked


def _shp_name(group: list[str]) -> str:
    return next((n for n in group if _suffix(n) == ".shp"), group[0])


def _network_section() -> tuple[Upload | None, str, list[str]]:
    """The road network file(s) and, for OpenStreetMap, which ways (drive or walk)."""
    files = st.file_uploader(t("build.network"), type=NETWORK_UPLOAD_TYPES, accept_multiple_files=True,
                             key="gp_up_network")
    if not files:
        return None, "drive", []
    names = [f.name for f in files]
    try:
        entry = network_entry(names)
    except InputError:
        st.error(t("build.network_files", n=len(names), names=_md(", ".join(names))))
        return None, "drive", [layer_name("road_edges")]
    st.caption(t("build.network_file", name=_md(entry)))
    network_type = "drive"
    if is_osm_file(entry):
        network_type = st.radio(t("build.network_type"), NETWORK_TYPES, key="gp_build_nettype",
                                format_func=lambda v: t(f"build.net.{v}"))
    return Upload(tuple((f.name, f.getvalue()) for f in files)), network_type, []


def _police_grid_station(preview: Preview) -> str | None:
    """The column of the police grids naming their station (none: ``station_id`` if they have
    it, else the station whose jurisdiction covers most of each grid, as geo.build does)."""
    columns = [str(c) for c in preview.frame.columns if c != _ROW_ID]
    guess = find_column(columns, ("stationid", "派出所编号", "派出所代码", "所属派出所编号", "所属派出所"))
    options = ["", *columns]
    chosen = st.selectbox(t("build.pgrid_station", layer=layer_name("police_grids")), options,
                          index=options.index(guess) if guess in options else 0, key="gp_pgrid_station",
                          format_func=lambda c: c or t("build.none"))
    return chosen or None


def build_form() -> BuildRequest | None:
    """Draw the build form (in the current container) and return a request when submitted."""
    st.caption(t("build.help"))
    st.caption(t("build.limits", mb=MAX_UPLOAD_MB))
    uploads: dict[str, Upload] = {}
    blocked: list[str] = []
    station = None
    unit_station = unit_name = None
    for layer in LAYER_INPUTS:
        if layer == "area":
            st.markdown(f"**{t('build.group.bounds')}**")
        elif layer == "stations":
            st.markdown(f"**{t('build.group.points')}**")
        upload, preview, reasons = _layer_section(layer)
        blocked += reasons
        if upload is not None:
            uploads[layer] = upload
            if layer == "police_grids":
                station = _police_grid_station(preview)
        if layer == "area":
            units, unit_station, unit_name, reasons = _units_section()
            blocked += reasons
            if units is not None:
                uploads["units"] = units
    st.markdown(f"**{t('build.group.more')}**")
    attributes, reasons = _attribute_sections()
    blocked += reasons
    network, network_type, reasons = _network_section()
    blocked += reasons
    st.markdown(f"**{t('build.group.options')}**")
    name = st.text_input(t("build.name"), key="gp_build_name").strip()
    working_crs = st.text_input(t("build.working_crs"), key="gp_build_crs").strip()
    assume_crs = st.text_input(t("build.assume_crs"), key="gp_build_assume").strip()
    cell_size = st.number_input(t("build.cell_size"), min_value=50.0, max_value=10000.0, value=500.0,
                                step=50.0, key="gp_build_cell")
    cell_shape = st.radio(t("build.cell_shape"), CELL_SHAPES, horizontal=True, key="gp_build_shape",
                          format_func=lambda v: t(f"build.shape.{v}"))
    overwrite = st.checkbox(t("build.overwrite"), key="gp_build_overwrite")
    has_area = "area" in uploads or "units" in uploads
    if "units" in uploads and "area" not in uploads:
        st.caption(t("build.unit.area_optional"))
    elif not has_area and layer_name("area") not in blocked:
        st.caption(t("build.need_area"))
    if blocked:
        st.caption(t("build.blocked", layers=_md("、".join(dict.fromkeys(blocked)))))
    allowed = login.current_account().can("planner")
    if not allowed:
        st.caption(t("build.viewer"))
    clicked = st.button(t("build.submit"), type="primary", key="gp_build_go",
                        disabled=not has_area or not allowed or bool(blocked))
    if not clicked:
        return None
    return BuildRequest(uploads=uploads, attribute_uploads=attributes, network_upload=network,
                        network_type=network_type, police_grid_station=station,
                        unit_station=unit_station, unit_name=unit_name, assume_crs=assume_crs or None,
                        working_crs=working_crs or None,
                        cell_size_m=float(cell_size), cell_shape=cell_shape, name=name or None,
                        overwrite=overwrite)


def run_build(request: BuildRequest) -> None:
    """Build the workspace, save it in the library under its name, open it and rerun; on
    failure show the report here. Uploaded files exist on disk only while they are read.

    On failure the open workspace stays open and the problems are kept for the Data page.
    """
    def failed(problems: list[Problem]) -> None:
        state.set_report(state.ImportReport(ok=False, name=request.name or "", problems=tuple(problems),
                                            shown=True))

    built = False
    with shown_errors(on_problems=failed, hide_folders=_hide()):
        account = login.current_account()
        require(account, "planner", action="build a workspace")
        with st.spinner(t("build.running")), state.uploaded_files(request.upload_files()) as paths:
            ws, warnings = build_workspace(**request.build_arguments(paths))
        path = state.library().create(ws, ws.name, account=account, overwrite=request.overwrite)
        state.open_workspace(path)
        state.set_report(state.ImportReport(ok=True, name=ws.name, warnings=tuple(warnings)))
        built = True
    if built:
        st.rerun()


def show_fresh_report() -> None:
    """After a successful build (and its rerun), say so once, with the warnings."""
    report = state.last_report()
    if report is None or report.shown or not report.ok:
        return
    st.success(t("build.done", name=report.name))
    show_problems(report.warnings, error=False, hide_folders=_hide())
    state.set_report(state.ImportReport(ok=True, name=report.name, warnings=report.warnings, shown=True))
