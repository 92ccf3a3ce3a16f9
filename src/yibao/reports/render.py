"""The tables agencies print (declaration tables, review payment tables, allocation plans) as JSON, XLSX and PDF.

Each writer reads the rows once, so rows given as a callable are streamed: one fresh iterator per format, never
all rows in memory (except for to_json, whose answer is the whole document).
"""

from __future__ import annotations

import json
import math
import os
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from xml.sax.saxutils import escape

from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import IllegalCharacterError
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Flowable, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from yibao.money import ZERO, round2

TOTAL_LABEL = "合计"
FORMATS = ("json", "xlsx", "pdf")

Kind = Literal["text", "money", "count"]
Cell = str | Decimal | int | None


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    kind: Kind = "text"


@dataclass
class Report:
    code: str
    title: str
    columns: list[Column]
    rows: Sequence[Mapping[str, Any]] | Callable[[], Iterable[Mapping[str, Any]]]
    meta: list[tuple[str, str]] = field(default_factory=list)
    totals: Mapping[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.code or Path(self.code).name != self.code:
            raise ValueError(f"report code {self.code!r} is not a file stem")
        if not self.columns:
            raise ValueError("a report needs at least one column")
        for column in self.columns:
            if column.kind not in ("text", "money", "count"):
                raise ValueError(f"column {column.key}: unknown kind {column.kind!r}")
        # A bare iterator would print its rows in the first format and an empty table in the others.
        if isinstance(self.rows, Iterator):
            raise TypeError("rows must be a sequence or a callable returning a fresh iterator, not an iterator")
        if self.totals is not None:
            unknown = set(self.totals) - {column.key for column in self.columns}
            if unknown:
                raise ValueError(f"totals name no column: {sorted(unknown)}")

    def iter_rows(self) -> Iterator[Mapping[str, Any]]:
        return iter(self.rows() if callable(self.rows) else self.rows)

    def computed_totals(self) -> dict[str, Decimal | int]:
        reading = _Reading(self)
        for _ in reading:
            pass
        return reading.sums

    def effective_totals(self) -> dict[str, Any]:
        return dict(self.totals) if self.totals is not None else self.computed_totals()


def _money(value: Any) -> Decimal:
    if value is None:
        return ZERO
    # An int here is most likely fen and a float is already inexact: both would print a wrong amount.
    if not isinstance(value, Decimal):
        raise TypeError(f"money must be a Decimal, not {type(value).__name__} {value!r}")
    if not value.is_finite():
        raise ValueError(f"money must be finite, not {value!r}")
    return round2(value) or ZERO  # no "-0.00"


def money_text(value: Any) -> str:
    """A money amount as plain text with exactly two decimals: Decimal("1234.5") -> "1234.50"."""
    return format(_money(value), "f")


def _cell(column: Column, value: Any) -> Cell:
    if column.kind == "money":
        return _money(value)
    if column.kind == "count":
        if value is None:
            return 0
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"column {column.key}: a count must be an int, not {type(value).__name__} {value!r}")
        return value
    return "" if value is None else str(value)


class _Reading:
    """One pass over the rows: cells checked and typed per column, and the sums the 合计 row needs."""

    def __init__(self, report: Report) -> None:
        self.report = report
        self.sums: dict[str, Decimal | int] = {
            c.key: ZERO if c.kind == "money" else 0 for c in report.columns if c.kind != "text"
        }

    def __iter__(self) -> Iterator[list[Cell]]:
        columns = self.report.columns
        for row in self.report.iter_rows():
            cells = [_cell(column, row.get(column.key)) for column in columns]
            # Sums of the rounded cells, so that the 合计 printed equals the sum of the amounts printed.
            for column, value in zip(columns, cells, strict=True):
                if column.key in self.sums:
                    self.sums[column.key] += value  # type: ignore[operator]
            yield cells

    def totals(self) -> dict[str, Cell]:
        """The typed totals; when computed, only complete once the rows have been read."""
        given = self.report.totals
        if given is None:
            return dict(self.sums)
        return {c.key: _cell(c, given[c.key]) for c in self.report.columns if c.key in given}

    def total_cells(self) -> list[Cell]:
        totals = self.totals()
        cells = [totals.get(c.key) for c in self.report.columns]
        label = next((i for i, c in enumerate(self.report.columns) if c.kind == "text"), None)
        if label is not None and not cells[label]:
            cells[label] = TOTAL_LABEL
        return cells


