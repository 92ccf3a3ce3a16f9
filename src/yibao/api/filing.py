"""Cross-region filing (异地备案) for insured persons (their own filings) and the agency of their insured region
(seed 004 art. 8: the insured region offers filing at its window and online). Institutions file with 2505/2506."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from yibao import codes
from yibao.api.deps import agency, in_unit_of_work, person
from yibao.api.params import Day, Id
from yibao.platform import filing as fl
from yibao.platform.work import Work
from yibao.store.models import Filing, Person

router = APIRouter(prefix="/api/v1", tags=["cross-region filing"])

TYPES = ", ".join(codes.FILING_TYPES)


class FilingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str = Field(max_length=24, description=f"one of {TYPES}")
    dest_admdvs: str | None = Field(None, max_length=6, description="a province (xx0000) or a pooling region; or")
    dest_fixmedins: str | None = Field(None, max_length=30, description="one institution (e.g. dialysis)")
    start: Day = Field(description="emergency: the first outpatient date (may be in the past, not the future)")
    end: Day | None = Field(None, description="empty for retired_resettled; computed for emergency (start + 9 days); "
                                              "required otherwise (referral: within the insured region's maximum)")
    memo: str = Field("", max_length=400)
    dise_codg: str | None = Field(None, max_length=30, description="the disease the filing is for; a dialysis "
                                                                   "disease is filed to one institution")


class AgencyFilingIn(FilingIn):
    psn_no: str = Field(min_length=1, max_length=30)
    replaces_id: Id | None = Field(None, description="make this filing a new version of an active one")


class ChangeIn(BaseModel):
    """The new version's terms; what is not given is taken from the filing it replaces. Naming either
    destination replaces the destination."""

    model_config = ConfigDict(extra="forbid")
    type: str | None = Field(None, max_length=24)
    dest_admdvs: str | None = Field(None, max_length=6)
    dest_fixmedins: str | None = Field(None, max_length=30)
    start: Day | None = None
    end: Day | None = None
    memo: str = Field("", max_length=400)
    dise_codg: str | None = Field(None, max_length=30)


def _shown(w: Work, row: Filing) -> dict[str, Any]:
    return fl.describe(row, w.today, referral_max=fl.referral_max(w.session, row.psn_no))


def _own(w: Work, filing_id: int, me: str) -> Filing:
    """Unknown and someone else's look the same (404): ids are not probed."""
    row = fl.get(w.session, filing_id)
    if row is None or row.psn_no != me:
        raise HTTPException(404, f"no filing {filing_id} of yours")
    return row


def _of_region(w: Work, filing_id: int, region: str) -> Filing:
    row = fl.get(w.session, filing_id)
    owner = w.session.get(Person, row.psn_no) if row else None
    if row is None or owner is None or owner.admdvs != region:
        raise HTTPException(404, f"no filing {filing_id} of a person insured in region {region}")
    return row


def _new(w: Work, psn_no: str, body: FilingIn, actor: str, replaces_id: int | None = None) -> dict[str, Any]:
    row = fl.file(w.session, psn_no, body.type, body.dest_admdvs, body.dest_fixmedins, body.start, body.end,
                  now=w.now, today=w.today, actor=actor, replaces_id=replaces_id, memo=body.memo,
                  dise_codg=body.dise_codg or None)
    return _shown(w, row)


# -- the insured person ------------------------------------------------------------------------------

@router.post("/me/filings", status_code=201, summary="File for treatment elsewhere (异地备案)")
def file_mine(body: FilingIn, request: Request, me: str = Depends(person)) -> dict[str, Any]:
    return in_unit_of_work(request, lambda w: _new(w, me, body, f"person:{me}"))


@router.get("/me/filings", summary="My filings, every version and status")
def mine(request: Request, me: str = Depends(person)) -> list[dict[str, Any]]:
    return in_unit_of_work(request, lambda w: fl.describe_all(w.session, fl.mine(w.session, me), w.today))


@router.post("/me/filings/{filing_id}/change", status_code=201,
             summary="Change a filing (new place, new institution, referral onwards): a new version replaces it")
def change(filing_id: Id, body: ChangeIn, request: Request, me: str = Depends(person)) -> dict[str, Any]:
    given = body.model_dump(exclude_unset=True)

    def run(w: Work) -> dict[str, Any]:
        old = _own(w, filing_id, me)
        new_place = "dest_admdvs" in given or "dest_fixmedins" in given
        terms = FilingIn(
            type=body.type or old.type,
            dest_admdvs=body.dest_admdvs if new_place else old.dest_admdvs,
            dest_fixmedins=body.dest_fixmedins if new_place else old.dest_fixmedins,
            start=body.start or old.start,
            end=given["end"] if "end" in given else (None if (body.type or old.type) == "emergency" else old.end),
            memo=body.memo, dise_codg=given["dise_codg"] if "dise_codg" in given else old.dise_codg)
        return _new(w, me, terms, f"person:{me}", replaces_id=old.id)

    return in_unit_of_work(request, run)


@router.delete("/me/filings/{filing_id}", summary="Cancel one of my filings: it covers nothing from now on")
def cancel_mine(filing_id: Id, request: Request, me: str = Depends(person)) -> dict[str, Any]:
    def run(w: Work) -> dict[str, Any]:
        row = _own(w, filing_id, me)
        return _shown(w, fl.cancel(w.session, row.id, now=w.now, actor=f"person:{me}"))

    return in_unit_of_work(request, run)


# -- the agency of the insured region ----------------------------------------------------------------

@router.get("/agency/filings", summary="The filings of the persons insured in my region")
def region_list(request: Request, status: str | None = None, psn_no: str | None = None,
                region: str = Depends(agency)) -> list[dict[str, Any]]:
    return in_unit_of_work(request, lambda w: fl.describe_all(
        w.session, fl.of_region(w.session, region, status=status, psn_no=psn_no), w.today))


@router.post("/agency/filings", status_code=201, summary="File for a person insured in my region (its window)")
def agency_file(body: AgencyFilingIn, request: Request, region: str = Depends(agency)) -> dict[str, Any]:
    def run(w: Work) -> dict[str, Any]:
        found = w.session.get(Person, body.psn_no)
        if found is None or found.admdvs != region:
            raise HTTPException(404, f"no insured person {body.psn_no} in region {region}")
        if body.replaces_id is not None:
            _of_region(w, body.replaces_id, region)
        return _new(w, body.psn_no, body, f"agency:{region}", replaces_id=body.replaces_id)

    return in_unit_of_work(request, run)


@router.delete("/agency/filings/{filing_id}", summary="Cancel a filing of a person insured in my region")
def agency_cancel(filing_id: Id, request: Request, region: str = Depends(agency)) -> dict[str, Any]:
    def run(w: Work) -> dict[str, Any]:
        row = _of_region(w, filing_id, region)
        return _shown(w, fl.cancel(w.session, row.id, now=w.now, actor=f"agency:{region}"))

    return in_unit_of_work(request, run)
