"""HiGHS models come from one helper (``planning.highs.new_highs``): silent, one thread, and
the banner HiGHS prints at the first model of a process reaches neither stdout nor stderr."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
from planning.highs import new_highs
h = new_highs()
x = h.addVariable(lb=0, ub=4)
h.addConstr(x >= 1.5)
h.minimize(x)
print("x", h.getSolution().col_value[0], "threads", h.getOptionValue("threads")[1],
      "output", h.getOptionValue("output_flag")[1])
new_highs().minimize(new_highs().addVariable(lb=0, ub=1))
"""


def test_first_model_prints_no_banner_and_runs_silently_on_one_thread():
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "x 1.5 threads 1 output False\n"  # no "Running HiGHS …" line
    assert done.stderr == ""


def test_every_highs_model_is_made_by_the_helper():
    makers = []
    for folder in ("geo", "planning", "ui", "server"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name == "highs.py" and path.parent.name == "planning":
                continue
            text = path.read_text(encoding="utf-8")
            makers += [f"{path.relative_to(ROOT)}" for _ in re.finditer(r"\bHighs\(\)", text)]
    makers += [f"{p.name}" for p in [ROOT / "cli.py"] if re.search(r"\bHighs\(\)", p.read_text())]
    assert makers == []
