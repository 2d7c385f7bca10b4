"""The PDF's typesetting, pure (no drawing): text measured in points, wrapped to a width, tables
laid out so that every cell fits its column, and blocks (tables, paragraphs) flowed into page
frames, continuing on further pages when they do not fit.

Lengths are in points (1/72 inch); a frame's ``top`` is measured from the bottom of the page.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Callable, Sequence

__all__ = ["Measure", "TableLayout", "layout_table", "wrap_text", "tokens", "Frame", "TableBlock",
           "TextBlock", "PlacedTable", "PlacedText", "flow", "is_number"]

#: Characters that never start a line (they stay with the text before them) and that never end
#: one (they stay with the text after them).
_CLOSING = set("，。、；：！？）》」』】〕”’,.;:!?)]}%…·/")
_OPENING = set("（《「『【〔“‘([{")
_NUMBER = re.compile(r"[-+−]?[\d,.\s%]+|—")


def is_number(s: str) -> bool:
    """True for a figure drawn right-aligned ("1,234", "+3.4%", "—")."""
    return bool(_NUMBER.fullmatch(s.strip())) and s.strip() != ""


def _wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


class Measure:
    """Text widths in points for one font family (``None``: an estimate, a wide CJK character
    one em and any other character 0.6 em, i.e. "a CJK character counts about 2").

    With a family, a text's width is the sum of its characters' advance widths in that font
    (DejaVu Sans for a character it lacks, as matplotlib falls back), plus 1 %: within half a
    point of what matplotlib draws at table sizes, and never a glyph laid out twice.
    """

    def __init__(self, family: str | None = None):
        self.family = family
        self._advance: dict[tuple[str, bool], float] = {}  # em per character
        self._fonts: dict[bool, tuple] = {}

    def _fonts_for(self, bold: bool) -> tuple:
        if bold not in self._fonts:
            from matplotlib.font_manager import FontProperties, findfont, get_font
            weight = "bold" if bold else "normal"
            self._fonts[bold] = tuple(get_font(findfont(FontProperties(family=f, weight=weight)))
                                      for f in (self.family, "DejaVu Sans"))
        return self._fonts[bold]

    def _em(self, ch: str, bold: bool) -> float:
        key = (ch, bold)
        em = self._advance.get(key)
        if em is None:
            try:
                from matplotlib.ft2font import LoadFlags
                no_hinting = LoadFlags.NO_HINTING
            except ImportError:  # matplotlib before 3.10
                from matplotlib.ft2font import LOAD_NO_HINTING as no_hinting
            fonts = self._fonts_for(bold)
            font = next((f for f in fonts if f.get_char_index(ord(ch))), fonts[0])
            font.set_size(100, 72)
            em = font.load_char(ord(ch), flags=no_hinting).linearHoriAdvance / 65536 / 100
            self._advance[key] = em
        return em

    def width(self, s: str, size: float, *, bold: bool = False) -> float:
        """Width of ``s`` (one line) at ``size`` points."""
        if not s:
            return 0.0
        if self.family is None:
            return size * sum(1.0 if _wide(ch) else 0.6 for ch in s) * (1.05 if bold else 1.0)
        return 1.01 * size * sum(self._em(ch, bold) for ch in s)


def tokens(s: str) -> list[str]:
    """``s`` cut where a line may break: every CJK character alone, words of other scripts
    whole, spaces apart; closing punctuation stays with what precedes it, opening punctuation
    with what follows."""
    raw: list[str] = []
    word = ""
    for ch in s:
        if ch.isspace():
            if word:
                raw.append(word)
                word = ""
            raw.append(" ")
        elif _wide(ch) or ch in _CLOSING or ch in _OPENING:
            if word:
                raw.append(word)
                word = ""
            raw.append(ch)
        else:
            word += ch
    if word:
        raw.append(word)
    out: list[str] = []
    pending = ""  # opening punctuation waiting for the next token
    for tok in raw:
        if tok == " ":
            if pending:
                out.append(pending)
                pending = ""
            out.append(tok)
        elif all(ch in _OPENING for ch in tok):
            pending += tok
        elif all(ch in _CLOSING for ch in tok) and out and out[-1] != " " and not pending:
            out[-1] += tok
        else:
            out.append(pending + tok)
            pending = ""
    if pending:
        out.append(pending)
    return out


def wrap_text(s: str, width: float, size: float, measure: Measure, *, bold: bool = False) -> list[str]:
    """``s`` broken into lines no wider than ``width`` points (at ``size``): at spaces and
    between CJK characters; a word wider than a whole line is cut between characters. Line
    breaks already in ``s`` are kept. Never returns an empty list."""
    lines: list[str] = []
    for para in str(s).split("\n"):
        line = ""
        for tok in tokens(para):
            if tok == " ":
                if line:
                    line += " "
                continue
            trial = line + tok
            if measure.width(trial.rstrip(), size, bold=bold) <= width or not line.strip():
                if not line.strip() and measure.width(tok, size, bold=bold) > width:
                    pieces = _cut(tok, width, size, measure, bold)
                    lines += pieces[:-1]
                    line = pieces[-1]
                else:
                    line = trial
            else:
                lines.append(line.rstrip())
                if measure.width(tok, size, bold=bold) > width:
                    pieces = _cut(tok, width, size, measure, bold)
                    lines += pieces[:-1]
                    line = pieces[-1]
                else:
                    line = tok
        lines.append(line.rstrip())
    return lines or [""]


def _cut(tok: str, width: float, size: float, measure: Measure, bold: bool) -> list[str]:
    pieces, cur = [], ""
    for ch in tok:
        if cur and measure.width(cur + ch, size, bold=bold) > width:
            pieces.append(cur)
            cur = ch
        else:
            cur += ch
    pieces.append(cur)
    return pieces


def _widest_token(s: str, size: float, measure: Measure, bold: bool) -> float:
    return max((measure.width(t, size, bold=bold) for t in tokens(s) if t != " "), default=0.0)


def _fill(lo: list[float], hi: list[float], total: float) -> list[float]:
    """Widths between ``lo`` and ``hi`` summing to ``total``: the widest columns give way first
    (every column capped at one common width, found by bisection)."""
    a, b = 0.0, max(hi)
    for _ in range(60):
        c = (a + b) / 2
        if sum(min(max(c, low), high) for low, high in zip(lo, hi)) > total:
            b = c
        else:
            a = c
    return [min(max(a, low), high) for low, high in zip(lo, hi)]


@dataclass(frozen=True)
class TableLayout:
    """A table fitted to a width: ``widths`` per column (points), the lines of every header and
    body cell, the header and row heights, and which cells are figures (right-aligned)."""

    widths: tuple[float, ...]
    header: tuple[tuple[str, ...], ...] | None
    rows: tuple[tuple[tuple[str, ...], ...], ...]
    numeric: tuple[tuple[bool, ...], ...]
    header_height: float
    row_heights: tuple[float, ...]
    size: float
    pad_x: float
    pad_y: float
    line_height: float

    @property
    def width(self) -> float:
        return float(sum(self.widths))

    def rows_slice(self, start: int, stop: int) -> "TableLayout":
        """The same table holding body rows ``start:stop`` (the header repeated)."""
        return TableLayout(self.widths, self.header, self.rows[start:stop], self.numeric[start:stop],
                           self.header_height, self.row_heights[start:stop], self.size, self.pad_x,
                           self.pad_y, self.line_height)


def layout_table(header: Sequence[str] | None, rows: Sequence[Sequence[str]], *, width: float,
                 size: float, measure: Measure, right_columns: Sequence[int] = ()) -> TableLayout:
    """Fit a table into ``width`` points at font ``size``.

    Every column gets at least the width of its widest unbreakable piece of text; when the
    natural widths (every cell on one line) exceed ``width``, the headers wrap first (columns
    shrink towards their widest body cell), then the body cells of the widest columns; the
    narrowest columns keep their width. Rows grow to the lines their cells need. When not even
    the widest unbreakable pieces fit side by side, the type gets smaller (``TableLayout.size``)
    until they do; nothing is clipped. Figures ("1,234", "+3.4%") and the cells of
    ``right_columns`` are right-aligned (``TableLayout.numeric``), the header in bold.
    """
    pad_x, pad_y, line_h = 0.45 * size, 0.35 * size, 1.3 * size
    head = [str(h) for h in header] if header is not None else None
    body = [[str(v) for v in r] for r in rows]
    ncol = len(head) if head is not None else max((len(r) for r in body), default=0)
    body = [r + [""] * (ncol - len(r)) for r in body]
    if ncol == 0:
        return TableLayout((), None, (), (), 0.0, (), size, pad_x, pad_y, line_h)

    def w(s: str, bold: bool) -> float:
        return max((measure.width(line, size, bold=bold) for line in s.split("\n")), default=0.0)

    head_nat = [w(head[j], True) if head else 0.0 for j in range(ncol)]
    body_nat = [max((w(r[j], False) for r in body), default=0.0) for j in range(ncol)]
    least = [max([_widest_token(head[j], size, measure, True) if head else 0.0]
                 + [_widest_token(r[j], size, measure, False) for r in body])
             for j in range(ncol)]
    pad2 = 2 * pad_x + 0.5  # half a point of slack against rounding
    nat = [max(h, b) + pad2 for h, b in zip(head_nat, body_nat)]
    keep_body = [max(b, piece) + pad2 for b, piece in zip(body_nat, least)]
    lo = [piece + pad2 for piece in least]
    if sum(nat) <= width:
        widths = nat
    elif sum(keep_body) <= width:
        widths = _fill(keep_body, nat, width)
    elif sum(lo) <= width:
        widths = _fill(lo, keep_body, width)
    elif size > 3.0:  # not even the widest pieces fit: a smaller type, where they do
        smaller = size * (width - 0.5 * ncol) / (sum(lo) - 0.5 * ncol) * 0.99
        return layout_table(header, rows, width=width, size=max(3.0, smaller), measure=measure,
                            right_columns=right_columns)
    else:  # 3 points and still too wide: share out the width, pieces are cut between characters
        widths = [low * width / sum(lo) for low in lo]

    def lines(s: str, j: int, bold: bool) -> tuple[str, ...]:
        return tuple(wrap_text(s, widths[j] - 2 * pad_x, size, measure, bold=bold))

    head_lines = tuple(lines(head[j], j, True) for j in range(ncol)) if head else None
    body_lines = tuple(tuple(lines(r[j], j, False) for j in range(ncol)) for r in body)
    height = lambda cells: 2 * pad_y + line_h * max(len(c) for c in cells)  # noqa: E731
    return TableLayout(
        widths=tuple(widths), header=head_lines, rows=body_lines,
        numeric=tuple(tuple(j in right_columns or is_number(v) for j, v in enumerate(r)) for r in body),
        header_height=height(head_lines) if head_lines else 0.0,
        row_heights=tuple(height(r) for r in body_lines), size=size, pad_x=pad_x, pad_y=pad_y,
        line_height=line_h)


# --- flowing blocks into frames -------------------------------------------------------------------

@dataclass(frozen=True)
class Frame:
    """A rectangle of a page that blocks flow into: left ``x``, ``top`` (from the page's
    bottom), ``width`` and ``height``, in points."""

    x: float
    top: float
    width: float
    height: float


@dataclass(frozen=True)
class TableBlock:
    """A table to flow: header (None: none), rows of text, type size, right-aligned columns."""

    header: tuple[str, ...] | None
    rows: tuple[tuple[str, ...], ...]
    size: float = 8.0
    right_columns: tuple[int, ...] = ()


@dataclass(frozen=True)
class TextBlock:
    """A paragraph to flow."""

    text: str
    size: float = 8.0
    bold: bool = False
    colour: str = "#333333"


@dataclass(frozen=True)
class PlacedTable:
    """A table (or the rows of it that fit) placed at ``x``, its top at ``top``."""

    x: float
    top: float
    table: TableLayout


@dataclass(frozen=True)
class PlacedText:
    """Lines of a paragraph placed at ``x``, the first line's top at ``top``."""

    x: float
    top: float
    lines: tuple[str, ...]
    size: float
    line_height: float
    bold: bool
    colour: str


