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
    "build.attributes": ("人口面 (可选，按面积分摊到分析网格)",
                         "Population polygons (optional, apportioned to cells by area)"),
    "build.attr_column": ("人口字段", "Population column"),
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
    "ov.base.OpenStreetMap": ("OpenStreetMap", "OpenStreetMap"),
    "ov.base.Esri.WorldGrayCanvas": ("浅灰 (Esri)", "Light grey (Esri)"),
    "ov.base.Esri.WorldImagery": ("影像 (Esri)", "Imagery (Esri)"),
    "ov.base.None": ("无底图 (离线)", "None (offline)"),
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
    # Boundary audit page (ui/page_audit.py).
    "audit.need_layers": ("需要两个面图层：派出所辖区/警格，以及街道乡镇/网格/社区。",
                          "Two polygon layers are needed: jurisdictions or police grids, and townships, grids or communities."),
    "audit.police_layer": ("公安图层", "Police layer"),
    "audit.admin_layer": ("行政/综治图层", "Civil layer"),
    "audit.weight": ("权重", "Weight"),
    "audit.weight.area": ("面积", "Area"),
    "audit.weight.population": ("人口", "Population"),
    "audit.weight.incidents": ("警情", "Incidents"),
    "audit.min_share": ("最小占比", "Minimum share"),
    "audit.running": ("正在比对…", "Auditing…"),
    "audit.split_police": ("跨多个街道的派出所", "Police units split"),
    "audit.split_admin": ("分属多个派出所的街道", "Civil units split"),
    "audit.gaps": ("空白区", "Gaps"),
    "audit.overlaps": ("重叠区", "Overlaps"),
    "audit.slivers": ("碎片", "Slivers"),
    "audit.pieces": ("交叉片区", "Pieces"),
    "audit.defect.gap": ("空白区", "Gaps"),
    "audit.defect.overlap": ("重叠区", "Overlaps"),
    "audit.defect.sliver": ("碎片", "Slivers"),
    "audit.legend": ("片区按所属派出所着色；红色为空白区，紫色为重叠区，黑框为碎片。",
                     "Pieces coloured by their station; gaps red, overlaps purple, slivers outlined."),
    "audit.ranked": ("拆分单元 (按少数部分排序)", "Splits, worst first (by the minority side)"),
    "audit.defects": ("空白、重叠与碎片", "Gaps, overlaps and slivers"),
    "audit.rules": ("判定规则", "Rules"),
    "audit.counterparts": ("对应单元及占比", "Counterparts and shares"),
    "audit.side": ("查看", "Look at"),
    "audit.side.admin": ("街道/网格", "Civil unit"),
    "audit.side.police": ("派出所/警格", "Police unit"),
    "audit.unit": ("单元", "Unit"),
    "audit.alignment": ("调整建议：一街道一所", "Alignment proposal: one station per township"),
    "audit.locked_stations": ("保持不变的派出所", "Stations to leave untouched"),
    "audit.locked_townships": ("保持不变的街道", "Townships to leave untouched"),
    "audit.moves": ("调整片区数", "Pieces moved"),
    "audit.still_split": ("仍分属多所的街道", "Townships still split"),
    "audit.contiguous": ("辖区连续", "Jurisdictions contiguous"),
    "audit.yes": ("是", "yes"),
    "audit.no": ("否", "no"),
    "audit.before": ("调整前", "Before"),
    "audit.after": ("调整后", "After"),
    "audit.workload": ("各所工作量变化", "Workload change per station"),
    "audit.kept": ("未调整的片区及原因", "Pieces not moved, and why"),
    "audit.dl_crosswalk": ("下载对照表 (CSV)", "Download the crosswalk (CSV)"),
    "audit.dl_html": ("下载报告 (HTML)", "Download the report (HTML)"),
    "audit.dl_md": ("下载报告 (Markdown)", "Download the report (Markdown)"),
    "audit.dl_moves": ("下载调整清单 (CSV)", "Download the moves (CSV)"),
    "audit.dl_workload": ("下载工作量表 (CSV)", "Download the workload table (CSV)"),
}

