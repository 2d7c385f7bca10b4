"""Validation problems in the interface language: every rule has a Chinese title and fix.

The rule names are found by reading the source (``Problem(...)`` calls and the local helpers
that build them), so a new rule without ``rule.*``/``rulefix.*`` strings fails here.
"""
from __future__ import annotations

import ast
from pathlib import Path

import geopandas as gpd
from shapely.geometry import Point

from geo.errors import Problem
from geo.validate import check_layer
from ui.i18n import LANGUAGES, STRINGS
from ui.report import problems_table

from .conftest import METRIC

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("geo", "planning", "ui")

# Rules built at run time rather than written as literals:
# ui/errors.py turns a caught GridPatrolError (not a ValidationError, whose problems are shown
# as they are) into one problem whose rule is the exception's class name.
DYNAMIC_SITES = {("ui/errors.py", "type(exc).__name__"), ("geo/build.py", "f'no_{column}'"),
                 ("geo/build.py", "f'{column}_by_overlap'"), ("planning/placement.py", "rule")}
_LABELLED = ("township_id", "station_id", "community_id", "pgrid_id")  # geo.build._labelled columns
# planning.placement.cost_tables: the rules of its table checks (a list of mask, rule, message, fix)
_TABLE_RULES = {"blank_ids", "duplicate_ids", "duplicate_pairs", "not_a_number", "negative", "unknown_ids"}
DYNAMIC_RULES = {"GridPatrolError", "InputError", "CRSError", "PatrolInfeasible", "SealInfeasible",
                 *(f"no_{c}" for c in _LABELLED), *(f"{c}_by_overlap" for c in _LABELLED), *_TABLE_RULES}


def _has_cjk(s: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in s)


def _func_name(node: ast.Call) -> str | None:
    f = node.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None


def _params(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    return [a.arg for a in (*fn.args.posonlyargs, *fn.args.args)]


def _rule_arg(call: ast.Call, index: int, name: str) -> ast.expr | None:
    """The argument at ``index`` (or given as ``name=``) of ``call``; None when absent."""
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    if index < len(call.args) and not any(isinstance(a, ast.Starred) for a in call.args[:index + 1]):
        return call.args[index]
    return None


def _scan_module(tree: ast.Module) -> tuple[set[str], list[tuple[int, str]]]:
    """(rule literals, [(line, expression) of non-literal rules]) of one module."""
    # Builders: Problem itself, then (to a fixed point) functions that pass one of their own
    # parameters on as the rule of a builder.
    builders: dict[str, tuple[int, str]] = {"Problem": (2, "rule")}
    functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    changed = True
    while changed:
        changed = False
        for fn in functions:
            if fn.name in builders:
                continue
            params = _params(fn)
            for call in (n for n in ast.walk(fn) if isinstance(n, ast.Call)):
                name = _func_name(call)
                if name not in builders:
                    continue
                arg = _rule_arg(call, *builders[name])
                if isinstance(arg, ast.Name) and arg.id in params:
                    index = params.index(arg.id)
                    if params and params[0] in ("self", "cls"):
                        index -= 1
                    builders[fn.name] = (index, arg.id)
                    changed = True
                    break

    # Parameters that builders pass through are not rules themselves.
    passthrough: set[int] = set()
    for fn in functions:
        if fn.name in builders and fn.name != "Problem":
            passthrough |= {id(n) for n in ast.walk(fn)
                            if isinstance(n, ast.Name) and n.id == builders[fn.name][1]}

    literals: set[str] = set()
    dynamic: list[tuple[int, str]] = []
    for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
        name = _func_name(call)
        if name not in builders:
            continue
        arg = _rule_arg(call, *builders[name])
        if arg is None:
            dynamic.append((call.lineno, "<missing rule argument>"))
        elif isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            literals.add(arg.value)
        elif id(arg) not in passthrough:
            dynamic.append((call.lineno, ast.unparse(arg)))
    return literals, dynamic


def _scan() -> tuple[set[str], set[tuple[str, str]]]:
    rules: set[str] = set()
    dynamic: set[tuple[str, str]] = set()
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text("utf-8"), filename=str(path))
            literals, sites = _scan_module(tree)
            rules |= literals
            rel = path.relative_to(ROOT).as_posix()
            dynamic |= {(rel, expr) for _, expr in sites}
    return rules, dynamic


def _error_family() -> set[str]:
    """Every GridPatrolError class defined in the scanned code, except ValidationErrors."""
    bases: dict[str, set[str]] = {}
    for folder in ("geo", "planning", "ui"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if isinstance(node, ast.ClassDef):
                    bases[node.name] = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "")
                                        for b in node.bases}
    family, validation = {"GridPatrolError"}, {"ValidationError"}
    changed = True
    while changed:
        changed = False
        for name, parents in bases.items():
            for group in (validation, family):
                if name not in group and parents & group:
                    group.add(name)
                    changed = True
    return family - validation


def test_the_scan_finds_the_known_rules():
    rules, _ = _scan()
    assert {"empty_layer", "no_crs", "null_ids", "duplicate_ids", "missing_column", "no_edges",
            "bad_speed", "station_outside_jurisdiction", "unreadable", "working_crs",
            "unreachable_cells", "mip_infeasible", "stations_share_cell"} <= rules
    assert len(rules) >= 37, sorted(rules)


