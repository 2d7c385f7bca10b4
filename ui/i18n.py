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
    "ov.show_table": ("显示属性表", "Show the attribute table"),
    "ov.download_csv": ("下载 CSV", "Download CSV"),
    # Map legend.
    "map.legend": ("图例", "Legend"),
    "map.stations_legend": ("派出所及其辖区", "Stations and their jurisdictions"),
    "map.heat": ("警情热力 (按网格汇总)", "Incident heat (aggregated per cell)"),
    "map.heat_sample": ("警情热力 (抽样 {n} 条)", "Incident heat (sample of {n})"),
    "map.cells_population": ("人口 / 网格", "Population per cell"),
    "ui.choose": ("请选择", "Choose"),
    "field.cell_id": ("网格编号", "Cell"),
    "field.population": ("人口", "Population"),
    "field.incidents": ("警情数", "Incidents"),
    "field.township_id": ("街道/乡镇", "Township"),
    "field.station_id": ("派出所", "Station"),
    "field.band_label": ("响应圈 (分钟)", "Band (min)"),
    "field.minutes": ("响应时间 (分钟)", "Response time (min)"),
    "field.facility": ("最近出警单位", "Nearest unit"),
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
    "audit.click_hint": ("在上方地图上点击街道或派出所辖区，或在此选择。",
                         "Click a township or a station on the map above, or choose one here."),
    "audit.click_none": ("点击处没有街道或派出所辖区。", "No township or station at the clicked point."),
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

# Patrol routes page (ui/page_patrol.py), issue 6.
_PATROL_PAIRS: dict[str, tuple[str, str]] = {
    "pt.station": ("派出所", "Station"),
    "pt.shift": ("班次 (HH:MM-HH:MM)", "Shift (HH:MM-HH:MM)"),
    "pt.shift_help": ("例如 {examples}；跨午夜的班次如 22:00-06:00", "e.g. {examples}; shifts may wrap midnight, 22:00-06:00"),
    "pt.units": ("巡逻组数", "Patrol units"),
    "pt.dwell": ("每个热点停留 (分钟)", "Dwell per hotspot (min)"),
    "pt.foot": ("步巡 (5 km/h)", "Foot patrol (5 km/h)"),
    "pt.replan": ("换一种路线 (新随机种子)", "Re-plan (new seed)"),
    "pt.best": ("最优路线", "Best plan"),
    "pt.running": ("正在规划巡逻路线…", "Planning patrol routes…"),
    "page.need_layers": ("此页面需要以下图层：{layers}", "This page needs these layers: {layers}"),
    "pt.need_layers": ("巡逻规划需要以下图层：{layers}", "Patrol planning needs these layers: {layers}"),
    "pt.need_time": ("警情图层没有 time（发生时间）列，无法按班次找出热点：导入带时间的警情后再规划巡逻。",
                     "The incidents have no time column, so hotspots cannot be found by shift: import "
                     "incidents with their times to plan patrols."),
    "pt.share": ("覆盖风险比例", "Risk covered"),
    "pt.hotspots": ("热点网格 (显著)", "Hotspot cells (significant)"),
    "pt.minutes": ("各组用时 (分钟)", "Minutes per unit"),
    "pt.loss": ("较最优方案损失", "Loss vs best plan"),
    "pt.loss_help": ("随机化路线 (不可预测巡逻) 比最优方案少覆盖的风险比例",
                     "Share of risk the randomised (unpredictable) routes cover less than the best plan"),
    "pt.heat": ("本班次风险热力", "Risk heat of the shift"),
    "pt.significant": ("显著热点 (Gi*)", "Significant hotspots (Gi*)"),
    "pt.unit_tip": ("第 {n} 组：{s} 个点位，{m} 分钟", "Unit {n}: {s} stops, {m} min"),
    "pt.timetable": ("时刻表", "Timetable"),
    "pt.col.unit": ("巡逻组", "Unit"),
    "pt.col.order": ("顺序", "Order"),
    "pt.col.hotspot": ("网格", "Cell"),
    "pt.col.arrive": ("到达", "Arrive"),
    "pt.col.depart": ("离开", "Depart"),
    "pt.col.risk": ("风险", "Risk"),
    "pt.dl_geojson": ("下载路线 (GeoJSON)", "Download routes (GeoJSON)"),
    "pt.dl_gpx": ("下载路线 (GPX)", "Download routes (GPX)"),
    "pt.dl_csv": ("下载时刻表 (CSV)", "Download timetable (CSV)"),
}
_PAIRS.update(_PATROL_PAIRS)

