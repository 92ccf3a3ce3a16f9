"""The published registry of institutions' cross-region agreements (seed 004 art. 21, annex 2)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from yibao.api.deps import agency, in_unit_of_work
from yibao.api.params import Day
from yibao.errors import refuse
from yibao.platform.work import Work
from yibao.rules.filing import agreement_open
from yibao.store.models import Institution, InstitutionStatusChange

router = APIRouter(prefix="/api/v1", tags=["institution registry"])


class ChangeIn(BaseModel):
    change: str = Field(pattern=r"^(opened|suspended|resumed|ended)$")
    effective: Day
    memo: str = Field(default="", max_length=500)


def _describe(c: InstitutionStatusChange) -> dict[str, Any]:
    return {"id": c.id, "fixmedins_code": c.fixmedins_code, "change": c.change, "effective": c.effective,
            "reported_by": c.reported_by, "recorded_at": c.recorded_at, "memo": c.memo or ""}


@router.post("/agency/institutions/{code}/agreement", status_code=201,
             summary="Report a change of an institution's cross-region agreement, effective from a date")
def report(code: str, body: ChangeIn, request: Request, region: str = Depends(agency)) -> dict[str, Any]:
    def run(w: Work) -> dict[str, Any]:
        institution = w.session.get(Institution, code)
        if institution is None or institution.admdvs != region:
            raise HTTPException(404, f"no institution {code} in region {region}")
        if institution.xregion == "none" and body.change in ("opened", "resumed"):
            raise refuse("change", f"{code} has no cross-region qualification (xregion none)")
        row = InstitutionStatusChange(fixmedins_code=code, change=body.change, effective=body.effective,
                                      reported_by=region, recorded_at=w.now, memo=body.memo or None)
        w.session.add(row)
        w.session.flush()
        return _describe(row)

    return in_unit_of_work(request, run)


@router.get("/registry/institutions", summary="Every institution's cross-region status today and its changes")
def registry(request: Request, on: Day | None = None) -> list[dict[str, Any]]:
    """Public: the registry is published (annex 2); `on` asks for the status on another day."""
    def run(w: Work) -> list[dict[str, Any]]:
        day = on or w.today
        changes: dict[str, list[InstitutionStatusChange]] = {}
        for c in w.session.scalars(select(InstitutionStatusChange).order_by(InstitutionStatusChange.id)):
            changes.setdefault(c.fixmedins_code, []).append(c)
        out = []
        for inst in w.session.scalars(select(Institution).where(Institution.xregion != "none")
                                      .order_by(Institution.code)):
            mine = changes.get(inst.code, [])
            out.append({"fixmedins_code": inst.code, "fixmedins_name": inst.name, "admdvs": inst.admdvs,
                        "xregion": inst.xregion, "on": day,
                        "open": agreement_open([(c.effective, c.change) for c in mine], day),
                        "changes": [_describe(c) for c in mine]})
        return out

    return in_unit_of_work(request, run)
