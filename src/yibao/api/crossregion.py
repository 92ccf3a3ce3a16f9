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
from sqlalchemy import select

from yibao.api.deps import agency, in_unit_of_work, person
from yibao.api.params import Day, Id
from yibao.errors import refuse
from yibao.platform import diseases
from yibao.platform.work import Work
from yibao.store.models import Person, SettlementSuspension

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

def _describe(s: SettlementSuspension) -> dict[str, Any]:
    return {"id": s.id, "psn_no": s.psn_no, "treatment_admdvs": s.treatment_admdvs, "reason": s.reason,
            "since": s.since, "active": s.lifted_at is None, "lifted_at": s.lifted_at,
            "lifted_reason": s.lifted_reason}


@router.post("/agency/suspensions", status_code=201,
             summary="Suspend the direct settlement, in my region, of a person insured elsewhere (art. 29)")
def suspend(body: SuspendIn, request: Request, region: str = Depends(agency)) -> dict[str, Any]:
    def run(w: Work) -> dict[str, Any]:
        who = w.session.scalars(select(Person).where(Person.psn_no == body.psn_no).with_for_update()).first()
        if who is None:
            raise HTTPException(404, f"no insured person {body.psn_no}")
        if who.admdvs == region:
            raise refuse("psn_no", f"the person is insured in {region}: suspension of direct settlement concerns "
                                   "persons insured elsewhere who are treated here (seed 004 art. 29); the "
                                   "insured region deals with its own insured")
        current = w.session.scalars(select(SettlementSuspension).where(
            SettlementSuspension.psn_no == who.psn_no, SettlementSuspension.treatment_admdvs == region,
            SettlementSuspension.lifted_at.is_(None))).first()
        if current is not None:
            raise refuse("psn_no", f"the person's direct settlement in {region} is already suspended "
                                   f"(suspension {current.id} since {current.since:%Y-%m-%d}: {current.reason})")
        row = SettlementSuspension(psn_no=who.psn_no, treatment_admdvs=region, reason=body.reason.strip(),
                                   since=w.now)
        w.session.add(row)
        w.session.flush()
        # art. 29: reported to the provincial centre, which coordinates with the insured region
        return {**_describe(row), "insured_admdvs": who.admdvs}

    return in_unit_of_work(request, run)


@router.post("/agency/suspensions/{suspension_id}/lift", summary="Lift a suspension of my region")
def lift(suspension_id: Id, body: LiftIn, request: Request, region: str = Depends(agency)) -> dict[str, Any]:
    def run(w: Work) -> dict[str, Any]:
        row = w.session.scalars(select(SettlementSuspension).where(SettlementSuspension.id == suspension_id)
                                .with_for_update()).first()
        if row is None or row.treatment_admdvs != region:
            raise HTTPException(404, f"no suspension {suspension_id} in region {region}")
        if row.lifted_at is not None:
            raise refuse("id", f"suspension {suspension_id} was already lifted on {row.lifted_at:%Y-%m-%d} "
                               f"({row.lifted_reason})")
        row.lifted_at, row.lifted_reason = w.now, body.reason.strip()
        return _describe(row)

    return in_unit_of_work(request, run)


@router.get("/agency/suspensions", summary="Suspensions in my region; scope=insured: of my insured elsewhere")
def suspensions(request: Request, scope: str = "treatment", active: bool | None = None, psn_no: str | None = None,
                region: str = Depends(agency)) -> list[dict[str, Any]]:
    if scope not in ("treatment", "insured"):
        raise refuse("scope", "must be treatment (suspensions made by my region) or insured (of my insured, "
                              "made elsewhere)")

    def run(w: Work) -> list[dict[str, Any]]:
        q = select(SettlementSuspension)
        if scope == "treatment":
            q = q.where(SettlementSuspension.treatment_admdvs == region)
        else:
            q = q.join(Person, Person.psn_no == SettlementSuspension.psn_no).where(Person.admdvs == region)
        if active is not None:
            q = q.where(SettlementSuspension.lifted_at.is_(None) if active
                        else SettlementSuspension.lifted_at.is_not(None))
        if psn_no:
            q = q.where(SettlementSuspension.psn_no == psn_no)
        return [_describe(s) for s in w.session.scalars(q.order_by(SettlementSuspension.id))]

    return in_unit_of_work(request, run)
