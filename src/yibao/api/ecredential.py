"""The insured person's e-credential: its activation (docs/crossregion.md) and the authorization for mobile
payment (simulated): a payAuthNo for one institution, valid 30 minutes of the business clock (docs/mobilepay.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from yibao.api.deps import in_unit_of_work, person
from yibao.errors import refuse
from yibao.platform import ecredential
from yibao.platform.work import Work
from yibao.store.models import Institution, Person

router = APIRouter(prefix="/api/v1", tags=["e-credential (mobile payment)"])


class PayAuthIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fixmedins_code: str = Field(min_length=1, max_length=30, description="the institution the patient pays")


@router.post("/ecredential/pay-auth", status_code=201,
             summary="Authorize an institution to settle my visit by mobile payment (payAuthNo)")
def pay_auth(body: PayAuthIn, request: Request, me: str = Depends(person)) -> dict[str, Any]:
    def run(w: Work) -> dict[str, Any]:
        if w.session.get(Institution, body.fixmedins_code) is None:
            raise refuse("fixmedins_code", f"no institution {body.fixmedins_code}")
        if w.session.get(Person, me) is None:
            raise refuse("psn_no", f"no insured person {me}")
        auth = ecredential.issue(w.session, me, body.fixmedins_code, w.now)
        return {"pay_auth_no": auth.pay_auth_no, "ec_token": auth.ec_token, "psn_no": me,
                "fixmedins_code": body.fixmedins_code,
                "expires_at": auth.expires_at.strftime("%Y-%m-%d %H:%M:%S")}

    return in_unit_of_work(request, run)


class ActivationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    activated: bool = Field(description="true: the e-credential is activated; false: it is not (any more)")


@router.put("/ecredential/activation",
            summary="Activate my e-credential: across regions my account pays by e-credential only then")
def activation(body: ActivationIn, request: Request, me: str = Depends(person)) -> dict[str, Any]:
    def run(w: Work) -> dict[str, Any]:
        row = ecredential.activate(w.session, me, body.activated)
        return {"psn_no": row.psn_no, "ecard_activated": row.ecard_activated}

    return in_unit_of_work(request, run)


@router.get("/ecredential/activation", summary="Whether my e-credential is activated")
def activation_state(request: Request, me: str = Depends(person)) -> dict[str, Any]:
    def run(w: Work) -> dict[str, Any]:
        row = w.session.get(Person, me)
        if row is None:
            raise refuse("psn_no", f"no insured person {me}")
        return {"psn_no": row.psn_no, "ecard_activated": row.ecard_activated}

    return in_unit_of_work(request, run)
