"""Signing in to the web console and the session's guards: codes for insured persons, passwords for staff,
throttling (429), CSRF (403), idle expiry, sign-out, and refusals as pages in Chinese."""

from __future__ import annotations

from console_world import CHALLENGE, GZ_EMPLOYEE, SZ_CHILD, SZ_EMPLOYEE, ConsoleWorld
from sqlalchemy import func, select

from yibao.platform import console_access as access
from yibao.store.models import ConsoleCode, ConsoleSession


def test_a_person_signs_in_with_his_id_number_and_the_code_sent_to_him(console: ConsoleWorld) -> None:
    b = console.browser()
    b.sign_in_person(*SZ_EMPLOYEE)
    home = b.get("/console/me")
    assert home.status_code == 200 and "张三" in home.text and "我的医保" in home.text
    cookie = b.http.cookies.get("yibao_console")
    assert cookie
    with console.store.unit_of_work() as s:  # only hashes are kept: neither the token nor the code
        assert s.scalar(select(func.count()).select_from(ConsoleSession)
                        .where(ConsoleSession.token_hash == cookie)) == 0
        assert s.scalar(select(func.count()).select_from(ConsoleCode)) == 0  # the code was used up


def test_the_session_cookie_is_httponly_and_samesite_lax(console: ConsoleWorld) -> None:
    b = console.browser()
    b.ask_code(SZ_EMPLOYEE[1])
    challenge = CHALLENGE.search(b.post("/console/signin/person", {"certno": SZ_EMPLOYEE[1]}).text)
    assert challenge
    done = b.post("/console/signin/code", {"challenge": challenge.group(1),
                                           "code": console.sender.last_code(SZ_EMPLOYEE[0])})
    header = done.headers["set-cookie"].lower()
    assert "yibao_console=" in header and "httponly" in header and "samesite=lax" in header
    assert "path=/console" in header and "secure" not in header  # plain http here; https sets Secure


def test_over_https_the_cookie_is_secure_and_pages_forbid_framing_and_scripts(console: ConsoleWorld) -> None:
    from fastapi.testclient import TestClient

    b = console.browser()
    b.http = TestClient(console.app, base_url="https://testserver", follow_redirects=False)
    page = b.get("/console/signin")
    assert "secure" in page.headers["set-cookie"].lower()  # the pre-sign-in CSRF cookie
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'none'" in csp
    assert page.headers["cache-control"] == "no-store"
    challenge = CHALLENGE.search(b.post("/console/signin/person", {"certno": SZ_EMPLOYEE[1]}).text)
    done = b.post("/console/signin/code", {"challenge": challenge.group(1),  # type: ignore[union-attr]
                                           "code": console.sender.last_code(SZ_EMPLOYEE[0])})
    assert done.status_code == 303 and "secure" in done.headers["set-cookie"].lower()


def test_an_unknown_id_number_gets_the_same_page_and_no_code(console: ConsoleWorld) -> None:
    b = console.browser()
    unknown = b.ask_code("110101199003070011")
    assert unknown.status_code == 200 and "输入验证码" in unknown.text
    assert not console.sender.outbox.exists()  # type: ignore[union-attr]


def test_a_malformed_id_number_is_refused_on_the_form(console: ConsoleWorld) -> None:
    refused = console.browser().ask_code("12345")
    assert refused.status_code == 422 and "身份证号码格式不正确" in refused.text


def test_a_wrong_code_is_refused_and_the_code_ends_after_five_wrong_entries(console: ConsoleWorld) -> None:
    b = console.browser()
    challenge = CHALLENGE.search(b.ask_code(SZ_EMPLOYEE[1]).text).group(1)  # type: ignore[union-attr]
    right = console.sender.last_code(SZ_EMPLOYEE[0])
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(access.CODE_MAX_ATTEMPTS):
        refused = b.post("/console/signin/code", {"challenge": challenge, "code": wrong})
        assert refused.status_code == 401 and "验证码错误或已过期" in refused.text
    throttled = b.post("/console/signin/code", {"challenge": challenge, "code": right})
    assert throttled.status_code == 429 and "Retry-After" in throttled.headers
    assert "尝试次数过多" in throttled.text


def test_an_expired_code_does_not_sign_in(console: ConsoleWorld) -> None:
    b = console.browser()
    challenge = CHALLENGE.search(b.ask_code(SZ_EMPLOYEE[1]).text).group(1)  # type: ignore[union-attr]
    console.clock.advance(access.CODE_LIFE_S + 1)
    late = b.post("/console/signin/code", {"challenge": challenge,
                                           "code": console.sender.last_code(SZ_EMPLOYEE[0])})
    assert late.status_code == 401


