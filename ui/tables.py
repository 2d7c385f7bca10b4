"""Tables and files for the pages: attribute tables without geometry, layer lists, metrics, downloads."""
from __future__ import annotations

import geopandas as gpd
import pandas as pd

from geo.markup import spreadsheet_safe
from geo.validate import LAYERS
from geo.workspace import Workspace, workspace_info
from ui.i18n import layer_name, text

__all__ = ["attribute_table", "layer_table", "workspace_metrics", "geojson_bytes", "csv_bytes"]


def attribute_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The layer's attributes as a plain DataFrame (geometry dropped), for ``st.dataframe``."""
    if isinstance(frame, gpd.GeoDataFrame):
        return pd.DataFrame(frame.drop(columns=frame.geometry.name))
    return pd.DataFrame(frame)


def layer_table(ws: Workspace, *, lang: str = "zh") -> pd.DataFrame:
    """One row per layer: name, display name, feature count and geometry type(s)."""
    rows = []
    for name, frame in ws.layers.items():
        if isinstance(frame, gpd.GeoDataFrame):
            types = sorted(str(t) for t in frame.geometry.geom_type.dropna().unique())
            geometry = ", ".join(types) or (LAYERS[name].geometry if name in LAYERS else "")
        else:
            geometry = text("data.table_only", lang)
        rows.append({"name": name, "label": layer_name(name, lang), "features": int(len(frame)),
                     "geometry": geometry})
    frame = pd.DataFrame(rows, columns=["name", "label", "features", "geometry"])
    return frame.rename(columns={c: text(f"data.col.{c}", lang) for c in frame.columns})


def workspace_metrics(ws: Workspace) -> dict[str, float | int | None]:
    """Headline numbers: ``area_km2``, ``population`` (cells, else townships), ``stations``,
    ``incidents`` (None where the workspace lacks the layer or column)."""
    info = workspace_info(ws)
    population = None
    for name in ("cells", "townships"):
        if ws.has(name) and "population" in ws.layer(name).columns:
            population = float(pd.to_numeric(ws.layer(name)["population"], errors="coerce").sum())
            break
    return {
        "area_km2": info["area_km2"],
        "population": population,
        "stations": int(len(ws.layer("stations"))) if ws.has("stations") else None,
        "incidents": int(len(ws.layer("incidents"))) if ws.has("incidents") else None,
    }


def geojson_bytes(gdf: gpd.GeoDataFrame) -> bytes:
    """The layer as UTF-8 GeoJSON in EPSG:4326 (what web maps and most tools expect)."""
    return gdf.to_crs("EPSG:4326").to_json(ensure_ascii=False, drop_id=True).encode("utf-8")


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """The attributes as CSV, UTF-8 with a byte-order mark so that Excel shows Chinese correctly;
    text that a spreadsheet would run as a formula starts with an apostrophe (``spreadsheet_safe``)."""
    return spreadsheet_safe(attribute_table(frame)).to_csv(index=False).encode("utf-8-sig")
