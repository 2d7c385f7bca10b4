"""The one rule of the layout: geo/, planning/ and server/ never import streamlit or folium, and
dependencies point one way: app/cli -> ui -> server -> planning -> geo."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("geo", "planning", "server")
# What each package may not import (the layers above it).
UPWARD = {"geo": {"ui", "app", "cli", "server", "planning"}, "planning": {"ui", "app", "cli", "server"},
          "server": {"ui", "app", "cli"}}
FORBIDDEN = ("streamlit", "folium", "streamlit_folium", "branca")


def _modules() -> list[tuple[str, Path]]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found.append((".".join(parts), path))
    return found


def _imported_roots(tree: ast.AST) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None))
              in ("import_module", "__import__") and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            roots.add(node.args[0].value.split(".")[0])
    return roots


def test_there_are_modules_to_check():
    names = [name for name, _ in _modules()]
    assert "geo" in names and "planning" in names and "geo.workspace" in names and "server.accounts" in names


@pytest.mark.parametrize("name,path", _modules(), ids=[n for n, _ in _modules()])
def test_source_does_not_import_ui_libraries(name, path):
    roots = _imported_roots(ast.parse(path.read_text("utf-8"), filename=str(path)))
    bad = sorted(roots & set(FORBIDDEN))
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}; only ui/ and app.py may"
    upward = roots & UPWARD[name.split(".")[0]]
    assert not upward, f"{path.relative_to(ROOT)} imports upward: {sorted(upward)}"


def test_importing_every_module_loads_no_ui_library():
    names = [name for name, _ in _modules()]
    code = (
        "import importlib, json, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {list(FORBIDDEN)!r})))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded == [], f"importing geo/planning loaded {loaded}"
