"""Reimbursement coordination (零星报销协办, seed 004 art. 17-18) for agency staff: the insured region files
and pays, the treatment region dispatches; both see their requests and the steps past their deadlines.
The institution uploads the records over the wire (2560, gateway/handlers/coordination.py)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from yibao.api.deps import agency, in_unit_of_work
from yibao.api.params import Day, Id
from yibao.platform import coordination as co
from yibao.platform.work import Work
from yibao.store.models import CoordinationRequest, Settlement

router = APIRouter(prefix="/api/v1/agency/coordination", tags=["reimbursement coordination"])


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    psn_no: str = Field(min_length=1, max_length=30, description="a person insured in the agency's region")
    fixmedins_code: str = Field(min_length=1, max_length=30, description="the institution, in another region")
    begndate: Day = Field(description="first day of the costs claimed")
    enddate: Day = Field(description="last day of the costs claimed")
    memo: str | None = Field(None, max_length=500)


class PayBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    method: Literal["account", "cash"] = Field(description="account: credit the person's personal account "
                                                           "(acct_023); cash: recorded for payment in cash")


def _seen(w: Work, coord_id: int, region: str, lock: bool = False) -> CoordinationRequest:
    """A request of the region, on either side; another region's looks unknown (404)."""
    row = co.find(w.session, coord_id, lock=lock)
    if row is None or region not in (row.insu_admdvs, row.treatment_admdvs):
        raise HTTPException(404, f"no coordination request {coord_id} of region {region}")
    return row


def _described(w: Work, row: CoordinationRequest) -> dict[str, Any]:
    return co.describe(row, w.session.get(Settlement, row.setl_id) if row.setl_id else None)


@router.post("", status_code=201, summary="File a request (insured region): the treatment region has 3 working "
                                          "days to dispatch it")
def file_request(body: RequestBody, request: Request, region: str = Depends(agency)) -> dict[str, Any]:
    def run(w: Work) -> dict[str, Any]:
        row = co.file_request(w.session, region, co.RequestIn(body.psn_no, body.fixmedins_code, body.begndate,
                                                              body.enddate, body.memo), today=w.today, now=w.now)
        return co.describe(row)

    return in_unit_of_work(request, run)


@router.get("", summary="My region's requests: filed by it (outgoing), sent to it (incoming), or both")
def region_list(request: Request, side: Literal["incoming", "outgoing"] | None = None,
                status: Literal["requested", "dispatched", "uploaded", "paid"] | None = None,
                region: str = Depends(agency)) -> list[dict[str, Any]]:
    return in_unit_of_work(request, lambda w: [_described(w, r) for r in co.of_region(w.session, region, side,
                                                                                       status)])


@router.get("/overdue", summary="Steps of my region's requests past their deadline on the business date")
def overdue(request: Request, region: str = Depends(agency)) -> dict[str, Any]:
    def run(w: Work) -> dict[str, Any]:
        return {"as_of": w.today.isoformat(),
                "late": [co.describe_late(s) for s in co.late_steps(w.session, region, w.today)]}

    return in_unit_of_work(request, run)


@router.get("/{coord_id}", summary="One request of my region, with its claim once computed")
def one(coord_id: Id, request: Request, region: str = Depends(agency)) -> dict[str, Any]:
    return in_unit_of_work(request, lambda w: _described(w, _seen(w, coord_id, region)))


@router.post("/{coord_id}/dispatch", summary="Dispatch to the institution (treatment region): it has 5 working "
                                             "days to upload (2560)")
def dispatch(coord_id: Id, request: Request, region: str = Depends(agency)) -> dict[str, Any]:
    def run(w: Work) -> dict[str, Any]:
        row = _seen(w, coord_id, region, lock=True)
        if region != row.treatment_admdvs:
            raise HTTPException(403, f"dispatching is the act of the treatment region's agency "
                                     f"({row.treatment_admdvs})")
        return co.describe(co.dispatch(w.session, row, today=w.today, now=w.now))

    return in_unit_of_work(request, run)


@router.post("/{coord_id}/pay", summary="Pay the claim's fund part (insured region): to the account or in cash")
def pay(coord_id: Id, body: PayBody, request: Request, region: str = Depends(agency)) -> dict[str, Any]:
    def run(w: Work) -> dict[str, Any]:
        row = _seen(w, coord_id, region, lock=True)
        if region != row.insu_admdvs:
            raise HTTPException(403, f"paying the claim is the act of the insured region's agency "
                                     f"({row.insu_admdvs})")
        return _described(w, co.pay(w.session, row, body.method, now=w.now))

    return in_unit_of_work(request, run)
