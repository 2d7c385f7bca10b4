"""The sidebar form that builds a workspace from uploaded layers, and running that build."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from geo.build import build_workspace
from geo.errors import Problem
from geo.layers import LayerSource
from geo.validate import LAYERS
from geo.workspace import write_workspace
from ui import state
from ui.errors import show_problems, shown_errors
from ui.i18n import layer_name, t

__all__ = ["LAYER_INPUTS", "UPLOAD_TYPES", "SOURCE_CRS", "CELL_SHAPES", "BuildRequest",
           "safe_file_name", "save_upload", "build_form", "run_build", "show_fresh_report"]

LAYER_INPUTS = ("area", "townships", "stations", "jurisdictions", "posts", "checkpoints", "incidents")
UPLOAD_TYPES = ["gpkg", "geojson", "json", "zip", "csv"]
SOURCE_CRS = ("wgs84", "gcj02", "bd09")
CELL_SHAPES = ("square", "hex")


@dataclass(frozen=True)
class BuildRequest:
    """What the form asked for: the saved upload per layer and the build options."""

    files: dict[str, Path]
    id_cols: dict[str, str] = field(default_factory=dict)
    attributes: tuple[tuple[Path, dict[str, str]], ...] = ()
    assume_crs: str | None = None
    source_crs: str = "wgs84"
    working_crs: str | None = None
    cell_size_m: float = 500.0
    cell_shape: str = "square"
    name: str | None = None

    def sources(self) -> dict[str, LayerSource]:
        """One ``LayerSource`` per uploaded layer, carrying the chosen id column and CRSs."""
        source_crs = None if self.source_crs == "wgs84" else self.source_crs
        return {layer: LayerSource(str(path), id_col=self.id_cols.get(layer),
                                   crs=self.assume_crs, source_crs=source_crs)
                for layer, path in self.files.items()}

    def attribute_sources(self) -> list[tuple[LayerSource, dict[str, str]]]:
        """The attribute polygons as ``build_workspace(attributes=...)`` expects them."""
        source_crs = None if self.source_crs == "wgs84" else self.source_crs
        return [(LayerSource(str(path), crs=self.assume_crs, source_crs=source_crs), dict(mapping))
                for path, mapping in self.attributes]


def safe_file_name(name: str) -> str:
    """An uploaded file's name without folders or characters that paths and layer specs use."""
    base = Path(name.replace("\\", "/")).name
    base = re.sub(r'[:*?"<>|\x00-\x1f]', "_", base).strip(" .")
    return base or "upload"


def save_upload(uploaded, folder: Path) -> Path:
    """Save an uploaded file as ``folder/<content hash>/<its name>`` (zips stay zipped).

    The same content is saved once; the name is kept so that messages name the user's file.
    """
    data = uploaded.getvalue()
    digest = hashlib.sha1(data).hexdigest()[:12]
    target = folder / digest / safe_file_name(uploaded.name)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return target


def _uploads() -> Path:
    return state.session_folder() / "uploads"


def _id_picker(layer: str, path: Path) -> str | None:
    """A selectbox of the file's columns for the layer's id column (None when not readable)."""
    want = LAYERS[layer].id_col
    columns: list[str] | None = None
    with shown_errors(hide_folders=[_uploads()]):
        columns = state.layer_columns(str(path), path.stat().st_size)
    if not columns:
        return None
    index = columns.index(want) if want in columns else 0
    return st.selectbox(t("build.id_col", layer=layer_name(layer)), columns, index=index,
                        key=f"gp_id_{layer}")


def _attribute_picker() -> tuple[tuple[Path, dict[str, str]], ...]:
    """Optional population polygons: the file and which of its columns holds population."""
    uploaded = st.file_uploader(t("build.attributes"), type=UPLOAD_TYPES, key="gp_up_attributes")
    if uploaded is None:
        return ()
    path = save_upload(uploaded, _uploads())
    columns: list[str] | None = None
    with shown_errors(hide_folders=[_uploads()]):
        columns = state.layer_columns(str(path), path.stat().st_size)
    if not columns:
        return ()
    lower = [c.lower() for c in columns]
    guess = next((lower.index(n) for n in ("population", "pop", "人口", "户籍人口", "常住人口") if n in lower), 0)
    column = st.selectbox(t("build.attr_column"), columns, index=guess, key="gp_attr_population")
    return ((path, {column: "population"}),)


def build_form() -> BuildRequest | None:
    """Draw the build form (in the current container) and return a request when submitted."""
    st.caption(t("build.help"))
    files: dict[str, Path] = {}
    id_cols: dict[str, str] = {}
    for layer in LAYER_INPUTS:
        label = layer_name(layer) + (" *" if layer == "area" else "")
        uploaded = st.file_uploader(label, type=UPLOAD_TYPES, key=f"gp_up_{layer}")
        if uploaded is None:
            continue
        files[layer] = save_upload(uploaded, _uploads())
        if LAYERS[layer].id_col:
            chosen = _id_picker(layer, files[layer])
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
    if "area" not in files:
        st.caption(t("build.need_area"))
    clicked = st.button(t("build.submit"), type="primary", disabled="area" not in files,
                        key="gp_build_go")
    if not clicked:
        return None
    return BuildRequest(files=files, id_cols=id_cols, attributes=attributes, assume_crs=assume_crs or None,
                        source_crs=source_crs, working_crs=working_crs or None,
                        cell_size_m=float(cell_size), cell_shape=cell_shape, name=name or None)


def _target(folder: Path, name: str) -> Path:
    return folder / "workspaces" / f"{safe_file_name(name)}.gpkg"


def run_build(request: BuildRequest) -> None:
    """Build and save the workspace, open it and rerun; on failure show the report here.

    On failure the open workspace stays open and the problems are kept for the Data page.
    """
    sources = request.sources()
    area = sources.pop("area")

    def failed(problems: list[Problem]) -> None:
        state.set_report(state.ImportReport(ok=False, name=request.name or "", problems=tuple(problems),
                                            shown=True))

    with shown_errors(on_problems=failed, hide_folders=[_uploads()]):
        with st.spinner(t("build.running")):
            ws, warnings = build_workspace(area=area, attributes=request.attribute_sources(),
                                           working_crs=request.working_crs,
                                           cell_size_m=request.cell_size_m,
                                           cell_shape=request.cell_shape, name=request.name,
                                           **sources)
            path = write_workspace(ws, _target(state.session_folder(), ws.name))
        state.open_workspace(path)
        state.set_report(state.ImportReport(ok=True, name=ws.name, warnings=tuple(warnings)))
        st.rerun()


def show_fresh_report() -> None:
    """After a successful build (and its rerun), say so once, with the warnings."""
    report = state.last_report()
    if report is None or report.shown or not report.ok:
        return
    st.success(t("build.done", name=report.name))
    show_problems(report.warnings, error=False, hide_folders=[_uploads()])
    state.set_report(state.ImportReport(ok=True, name=report.name, warnings=report.warnings, shown=True))


