"""Chinese and English interface strings, and the language switch (Chinese by default)."""
from __future__ import annotations

from typing import Mapping

from geo.validate import LAYERS

__all__ = ["LANGUAGES", "DEFAULT_LANGUAGE", "STRINGS", "LANG_KEY", "text", "t", "current_language",
           "layer_name", "language_switch"]

LANGUAGES: dict[str, str] = {"zh": "中文", "en": "English"}
DEFAULT_LANGUAGE = "zh"
LANG_KEY = "lang"

_LAYER_EN = {
    "area": "Study area", "townships": "Townships", "communities": "Communities",
    "gov_grids": "Governance grids", "stations": "Police stations",
    "jurisdictions": "Station jurisdictions", "police_grids": "Police grids",
    "posts": "Street posts", "checkpoints": "Checkpoints", "incidents": "Incidents",
    "cells": "Analysis cells", "road_nodes": "Road nodes", "road_edges": "Road network",
    "attributes": "Attribute polygons",
}
_EXTRA_LAYERS = {
    "rivers": ("河流水系", "Rivers"),
    "plans": ("方案", "Plans"),
    "plan_cells": ("方案网格", "Plan cells"),
}

# key -> (zh, en). Texts may hold str.format fields such as {layer} or {n}.
_PAIRS: dict[str, tuple[str, str]] = {
    "app.title": ("网格巡防规划", "GridPatrol"),
    "lang.label": ("语言 / Language", "语言 / Language"),
    # Pages (the later ones are listed here so that their names are fixed once).
    "page.overview": ("总览", "Overview"),
    "page.data": ("数据", "Data"),
    "page.audit": ("辖区比对", "Boundary audit"),
    "page.coverage": ("响应与卡口", "Coverage & checkpoints"),
    "page.redistrict": ("辖区调整", "Redistricting"),
    "page.patrol": ("巡逻路线", "Patrol routes"),
    "page.brief": ("简报", "Briefing"),
    # Sidebar: workspace.
    "sb.workspace": ("工作空间", "Workspace"),
    "sb.current": ("当前工作空间：{name}", "Current workspace: {name}"),
    "sb.none": ("尚未打开工作空间", "No workspace open"),
    "sb.open_demo": ("打开示例县", "Open the demo county"),
    "sb.demo_missing": ("示例工作空间 {path} 不存在；用 `make demo` 生成",
                        "The demo workspace {path} does not exist; create it with `make demo`"),
    "sb.open_file": ("打开工作空间文件", "Open a workspace file"),
    "sb.upload_gpkg": ("上传工作空间 (.gpkg)", "Upload a workspace (.gpkg)"),
    "sb.path": ("或输入服务器上的路径", "or type a path on the server"),
    "sb.open": ("打开", "Open"),
    "sb.build": ("由图层新建工作空间", "Build a workspace from layers"),
    # Build form.
    "build.help": ("上传 GeoPackage、GeoJSON、压缩的 Shapefile (.zip) 或带经纬度列的 CSV。研究范围必填，其余可选。",
                   "Upload GeoPackage, GeoJSON, zipped Shapefile (.zip) or CSV with lon/lat "
                   "columns. The study area is required, the rest optional."),
    "build.file": ("{layer}", "{layer}"),
    "build.id_col": ("{layer}编号字段", "{layer}: id column"),
    "build.name": ("工作空间名称 (可空)", "Workspace name (optional)"),
    "build.working_crs": ("工作坐标系 EPSG (空 = 自动选 UTM 带)",
                          "Working CRS, EPSG (empty = estimated UTM zone)"),
    "build.assume_crs": ("无坐标系文件的坐标系 (如 4326)", "CRS of files without one (e.g. 4326)"),
    "build.source_crs": ("经纬度来源", "Lon/lat source"),
    "build.src.wgs84": ("WGS84 (GPS、天地图)", "WGS84 (GPS, Tianditu)"),
    "build.src.gcj02": ("GCJ-02 (高德、腾讯导出)", "GCJ-02 (Amap, Tencent exports)"),
    "build.src.bd09": ("BD-09 (百度导出)", "BD-09 (Baidu exports)"),
    "build.cell_size": ("分析网格边长 (米)", "Cell size (metres)"),
    "build.cell_shape": ("网格形状", "Cell shape"),
    "build.shape.square": ("正方形", "Square"),
    "build.shape.hex": ("六边形", "Hexagon"),
    "build.submit": ("生成工作空间", "Build the workspace"),
    "build.need_area": ("请先上传研究范围", "Upload the study area first"),
    "build.running": ("正在读取、校验并生成网格…", "Reading, validating and gridding…"),
    "build.done": ("已生成工作空间「{name}」，可在“数据”页下载", "Built the workspace “{name}”; download it on the Data page"),
    # Errors and the validation report.
    "err.problems": ("发现 {n} 个问题，工作空间未生成/未打开。请按“处理办法”修改后重试。",
                     "{n} problems found; nothing was built or opened. Apply the fixes and try again."),
    "err.warnings": ("{n} 条提示 (已自动处理)", "{n} warnings (handled automatically)"),
    "col.layer": ("图层", "Layer"),
    "col.file": ("文件", "File"),
    "col.rule": ("规则", "Rule"),
    "col.message": ("问题", "Problem"),
    "col.ids": ("涉及编号", "Ids"),
    "col.fix": ("处理办法", "Fix"),
    # Overview.
    "ov.no_workspace": ("尚未打开工作空间。请在侧栏打开示例县、上传工作空间或由图层新建。",
                        "No workspace is open. Open the demo county, upload a workspace or build "
                        "one from layers in the sidebar."),
    "ov.metric.area": ("面积 (km²)", "Area (km²)"),
    "ov.metric.population": ("人口", "Population"),
    "ov.metric.stations": ("派出所", "Stations"),
    "ov.metric.incidents": ("警情", "Incidents"),
    "ov.colour_by": ("分析网格着色", "Colour cells by"),
    "ov.by.population": ("人口", "Population"),
    "ov.by.incidents": ("警情数", "Incident count"),
    "ov.by.none": ("不着色", "No colour"),
    "ov.basemap": ("底图", "Basemap"),
    "ov.base.cartodbpositron": ("浅色 (CARTO)", "Light (CARTO)"),
    "ov.base.openstreetmap": ("OpenStreetMap", "OpenStreetMap"),
    "ov.base.none": ("无底图 (离线)", "None (offline)"),
    "ov.map_note": ("地图为 WGS84 坐标；不使用高德/百度底图，因其坐标有偏移。",
                    "The map is in WGS84; Amap/Baidu basemaps are not offered because their "
                    "coordinates are shifted."),
    "ov.missing": ("未加载{layer}：加载{layer}后即可在地图上查看。",
                   "No {layer} loaded: load {layer} to see them on the map."),
    "ov.tables": ("属性表", "Attribute tables"),
    "ov.table_layer": ("图层", "Layer"),
    "ov.rows": ("{n} 条记录", "{n} rows"),
    # Map legend.
    "map.legend": ("图例", "Legend"),
    "map.stations_legend": ("派出所及其辖区", "Stations and their jurisdictions"),
    "map.heat": ("警情热力 (按网格汇总)", "Incident heat (aggregated per cell)"),
    "map.heat_sample": ("警情热力 (抽样 {n} 条)", "Incident heat (sample of {n})"),
    "map.cells_population": ("人口 / 网格", "Population per cell"),
    "map.cells_incidents": ("警情数 / 网格", "Incidents per cell"),
    "map.ring.outer": ("外圈卡口", "Outer ring"),
    "map.ring.inner": ("内圈卡口", "Inner ring"),
    # Data page.
    "data.summary": ("工作空间", "Workspace"),
    "data.crs": ("工作坐标系", "Working CRS"),
    "data.path": ("文件", "File"),
    "data.layers": ("图层", "Layers"),
    "data.col.name": ("图层", "Layer"),
    "data.col.label": ("名称", "Name"),
    "data.col.features": ("要素数", "Features"),
    "data.col.geometry": ("几何类型", "Geometry"),
    "data.report": ("校验报告", "Validation report"),
    "data.last_build": ("本次导入", "Last import"),
    "data.no_build": ("本次会话中没有导入。", "No import in this session."),
    "data.build_ok": ("导入成功，没有问题。", "Imported without problems."),
    "data.recheck": ("工作空间复查", "Workspace re-check"),
    "data.recheck_ok": ("各图层均通过校验。", "Every layer passes validation."),
    "data.tables": ("属性表", "Attribute tables"),
    "data.downloads": ("下载", "Downloads"),
    "data.dl_gpkg": ("下载整个工作空间 (.gpkg)", "Download the workspace (.gpkg)"),
    "data.dl_geojson": ("下载{layer} (GeoJSON, WGS84)", "Download {layer} (GeoJSON, WGS84)"),
    "data.dl_csv": ("下载{layer}属性 (CSV)", "Download {layer} attributes (CSV)"),
    "data.table_only": ("表格", "table"),
}

