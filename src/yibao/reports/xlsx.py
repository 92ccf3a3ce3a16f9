"""A report as an xlsx workbook, its XML parts written straight into the zip file."""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import IllegalCharacterError

from yibao.reports.table import Column, Reading, Report

# --- XLSX ---------------------------------------------------------------------------------------------------------
#
# The workbook's XML parts are written straight into the zip file, the sheet's rows as they are read, so memory
# stays flat and a small table costs what its zip file costs. (openpyxl's write-only mode spent about 7 ms on each
# table, mostly building and serialising its workbook and style objects: 11.7 s for the 1636 tables of a month.)
# A reader sees what openpyxl wrote: the same cells, values, fonts, alignment, number format, column widths,
# frozen header, print titles and page setup; tests/fast/test_report_render.py reads it back with openpyxl.

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
                reading = Reading(report)
                for cells in reading:
                    rows.row([(v, _MONEY if isinstance(v, Decimal) else _PLAIN) for v in cells])
                if report.total_row:
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
