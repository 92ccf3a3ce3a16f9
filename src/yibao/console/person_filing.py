"""Cross-region filing (异地备案) for the insured person: file, change (a new version replaces the filing), cancel,
and see each filing's validity and destination. The rules are the use case's (platform/filing.py); a refusal is
shown on the form in plain words (wording.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from yibao.console import forms
from yibao.console.web import PageError, RowId, User, attempt, in_work, redirect, render, require_person
from yibao.console.wording import plain
from yibao.platform import filing as fl
from yibao.platform.work import Work
from yibao.store.models import Filing, Institution, Region

router = APIRouter(prefix="/filings")
STATUS_NAMES = {"active": "有效", "superseded": "已被新版本替代", "cancelled": "已撤销"}


def _places(w: Work, rows: list[Filing]) -> dict[str, str]:
    """Names of the destinations shown: regions and institutions."""
    regions = {r.dest_admdvs for r in rows if r.dest_admdvs}
    insts = {r.dest_fixmedins for r in rows if r.dest_fixmedins}
    out = dict(w.session.execute(select(Region.admdvs, Region.name).where(Region.admdvs.in_(regions))).all()) \
        if regions else {}
    if insts:
        out.update(w.session.execute(select(Institution.code, Institution.name)
                                     .where(Institution.code.in_(insts))).all())
    return out


def _page(request: Request, user: User, status: int = 200, **extra: Any) -> Response:
    def read(w: Work) -> dict[str, Any]:
        rows = fl.mine(w.session, user.subject)
        return {"rows": fl.describe_all(w.session, rows, w.today), "places": _places(w, rows), "today": w.today,
                "referral_max": fl.referral_max(w.session, user.subject)}

    return render(request, "person/filings.html", status, tab="filings", types=fl.TYPE_NAMES,
                  statuses=STATUS_NAMES, **in_work(request, user, read), **extra)


@router.get("")
def overview(request: Request, user: User = Depends(require_person)) -> Response:
    return _page(request, user)


def _destination(place: str) -> tuple[str | None, str | None]:
    """A 6-digit code names a province or region; anything else an institution's code."""
    place = place.strip().upper()
    if not place:
        return None, None
    return (place, None) if place.isdigit() else (None, place)


@router.post("")
def file(request: Request, user: User = Depends(require_person), type: str = Form("", max_length=24),
         place: str = Form("", max_length=30), start: str = Form("", max_length=10),
         end: str = Form("", max_length=10), memo: str = Form("", max_length=400)) -> Response:
    form = {"type": type, "place": place, "start": start, "end": end, "memo": memo}

    def run(w: Work) -> Filing:
        dest_admdvs, dest_fixmedins = _destination(place)
        return fl.file(w.session, user.subject, type, dest_admdvs, dest_fixmedins, forms.day("start", start) or w.today,
                       forms.day("end", end, required=False), now=w.now, today=w.today, actor=user.actor,
                       memo=memo)

    row, error = attempt(request, user, run)
    if row is None:
        return _page(request, user, 422, form=form, file_errors=plain(error))
    return redirect(f"/console/me/filings?done=filed-{row.id}")


def _own(w: Work, user: User, filing_id: int) -> Filing:
    row = fl.get(w.session, filing_id)
    if row is None or row.psn_no != user.subject:
        raise PageError(404, "没有这条备案，或它不属于您。")
    return row


@router.get("/{filing_id}")
def show(filing_id: RowId, request: Request, user: User = Depends(require_person)) -> Response:
    return detail(filing_id, request, user)


def detail(filing_id: int, request: Request, user: User, status: int = 200, **extra: Any) -> Response:
    def read(w: Work) -> dict[str, Any]:
        row = _own(w, user, filing_id)
        return {"f": fl.describe(row, w.today, referral_max=fl.referral_max(w.session, user.subject)),
                "places": _places(w, [row])}

    return render(request, "person/filing.html", status, tab="filings", types=fl.TYPE_NAMES,
                  statuses=STATUS_NAMES, **in_work(request, user, read), **extra)


@router.post("/{filing_id}/change")
def change(filing_id: RowId, request: Request, user: User = Depends(require_person),
           place: str = Form("", max_length=30), start: str = Form("", max_length=10),
           end: str = Form("", max_length=10), memo: str = Form("", max_length=400)) -> Response:
    """A new version of the filing: what is left empty is taken from it (an emergency filing's end is computed)."""

    def run(w: Work) -> Filing:
        old = _own(w, user, filing_id)
        dest_admdvs, dest_fixmedins = _destination(place) if place.strip() else (old.dest_admdvs, old.dest_fixmedins)
        new_end = forms.day("end", end, required=False) or (None if old.type in ("emergency", "retired_resettled")
                                                            else old.end)
        return fl.file(w.session, user.subject, old.type, dest_admdvs, dest_fixmedins,
                       forms.day("start", start, required=False) or old.start, new_end, now=w.now, today=w.today,
                       actor=user.actor, replaces_id=old.id, memo=memo)

    row, error = attempt(request, user, run)
    if row is None:
        return detail(filing_id, request, user, 422, change_errors=plain(error))
    return redirect(f"/console/me/filings/{row.id}?done=changed")


@router.post("/{filing_id}/cancel")
def cancel(filing_id: RowId, request: Request, user: User = Depends(require_person)) -> Response:
    def run(w: Work) -> Filing:
        row = _own(w, user, filing_id)
        return fl.cancel(w.session, row.id, now=w.now, actor=user.actor)

    row, error = attempt(request, user, run)
    if row is None:
        return detail(filing_id, request, user, 422, change_errors=plain(error))
    return redirect("/console/me/filings?done=cancelled")
