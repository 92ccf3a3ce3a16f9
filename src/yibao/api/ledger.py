"""The pooled funds' books over HTTP: an agency reads its own region's trial balance (docs/ledger.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from yibao.api.deps import agency, in_unit_of_work
from yibao.platform import trial_balance as tb

router = APIRouter(prefix="/api/v1", tags=["pooled-fund ledger"])


@router.get("/agency/ledger/trial-balance", summary="My region's fund: the trial balance of a month and its ties")
def trial_balance(month: Annotated[str, Query(max_length=7, description="the month, YYYY-MM")], request: Request,
                  region: str = Depends(agency)) -> dict[str, Any]:
    return in_unit_of_work(request, lambda w: tb.trial_balance(w.session, region, tb.month_of(month)))
