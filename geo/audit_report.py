"""Writing a boundary audit to a folder: crosswalk CSV, GeoPackage of defects and split pieces, report.

The files are written to a temporary folder beside ``out_dir`` and moved in only when all of them
are complete, so a failure leaves nothing half-written. Unit ids and names come from users' files:
the reports escape them (``geo.markup``), and the CSV's text cells never start a formula.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from geo.atomic import atomic_path
from geo.audit import BoundaryAudit
from geo.markup import escape_html, escape_markdown, spreadsheet_safe

__all__ = ["write_audit", "report_markdown", "report_html", "OUTPUT_FILES"]

OUTPUT_FILES = ("crosswalk.csv", "audit.gpkg", "report.md", "report.html")
_CROSSWALK_COLUMNS = ["police", "admin", "area_m2", "population", "incidents", "weight",
                      "share_of_police", "share_of_admin", "significant", "sliver", "relation"]


def crosswalk_table(audit: BoundaryAudit) -> pd.DataFrame:
    """The crosswalk as a plain table (no geometry), the columns of ``crosswalk.csv``."""
    cols = [c for c in _CROSSWALK_COLUMNS if c in audit.pieces.columns]
    return pd.DataFrame(audit.pieces[cols])


def _fmt(v, digits: int = 1) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "-"
    if isinstance(v, (float, np.floating)):
        return f"{v:,.{digits}f}"
    return str(v)


def _table_md(df: pd.DataFrame) -> list[str]:
    if not len(df):
        return ["(none)"]
    lines = ["| " + " | ".join(escape_markdown(c) for c in df.columns) + " |", "|" + "---|" * len(df.columns)]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(escape_markdown(_fmt(v)) for v in row) + " |")
    return lines


def _report_tables(audit: BoundaryAudit, top: int) -> dict[str, pd.DataFrame]:
    sev = audit.severity.head(top).copy()
    if len(sev):
        sev["main_share"] = (sev["main_share"] * 100).round(1)
        sev = sev.rename(columns={"main_share": "main_share_%"})
    defects = audit.defects.drop(columns="geometry")
    defects = defects.sort_values("area_m2", ascending=False).head(top)
    return {"severity": sev, "defects": pd.DataFrame(defects)}


def report_markdown(audit: BoundaryAudit, *, title: str = "Boundary audit 辖区比对",
                    top: int = 30) -> str:
    """The audit as a Markdown report: headline figures, rules, the worst splits and defects.

    Every text is escaped (``geo.markup.escape_markdown``): an id or name reads as the characters
    typed, never as Markdown or HTML."""
    s = audit.summary()
    t = _report_tables(audit, top)
    md = escape_markdown
    lines = [f"# {md(title)}", "",
             f"- police units: {s['police_units']}, split: {len(s['split_police'])}",
             f"- admin units: {s['admin_units']}, split: {len(s['split_admin'])}",
             "- significant pairs by class: " + ", ".join(f"{md(k)} {md(v)}" for k, v in s["classes"].items()),
             f"- gaps: {s['gaps_m2']:,.0f} m2; overlaps: {s['overlaps_m2']:,.0f} m2; slivers: {s['slivers']}",
             f"- weight: {md(s['weight'])}, min share {s['min_share']:g}; working CRS {md(s['crs'])}", "",
             "## Rules", ""]
    lines += [f"- **{md(k)}**: {md(v)}" for k, v in s["rules"].items()]
    lines += ["", f"## Splits, worst first (top {top})", ""] + _table_md(t["severity"])
    lines += ["", f"## Defects, largest first (top {top})", ""] + _table_md(t["defects"])
    if s["warnings"]:
        lines += ["", "## Warnings", ""] + [f"- {md(w)}" for w in s["warnings"]]
    return "\n".join(lines) + "\n"


def report_html(audit: BoundaryAudit, *, title: str = "Boundary audit 辖区比对", top: int = 30) -> str:
    """The same report as one self-contained HTML page (every text escaped: ``escape_html``)."""
    s = audit.summary()
    t = _report_tables(audit, top)
    esc = escape_html

    def table(df: pd.DataFrame) -> str:
        if not len(df):
            return "<p>(none)</p>"
        shown = df.map(lambda v: esc(_fmt(v))).rename(columns=esc)
        return shown.to_html(index=False, escape=False, border=0, classes="t")

    items = "".join(f"<li><b>{esc(k)}</b>: {esc(v)}</li>" for k, v in s["rules"].items())
    warn = "".join(f"<li>{esc(w)}</li>" for w in s["warnings"])
    return f"""<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}table.t{{border-collapse:collapse}}
table.t td,table.t th{{border-bottom:1px solid #ddd;padding:2px 8px;text-align:right}}</style></head><body>
<h1>{esc(title)}</h1>
<ul><li>police units: {s['police_units']}, split: {len(s['split_police'])}</li>
<li>admin units: {s['admin_units']}, split: {len(s['split_admin'])}</li>
<li>significant pairs by class: {esc(', '.join(f'{k} {v}' for k, v in s['classes'].items()))}</li>
<li>gaps: {s['gaps_m2']:,.0f} m²; overlaps: {s['overlaps_m2']:,.0f} m²; slivers: {s['slivers']}</li>
<li>weight: {esc(s['weight'])}, min share {s['min_share']:g}; working CRS {esc(s['crs'])}</li></ul>
<h2>Rules</h2><ul>{items}</ul>
<h2>Splits, worst first (top {top})</h2>{table(t['severity'])}
<h2>Defects, largest first (top {top})</h2>{table(t['defects'])}
{f'<h2>Warnings</h2><ul>{warn}</ul>' if warn else ''}
</body></html>
"""


def _write_layer(gdf: gpd.GeoDataFrame, path: Path, layer: str) -> None:
    pyogrio.write_dataframe(gdf, path, layer=layer, driver="GPKG", promote_to_multi=True,
                            geometry_type="MultiPolygon")


def write_audit(audit: BoundaryAudit, out_dir: str | Path) -> list[Path]:
    """Write ``crosswalk.csv``, ``audit.gpkg`` (layers ``defects``, ``split_pieces``, ``police``,
    ``admin``), ``report.md`` and ``report.html`` into ``out_dir`` (created if needed).

    Returns the written paths. Existing files of those names are replaced; others are left alone.
    """
    out_dir = Path(out_dir)
    parent = out_dir.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=parent))
    try:
        spreadsheet_safe(crosswalk_table(audit)).to_csv(tmp / "crosswalk.csv", index=False, encoding="utf-8")
        gpkg = tmp / "audit.gpkg"
        _write_layer(audit.defects, gpkg, "defects")
        split = audit.pieces[audit.pieces["police"].isin(audit.split_police)
                             | audit.pieces["admin"].isin(audit.split_admin)]
        _write_layer(split.drop(columns=["_p", "_a"]), gpkg, "split_pieces")
        for side, frame in (("police", audit.police), ("admin", audit.admin)):
            _write_layer(frame, gpkg, side)
        (tmp / "report.md").write_text(report_markdown(audit), encoding="utf-8")
        (tmp / "report.html").write_text(report_html(audit), encoding="utf-8")
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for name in OUTPUT_FILES:  # each moved into place by the one atomic helper
            with atomic_path(out_dir / name) as target:
                os.replace(tmp / name, target)
            written.append(out_dir / name)
        return written
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
