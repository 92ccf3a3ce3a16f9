"""The published registry of institutions' cross-region agreements (seed 004 art. 21, annex 2)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from yibao.api.deps import agency, in_unit_of_work
from yibao.api.params import Day
from yibao.platform import agreements as ag

router = APIRouter(prefix="/api/v1", tags=["institution registry"])


class ChangeIn(BaseModel):
    change: str = Field(pattern=r"^(opened|suspended|resumed|ended)$")
    effective: Day
    memo: str = Field(default="", max_length=500)


@router.post("/agency/institutions/{code}/agreement", status_code=201,
             summary="Report a change of an institution's cross-region agreement, effective from a date")
def report(code: str, body: ChangeIn, request: Request, region: str = Depends(agency)) -> dict[str, Any]:
    return in_unit_of_work(request, lambda w: ag.describe(ag.report(w, region, code, body.change, body.effective,
                                                                    body.memo)))


@router.get("/registry/institutions", summary="Every institution's cross-region status today and its changes")
def registry(request: Request, on: Day | None = None) -> list[dict[str, Any]]:
    """Public: the registry is published (annex 2); `on` asks for the status on another day."""
    return in_unit_of_work(request, lambda w: ag.registry(w, on or w.today))