def test_asking_for_codes_too_often_is_throttled(console: ConsoleWorld) -> None:
    b = console.browser()
    for _ in range(5):
        assert b.ask_code(SZ_CHILD[1]).status_code == 200
    again = b.ask_code(SZ_CHILD[1])
    assert again.status_code == 429 and int(again.headers["Retry-After"]) > 0


def test_staff_sign_in_with_a_password_and_wrong_ones_are_throttled(console: ConsoleWorld) -> None:
    console.add_staff("sz-clerk", "agency_clerk", "440300")
    b = console.browser()
    for _ in range(5):
        wrong = b.sign_in_staff("sz-clerk", "not-the-password")
        assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
    locked = b.sign_in_staff("sz-clerk")
    assert locked.status_code == 429 and "尝试次数过多" in locked.text  # even the right password waits


def test_staff_sign_in_lands_on_the_staff_home_with_role_and_scope(console: ConsoleWorld) -> None:
    console.add_staff("sz-admin", "agency_admin", "440300")
    b = console.browser()
    done = b.sign_in_staff("sz-admin")
    assert done.status_code == 303 and done.headers["location"] == "/console/staff"
    home = b.get("/console/staff")
    assert home.status_code == 200 and "经办机构管理员" in home.text and "440300" in home.text


def test_a_post_without_the_csrf_token_is_refused_with_a_403_page(console: ConsoleWorld) -> None:
    b = console.browser()
    b.sign_in_person(*SZ_EMPLOYEE)
    refused = b.post("/console/signout", csrf=False)
    assert refused.status_code == 403 and "CSRF" in refused.text and "<html" in refused.text
    forged = b.post("/console/signout", {"csrf": "forged"}, csrf=False)
    assert forged.status_code == 403
    assert b.get("/console/me").status_code == 200  # still signed in: nothing was done
    anonymous = console.browser().post("/console/signin/staff", {"username": "x", "password": "y"}, csrf=False)
    assert anonymous.status_code == 403


def test_a_session_idle_past_its_limit_ends(console: ConsoleWorld) -> None:
    b = console.browser()
    b.sign_in_person(*SZ_EMPLOYEE)
    console.clock.advance(access.SESSION_IDLE_S - 1)
    assert b.get("/console/me").status_code == 200  # each page restarts the idle time
    console.clock.advance(access.SESSION_IDLE_S - 1)
    assert b.get("/console/me").status_code == 200
    console.clock.advance(access.SESSION_IDLE_S + 1)
    gone = b.get("/console/me")
    assert gone.status_code == 303 and gone.headers["location"] == "/console/signin"


def test_sign_out_ends_the_session_on_the_server(console: ConsoleWorld) -> None:
    b = console.browser()
    b.sign_in_person(*SZ_EMPLOYEE)
    cookie = b.http.cookies.get("yibao_console")
    out = b.post("/console/signout")
    assert out.status_code == 303 and out.headers["location"] == "/console/signin"
    replay = console.browser()
    replay.http.cookies.set("yibao_console", cookie or "", path="/console")
    assert replay.get("/console/me").status_code == 303  # the old cookie opens nothing


def test_roles_are_kept_apart(console: ConsoleWorld) -> None:
    console.add_staff("gz-inst", "institution", "H44010000001")
    staff = console.browser()
    staff.sign_in_staff("gz-inst")
    assert staff.get("/console/me").status_code == 403
    person = console.browser()
    person.sign_in_person(*GZ_EMPLOYEE)
    refused = person.get("/console/staff")
    assert refused.status_code == 403 and "无权" in refused.text


def test_unknown_pages_are_pages_in_chinese_and_the_api_keeps_its_problem_shape(console: ConsoleWorld) -> None:
    b = console.browser()
    missing = b.get("/console/nowhere")
    assert missing.status_code == 404 and "页面不存在" in missing.text
    assert missing.headers["content-type"].startswith("text/html")
    api = b.get("/api/v1/me/filings")
    assert api.status_code == 401 and api.headers["content-type"] == "application/problem+json"


def test_staff_accounts_check_their_role_and_scope(console: ConsoleWorld) -> None:
    import pytest

    from yibao.errors import Refusal
    from yibao.platform.work import working

    with working(console.store) as w:
        for role, scope, field in (("agency_clerk", "999999", "scope"), ("institution", "H0", "scope"),
                                   ("centre", "440300", "scope"), ("cashier", "440300", "role")):
            with pytest.raises(Refusal, match=f"^{field}:"):
                access.add_staff(w.session, "someone", role, scope, "long-enough-pw", now=w.now, created_by="t")
        with pytest.raises(Refusal, match="^password:"):
            access.add_staff(w.session, "someone", "centre", "440000", "short", now=w.now, created_by="t")
