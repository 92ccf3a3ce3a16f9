"""The insured person's pages: his own account, settlements, family mutual aid and cross-region filings."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from yibao.console.web import User, check_csrf, render, require_person

router = APIRouter(prefix="/console/me", dependencies=[Depends(check_csrf)], include_in_schema=False)


@router.get("")
def home(request: Request, user: User = Depends(require_person)) -> Response:
    return render(request, "person/home.html")
