"""What-if over HTTP (docs/whatif.md): an agency replays its own region's month under changed policy; the answer
is the JSON report, or the same run as an xlsx workbook or a PDF with charts (`?format=`)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from yibao.api.deps import agency, in_unit_of_work
from yibao.reports import whatif_render
from yibao.whatif import changes as whatif_changes
from yibao.whatif import render, whatif
from yibao.whatif.report import BREAKDOWNS

router = APIRouter(prefix="/api/v1", tags=["what-if policy simulation"])
Format = Literal["json", "xlsx", "pdf"]


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
                                       "(read only); ?format=xlsx or pdf for the same run as a file")
def what_if(body: WhatIfBody, request: Request, format: Format = "json",
            region: str = Depends(agency)) -> Any:
    if body.region is not None and body.region != region:
        raise HTTPException(403, f"region: an agency simulates its own region {region}, not {body.region}")
    parsed = whatif_changes.parse(body.changes)
    report = in_unit_of_work(request, lambda w: whatif(w.session, region, body.month, parsed, months=body.months,
                                                       top=body.top), read=True)
    if format == "json":
        return report
    content = render.as_xlsx(report) if format == "xlsx" else whatif_render.as_pdf(report, BREAKDOWNS)
    name = whatif_render.file_name(report, format)
    return Response(content, media_type=whatif_render.MEDIA[format],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
