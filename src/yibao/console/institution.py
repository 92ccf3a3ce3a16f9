"""The institution staff's desk (role institution, scope its fixmedins_code): its settlements with detail and
slip, the month's declaration and its review outcome, reconciliation (3201/3202) and the cross-region clearing
rows (3260/3261). Each page calls the use cases the wire and the JSON API call; an institution sees only its own."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from yibao.console import desk
from yibao.console.web import User, check_csrf, in_work, redirect, render, require_staff
from yibao.platform import clearing as cl
from yibao.platform import declaration as dc
from yibao.platform import queries
from yibao.platform import review as rv
from yibao.platform import staff_views as views
from yibao.platform.work import Work
from yibao.reports import monthly as reports

router = APIRouter(prefix="/console/institution", dependencies=[Depends(check_csrf)], include_in_schema=False)
staff = require_staff("institution")


@router.get("")
def settlements(request: Request, day: str = "", person: str = "", kind: str = "", status: str = "",
                user: User = Depends(staff)) -> Response:
    f = views.SettlementSearch(desk.day(day, "day"), person[:50], kind[:12], status[:12])
    rows = in_work(request, user, lambda w: views.settlements(w, user.scope, f))
    return render(request, "institution/settlements.html", tab="settlements", rows=rows, f=f, limit=views.LIMIT)


@router.get("/settlements/{setl_id}")
def settlement(setl_id: str, request: Request, user: User = Depends(staff)) -> Response:
    return render(request, "institution/settlement.html", tab="settlements", **in_work(
        request, user, lambda w: _slip(w, user.scope, setl_id)))


@router.get("/settlements/{setl_id}/slip")
def slip(setl_id: str, request: Request, user: User = Depends(staff)) -> Response:
    return render(request, "institution/slip.html", **in_work(request, user, lambda w: _slip(w, user.scope,
                                                                                                 setl_id)))


def _slip(w: Work, code: str, setl_id: str) -> dict[str, Any]:
    """The settlement as 5203 and 5204 answer it (the same use cases), another institution's looking unknown."""
    row = views.of_institution(w, code, setl_id[:30])
    if row is None:
        raise HTTPException(404, "no such settlement")
    view = queries.settlement_of(w, row.setl_id, row.mdtrt_id, row.psn_no)
    lines = []
    if row.status == "settled" and row.refd_setl_flag == "0":
        lines = queries.fee_lines_of(w, row.mdtrt_id, row.psn_no, row.setl_id)[1]
    return {"view": view, "s": row, "lines": lines, "institution": w.here}


# -- the month's declaration -------------------------------------------------------------------------------

@router.get("/declarations")
def declarations(request: Request, ym: str = "", user: User = Depends(staff)) -> Response:
    def run(w: Work) -> dict[str, Any]:
        return {"ym": desk.month(ym, w.today), "today": w.today,
                "decls": views.own_declarations(w, user.scope)}

    return render(request, "institution/declarations.html", tab="declarations", **in_work(request, user, run))


@router.post("/declarations")
async def declare(request: Request, user: User = Depends(staff)) -> Response:
    form = await request.form()
    ym_text = str(form.get("setl_ym", ""))[:7]

    def run(w: Work) -> str:
        return dc.declare(w.session, w.here, desk.month(ym_text, w.today), w.today, w.now).decl_id

    decl_id, error = desk.tried(request, user, run)
    if decl_id is None:
        rows = in_work(request, user, lambda w: {"ym": ym_text, "today": w.today,
                                                  "decls": views.own_declarations(w, user.scope)})
        return render(request, "institution/declarations.html", status=422, tab="declarations", error=error, **rows)
    return redirect(f"/console/institution/declarations/{decl_id}")


@router.get("/declarations/{decl_id}")
def declaration(decl_id: str, request: Request, user: User = Depends(staff)) -> Response:
    def run(w: Work) -> dict[str, Any]:
        decl = dc.find(w.session, decl_id[:40])
        if decl is None or decl.fixmedins_code != user.scope:
            raise HTTPException(404, "no such declaration")
        return {"d": decl, "lines": dc.lines(w.session, decl.decl_id), "rejections": rv.rejections(
            w.session, decl.decl_id), "deductions": rv.deductions(w.session, decl.decl_id),
            "plan": rv.plan(w.session, decl.decl_id), "notes": [desk.table(reports.review_notes(w.session, decl, cls))
                                                                 for cls in ("employee", "resident")]}

    return render(request, "institution/declaration.html", tab="declarations", **in_work(request, user, run))


# -- reconciliation and clearing ---------------------------------------------------------------------------

@router.get("/reconciliation")
def reconciliation(request: Request, begin: str = "", end: str = "", optins: str = "",
                   user: User = Depends(staff)) -> Response:
    def run(w: Work) -> dict[str, Any]:
        first = desk.day(begin, "begin") or w.today.replace(day=1)
        last = desk.day(end, "end") or w.today
        scope = queries.Scope(optins[:6] or w.here.admdvs, first, last)
        return {"scope": scope, "totals": queries.totals(w, scope), "records": queries.records(w, scope)}

    return render(request, "institution/reconciliation.html", tab="reconciliation", **in_work(request, user, run))


def _clearing(w: Work, ym_text: str) -> dict[str, Any]:
    ym = desk.month(ym_text, w.today)
    total, rows = cl.extract_page(w.session, w.here, ym, 1, limit=cl.PAGE_LIMIT)
    return {"ym": ym, "total": total, "rows": rows, "standing": cl.standing(w.session, w.here.code, ym)}


@router.get("/clearing")
def clearing(request: Request, ym: str = "", user: User = Depends(staff)) -> Response:
    return render(request, "institution/clearing.html", tab="clearing", **in_work(
        request, user, lambda w: _clearing(w, ym)))


@router.post("/clearing")
async def confirm(request: Request, user: User = Depends(staff)) -> Response:
    """3261 over the extract itself: each row confirmed (ticked) or left out."""
    form = await request.form()
    ym_text, ticked = str(form.get("ym", ""))[:7], set(form.getlist("confirm"))

    def run(w: Work) -> str:
        ym = desk.month(ym_text, w.today)
        lines = [cl.ConfirmLine(r["setl_sn"], r["mdtrt_id"], r["medfee_sumamt"], r["optins_pay_sumamt"],
                                "1" if r["setl_sn"] in ticked else "0") for r in cl.extract_all(w.session, w.here, ym)]
        return cl.confirm(w.session, w.here, ym, len(lines), lines, w.today, w.now).otransid

    done, error = desk.tried(request, user, run)
    if done is None:
        return render(request, "institution/clearing.html", status=422, tab="clearing", error=error,
                      **in_work(request, user, lambda w: _clearing(w, ym_text)))
    return redirect(f"/console/institution/clearing?ym={ym_text}")
