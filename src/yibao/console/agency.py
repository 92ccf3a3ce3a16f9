"""The agency clerk's desk (roles agency_clerk and agency_admin, scope the region's admdvs): a dashboard, the
monthly review queue with the analysis rules' suggestions, the allocation, the agreement registry, suspensions
of direct settlement, the region's switches (on or off from a date), mutual-aid authorizations and the month's tables.
Each page calls the use cases the JSON API calls; another region's rows look unknown (404)."""

from __future__ import annotations

from itertools import islice
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from yibao.console import desk
from yibao.console.web import User, check_csrf, in_work, redirect, render, require_staff
from yibao.errors import refuse
from yibao.platform import agreements as ag
from yibao.platform import allocation as al
from yibao.platform import analysis_review as ar
from yibao.platform import declaration as dc
from yibao.platform import mutual_aid as ma
from yibao.platform import review as rv
from yibao.platform import staff_views as views
from yibao.platform import suspensions as sp
from yibao.platform import switches as sw
from yibao.platform.work import Work
from yibao.reports import monthly as reports

router = APIRouter(prefix="/console/agency", dependencies=[Depends(check_csrf)], include_in_schema=False)
staff = require_staff("agency_clerk", "agency_admin")
BASE = "/console/agency"
#: settlements offered in the review's pick lists (a larger declaration is reviewed through its suggestions and
#: the printed level-3 table; the use case takes any setl_id of the declaration)
PICK_LIMIT = 500


def _text(form: FormData, name: str, limit: int = 500) -> str:
    return str(form.get(name, "")).strip()[:limit]


@router.get("")
def dashboard(request: Request, user: User = Depends(staff)) -> Response:
    def run(w: Work) -> dict[str, Any]:
        return {"today": w.today, "figures": views.region_day(w, user.scope, w.today),
                "waiting": views.declarations(w, user.scope, status="declared"),
                "advance": al.region_view(w.session, al.province_of(user.scope), user.scope)}

    return render(request, "agency/dashboard.html", tab="dashboard", **in_work(request, user, run))


# -- the review queue --------------------------------------------------------------------------------------

@router.get("/review")
def review_queue(request: Request, ym: str = "", user: User = Depends(staff)) -> Response:
    def run(w: Work) -> dict[str, Any]:
        month = desk.month(ym, w.today)
        return {"ym": month, "decls": views.declarations(w, user.scope, month)}

    return render(request, "agency/review.html", tab="review", **in_work(request, user, run))


def _declaration(w: Work, region: str, decl_id: str) -> dict[str, Any]:
    decl = dc.find(w.session, decl_id[:40])
    if decl is None or decl.admdvs != region:
        raise HTTPException(404, "no such declaration")
    return {"d": decl, "suggestions": ar.suggestions(w, region, decl.decl_id),
            "rejections": rv.rejections(w.session, decl.decl_id), "deductions": rv.deductions(w.session, decl.decl_id),
            "settlements": list(islice((r for r in dc.detail_rows(w.session, decl) if r["refd_setl_flag"] == "0"),
                                       PICK_LIMIT)),
            "plan": rv.plan(w.session, decl.decl_id)}


def _review_page(request: Request, user: User, decl_id: str, status: int = 200, error: str = "",
                 notice: str = "") -> Response:
    return render(request, "agency/declaration.html", status=status, tab="review", error=error, notice=notice,
                  **in_work(request, user, lambda w: _declaration(w, user.scope, decl_id)))


@router.get("/review/{decl_id}")
def review(decl_id: str, request: Request, done: str = "", user: User = Depends(staff)) -> Response:
    return _review_page(request, user, decl_id, notice=DONE.get(done, ""))


DONE = {"reject": "已拒付该笔结算。", "deduct": "已扣款。", "accept": "已采纳审核建议。", "dismiss": "已忽略审核建议。",
        "finish": "审核已完成，拨付计划已生成。", "agree": "已同意再申报。", "withdraw": "已撤回拒付。"}


