"""The provincial centre's desk (role centre, scope its province): every region's advance, the month's
voucher and breakdown, the cross-region clearing between regions and the mutual-aid clearing; the centre pays
its part of the plans, clears mutual aid and the advances with the use cases the JSON API calls."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from yibao.console import desk
from yibao.console.web import User, check_csrf, in_work, render, require_staff
from yibao.platform import allocation as al
from yibao.platform.work import Work
from yibao.reports import centre as tables
from yibao.reports.render import Report

router = APIRouter(prefix="/console/centre", dependencies=[Depends(check_csrf)], include_in_schema=False)
staff = require_staff("centre")
TABLES = {"transfer-voucher": tables.transfer_voucher, "insurance-breakdown": tables.insurance_breakdown,
          "mutual-aid-clearing": tables.mutual_aid_clearing, "clearing-balances": tables.clearing_balances}
ACTS = {"allocate": "拨付省中心部分", "mutual-aid": "家庭共济跨统筹区清算", "clearing": "预付金月度清算"}


def _month(w: Work, province: str, ym_text: str) -> dict[str, Any]:
    ym = desk.month(ym_text, w.today)
    return {"ym": ym, "ledger": al.centre_view(w.session, province),
            "tables": [(name, desk.table(build(w.session, province, ym))) for name, build in TABLES.items()]}


@router.get("")
def home(request: Request, ym: str = "", user: User = Depends(staff)) -> Response:
    return render(request, "centre/home.html", acts=ACTS, **in_work(request, user, lambda w: _month(w, user.scope,
                                                                                                   ym)))


@router.post("/{act}")
async def act(act: str, request: Request, user: User = Depends(staff)) -> Response:
    """Pay the centre's part of the plans, clear the month's mutual aid, or clear the advances (as the API)."""
    if act not in ACTS:
        raise HTTPException(404, "no such action")
    ym_text, province = str((await request.form()).get("ym", ""))[:7], user.scope

    def run(w: Work) -> str:
        ym = desk.month(ym_text, w.today)
        if act == "allocate":
            done = al.allocate(w.session, "centre", province, ym, w.today, w.now)
            return f"已拨付 {done['total']} 元（{len(done['paid'])} 笔）" + (
                f"；{len(done['waiting'])} 笔未到拨付日期" if done["waiting"] else "")
        if act == "mutual-aid":
            rows = al.clear_mutual_aid(w.session, province, ym, w.now)
            return f"已清算 {len(rows)} 对统筹区的家庭共济资金。"
        rows2 = al.settle_advances(w.session, province, ym, w.now)
        return f"已清算 {len(rows2)} 个统筹区的预付金。"

    notice, error = desk.tried(request, user, run)
    return render(request, "centre/home.html", status=422 if error else 200, acts=ACTS, error=error,
                  notice=notice or "", **in_work(request, user, lambda w: _month(w, province, ym_text)))


@router.get("/regions/{admdvs}")
def region(admdvs: str, request: Request, user: User = Depends(staff)) -> Response:
    """One region's advance month by month; a region of another province looks unknown."""
    if not (len(admdvs) == 6 and admdvs.isdigit() and admdvs[:2] == user.scope[:2]):
        raise HTTPException(404, "no such region")
    return render(request, "centre/region.html", view=in_work(request, user, lambda w: al.region_view(
        w.session, user.scope, admdvs)))


@router.get("/reports/{ym}/{name}")
def report(ym: str, name: str, request: Request, format: str = "xlsx", user: User = Depends(staff)) -> Response:
    build = TABLES.get(name)
    if build is None:
        raise HTTPException(404, "no such table")

    def run(w: Work) -> Report:
        return build(w.session, user.scope, desk.month(ym, w.today))

    return desk.download(in_work(request, user, run), format)
