"""The agency admin's page (role agency_admin, scope its region): the staff accounts of the region — clerks of
the region and the staff of its institutions — created with the same use case as `yibao staff add`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select

from yibao.console import desk
from yibao.console.web import User, check_csrf, in_work, render, require_staff
from yibao.errors import refuse
from yibao.platform import console_access as access
from yibao.platform.work import Work
from yibao.store.models import Institution

router = APIRouter(prefix="/console/agency/staff", dependencies=[Depends(check_csrf)], include_in_schema=False)
admin = require_staff("agency_admin")
#: what a region's admin may create: clerks of the region and staff of its institutions
CREATABLE = ("agency_clerk", "institution")


def _accounts(w: Work, region: str) -> dict[str, Any]:
    institutions = list(w.session.scalars(select(Institution).where(Institution.admdvs == region)
                                          .order_by(Institution.code)))
    rows = access.staff_of_scope(w.session, ("agency_clerk", "agency_admin"), region)
    for inst in institutions:
        rows += access.staff_of_scope(w.session, ("institution",), inst.code)
    return {"institutions": institutions, "accounts": rows, "creatable": CREATABLE}


@router.get("")
def accounts(request: Request, user: User = Depends(admin)) -> Response:
    return render(request, "agency/staff.html", tab="staff", **in_work(request, user, lambda w: _accounts(
        w, user.scope)))


@router.post("")
async def create(request: Request, user: User = Depends(admin)) -> Response:
    form = await request.form()
    username, role = str(form.get("username", "")).strip()[:40], str(form.get("role", ""))[:20]
    scope, password = str(form.get("scope", "")).strip()[:30], str(form.get("password", ""))[:200]

    def run(w: Work) -> str:
        if role not in CREATABLE:
            raise refuse("role", "本页只能开设本统筹区经办员或本统筹区定点机构的账号")
        if role == "agency_clerk":
            target = user.scope
        else:
            inst = w.session.get(Institution, scope)
            if inst is None or inst.admdvs != user.scope:
                raise refuse("scope", f"{scope!r} 不是本统筹区（{user.scope}）的定点医药机构")
            target = inst.code
        return access.add_staff(w.session, username, role, target, password, now=w.now,
                                created_by=user.subject).username

    made, error = desk.tried(request, user, run)
    return render(request, "agency/staff.html", status=422 if error else 200, tab="staff", error=error,
                  notice=f"已开设账号 {made}。" if made else "", **in_work(request, user, lambda w: _accounts(
                      w, user.scope)))