Placed = PlacedTable | PlacedText


def flow(blocks: Sequence[TableBlock | TextBlock], first: Sequence[Frame],
         more: Callable[[], Sequence[Frame]], measure: Measure) -> list[list[Placed]]:
    """Place ``blocks`` in order into the frames ``first`` (the first page), then into the frames
    ``more()`` gives for every further page. A table that does not fit continues in the next
    frame with its header repeated (laid out again for that frame's width); a paragraph
    continues line by line. Returns the placed items of each page (at least one page)."""
    pages: list[list[Placed]] = [[]]
    frames = list(first) or list(more())
    k = 0
    y = frames[0].top

    def next_frame() -> None:
        nonlocal frames, k, y
        k += 1
        if k >= len(frames):
            frames, k = list(more()), 0
            pages.append([])
        y = frames[k].top

    def room() -> float:
        return y - (frames[k].top - frames[k].height)

    def at_top() -> bool:
        return y == frames[k].top

    for block in blocks:
        gap = 0.0 if at_top() else 0.7 * block.size
        if isinstance(block, TableBlock):
            total, done = len(block.rows), 0
            while done < total:
                lay = layout_table(block.header, block.rows, width=frames[k].width, size=block.size,
                                   measure=measure, right_columns=block.right_columns)
                if room() - gap < lay.header_height + lay.row_heights[done] and not at_top():
                    next_frame()
                    gap = 0.0
                    continue
                y -= gap
                used, stop = lay.header_height, done
                while stop < total and (used + lay.row_heights[stop] <= room() or stop == done):
                    used += lay.row_heights[stop]
                    stop += 1
                pages[-1].append(PlacedTable(frames[k].x, y, lay.rows_slice(done, stop)))
                y -= used
                done, gap = stop, 0.0
                if done < total:
                    next_frame()
        else:
            line_h = 1.3 * block.size
            rest = block.text
            while rest:
                lines = wrap_text(rest, frames[k].width, block.size, measure, bold=block.bold)
                fit = int((room() - gap) // line_h)
                if fit < 1 and not at_top():
                    next_frame()
                    gap = 0.0
                    continue
                fit = max(fit, 1)
                y -= gap
                shown = lines[:fit]
                pages[-1].append(PlacedText(frames[k].x, y, tuple(shown), block.size, line_h,
                                            block.bold, block.colour))
                y -= line_h * len(shown)
                gap = 0.0
                rest = _rejoin(lines[fit:])
                if rest:
                    next_frame()
    return pages


def _rejoin(lines: Sequence[str]) -> str:
    """Lines made by ``wrap_text`` joined back (a space where one was dropped at the break)."""
    out = ""
    for line in lines:
        if out and line and not (_wide(out[-1]) or _wide(line[0])):
            out += " "
        out += line
    return out
