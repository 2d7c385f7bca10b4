"""A finished briefing (``Briefing``) and its parts (``BriefingSection``), written as one
self-contained HTML file (images embedded as base64 PNG, CSS inline, no scripts, no external
links: it opens offline) or as a PDF (``ui.briefing.pdf``). Every text from data is escaped."""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from geo.atomic import write_bytes_atomic
from geo.markup import escape_html
from ui.briefing.context import KeyFigure
from ui.i18n import text

__all__ = ["Briefing", "BriefingSection", "KeyFigure", "html_table"]

Draw = Callable[[Sequence[object]], list]


@dataclass
class BriefingSection:
    """One topic: a map (drawn by ``draw`` on ``panels`` axes; returns legend handles), a small
    table and notes. ``png`` holds the rendered map once it was drawn (``figures.render_png``);
    the HTML embeds it and the PDF places the same image."""

    key: str
    title: str
    draw: Draw
    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    panels: int = 1
    panel_titles: tuple[str, ...] = ()
    png: bytes = b""
    extra_tables: tuple[tuple[str, pd.DataFrame], ...] = ()  # (caption, table): in the HTML only


@dataclass
class Briefing:
    """A finished briefing. ``key_figures`` is the commander's table; ``overview_png`` the map of
    page 1; ``skipped`` maps the sections left out to the reason; ``facts`` holds the raw numbers
    (for tests and scripts); ``timings`` the seconds each step took (``<key>`` computing a
    section, ``<key>.map`` drawing its map)."""

    title: str
    date: str
    area: str
    lang: str
    font: str
    crs: str
    sections: list[BriefingSection]
    key_figures: list[KeyFigure]
    skipped: dict[str, str] = field(default_factory=dict)
    facts: dict = field(default_factory=dict)
    overview_png: bytes = b""
    timings: dict[str, float] = field(default_factory=dict)

    def t(self, key: str, **kw) -> str:
        return text(key, self.lang, **kw)

    @property
    def pdf_pages(self) -> int:
        """Pages of the PDF: page 1 (key figures and the overview map) and one per section, plus
        a continuation page wherever a section's table and notes do not fit beside its map."""
        from ui.briefing.pdf import page_layouts
        return len(page_layouts(self))

    # HTML ----------------------------------------------------------------------------------------
    def to_html(self) -> str:
        """The briefing as one self-contained HTML document (no scripts, no external links)."""
        t = self.t
        parts = [f"<!DOCTYPE html>\n<html lang=\"{'zh-CN' if self.lang == 'zh' else 'en'}\"><head>"
                 "<meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">"
                 f"<title>{escape_html(self.title)}</title><style>{_CSS}</style></head><body>",
                 f"<header><h1>{escape_html(self.title)}</h1>"
                 f"<p class=\"meta\">{escape_html(t('brief.date'))}: {escape_html(self.date)} · "
                 f"{escape_html(t('brief.area'))}: {escape_html(self.area)} · "
                 f"{escape_html(t('brief.crs'))}: {escape_html(self.crs)}</p></header>",
                 f"<section id=\"key-figures\"><h2>{escape_html(t('brief.key_figures'))}</h2>"
                 "<div class=\"front\"><div><table class=\"key\"><tbody>"]
        for k in self.key_figures:
            parts.append(f"<tr><th>{escape_html(k.label)}</th>"
                         f"<td data-key=\"{escape_html(k.key)}\">{escape_html(k.value)}</td></tr>")
        parts.append("</tbody></table>")
        if self.skipped:
            parts.append(f"<p class=\"note\">{escape_html(t('brief.skipped'))}</p><ul class=\"note\">")
            parts += [f"<li>{escape_html(t(f'brief.section.{k}'))}: {escape_html(v)}</li>"
                      for k, v in self.skipped.items()]
            parts.append("</ul>")
        parts.append("</div>")
        if self.overview_png:
            parts.append(_img(self.overview_png, t("brief.overview")))
        parts.append("</div></section>")
        for s in self.sections:
            parts.append(f"<section id=\"{escape_html(s.key)}\"><h2>{escape_html(s.title)}</h2>"
                         + _img(s.png, s.title))
            if len(s.table):
                parts.append(html_table(s.table))
            parts += [f"<p class=\"note\">{escape_html(n)}</p>" for n in s.notes]
            for caption, extra in s.extra_tables:
                parts.append(f"<p class=\"caption\">{escape_html(caption)}</p>" + html_table(extra))
            parts.append("</section>")
        parts.append(f"<footer>{escape_html(t('brief.footer'))}</footer></body></html>")
        return "".join(parts)

    def write_html(self, path: str | Path) -> Path:
        """Write the HTML (atomically: a temporary file renamed into place)."""
        return write_bytes_atomic(Path(path), self.to_html().encode("utf-8"))

    # PDF -----------------------------------------------------------------------------------------
    def pdf_bytes(self) -> bytes:
        """The PDF (A4 landscape): page 1 with the key figures and the overview map, then each
        section's map with its table and notes beside it (``ui.briefing.pdf``)."""
        from ui.briefing.pdf import pdf_bytes
        return pdf_bytes(self)

    def write_pdf(self, path: str | Path) -> Path:
        """Write the PDF (atomically)."""
        return write_bytes_atomic(Path(path), self.pdf_bytes())


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f"<img alt=\"{escape_html(alt)}\" src=\"data:image/png;base64,{data}\">"


_CSS = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei","PingFang SC",sans-serif;
margin:24px auto;max-width:1100px;color:#222;line-height:1.5;padding:0 16px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;border-bottom:2px solid #1f4e79;padding-bottom:3px;margin-top:32px}
.meta{color:#555;margin:0}img{max-width:100%;height:auto;border:1px solid #ccc}
.front{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}.front>div{flex:1 1 360px}
.front>img{flex:1 1 520px;min-width:0}
table{border-collapse:collapse;margin:10px 0;font-size:14px}th,td{border:1px solid #bbb;padding:3px 8px}
th{background:#eef2f7;text-align:left}td{text-align:right}td.t{text-align:left}
table.key td{font-weight:600;min-width:120px}.note{color:#444;font-size:13px}
footer{margin-top:32px;color:#777;font-size:12px}
@media print{h2{page-break-before:always}section#key-figures h2{page-break-before:avoid}}
"""


def html_table(frame: pd.DataFrame) -> str:
    """A table as HTML, every header and cell escaped; figures right-aligned."""
    head = "".join(f"<th>{escape_html(str(c))}</th>" for c in frame.columns)
    body = []
    for row in frame.itertuples(index=False):
        cells = []
        for v in row:
            cls = "" if re.fullmatch(r"[-+−]?[\d,.\s%]+|—", str(v)) else " class=\"t\""
            cells.append(f"<td{cls}>{escape_html(str(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
