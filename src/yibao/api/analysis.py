"""Analysis rules over HTTP (docs/analysis.md): a region's agency lists, creates and disables its rules, and in
the monthly review sees the lines its rules flag, accepting (a rejection or a deduction) or dismissing each."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from yibao.api.deps import agency, in_unit_of_work
from yibao.api.params import Id, Money
from yibao.platform import analysis as an
from yibao.platform import analysis_review as ar
from yibao.platform.work import Work
from yibao.rules.analysis import RuleDoc

router = APIRouter(prefix="/api/v1", tags=["analysis rules and review suggestions"])


@router.get("/agency/analysis-rules", summary="My region's analysis rules, disabled ones included")
def list_rules(request: Request, region: str = Depends(agency)) -> list[dict[str, Any]]:
    return in_unit_of_work(request, lambda w: [an.describe_rule(r) for r in an.rules_of(w, region)])


@router.post("/agency/analysis-rules", status_code=201, summary="Make a rule of my region")
def create_rule(body: RuleDoc, request: Request, region: str = Depends(agency)) -> dict[str, Any]:
    return in_unit_of_work(request, lambda w: an.describe_rule(an.create_rule(w, region, body)))


@router.post("/agency/analysis-rules/{rule_id}/disable", summary="Disable a rule of my region (kept, flags nothing)")
def disable_rule(request: Request, rule_id: str = Path(max_length=50),
                 region: str = Depends(agency)) -> dict[str, Any]:
    return in_unit_of_work(request, lambda w: an.describe_rule(an.disable_rule(w, region, rule_id)))


@router.get("/agency/declarations/{decl_id}/suggestions",
            summary="The declaration's fee lines my rules flag (flagged afresh while the review is open)")
def suggestions(decl_id: str, request: Request, region: str = Depends(agency)) -> list[dict[str, Any]]:
    return in_unit_of_work(request, lambda w: [ar.describe(s) for s in ar.suggestions(w, region, decl_id)])


class AcceptBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["reject", "deduct"]
    amount: Money | None = Field(None, gt=0, description="deduct only: defaults to the line's amount in violation")
    note: str = Field("", max_length=500)


class DismissBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field("", max_length=500)


@router.post("/agency/suggestions/{suggestion_id}/accept", summary="Accept a suggestion: reject or deduct")
def accept(suggestion_id: Id, body: AcceptBody, request: Request, region: str = Depends(agency)) -> dict[str, Any]:
    def run(w: Work) -> dict[str, Any]:
        sug, rejection = ar.accept(w, region, suggestion_id, body.action, body.amount, body.note)
        return {**ar.describe(sug), "rejection_id": rejection.id if rejection is not None else None}

    return in_unit_of_work(request, run)


@router.post("/agency/suggestions/{suggestion_id}/dismiss", summary="Dismiss a suggestion")
def dismiss(suggestion_id: Id, request: Request, body: DismissBody | None = None,
            region: str = Depends(agency)) -> dict[str, Any]:
    return in_unit_of_work(request, lambda w: ar.describe(ar.dismiss(w, region, suggestion_id,
                                                                     body.note if body else "")))
