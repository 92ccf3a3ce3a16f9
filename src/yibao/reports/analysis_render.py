"""The analysis report (reports/analysis.py) as JSON (every figure), xlsx (a sheet per section, and the charts'
data) and PDF (the sections and their charts).

The charts are drawn with matplotlib on its Agg backend, imported here only when a PDF is written: the CLI stays
fast to start. Their labels are codes and the captions under them, in the PDF's CID font, say the rest: no CJK
font file is needed."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from yibao.reports.analysis import Analysis, Chart
from yibao.reports.table import FORMATS, Reading, to_json

#: the section each chart is printed under (by the section code's first word)
_CHART_AFTER = {"overview": "periods", "by_region": "regions", "by_kind": "med_types",
                "institutions": "institutions", "review": "review"}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def as_json(analysis: Analysis) -> dict[str, Any]:
    return {"code": analysis.code, "title": analysis.title,
            "meta": [{"label": label, "value": value} for label, value in analysis.meta],
            "figures": _plain(analysis.figures),
            "sections": [to_json(section) for section in analysis.sections],
            "charts": [{"name": c.name, "caption": c.caption, "kind": c.kind, "labels": c.labels,
                        "series": _plain(c.series)} for c in analysis.charts]}


def _replace(partial: Path, path: Path) -> Path:
    os.replace(partial, path)
    return path


def write_json(analysis: Analysis, path: Path) -> Path:
    partial = path.with_name(path.name + ".part")
    partial.write_text(json.dumps(as_json(analysis), ensure_ascii=False, indent=1), encoding="utf-8")
    return _replace(partial, path)


def write_xlsx(analysis: Analysis, path: Path) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    cover = book.active
    cover.title = "报告"
    cover.append([analysis.title])
    cover["A1"].font = Font(bold=True, size=14)
    for label, value in analysis.meta:
        cover.append([label, value])
    for section in analysis.sections:
        sheet = book.create_sheet(section.title.split("、", 1)[-1][:31].replace("/", "_"))
        sheet.append([section.title])
        sheet["A1"].font = Font(bold=True)
        sheet.append([c.title for c in section.columns])
        reading = Reading(section)
        for cells in reading:
            sheet.append(list(cells))
        if section.total_row:
            sheet.append(reading.total_cells())
        for note in section.notes:
            sheet.append([note])
        for row in sheet.iter_rows(min_row=3):
            for cell in row:
                if isinstance(cell.value, Decimal):
                    cell.number_format = "#,##0.00"
    data = book.create_sheet("图表数据")
    for chart in analysis.charts:
        data.append([chart.caption])
        data.append(["", *chart.labels])
        for name, values in chart.series.items():
            data.append([name, *values])
        data.append([])
    partial = path.with_name(path.name + ".part")
    book.save(partial)
    return _replace(partial, path)


def chart_png(chart: Chart) -> bytes:
    """The chart drawn by matplotlib (Agg), as PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, max(2.6, 0.32 * len(chart.labels) + 1.2) if chart.kind == "barh" else 3.2), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    if not chart.labels:
        axes.text(0.5, 0.5, "no data", ha="center", va="center")
        axes.set_axis_off()
    else:
        count = len(chart.series)
        width = 0.8 / count
        for i, (name, values) in enumerate(chart.series.items()):
            positions = [k + (i - (count - 1) / 2) * width for k in range(len(chart.labels))]
            numbers = [float(v) for v in values]  # float-ok: chart coordinates, never money
            if chart.kind == "barh":
                axes.barh(positions, numbers, height=width, label=name)
            else:
                axes.bar(positions, numbers, width=width, label=name)
        ticks = list(range(len(chart.labels)))
        if chart.kind == "barh":
            axes.set_yticks(ticks, chart.labels, fontsize=7)
            axes.invert_yaxis()
        else:
            axes.set_xticks(ticks, chart.labels, fontsize=8)
        if count > 1:
            axes.legend(fontsize=7)
        axes.grid(axis="x" if chart.kind == "barh" else "y", linewidth=0.3)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def write_pdf(analysis: Analysis, path: Path) -> Path:
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Image, KeepTogether, Paragraph, Spacer

    from yibao.reports import pdf

    document = pdf.new_document(path, analysis.title)
    title = ParagraphStyle("analysis-title", parent=pdf.text_style(16), alignment=TA_CENTER, spaceAfter=6)
    story: list[Any] = [Paragraph(escape(analysis.title), title),
                        Paragraph(escape("；".join(f"{k}：{v}" for k, v in analysis.meta)), pdf.text_style())]
    charts = {c.name: c for c in analysis.charts}
    for section in analysis.sections:
        story += [Spacer(1, 8), *pdf.report_story(section, document.width, title_size=11)]
        chart = charts.get(_CHART_AFTER.get(_section_key(section.code), ""))
        if chart is not None:
            png = chart_png(chart)
            image = Image(io.BytesIO(png))
            scale = min(1.0, document.width * 0.8 / image.imageWidth)  # float-ok: PDF points
            image.drawWidth, image.drawHeight = image.imageWidth * scale, image.imageHeight * scale
            story.append(KeepTogether([Spacer(1, 6), image, Paragraph(escape(chart.caption), pdf.text_style())]))
    pdf.build(document, story)
    return path


def _section_key(code: str) -> str:
    """overview_440300_2026-03 -> overview; by_region_440000_2026Q1 -> by_region."""
    return "_".join(part for part in code.split("_") if not part[:1].isdigit())


def write_analysis(analysis: Analysis, folder: Path, formats: Sequence[str] = FORMATS) -> list[Path]:
    writers = {"json": write_json, "xlsx": write_xlsx, "pdf": write_pdf}
    unknown = [f for f in formats if f not in writers]
    if unknown:
        raise ValueError(f"unknown report formats {unknown}; known: {list(writers)}")
    folder.mkdir(parents=True, exist_ok=True)
    return [writers[f](analysis, folder / f"{analysis.code}.{f}") for f in formats]
