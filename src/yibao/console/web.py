"""What every console page uses: who is signed in (`require_person`, `require_staff`), running a use case for him
(`in_work`), rendering a page (`render`), refusing with a page (`PageError`) and the CSRF check of every form.

A session is kept server-side (platform/console_access.py): the cookie holds a random token (HttpOnly,
SameSite=Lax, Secure over https, path /console); each session has its CSRF token, which every POST must carry
in the form field `csrf`. Before sign-in, the forms carry the token of a cookie of their own (double submit).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import IntegrityError

from yibao.errors import Refusal
from yibao.platform import console_access as access
from yibao.platform.work import Caller, Work, working
from yibao.store.conflicts import conflict_rule
from yibao.store.db import Store
from yibao.store.models import ConsoleStaff, Institution, Person
from yibao.throttle import SignInThrottle

T = TypeVar("T")
PREFIX = "/console"
COOKIE = "yibao_console"
PRE_COOKIE = "yibao_console_csrf"
#: a row's id in a page's path: a positive 32-bit integer (a larger one is a 422 page, never a database error)
RowId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
NOTICES = {"bound": "已建立共济授权。", "changed": "已保存修改。", "unbound": "已解除授权，新的结算不再使用该授权。",
           "filed": "备案已提交。", "cancelled": "备案已撤销，自现在起不再适用。"}
#: every page: no script or style but the console's own, never framed, forms only to the console, not cached
PAGE_HEADERS = {"Content-Security-Policy": "default-src 'self'; script-src 'none'; frame-ancestors 'none'; "
                                           "form-action 'self'; base-uri 'none'",
                "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "Cache-Control": "no-store"}
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
ROLE_NAMES = {"agency_clerk": "经办机构经办员", "agency_admin": "经办机构管理员", "institution": "定点医药机构",
              "centre": "省级结算中心", "person": "参保人"}
TEMPLATES.env.globals["role_names"] = ROLE_NAMES


class PageError(Exception):
    """A refusal shown as a page in Chinese (403, 404, 429...), with the status."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


class SignInNeeded(Exception):
    """Not signed in (or the session expired): the page redirects to the sign-in page."""


@dataclass(frozen=True)
class User:
    """Who is signed in. kind person (subject: psn_no, scope: his insured region) or staff (subject: username;
    role and scope from his account)."""

    kind: str
    subject: str
    role: str
    scope: str
    name: str
    csrf: str

    @property
    def caller(self) -> Caller:
        if self.kind == "person":
            return Caller("person", self.subject)
        kind = {"agency_clerk": "agency", "agency_admin": "agency"}.get(self.role, self.role)
        return Caller(kind, self.scope, opter=self.subject, opter_name=self.subject)

    @property
    def actor(self) -> str:
        """How the use cases record who acted (e.g. `person:PSN`, `agency:440300`)."""
        return f"{self.caller.kind}:{self.caller.subject}"


@dataclass
class Console:
    """The console's state on the app (app.state.console): the wall clock of sessions and codes (tests set a
    fixed one), the code sender, and the throttles of sign-in, of sending codes and of entering them."""

    store: Store
    sender: Any  # sender.CodeSender
    clock: Callable[[], int] = field(default=lambda: int(time.time()))
    staff_signin: SignInThrottle = field(default_factory=lambda: SignInThrottle("console staff"))
    code_request: SignInThrottle = field(default_factory=lambda: SignInThrottle("console code request"))
    code_entry: SignInThrottle = field(default_factory=lambda: SignInThrottle("console code entry"))


def console_of(request: Request) -> Console:
    return request.app.state.console


def address(request: Request) -> str:
    return request.client.host if request.client else ""


# -- who is signed in ------------------------------------------------------------------------------------------

def current_user(request: Request) -> User | None:
    """The signed-in user of the request, or None; read once per request."""
    if hasattr(request.state, "console_user"):
        return request.state.console_user
    console, token, user = console_of(request), request.cookies.get(COOKIE, ""), None
    if token:
        with console.store.unit_of_work() as s:
            row = access.find_session(s, token, now_s=console.clock())
            if row is not None and row.kind == "person":
                person = s.get(Person, row.subject)
                if person is not None:
                    user = User("person", person.psn_no, "person", person.admdvs, person.name, row.csrf)
            elif row is not None:
                staff = s.get(ConsoleStaff, row.subject)
                if staff is not None and staff.active:
                    user = User("staff", staff.username, staff.role, staff.scope, staff.username, row.csrf)
    request.state.console_user = user
    return user