STRINGS: dict[str, dict[str, str]] = {key: {"zh": zh, "en": en} for key, (zh, en) in _PAIRS.items()}
for _name, _spec in LAYERS.items():
    # Layers geo/ adds later get their own name in English until a string is written here.
    STRINGS[f"layer.{_name}"] = {"zh": _spec.zh.split(" (")[0],
                                 "en": _LAYER_EN.get(_name, _name.replace("_", " ").capitalize())}
for _name, (_zh, _en) in _EXTRA_LAYERS.items():
    STRINGS[f"layer.{_name}"] = {"zh": _zh, "en": _en}


def text(key: str, lang: str = DEFAULT_LANGUAGE, **fields: object) -> str:
    """The string ``key`` in ``lang`` with ``fields`` filled in (no Streamlit needed).

    An unknown key raises KeyError: a missing string is a bug, caught by the tests.
    """
    entry: Mapping[str, str] = STRINGS[key]
    value = entry.get(lang, entry[DEFAULT_LANGUAGE])
    return value.format(**fields) if fields else value


def current_language() -> str:
    """The language chosen in this session (Chinese until the user switches)."""
    import streamlit as st

    lang = st.session_state.get(LANG_KEY, DEFAULT_LANGUAGE)
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def t(key: str, **fields: object) -> str:
    """The string ``key`` in the session's language."""
    return text(key, current_language(), **fields)


def layer_name(name: str, lang: str | None = None) -> str:
    """The display name of a workspace layer (its own name when no string is defined)."""
    lang = lang or current_language()
    key = f"layer.{name}"
    return text(key, lang) if key in STRINGS else name


def language_switch() -> str:
    """Draw the zh/en switch in the sidebar and return the chosen language."""
    import streamlit as st

    if LANG_KEY not in st.session_state:
        st.session_state[LANG_KEY] = DEFAULT_LANGUAGE
    st.sidebar.radio(text("lang.label"), list(LANGUAGES), key=LANG_KEY,
                     format_func=LANGUAGES.__getitem__, horizontal=True)
    return current_language()