@router.post("/review/{decl_id}/{action}")
async def review_action(decl_id: str, action: str, request: Request, user: User = Depends(staff)) -> Response:
    """One act of the review: reject, deduct, accept or dismiss a suggestion, finish, agree, withdraw."""
    form, region = await request.form(), user.scope

    def run(w: Work) -> None:
        decl = dc.find(w.session, decl_id[:40])
        if decl is None or decl.admdvs != region:
            raise HTTPException(404, "no such declaration")
        if action == "reject":
            rv.reject(w.session, region, decl.decl_id, _text(form, "setl_id", 30), _text(form, "reason"), w.today,
                      w.now)
        elif action == "deduct":
            reason = _text(form, "reason")
            if not reason:
                raise refuse("reason", "扣款须说明违规原因")
            rv.deduct(w.session, region, decl.decl_id, desk.amount(_text(form, "amount", 20)), reason, w.today, w.now,
                      setl_id=_text(form, "setl_id", 30) or None)
        elif action in ("accept", "dismiss"):
            sid = _number(_text(form, "suggestion_id", 12), "suggestion_id")
            if action == "dismiss":
                ar.dismiss(w, region, sid, _text(form, "note"))
            else:
                figure = _text(form, "amount", 20)
                ar.accept(w, region, sid, _text(form, "action", 10), desk.amount(figure) if figure else None,
                          _text(form, "note"))
        elif action == "finish":
            rv.finish(w.session, region, decl.decl_id, w.today, w.now)
        elif action in ("agree", "withdraw"):
            rid = _number(_text(form, "rejection_id", 12), "rejection_id")
            if action == "agree":
                rv.agree(w.session, region, rid, w.now)
            else:
                rv.withdraw(w.session, region, rid, w.today)
        else:
            raise HTTPException(404, "no such action")

    _, error = desk.tried(request, user, run)
    if error:
        return _review_page(request, user, decl_id, status=422, error=error)
    return redirect(f"{BASE}/review/{decl_id}?done={action}")


def _number(text: str, field: str) -> int:
    if not text.isdigit():
        raise refuse(field, f"{text!r} 不是编号")
    return int(text)


# -- allocation ---------------------------------------------------------------------------------------------

def _allocation(w: Work, region: str, ym_text: str) -> dict[str, Any]:
    ym = desk.month(ym_text, w.today)
    return {"ym": ym, "items": views.plan_items(w, region, ym),
            "advance": al.region_view(w.session, al.province_of(region), region),
            "plan": [desk.table(reports.allocation_plan(w.session, ym, cls, region)) for cls in ("employee",
                                                                                                  "resident")]}


@router.get("/allocation")
def allocation(request: Request, ym: str = "", user: User = Depends(staff)) -> Response:
    return render(request, "agency/allocation.html", tab="allocation",
                  **in_work(request, user, lambda w: _allocation(w, user.scope, ym)))


@router.post("/allocation")
async def allocate(request: Request, user: User = Depends(staff)) -> Response:
    ym = _text(await request.form(), "ym", 7)
    result, error = desk.tried(request, user, lambda w: al.allocate(w.session, "agency", user.scope,
                                                                 desk.month(ym, w.today), w.today, w.now))
    notice = ""
    if result is not None:
        notice = f"已拨付 {result['total']} 元（{len(result['paid'])} 笔）" + (
            f"；{len(result['waiting'])} 笔未到拨付日期" if result["waiting"] else "")
    return render(request, "agency/allocation.html", status=422 if error else 200, tab="allocation", error=error,
                  notice=notice, **in_work(request, user, lambda w: _allocation(w, user.scope, ym)))


# -- the agreement registry, suspensions, switches, mutual aid ----------------------------------------------

def _registry(w: Work, region: str) -> dict[str, Any]:
    return {"today": w.today, "rows": ag.registry(w, w.today, region)}


@router.get("/agreements")
def agreements(request: Request, user: User = Depends(staff)) -> Response:
    return render(request, "agency/agreements.html", tab="agreements",
                  **in_work(request, user, lambda w: _registry(w, user.scope)))


@router.post("/agreements")
async def report_change(request: Request, user: User = Depends(staff)) -> Response:
    form = await request.form()

    def run(w: Work) -> None:
        effective = desk.day(_text(form, "effective", 10), "effective")
        if effective is None:
            raise refuse("effective", "请填写生效日期")
        ag.report(w, user.scope, _text(form, "fixmedins_code", 30), _text(form, "change", 12), effective,
                  _text(form, "memo"))

    _, error = desk.tried(request, user, run)
    return render(request, "agency/agreements.html", status=422 if error else 200, tab="agreements", error=error,
                  notice="" if error else "已登记协议状态变更。",
                  **in_work(request, user, lambda w: _registry(w, user.scope)))


