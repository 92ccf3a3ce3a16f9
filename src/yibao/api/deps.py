"""Authentication and error mapping shared by the API routers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TypeVar

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yibao.api.tokens import BadToken, Principal, signing_key, verify
from yibao.clock import business_date, business_now
from yibao.errors import Refusal
from yibao.store.conflicts import conflict_rule
from yibao.store.db import Store

bearer = HTTPBearer(auto_error=False)
T = TypeVar("T")


def store_of(request: Request) -> Store:
    return request.app.state.store


def principal(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Principal:
    if creds is None:
        raise HTTPException(401, "a bearer token is required (yibao token person PSN_NO / agency ADMDVS)")
    store = store_of(request)
    key = getattr(request.app.state, "token_key", None) or signing_key(store)
    request.app.state.token_key = key
    try:
        return verify(key, creds.credentials)
    except BadToken as exc:
        raise HTTPException(401, str(exc)) from None


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


class Work:
    """A unit of work with the business clock, for one API request."""

    def __init__(self, session: Session, today: date, now: datetime):
        self.session, self.today, self.now = session, today, now


def in_unit_of_work(request: Request, fn: Callable[[Work], T]) -> T:
    """Run `fn` in one transaction, committed before the answer is sent; a Refusal rolls it back."""
    store = store_of(request)
    try:
        with store.unit_of_work() as session:
            stored = store.stored_today(session)
            return fn(Work(session, business_date(stored), business_now(stored)))
    except IntegrityError as exc:  # a concurrent twin of this request committed first
        rule = conflict_rule(exc)
        if rule is None:
            raise
        raise Refusal(rule, http_status=409) from None
