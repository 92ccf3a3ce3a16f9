"""The staff desks in a real browser over a real `yibao serve`: a month settled on 2026-03-16 (tests/staff_world.py),
then the institution declares on 2026-04-02, the Shenzhen clerk reviews on 2026-04-11 and the provincial centre
clears on 2026-04-21 — one server per business date, the same database. Each journey signs in, acts, sees the
effect and signs out; nothing leaves 127.0.0.1. With YIBAO_SCREENSHOTS=1 each role's main page is saved into
docs/console/ (institution.png, agency.png, agency-switches.png, agency-whatif.png, centre.png).

揭阳 揭医保〔2021〕82号 art. 25 (declaration and review) and art. 30 (deduction with its reason)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from adversarial.conftest import DATA_KEY, TOKEN_KEY, YIBAO, Process, base_env, free_port, run_cli
from conftest import Opened
from playwright.sync_api import expect
from staff_world import GD, SZ, SZ_H, settled_month

from yibao.store.db import Store

pytestmark = pytest.mark.xdist_group("staff-journeys")  # the journeys follow each other on one database
PASSWORD = "browser-journey-password"
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "console"
DECL = f"D{SZ_H}202603"


@dataclass
class Month:
    """The settled month's database; `steps` are the steps of the cycle done so far, so that a journey run alone
    (-k) first does through the CLI the steps the journeys before it do in the browser."""

    env: dict[str, str]
    tmp: Path
    a: str
    b: str
    steps: set[str] = field(default_factory=set)

    def ensure(self, step: str) -> None:
        if step in self.steps:
            return
        if step == "reviewed":
            self.ensure("declared")
            run_cli(["review", "finish", SZ, DECL], {**self.env, "YIBAO_TODAY": "2026-04-11"})
        else:
            run_cli(["declare", SZ_H, "2026-03"], {**self.env, "YIBAO_TODAY": "2026-04-02"})
        self.steps.add(step)

    def serve(self, today: str) -> Process:
        port = free_port()
        process = Process(f"platform-{today}", [YIBAO, "serve", "--host", "127.0.0.1", "--port", str(port),
                                                "--no-access-log"], {**self.env, "YIBAO_TODAY": today}, port,
                          self.tmp / f"platform-{today}.log")
        process.start()
        return process


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Month]:
    tmp = tmp_path_factory.mktemp("staff-journeys")
    url = f"sqlite:///{tmp / 'platform.db'}"
    env = base_env(YIBAO_DATABASE_URL=url, YIBAO_DEMO="1")
    run_cli(["db", "upgrade"], env)
    with pytest.MonkeyPatch.context() as mp:  # settled in-process with the servers' keys, on the dataset's date
        mp.delenv("YIBAO_TODAY", raising=False)
        mp.setenv("YIBAO_DATA_KEY", DATA_KEY)
        mp.setenv("YIBAO_TOKEN_KEY", TOKEN_KEY)
        store = Store(url)
        done = settled_month(store)
        store.dispose()
    for username, role, scope in (("sz-hosp", "institution", SZ_H), ("sz-clerk", "agency_clerk", SZ),
                                  ("gd-centre", "centre", GD)):
        import subprocess

        added = subprocess.run([YIBAO, "staff", "add", username, "--role", role, "--scope", scope,
                                "--password-stdin"], env=env, input=PASSWORD + "\n", capture_output=True, text=True,
                               timeout=120)
        assert added.returncode == 0, added.stderr[-2000:]
    yield Month(env, tmp, done.a, done.b)


@pytest.fixture
def desk(open_page: Callable[..., Opened]) -> Opened:
    return open_page(1280, 900)


def sign_in(page: Any, url: str, username: str) -> None:
    page.goto(url + "/console/signin")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("link", name="进入").click()


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url("**/console/signin**")


def shot(page: Any, name: str) -> None:
    if os.environ.get("YIBAO_SCREENSHOTS"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / name), full_page=True)


def test_institution_finds_a_settlement_opens_its_slip_and_declares_the_month(month: Month, desk: Opened) -> None:
    server = month.serve("2026-04-02")
    try:
        page = desk.page
        sign_in(page, server.url, "sz-hosp")
        expect(page.get_by_role("link", name=month.b)).to_be_visible()
        shot(page, "institution.png")
        page.get_by_label("人员编号或姓名").fill("深甲")
        page.get_by_role("button", name="查询").click()
        expect(page.get_by_role("link", name=month.b)).to_be_hidden()
        page.get_by_role("link", name=month.a).click()
        page.get_by_role("link", name="打印结算单").click()
        expect(page.get_by_role("heading", name="医疗保障结算单")).to_be_visible()
        expect(page.get_by_text("196.00").first).to_be_visible()
        page.goto(server.url + "/console/institution/declarations")  # the slip is a print page, without tabs
        page.get_by_label("申报月份").fill("2026-03")
        page.get_by_role("button", name="申报").click()
        page.wait_for_url(f"**/declarations/{DECL}")
        expect(page.get_by_text("已申报，待审核")).to_be_visible()  # the effect: the month is declared
        month.steps.add("declared")
        sign_out(page)
        assert desk.blocked == []
    finally:
        server.stop()


def test_clerk_deducts_a_line_finishes_the_review_and_sees_the_allocation(month: Month, desk: Opened) -> None:
    month.ensure("declared")
    server = month.serve("2026-04-11")
    try:
        page = desk.page
        sign_in(page, server.url, "sz-clerk")
        expect(page.get_by_role("link", name=DECL)).to_be_visible()  # waiting on the dashboard
        shot(page, "agency.png")
        page.get_by_role("link", name="审核", exact=True).click()
        page.get_by_role("link", name=DECL).click()
        expect(page.get_by_text("R-QTY").first).to_be_visible()  # the rule's suggestion
        form = page.locator("form[action$='/deduct']")
        form.get_by_label("结算").select_option(month.a)
        form.get_by_label("扣款金额").fill("12.50")
        form.get_by_label("违规原因").fill("超量开药")
        form.get_by_role("button", name="扣款").click()
        expect(page.get_by_text("已扣款。")).to_be_visible()
        expect(page.get_by_role("cell", name="超量开药")).to_be_visible()
        page.get_by_role("button", name="完成审核").click()
        expect(page.get_by_text("审核已完成，拨付计划已生成。")).to_be_visible()
        month.steps.add("reviewed")
        page.get_by_role("link", name="拨付", exact=True).click()
        page.get_by_label("月份").fill("2026-03")
        page.get_by_role("button", name="查看").click()
        expect(page.get_by_text("待拨付").first).to_be_visible()  # the plan the review made
        expect(page.get_by_role("cell", name=DECL).first).to_be_visible()
        page.get_by_role("link", name="统筹区开关").click()  # art. 38: the epidemic benefit off from a date
        form = page.locator("form[action$='/agency/switches']")
        form.get_by_label("开关").select_option("epidemic_outpatient")
        form.get_by_label("变为").select_option("off")
        form.get_by_label("生效日期").fill("2026-05-01")
        form.get_by_label("依据（政策文件、原因）").fill("疫情结束")
        form.get_by_role("button", name="登记").click()
        expect(page.get_by_text("已登记开关变更。")).to_be_visible()
        expect(page.get_by_role("cell", name="staff:sz-clerk")).to_be_visible()
        shot(page, "agency-switches.png")
        page.get_by_role("link", name="政策模拟").click()  # what the month would have cost with no deductible
        page.get_by_label("起始月份（YYYY-MM）").fill("2026-03")
        page.get_by_label("政策调整（CHANGES，YAML）").fill('policies:\n  - {insutype: "310", deductible: "0.00"}\n')
        page.get_by_role("button", name="模拟").click()
        expect(page.get_by_role("heading", name="模拟结果：440300，2026-03")).to_be_visible()
        expect(page.get_by_text("基金影响：统筹基金支付")).to_be_visible()
        shot(page, "agency-whatif.png")
        sign_out(page)
        assert desk.blocked == []
    finally:
        server.stop()


def test_centre_sees_the_voucher_and_clears_the_month(month: Month, desk: Opened) -> None:
    month.ensure("reviewed")
    server = month.serve("2026-04-21")
    try:
        page = desk.page
        sign_in(page, server.url, "gd-centre")
        page.get_by_role("button", name="预付金月度清算").click()
        expect(page.get_by_text("已清算 2 个统筹区的预付金。")).to_be_visible()
        page.get_by_role("button", name="拨付省中心部分").click()
        expect(page.get_by_text("已拨付").first).to_be_visible()
        expect(page.get_by_role("heading", name="异地就医资金账户")).to_be_visible()
        shot(page, "centre.png")
        sign_out(page)
        assert desk.blocked == []
    finally:
        server.stop()
