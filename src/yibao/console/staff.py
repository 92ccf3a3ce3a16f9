"""Staff pages: the home page of a signed-in staff member (the pages of each role hang from it)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from yibao.console.web import User, check_csrf, render, require_staff

router = APIRouter(prefix="/console/staff", dependencies=[Depends(check_csrf)], include_in_schema=False)


@router.get("")
def home(request: Request, user: User = Depends(require_staff())) -> Response:
    return render(request, "staff/home.html")
