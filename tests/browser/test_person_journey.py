"""An insured person's journey in the web console on a phone (390 px wide), in a real browser against a real
server: sign in with his ID number and the code sent to him, bind a relative after accepting the commitment, see
it, unbind it, file for treatment elsewhere, sign out. Nothing leaves 127.0.0.1 and no page is wider than the
phone. With YIBAO_SCREENSHOTS=<folder> (make screenshots) the person's main page is saved there as person.png."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from browser_world import DEMO_PERSON, Opened, Served

RELATIVE = {"certno": "440303195811301107", "name": "刘秀英"}  # examples/demo.yaml: resident insurance, Shenzhen


def fits(page: object) -> bool:
    """The page scrolls vertically only: nothing sticks out of the phone's width."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))  # type: ignore[attr-defined]


def settled(page: object, notice: str) -> None:
    """The form's answer: the notice expected, or the refusal shown instead (the failure says which)."""
    page.wait_for_selector(".notice, .refusal")  # type: ignore[attr-defined]
    refusal = page.locator(".refusal")  # type: ignore[attr-defined]
    assert refusal.count() == 0, refusal.inner_text()
    assert notice in page.inner_text(".notice")  # type: ignore[attr-defined]


def test_a_person_binds_unbinds_files_and_signs_out_on_a_phone(platform_server: Served,
                                                               open_page: Callable[..., Opened]) -> None:
    opened = open_page(390, 844)
    page = opened.page
    page.goto(platform_server.url + "/console/")
    page.fill("input[name=certno]", DEMO_PERSON["certno"])
    page.click("button:has-text('获取验证码')")
    page.wait_for_selector("text=输入验证码")
    page.fill("input[name=code]", platform_server.last_code(DEMO_PERSON["psn_no"]))
    page.click("button:has-text('登录')")
    page.wait_for_selector(f"h1:has-text('{DEMO_PERSON['name']}')")
    assert "¥ 150.00" in page.inner_text("main") and fits(page)
    shots = os.environ.get("YIBAO_SCREENSHOTS", "")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(shots) / "person.png"), full_page=True)

    page.click("nav >> text=家庭共济")
    page.fill("input[name=certno]", RELATIVE["certno"])
    page.fill("input[name=name]", RELATIVE["name"])
    page.select_option("select[name=relation]", "mother")
    page.fill("input[name=quota]", "100.00")
    assert "确认承诺书" in page.inner_text(".commitment")
    page.check("input[name=accepted]")
    page.click("button:has-text('同意并授权')")
    settled(page, "已建立共济授权")
    assert fits(page)
    page.click(f"table >> text={RELATIVE['name']}")
    page.wait_for_selector("text=修改额度或期限")
    assert "母亲" in page.inner_text("main") and fits(page)
    page.click("button:has-text('解除授权')")
    settled(page, "已解除授权")
    assert "已解除" in page.inner_text("table")

    page.click("nav >> text=异地备案")
    page.select_option("select[name=type]", "long_term_resident")
    page.fill("input[name=place]", "440100")
    page.fill("input[name=end]", "2026-12-31")
    page.click("button:has-text('提交备案')")
    settled(page, "备案已提交")
    row = page.inner_text("table")
    assert "异地长期居住" in row and "广州市" in row and "2026-03-16 至 2026-12-31" in row and fits(page)

    page.click("button:has-text('退出登录')")
    page.wait_for_selector("text=工作人员登录")
    page.goto(platform_server.url + "/console/me")
    assert page.url.endswith("/console/signin")  # the session ended on the server
    assert opened.blocked == []
