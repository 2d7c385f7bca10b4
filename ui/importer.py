"""The sidebar form that builds a workspace from uploaded layers, and running that build."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import streamlit as st

from geo.build import build_workspace
from geo.errors import Problem
from geo.layers import LayerSource
from geo.validate import LAYERS
from server.accounts import require
from ui import login, state
from ui.errors import show_problems, shown_errors
from ui.i18n import layer_name, t

__all__ = ["LAYER_INPUTS", "UPLOAD_TYPES", "SOURCE_CRS", "CELL_SHAPES", "MAX_UPLOAD_MB", "BuildRequest",
           "build_form", "run_build", "show_fresh_report"]

LAYER_INPUTS = ("area", "townships", "stations", "jurisdictions", "posts", "checkpoints", "incidents")
UPLOAD_TYPES = ["gpkg", "geojson", "json", "zip", "csv"]
SOURCE_CRS = ("wgs84", "gcj02", "bd09")
CELL_SHAPES = ("square", "hex")
# Streamlit refuses larger uploads (server.maxUploadSize in .streamlit/config.toml and in
# `gridpatrol serve`); the form states it.
MAX_UPLOAD_MB = 200


@dataclass(frozen=True)
class BuildRequest:
    """What the form asked for: the file per layer and the build options.

    ``files`` are paths of files to read (tests and the command line pass their own files);
    ``uploads`` are uploaded files (name -> bytes) per layer, written to a private temporary
    folder only while the build reads them (``state.uploaded_files``)."""

    files: dict[str, Path] = field(default_factory=dict)
    id_cols: dict[str, str] = field(default_factory=dict)
    attributes: tuple[tuple[Path, dict[str, str]], ...] = ()
    assume_crs: str | None = None
    source_crs: str = "wgs84"
    working_crs: str | None = None
    cell_size_m: float = 500.0
    cell_shape: str = "square"
    name: str | None = None
    uploads: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    attribute_uploads: tuple[tuple[tuple[str, bytes], dict[str, str]], ...] = ()
    overwrite: bool = False

    def with_files(self, files: dict[str, Path], attributes: tuple) -> "BuildRequest":
        return replace(self, files={**self.files, **files}, attributes=self.attributes + attributes,
                       uploads={}, attribute_uploads=())

    def sources(self) -> dict[str, LayerSource]:
        """One ``LayerSource`` per layer file, carrying the chosen id column and CRSs."""
        source_crs = None if self.source_crs == "wgs84" else self.source_crs
        return {layer: LayerSource(str(path), id_col=self.id_cols.get(layer),
                                   crs=self.assume_crs, source_crs=source_crs)
                for layer, path in self.files.items()}

    def attribute_sources(self) -> list[tuple[LayerSource, dict[str, str]]]:
        """The attribute polygons as ``build_workspace(attributes=...)`` expects them."""
        source_crs = None if self.source_crs == "wgs84" else self.source_crs
        return [(LayerSource(str(path), crs=self.assume_crs, source_crs=source_crs), dict(mapping))
                for path, mapping in self.attributes]


def _columns(uploaded) -> list[str] | None:
    """The columns of an uploaded layer (None, after showing why, when it cannot be read)."""
    columns: list[str] | None = None
    with shown_errors(hide_folders=[state.upload_folder_root()]):
        columns = state.layer_columns(uploaded.name, uploaded.getvalue())
    return columns


def _id_picker(layer: str, uploaded) -> str | None:
    """A selectbox of the file's columns for the layer's id column (None when not readable)."""
    want = LAYERS[layer].id_col
    columns = _columns(uploaded)
    if not columns:
        return None
    index = columns.index(want) if want in columns else 0
    return st.selectbox(t("build.id_col", layer=layer_name(layer)), columns, index=index,
                        key=f"gp_id_{layer}")


def _attribute_picker() -> tuple[tuple[tuple[str, bytes], dict[str, str]], ...]:
    """Optional population polygons: the file and which of its columns holds population."""
    uploaded = st.file_uploader(t("build.attributes"), type=UPLOAD_TYPES, key="gp_up_attributes")
    if uploaded is None:
        return ()
    columns = _columns(uploaded)
    if not columns:
        return ()
    lower = [c.lower() for c in columns]
    guess = next((lower.index(n) for n in ("population", "pop", "人口", "户籍人口", "常住人口") if n in lower), 0)
    column = st.selectbox(t("build.attr_column"), columns, index=guess, key="gp_attr_population")
    return (((uploaded.name, uploaded.getvalue()), {column: "population"}),)


def build_form() -> BuildRequest | None:
    """Draw the build form (in the current container) and return a request when submitted."""
    st.caption(t("build.help"))
    st.caption(t("build.limits", mb=MAX_UPLOAD_MB))
    uploads: dict[str, tuple[str, bytes]] = {}
    id_cols: dict[str, str] = {}
    for layer in LAYER_INPUTS:
        label = layer_name(layer) + (" *" if layer == "area" else "")
        uploaded = st.file_uploader(label, type=UPLOAD_TYPES, key=f"gp_up_{layer}")
        if uploaded is None:
            continue
        uploads[layer] = (uploaded.name, uploaded.getvalue())
        if LAYERS[layer].id_col:
            chosen = _id_picker(layer, uploaded)
            if chosen:
                id_cols[layer] = chosen
    attributes = _attribute_picker()
    name = st.text_input(t("build.name"), key="gp_build_name").strip()
    working_crs = st.text_input(t("build.working_crs"), key="gp_build_crs").strip()
    assume_crs = st.text_input(t("build.assume_crs"), key="gp_build_assume").strip()
    source_crs = st.radio(t("build.source_crs"), SOURCE_CRS, key="gp_build_source",
                          format_func=lambda v: t(f"build.src.{v}"))
    cell_size = st.number_input(t("build.cell_size"), min_value=50.0, max_value=10000.0, value=500.0,
                                step=50.0, key="gp_build_cell")
    cell_shape = st.radio(t("build.cell_shape"), CELL_SHAPES, horizontal=True, key="gp_build_shape",
                          format_func=lambda v: t(f"build.shape.{v}"))
    overwrite = st.checkbox(t("build.overwrite"), key="gp_build_overwrite")
    if "area" not in uploads:
        st.caption(t("build.need_area"))
    allowed = login.current_account().can("planner")
    if not allowed:
        st.caption(t("build.viewer"))
    clicked = st.button(t("build.submit"), type="primary", disabled="area" not in uploads or not allowed,
                        key="gp_build_go")
    if not clicked:
        return None
    return BuildRequest(uploads=uploads, id_cols=id_cols, attribute_uploads=attributes,
                        assume_crs=assume_crs or None, source_crs=source_crs,
                        working_crs=working_crs or None, cell_size_m=float(cell_size),
                        cell_shape=cell_shape, name=name or None, overwrite=overwrite)


def run_build(request: BuildRequest) -> None:
    """Build the workspace, save it in the library under its name, open it and rerun; on
    failure show the report here. Uploaded files exist on disk only while they are read.

    On failure the open workspace stays open and the problems are kept for the Data page.
    """
    def failed(problems: list[Problem]) -> None:
        state.set_report(state.ImportReport(ok=False, name=request.name or "", problems=tuple(problems),
                                            shown=True))

    files = {**{f"{layer}/{name}": data for layer, (name, data) in request.uploads.items()},
             **{f"attributes{i}/{name}": data for i, ((name, data), _) in enumerate(request.attribute_uploads)}}
    built = False
    with shown_errors(on_problems=failed, hide_folders=[state.upload_folder_root()]):
        account = login.current_account()
        require(account, "planner", action="build a workspace")
        with st.spinner(t("build.running")), state.uploaded_files(files) as paths:
            full = request.with_files(
                {layer: paths[f"{layer}/{name}"] for layer, (name, _) in request.uploads.items()},
                tuple((paths[f"attributes{i}/{name}"], mapping)
                      for i, ((name, _), mapping) in enumerate(request.attribute_uploads)))
            sources = full.sources()
            area = sources.pop("area")
            ws, warnings = build_workspace(area=area, attributes=full.attribute_sources(),
                                           working_crs=full.working_crs,
                                           cell_size_m=full.cell_size_m,
                                           cell_shape=full.cell_shape, name=full.name,
                                           **sources)
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
    show_problems(report.warnings, error=False, hide_folders=[state.upload_folder_root()])
    state.set_report(state.ImportReport(ok=True, name=report.name, warnings=report.warnings, shown=True))


