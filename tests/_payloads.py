"""A workspace whose every text is an attack: script payloads in each name, id, kind and category
(shared helper for tests/test_xss.py and tests/test_browser_xss.py, not a test module).

The demo county (data/boundaries/demo_county.gpkg) with every value ``v`` of every text column
(and of ``cells.cell_id``) replaced by ``PAYLOAD + v``, one of ``PAYLOADS`` chosen by ``v`` itself, so
that an id keeps matching across layers (a cell's ``station_id`` still names its station) and
stays unique. Columns that are not names keep their values: incident times (parsed as times)
and the road network's numeric ids. The workspace's name is a payload too.
"""
from __future__ import annotations

import zlib
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "boundaries" / "demo_county.gpkg"

# Each opens a dialog when read as HTML (alert 1, 3), as script (2) or inside a JavaScript
# template literal (4: folium writes tooltips into one); the last is matplotlib mathtext, which
# must be drawn as the characters typed.
PAYLOADS = ("<img src=x onerror=alert(1)>", "<script>alert(2)</script>", "\"'><svg onload=alert(3)>",
            "${alert(4)}", "$x^2$")
# Markers of a payload that reached HTML unescaped.
RAW_MARKERS = ("<img src=x", "<script>alert", "<svg onload", "onerror=alert(1)>")
# Coded values the planners parse (times, opening hours, ring levels): a payload makes them
# invalid, which is an error of its own (shown escaped), not a name to draw.
KEEP = {("incidents", "time"), ("posts", "hours"), ("stations", "hours"), ("rings", "ring"),
        ("checkpoints", "ring")}
EXTRA_TEXT = {("cells", "cell_id")}     # a numeric id made text, so that it can carry a payload


def payload(value: object) -> str:
    """``value`` with the payload it gets (the same one wherever the value appears)."""
    v = str(value)
    return PAYLOADS[zlib.crc32(v.encode("utf-8")) % len(PAYLOADS)] + v


def _is_text(s: pd.Series) -> bool:
    return s.dtype == object or pd.api.types.is_string_dtype(s)


def write_payload_workspace(folder: str | Path, *, name: str = "payload.gpkg") -> Path:
    """Write the payload workspace into ``folder`` and return its path."""
    from geo.workspace import read_workspace, write_workspace
    ws = read_workspace(DEMO)
    layers = {}
    for layer, frame in ws.layers.items():
        out = frame.copy()
        for col in out.columns:
            if col == getattr(out, "_geometry_column_name", None) or (layer, col) in KEEP:
                continue
            if _is_text(out[col]) or (layer, col) in EXTRA_TEXT:
                out[col] = [None if v is None or (isinstance(v, float) and v != v) else payload(v)
                            for v in out[col]]
        layers[layer] = out
    # A saved plan (every 40th cell given to the next station) with a payload name and note, for
    # the plan history, the comparison and the briefing's before/after section.
    cells = layers["cells"]
    ids = sorted(set(cells["station_id"].dropna()))
    moved = [ids[(ids.index(s) + 1) % len(ids)] if k % 40 == 0 else s
             for k, s in enumerate(cells["station_id"])]
    layers["plans"] = pd.DataFrame({"plan_id": [1], "name": [payload("方案")], "note": [payload("note")],
                                    "author": [payload("author")], "created": ["2026-01-02T00:00:00+00:00"]})
    layers["plan_cells"] = pd.DataFrame({"plan_id": 1, "cell_id": cells["cell_id"].to_numpy(),
                                         "station_id": moved})
    ws = ws.with_layers(**layers).with_meta(name=payload(ws.name))
    return write_workspace(ws, Path(folder) / name)
