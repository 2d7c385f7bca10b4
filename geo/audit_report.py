"""Writing a boundary audit: the reports (Markdown and HTML, in Chinese or English, with a map) and
the output folder (crosswalk CSVs, GeoPackage of defects and split pieces, reports, map).

The files are written to a temporary folder beside ``out_dir`` and moved in only when all of them
are complete, so a failure leaves nothing half-written. Unit ids and names come from users' files:
the reports escape them (``geo.markup``), and the CSV's text cells never start a formula. The
reports' tables are ``geo.audit_tables``' (headers in words, areas in km² or m², shares in %).
"""
from __future__ import annotations

import base64
import io
import os
import re
import shutil
import tempfile
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Mapping
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from geo.atomic import atomic_path
from geo.audit import BoundaryAudit, unit_crosswalk
from geo.audit_map import audit_map_png
from geo.audit_tables import (
    audit_text,
    class_table,
    defects_table,
    rule_lines,
    severity_table,
    summary_lines,
    unit_names,
    unit_table,
)
from geo.errors import InputError
from geo.markup import escape_html, escape_markdown, spreadsheet_safe
from geo.times import local_zone

__all__ = ["write_audit", "report_markdown", "report_html", "report_bundle", "crosswalk_table",
           "OUTPUT_FILES", "MAP_FILE"]

MAP_FILE = "audit_map.png"
OUTPUT_FILES = ("crosswalk.csv", "units.csv", "audit.gpkg", MAP_FILE, "report.md", "report.html")
_CROSSWALK_COLUMNS = ["police", "admin", "area_m2", "population", "incidents", "weight",
                      "share_of_police", "share_of_admin", "significant", "sliver", "relation"]


def crosswalk_table(audit: BoundaryAudit) -> pd.DataFrame:
    """The crosswalk as a plain table (no geometry), the columns of ``crosswalk.csv``."""
    cols = [c for c in _CROSSWALK_COLUMNS if c in audit.pieces.columns]
    return pd.DataFrame(audit.pieces[cols])


def _column_digits(values: pd.Series) -> int:
    """0 when every finite number of the column is whole (m², people, counts), else 1."""
    v = pd.to_numeric(values, errors="coerce").to_numpy(float)
    v = v[np.isfinite(v)]
    return 0 if not len(v) or np.all(v == np.round(v)) else 1


def _cells(df: pd.DataFrame) -> list[list[str]]:
    """The table's cells as text: numbers with thousands separators and the column's decimals."""
    columns = []
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            d = _column_digits(s)
            columns.append(["-" if not np.isfinite(v) else f"{v:,.{d}f}" for v in s.to_numpy(float)])
        else:
            columns.append(["" if v is None else str(v) for v in s])
    return [list(r) for r in zip(*columns)] if columns else []


def _table_md(df: pd.DataFrame, lang: str) -> list[str]:
    if not len(df):
        return [audit_text("rep.none", lang)]
    md = escape_markdown
    lines = ["| " + " | ".join(md(c) for c in df.columns) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(md(v) for v in row) + " |" for row in _cells(df)]
    return lines