# --- JSON ---------------------------------------------------------------------------------------------------------


def _json_value(value: Cell) -> str | int:
    if isinstance(value, Decimal):
        return money_text(value)
    return "" if value is None else value


def _json_row(columns: Sequence[Column], cells: Sequence[Cell]) -> dict[str, str | int]:
    return {c.key: _json_value(v) for c, v in zip(columns, cells, strict=True)}


def _json_head(report: Report) -> dict[str, Any]:
    return {
        "code": report.code,
        "title": report.title,
        "meta": [{"label": label, "value": value} for label, value in report.meta],
        "columns": [{"key": c.key, "title": c.title, "kind": c.kind} for c in report.columns],
    }


def to_json(report: Report) -> dict[str, Any]:
    reading = _Reading(report)
    rows = [_json_row(report.columns, cells) for cells in reading]
    totals = {key: _json_value(value) for key, value in reading.totals().items()}
    return {**_json_head(report), "rows": rows, "totals": totals, "notes": list(report.notes)}


def _dump(value: Any, depth: int) -> str:
    # json escapes newlines inside strings, so every raw newline is a line break of the layout.
    return json.dumps(value, ensure_ascii=False, indent=1).replace("\n", "\n" + " " * depth)


def _write_json(report: Report, path: Path) -> Path:
    """The text json.dump(to_json(report), indent=1) would write, one row at a time."""
    reading = _Reading(report)
    partial = path.with_name(path.name + ".part")  # a refused amount in row 900 must not leave half a file
    try:
        with partial.open("w", encoding="utf-8") as out:
            out.write("{\n")
            for key, value in _json_head(report).items():
                out.write(f" {_dump(key, 1)}: {_dump(value, 1)},\n")
            out.write(' "rows": [')
            empty = True
            for cells in reading:
                out.write(("\n  " if empty else ",\n  ") + _dump(_json_row(report.columns, cells), 2))
                empty = False
            out.write("],\n" if empty else "\n ],\n")
            totals = {key: _json_value(value) for key, value in reading.totals().items()}
            out.write(f' "totals": {_dump(totals, 1)},\n "notes": {_dump(list(report.notes), 1)}\n}}')
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, path)
    return path


# --- XLSX ---------------------------------------------------------------------------------------------------------
#
# The workbook's XML parts are written straight into the zip file, the sheet's rows as they are read, so memory
# stays flat and a small table costs what its zip file costs. (openpyxl's write-only mode spent about 7 ms on each
# table, mostly building and serialising its workbook and style objects: 11.7 s for the 1636 tables of a month.)
# A reader sees what openpyxl wrote: the same cells, values, fonts, alignment, number format, column widths,
# frozen header, print titles and page setup; tests/test_report_render.py reads it back with openpyxl.

