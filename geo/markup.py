"""Text from data made safe for what it is written into: HTML, Markdown, spreadsheet cells.

Names, ids, kinds and categories come from users' files; a name is text, never markup. Every
writer of HTML (maps, legends, tooltips, reports, the briefing), of Markdown (reports, the app's
captions) and of CSV meant for spreadsheets passes data text through one of these functions.
"""
from __future__ import annotations

import html
import re

import pandas as pd

__all__ = ["escape_html", "escape_markdown", "spreadsheet_safe"]

# Markdown punctuation that starts emphasis, code, links, tables, strikethrough or maths
# (Streamlit's and GitHub's dialects); a backslash makes each a literal character.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|$~])")
# A spreadsheet reads a cell starting with these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d[\d,]*)?(\.\d+)?([eE][+-]?\d+)?%?")


def escape_html(value: object) -> str:
    """``value`` as text for HTML element content or a quoted attribute: ``& < > " '`` become
    character references. None gives ``""``."""
    return "" if value is None else html.escape(str(value), quote=True)


def escape_markdown(value: object) -> str:
    """``value`` as literal text inside Markdown (a paragraph, a list item or a table cell): HTML
    characters as references (raw HTML passes through Markdown), Markdown punctuation behind a
    backslash (no emphasis, links, ``$`` maths or cell breaks) and line breaks as spaces. None
    gives ``""``."""
    if value is None:
        return ""
    text = html.escape(str(value), quote=False)
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.splitlines()))


def _is_number(text: str) -> bool:
    return bool(text) and any(ch.isdigit() for ch in text) and _NUMBER.fullmatch(text) is not None


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells that a spreadsheet would run as a formula (starting
    with ``= + - @``, a tab or a carriage return) begin with an apostrophe, which spreadsheets
    show as text. Numbers, and text that is a plain number (``"-3"``, ``"+1.5%"``), are kept.
    Column names are treated the same way; the index is kept."""
    def cell(v: object) -> object:
        if isinstance(v, str) and v.startswith(_FORMULA_START) and not _is_number(v):
            return "'" + v
        return v

    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s):
            out[col] = s.astype(object).map(cell)
    return out.rename(columns={c: cell(c) for c in out.columns if isinstance(c, str)})
