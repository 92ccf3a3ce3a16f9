"""A what-if report (docs/whatif.md) as printed tables and a PDF with charts, by the monthly reports' writers:
the tables are `Report`s (the console page shows the same ones), the PDF is reports/pdf.py's document and the
charts are analysis_render.chart_png's matplotlib bars.

reports/ sits on the what-if's floor and cannot import it: the caller passes the report (a dict, the shape of
yibao.whatif.report) and its breakdowns, `(report key, key column, English title)` as whatif.report.BREAKDOWNS
lists them. A breakdown the report does not hold is left out, not an error."""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from yibao.reports.analysis import Chart
from yibao.reports.table import Column, Report

Breakdown = tuple[str, str, str]

#: the breakdowns' titles in the tables' language; an unknown one keeps its English title
TITLES = {"by_region": "按就医地", "by_insured_region": "按参保地", "by_insutype": "按险种",
          "by_med_type": "按医疗类别", "by_inst_level": "按医疗机构等级", "by_institution": "按医药机构",
          "by_region_and_insutype": "按就医地与险种"}
#: the titles of the text columns a breakdown row may carry
KEY_TITLES = {"region": "就医地", "insured_region": "参保地", "insutype": "险种", "med_type": "医疗类别",
              "inst_level": "机构等级", "institution": "医药机构编码", "name": "医药机构名称", "psn_no": "人员编号",
              "setl_id": "结算ID"}
FIGURE_TITLES = {"fund_pay": "统筹基金支付", "acct_pay": "个人账户支付", "acct_mulaid_pay": "其中共济支付",
                 "psn_cash_pay": "个人现金支付"}
#: the breakdowns charted: those whose keys are few codes (institutions and the cross table would crowd a chart)
CHARTED = ("by_region", "by_insured_region", "by_insutype", "by_med_type", "by_inst_level")
#: the money columns of a breakdown's table: fund and cash before, after and change; account and aid changes
SHOWN = (("fund_pay", "before"), ("fund_pay", "after"), ("fund_pay", "change"), ("acct_pay", "change"),
         ("acct_mulaid_pay", "change"), ("psn_cash_pay", "before"), ("psn_cash_pay", "after"),
         ("psn_cash_pay", "change"))
WHEN = {"before": "调整前", "after": "调整后", "change": "变化"}
PARTS = {"policies": "待遇政策", "switches": "统筹区开关", "mutual_aid": "家庭共济", "catalog": "目录",
         "region": "统筹区设置"}
ZERO = Decimal("0.00")
MEDIA = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "pdf": "application/pdf"}


def months_of(report: Mapping[str, Any]) -> str:
    months = report.get("months") or [report["month"]]
    return months[0] if len(months) == 1 else f"{months[0]} 至 {months[-1]}"


def fund_effect(report: Mapping[str, Any]) -> Decimal:
    effect = report.get("fund_effect")
    return effect if effect is not None else report["total"]["fund_pay"]["change"]


def file_name(report: Mapping[str, Any], fmt: str) -> str:
    """whatif_440300_2026-03.pdf, whatif_440300_2026-03_2026-05.xlsx: the region and the period (ASCII: a header's
    filename)."""
    months = report.get("months") or [report["month"]]
    period = months[0] if len(months) == 1 else f"{months[0]}_{months[-1]}"
    return f"whatif_{report['region']}_{period}.{fmt}"


def _code(report: Mapping[str, Any], part: str) -> str:
    return f"whatif_{report['region']}_{report.get('month', '')}_{part}"


def _figure_columns() -> list[Column]:
    return [Column(f"{name}_{when}", f"{FIGURE_TITLES[name]}{WHEN[when]}", "money") for name, when in SHOWN]


