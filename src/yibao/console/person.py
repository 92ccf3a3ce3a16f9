"""The insured person's pages (/console/me): his account and its journal, his settlements with their slips; family
mutual aid (person_aid.py) and cross-region filing (person_filing.py) hang from the same router. Everything is
his own: another person's settlement is a 404, as an unknown one is."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from yibao import codes
from yibao.console import person_aid, person_filing
from yibao.console.web import PageError, User, check_csrf, in_work, mask_certno, render, require_person
from yibao.platform import filing as fl
from yibao.platform import mutual_aid as ma
from yibao.platform import my_books
from yibao.platform.work import Work
from yibao.store.models import Person, Region

router = APIRouter(prefix="/console/me", dependencies=[Depends(check_csrf)], include_in_schema=False)
JOURNAL_KINDS = {"settlement": "本人就医支付", "mutual_aid": "为亲属共济支付", "refund": "撤销退回",
                 "insurance": "购买商业健康保险", "insurance_refund": "保险退保退回", "opening": "期初余额",
                 "adjustment": "余额调整"}
STATUS_NAMES = {"settled": "已结算", "cancelled": "已撤销", "reversal": "撤销记录"}


def _me(w: Work, user: User) -> Person:
    person = w.session.get(Person, user.subject)
    if person is None:
        raise PageError(404, "没有找到您的参保信息。")
    return person


@router.get("")
def home(request: Request, user: User = Depends(require_person)) -> Response:
    def read(w: Work) -> dict[str, Any]:
        person = _me(w, user)
        given, received = ma.mine(w.session, user.subject)
        filings = [f for f in fl.mine(w.session, user.subject) if f.status == "active"]
        region = w.session.get(Region, person.admdvs)
        return {"person": person, "certno": mask_certno(person.certno), "today": w.today,
                "region": f"{region.name}（{person.admdvs}）" if region else person.admdvs,
                "insutype": codes.INSUTYPE.get(person.insutype, person.insutype),
                "account": my_books.account(w.session, user.subject),
                "journal": my_books.journal(w.session, user.subject, limit=5),
                "grants_given": sum(1 for g in given if ma.in_force(g, w.today)),
                "grants_received": sum(1 for g in received if ma.in_force(g, w.today)),
                "filings": len(filings), "settlements": my_books.settlements(w.session, user.subject, limit=3)}

    return render(request, "person/home.html", tab="home", kinds=JOURNAL_KINDS, **in_work(request, user, read))


@router.get("/account")
def account(request: Request, user: User = Depends(require_person)) -> Response:
    def read(w: Work) -> dict[str, Any]:
        return {"account": my_books.account(w.session, user.subject),
                "journal": my_books.journal(w.session, user.subject)}

    return render(request, "person/account.html", tab="account", kinds=JOURNAL_KINDS, **in_work(request, user, read))


@router.get("/settlements")
def settlements(request: Request, user: User = Depends(require_person)) -> Response:
    def read(w: Work) -> dict[str, Any]:
        rows = my_books.settlements(w.session, user.subject)
        return {"rows": rows, "names": my_books.institution_names(w.session, {r.fixmedins_code for r in rows})}

    return render(request, "person/settlements.html", tab="settlements", statuses=STATUS_NAMES,
                  med_types=codes.MED_TYPE, **in_work(request, user, read))


@router.get("/settlements/{setl_id}")
def slip(setl_id: str, request: Request, user: User = Depends(require_person)) -> Response:
    def read(w: Work) -> dict[str, Any]:
        row = my_books.settlement(w.session, user.subject, setl_id[:30])
        if row is None:
            raise PageError(404, "没有这笔结算，或它不属于您。")
        return {"s": row, "lines": my_books.fee_lines(w.session, row), "person": _me(w, user),
                "names": my_books.institution_names(w.session, {row.fixmedins_code})}

    return render(request, "person/slip.html", tab="settlements", statuses=STATUS_NAMES, med_types=codes.MED_TYPE,
                  insutypes=codes.INSUTYPE, **in_work(request, user, read))


router.include_router(person_aid.router)
router.include_router(person_filing.router)