def _suspensions(w: Work, region: str) -> dict[str, Any]:
    return {"made": sp.of_region(w, region, "treatment"), "of_mine": sp.of_region(w, region, "insured")}


@router.get("/suspensions")
def suspensions(request: Request, user: User = Depends(staff)) -> Response:
    return render(request, "agency/suspensions.html", tab="suspensions",
                  **in_work(request, user, lambda w: _suspensions(w, user.scope)))


@router.post("/suspensions")
async def suspend(request: Request, user: User = Depends(staff)) -> Response:
    form = await request.form()

    def run(w: Work) -> None:
        if form.get("suspension_id"):
            sp.lift(w, user.scope, _number(_text(form, "suspension_id", 12), "suspension_id"), _text(form, "reason"))
        else:
            sp.suspend(w, user.scope, _text(form, "psn_no", 30), _text(form, "reason"))

    _, error = desk.tried(request, user, run)
    return render(request, "agency/suspensions.html", status=422 if error else 200, tab="suspensions",
                  error=error, notice="" if error else "已办理。",
                  **in_work(request, user, lambda w: _suspensions(w, user.scope)))


def _switches(w: Work, region: str) -> dict[str, Any]:
    return {"today": w.today, **sw.state(w.session, region, w.today)}


@router.get("/switches")
def switches(request: Request, user: User = Depends(staff)) -> Response:
    return render(request, "agency/switches.html", tab="switches",
                  **in_work(request, user, lambda w: _switches(w, user.scope)))


@router.post("/switches")
async def change_switch(request: Request, user: User = Depends(staff)) -> Response:
    """揭医保〔2021〕82号 art. 38: the agency switches a preset benefit on or off from a date, who and why kept."""
    form = await request.form()

    def run(w: Work) -> None:
        state = _text(form, "state", 10)
        if state not in ("on", "off"):
            raise refuse("state", f"{state!r} 不是“开启”或“关闭”")
        effective = desk.day(_text(form, "effective", 10), "effective")
        if effective is None:
            raise refuse("effective", "请填写生效日期")
        sw.change(w.session, user.scope, _text(form, "name", 60), state == "on", effective,
                  by=f"staff:{user.subject}", why=_text(form, "why"), today=w.today, now=w.now)

    _, error = desk.tried(request, user, run)
    return render(request, "agency/switches.html", status=422 if error else 200, tab="switches", error=error,
                  notice="" if error else "已登记开关变更。",
                  **in_work(request, user, lambda w: _switches(w, user.scope)))


@router.get("/mutual-aid")
def mutual_aid(request: Request, status: str = "", user: User = Depends(staff)) -> Response:
    def run(w: Work) -> dict[str, Any]:
        return {"state": status, "grants": [ma.describe(g, w.today) for g in ma.of_region(
            w.session, user.scope, status[:10] or None)]}

    return render(request, "agency/mutual_aid.html", tab="mutual-aid", **in_work(request, user, run))


# -- the month's tables ------------------------------------------------------------------------------------

@router.get("/reports")
def report_index(request: Request, ym: str = "", user: User = Depends(staff)) -> Response:
    def run(w: Work) -> dict[str, Any]:
        month = desk.month(ym, w.today)
        return {"ym": month, "reports": [(r.code, r.title, dict(r.meta).get("医药机构", "全统筹区/全省"))
                                         for r in reports.month_reports(w.session, month, user.scope)]}

    return render(request, "agency/reports.html", tab="reports", **in_work(request, user, run))


@router.get("/reports/{ym}/{code}")
def report(ym: str, code: str, request: Request, format: str = "", user: User = Depends(staff)) -> Response:
    """One table of the region's month: a page, or a file in `format` (xlsx, pdf, json)."""
    def run(w: Work) -> Any:
        month = desk.month(ym, w.today)
        found = next((r for r in reports.month_reports(w.session, month, user.scope) if r.code == code), None)
        if found is None:
            raise HTTPException(404, "no such table")
        return desk.download(found, format) if format else {"ym": month, "t": desk.table(found)}

    answer = in_work(request, user, run)
    if isinstance(answer, Response):
        return answer
    return render(request, "agency/report.html", tab="reports", **answer)
