"""A report as a PDF: landscape A4, the header row repeated on every page, page numbers, a CID font."""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Flowable, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from yibao.reports.table import Column, Reading, Report

# --- PDF ----------------------------------------------------------------------------------------------------------

_FONT = "STSong-Light"  # a CID font every PDF reader has: no font file to ship
_PAD_X, _PAD_Y = 3.0, 2.0
_MONEY_SAMPLE = "99,999,999.99"  # the widest amount a money column must hold on one line
_MARGIN = 28.0  # about 1 cm


def _font() -> str:
    if _FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(_FONT))
    return _FONT


def _layout(columns: Sequence[Column], width: float) -> tuple[list[float], float]:  # float-ok: PDF points
    """Column widths over the page width, and the font size that lets money columns hold their amounts."""
    weights = [{"text": 2.0, "money": 1.5, "count": 1.0}[c.kind] for c in columns]
    widths = [width * w / sum(weights) for w in weights]
    per_point = pdfmetrics.stringWidth(_MONEY_SAMPLE, _font(), 1)
    fits = [(w - 2 * _PAD_X) / per_point for w, c in zip(widths, columns, strict=True) if c.kind == "money"]
    return widths, max(5.0, min([9.0, *fits]))


class _TableFeed(Flowable):
    """Stands in the story for the whole table; the document swaps it for one Table per page.

    Cutting pages here, rather than handing platypus one huge Table, keeps a page of rows in memory, and puts the
    header at the top of each page and nowhere else. Row heights are measured here and imposed on the Table.
    """

    def __init__(self, report: Report, widths: list[float], size: float) -> None:  # float-ok: PDF points
        super().__init__()
        self.columns, self.widths = report.columns, widths
        self.reading = Reading(report)
        self.rows = iter(self.reading)
        self.finished = False
        self.total_row, self.any_rows = report.total_row, False
        self.pending: tuple[list[Any], float, bool] | None = None
        self.leading = size * 1.2
        self.number_styles: dict[float, ParagraphStyle] = {}
        self.body_style = ParagraphStyle("cell", fontName=_font(), fontSize=size, leading=self.leading)
        head_style = ParagraphStyle("head", parent=self.body_style, alignment=TA_CENTER)
        self.header, self.header_height = self._measure([Paragraph(escape(c.title), head_style) for c in self.columns])
        self.base_style = [
            ("FONT", (0, 0), (-1, -1), _font(), size, self.leading),
            ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("LEFTPADDING", (0, 0), (-1, -1), _PAD_X),
            ("RIGHTPADDING", (0, 0), (-1, -1), _PAD_X),
            ("TOPPADDING", (0, 0), (-1, -1), _PAD_Y),
            ("BOTTOMPADDING", (0, 0), (-1, -1), _PAD_Y),
            ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
            *[("ALIGN", (i, 1), (i, -1), "RIGHT") for i, c in enumerate(self.columns) if c.kind != "text"],
        ]

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:  # float-ok: PDF points
        return 0, 0

    def draw(self) -> None:
        pass

    def _measure(self, cells: Sequence[Any]) -> tuple[list[Any], float]:
        out, height = [], self.leading
        size = self.body_style.fontSize
        for value, width in zip(cells, self.widths, strict=True):
            room = width - 2 * _PAD_X
            if isinstance(value, Paragraph):
                pass
            elif isinstance(value, int | Decimal):
                text = f"{value:,.2f}" if isinstance(value, Decimal) else str(value)
                wide = pdfmetrics.stringWidth(text, _FONT, size)
                # A number broken over two lines misreads: it gets a smaller font instead.
                value = text if wide <= room else Paragraph(text, self._number_style(size * room / wide))
            elif value is not None and ("\n" in value or pdfmetrics.stringWidth(value, _FONT, size) > room):
                value = Paragraph(escape(value), self.body_style)  # long text wraps rather than spill over
            if isinstance(value, Paragraph):
                height = max(height, value.wrap(room, 1e9)[1])
            out.append(value)
        return out, height + 2 * _PAD_Y

    def _number_style(self, size: float) -> ParagraphStyle:  # float-ok: PDF points
        size = math.floor(size * 10) / 10  # a tenth of a point below the exact fit, and few distinct styles
        if size not in self.number_styles:
            self.number_styles[size] = ParagraphStyle(
                f"number{size}", parent=self.body_style, fontSize=size, leading=size * 1.2, alignment=TA_RIGHT
            )
        return self.number_styles[size]

    def _next_row(self) -> tuple[list[Any], float, bool] | None:
        if self.finished:
            return None
        cells = next(self.rows, None)
        if cells is None:
            self.finished = True
            if self.total_row or not self.any_rows:  # an empty table still shows a row under its header
                return *self._measure(self.reading.total_cells()), True
            return None
        self.any_rows = True
        return *self._measure(cells), False

    def next_page(self, frame: Any) -> list[Flowable]:
        """The rows that fit in what is left of the frame, under the header, then this feed again if rows remain."""
        room = frame._y - frame._y1p - self.header_height
        body: list[list[Any]] = []
        heights: list[float] = []
        total_row = False
        while True:
            if self.pending is None:
                self.pending = self._next_row()
                if self.pending is None:
                    break
            cells, height, is_total = self.pending
            if height > room and (body or not frame._atTop):  # a row taller than a page still goes, alone
                break
            body.append(cells)
            heights.append(height)
            room -= height
            total_row = total_row or is_total
            self.pending = None
        if not body:
            return [PageBreak(), self]
        style = list(self.base_style)
        if total_row:
            style.append(("BACKGROUND", (0, -1), (-1, -1), colors.whitesmoke))
        table = Table([self.header, *body], colWidths=self.widths, rowHeights=[self.header_height, *heights],
                      repeatRows=1, style=TableStyle(style))
        done = self.finished and self.pending is None
        return [table] if done else [table, self]


