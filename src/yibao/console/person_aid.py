"""Family mutual aid (个人账户家庭共济) for the insured person: bind a relative after reading and accepting the
commitment (承诺书), change the quota or window, unbind, and see who drew how much and when. The rules are the use
case's (platform/mutual_aid.py: the region's balance threshold, relation limits, the window); a refusal is shown
on the form in plain words (wording.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from yibao import codes
from yibao.console import forms
from yibao.console.web import PageError, RowId, User, attempt, in_work, mask_certno, redirect, render, require_person
from yibao.console.wording import plain
from yibao.errors import refuse
from yibao.platform import console_access as access
from yibao.platform import mutual_aid as ma
from yibao.platform.work import Work
from yibao.rules.mutual_aid import RELATION_NAMES
from yibao.store.models import Person

router = APIRouter(prefix="/mutual-aid")
#: the commitment the authorizer accepts (after 合肥 合医管〔2019〕97号's 确认承诺书); its version is recorded
COMMITMENT_VERSION = "console-2026-01"
COMMITMENT = """“医保个人账户亲属支付关系”确认承诺书

本人为职工基本医疗保险参保人员，自愿申请在本人与本人直系亲属（父亲、母亲、配偶、子女）之间建立“医保个人账户\
亲属支付关系”，使用本人职工医保个人账户结余资金为其支付符合医保政策的医疗费用。点击“同意并授权”即表示本人同意\
确立上述关系，并作如下承诺：

一、本人已知晓个人账户家庭共济的相关规定；
二、本人确认所提供的直系亲属信息真实、准确、完整、有效。因信息不实或录入错误导致资金损失、违规责任等后果，由本人\
承担；
三、本人愿意承担因虚假承诺所导致的其他责任。"""
RELATIONS = {code: RELATION_NAMES[code] for code in codes.RELATIONS}


def _names(w: Work, grants: list[ma.Grant]) -> dict[str, str]:
    ids = {g.authorizer for g in grants} | {g.beneficiary for g in grants}
    return dict(w.session.execute(select(Person.psn_no, Person.name).where(Person.psn_no.in_(ids))).all()) \
        if ids else {}


def _page(request: Request, user: User, status: int = 200, **extra: Any) -> Response:
    def read(w: Work) -> dict[str, Any]:
        given, received = ma.mine(w.session, user.subject)
        return {"given": given, "received": received, "names": _names(w, given + received), "today": w.today,
                "in_force": {g.id: ma.in_force(g, w.today) for g in given + received}}

    return render(request, "person/mutual_aid.html", status, tab="mutual_aid", relations=RELATION_NAMES,
                  choices=RELATIONS, commitment=COMMITMENT, **in_work(request, user, read), **extra)


@router.get("")
def overview(request: Request, user: User = Depends(require_person)) -> Response:
    return _page(request, user)


@router.post("")
def bind(request: Request, user: User = Depends(require_person), certno: str = Form("", max_length=18),
         name: str = Form("", max_length=50), relation: str = Form("", max_length=10),
         quota: str = Form("", max_length=20), start: str = Form("", max_length=10),
         end: str = Form("", max_length=10), accepted: str = Form("", max_length=10)) -> Response:
    form = {"certno": certno, "name": name, "relation": relation, "quota": quota, "start": start, "end": end}

    def run(w: Work) -> ma.Grant:
        if accepted != "yes":
            raise refuse("commitment_version", "the authorizer must accept the commitment (承诺书) text")
        if relation not in RELATIONS:
            raise refuse("relation", f"must be one of {', '.join(RELATIONS)}")
        found = access.person_by_certno(w.session, certno)
        if found is None or found.name != name.strip():
            raise refuse("beneficiary_certno", "no insured person with this ID number and name")
        binding = ma.Binding(user.subject, found.psn_no, relation, forms.amount("quota", quota),
                             forms.day("start", start) or w.today, forms.day("end", end, required=False), None,
                             COMMITMENT_VERSION, w.now)
        return ma.bind(w.session, binding, now=w.now, today=w.today, actor=user.actor)

    grant, error = attempt(request, user, run)
    if grant is None:
        return _page(request, user, 422, form=form, bind_errors=plain(error))
    return redirect(f"/console/me/mutual-aid?done=bound-{grant.id}")


def _own(w: Work, user: User, grant_id: int, *, authorizer: bool = False) -> ma.Grant:
    """His own authorization (as authorizer when asked); another's and an unknown one are both a 404."""
    grant = w.session.scalars(select(ma.Grant).where(ma.Grant.id == grant_id).with_for_update()).first()
    if grant is None or user.subject not in (grant.authorizer, grant.beneficiary) or \
            (authorizer and grant.authorizer != user.subject):
        raise PageError(404, "没有这条授权，或它不属于您。")
    return grant


@router.get("/{grant_id}")
def show(grant_id: RowId, request: Request, user: User = Depends(require_person)) -> Response:
    return detail(grant_id, request, user)


def detail(grant_id: int, request: Request, user: User, status: int = 200, **extra: Any) -> Response:
    def read(w: Work) -> dict[str, Any]:
        grant = _own(w, user, grant_id)
        moves = ma.usage(w.session, grant)
        names = _names(w, [grant])
        person = w.session.get(Person, grant.beneficiary)
        return {"g": grant, "moves": moves, "events": ma.events(w.session, grant), "names": names,
                "drawn": -sum((m.amount for m in moves), Decimal("0.00")), "in_force": ma.in_force(grant, w.today),
                "beneficiary_certno": mask_certno(person.certno) if person else "",
                "mine_to_change": grant.authorizer == user.subject}

    return render(request, "person/grant.html", status, tab="mutual_aid", relations=RELATION_NAMES,
                  **in_work(request, user, read), **extra)


@router.post("/{grant_id}/change")
def change(grant_id: RowId, request: Request, user: User = Depends(require_person),
           quota: str = Form("", max_length=20), start: str = Form("", max_length=10),
           end: str = Form("", max_length=10)) -> Response:
    def run(w: Work) -> ma.Grant:
        grant = _own(w, user, grant_id, authorizer=True)
        fields = {"quota": forms.amount("quota", quota), "start": forms.day("start", start),
                  "end": forms.day("end", end, required=False)}
        return ma.change(w.session, grant, actor_psn=user.subject, now=w.now, fields=fields)

    grant, error = attempt(request, user, run)
    if grant is None:
        return detail(grant_id, request, user, 422, change_errors=plain(error))
    return redirect(f"/console/me/mutual-aid/{grant_id}?done=changed")


@router.post("/{grant_id}/unbind")
def unbind(grant_id: RowId, request: Request, user: User = Depends(require_person)) -> Response:
    def run(w: Work) -> ma.Grant:
        grant = _own(w, user, grant_id, authorizer=True)
        return ma.end(w.session, grant, now=w.now, actor=user.actor, reason="unbound by the authorizer")

    grant, error = attempt(request, user, run)
    if grant is None:
        return detail(grant_id, request, user, 422, change_errors=plain(error))
    return redirect("/console/me/mutual-aid?done=unbound")