_MONEY_FORMAT = "#,##0.00"  # Excel's built-in number format 4
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_SHEET_PART = "xl/worksheets/sheet1.xml"
_PARTS = {
    "[Content_Types].xml": (
        f'{_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_TYPE}.sheet.main+xml"/>'
        f'<Override PartName="/{_SHEET_PART}" ContentType="{_TYPE}.worksheet+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{_TYPE}.styles+xml"/></Types>'),
    "_rels/.rels": (
        f'{_HEAD}<Relationships xmlns="{_PACKAGE_REL}">'
        f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
    "xl/_rels/workbook.xml.rels": (
        f'{_HEAD}<Relationships xmlns="{_PACKAGE_REL}">'
        f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_REL}/styles" Target="styles.xml"/></Relationships>'),
    # cellXfs, in the order of the _PLAIN.._MONEY_BOLD numbers below: plain, title (bold 14), header (bold,
    # centred, wrapped), money, bold, money bold
    "xl/styles.xml": (
        f'{_HEAD}<styleSheet xmlns="{_MAIN}"><fonts count="3">'
        '<font><sz val="11"/><name val="Calibri"/><family val="2"/><scheme val="minor"/></font>'
        '<font><b val="1"/><sz val="14"/></font><font><b val="1"/></font></fonts>'
        '<fills count="2"><fill><patternFill/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="6"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
        '<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1" applyAlignment="1">'
        '<alignment horizontal="center" vertical="center" wrapText="1"/></xf>'
        '<xf numFmtId="4" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
        '<xf numFmtId="4" fontId="2" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" applyFont="1"/>'
        '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        '</styleSheet>'),
}
_PLAIN, _TITLE, _HEADER, _MONEY, _BOLD, _MONEY_BOLD = range(6)
_ILLEGAL = re.compile(r"[\000-\010\013\014\016-\037]")  # no XML 1.0 document can hold these (as openpyxl refuses)
_FLUSH = 1 << 16
_TEXT_ENTITIES = {"\r": "&#13;"}  # a raw CR would be read back as LF
_ATTRIBUTE_ENTITIES = {'"': "&quot;"}


def _sheet_name(report: Report) -> str:
    return re.sub(r"[\[\]:*?/\\]", "_", report.code)[:31]


def _workbook_xml(sheet: str, header_row: int) -> str:
    quoted = "'" + sheet.replace("'", "''") + "'"
    return (f'{_HEAD}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><bookViews><workbookView activeTab="0"/>'
            f'</bookViews><sheets><sheet name="{escape(sheet, _ATTRIBUTE_ENTITIES)}" sheetId="1" r:id="rId1"/>'
            f'</sheets><definedNames><definedName name="_xlnm.Print_Titles" localSheetId="0">'
            f'{escape(quoted)}!${header_row}:${header_row}</definedName></definedNames></workbook>')


def _sheet_head(report: Report, header_row: int) -> str:
    widths = "".join(
        f'<col min="{i}" max="{i}" width="{_width(column)}" customWidth="1"/>'
        for i, column in enumerate(report.columns, start=1))
    return (f'{_HEAD}<worksheet xmlns="{_MAIN}"><sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
            f'<sheetViews><sheetView workbookViewId="0"><pane ySplit="{header_row}" topLeftCell="A{header_row + 1}" '
            'activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" activeCell="A1" sqref="A1"/>'
            f'</sheetView></sheetViews><sheetFormatPr baseColWidth="8" defaultRowHeight="15"/><cols>{widths}</cols>'
            '<sheetData>')


_SHEET_TAIL = ('</sheetData><pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/>'
               '<pageSetup paperSize="9" orientation="landscape" fitToWidth="1" fitToHeight="0"/></worksheet>')


def _width(column: Column) -> int:
    return {"money": 16, "count": 10}.get(column.kind, min(40, max(12, 2 * len(column.title) + 2)))


def _xlsx_cell(ref: str, value: Any, style: int) -> str:
    """One <c> element; nothing for an empty unstyled cell (openpyxl wrote no value there either)."""
    styled = f' s="{style}"' if style else ""
    if value is None or value == "":
        return f'<c r="{ref}"{styled}/>' if style else ""
    if isinstance(value, str):
        if _ILLEGAL.search(value):
            raise IllegalCharacterError(f"{value!r} cannot be used in worksheets.")
        space = ' xml:space="preserve"' if value != value.strip() else ""
        return f'<c r="{ref}"{styled} t="inlineStr"><is><t{space}>{escape(value, _TEXT_ENTITIES)}</t></is></c>'
    if isinstance(value, Decimal):  # exact: "1234.50", never a float's "0.07000000000000001"
        return f'<c r="{ref}"{styled}><v>{value:f}</v></c>'
    if isinstance(value, int) and not isinstance(value, bool):
        return f'<c r="{ref}"{styled}><v>{value}</v></c>'
    raise TypeError(f"no spreadsheet cell for {type(value).__name__} {value!r}")


class _SheetWriter:
    """Rows in order, each a list of (value, style), written to the sheet's part in 64 KiB pieces."""

    def __init__(self, out: Any, width: int) -> None:
        self.out, self.number, self.size = out, 0, 0
        self.pending: list[str] = []
        self.letters = [get_column_letter(i) for i in range(1, max(width, 2) + 1)]

    def row(self, cells: Iterable[tuple[Any, int]]) -> None:
        self.number += 1
        n = str(self.number)
        body = "".join(_xlsx_cell(self.letters[i] + n, value, style) for i, (value, style) in enumerate(cells))
        self.write(f'<row r="{n}">{body}</row>')

    def write(self, text: str) -> None:
        self.pending.append(text)
        self.size += len(text)
        if self.size >= _FLUSH:
            self.flush()

    def flush(self) -> None:
        self.out.write("".join(self.pending).encode("utf-8"))
        self.pending, self.size = [], 0


def write_xlsx(report: Report, path: Path) -> Path:
    header_row = 2 + len(report.meta)
    sheet = _sheet_name(report)
    partial = path.with_name(path.name + ".part")  # a refused amount in row 900 must not leave half a file
    try:
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, text in _PARTS.items():
                archive.writestr(name, text)
            archive.writestr("xl/workbook.xml", _workbook_xml(sheet, header_row))
            with archive.open(_SHEET_PART, "w") as out:
                rows = _SheetWriter(out, len(report.columns))
                rows.write(_sheet_head(report, header_row))
                rows.row([(report.title, _TITLE)])
                for label, value in report.meta:
                    rows.row([(label, _PLAIN), (value, _PLAIN)])
                rows.row([(c.title, _HEADER) for c in report.columns])
                reading = _Reading(report)
                for cells in reading:
                    rows.row([(v, _MONEY if isinstance(v, Decimal) else _PLAIN) for v in cells])
                rows.row([(v, _MONEY_BOLD if isinstance(v, Decimal) else _BOLD) for v in reading.total_cells()])
                if report.notes:
                    rows.row([])
                    for note in report.notes:
                        rows.row([(note, _PLAIN)])
                rows.write(_SHEET_TAIL)
                rows.flush()
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, path)
    return path


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
        self.reading = _Reading(report)
        self.rows = iter(self.reading)
        self.finished = False
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
            return *self._measure(self.reading.total_cells()), True
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


def write_pdf(report: Report, path: Path) -> Path:
    document = _Document(str(path), pagesize=landscape(A4), title=report.title, leftMargin=_MARGIN,
                         rightMargin=_MARGIN, topMargin=_MARGIN, bottomMargin=_MARGIN)
    widths, size = _layout(report.columns, document.width)
    title_style = ParagraphStyle("title", fontName=_font(), fontSize=14, leading=20, alignment=TA_CENTER,
                                 spaceAfter=6)
    line_style = ParagraphStyle("line", fontName=_font(), fontSize=9, leading=13)
    story: list[Flowable] = [Paragraph(escape(report.title), title_style)]
    if report.meta:
        # Spread over the width in up to four columns, as on the printed forms; a Paragraph would run them together.
        cells: list[Any] = [Paragraph(escape(f"{label}：{value}"), line_style) for label, value in report.meta]
        across = min(4, len(cells))
        cells += [""] * (-len(cells) % across)
        grid = [cells[i : i + across] for i in range(0, len(cells), across)]
        flush_left = [("LEFTPADDING", (0, 0), (-1, -1), 0)]
        story.append(Table(grid, colWidths=[document.width / across] * across, style=flush_left))
    story += [Spacer(1, 4), _TableFeed(report, widths, size), Spacer(1, 4)]
    story += [Paragraph(escape(note), line_style) for note in report.notes]
    document.build(story, onFirstPage=_page_number, onLaterPages=_page_number)
    return path


# --- all formats --------------------------------------------------------------------------------------------------


def write_all(report: Report, folder: Path, formats: Sequence[str] = FORMATS) -> list[Path]:
    writers = {"json": _write_json, "xlsx": write_xlsx, "pdf": write_pdf}
    unknown = [f for f in formats if f not in writers]
    if unknown:
        raise ValueError(f"unknown report formats {unknown}; known: {list(writers)}")
    folder.mkdir(parents=True, exist_ok=True)
    return [writers[f](report, folder / f"{report.code}.{f}") for f in formats]
