"""Authentication and error mapping shared by the API routers."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import IntegrityError

from yibao.api.tokens import BadToken, Principal, signing_key, verify
from yibao.errors import Refusal
from yibao.platform.work import SYSTEM, Caller, Work, working
from yibao.store.conflicts import conflict_rule
from yibao.store.db import Store

bearer = HTTPBearer(auto_error=False)
T = TypeVar("T")
#: RFC 9110: a 401 names the scheme the client should authenticate with
CHALLENGE = {"WWW-Authenticate": "Bearer"}


def store_of(request: Request) -> Store:
    return request.app.state.store


def principal(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Principal:
    if creds is None:
        raise HTTPException(401, "a bearer token is required (yibao token person PSN_NO / agency ADMDVS)",
                            headers=CHALLENGE)
    store = store_of(request)
    key = getattr(request.app.state, "token_key", None) or signing_key(store)
    request.app.state.token_key = key
    try:
        who = verify(key, creds.credentials)
    except BadToken as exc:
        raise HTTPException(401, str(exc), headers=CHALLENGE) from None
    request.state.principal = who
    return who


def person(p: Principal = Depends(principal)) -> str:
    if p.kind != "person":
        raise HTTPException(403, "this operation is an insured person's own")
    return p.subject


def agency(p: Principal = Depends(principal)) -> str:
    if p.kind != "agency":
        raise HTTPException(403, "this operation is for agency staff")
    return p.subject


def institution(p: Principal = Depends(principal)) -> str:
    if p.kind != "institution":
        raise HTTPException(403, "this operation is an institution's own")
    return p.subject


def centre(p: Principal = Depends(principal)) -> str:
    if p.kind != "centre":
        raise HTTPException(403, "this operation is for the provincial centre")
    return p.subject


def in_unit_of_work(request: Request, fn: Callable[[Work], T], *, read: bool = False) -> T:
    """Run `fn` with the request's Work in one transaction, committed before the answer is sent; a Refusal rolls
    it back. The caller is the token's principal (set by `principal`)."""
    who: Principal | None = getattr(request.state, "principal", None)
    caller = Caller(who.kind, who.subject) if who is not None else SYSTEM
    try:
        with working(store_of(request), caller, read=read) as work:
            return fn(work)
    except IntegrityError as exc:  # a concurrent twin of this request committed first
        rule = conflict_rule(exc)
        if rule is None:
            raise
        raise Refusal(rule, http_status=409) from None
