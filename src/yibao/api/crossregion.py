"""Cross-region: chronic/special disease recognitions and suspensions of direct settlement, for agency staff
(and the insured person's own view of his recognitions). docs/crossregion.md.

- The insured region's agency recognises a disease for a person of its region, and ends recognitions of its
  insured (it keeps the record, seed 004 art. 10).
- The treatment region's agency suspends the direct settlement of a person insured elsewhere in its region,
  and lifts it (seed 004 art. 29); settlements there are refused meanwhile (platform/crossregion.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from yibao.api.deps import agency, in_unit_of_work, person
from yibao.api.params import Day, Id
from yibao.platform import diseases
from yibao.platform import suspensions as sp
from yibao.platform.work import Work
from yibao.store.models import Person

router = APIRouter(prefix="/api/v1", tags=["cross-region: diseases and suspensions"])


class DiseaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    psn_no: str = Field(min_length=1, max_length=30)
    code: str = Field(min_length=1, max_length=30, description="a chronic/special disease code of the region")
    since: Day
    until: Day | None = None
    memo: str = Field("", max_length=500)


class SuspendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    psn_no: str = Field(min_length=1, max_length=30)
    reason: str = Field(min_length=1, max_length=500)


class LiftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500)


def _insured_here(w: Work, psn_no: str, region: str) -> Person:
    found = w.session.get(Person, psn_no)
    if found is None or found.admdvs != region:
        raise HTTPException(404, f"no insured person {psn_no} in region {region}")
    return found


# -- diseases ------------------------------------------------------------------------------------------

@router.post("/agency/diseases", status_code=201, summary="Recognise a chronic/special disease for a person of my "
                                                          "region")
def recognize(body: DiseaseIn, request: Request, region: str = Depends(agency)) -> dict[str, Any]:
    def run(w: Work) -> dict[str, Any]:
        who = _insured_here(w, body.psn_no, region)
        row = diseases.recognize(w.session, who, diseases.Recognition(
            who.psn_no, body.code.strip(), body.since, body.until, diseases.agency_actor(region), body.memo),
            treatment_admdvs=None, field="code")
        return _recognition(w, who, row.code)

    return in_unit_of_work(request, run)


@router.delete("/agency/diseases/{psn_no}/{code}", summary="End a recognition of a person of my region")
def end_recognition(psn_no: str, code: str, request: Request, region: str = Depends(agency)) -> dict[str, Any]:
    def run(w: Work) -> dict[str, Any]:
        who = _insured_here(w, psn_no, region)
        row = diseases.cancel(w.session, who, code, by=diseases.agency_actor(region), insured_agency=True,
                              field="code")
        return {"psn_no": psn_no, "code": row.code, "status": row.status, "recognized_by": row.recognized_by or ""}

    return in_unit_of_work(request, run)


@router.get("/agency/diseases/{psn_no}", summary="The recognitions of a person of my region")
def recognitions(psn_no: str, request: Request, region: str = Depends(agency)) -> list[dict[str, Any]]:
    return in_unit_of_work(request, lambda w: diseases.of_person(w.session, _insured_here(w, psn_no, region)))


@router.get("/me/diseases", summary="My recognised chronic/special diseases")
def my_recognitions(request: Request, me: str = Depends(person)) -> list[dict[str, Any]]:
    def run(w: Work) -> list[dict[str, Any]]:
        who = w.session.get(Person, me)
        if who is None:
            raise HTTPException(404, f"no insured person {me}")
        return diseases.of_person(w.session, who)

    return in_unit_of_work(request, run)


def _recognition(w: Work, who: Person, code: str) -> dict[str, Any]:
    row = next(r for r in diseases.of_person(w.session, who) if r["opsp_dise_code"] == code)
    return {"psn_no": who.psn_no, **row}


# -- suspensions ---------------------------------------------------------------------------------------

@router.post("/agency/suspensions", status_code=201,
             summary="Suspend the direct settlement, in my region, of a person insured elsewhere (art. 29)")
def suspend(body: SuspendIn, request: Request, region: str = Depends(agency)) -> dict[str, Any]:
    def run(w: Work) -> dict[str, Any]:
        row, who = sp.suspend(w, region, body.psn_no, body.reason)
        # art. 29: reported to the provincial centre, which coordinates with the insured region
        return {**sp.describe(row), "insured_admdvs": who.admdvs}

    return in_unit_of_work(request, run)


@router.post("/agency/suspensions/{suspension_id}/lift", summary="Lift a suspension of my region")
def lift(suspension_id: Id, body: LiftIn, request: Request, region: str = Depends(agency)) -> dict[str, Any]:
    return in_unit_of_work(request, lambda w: sp.describe(sp.lift(w, region, suspension_id, body.reason)))


@router.get("/agency/suspensions", summary="Suspensions in my region; scope=insured: of my insured elsewhere")
def suspensions(request: Request, scope: str = "treatment", active: bool | None = None, psn_no: str | None = None,
                region: str = Depends(agency)) -> list[dict[str, Any]]:
    return in_unit_of_work(request, lambda w: [sp.describe(s) for s in sp.of_region(w, region, scope, active,
                                                                                     psn_no)])