class _Document(SimpleDocTemplate):
    def filterFlowables(self, flowables: list[Any]) -> None:  # noqa: N802 (reportlab's hook)
        if isinstance(flowables[0], _TableFeed):
            flowables[0:1] = flowables[0].next_page(self.frame)


def _page_number(canvas: Any, document: Any) -> None:
    canvas.saveState()
    canvas.setFont(_font(), 8)
    canvas.drawCentredString(document.pagesize[0] / 2, _MARGIN / 2, f"第 {document.page} 页")
    canvas.restoreState()


def new_document(path: Path, title: str) -> SimpleDocTemplate:
    """A landscape A4 document whose story may hold tables of reports (report_story) and anything else."""
    return _Document(str(path), pagesize=landscape(A4), title=title, leftMargin=_MARGIN, rightMargin=_MARGIN,
                     topMargin=_MARGIN, bottomMargin=_MARGIN)


def build(document: SimpleDocTemplate, story: list[Flowable]) -> None:
    document.build(story, onFirstPage=_page_number, onLaterPages=_page_number)


def text_style(size: float = 9) -> ParagraphStyle:  # float-ok: PDF points
    return ParagraphStyle(f"line{size}", fontName=_font(), fontSize=size, leading=size * 1.45)


def report_story(report: Report, width: float, title_size: float = 14) -> list[Flowable]:  # float-ok: PDF points
    """A report's title, meta, table (paged, header on every page) and notes, over `width` points."""
    widths, size = _layout(report.columns, width)
    title_style = ParagraphStyle("title", fontName=_font(), fontSize=title_size, leading=title_size * 1.4,
                                 alignment=TA_CENTER, spaceAfter=6)
    line_style = text_style()
    story: list[Flowable] = [Paragraph(escape(report.title), title_style)]
    if report.meta:
        # Spread over the width in up to four columns, as on the printed forms; a Paragraph would run them together.
        cells: list[Any] = [Paragraph(escape(f"{label}：{value}"), line_style) for label, value in report.meta]
        across = min(4, len(cells))
        cells += [""] * (-len(cells) % across)
        grid = [cells[i : i + across] for i in range(0, len(cells), across)]
        flush_left = [("LEFTPADDING", (0, 0), (-1, -1), 0)]
        story.append(Table(grid, colWidths=[width / across] * across, style=flush_left))
    story += [Spacer(1, 4), _TableFeed(report, widths, size), Spacer(1, 4)]
    story += [Paragraph(escape(note), line_style) for note in report.notes]
    return story


def write_pdf(report: Report, path: Path) -> Path:
    document = new_document(path, report.title)
    build(document, report_story(report, document.width))
    return path