def test_every_rule_is_a_literal_or_listed_as_dynamic():
    _, dynamic = _scan()
    assert dynamic == DYNAMIC_SITES, (
        "a Problem rule is built at run time; list the site in DYNAMIC_SITES and its possible "
        f"names in DYNAMIC_RULES: {sorted(dynamic - DYNAMIC_SITES)}")
    family = _error_family()
    labelled = {f"no_{c}" for c in _LABELLED} | {f"{c}_by_overlap" for c in _LABELLED} | _TABLE_RULES
    assert family == DYNAMIC_RULES - labelled, (
        f"the GridPatrolError classes changed; update DYNAMIC_RULES: {sorted(family ^ (DYNAMIC_RULES - labelled))}")


def test_every_rule_has_a_title_and_a_fix_in_both_languages():
    rules, _ = _scan()
    missing = []
    for rule in sorted(rules | DYNAMIC_RULES):
        for prefix in ("rule", "rulefix"):
            entry = STRINGS.get(f"{prefix}.{rule}")
            if entry is None or set(entry) != set(LANGUAGES) or not all(v.strip() for v in entry.values()):
                missing.append(f"{prefix}.{rule}")
            elif not _has_cjk(entry["zh"]) or _has_cjk(entry["en"]):
                missing.append(f"{prefix}.{rule} (zh must be Chinese, en English)")
    assert not missing, f"add these to _PAIRS in ui/i18n.py: {missing}"


# ----------------------------------------------------------------------------------------------
# The table on problems found by a validator.

def _pts(ids, crs):
    return gpd.GeoDataFrame({"station_id": ids}, geometry=[Point(i, i) for i in range(len(ids))], crs=crs)


def _problems() -> list[Problem]:
    """A null id and no CRS in one layer, duplicate ids in another (check_layer stops early)."""
    no_crs = check_layer(_pts(["A", None, "C"], None), "stations", source="派出所.csv").problems
    dup = check_layer(_pts(["A", "A", "B"], METRIC), "stations", source="派出所.csv").problems
    assert sorted(p.rule for p in no_crs) == ["no_crs", "null_ids"]
    assert [p.rule for p in dup] == ["duplicate_ids"]
    return no_crs + dup


def test_chinese_table_has_the_chinese_title_and_keeps_the_details():
    problems = _problems()
    table = problems_table(problems, lang="zh")
    assert list(table.columns) == ["图层", "文件", "规则", "问题", "涉及编号", "处理办法"]
    rows = {p.rule: row for p, (_, row) in zip(problems, table.iterrows())}

    null = rows["null_ids"]
    assert null["规则"] == "null_ids"  # bare: tests/test_app.py finds rows by it
    assert null["问题"] == "编号为空：1 features have no station_id"
    assert null["涉及编号"] == "#2"
    assert null["处理办法"] == ("为每个要素填写编号，或删除这些行"
                            "（give every feature a station_id or delete those rows）")
    assert null["图层"] == "派出所 (stations)" and null["文件"] == "派出所.csv"

    dup = rows["duplicate_ids"]
    assert dup["规则"] == "duplicate_ids"
    assert dup["问题"].startswith("编号重复：") and "1 ids are used by more than one point" in dup["问题"]
    assert dup["涉及编号"] == "A (x2)"
    assert dup["处理办法"].startswith("确保每个要素的编号唯一（") and "station_id" in dup["处理办法"]

    crs = rows["no_crs"]
    assert crs["问题"] == "缺少坐标系：the layer has no coordinate reference system"
    assert "坐标系" in crs["处理办法"] and ".prj" in crs["处理办法"] and "`layer_crs`" in crs["处理办法"]


def test_english_table_is_unchanged():
    problems = _problems()
    table = problems_table(problems, lang="en")
    assert list(table.columns) == ["Layer", "File", "Rule", "Problem", "Ids", "Fix"]
    for p, (_, row) in zip(problems, table.iterrows()):
        assert row["Rule"] == p.rule
        assert row["Problem"] == p.message
        assert row["Fix"] == p.fix
        assert row["File"] == "派出所.csv" and row["Layer"] == "Police stations (stations)"
    assert table.iloc[0]["Ids"] in ("#2", "")


def test_unknown_rules_and_empty_fixes_fall_back_quietly():
    folder = "/tmp/gridpatrol-x/uploads"
    odd = Problem(f"{folder}/0a1b/a.csv", "stations", "some_new_rule",
                  f"{folder}/0a1b/a.csv: odd", "do this")
    plain = Problem("", "", "InputError", "cell size was -1", "")
    read = Problem("b.gpkg", "area", "unreadable", "cannot open b.gpkg", "see the message")
    table = problems_table([odd, plain, read], lang="zh", hide_folders=[folder])
    assert list(table.iloc[0][["规则", "问题", "处理办法"]]) == ["some_new_rule", "a.csv: odd", "do this"]
    assert table.iloc[1]["规则"] == "InputError"
    assert table.iloc[1]["问题"] == "输入有误：cell size was -1"
    assert "（" not in table.iloc[1]["处理办法"]  # no empty parentheses
    assert table.iloc[2]["问题"] == "文件无法读取：cannot open b.gpkg"
    assert "see the message" not in table.iloc[2]["处理办法"]
