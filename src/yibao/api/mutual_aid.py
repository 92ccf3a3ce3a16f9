"""Family mutual aid for insured persons (their own authorizations) and agency staff (their region's)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select

from yibao import codes
from yibao.api.deps import agency, in_unit_of_work, person
from yibao.api.params import Day, Id, Int4, Moment, Money
from yibao.errors import refuse
from yibao.platform import mutual_aid as ma
from yibao.platform.work import Work
from yibao.store.models import Person

router = APIRouter(prefix="/api/v1", tags=["family mutual aid"])


class Commitment(BaseModel):
    """The commitment text (承诺书) the authorizer accepted, and when (seed 002)."""

    version: str = Field(min_length=1, max_length=40)
    accepted_at: Moment


class BindIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    beneficiary_psn_no: str | None = Field(None, max_length=30)
    beneficiary_certno: str | None = Field(None, max_length=50, description="with beneficiary_name, instead of psn_no")
    beneficiary_name: str | None = Field(None, max_length=50)
    relation: str = Field(max_length=10, description="the beneficiary's relation to the authorizer: "
                                                     + ", ".join(codes.GRANT_RELATIONS))
    quota: Money | None = Field(None, description="decimal string; none: the whole balance is available")
    start: Day
    end: Day | None = None
    priority: Int4 | None = None
    commitment: Commitment


class ChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    quota: Money | None = None
    start: Day | None = None
    end: Day | None = None
    priority: Int4 | None = None

    @field_validator("start")
    @classmethod
    def _start_kept(cls, value: date | None) -> date | None:
        # null means "none" for quota, end and priority; an authorization cannot be without a start
        if value is None:
            raise ValueError("must be a date: an authorization always has a start")
        return value


class EndIn(BaseModel):
    reason: str = Field(min_length=1, max_length=200)


class TransferIn(BaseModel):
    to_admdvs: str = Field(pattern=r"^\d{6}$")


class CloseIn(BaseModel):
    status: str = Field(pattern=r"^(closed|withdrawn)$")


def _beneficiary(w: Work, body: BindIn) -> str:
    if body.beneficiary_psn_no:
        return body.beneficiary_psn_no
    if not (body.beneficiary_certno and body.beneficiary_name):
        raise refuse("beneficiary_psn_no", "name the beneficiary by psn_no, or by beneficiary_certno and name")
    found = w.session.scalar(select(Person).where(Person.certno == body.beneficiary_certno.upper()))
    if found is None or found.name != body.beneficiary_name:
        raise refuse("beneficiary_certno", "no insured person with this ID number and name")
    return found.psn_no


@router.post("/me/mutual-aid", status_code=201, summary="Bind a family member to my personal account")
def bind(body: BindIn, request: Request, me: str = Depends(person)) -> dict[str, Any]:
    if body.relation not in codes.GRANT_RELATIONS:
        raise refuse("relation", f"must be one of {', '.join(codes.GRANT_RELATIONS)}")

    def run(w: Work) -> dict[str, Any]:
        grant = ma.bind(w.session, ma.Binding(me, _beneficiary(w, body), body.relation, body.quota, body.start,
                                              body.end, body.priority, body.commitment.version,
                                              body.commitment.accepted_at), now=w.now, today=w.today,
                        actor=f"person:{me}")
        return ma.describe(grant, w.today)

    return in_unit_of_work(request, run)


@router.get("/me/mutual-aid", summary="My authorizations, as authorizer and as beneficiary")
def mine(request: Request, me: str = Depends(person)) -> dict[str, Any]:
    def run(w: Work) -> dict[str, Any]:
        given, received = ma.mine(w.session, me)
        return {"as_authorizer": [ma.describe(g, w.today) for g in given],
                "as_beneficiary": [ma.describe(g, w.today) for g in received]}

    return in_unit_of_work(request, run)


def _found(w: Work, grant_id: int, lock: bool) -> ma.Grant | None:
    q = select(ma.Grant).where(ma.Grant.id == grant_id)
    return w.session.scalars(q.with_for_update() if lock else q).first()


def _own_grant(w: Work, grant_id: int, me: str, lock: bool = False) -> ma.Grant:
    """Unknown and someone else's look the same (404): ids are not probed."""
    grant = _found(w, grant_id, lock)
    if grant is None or me not in (grant.authorizer, grant.beneficiary):
        raise HTTPException(404, f"no authorization {grant_id} of yours")
    return grant