def _flat(row: Mapping[str, Any], texts: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {k: row.get(k) for k in texts}
    out["settlements"], out["changed"] = row.get("settlements", 0), row.get("changed", 0)
    for name, when in SHOWN:
        out[f"{name}_{when}"] = (row.get(name) or {}).get(when, ZERO)
    return out


def _texts(key: str, rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The key column first, then any other text a row carries (an institution's name, the cross table's
    insured type)."""
    texts = [key]
    for k, v in (rows[0].items() if rows else ()):
        if k not in texts and isinstance(v, str):
            texts.append(k)
    return texts


def breakdown_table(report: Mapping[str, Any], breakdown: Breakdown) -> Report | None:
    key, column, title = breakdown
    rows = report.get(key)
    if rows is None:
        return None
    texts = _texts(column, rows)
    columns = [Column(k, KEY_TITLES.get(k, k)) for k in texts]
    columns += [Column("settlements", "结算笔数", "count"), Column("changed", "变化笔数", "count"),
                *_figure_columns()]
    return Report(_code(report, key), f"{TITLES.get(key, title)}（{title}）", columns,
                  [_flat(r, texts) for r in rows], totals=_flat(report["total"], ()))


def total_table(report: Mapping[str, Any]) -> Report:
    total = report["total"]
    rows = [{"figure": FIGURE_TITLES.get(name, name), **{w: (total.get(name) or {}).get(w, ZERO) for w in WHEN}}
            for name in FIGURE_TITLES if name in total]
    return Report(_code(report, "total"), "合计：调整前后", [Column("figure", "项目"), *[
        Column(w, t, "money") for w, t in WHEN.items()]], rows, total_row=False)


def persons_table(report: Mapping[str, Any]) -> Report:
    rows = report.get("most_affected_persons") or []
    columns = [Column("psn_no", KEY_TITLES["psn_no"]), Column("settlements", "结算笔数", "count"),
               Column("changed", "变化笔数", "count"), *_figure_columns()]
    return Report(_code(report, "persons"), "受影响最大的参保人（按个人现金变化，再按统筹基金变化）", columns,
                  [_flat(r, ("psn_no",)) for r in rows], total_row=False)


def largest_table(report: Mapping[str, Any]) -> Report:
    texts = ("setl_id", "region", "insutype", "med_type")
    columns = [Column(k, KEY_TITLES[k]) for k in texts] + _figure_columns()
    return Report(_code(report, "largest"), "变化最大的结算（按统筹基金变化）", columns,
                  [_flat(r, texts) for r in report.get("largest_changes") or []], total_row=False)


def changes_table(report: Mapping[str, Any]) -> Report:
    rows = [{"part": f"{PARTS.get(part, part)}（{part}[{i}]）",
             "change": json.dumps(item, ensure_ascii=False, default=str)}
            for part, items in (report.get("changes") or {}).items() for i, item in enumerate(items)]
    return Report(_code(report, "changes"), "模拟的政策调整", [Column("part", "调整项"), Column("change", "内容")],
                  rows, notes=[f"说明：{n}" for n in report.get("notes") or []], total_row=False)


def tables(report: Mapping[str, Any], breakdowns: Iterable[Breakdown]) -> list[Report]:
    """Every table of the report, in the order printed: total, each breakdown, persons, settlements, changes."""
    found = [t for t in (breakdown_table(report, b) for b in breakdowns) if t is not None]
    return [total_table(report), *found, persons_table(report), largest_table(report), changes_table(report)]


def chart(report: Mapping[str, Any], breakdown: Breakdown) -> Chart | None:
    """Fund pay before and after per row of the breakdown; labels are codes (the chart font has no Chinese)."""
    key, column, title = breakdown
    rows = report.get(key)
    if key not in CHARTED or rows is None:
        return None
    return Chart(key, f"{TITLES.get(key, title)}：统筹基金支付调整前后（元）", "bar" if len(rows) <= 8 else "barh",
                 [str(r.get(column) or "-") for r in rows],
                 {"before": [r["fund_pay"]["before"] for r in rows], "after": [r["fund_pay"]["after"] for r in rows]})


def title(report: Mapping[str, Any]) -> str:
    return f"政策模拟（what-if）：统筹区 {report['region']}，{months_of(report)}"


def meta(report: Mapping[str, Any]) -> list[tuple[str, str]]:
    total = report["total"]
    effect = fund_effect(report)
    return [("统筹区", str(report["region"])), ("月份", months_of(report)),
            ("重算结算笔数", str(total["settlements"])), ("金额变化笔数", str(total["changed"])),
            ("基金影响（统筹基金支付变化）", f"{'+' if effect > 0 else ''}{effect:,.2f} 元")]


def write_pdf(report: Mapping[str, Any], breakdowns: Sequence[Breakdown], path: Path) -> Path:
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Image, KeepTogether, Paragraph, Spacer, Table

    from yibao.reports import pdf
    from yibao.reports.analysis_render import chart_png

    document = pdf.new_document(path, title(report))
    head = ParagraphStyle("whatif-title", parent=pdf.text_style(16), alignment=TA_CENTER, spaceAfter=6)
    line = pdf.text_style(10)
    cells = [[Paragraph(escape(f"{k}：{v}"), line) for k, v in meta(report)]]
    story: list[Any] = [Paragraph(escape(title(report)), head), Table(cells, colWidths=[document.width / 5] * 5)]
    charts = {b[0]: chart(report, b) for b in breakdowns}
    for table in tables(report, breakdowns):
        story += [Spacer(1, 8), *pdf.report_story(table, document.width, title_size=11)]
        drawn = charts.get(table.code.removeprefix(_code(report, "")))
        if drawn is not None:
            image = Image(io.BytesIO(chart_png(drawn)))
            scale = min(1.0, document.width * 0.8 / image.imageWidth)  # float-ok: PDF points
            image.drawWidth, image.drawHeight = image.imageWidth * scale, image.imageHeight * scale
            story.append(KeepTogether([Spacer(1, 6), image, Paragraph(escape(drawn.caption), pdf.text_style())]))
    pdf.build(document, story)
    return path


def as_pdf(report: Mapping[str, Any], breakdowns: Sequence[Breakdown]) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        return write_pdf(report, breakdowns, Path(folder) / "whatif.pdf").read_bytes()