# Coverage & checkpoints page (ui/page_coverage.py), issue 4.
_COVERAGE_PAIRS: dict[str, tuple[str, str]] = {
    "cv.need_network": ("本页需要路网 (road_nodes/road_edges)：请导入路网后查看响应圈和卡口",
                        "This page needs a road network (road_nodes/road_edges): import one to see response bands and checkpoints"),
    "cv.need": ("未加载{layer}：加载{layer}后即可查看本部分", "No {layer} loaded: load {layer} to see this part"),
    "cv.running": ("正在计算…", "Computing…"),
    "cv.notes": ("{n} 条数据提示 (如离路网较远的点)", "{n} data notes (e.g. points far from the roads)"),
    "cv.unit_min": ("{v} 分钟", "{v} min"),
    "cv.within": ("{m} 分钟内", "within {m} min"),
    "cv.beyond": ("超过 {m} 分钟", "beyond {m} min"),
    "cv.bands.title": ("响应圈 (1-3-5 分钟)", "Response bands (1-3-5 minutes)"),
    "cv.bands": ("响应圈 (分钟，逗号分隔)", "Bands (minutes, comma-separated)"),
    "cv.bands_help": ("例如 1,3,5；按路网行驶时间计算，不是直线距离", "e.g. 1,3,5; travel time on the road network, not straight lines"),
    "cv.units": ("出警单位", "Responding units"),
    "cv.units.stations": ("派出所", "Stations"),
    "cv.units.posts": ("街面警务站/平台", "Street posts"),
    "cv.units.both": ("派出所 + 警务站", "Stations + posts"),
    "cv.one_speed": ("统一车速", "One speed for all roads"),
    "cv.one_speed_help": ("勾选后所有道路按同一车速计算 (如规划演练常用 60 km/h)；否则按道路等级默认车速",
                          "Every road at one speed (planning exercises often assume 60 km/h); otherwise class speeds"),
    "cv.speed": ("车速 (km/h)", "Speed (km/h)"),
    "cv.speed_one": ("统一车速 {v} km/h", "one speed {v} km/h"),
    "cv.speed_class": ("按道路等级车速", "road-class speeds"),
    "cv.turnout": ("计入出警准备时间", "Add turnout delay"),
    "cv.turnout_help": ("警务站的 turnout_min 字段 (分钟) 加在出发前；派出所为 0",
                        "Posts' turnout_min (minutes) is added before departure; stations 0"),
    "cv.metric.within": ("{m} 分钟内人口", "Population within {m} min"),
    "cv.metric.within_cells": ("{m} 分钟内网格", "Cells within {m} min"),
    "cv.people": ("{n} 人", "{n} people"),
    "cv.metric.beyond": ("超过 {m} 分钟的网格", "Cells beyond {m} min"),
    "cv.metric.longest": ("最长响应时间", "Longest response"),
    "cv.bands_note": ("{n} 个出警单位，{speed}；网格按中心点所在路网节点着色，红框为超出最后一圈的地方",
                      "{n} responding units, {speed}; cells coloured by the network node of their centre, red outlines are places beyond the last band"),
    "cv.layer.bands": ("响应圈 (网格)", "Response bands (cells)"),
    "cv.layer.areas": ("响应辖区 (路网泰森多边形)", "Response areas (network Voronoi)"),
    "cv.layer.facilities": ("派出所与警务站", "Stations and posts"),
    "cv.layer.ring": ("卡口圈", "Checkpoint ring"),
    "cv.layer.covered": ("有卡口的道路出入口", "Crossings with a checkpoint"),
    "cv.layer.uncovered": ("无卡口的道路出入口", "Crossings without a checkpoint"),
    "cv.legend.bands": ("响应时间", "Response time"),
    "cv.legend.ring": ("道路出入口", "Road crossings"),
    "cv.band_table": ("各响应圈覆盖 (累计)", "Covered per band (cumulative)"),
    "cv.turnout_table": ("各类单位出警准备时间 (分钟)", "Turnout delay per kind (minutes)"),
    "cv.by_facility": ("各单位响应辖区与工作量 (警情数)", "Response area and workload (incidents) per unit"),
    "cv.uncovered_places": ("{n} 个网格 (人口 {p}) 超过 {m} 分钟无法到达，见地图红框与下载的清单",
                            "{n} cells (population {p}) lie beyond {m} min; see the red outlines and the downloadable list"),
    "cv.col.band": ("响应圈", "Band"),
    "cv.col.nodes": ("路网节点", "Network nodes"),
    "cv.col.nodes_share": ("节点占比", "Share of nodes"),
    "cv.col.cells": ("网格数", "Cells"),
    "cv.col.cells_share": ("网格占比", "Share of cells"),
    "cv.col.population": ("人口", "Population"),
    "cv.col.population_share": ("人口占比", "Share of population"),
    "cv.col.incidents": ("警情数", "Incidents"),
    "cv.col.incidents_share": ("警情占比", "Share of incidents"),
    "cv.dl.bands": ("下载响应圈统计 (CSV)", "Download bands (CSV)"),
    "cv.dl.facilities": ("下载各单位工作量 (CSV)", "Download per unit (CSV)"),
    "cv.dl.cells": ("下载网格响应时间 (GeoJSON)", "Download cells with minutes (GeoJSON)"),
    "cv.dl.uncovered": ("下载超时网格清单 (CSV)", "Download places beyond (CSV)"),
    "cv.dl.areas": ("下载响应辖区 (GeoJSON)", "Download response areas (GeoJSON)"),
    "cv.ring.title": ("卡口圈是否闭合", "Is the checkpoint ring closed?"),
    "cv.ring.need_checkpoints": ("未加载卡口：加载卡口图层后即可查看卡口圈是否闭合；下面列出所有道路出入口",
                                 "No checkpoints loaded: load checkpoints to see the ring closed or open; all road crossings are listed below"),
    "cv.tolerance": ("卡口覆盖道路的距离 (米)", "A checkpoint covers roads within (m)"),
    "cv.ring.crossings": ("道路出入口", "Road crossings"),
    "cv.ring.covered": ("有卡口", "With a checkpoint"),
    "cv.ring.uncovered": ("无卡口", "Without"),
    "cv.ring.state": ("卡口圈", "The ring"),
    "cv.ring.closed": ("已闭合", "Closed"),
    "cv.ring.open": ("未闭合", "Open"),
    "cv.ring.closed_note": ("从圈外到圈内的每条路径都经过卡口 (按路网判断)", "Every path from outside to inside passes a checkpoint (checked on the network)"),
    "cv.ring.open_note": ("卡口圈未闭合：{n} 个出入口可不经卡口进入：{ids}", "The ring is open: {n} entries lead inside unchecked: {ids}"),
    "cv.seal.title": ("封控用时 (每个出入口派一个单位)", "Time to seal (one unit per entry)"),
    "cv.seal.units": ("封控单位", "Units"),
    "cv.seal.entries": ("需封控的出入口", "Entries to close"),
    "cv.entries.major_checkpoints": ("主要道路卡口 (高速/国道/省道)", "Checkpoints on major roads (expressway/national/provincial)"),
    "cv.entries.checkpoints": ("全部卡口", "All checkpoints"),
    "cv.entries.uncovered_crossings": ("无卡口的出入口", "Crossings without a checkpoint"),
    "cv.seal.need_checkpoints": ("未加载卡口：加载卡口图层后即可计算封控用时，或选择“无卡口的出入口”",
                                 "No checkpoints loaded: load checkpoints to compute the seal, or choose crossings without a checkpoint"),
    "cv.seal.no_entries": ("没有需要封控的出入口", "There are no entries to close"),
    "cv.seal.infeasible": ("无法封控：{why}", "Cannot seal: {why}"),
    "cv.seal.minutes": ("全部封控用时", "All entries closed after"),
    "cv.seal.entries_n": ("出入口", "Entries"),
    "cv.seal.units_n": ("可用单位", "Units available"),
    "cv.dl.crossings_csv": ("下载出入口 (CSV)", "Download crossings (CSV)"),
    "cv.dl.crossings_geojson": ("下载出入口 (GeoJSON)", "Download crossings (GeoJSON)"),
    "cv.dl.seal_csv": ("下载封控分派 (CSV)", "Download assignment (CSV)"),
    "cv.dl.seal_geojson": ("下载封控连线 (GeoJSON)", "Download assignment lines (GeoJSON)"),
    "cv.place.title": ("新增警务站 (最大覆盖)", "Add posts (maximal covering)"),
    "cv.place.need_weight": ("分析网格没有人口或警情字段，无法选址", "The cells have no population or incidents column to cover"),
    "cv.place.k": ("新增数量", "New posts"),
    "cv.place.minutes": ("响应标准 (分钟)", "Response standard (minutes)"),
    "cv.place.weight": ("覆盖对象", "Cover"),
    "cv.place.limit": ("求解时限 (秒)", "Solver time limit (s)"),
    "cv.place.run": ("计算新增点位", "Find the new sites"),
    "cv.place.hint": ("现有派出所与警务站保持不变；点击按钮用 HiGHS 精确求解 (约数秒)",
                      "Existing stations and posts stay; press the button to solve exactly with HiGHS (a few seconds)"),
    "cv.place.running": ("正在计算新增点位…", "Finding new sites…"),
    "cv.place.done": ("计算完成", "Done"),
    "cv.place.before": ("现有：{m} 分钟内{w}", "Now: {w} within {m} min"),
    "cv.place.after": ("新增后：{m} 分钟内{w}", "After: {w} within {m} min"),
    "cv.place.sites": ("单位数", "Sites"),
    "cv.place.status": ("求解状态", "Solver status"),
    "cv.place.gap": ("最优性差距 {g}，用时 {s} 秒", "Optimality gap {g}, {s} s"),
    "cv.place.new": ("新增点位", "New site"),
    "cv.place.row_before": ("现有", "Now"),
    "cv.place.row_after": ("新增后", "After"),
    "cv.status.optimal": ("最优", "Optimal"),
    "cv.status.time_limit": ("达到时限 (见差距)", "Time limit (see gap)"),
    "cv.stage.travel_times": ("计算行驶时间", "Travel times"),
    "cv.stage.solving": ("求解中", "Solving"),
    "cv.stage.done": ("完成", "Done"),
    "cv.dl.sites_csv": ("下载新增点位 (CSV)", "Download new sites (CSV)"),
    "cv.dl.sites_geojson": ("下载新增点位 (GeoJSON)", "Download new sites (GeoJSON)"),
    "cv.dl.figures": ("下载前后对比 (CSV)", "Download before/after (CSV)"),
}
_PAIRS.update(_COVERAGE_PAIRS)

