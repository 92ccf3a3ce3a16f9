"""The agency clerk's what-if page (docs/whatif.md): his region's month replayed under a CHANGES document typed on
the page, by the use case `yibao whatif` and POST /api/v1/agency/whatif call (yibao.whatif.whatif); the result as
the tables the PDF prints, and the same run as xlsx or PDF. Read only: nothing is written."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from yibao.console import desk
from yibao.console.agency import BASE, staff
from yibao.console.web import PageError, User, check_csrf, in_work, render
from yibao.errors import refuse
from yibao.platform.work import Work
from yibao.reports import whatif_render
from yibao.reports.table import Report
from yibao.whatif import load, whatif
from yibao.whatif import render as whatif_files
from yibao.whatif.report import BREAKDOWNS

router = APIRouter(prefix=BASE, dependencies=[Depends(check_csrf)], include_in_schema=False)
#: a CHANGES document longer than this is no policy change a clerk types
MAX_CHANGES = 20_000
TOP = 10
EXAMPLE = 'policies:\n  - {insutype: "310", med_type: "11", deductible: "50.00"}\n'


def _asked(form: FormData) -> dict[str, str]:
    # whole, never cut short: a value too long is refused by its check (cut, "2026-031" would read as 2026-03);
    # the document alone is capped, just past the size it is refused at
    return {"month": str(form.get("month", "")).strip()[:40], "changes": str(form.get("changes", ""))[:MAX_CHANGES + 1],
            "top": str(form.get("top", TOP)).strip()[:40], "months": str(form.get("months", 1)).strip()[:40]}


def _number(field: str, text: str) -> int:
    """A whole number typed in the form (ASCII digits); its range is the use case's to check."""
    if not (text.isascii() and text.isdigit()):
        raise refuse(field, f"must be a whole number, not {text!r:.10}")
    return int(text)


def _run(w: Work, region: str, asked: dict[str, str]) -> dict[str, Any]:
    if len(asked["changes"]) > MAX_CHANGES:
        raise refuse("changes", f"is longer than {MAX_CHANGES} characters")
    changes = load(asked["changes"])  # the whole document checked before anything is read
    month = asked["month"] or desk.month("", w.today)  # none given: the month before today, as the other tabs
    top = _number("top", asked["top"])
    if top > 1000:
        raise refuse("top", f"must be from 0 to 1000, not {top}")
    return whatif(w.session, region, month, changes, months=_number("months", asked["months"]), top=top)


def _shown(report: Report) -> desk.Table:
    table = desk.table(report)
    if not report.total_row:  # persons, settlements, changes: rows that do not add up
        table.totals = []
    return table


@router.get("/whatif")
def page(request: Request, user: User = Depends(staff)) -> Response:
    month = in_work(request, user, lambda w: desk.month("", w.today))
    asked = {"month": month, "changes": "", "top": str(TOP), "months": "1"}
    return render(request, "agency/whatif.html", tab="whatif", asked=asked, example=EXAMPLE,
                  report=None, tables=[])


@router.post("/whatif")
async def run(request: Request, user: User = Depends(staff)) -> Response:
    """Replay the month; with `format` xlsx or pdf, the same run as a file."""
    form = await request.form()
    region = str(form.get("region", "") or user.scope)
    if region != user.scope:  # the clerk's own region only, whatever the form says
        raise PageError(403, f"经办机构只能模拟本统筹区（{user.scope}）的政策调整。")
    fmt = str(form.get("format", ""))
    if fmt not in ("", "xlsx", "pdf"):
        raise PageError(422, f"format: {fmt[:10]!r} 不是 xlsx 或 pdf")
    asked = _asked(form)
    report, error = desk.tried(request, user, lambda w: _run(w, user.scope, asked), read=True)
    if report is None:
        return render(request, "agency/whatif.html", status=422, tab="whatif", asked=asked, example=EXAMPLE,
                      error=error, report=None, tables=[])
    if fmt:
        content = whatif_files.as_xlsx(report) if fmt == "xlsx" else whatif_render.as_pdf(report, BREAKDOWNS)
        name = whatif_render.file_name(report, fmt)
        return Response(content, media_type=whatif_render.MEDIA[fmt],
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    tables = [_shown(t) for t in whatif_render.tables(report, BREAKDOWNS)]
    return render(request, "agency/whatif.html", tab="whatif", asked=asked, example=EXAMPLE, report=report,
                  tables=tables, meta=whatif_render.meta(report), effect=whatif_render.fund_effect(report))
