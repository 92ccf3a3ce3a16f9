"""The monthly cycle over HTTP (rules.md section 7): an institution declares and downloads its own tables; the
treatment region's agency reviews, pays its own insured's part and prints the region's tables; the provincial
centre pays the rest, clears mutual aid and the advances, and shows its cross-region account."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from yibao.api.deps import agency, centre, in_unit_of_work, institution
from yibao.api.params import FIRST_DAY, LAST_DAY, Id, Money
from yibao.errors import refuse
from yibao.platform import allocation as al
from yibao.platform import declaration as dc
from yibao.platform import review as rv
from yibao.platform.work import Work
from yibao.reports import centre as centre_tables
from yibao.reports import monthly as reports
from yibao.reports.render import Report, to_json, write_pdf, write_xlsx
from yibao.rules.monthly import parse_ym, ym_text
from yibao.store.models import Declaration, Institution

router = APIRouter(prefix="/api/v1", tags=["monthly declaration, review and allocation"])
Format = Literal["json", "xlsx", "pdf"]
Cls = Literal["employee", "resident"]
MEDIA = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "pdf": "application/pdf"}


def _ym(text: str) -> str:
    try:
        year, month = parse_ym(text)
    except ValueError as exc:
        raise refuse("setl_ym", str(exc)) from None
    # the cycle computes with the following month (declared in M+1): 9999-12 would be declared in year 10000
    if not FIRST_DAY.year <= year <= LAST_DAY.year:
        raise refuse("setl_ym", f"{text!r} is not a month from {FIRST_DAY:%Y-%m} to {LAST_DAY:%Y-%m}")
    return ym_text(year, month)


def _rendered(report: Report, fmt: str) -> Any:
    if fmt == "json":
        return to_json(report)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{report.code}.{fmt}"
        (write_xlsx if fmt == "xlsx" else write_pdf)(report, path)
        content = path.read_bytes()
    return Response(content, media_type=MEDIA[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{report.code}.{fmt}"'})


# -- the institution -------------------------------------------------------------------------------------


class DeclareBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    setl_ym: str = Field(max_length=7, description="the month declared, YYYY-MM")


def _institution(w: Work, code: str) -> Institution:
    inst = w.session.get(Institution, code)
    if inst is None:
        raise HTTPException(404, f"no institution {code}")
    return inst


@router.post("/institution/declarations", status_code=201, summary="Declare a month (days 1-10 of the next)")
def declare(body: DeclareBody, request: Request, code: str = Depends(institution)) -> dict[str, Any]:
    return in_unit_of_work(request, lambda w: dc.describe(
        dc.declare(w.session, _institution(w, code), _ym(body.setl_ym), w.today, w.now)))


@router.get("/institution/declarations", summary="My declarations")
def my_declarations(request: Request, code: str = Depends(institution)) -> list[dict[str, Any]]:
    return in_unit_of_work(request, lambda w: [dc.describe(d) for d in w.session.scalars(
        select(Declaration).where(Declaration.fixmedins_code == code).order_by(Declaration.setl_ym))])


def _own_declaration(w: Work, code: str, ym: str) -> Declaration:
    decl = dc.of_month(w.session, code, _ym(ym))
    if decl is None:
        raise HTTPException(404, f"{code} has not declared {ym}")
    return decl


InstitutionReport = Literal["declaration-1", "declaration-2", "declaration-3", "review-notes", "review-payment"]


@router.get("/institution/reports/{setl_ym}/{name}", summary="My tables of a month: the declaration at each level, "
                                                            "the review notes, the review payment table (mine)")
def my_report(setl_ym: str, name: InstitutionReport, request: Request, cls: Cls = "employee",
              format: Format = "json", code: str = Depends(institution)) -> Any:
    def run(w: Work) -> Any:
        decl = _own_declaration(w, code, setl_ym)
        if name.startswith("declaration-"):
            report = reports.declaration(w.session, decl, cls, int(name[-1]))
        elif name == "review-notes":
            report = reports.review_notes(w.session, decl, cls)
        else:
            report = reports.review_payment(w.session, decl.setl_ym, cls, decl.admdvs, code)
        return _rendered(report, format)

    return in_unit_of_work(request, run)


# -- the treatment region's agency -----------------------------------------------------------------------


class RejectBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    setl_id: str = Field(min_length=1, max_length=30)
    reason: str = Field(min_length=1, max_length=500)


class DeductBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: Money = Field(gt=0)
    reason: str = Field(min_length=1, max_length=500, description="the violation (seed 004 art. 30)")
    setl_id: str | None = Field(None, max_length=30)
    insu_admdvs: str | None = Field(None, pattern=r"^\d{6}$")
    insutype: str | None = Field(None, max_length=6)


@router.get("/agency/declarations", summary="My region's declarations of a month")
def region_declarations(setl_ym: str, request: Request, region: str = Depends(agency)) -> list[dict[str, Any]]:
    return in_unit_of_work(request, lambda w: [dc.describe(d) for d in w.session.scalars(
        select(Declaration).where(Declaration.admdvs == region, Declaration.setl_ym == _ym(setl_ym))
        .order_by(Declaration.fixmedins_code))])


@router.post("/agency/declarations/{decl_id}/rejections", status_code=201, summary="Reject a declared settlement")
def reject(decl_id: str, body: RejectBody, request: Request, region: str = Depends(agency)) -> dict[str, Any]:
    def run(w: Work) -> dict[str, Any]:
        r = rv.reject(w.session, region, decl_id, body.setl_id, body.reason, w.today, w.now)
        return {"rejection_id": r.id, "setl_id": r.setl_id, "amount": r.amount, "status": r.status}

    return in_unit_of_work(request, run)


@router.post("/agency/declarations/{decl_id}/deductions", status_code=201, summary="Deduct for a violation")
def deduct(decl_id: str, body: DeductBody, request: Request, region: str = Depends(agency)) -> dict[str, Any]:
    def run(w: Work) -> dict[str, Any]:
        d = rv.deduct(w.session, region, decl_id, body.amount, body.reason, w.today, w.now, setl_id=body.setl_id,
                      insu_admdvs=body.insu_admdvs, insutype=body.insutype)
        return {"deduction_id": d.id, "amount": d.amount, "insu_admdvs": d.insu_admdvs}

    return in_unit_of_work(request, run)


@router.post("/agency/declarations/{decl_id}/finish", summary="Finish the review: approved amount and plan")
def finish(decl_id: str, request: Request, region: str = Depends(agency)) -> dict[str, Any]:
    def run(w: Work) -> dict[str, Any]:
        decl = rv.finish(w.session, region, decl_id, w.today, w.now)
        return {**dc.describe(decl), "plan": [{"payer": i.payer, "charged_admdvs": i.charged_admdvs, "part": i.part,
                                            "insutype": i.insutype, "amount": i.amount}
                                           for i in rv.plan(w.session, decl_id)]}

    return in_unit_of_work(request, run)


@router.post("/agency/rejections/{rejection_id}/agree", summary="Agree to pay a rejection in the next cycle")
def agree(rejection_id: Id, request: Request, region: str = Depends(agency)) -> dict[str, Any]:
    def run(w: Work) -> dict[str, Any]:
        r = rv.agree(w.session, region, rejection_id, w.now)
        return {"rejection_id": r.id, "status": r.status}

    return in_unit_of_work(request, run)


@router.delete("/agency/rejections/{rejection_id}", status_code=204, summary="Withdraw a rejection (review open)")
def withdraw(rejection_id: Id, request: Request, region: str = Depends(agency)) -> None:
    in_unit_of_work(request, lambda w: rv.withdraw(w.session, region, rejection_id, w.today))


@router.post("/agency/allocations/{setl_ym}", summary="Pay my own insured's part of the month's plan")
def agency_allocate(setl_ym: str, request: Request, region: str = Depends(agency)) -> dict[str, Any]:
    return in_unit_of_work(request, lambda w: al.allocate(w.session, "agency", region, _ym(setl_ym), w.today, w.now))


@router.get("/agency/advance", summary="My region's advance with the provincial centre")
def my_advance(request: Request, region: str = Depends(agency)) -> dict[str, Any]:
    return in_unit_of_work(request, lambda w: al.region_view(w.session, al.province_of(region), region))


AgencyReport = Literal["review-payment", "review-summary", "allocation-plan", "mutual-aid-local",
                       "mutual-aid-xregion"]


@router.get("/agency/reports/{setl_ym}/{name}", summary="My region's tables of a month")
def region_report(setl_ym: str, name: AgencyReport, request: Request, cls: Cls = "employee",
                  format: Format = "json", region: str = Depends(agency)) -> Any:
    def run(w: Work) -> Any:
        ym = _ym(setl_ym)
        build = {"review-payment": lambda: reports.review_payment(w.session, ym, cls, region),
                 "review-summary": lambda: reports.review_summary(w.session, ym, cls, region),
                 "allocation-plan": lambda: reports.allocation_plan(w.session, ym, cls, region),
                 "mutual-aid-local": lambda: centre_tables.mutual_aid_payment(w.session, ym, region, True),
                 "mutual-aid-xregion": lambda: centre_tables.mutual_aid_payment(w.session, ym, region, False)}
        return _rendered(build[name](), format)

    return in_unit_of_work(request, run)


@router.get("/agency/declarations/{decl_id}/reports/{name}", summary="A declaration of my region, as printed")
def declaration_report(decl_id: str, name: InstitutionReport, request: Request, cls: Cls = "employee",
                       format: Format = "json", region: str = Depends(agency)) -> Any:
    def run(w: Work) -> Any:
        decl = dc.find(w.session, decl_id)
        if decl is None or decl.admdvs != region:
            raise HTTPException(404, f"no declaration {decl_id} in region {region}")
        if name.startswith("declaration-"):
            return _rendered(reports.declaration(w.session, decl, cls, int(name[-1])), format)
        if name == "review-notes":
            return _rendered(reports.review_notes(w.session, decl, cls), format)
        return _rendered(reports.review_payment(w.session, decl.setl_ym, cls, region, decl.fixmedins_code), format)

    return in_unit_of_work(request, run)


# -- the provincial centre -------------------------------------------------------------------------------


@router.post("/centre/allocations/{setl_ym}", summary="Pay the centre's part of the month's plans")
def centre_allocate(setl_ym: str, request: Request, province: str = Depends(centre)) -> dict[str, Any]:
    return in_unit_of_work(request, lambda w: al.allocate(w.session, "centre", province, _ym(setl_ym), w.today,
                                                          w.now))


@router.post("/centre/mutual-aid/{setl_ym}", summary="Clear the month's mutual aid between regions")
def centre_mutual_aid(setl_ym: str, request: Request, province: str = Depends(centre)) -> list[dict[str, Any]]:
    def run(w: Work) -> list[dict[str, Any]]:
        return [{"acct_admdvs": r.acct_admdvs, "insu_admdvs": r.insu_admdvs, "drawn": r.drawn, "cleared": r.cleared}
                for r in al.clear_mutual_aid(w.session, province, _ym(setl_ym), w.now)]

    return in_unit_of_work(request, run)


@router.post("/centre/clearing/{setl_ym}", summary="The month's clearing: settle each region's advance and top it "
                                                  "up (the first call is the initial prepayment)")
def centre_clearing(setl_ym: str, request: Request, province: str = Depends(centre)) -> list[dict[str, Any]]:
    return in_unit_of_work(request, lambda w: al.settle_advances(w.session, province, _ym(setl_ym), w.now))


@router.get("/centre/ledger", summary="The cross-region account and every region's advance held")
def centre_ledger(request: Request, province: str = Depends(centre)) -> dict[str, Any]:
    return in_unit_of_work(request, lambda w: al.centre_view(w.session, province))


@router.get("/centre/regions/{admdvs}", summary="One region's advance, month by month")
def centre_region(admdvs: str, request: Request, province: str = Depends(centre)) -> dict[str, Any]:
    return in_unit_of_work(request, lambda w: al.region_view(w.session, province, admdvs))


CentreReport = Literal["transfer-voucher", "insurance-breakdown", "mutual-aid-clearing", "clearing-balances"]


@router.get("/centre/reports/{setl_ym}/{name}", summary="The centre's tables of a month")
def centre_report(setl_ym: str, name: CentreReport, request: Request, format: Format = "json",
                  province: str = Depends(centre)) -> Any:
    def run(w: Work) -> Any:
        ym = _ym(setl_ym)
        build = {"transfer-voucher": centre_tables.transfer_voucher,
                 "insurance-breakdown": centre_tables.insurance_breakdown,
                 "mutual-aid-clearing": centre_tables.mutual_aid_clearing,
                 "clearing-balances": centre_tables.clearing_balances}
        return _rendered(build[name](w.session, province, ym), format)

    return in_unit_of_work(request, run)
