"""The boundary audit's tables for people, in Chinese or English: headers, units and values.

One source for the app's audit page and the audit reports. Headers are words in the chosen
language (never column names such as ``main_share``); shares are percent with one decimal,
people are 人 and incidents 起, whole numbers. Areas follow one rule, stated in each header:
a column whose median is at least 1 km² is in km² with one decimal, any other (slivers, small
grids) in m² rounded to whole numbers. Ids and names from data stay as they are (text): whoever
writes them into HTML or Markdown escapes them (``geo.markup``).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from geo.audit import CLASSES, BoundaryAudit, unit_crosswalk
from geo.errors import InputError
from geo.validate import LAYERS

__all__ = ["LANGUAGES", "audit_text", "unit_names", "readable_area", "area_text", "severity_table",
           "defects_table", "defect_texts", "pieces_table", "unit_table", "class_table", "rule_lines",
           "summary_lines", "KM2_FROM_M2"]

LANGUAGES = ("zh", "en")
KM2_FROM_M2 = 1_000_000.0  # an area column is in km² when its median is at least this (m²)

# key -> (zh, en); {police}/{admin}/{other} are the unit names, {u} an area unit.
_TEXTS: dict[str, tuple[str, str]] = {
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "police_units": ("公安单元", "police units"),
    "admin_units": ("行政单元", "civil units"),
    "station": ("派出所", "station"),
    # severity
    "h.side": ("单元类型", "Unit type"),
    "h.id": ("编号", "Id"),
    "h.counterparts": ("对应单元数", "Counterparts"),
    "h.main": ("主要对应单元", "Main counterpart"),
    "h.main_share": ("主要对应单元占比 (%)", "Main counterpart's share (%)"),
    "h.minority_area": ("其余部分面积 ({u})", "Area elsewhere ({u})"),
    "h.minority_population": ("其余部分人口 (人)", "People elsewhere"),
    "h.minority_incidents": ("其余部分警情 (起)", "Incidents elsewhere"),
    # defects
    "h.kind": ("类型", "Kind"),
    "h.rule": ("判定依据", "Rule"),
    "h.area": ("面积 ({u})", "Area ({u})"),
    "h.involved": ("涉及的{units}", "{units} involved"),
    "kind.gap": ("空白区", "gap"),
    "kind.overlap": ("重叠区", "overlap"),
    "kind.sliver": ("碎片", "sliver"),
    "defect.gap": ("在研究范围内但不属于任何{police}", "in the study area but in no {police}"),
    "defect.overlap": ("同时属于两个及以上{police}", "inside two or more {police}"),
    "defect.sliver_area": ("面积小于 {a:g} m²", "smaller than {a:g} m²"),
    "defect.sliver_width": ("各处宽度均小于 {w:g} m", "narrower than {w:g} m everywhere"),
    # pieces of one unit
    "h.population": ("人口 (人)", "People"),
    "h.incidents": ("警情 (起)", "Incidents"),
    "h.share_of": ("占该{units}的比例 (%)", "Share of the {units} (%)"),
    "h.significant": ("达到最小占比", "At least the minimum share"),
    "h.sliver": ("碎片", "Sliver"),
    # unit crosswalk
    "h.belongs": ("主要所属{other}", "Main {other}"),
    "h.belongs_share": ("在其中的比例 (%)", "Share inside it (%)"),
    "h.n_other": ("涉及{other}数 (≥最小占比)", "{other} holding ≥ the minimum share"),
    "h.split": ("是否拆分", "Split"),
    "h.unit_area": ("面积 ({u})", "Area ({u})"),
    "h.station": ("主要所属派出所", "Main station"),
    "h.station_share": ("在该所的比例 (%)", "Share in that station (%)"),
    "h.station_record": ("登记的派出所", "Station on record"),
    # classes
    "h.class": ("对应关系", "Relation"),
    "h.pairs": ("对应对数", "Pairs"),
    "h.police_n": ("{police}数", "{police}"),
    "h.admin_n": ("{admin}数", "{admin}"),
    "class.one_to_one": ("一对一", "one to one"),
    "class.police_spans_many": ("{police}跨多个{admin}", "{police} spanning several {admin}"),
    "class.admin_split_among_many": ("{admin}分属多个{police}", "{admin} split among several {police}"),
    "class.many_to_many": ("多对多", "many to many"),
    "class.unmatched": ("无对应", "unmatched"),
    # summary
    "s.police": ("{police}：{n:,} 个，其中跨两个及以上{admin}的 {k:,} 个",
                 "{Police}: {n:,}, of which {k:,} span two or more {admin}"),
    "s.admin": ("{admin}：{n:,} 个，其中分属两个及以上{police}的 {k:,} 个",
                "{Admin}: {n:,}, of which {k:,} are split among two or more {police}"),
    "s.defects": ("空白区 {gaps}，重叠区 {overlaps}，碎片 {slivers:,} 处",
                  "Gaps {gaps}, overlaps {overlaps}, slivers {slivers:,}"),
    "s.weight": ("权重：{weight}；最小占比 {share}；工作坐标系 {crs}",
                 "Weight: {weight}; minimum share {share}; working CRS {crs}"),
    "weight.area": ("面积", "area"),
    "weight.population": ("人口", "population"),
    "weight.incidents": ("警情", "incidents"),
    # rules
    "r.split": ("拆分", "Split"),
    "r.split.text": ("两个及以上对应单元各占该单元{weight}的 {share} 以上",
                     "two or more counterparts each hold at least {share} of the unit's {weight}"),
    "r.sliver": ("碎片", "Sliver"),
    "r.sliver.text": ("面积小于 {a:g} m² 或各处宽度均小于 {w:g} m 的交叉片区；碎片不计入拆分",
                      "a piece smaller than {a:g} m² or narrower than {w:g} m everywhere; slivers "
                      "never count as splits"),
    "r.gap": ("空白区", "Gap"),
    "r.gap.text": ("研究范围（{study}）内不属于任何{police}的部分",
                   "part of the study area ({study}) in no {police}"),
    "r.study.given": ("给定的研究范围", "the given area"),
    "r.study.union": ("全部{admin}的合并范围", "the union of the {admin}"),
    "r.overlap": ("重叠区", "Overlap"),
    "r.overlap.text": ("同时属于两个及以上{police}的部分", "part inside two or more {police}"),
    "r.noise": ("忽略", "Noise"),
    "r.noise.text": ("不大于 {m:g} m² 的空白与重叠视为计算误差，不列出",
                     "gaps and overlaps of at most {m:g} m² are rounding noise and not listed"),
    "r.container": ("包含关系", "Containment"),
    "r.container.text": ("按设计每个{big}包含若干完整的{small}：{big}跨多个{small}属正常，不参与排序；"
                         "需要处理的是分属多个{big}的{small}",
                         "each {big} is meant to hold whole {small}: a {big_one} spanning several "
                         "{small} is the design and is not ranked; what needs fixing are {small} "
                         "split among several {big}"),
    # map legend and report headings
    "map.admin": ("{admin}边界", "{admin} boundaries"),
    "map.police": ("{police}边界", "{police} boundaries"),
    "map.main": ("拆分单元：主要部分", "split unit: main part"),
    "map.elsewhere": ("拆分单元：分出去的部分", "split unit: part elsewhere"),
    "map.gap": ("空白区", "gap"),
    "map.overlap": ("重叠区", "overlap"),
    "map.sliver": ("碎片", "sliver"),
    "rep.title": ("辖区比对报告：{police}与{admin}", "Boundary audit: {police} vs {admin}"),
    "rep.generated": ("生成时间：{time}（{tz}）", "Generated {time} ({tz})"),
    "rep.summary": ("概要", "Summary"),
    "rep.classes": ("对应关系", "Relations"),
    "rep.map": ("地图", "Map"),
    "rep.map_alt": ("辖区比对地图", "Map of the audit"),
    "rep.rules": ("判定规则", "Rules"),
    "rep.splits": ("拆分单元（按分出去的部分从大到小，前 {top} 个）",
                   "Splits, worst first (by the part elsewhere; top {top})"),
    "rep.defects": ("空白、重叠与碎片（按面积从大到小，前 {top} 个）",
                    "Gaps, overlaps and slivers, largest first (top {top})"),
    "rep.units": ("归属对照（拆分的{units}，全部见 units.csv）",
                  "Where the split {units} belong (all of them in units.csv)"),
    "rep.warnings": ("数据提示", "Warnings"),
    "rep.none": ("（无）", "(none)"),
    "r.area": ("面积单位", "Area units"),
    "r.area.text": ("中位数不小于 1 km² 的面积列以 km² 显示（一位小数），其余以 m² 显示（取整）",
                    "a column whose median is at least 1 km² is in km² (one decimal), any other "
                    "in m² (whole numbers)"),
}


def audit_text(key: str, lang: str, **fields: object) -> str:
    """The audit text ``key`` in ``lang`` (``zh`` or ``en``) with ``fields`` filled in."""
    _check_lang(lang)
    zh, en = _TEXTS[key]
    value = zh if lang == "zh" else en
    return value.format(**fields) if fields else value


def _check_lang(lang: str) -> None:
    if lang not in LANGUAGES:
        raise InputError(f"`lang` was {lang!r} but is expected to be one of {list(LANGUAGES)}")


def unit_names(audit: BoundaryAudit, lang: str, names: Mapping[str, str] | None = None) -> dict[str, str]:
    """What the police and admin units are called in ``lang``: ``names`` when given (the app's
    layer names), else the workspace layer's Chinese name (``LAYERS``) in Chinese and its layer
    name in words in English (``police grids``)."""
    _check_lang(lang)
    out = {}
    for side, layer in (("police", audit.police_layer), ("admin", audit.admin_layer)):
        if names and names.get(side):
            out[side] = str(names[side])
        elif lang == "zh" and layer in LAYERS:
            out[side] = LAYERS[layer].zh.split(" (")[0]
        else:
            out[side] = layer.replace("_", " ")
    if out["police"] == out["admin"]:  # the same layer on both sides: say which side is which
        for side in out:
            out[side] += f" ({audit_text(f'{side}_units', lang)})"
    return out


def _lower(name: str, lang: str) -> str:
    return name.lower() if lang == "en" else name


def readable_area(values_m2: pd.Series | np.ndarray, *, lang: str = "zh") -> tuple[np.ndarray, str]:
    """Areas for people: (values, unit). km² with one decimal when the median of the finite
    values is at least 1 km² (``KM2_FROM_M2``), else m² rounded to whole numbers."""
    v = np.asarray(values_m2, dtype=float)
    finite = v[np.isfinite(v)]
    if len(finite) and float(np.median(finite)) >= KM2_FROM_M2:
        return np.round(v / KM2_FROM_M2, 1), "km²"
    return np.round(v, 0), "m²"


def _percent(share) -> np.ndarray:
    return np.round(np.asarray(share, dtype=float) * 100.0, 1)


def _count(values) -> np.ndarray:
    return np.round(np.asarray(values, dtype=float), 0)


def _yes_no(values, lang: str) -> list[str]:
    yes, no = audit_text("yes", lang), audit_text("no", lang)
    return [yes if bool(v) else no for v in values]


def _ids(values) -> list[str]:
    return ["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in values]


def severity_table(audit: BoundaryAudit, *, lang: str = "zh", names: Mapping[str, str] | None = None,
                   top: int | None = None) -> pd.DataFrame:
    """The split units worst first (``audit.severity``) with headers and values in ``lang``."""
    n = unit_names(audit, lang, names)
    sev = audit.severity if top is None else audit.severity.head(top)
    out = pd.DataFrame({
        audit_text("h.side", lang): [n[s] for s in sev["side"]],
        audit_text("h.id", lang): _ids(sev["id"]),
        audit_text("h.counterparts", lang): sev["counterparts"].to_numpy(),
        audit_text("h.main", lang): _ids(sev["main"]),
        audit_text("h.main_share", lang): _percent(sev["main_share"]),
    })
    area, unit = readable_area(sev["minority_area_m2"], lang=lang)
    out[audit_text("h.minority_area", lang, u=unit)] = area
    for col, key in (("minority_population", "h.minority_population"),
                     ("minority_incidents", "h.minority_incidents")):
        if col in sev.columns:
            out[audit_text(key, lang)] = _count(sev[col])
    return out


def _defect_rules(audit: BoundaryAudit, defects: pd.DataFrame, lang: str, police: str) -> list[str]:
    a = audit.params.get("sliver_area_m2", 100.0)
    w = audit.params.get("sliver_width_m", 5.0)
    out = []
    for kind, area in zip(defects["kind"], defects["area_m2"]):
        if kind == "sliver":
            out.append(audit_text("defect.sliver_area", lang, a=a) if area < a
                       else audit_text("defect.sliver_width", lang, w=w))
        else:
            out.append(audit_text(f"defect.{kind}", lang, police=police))
    return out


def defect_texts(audit: BoundaryAudit, *, lang: str = "zh",
                 names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Each defect's kind and rule in words of ``lang`` (columns ``kind``, ``rule``), in the order
    and with the index of ``audit.defects`` (for map tooltips)."""
    n = unit_names(audit, lang, names)
    d = audit.defects
    return pd.DataFrame({"kind": [audit_text(f"kind.{k}", lang) for k in d["kind"]],
                         "rule": _defect_rules(audit, d, lang, _lower(n["police"], lang))},
                        index=d.index)


