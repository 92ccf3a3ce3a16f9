"""A what-if report as text, JSON and an xlsx workbook (sheets: by region and insured type, largest changes,
changes)."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import simplejson
from openpyxl import Workbook
from openpyxl.styles import Font

from yibao.whatif.report import FIGURES

LABELS = {"fund_pay": "fund pay", "acct_pay": "account pay", "acct_mulaid_pay": "of it mutual aid",
          "psn_cash_pay": "out of pocket"}
MONEY_FORMAT = "#,##0.00"


def as_json(report: dict[str, Any]) -> str:
    return simplejson.dumps(report, use_decimal=True, ensure_ascii=False, indent=2)


def as_text(report: dict[str, Any]) -> str:
    lines = [f"what-if for region {report['region']}, {report['month']}: "
             f"{report['total']['settlements']} settlements replayed, {report['total']['changed']} changed"]
    lines.append(f"changes: {simplejson.dumps(report['changes'], use_decimal=True, ensure_ascii=False)}")
    head = f"{'region':8} {'insutype':8} {'settled':>8} {'changed':>8}  {'figure':17} {'before':>14} {'after':>14} " \
           f"{'change':>14}"
    for title, rows in (("by treatment region", report["by_region"]), ("by insured type", report["by_insutype"]),
                        ("by region and insured type", report["by_region_and_insutype"]),
                        ("total", [report["total"]])):
        lines += ["", title, head]
        for row in rows:
            for i, name in enumerate(FIGURES):
                fig = row[name]
                lead = (f"{row.get('region', '*'):8} {row.get('insutype', '*'):8} {row['settlements']:>8} "
                        f"{row['changed']:>8}" if i == 0 else " " * 35)
                lines.append(f"{lead}  {LABELS[name]:17} {fig['before']:>14} {fig['after']:>14} "
                             f"{_signed(fig['change']):>14}")
    if report["largest_changes"]:
        lines += ["", "largest changes (fund pay)",
                  f"{'setl_id':32} {'region':8} {'insutype':8} {'med_type':8} {'fund before':>12} {'fund after':>12} "
                  f"{'cash before':>12} {'cash after':>12}"]
        for c in report["largest_changes"]:
            lines.append(f"{c['setl_id']:32} {c['region']:8} {c['insutype']:8} {c['med_type']:8} "
                         f"{c['fund_pay']['before']:>12} {c['fund_pay']['after']:>12} "
                         f"{c['psn_cash_pay']['before']:>12} {c['psn_cash_pay']['after']:>12}")
    lines += [f"note: {n}" for n in report["notes"]]
    return "\n".join(lines) + "\n"


def _signed(amount: Decimal) -> str:
    return f"+{amount}" if amount > 0 else str(amount)


def as_xlsx(report: dict[str, Any]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "by region"
    head = ["region", "insutype", "settlements", "changed"]
    for name in FIGURES:
        head += [f"{name} before", f"{name} after", f"{name} change"]
    rows = [[r["region"], r["insutype"], r["settlements"], r["changed"], *_figures(r)]
            for r in report["by_region_and_insutype"]]
    rows.append(["total", "", report["total"]["settlements"], report["total"]["changed"], *_figures(report["total"])])
    _fill(sheet, [f"what-if for region {report['region']}, {report['month']}"], head, rows)
    largest = book.create_sheet("largest changes")
    _fill(largest, [], ["setl_id", "region", "insutype", "med_type", *head[4:]],
          [[c["setl_id"], c["region"], c["insutype"], c["med_type"], *_figures(c)] for c in report["largest_changes"]])
    changes = book.create_sheet("changes")
    _fill(changes, [], ["part", "change"],
          [[part, simplejson.dumps(item, use_decimal=True, ensure_ascii=False)]
           for part, items in report["changes"].items() for item in items]
          + [["note", n] for n in report["notes"]])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _figures(row: dict[str, Any]) -> list[Decimal]:
    return [row[name][k] for name in FIGURES for k in ("before", "after", "change")]


def _fill(sheet: Any, title: list[str], head: list[str], rows: list[list[Any]]) -> None:
    if title:
        sheet.append(title)
        sheet.cell(row=1, column=1).font = Font(bold=True)
    sheet.append(head)
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, Decimal):
                cell.number_format = MONEY_FORMAT
