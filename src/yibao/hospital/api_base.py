"""What every router of the hospital's API shares (api.py, api_deposit.py, api_settlements.py): the JSON form of
an answer (amounts as decimal strings, never floats), strict input models, a refusal as a problem (RFC 9457),
and who is asking (the bearer token, auth.py)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict

from yibao import problem
from yibao.hospital import auth
from yibao.hospital.auth import BadToken, Principal
from yibao.hospital.errors import HospitalError, not_found


def plain(obj: Any) -> Any:
    """JSON-ready: decimals as their text, times as yyyy-MM-dd HH:mm:ss."""
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, datetime):
        return obj.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [plain(v) for v in obj]
    return obj


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def problem_of(request: Request, exc: HospitalError) -> JSONResponse:
    """A HospitalError as a problem; a 401 says which scheme to use (RFC 9110)."""
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return problem.problem(exc.status, exc.message, kind="refused" if exc.status == 422 else None,
                           instance=request.url.path, headers=headers)


bearer = HTTPBearer(auto_error=False, description="a hospital token: `yibao hospital token-staff OPERATOR`, "
                                                 "`token-patient PATIENT_ID`, or POST /auth/patient")


def token_key(app: FastAPI) -> bytes:
    """The hospital's signing key, read once per app."""
    if getattr(app.state, "token_key", None) is None:
        app.state.token_key = auth.signing_key(app.state.hospital)
    return app.state.token_key  # type: ignore[no-any-return]


def who(request: Request, cred: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Principal:
    """The caller named by the bearer token: 401 without one, or with a bad or expired one."""
    if cred is None:
        raise HospitalError(401, "authorization: a bearer token is required")
    try:
        return auth.verify(token_key(request.app), cred.credentials)
    except BadToken as exc:
        raise HospitalError(401, f"authorization: {exc}") from None


def staff_only(p: Annotated[Principal, Depends(who)]) -> Principal:
    """The HIS's operations, the sweep, reconciliation and clearing: 403 for a patient."""
    if not p.staff:
        raise HospitalError(403, "authorization: for staff only (the HIS, the cashier, the terminals)")
    return p


Who = Annotated[Principal, Depends(who)]
Staff = Annotated[Principal, Depends(staff_only)]



def own(p: Principal, owner: int | None, unknown: str) -> None:
    """A patient reaches only his own things: another's is answered as an unknown one (404)."""
    if not p.staff and (owner is None or owner != p.patient_id):
        raise not_found(unknown)
