"""What-if over HTTP (docs/whatif.md): an agency replays its own region's month under changed policy."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from yibao.api.deps import agency, in_unit_of_work
from yibao.whatif import changes as whatif_changes
from yibao.whatif import whatif

router = APIRouter(prefix="/api/v1", tags=["what-if policy simulation"])


class WhatIfBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    month: str = Field(max_length=7, description="the (first) month replayed, YYYY-MM")
    months: int = Field(1, ge=1, le=12, description="how many consecutive months from `month` are replayed as one "
                                                    "period, accumulators carried from month to month")
    region: str | None = Field(None, max_length=6, description="optional: must be the token's own region")
    changes: dict[str, Any] | None = Field(None, description="the CHANGES.yaml document as JSON (docs/whatif.md); "
                                                             "absent or empty: replay unchanged")
    top: int = Field(10, ge=0, le=1000, description="how many of the largest changes to list")


@router.post("/agency/whatif", summary="My region's month replayed under changed policy: before and after "
                                       "(read only)")
def what_if(body: WhatIfBody, request: Request, region: str = Depends(agency)) -> dict[str, Any]:
    if body.region is not None and body.region != region:
        raise HTTPException(403, f"region: an agency simulates its own region {region}, not {body.region}")
    parsed = whatif_changes.parse(body.changes)
    return in_unit_of_work(request, lambda w: whatif(w.session, region, body.month, parsed, months=body.months,
                                                     top=body.top))
