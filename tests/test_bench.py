"""`make bench` runs every benchmark: each bench/bench_*.py imports and has main(argv)."""
from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.mark.parametrize("name", sorted(p.stem for p in BENCH.glob("bench_*.py")))
def test_every_benchmark_has_a_main_taking_argv(name):
    module = importlib.import_module(f"bench.{name}")
    main = getattr(module, "main", None)
    assert callable(main), f"bench/{name}.py has no main(); `python -m bench` calls main([])"
    params = list(inspect.signature(main).parameters)
    assert params[:1] == ["argv"], f"bench/{name}.py main{inspect.signature(main)} must take argv"
