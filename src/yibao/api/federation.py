"""A node's side of its cross-province settlements and clearings, read by the operator's `yibao federation check`
over HTTP (docs/federation.md), so that the check reads no node's database."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from yibao.api.deps import centre, in_unit_of_work
from yibao.platform import federation_check

router = APIRouter(prefix="/api/v1", tags=["federation"])


@router.get("/centre/federation/side",
            summary="This node's side of its cross-province settlements, their inbox and the clearing vouchers")
def side(request: Request, month: str | None = Query(default=None, max_length=7),
         peer: str | None = Query(default=None, max_length=2),
         province: str = Depends(centre)) -> dict[str, Any]:
    """Read only. The centre of a province this node owns (its token); `peer` one other node, `month` YYYY-MM."""
    node = getattr(request.app.state.store, "remote", None)
    if node is None:
        raise HTTPException(404, "this platform is no node of a federation (YIBAO_PROVINCES is not set)")
    if not node.config.owns(province):
        raise HTTPException(403, f"the centre of {province} is not one of this node's provinces")
    return {"node": node.config.name, **in_unit_of_work(
        request, lambda w: federation_check.side(w.session, month, peer))}
