"""A what-if report as text, JSON and an xlsx workbook (sheets: by region and insured type, one per breakdown, the
persons most affected, the largest changes, the changes). The PDF with charts is reports/whatif_render.py: the
monthly reports' writers sit on this package's floor."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from typing import Any

import simplejson
from openpyxl import Workbook
from openpyxl.styles import Font

from yibao.whatif.report import BREAKDOWNS, FIGURES

LABELS = {"fund_pay": "fund pay", "acct_pay": "account pay", "acct_mulaid_pay": "of it mutual aid",
          "psn_cash_pay": "out of pocket"}
MONEY_FORMAT = "#,##0.00"


def as_json(report: dict[str, Any]) -> str:
    return simplejson.dumps(report, use_decimal=True, ensure_ascii=False, indent=2)


def as_text(report: dict[str, Any]) -> str:
    months = report.get("months") or [report["month"]]
    period = months[0] if len(months) == 1 else f"{months[0]} to {months[-1]}"
    lines = [f"what-if for region {report['region']}, {period}: "
             f"{report['total']['settlements']} settlements replayed, {report['total']['changed']} changed",
             f"effect on the fund: {_signed(report['fund_effect'])}"]
    lines.append(f"changes: {simplejson.dumps(report['changes'], use_decimal=True, ensure_ascii=False)}")
    tables = [(title, column, report[name]) for name, column, title in BREAKDOWNS]
    tables += [("by region and insured type", "region", report["by_region_and_insutype"]),
               ("total", "", [report["total"]]), ("persons most affected", "psn_no", report["most_affected_persons"])]
    for title, column, rows in tables:
        if not rows:
            continue
        lines += ["", title, f"{column or '':24} {'settled':>8} {'changed':>8}  {'figure':17} {'before':>14} "
                             f"{'after':>14} {'change':>14}"]
        for row in rows:
            label = _label(row, column)
            for i, name in enumerate(FIGURES):
                fig = row[name]
                lead = f"{label:24.24} {row['settlements']:>8} {row['changed']:>8}" if i == 0 else " " * 42
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


def _label(row: dict[str, Any], column: str) -> str:
    if not column:
        return "*"
    if column == "region" and "insutype" in row:
        return f"{row['region']} {row['insutype']}"
    label = str(row.get(column) or "-")
    return f"{label} {row['name']}" if row.get("name") else label


def _signed(amount: Decimal) -> str:
    return f"+{amount}" if amount > 0 else str(amount)


def as_xlsx(report: dict[str, Any]) -> bytes:
    """Sheets: by region (treatment region and insured type, with the total), one per breakdown of BREAKDOWNS,
    the persons most affected, the largest changes, the changes (and the fund effect, the notes). Money cells are
    numbers in the money format."""
    book = Workbook()
    sheet = book.active
    sheet.title = "by region"
    head = ["region", "insutype", "settlements", "changed"]
    for name in FIGURES:
        head += [f"{name} before", f"{name} after", f"{name} change"]
    figures = head[4:]
    rows = [[r["region"], r["insutype"], r["settlements"], r["changed"], *_figures(r)]
            for r in report["by_region_and_insutype"]]
    rows.append(["total", "", report["total"]["settlements"], report["total"]["changed"], *_figures(report["total"])])
    title = f"what-if for region {report['region']}, {', '.join(report.get('months') or [report['month']])}"
    _fill(sheet, [title], head, rows)
    for key, column, name in BREAKDOWNS:
        if report.get(key) is None:
            continue
        named = any(r.get("name") for r in report[key])
        keys = [column, "name"] if named else [column]
        _fill(book.create_sheet(_sheet_name(name)), [f"{title}: {name}"], [*keys, "settlements", "changed", *figures],
              [[*(r.get(k) or "" for k in keys), r["settlements"], r["changed"], *_figures(r)] for r in report[key]]
              + [["total", *[""] * (len(keys) - 1), report["total"]["settlements"], report["total"]["changed"],
                  *_figures(report["total"])]])
    persons = book.create_sheet("persons most affected")
    _fill(persons, [f"{title}: whose out-of-pocket moves most"], ["psn_no", "settlements", "changed", *figures],
          [[p["psn_no"], p["settlements"], p["changed"], *_figures(p)]
           for p in report.get("most_affected_persons", [])])
    largest = book.create_sheet("largest changes")
    _fill(largest, [], ["setl_id", "region", "insutype", "med_type", *figures],
          [[c["setl_id"], c["region"], c["insutype"], c["med_type"], *_figures(c)] for c in report["largest_changes"]])
    changes = book.create_sheet("changes")
    effect = report.get("fund_effect", report["total"]["fund_pay"]["change"])
    _fill(changes, [], ["part", "change"],
          [["fund effect", effect]]
          + [[part, simplejson.dumps(item, use_decimal=True, ensure_ascii=False)]
             for part, items in report["changes"].items() for item in items]
          + [["note", n] for n in report["notes"]])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet_name(title: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", "_", title)[:31]


def _figures(row: dict[str, Any]) -> list[Decimal]:
    return [row[name][k] for name in FIGURES for k in ("before", "after", "change")]


def _fill(sheet: Any, title: list[str], head: list[str], rows: list[list[Any]]) -> None:
    if title:
        sheet.append(title)
        sheet.cell(row=1, column=1).font = Font(bold=True)
    sheet.append(head)
    sheet.freeze_panes = f"A{sheet.max_row + 1}"  # the header stays on screen (a cell() here would add a row)
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, Decimal):
                cell.number_format = MONEY_FORMAT
