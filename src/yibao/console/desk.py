"""What the staff pages share: the month asked for, a monthly table (reports/) shown as a page or downloaded as
xlsx, PDF or JSON, and names for the codes the tables carry."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import Response

from yibao import codes
from yibao.console.web import TEMPLATES, User, in_work
from yibao.errors import Refusal, refuse
from yibao.money import NotDecimal, money
from yibao.platform.work import Work
from yibao.reports.render import Report, to_json, write_pdf, write_xlsx
from yibao.reports.table import Cell, Reading
from yibao.rules.monthly import parse_ym, shift, ym_text

T = TypeVar("T")
FORMATS = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "pdf": "application/pdf",
           "json": "application/json"}
STATUS_NAMES = {"declared": "已申报，待审核", "reviewed": "已审核", "allocated": "已拨付", "settled": "已结算",
                "cancelled": "已撤销", "reversal": "冲销", "rejected": "已拒付", "agreed": "已同意再申报",
                "redeclared": "已再申报", "open": "待处理", "accepted": "已采纳", "dismissed": "已忽略",
                "planned": "待拨付", "paid": "已拨付", "active": "有效", "ended": "已终止"}
CHANGE_NAMES = {"opened": "开通", "suspended": "暂停", "resumed": "恢复", "ended": "终止"}
KIND_NAMES = {"outpatient": "门诊", "inpatient": "住院", "pharmacy": "药店购药", "coordination": "零星报销协办"}
PART_NAMES = {"fund": "统筹基金", "acct": "个人账户", "mulaid": "共济账户"}
PAYER_NAMES = {"agency": "就医地经办机构", "centre": "省级结算中心"}
#: the switches the rule documents name (others show their dataset name)
SWITCH_NAMES = {"epidemic_outpatient": "疫情期间门诊待遇"}


def month(text: str | None, today: date) -> str:
    """The month a page is about: the one asked (YYYY-MM), else the month before today (the one being declared)."""
    if not text:
        return shift(ym_text(today.year, today.month), -1)
    try:
        return ym_text(*parse_ym(text))
    except ValueError as exc:
        raise refuse("setl_ym", f"{exc}（请填写 YYYY-MM）") from None


@dataclass
class Table:
    """A report read once for a page: its title, meta, headers, typed rows and the 合计 row."""

    code: str
    title: str
    meta: list[tuple[str, str]]
    headers: list[tuple[str, bool]]
    rows: list[list[Cell]]
    totals: list[Cell]
    notes: list[str]


def table(report: Report) -> Table:
    reading = Reading(report)
    rows = list(reading)
    return Table(report.code, report.title, report.meta, [(c.title, c.kind != "text") for c in report.columns],
                 rows, reading.total_cells(), report.notes)


def download(report: Report, fmt: str) -> Response:
    """The report as a file (the same writers as the JSON API and `yibao report`)."""
    if fmt not in FORMATS:
        raise refuse("format", f"{fmt!r} is not one of xlsx, pdf, json")
    if fmt == "json":
        content = json.dumps(to_json(report), ensure_ascii=False, indent=1, default=str).encode()
    else:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"{report.code}.{fmt}"
            (write_xlsx if fmt == "xlsx" else write_pdf)(report, path)
            content = path.read_bytes()
    return Response(content, media_type=FORMATS[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{report.code}.{fmt}"'})


def named(mapping: dict[str, str], code: Any) -> str:
    return mapping.get(str(code), str(code))


TEMPLATES.env.globals.update(status_names=STATUS_NAMES, change_names=CHANGE_NAMES, kind_names=KIND_NAMES,
                             part_names=PART_NAMES, payer_names=PAYER_NAMES, switch_names=SWITCH_NAMES,
                             codes=codes)


def amount(text: str, field: str = "amount") -> Decimal:
    """A positive money amount typed in a form (two places, half up), or a refusal naming the field."""
    try:
        value = money(text[:20])
    except NotDecimal:
        raise refuse(field, f"{text[:20]!r} 不是金额") from None
    if value <= 0 or value >= Decimal("1e12"):
        raise refuse(field, "金额须大于 0")
    return value


def day(text: str, field: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise refuse(field, f"{text[:10]!r} 不是日期（YYYY-MM-DD）") from None


def tried(request: Request, user: User, fn: Callable[[Work], T], *, read: bool = False) -> tuple[T | None, str]:
    """`attempt`, except that a row outside the user's scope stays a 404 page (not a refusal on the form)."""
    try:
        return in_work(request, user, fn, read=read), ""
    except Refusal as exc:
        if exc.http_status in (403, 404):
            raise
        return None, exc.err_msg