# Redistricting page (ui/page_redistrict.py), issue 5.
_REDISTRICT_PAIRS: dict[str, tuple[str, str]] = {
    "rd.intro": ("按工作量重新划分派出所辖区：自动优化或手工调整网格，保存为新方案并与现状比较。",
                 "Redraw station jurisdictions by workload: optimise or move cells by hand, save as a new plan and compare."),
    "rd.need_layers": ("辖区调整需要以下图层：{layers}", "Redistricting needs these layers: {layers}"),
    "rd.no_current": ("分析网格没有派出所字段 (station_id)：没有现状辖区，只能从派出所出发生成方案",
                      "The cells carry no station_id: there are no current jurisdictions, plans grow from the stations"),
    "rd.building": ("正在构建网格邻接关系…", "Building the cell adjacency…"),
    "rd.weight_cols": ("工作量字段", "Workload columns"),
    "rd.weight_help": ("每个字段按其总量的占比计入，再乘以系数", "Each column counts as its share of the total, times its factor"),
    "rd.factor": ("{col} 系数", "{col} factor"),
    "rd.err.no_weight": ("请至少选择一个系数大于 0 的工作量字段", "Choose at least one workload column with a factor above 0"),
    "rd.err.no_name": ("保存前请填写方案名称", "Give the plan a name before saving it"),
    "rd.optimise": ("自动优化", "Optimise"),
    "rd.max_dev": ("最大工作量偏差 (%)", "Max workload deviation (%)"),
    "rd.start": ("起点", "Start from"),
    "rd.start.current": ("现状辖区", "Current jurisdictions"),
    "rd.start.scratch": ("从派出所重新生成", "Scratch (grown from stations)"),
    "rd.start.edited": ("正在编辑的方案", "The plan being edited"),
    "rd.time_limit": ("时间上限 (秒)", "Time limit (s)"),
    "rd.seed": ("随机种子", "Random seed"),
    "rd.keep_townships": ("尽量不拆分街道/乡镇", "Keep townships whole"),
    "rd.min_change": ("少改动权重", "Minimal-change weight"),
    "rd.min_change_help": ("改动网格占比的惩罚系数 (0 = 不考虑改动量)",
                           "Penalty on the share of cells changed (0 = change does not matter)"),
    "rd.lock_stations": ("锁定派出所 (辖区不变)", "Locked stations (district unchanged)"),
    "rd.locked_cells_n": ("已锁定网格：{n} 个 (在“锁定”页签中设置)", "Locked cells: {n} (set in the Lock tab)"),
    "rd.run": ("开始优化", "Run optimiser"),
    "rd.stop": ("停止", "Stop"),
    "rd.running": ("正在优化…", "Optimising…"),
    "rd.progress": ("最大偏差 {dev}，已用 {s} 秒", "Max deviation {dev}, {s} s"),
    "rd.done": ("优化完成", "Optimisation finished"),
    "rd.stopped": ("已停止：保留目前最好的方案", "Stopped: the best plan so far is kept"),
    "rd.run_info": ("上次优化：{s} 秒，{it} 次尝试；达到 {target} 用时 {reached} 秒",
                    "Last run: {s} s, {it} proposals; reached {target} after {reached} s"),
    "rd.target_missed": ("未达到目标：最大偏差 {dev}，目标 {target}；可延长时间、放宽锁定或换起点",
                         "Target not met: max deviation {dev}, target {target}; allow more time, fewer locks or another start"),
    "rd.station_outside": ("有派出所所在网格不属于本所辖区", "Some station's own cell is outside its district"),
    "rd.m.max_dev": ("最大工作量偏差", "Max workload deviation"),
    "rd.m.max_dev_help": ("各所工作量相对平均值的最大偏差；箭头为相对现状的变化 (百分点)",
                          "Largest deviation of a station's workload from the mean; delta vs current (percentage points)"),
    "rd.m.contiguous": ("辖区连通", "Contiguous"),
    "rd.yes": ("是", "yes"),
    "rd.no_n": ("否 ({n} 个所不连通)", "no ({n} stations split)"),
    "rd.m.splits": ("被拆分的街道", "Townships split"),
    "rd.m.cells_changed": ("改动网格 (相对现状)", "Cells changed (vs current)"),
    "rd.m.pop_changed": ("改动人口", "Population changed"),
    "rd.map_current": ("现状辖区", "Current jurisdictions"),
    "rd.map_edited": ("调整方案 (虚线 = 改动网格；左上角工具可圈选)", "Proposed plan (dashed = changed cells; draw a lasso with the tools top left)"),
    "rd.workload": ("各所工作量", "Workload per station"),
    "rd.chart": ("相对平均工作量的偏差 (%)：调整前 / 调整后", "Deviation from the mean workload (%), before / after"),
    "rd.edit": ("手工调整", "Edit by hand"),
    "rd.undo": ("撤销", "Undo"),
    "rd.redo": ("重做", "Redo"),
    "rd.steps": ("可撤销 {n} 步，可重做 {m} 步；上一步：{last}", "{n} steps to undo, {m} to redo; last: {last}"),
    "rd.tab.ids": ("按网格编号", "By cell ids"),
    "rd.tab.lasso": ("圈选", "Lasso"),
    "rd.tab.township": ("整个街道", "Whole township"),
    "rd.tab.lock": ("锁定", "Lock"),
    "rd.ids": ("网格编号 (逗号分隔，可写 10-20)", "Cell ids (comma separated, ranges like 10-20)"),
    "rd.to_station": ("划入派出所", "Give to station"),
    "rd.apply": ("执行", "Apply"),
    "rd.moved": ("已将 {n} 个网格划入 {s}", "Moved {n} cells to {s}"),
    "rd.kept": ("{n} 个网格已锁定或为派出所所在网格，未移动", "{n} cells are locked or hold a station and stayed"),
    "rd.lasso_help": ("在右侧地图上用多边形或矩形工具圈出网格 (以网格中心点判断)，再选择派出所",
                      "Draw a polygon or rectangle on the proposed map (cells whose centre is inside), then choose the station"),
    "rd.lasso_none": ("尚未圈选", "Nothing drawn yet"),
    "rd.lasso_cells": ("圈内网格：{n} 个", "Cells inside: {n}"),
    "rd.no_townships": ("网格没有街道字段 (township_id)", "The cells carry no township_id"),
    "rd.township": ("街道/乡镇", "Township"),
    "rd.lock_help": ("锁定的网格在手工调整和自动优化中都保持原派出所", "Locked cells keep their station in hand edits and in the optimiser"),
    "rd.lock": ("锁定", "Lock"),
    "rd.unlock": ("解锁", "Unlock"),
    "rd.locked": ("已锁定 {n} 个网格", "Locked {n} cells"),
    "rd.unlocked": ("已解锁 {n} 个网格", "Unlocked {n} cells"),
    "rd.locked_list": ("已锁定：{ids}", "Locked: {ids}"),
    "rd.save": ("保存为新方案", "Save as a new plan"),
    "rd.plan_name": ("方案名称", "Plan name"),
    "rd.plan_note": ("备注", "Note"),
    "rd.parent": ("来源方案：{p}", "Parent plan: {p}"),
    "rd.save_btn": ("保存", "Save"),
    "rd.saved": ("已保存为方案 {id} (追加，不覆盖旧方案)", "Saved as plan {id} (appended; earlier plans untouched)"),
    "rd.history": ("方案历史", "Plan history"),
    "rd.no_versions": ("工作空间中还没有保存的方案", "The workspace holds no saved plan yet"),
    "rd.load_plan": ("载入方案继续编辑", "Load a plan to edit"),
    "rd.load": ("载入", "Load"),
    "rd.loaded": ("已载入方案 {id}", "Loaded plan {id}"),
    "rd.compare": ("方案比较", "Compare plans"),
    "rd.compare_a": ("方案 A (调整前)", "Plan A (before)"),
    "rd.compare_b": ("方案 B (调整后)", "Plan B (after)"),
    "rd.plan.edited": ("正在编辑的方案", "The plan being edited"),
    "rd.plan.current": ("现状辖区", "Current jurisdictions"),
    "rd.plan.saved": ("已保存方案 {id}", "Saved plan {id}"),
    "rd.cmp.cells": ("改动网格", "Cells moved"),
    "rd.cmp.population": ("涉及人口", "Population moved"),
    "rd.cmp.incidents": ("涉及警情", "Incidents moved"),
    "rd.cmp.area": ("涉及面积", "Area moved"),
    "rd.dl_changed": ("下载改动网格 (CSV)", "Download changed cells (CSV)"),
    "rd.export": ("导出辖区", "Export jurisdictions"),
    "rd.dl_gpkg": ("下载 GeoPackage (网格 + 辖区)", "Download GeoPackage (cells + jurisdictions)"),
    "rd.dl_geojson": ("下载辖区 (GeoJSON)", "Download jurisdictions (GeoJSON)"),
    "rd.dl_cells": ("下载网格归属 (CSV)", "Download cell assignment (CSV)"),
}
_PAIRS.update(_REDISTRICT_PAIRS)

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


