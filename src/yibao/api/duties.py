"""The agencies' duties over HTTP (seed 004 art. 21, 28, 29, 30, 38). docs/duties.md.

- the insured person files complaints about institutions of other regions and reads the answers (art. 28);
- the treatment region's agency accepts and answers them, imposes 违约金 in review (art. 30) and switches its
  region's preset benefits from a date (art. 38);
- the provincial centre sees the suspensions of direct settlement (art. 29), the agreement changes reported
  late (art. 21) and the serious violations reported up (art. 28)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from yibao.api.deps import agency, centre, in_unit_of_work, person
from yibao.api.params import Day, Id, Money
from yibao.platform import complaints, oversight, switches
from yibao.platform import declaration as dc
from yibao.platform import review as rv
from yibao.platform.work import Work

router = APIRouter(prefix="/api/v1", tags=["agencies' duties: complaints, 违约金, switches, the centre's watch"])


class ComplaintIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fixmedins_code: str | None = Field(None, max_length=30, description="the institution (or name setl_id)")
    setl_id: str | None = Field(None, max_length=30, description="one of my settlements, optional")
    content: str = Field(min_length=1, max_length=2000)


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer: str = Field(min_length=1, max_length=2000)
    serious_violation: bool = Field(False, description="found true and serious: reported up to the centre")


class DamagesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: Money = Field(gt=0)
    reason: str = Field(min_length=1, max_length=500, description="the clause of the service agreement broken")
    insutype: str | None = Field(None, max_length=6, description="the tables it shows in (default: the first)")


class SwitchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    on: bool
    effective: Day
    why: str = Field(min_length=1, max_length=500)


# -- complaints (art. 28) ----------------------------------------------------------------------------------

@router.post("/me/complaints", status_code=201, summary="Complain about an institution where I was treated "
                                                        "outside my insured region (art. 28)")
def file_complaint(body: ComplaintIn, request: Request, me: str = Depends(person)) -> dict[str, Any]:
    def run(w: Work) -> dict[str, Any]:
        row = complaints.file(w.session, me, body.content, w.now, fixmedins_code=body.fixmedins_code,
                              setl_id=body.setl_id)
        return complaints.describe(w.session, row, w.today)

    return in_unit_of_work(request, run)


@router.get("/me/complaints", summary="My complaints and their answers")
def my_complaints(request: Request, me: str = Depends(person)) -> list[dict[str, Any]]:
    return in_unit_of_work(request, lambda w: complaints.of_person(w.session, me, w.today))


@router.get("/agency/complaints", summary="Complaints about my region's institutions; overdue=true: open past "
                                          "the deadline")
def region_complaints(request: Request, status: Literal["filed", "accepted", "answered"] | None = None,
                      overdue: bool = False, region: str = Depends(agency)) -> list[dict[str, Any]]:
    return in_unit_of_work(request, lambda w: complaints.of_region(w.session, region, w.today, status, overdue))


@router.post("/agency/complaints/{complaint_id}/accept", summary="Accept a complaint")
def accept_complaint(complaint_id: Id, request: Request, region: str = Depends(agency)) -> dict[str, Any]:
    return in_unit_of_work(request, lambda w: complaints.describe(
        w.session, complaints.accept(w.session, region, complaint_id, w.now), w.today))


@router.post("/agency/complaints/{complaint_id}/answer", summary="Answer a complaint (a serious violation found "
                                                                 "is reported to the centre)")
def answer_complaint(complaint_id: Id, body: AnswerIn, request: Request,
                     region: str = Depends(agency)) -> dict[str, Any]:
    return in_unit_of_work(request, lambda w: complaints.describe(w.session, complaints.answer(
        w.session, region, complaint_id, body.answer, body.serious_violation, w.now), w.today))


@router.get("/centre/complaints", summary="Serious violations found on complaints, reported up by the agencies")
def reported_complaints(request: Request, province: str = Depends(centre)) -> list[dict[str, Any]]:
    return in_unit_of_work(request, lambda w: complaints.reported(w.session, province, w.today))


# -- the centre's watch (art. 21, 29) --------------------------------------------------------------------------

@router.get("/centre/suspensions", summary="Every suspension of direct settlement in my province: who, when, why")
def province_suspensions(request: Request, active: bool | None = None,
                         province: str = Depends(centre)) -> list[dict[str, Any]]:
    return in_unit_of_work(request, lambda w: oversight.suspensions(w.session, province, active))


@router.get("/centre/agreement-changes", summary="Agreement changes of my province's institutions with their "
                                                 "reporting deadline (10 working days); late=true: the late ones")
def province_agreement_changes(request: Request, late: bool = False,
                               province: str = Depends(centre)) -> list[dict[str, Any]]:
    return in_unit_of_work(request, lambda w: oversight.agreement_changes(w.session, province, late))


# -- 违约金 (art. 30) ----------------------------------------------------------------------------------------

@router.post("/agency/declarations/{decl_id}/damages", status_code=201,
             summary="Impose 违约金 on the institution in the review of a declaration")
def impose_damages(decl_id: str, body: DamagesIn, request: Request, region: str = Depends(agency)) -> dict[str, Any]:
    def run(w: Work) -> dict[str, Any]:
        x = rv.impose_damages(w.session, region, decl_id, body.amount, body.reason, w.today, w.now, body.insutype)
        return {"damages_id": x.id, "decl_id": x.decl_id, "fixmedins_code": x.fixmedins_code, "amount": x.amount,
                "insutype": x.insutype, "reason": x.reason}

    return in_unit_of_work(request, run)


@router.get("/agency/declarations/{decl_id}/subtractions", summary="What the allocation of a declaration "
                                                                   "withholds: deductions and 违约金")
def declaration_subtractions(decl_id: str, request: Request, region: str = Depends(agency)) -> list[dict[str, Any]]:
    def run(w: Work) -> list[dict[str, Any]]:
        decl = dc.find(w.session, decl_id)
        if decl is None or decl.admdvs != region:
            raise HTTPException(404, f"no declaration {decl_id} in region {region}")
        return [vars(x) for x in rv.subtractions(w.session, decl_id)]

    return in_unit_of_work(request, run)


# -- region switches (art. 38) ---------------------------------------------------------------------------------

@router.post("/agency/switches/{name}", status_code=201, summary="Turn a switch of my region on or off from a date")
def change_switch(name: str, body: SwitchIn, request: Request, region: str = Depends(agency)) -> dict[str, Any]:
    return in_unit_of_work(request, lambda w: switches.describe(switches.change(
        w.session, region, name, body.on, body.effective, by=f"agency:{region}", why=body.why, today=w.today,
        now=w.now)))


@router.get("/agency/switches", summary="My region's switches on a day (default today) and their changes")
def region_switches(request: Request, on: Day | None = None, region: str = Depends(agency)) -> dict[str, Any]:
    return in_unit_of_work(request, lambda w: switches.state(w.session, region, on or w.today))
