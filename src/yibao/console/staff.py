"""Staff pages: the home page of a signed-in staff member leads to his role's desk."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from yibao.console.web import User, check_csrf, render, require_staff

DESKS = {"institution": "/console/institution", "agency_clerk": "/console/agency", "agency_admin": "/console/agency",
         "centre": "/console/centre"}
router = APIRouter(prefix="/console/staff", dependencies=[Depends(check_csrf)], include_in_schema=False)


@router.get("")
def home(request: Request, user: User = Depends(require_staff())) -> Response:
    return render(request, "staff/home.html", desk=DESKS.get(user.role, "/console/agency"))