def _table_html(df: pd.DataFrame, lang: str) -> str:
    esc = escape_html
    if not len(df):
        return f"<p>{esc(audit_text('rep.none', lang))}</p>"
    head = "".join(f"<th>{esc(c)}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in row) + "</tr>" for row in _cells(df))
    return f'<table class="t"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _generated(lang: str) -> str:
    """When the report was made, local wall-clock time (``geo.times.local_zone``)."""
    zone = local_zone()
    now = datetime.now(ZoneInfo(zone))
    return audit_text("rep.generated", lang, time=f"{now:%Y-%m-%d %H:%M}", tz=zone)


def _split_units(audit: BoundaryAudit, lang: str, names: Mapping[str, str] | None, top: int) -> pd.DataFrame:
    table = unit_table(audit, lang=lang, names=names)
    side = audit.admin if audit.container != "admin" else audit.police
    return table[side["split"].to_numpy(bool)].head(top)


def _sections(audit: BoundaryAudit, lang: str, names: Mapping[str, str] | None, top: int) -> dict:
    """Everything a report shows, as plain text and tables (escaped by the writer)."""
    n = unit_names(audit, lang, names)
    finer = n["police"] if audit.container == "admin" else n["admin"]
    return {
        "title": audit_text("rep.title", lang, police=n["police"], admin=n["admin"]),
        "generated": _generated(lang),
        "summary": summary_lines(audit, lang=lang, names=names),
        "classes": class_table(audit, lang=lang, names=names),
        "rules": rule_lines(audit, lang=lang, names=names),
        "splits": severity_table(audit, lang=lang, names=names, top=top),
        "units_title": audit_text("rep.units", lang, units=finer.lower() if lang == "en" else finer),
        "units": _split_units(audit, lang, names, top),
        "defects": defects_table(audit, lang=lang, names=names, top=top),
        "warnings": [str(w) for w in audit.warnings],
    }


def report_markdown(audit: BoundaryAudit, *, lang: str = "zh", title: str | None = None,
                    top: int = 30, names: Mapping[str, str] | None = None,
                    map_file: str | None = None) -> str:
    """The audit as a Markdown report in ``lang`` (``zh``/``en``): headline figures, relations,
    the map (``map_file``, an image file beside the report, when given), rules, the worst splits,
    where the split units belong, and the defects. Areas, shares and people as in
    ``geo.audit_tables``; the time is local (``geo.times.local_zone``).

    Every text is escaped (``geo.markup.escape_markdown``): an id or name reads as the characters
    typed, never as Markdown or HTML. ``names`` as in ``geo.audit_tables.unit_names``."""
    s = _sections(audit, lang, names, top)
    md = escape_markdown
    t = lambda key, **f: md(audit_text(key, lang, **f))  # noqa: E731
    lines = [f"# {md(title if title is not None else s['title'])}", "", md(s["generated"]), "",
             f"## {t('rep.summary')}", ""]
    lines += [f"- {md(line)}" for line in s["summary"]]
    lines += ["", f"## {t('rep.classes')}", ""] + _table_md(s["classes"], lang)
    if map_file:
        if not re.fullmatch(r"[\w.\-]+", map_file):
            raise InputError(f"`map_file` was {map_file!r} but must be a plain file name beside the "
                             "report (letters, digits, '.', '-', '_')")
        lines += ["", f"## {t('rep.map')}", "", f"![{t('rep.map_alt')}]({map_file})"]
    lines += ["", f"## {t('rep.rules')}", ""] + [f"- **{md(k)}**: {md(v)}" for k, v in s["rules"]]
    lines += ["", f"## {t('rep.splits', top=top)}", ""] + _table_md(s["splits"], lang)
    lines += ["", f"## {md(s['units_title'])}", ""] + _table_md(s["units"], lang)
    lines += ["", f"## {t('rep.defects', top=top)}", ""] + _table_md(s["defects"], lang)
    if s["warnings"]:
        lines += ["", f"## {t('rep.warnings')}", ""] + [f"- {md(w)}" for w in s["warnings"]]
    return "\n".join(lines) + "\n"


def report_html(audit: BoundaryAudit, *, lang: str = "zh", title: str | None = None, top: int = 30,
                names: Mapping[str, str] | None = None, map_png: bytes | None = None) -> str:
    """The same report as one self-contained HTML page (every text escaped: ``escape_html``);
    ``map_png`` (``geo.audit_map.audit_map_png``), when given, is embedded as a data URI."""
    s = _sections(audit, lang, names, top)
    esc = escape_html
    t = lambda key, **f: esc(audit_text(key, lang, **f))  # noqa: E731
    heading = esc(title if title is not None else s["title"])
    summary = "".join(f"<li>{esc(line)}</li>" for line in s["summary"])
    rules = "".join(f"<li><b>{esc(k)}</b>: {esc(v)}</li>" for k, v in s["rules"])
    warn = "".join(f"<li>{esc(w)}</li>" for w in s["warnings"])
    figure = ""
    if map_png:
        data = base64.b64encode(map_png).decode("ascii")
        figure = (f"<h2>{t('rep.map')}</h2><p><img class=\"map\" alt=\"{t('rep.map_alt')}\" "
                  f"src=\"data:image/png;base64,{data}\"></p>")
    return f"""<!doctype html><html lang="{'zh-CN' if lang == 'zh' else 'en'}"><head><meta charset="utf-8">
<title>{heading}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}table.t{{border-collapse:collapse}}
table.t td,table.t th{{border-bottom:1px solid #ddd;padding:2px 8px;text-align:right}}
img.map{{max-width:100%}}</style></head><body>
<h1>{heading}</h1>
<p>{esc(s['generated'])}</p>
<h2>{t('rep.summary')}</h2><ul>{summary}</ul>
<h2>{t('rep.classes')}</h2>{_table_html(s['classes'], lang)}
{figure}
<h2>{t('rep.rules')}</h2><ul>{rules}</ul>
<h2>{t('rep.splits', top=top)}</h2>{_table_html(s['splits'], lang)}
<h2>{esc(s['units_title'])}</h2>{_table_html(s['units'], lang)}
<h2>{t('rep.defects', top=top)}</h2>{_table_html(s['defects'], lang)}
{f'<h2>{t("rep.warnings")}</h2><ul>{warn}</ul>' if warn else ''}
</body></html>
"""


def report_bundle(audit: BoundaryAudit, *, lang: str = "zh", names: Mapping[str, str] | None = None,
                  top: int = 30, map_png: bytes | None = None) -> bytes:
    """A ZIP holding ``report.md`` and the map it shows (``audit_map.png``) beside it: the
    Markdown report as one download. ``map_png`` is drawn when not given."""
    png = map_png if map_png is not None else audit_map_png(audit, lang=lang, names=names)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("report.md", report_markdown(audit, lang=lang, top=top, names=names, map_file=MAP_FILE))
        z.writestr(MAP_FILE, png)
    return buf.getvalue()


def _write_layer(gdf: gpd.GeoDataFrame, path: Path, layer: str) -> None:
    pyogrio.write_dataframe(gdf, path, layer=layer, driver="GPKG", promote_to_multi=True,
                            geometry_type="MultiPolygon")


def write_audit(audit: BoundaryAudit, out_dir: str | Path, *, lang: str = "zh",
                names: Mapping[str, str] | None = None) -> list[Path]:
    """Write into ``out_dir`` (created if needed): ``crosswalk.csv`` (one row per piece),
    ``units.csv`` (``geo.audit.unit_crosswalk``: where each unit belongs), ``audit.gpkg`` (layers
    ``defects``, ``split_pieces``, ``police``, ``admin``), the map ``audit_map.png``, and
    ``report.md`` (showing the map beside it) and ``report.html`` (map embedded) in ``lang``.

    The CSVs keep the column names of ``BoundaryAudit`` (for programs); the reports are for
    people. Returns the written paths. Existing files of those names are replaced; others are
    left alone.
    """
    out_dir = Path(out_dir)
    png = audit_map_png(audit, lang=lang, names=names)  # draws (and checks ``lang``) before writing
    parent = out_dir.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=parent))
    try:
        spreadsheet_safe(crosswalk_table(audit)).to_csv(tmp / "crosswalk.csv", index=False, encoding="utf-8")
        spreadsheet_safe(unit_crosswalk(audit)).to_csv(tmp / "units.csv", index=False, encoding="utf-8")
        gpkg = tmp / "audit.gpkg"
        _write_layer(audit.defects, gpkg, "defects")
        split = audit.pieces[audit.pieces["police"].isin(audit.split_police)
                             | audit.pieces["admin"].isin(audit.split_admin)]
        _write_layer(split.drop(columns=["_p", "_a"]), gpkg, "split_pieces")
        for side, frame in (("police", audit.police), ("admin", audit.admin)):
            _write_layer(frame, gpkg, side)
        (tmp / MAP_FILE).write_bytes(png)
        (tmp / "report.md").write_text(report_markdown(audit, lang=lang, names=names, map_file=MAP_FILE),
                                       encoding="utf-8")
        (tmp / "report.html").write_text(report_html(audit, lang=lang, names=names, map_png=png),
                                         encoding="utf-8")
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for name in OUTPUT_FILES:  # each moved into place by the one atomic helper
            with atomic_path(out_dir / name) as target:
                os.replace(tmp / name, target)
            written.append(out_dir / name)
        return written
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