def require_user(request: Request) -> User:
    user = current_user(request)
    if user is None:
        raise SignInNeeded()
    return user


def require_person(user: User = Depends(require_user)) -> User:
    """A dependency: the signed-in insured person (his own pages only)."""
    if user.kind != "person":
        raise PageError(403, "此页面仅供参保人本人使用。")
    return user


def require_staff(*roles: str) -> Callable[..., User]:
    """A dependency factory: the signed-in staff member, of one of `roles` (any staff role when none named)."""

    def dependency(user: User = Depends(require_user)) -> User:
        if user.kind != "staff" or (roles and user.role not in roles):
            raise PageError(403, "您的账号无权使用此页面。")
        return user

    return dependency


# -- CSRF --------------------------------------------------------------------------------------------------------

def csrf_token(request: Request) -> str:
    """The token the page's forms carry: the session's, or before sign-in the pre-session cookie's (made now
    when missing; `render` sets the cookie)."""
    user = current_user(request)
    if user is not None:
        return user.csrf
    token = request.cookies.get(PRE_COOKIE) or getattr(request.state, "new_pre_csrf", "")
    if not token:
        token = request.state.new_pre_csrf = secrets.token_urlsafe(24)
    return token


async def check_csrf(request: Request) -> None:
    """A dependency of every console router: a POST without the right `csrf` form field is refused (403 page)."""
    if request.method != "POST":
        return
    form = await request.form()
    if any("\x00" in str(value) for value in form.values()):  # text no database stores: refused, not failed on
        raise PageError(422, "提交的内容含有不允许的控制字符。")
    sent = str(form.get("csrf", ""))
    user = current_user(request)
    expected = user.csrf if user is not None else request.cookies.get(PRE_COOKIE, "")
    if not sent or not expected or not secrets.compare_digest(sent, expected):
        raise PageError(403, "表单已失效或来源不明（缺少或错误的 CSRF 令牌）。请返回上一页刷新后重试。")


# -- running use cases and answering -----------------------------------------------------------------------------

def in_work(request: Request, user: User | None, fn: Callable[[Work], T], *, read: bool = False) -> T:
    """Run `fn` in one unit of work on the business clock as `user` (committed when it returns; a Refusal rolls
    it back and reaches the caller, which shows it on the form)."""
    caller = user.caller if user is not None else Caller("system", "console")
    try:
        with working(console_of(request).store, caller, read=read) as work:
            if caller.kind == "institution":
                work.institution = work.session.get(Institution, caller.subject)
            return fn(work)
    except IntegrityError as exc:  # a concurrent twin of this request committed first
        rule = conflict_rule(exc)
        if rule is None:
            raise
        raise Refusal(rule, http_status=409) from None


def attempt(request: Request, user: User | None, fn: Callable[[Work], T]) -> tuple[T | None, str]:
    """(result, "") or (None, the refusal's text): for a form that shows why it was refused."""
    try:
        return in_work(request, user, fn), ""
    except Refusal as exc:
        return None, exc.err_msg


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    user = current_user(request)
    done = request.query_params.get("done", "").split("-")[0]
    context = {"user": user, "csrf": csrf_token(request), "prefix": PREFIX, "notice": NOTICES.get(done, ""),
               **context}
    response = TEMPLATES.TemplateResponse(request, template, context, status_code=status)
    response.headers.update(PAGE_HEADERS)
    new = getattr(request.state, "new_pre_csrf", "")
    if new:
        set_cookie(request, response, PRE_COOKIE, new)
    return response


def redirect(path: str) -> RedirectResponse:
    """After a POST: see the result with a GET (303), so that reloading does not send the form again."""
    return RedirectResponse(path, status_code=303)


def set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    response.set_cookie(name, value, httponly=True, samesite="lax", secure=request.url.scheme == "https",
                        path=PREFIX)


def mask_certno(certno: str) -> str:
    return certno[:4] + "*" * max(0, len(certno) - 8) + certno[-4:] if len(certno) > 8 else certno
