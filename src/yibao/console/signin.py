"""Signing in and out: staff with username and password; insured persons with their ID number and a one-time code
sent to them. Every failure is throttled (yibao.throttle: per account or code, and per client address): past
the limit a 429 page says when to try again, and nothing is checked meanwhile."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from yibao.console.web import (
    COOKIE,
    PageError,
    address,
    attempt,
    check_csrf,
    console_of,
    current_user,
    in_work,
    redirect,
    render,
    set_cookie,
)
from yibao.platform import console_access as access
from yibao.platform.work import Work
from yibao.throttle import SignInThrottle, Throttled

router = APIRouter(prefix="/console", dependencies=[Depends(check_csrf)], include_in_schema=False)


def _home(kind: str) -> str:
    return "/console/me" if kind == "person" else "/console/staff"


def _check(throttle: SignInThrottle, credential: str, request: Request) -> None:
    try:
        throttle.check(credential, address(request))
    except Throttled as exc:
        minutes = max(1, (exc.retry_after + 59) // 60)
        raise PageError(429, f"尝试次数过多，请约 {minutes} 分钟后再试。",
                        headers={"Retry-After": str(exc.retry_after)}) from None


def _signed_in(request: Request, kind: str, subject: str) -> Response:
    console = console_of(request)
    token = in_work(request, None, lambda w: access.open_session(w.session, kind, subject, now_s=console.clock()))
    response = redirect(_home(kind))
    set_cookie(request, response, COOKIE, token)
    return response


@router.get("/")
@router.get("")
def start(request: Request) -> Response:
    user = current_user(request)
    return redirect(_home(user.kind)) if user is not None else redirect("/console/signin")


@router.get("/signin")
def signin_page(request: Request) -> Response:
    return render(request, "signin.html", can_send=console_of(request).sender is not None)


@router.post("/signin/staff")
def staff_signin(request: Request, username: str = Form("", max_length=40),
                 password: str = Form("", max_length=200)) -> Response:
    console = console_of(request)
    username = username.strip()
    _check(console.staff_signin, username, request)
    staff = in_work(request, None, lambda w: access.verify_staff(w.session, username, password))
    if staff is None:
        console.staff_signin.failed(username, address(request))
        return render(request, "signin.html", 401, can_send=console.sender is not None, username=username,
                      staff_error="用户名或密码错误，或账号已停用。")
    console.staff_signin.succeeded(username, address(request))
    return _signed_in(request, "staff", staff.username)


@router.post("/signin/person")
def person_code(request: Request, certno: str = Form("", max_length=18)) -> Response:
    """Sends a code when the number is an insured person's; the page is the same when it is not."""
    console = console_of(request)
    if console.sender is None:
        raise PageError(503, "短信验证码通道未配置，参保人暂不能在线登录。")
    certno = certno.strip().upper()
    _check(console.code_request, certno, request)
    now = console.clock()

    def issue(w: Work) -> access.IssuedCode:
        access.prune(w.session, now_s=now)
        return access.issue_code(w.session, certno, now_s=now)

    issued, error = attempt(request, None, issue)
    if issued is None:
        return render(request, "signin.html", 422, can_send=True, certno=certno,
                      person_error="身份证号码格式不正确（18 位，最后一位可为 X）。", detail=error)
    console.code_request.failed(certno, address(request))  # every code sent counts: a number is not flooded
    if issued.person is not None:
        console.sender.send(issued.person.psn_no, issued.person.name, issued.code)
    return render(request, "code.html", challenge=issued.challenge, minutes=access.CODE_LIFE_S // 60)


@router.post("/signin/code")
def code_signin(request: Request, challenge: str = Form("", max_length=64),
                code: str = Form("", max_length=12)) -> Response:
    console = console_of(request)
    _check(console.code_entry, challenge, request)
    psn_no = in_work(request, None, lambda w: access.redeem_code(w.session, challenge, code, now_s=console.clock()))
    if psn_no is None:
        console.code_entry.failed(challenge, address(request))
        return render(request, "code.html", 401, challenge=challenge, minutes=access.CODE_LIFE_S // 60,
                      error="验证码错误或已过期。可重新获取验证码。")
    console.code_entry.succeeded(challenge, address(request))
    return _signed_in(request, "person", psn_no)


@router.post("/signout")
def signout(request: Request) -> Response:
    token = request.cookies.get(COOKIE, "")
    in_work(request, None, lambda w: access.end_session(w.session, token))
    response = redirect("/console/signin")
    response.delete_cookie(COOKIE, path="/console")
    return response