# Road classes (values of road_edges.road_class, unchanged in the data) as shown to the user.
_ROAD_CLASS_PAIRS: dict[str, tuple[str, str]] = {
    "expressway": ("高速公路", "Expressway"),
    "national": ("国道", "National road"),
    "provincial": ("省道", "Provincial road"),
    "arterial": ("城市主干路", "Arterial road"),
    "street": ("城市支路", "Street"),
    "rural": ("县乡道", "Rural road"),
    "village": ("村道", "Village road"),
}
STRINGS.update({f"road.{_cls}": {"zh": _zh, "en": _en} for _cls, (_zh, _en) in _ROAD_CLASS_PAIRS.items()})
STRINGS.update({"map.road_class": {"zh": "道路等级", "en": "Road class"},
                "map.road_name": {"zh": "道路名称", "en": "Road name"}})
__all__ += ["road_class_label"]


def road_class_label(road_class: object, lang: str | None = None) -> str:
    """The display name of a road class in ``lang`` (the session's language when None).

    Known classes (``road.<class>`` strings, matched case-insensitively) are translated; unknown
    classes are shown as they are, and a missing class as ``""``.
    """
    value = "" if road_class is None else str(road_class).strip()
    if value in ("nan", "None", "<NA>"):
        return ""
    if value.lower() not in _ROAD_CLASS_PAIRS:
        return value
    return text(f"road.{value.lower()}", lang or current_language())
