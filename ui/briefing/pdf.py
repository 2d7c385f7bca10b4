"""The briefing as a PDF (A4 landscape): page 1 with the title, the key figures and the overview
map; then per section its map (the PNG the HTML embeds, placed as is) with its table and notes
beside it, continued on further pages when they do not fit. Tables are laid out by
``ui.briefing.layout`` so that every cell fits its column (wrapping, never clipping)."""
from __future__ import annotations

import io
from dataclasses import dataclass

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ui.briefing.figures import MapCanvas, rc
from ui.briefing.layout import Frame, Measure, PlacedTable, PlacedText, TableBlock, TextBlock, flow, wrap_text

__all__ = ["PAGE_W", "PAGE_H", "PageLayout", "PageDrawing", "page_layouts", "draw_page", "pdf_bytes"]

INCH = 72.0
PAGE_W, PAGE_H = 11.69 * INCH, 8.27 * INCH  # A4 landscape, points
MARGIN = 0.45 * INCH
BOTTOM = 0.55 * INCH  # above the footer
GAP = 0.25 * INCH
MAP_MAX_W = 7.2 * INCH  # a section's map leaves at least 3.3 inches for its table and notes
FRONT_W = 4.1 * INCH  # page 1: the key-figures column
WIDE = 1.6  # a map image this much wider than high spans the page, its text below
TABLE_PT = 8.0
NOTE_PT = 8.0


@dataclass(frozen=True)
class PlacedImage:
    png: bytes
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class PageLayout:
    """One PDF page: title lines, an optional subtitle, an optional image and the placed tables
    and paragraphs (points from the page's bottom-left)."""

    title: tuple[str, ...]
    title_size: float
    subtitle: str | None
    image: PlacedImage | None
    caption: str | None
    items: tuple[PlacedTable | PlacedText, ...]


@dataclass(frozen=True)
class PageDrawing:
    """A drawn page and, for every table cell text, the cell's box in points
    (x0, y0, x1, y1): what a test checks the text stays inside."""

    figure: Figure
    cells: list[tuple[object, tuple[float, float, float, float]]]


def _png_size(png: bytes) -> tuple[int, int]:
    # PNG IHDR: width and height, big-endian, bytes 16-24
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def _fit(png: bytes, x: float, top: float, max_w: float, max_h: float) -> PlacedImage:
    w_px, h_px = _png_size(png)
    scale = min(max_w / w_px, max_h / h_px)
    w, h = w_px * scale, h_px * scale
    return PlacedImage(png, x, top - h, w, h)


def _columns(top: float) -> list[Frame]:
    """Two columns filling a continuation page below its title."""
    w = (PAGE_W - 2 * MARGIN - GAP) / 2
    return [Frame(MARGIN, top, w, top - BOTTOM), Frame(MARGIN + w + GAP, top, w, top - BOTTOM)]


def page_layouts(b) -> list[PageLayout]:
    """Every page of the briefing ``b`` laid out (no drawing): what ``pdf_pages`` counts."""
    measure = Measure(b.font)
    t = b.t
    pages: list[PageLayout] = []
    cont = t("brief.cont")

    # page 1: title, meta, key figures and the sections left out at the left, the overview right
    title = tuple(wrap_text(b.title, PAGE_W - 2 * MARGIN, 20, measure, bold=True))
    top = PAGE_H - MARGIN - 26 * len(title) - 30
    blocks: list = [TextBlock(t("brief.key_figures"), 13, bold=True, colour="#1f4e79"),
                    TableBlock(None, tuple((k.label, k.value) for k in b.key_figures), 9.5, right_columns=(1,))]
    if b.skipped:
        blocks.append(TextBlock(t("brief.skipped"), 9, bold=True, colour="#222222"))
        blocks += [TextBlock(f"{t(f'brief.section.{k}')}: {v}", 8) for k, v in b.skipped.items()]
    image = caption = None
    if b.overview_png:
        caption = t("brief.overview")
        x = MARGIN + FRONT_W + GAP
        image = _fit(b.overview_png, x, top - 16, PAGE_W - MARGIN - x, top - 16 - BOTTOM)
    subtitle = f"{t('brief.date')}: {b.date}    {t('brief.area')}: {b.area}"
    first = [Frame(MARGIN, top, FRONT_W, top - BOTTOM)]
    pages += _pages(blocks, first, title, 20, subtitle, image, caption, cont, measure)

    for s in b.sections:
        title = tuple(wrap_text(s.title, PAGE_W - 2 * MARGIN, 15, measure, bold=True))
        top = PAGE_H - MARGIN - 20 * len(title) - 8
        w_px, h_px = _png_size(s.png) if s.png else (1, 1)
        if s.png and w_px / h_px >= WIDE:  # a wide map (two panels): across the page, text below
            image = _fit(s.png, MARGIN, top, PAGE_W - 2 * MARGIN, 0.7 * (top - BOTTOM))
            frames = _columns(image.y - 0.15 * INCH)
        else:  # the map at the left, its table and notes beside it, then below it
            image = _fit(s.png, MARGIN, top, MAP_MAX_W, top - BOTTOM) if s.png else None
            right = MARGIN + (image.width + GAP if image else 0.0)
            frames = [Frame(right, top, PAGE_W - MARGIN - right, top - BOTTOM)]
            if image is not None and image.y - BOTTOM >= 0.9 * INCH:
                below = image.y - 0.15 * INCH
                frames.append(Frame(MARGIN, below, image.width, below - BOTTOM))
        blocks = []
        if len(s.table):
            blocks.append(TableBlock(tuple(str(c) for c in s.table.columns),
                                     tuple(tuple(str(v) for v in row) for row in s.table.itertuples(index=False)),
                                     TABLE_PT))
        blocks += [TextBlock(n, NOTE_PT) for n in s.notes]
        pages += _pages(blocks, frames, title, 15, None, image, None, cont, measure)
    return pages