def defects_table(audit: BoundaryAudit, *, lang: str = "zh", names: Mapping[str, str] | None = None,
                  top: int | None = None) -> pd.DataFrame:
    """Gaps, overlaps and slivers, largest first, with headers and values in ``lang``."""
    n = unit_names(audit, lang, names)
    d = pd.DataFrame(audit.defects.drop(columns=audit.defects.geometry.name))
    words = defect_texts(audit, lang=lang, names=names)
    d = d.assign(kind_text=words["kind"], rule_text=words["rule"])
    d = d.sort_values("area_m2", ascending=False, kind="stable")
    if top is not None:
        d = d.head(top)
    area, unit = readable_area(d["area_m2"], lang=lang)
    return pd.DataFrame({
        audit_text("h.kind", lang): d["kind_text"].tolist(),
        audit_text("h.rule", lang): d["rule_text"].tolist(),
        audit_text("h.area", lang, u=unit): area,
        audit_text("h.involved", lang, units=n["police"]): _ids(d["police"]),
        audit_text("h.involved", lang, units=n["admin"]): _ids(d["admin"]),
    })


def pieces_table(audit: BoundaryAudit, *, side: str, unit: str, lang: str = "zh",
                 names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The pieces of one unit (``side`` ``"police"``/``"admin"``, id ``unit``): its counterparts
    and their shares, largest share of the unit first, with headers and values in ``lang``."""
    n = unit_names(audit, lang, names)
    rows = audit.pieces[audit.pieces[side].astype(str) == str(unit)]
    rows = rows.sort_values(f"share_of_{side}", ascending=False, kind="stable")
    out = pd.DataFrame({n["police"]: _ids(rows["police"]), n["admin"]: _ids(rows["admin"])})
    area, u = readable_area(rows["area_m2"], lang=lang)
    out[audit_text("h.area", lang, u=u)] = area
    for col, key in (("population", "h.population"), ("incidents", "h.incidents")):
        if col in rows.columns:
            out[audit_text(key, lang)] = _count(rows[col])
    for s in ("police", "admin"):
        out[audit_text("h.share_of", lang, units=_lower(n[s], lang))] = _percent(rows[f"share_of_{s}"])
    out[audit_text("h.significant", lang)] = _yes_no(rows["significant"], lang)
    out[audit_text("h.sliver", lang)] = _yes_no(rows["sliver"], lang)
    return out


def unit_table(audit: BoundaryAudit, *, lang: str = "zh", names: Mapping[str, str] | None = None,
               side: str | None = None) -> pd.DataFrame:
    """Which unit each unit belongs to (``geo.audit.unit_crosswalk``): which grid lies in which
    police grid and station, with headers and values in ``lang``."""
    n = unit_names(audit, lang, names)
    cw = unit_crosswalk(audit, side=side)
    side = side or ("police" if audit.container == "admin" else "admin")
    other = n["admin" if side == "police" else "police"]
    out = pd.DataFrame({n[side]: _ids(cw["id"]),
                        audit_text("h.belongs", lang, other=_lower(other, lang)): _ids(cw["main"]),
                        audit_text("h.belongs_share", lang): _percent(cw["main_share"]),
                        audit_text("h.n_other", lang, other=other): cw["counterparts"].to_numpy(),
                        audit_text("h.split", lang): _yes_no(cw["split"], lang)})
    area, unit = readable_area(cw["area_m2"], lang=lang)
    out[audit_text("h.unit_area", lang, u=unit)] = area
    if "station" in cw.columns and side == "admin":
        out[audit_text("h.station", lang)] = _ids(cw["station"])
        out[audit_text("h.station_share", lang)] = _percent(cw["station_share"])
    elif "station" in cw.columns:
        out[audit_text("h.station_record", lang)] = _ids(cw["station"])
    return out


def class_table(audit: BoundaryAudit, *, lang: str = "zh",
                names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Significant pairs and units per relation class, with headers and values in ``lang``."""
    n = unit_names(audit, lang, names)
    pairs = audit.class_counts()
    units = audit.unit_classes()
    keys = CLASSES + ("unmatched",)
    return pd.DataFrame({
        audit_text("h.class", lang): [audit_text(f"class.{k}", lang, police=n["police"], admin=n["admin"])
                                      for k in keys],
        audit_text("h.pairs", lang): [pairs.get(k, 0) for k in keys],
        audit_text("h.police_n", lang, police=n["police"]): [units["police"][k] for k in keys],
        audit_text("h.admin_n", lang, admin=n["admin"]): [units["admin"][k] for k in keys],
    })


def area_text(m2: float) -> str:
    """One area for people: km² with one decimal from 1 km² on, else m² as a whole number."""
    return f"{m2 / KM2_FROM_M2:,.1f} km²" if m2 >= KM2_FROM_M2 else f"{m2:,.0f} m²"


def summary_lines(audit: BoundaryAudit, *, lang: str = "zh",
                  names: Mapping[str, str] | None = None) -> list[str]:
    """The headline figures as sentences in ``lang`` (plain text: escape before writing markup)."""
    n = unit_names(audit, lang, names)
    p_name, a_name = n["police"], n["admin"]
    kinds = audit.defects["kind"].value_counts()
    weight = audit_text(f"weight.{audit.weight}", lang)
    return [
        audit_text("s.police", lang, police=p_name, Police=p_name[:1].upper() + p_name[1:],
                   admin=_lower(a_name, lang), n=len(audit.police), k=len(audit.split_police)),
        audit_text("s.admin", lang, admin=a_name, Admin=a_name[:1].upper() + a_name[1:],
                   police=_lower(p_name, lang), n=len(audit.admin), k=len(audit.split_admin)),
        audit_text("s.defects", lang, gaps=area_text(audit.gaps_m2),
                   overlaps=area_text(audit.overlaps_m2), slivers=int(kinds.get("sliver", 0))),
        audit_text("s.weight", lang, weight=weight, share=f"{audit.min_share:.0%}",
                   crs=audit.crs.to_string()),
    ]


def rule_lines(audit: BoundaryAudit, *, lang: str = "zh",
               names: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """The rules of the audit as (name, text) in ``lang`` (plain text)."""
    n = unit_names(audit, lang, names)
    police, admin = _lower(n["police"], lang), _lower(n["admin"], lang)
    p = audit.params
    study = audit_text("r.study.given", lang) if p.get("study_area") else \
        audit_text("r.study.union", lang, admin=admin)
    rules = [
        ("r.split", audit_text("r.split.text", lang, share=f"{audit.min_share:.0%}",
                               weight=audit_text(f"weight.{audit.weight}", lang))),
        ("r.sliver", audit_text("r.sliver.text", lang, a=p.get("sliver_area_m2", 100.0),
                                w=p.get("sliver_width_m", 5.0))),
        ("r.gap", audit_text("r.gap.text", lang, study=study, police=police)),
        ("r.overlap", audit_text("r.overlap.text", lang, police=police)),
        ("r.noise", audit_text("r.noise.text", lang, m=p.get("defect_min_m2", 1.0))),
    ]
    if audit.container is not None:
        big, small = (police, admin) if audit.container == "police" else (admin, police)
        big_one = big[:-1] if lang == "en" and big.endswith("s") else big
        rules.append(("r.container", audit_text("r.container.text", lang, big=big, small=small,
                                                 big_one=big_one)))
    rules.append(("r.area", audit_text("r.area.text", lang)))
    return [(audit_text(k, lang), v) for k, v in rules]