@router.patch("/me/mutual-aid/{grant_id}", summary="Change quota or window (authorizer) or priority (beneficiary)")
def change(grant_id: Id, body: ChangeIn, request: Request, me: str = Depends(person)) -> dict[str, Any]:
    fields = body.model_dump(exclude_unset=True)
    if not fields:
        raise refuse("body", "name at least one of quota, start, end, priority")

    def run(w: Work) -> dict[str, Any]:
        grant = ma.change(w.session, _own_grant(w, grant_id, me, lock=True), actor_psn=me, now=w.now, fields=fields)
        return ma.describe(grant, w.today)

    return in_unit_of_work(request, run)


@router.delete("/me/mutual-aid/{grant_id}", summary="Unbind: ends the authorization for new settlements at once")
def unbind(grant_id: Id, request: Request, me: str = Depends(person)) -> dict[str, Any]:
    def run(w: Work) -> dict[str, Any]:
        grant = _own_grant(w, grant_id, me, lock=True)
        if grant.authorizer != me:
            raise refuse("id", "unbinding is the authorizer's act")
        return ma.describe(ma.end(w.session, grant, now=w.now, actor=f"person:{me}", reason="unbound by the "
                                  "authorizer"), w.today)

    return in_unit_of_work(request, run)


@router.get("/me/mutual-aid/{grant_id}/usage", summary="What an authorization paid, and what happened to it")
def usage(grant_id: Id, request: Request, me: str = Depends(person)) -> dict[str, Any]:
    def run(w: Work) -> dict[str, Any]:
        grant = _own_grant(w, grant_id, me)
        moves = ma.usage(w.session, grant)
        return {
            "authorization": ma.describe(grant, w.today),
            "movements": [{"time": m.entry_time, "kind": m.kind, "amount": m.amount, "setl_id": m.setl_id,
                           "beneficiary": m.beneficiary_psn_no} for m in moves],
            "drawn": -sum((m.amount for m in moves), Decimal("0.00")),
            "events": [{"time": e.at, "kind": e.kind, "actor": e.actor, "detail": e.detail}
                       for e in ma.events(w.session, grant)],
        }

    return in_unit_of_work(request, run)


# -- agency staff ------------------------------------------------------------------------------------

def _region_grant(w: Work, grant_id: int, region: str) -> ma.Grant:
    grant = _found(w, grant_id, lock=True)
    authorizer = w.session.get(Person, grant.authorizer) if grant else None
    if grant is None or authorizer is None or authorizer.admdvs != region:
        raise HTTPException(404, f"no authorization {grant_id} in region {region}")
    return grant


@router.get("/agency/mutual-aid", summary="Every authorization whose authorizer is insured in my region")
def region_list(request: Request, status: str | None = None, region: str = Depends(agency)) -> list[dict[str, Any]]:
    return in_unit_of_work(request, lambda w: [ma.describe(g, w.today) for g in ma.of_region(w.session, region,
                                                                                               status)])


@router.post("/agency/mutual-aid/{grant_id}/end", summary="End an authorization of my region")
def agency_end(grant_id: Id, body: EndIn, request: Request, region: str = Depends(agency)) -> dict[str, Any]:
    return in_unit_of_work(request, lambda w: ma.describe(ma.end(
        w.session, _region_grant(w, grant_id, region), now=w.now, actor=f"agency:{region}", reason=body.reason,
        kind="ended_by_agency"), w.today))


def _region_person(w: Work, psn_no: str, region: str) -> Person:
    found = w.session.get(Person, psn_no)
    if found is None or found.admdvs != region:
        raise HTTPException(404, f"no insured person {psn_no} in region {region}")
    return found


@router.post("/agency/persons/{psn_no}/transfer", summary="The person's insurance moves out of my region")
def transfer(psn_no: str, body: TransferIn, request: Request, region: str = Depends(agency)) -> dict[str, Any]:
    def run(w: Work) -> dict[str, Any]:
        _region_person(w, psn_no, region)
        ended = ma.transfer(w.session, psn_no, body.to_admdvs, now=w.now, actor=f"agency:{region}")
        return {"psn_no": psn_no, "admdvs": body.to_admdvs, "authorizations_ended": ended}

    return in_unit_of_work(request, run)


@router.post("/agency/accounts/{psn_no}/close", summary="Close or withdraw a personal account of my region")
def close(psn_no: str, body: CloseIn, request: Request, region: str = Depends(agency)) -> dict[str, Any]:
    def run(w: Work) -> dict[str, Any]:
        _region_person(w, psn_no, region)
        ended = ma.close_account(w.session, psn_no, body.status, now=w.now, actor=f"agency:{region}")
        return {"psn_no": psn_no, "status": body.status, "authorizations_ended": ended}

    return in_unit_of_work(request, run)