def _pages(blocks, first, title, size, subtitle, image, caption, cont, measure) -> list[PageLayout]:
    more_title = (title[0] + cont,) + title[1:]
    more_top = PAGE_H - MARGIN - (size + 5) * len(more_title) - 8
    placed = flow(blocks, first, lambda: _columns(more_top), measure)
    out = [PageLayout(title, size, subtitle, image, caption, tuple(placed[0]))]
    out += [PageLayout(more_title, size, None, None, None, tuple(p)) for p in placed[1:]]
    return out


def _image_array(png: bytes) -> np.ndarray:
    from PIL import Image
    with Image.open(io.BytesIO(png)) as im:
        return np.asarray(im.convert("RGB"))


def draw_page(page: PageLayout, *, number: int, total: int, footer: str, font: str) -> PageDrawing:
    """Draw one laid-out page on an A4 landscape figure (call inside ``rc(font)``)."""
    fig = Figure(figsize=(PAGE_W / INCH, PAGE_H / INCH))
    MapCanvas(fig)
    ax = fig.add_axes([0.0, 0.0, 1.0, 1.0])
    ax.set_xlim(0, PAGE_W)
    ax.set_ylim(0, PAGE_H)
    ax.axis("off")
    y = PAGE_H - MARGIN
    for line in page.title:
        y -= page.title_size * 1.05
        ax.text(MARGIN, y, line, fontsize=page.title_size, weight="bold", va="baseline")
        y -= page.title_size * 0.25
    if page.subtitle:
        ax.text(MARGIN, y - 14, page.subtitle, fontsize=10, va="baseline", color="#333333")
    if page.image is not None:
        im = page.image
        if page.caption:
            ax.text(im.x, im.y + im.height + 5, page.caption, fontsize=10, weight="bold", va="baseline",
                    color="#1f4e79")
        ax.imshow(_image_array(im.png), extent=(im.x, im.x + im.width, im.y, im.y + im.height),
                  interpolation="none", aspect="auto", zorder=1)
        ax.add_patch(Rectangle((im.x, im.y), im.width, im.height, facecolor="none", edgecolor="#bbbbbb",
                               linewidth=0.6, zorder=2))
    cells: list = []
    for item in page.items:
        if isinstance(item, PlacedText):
            for i, line in enumerate(item.lines):
                ax.text(item.x, item.top - i * item.line_height - 0.95 * item.size, line, fontsize=item.size,
                        weight="bold" if item.bold else "normal", color=item.colour, va="baseline")
        else:
            cells += _draw_table(ax, item)
    ax.text(MARGIN, 0.3 * INCH, footer, fontsize=7, color="#666666", va="baseline")
    ax.text(PAGE_W - MARGIN, 0.3 * INCH, f"{number} / {total}", fontsize=7, color="#666666",
            va="baseline", ha="right")
    ax.set_xlim(0, PAGE_W)
    ax.set_ylim(0, PAGE_H)
    return PageDrawing(fig, cells)


def _draw_table(ax, placed: PlacedTable) -> list:
    lay = placed.table
    s = lay.size
    out = []

    def row(top: float, height: float, lines_per_cell, numeric, header: bool) -> None:
        x = placed.x
        for j, (w, lines) in enumerate(zip(lay.widths, lines_per_cell)):
            ax.add_patch(Rectangle((x, top - height), w, height, facecolor="#eef2f7" if header else "white",
                                   edgecolor="#bbbbbb", linewidth=0.5, zorder=3))
            right = numeric is not None and numeric[j]
            bold = header
            for i, line in enumerate(lines):
                if not line:
                    continue
                tx = x + w - lay.pad_x if right else x + lay.pad_x
                txt = ax.text(tx, top - lay.pad_y - i * lay.line_height - 0.95 * s, line, fontsize=s,
                              weight="bold" if bold else "normal", ha="right" if right else "left",
                              va="baseline", zorder=4)
                out.append((txt, (x, top - height, x + w, top)))
            x += w

    top = placed.top
    if lay.header is not None:
        row(top, lay.header_height, lay.header, None, True)
        top -= lay.header_height
    for lines, numeric, h in zip(lay.rows, lay.numeric, lay.row_heights):
        row(top, h, lines, numeric, False)
        top -= h
    return out


def pdf_bytes(b) -> bytes:
    """The briefing ``b`` as PDF bytes."""
    from matplotlib.backends.backend_pdf import PdfPages
    layouts = page_layouts(b)
    buf = io.BytesIO()
    with matplotlib.rc_context(rc(b.font)):
        with PdfPages(buf, metadata={"Title": b.title, "Creator": "GridPatrol"}) as pdf:
            for n, page in enumerate(layouts, start=1):
                pdf.savefig(draw_page(page, number=n, total=len(layouts), footer=b.t("brief.footer"),
                                      font=b.font).figure)
    return buf.getvalue()