# Briefing (ui/briefing.py renderer and ui/page_briefing.py page), kept together for issue 7.
_BRIEF_PAIRS: dict[str, tuple[str, str]] = {
    "brief.title": ("{name} 巡防态势简报", "{name}: patrol planning briefing"),
    "brief.date": ("日期", "Date"),
    "brief.area": ("范围", "Area"),
    "brief.crs": ("坐标系", "CRS"),
    "brief.key_figures": ("要点数据", "Key figures"),
    "brief.skipped": ("未列入的部分及原因：", "Sections left out, and why:"),
    "brief.section.jurisdictions": ("派出所与辖区", "Stations and jurisdictions"),
    "brief.section.audit": ("辖区与街道边界比对", "Police vs civil boundaries"),
    "brief.section.coverage": ("1-3-5 分钟响应圈", "1-3-5 minute response bands"),
    "brief.section.ring": ("卡口圈与封控时间", "Checkpoint ring and time to seal"),
    "brief.section.patrol": ("巡逻路线", "Patrol routes"),
    "brief.section.plan": ("辖区调整方案 (调整前后)", "Jurisdiction plan, before and after"),
    "brief.footer": ("GridPatrol 网格巡防规划 生成；地图为工作坐标系 (米) 下绘制，比例尺按米计算，指北针指向坐标北。",
                     "Made with GridPatrol; maps drawn in the projected working CRS (metres): the scale "
                     "bar is exact, the north arrow points to grid north."),
    "brief.north": ("北", "N"),
    "brief.legend": ("图例", "Legend"),
    "brief.need": ("缺少{layers}：加载后即可生成本部分", "load {layers} to include this section"),
    "brief.unavailable": ("巡逻路线模块尚不可用", "the patrol module is not available yet"),
    "brief.no_plans": ("工作空间中没有保存的方案：在“辖区调整”页或用 `gridpatrol redistrict --save-plan` 保存一个",
                       "the workspace holds no saved plan: save one on the Redistricting page or with "
                       "`gridpatrol redistrict --save-plan`"),
    "brief.drawing": ("正在绘制：{section}", "Drawing: {section}"),
    "brief.finishing": ("正在完成简报…", "Finishing the briefing…"),
    "brief.yes": ("是", "yes"),
    "brief.no": ("否", "no"),
    "brief.minutes": ("{m} 分钟", "{m} min"),
    "brief.seal_none": ("无法封控 (见说明)", "cannot be sealed (see notes)"),
    "brief.k.stations": ("派出所数", "Stations"),
    "brief.k.max_deviation": ("最大工作量偏差 (警情，相对平均)", "Largest workload deviation (incidents, vs mean)"),
    "brief.k.split_police": ("跨多个街道的派出所", "Stations spanning several townships"),
    "brief.k.split_admin": ("分属多个派出所的街道", "Townships split among stations"),
    "brief.k.gaps_overlaps": ("空白区 / 重叠区面积", "Gaps / overlaps area"),
    "brief.k.coverage_population": ("{m} 分钟内可达人口占比", "Population reached within {m} min"),
    "brief.k.coverage_cells": ("{m} 分钟内可达网格占比", "Cells reached within {m} min"),
    "brief.k.cells_beyond": ("超出 {m} 分钟的网格数", "Cells beyond {m} min"),
    "brief.k.uncovered_entries": ("无卡口的入口 / 入口总数", "Entries without checkpoint / all entries"),
    "brief.k.seal_minutes": ("封控 {n} 处干线卡口用时", "Time to seal the {n} trunk-road checkpoints"),
    "brief.k.patrol": ("巡逻覆盖风险 ({station} {shift})", "Patrol risk covered ({station} {shift})"),
    "brief.k.plan_changed": ("方案「{name}」调整网格数", "Cells moved by plan “{name}”"),
    "brief.k.plan_deviation": ("最大工作量偏差 调整前 → 后", "Largest workload deviation before → after"),
    "brief.l.townships": ("街道/乡镇界", "Township boundary"),
    "brief.l.stations": ("派出所", "Police station"),
    "brief.l.posts": ("街面警务站", "Street post"),
    "brief.l.split_admin": ("分属多所的街道", "Township split among stations"),
    "brief.l.jurisdictions": ("派出所辖区界", "Jurisdiction boundary"),
    "brief.l.gap": ("空白区", "Gap"),
    "brief.l.overlap": ("重叠区", "Overlap"),
    "brief.l.sliver": ("碎片", "Sliver"),
    "brief.l.ring": ("县界 (卡口圈)", "County boundary (ring)"),
    "brief.l.checkpoints": ("卡口", "Checkpoint"),
    "brief.l.crossing_covered": ("有卡口的入口", "Entry with checkpoint"),
    "brief.l.crossing_open": ("无卡口的入口", "Entry without checkpoint"),
    "brief.l.seal_path": ("封控派警 (直线示意)", "Unit sent to seal (straight line)"),
    "brief.l.seal_worst": ("最慢到达", "Slowest arrival"),
    "brief.l.unit": ("巡逻组 {n} ({m} 分钟)", "Unit {n} ({m} min)"),
    "brief.l.hotspots": ("本班次热点网格", "Hotspot cells of the shift"),
    "brief.l.changed": ("调整的网格", "Cells moved"),
    "brief.c.station": ("派出所", "Station"),
    "brief.c.cells": ("网格数", "Cells"),
    "brief.c.population": ("人口", "Population"),
    "brief.c.incidents": ("警情", "Incidents"),
    "brief.c.area_km2": ("面积 (km²)", "Area (km²)"),
    "brief.c.deviation": ("工作量偏差", "Workload deviation"),
    "brief.c.unit": ("单元", "Unit"),
    "brief.c.side": ("类别", "Side"),
    "brief.c.counterparts": ("涉及单元数", "Counterparts"),
    "brief.c.main_share": ("主体占比", "Main share"),
    "brief.c.minority_km2": ("少数部分 (km²)", "Minority (km²)"),
    "brief.c.band": ("响应时间", "Response time"),
    "brief.c.cells_share": ("网格占比", "Cells share"),
    "brief.c.population_share": ("人口占比", "Population share"),
    "brief.c.incidents_share": ("警情占比", "Incidents share"),
    "brief.c.checkpoint": ("卡口", "Checkpoint"),
    "brief.c.unit_sent": ("派出单位", "Unit sent"),
    "brief.c.minutes": ("到达 (分钟)", "Arrival (min)"),
    "brief.c.patrol_unit": ("巡逻组", "Unit"),
    "brief.c.order": ("顺序", "Order"),
    "brief.c.hotspot": ("热点网格", "Hotspot cell"),
    "brief.c.arrive": ("到达", "Arrive"),
    "brief.c.depart": ("离开", "Depart"),
    "brief.c.incidents_before": ("警情 (调整前)", "Incidents (before)"),
    "brief.c.incidents_after": ("警情 (调整后)", "Incidents (after)"),
    "brief.c.dev_before": ("偏差 (调整前)", "Deviation (before)"),
    "brief.c.dev_after": ("偏差 (调整后)", "Deviation (after)"),
    "brief.side.police": ("派出所", "Station"),
    "brief.side.admin": ("街道", "Township"),
    "brief.band.within": ("{m} 分钟内", "Within {m} min"),
    "brief.band.beyond": ("超出 {m} 分钟", "Beyond {m} min"),
    "brief.before": ("调整前 (现行辖区)", "Before (current jurisdictions)"),
    "brief.after": ("调整后 (方案「{name}」)", "After (plan “{name}”)"),
    "brief.n.workload": ("工作量按各所辖区网格内的警情数计；偏差 = 本所警情 ÷ 各所平均 − 1。",
                         "Workload is the incident count of the cells in each jurisdiction; deviation = "
                         "own incidents ÷ mean over stations − 1."),
    "brief.n.audit": ("{police} 个派出所辖区对 {admin} 个街道/乡镇：{sp} 个派出所跨多个街道，{sa} 个街道分属多个派出所 (各部分至少占 {share} 面积才算)。",
                      "{police} jurisdictions against {admin} townships: {sp} stations span several "
                      "townships, {sa} townships are split among stations (parts of at least {share} "
                      "of the area count)."),
    "brief.n.coverage": ("按路网行驶时间计算，{n} 个派出所和警务站 (含出警准备时间)；红色为 {m} 分钟内无法到达的网格。",
                         "Travel time on the road network from {n} stations and posts (turnout delay "
                         "included); red cells are beyond {m} minutes."),
    "brief.n.ring": ("县界上共 {n} 条道路穿越，{covered} 条有卡口，{open} 个入口无卡口；卡口圈闭合：{closed}。",
                     "{n} roads cross the county boundary, {covered} with a checkpoint, {open} entries "
                     "without one; ring closed: {closed}."),
    "brief.n.seal": ("{n} 处干线卡口 (高速/国道/省道) 由 {units} 个派出所和警务站各派一组，最优分配下最后一组 {m} 分钟到达。",
                     "{n} trunk-road checkpoints (expressway/national/provincial), one unit each from "
                     "{units} stations and posts: with the optimal assignment the last arrives after "
                     "{m} min."),
    "brief.n.seal_failed": ("无法计算封控时间：{reason}", "No seal time: {reason}"),
    "brief.n.open_roads": ("无卡口入口：{roads}", "Entries without checkpoint: {roads}"),
    "brief.n.patrol": ("{station}，班次 {shift}，{units} 个巡逻组巡查本班次风险最高的 {hot} 个网格，覆盖 {share} 的风险。",
                       "{station}, shift {shift}: {units} units visit the {hot} riskiest cells of the "
                       "shift and cover {share} of the risk."),
    "brief.n.plan": ("方案「{name}」与现行辖区相比调整了 {n} 个网格 (斜线标出)。",
                     "Plan “{name}” moves {n} cells from the current jurisdictions (hatched)."),
    # The Briefing page.
    "brief.page.intro": ("为指挥员生成一页看懂的简报：每个主题一张静态地图 (含图例、比例尺、指北针) 和要点数据；HTML 可离线打开，另有 PDF。",
                         "A briefing a commander reads in a minute: one static map per topic (legend, "
                         "scale bar, north arrow) and the key figures; the HTML opens offline, and "
                         "there is a PDF."),
    "brief.page.sections": ("包含的部分", "Sections"),
    "brief.page.lang": ("简报语言", "Briefing language"),
    "brief.page.plan": ("方案", "Plan"),
    "brief.page.plan_latest": ("最新保存的方案", "Latest saved plan"),
    "brief.page.no_plans": ("工作空间中没有保存的方案，“调整前后”部分将略去。",
                            "The workspace holds no saved plan; the before/after section will be left out."),
    "brief.page.shift": ("巡逻班次 (HH:MM-HH:MM)", "Patrol shift (HH:MM-HH:MM)"),
    "brief.page.station": ("巡逻派出所", "Patrol station"),
    "brief.page.station_auto": ("警情最多的派出所", "Station with most incidents"),
    "brief.page.units": ("巡逻组数", "Patrol units"),
    "brief.page.pdf": ("同时生成 PDF", "Also make the PDF"),
    "brief.page.build": ("生成简报", "Build the briefing"),
    "brief.page.done": ("简报已生成 ({n} 个部分，用时 {s} 秒)", "Briefing built ({n} sections, {s} s)"),
    "brief.page.dl_html": ("下载简报 (HTML，可离线打开)", "Download the briefing (HTML, opens offline)"),
    "brief.page.dl_pdf": ("下载简报 (PDF)", "Download the briefing (PDF)"),
    "brief.page.preview": ("预览", "Preview"),
    "brief.page.none": ("请至少选择一个部分", "Choose at least one section"),
}
_PAIRS.update(_BRIEF_PAIRS)

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


def layer_name(name: str, lang: str | None = None, *, in_sentence: bool = False) -> str:
    """The display name of a workspace layer (its own name when no string is defined).

    ``in_sentence`` lower-cases English names for use inside a sentence ("load checkpoints").
    """
    lang = lang or current_language()
    key = f"layer.{name}"
    label = text(key, lang) if key in STRINGS else name
    return label.lower() if in_sentence and lang == "en" else label


def language_switch() -> str:
    """Draw the zh/en switch (in the current container) and return the chosen language."""
    import streamlit as st

    if LANG_KEY not in st.session_state:
        st.session_state[LANG_KEY] = DEFAULT_LANGUAGE
    st.radio(text("lang.label"), list(LANGUAGES), key=LANG_KEY,
             format_func=LANGUAGES.__getitem__, horizontal=True)
    return current_language()
