"""The insured person's pages of the web console: his account, settlements and slips, family mutual aid (bind with
the commitment, the region's rules refused in plain words, change, unbind, usage) and cross-region filing (file,
change, cancel), each his own only. The rules are the use cases'; these tests check the pages reach them."""

from __future__ import annotations

import re

import yaml
from console_world import GZ_EMPLOYEE, SZ_CHILD, SZ_EMPLOYEE, Browser, ConsoleWorld
from helpers import WORLD, Platform
from sqlalchemy import select, update
from test_bank import settle

from yibao.dataset.loader import load_document
from yibao.store.models import Account, Filing, MutualAidAuthorization

TY_EMPLOYEE = ("14010000000000000001", "140101197001011014")  # 赵六, Taiyuan: authorizer_min_balance 1000.00


def signed_in(console: ConsoleWorld, who: tuple[str, str]) -> Browser:
    b = console.browser()
    b.sign_in_person(*who)
    return b


def grant_ids(console: ConsoleWorld, authorizer: str) -> list[int]:
    with console.store.unit_of_work() as s:
        return list(s.scalars(select(MutualAidAuthorization.id).where(
            MutualAidAuthorization.authorizer == authorizer, MutualAidAuthorization.status == "active")
            .order_by(MutualAidAuthorization.id)))


def test_the_home_page_shows_his_balance_his_grants_and_his_journal(console: ConsoleWorld) -> None:
    b = signed_in(console, SZ_EMPLOYEE)
    home = b.get("/console/me")
    assert "¥ 500.00" in home.text and "我授权 1 人" in home.text and "期初余额" in home.text
    assert "4403**********1234" in home.text  # his ID number masked
    account = b.get("/console/me/account")
    assert account.status_code == 200 and "500.00" in account.text


def test_his_settlement_and_its_slip_are_his_alone(console: ConsoleWorld) -> None:
    setl = settle(Platform(console.store).client(), "C1")
    b = signed_in(console, SZ_EMPLOYEE)
    listed = b.get("/console/me/settlements")
    assert f"/console/me/settlements/{setl['setl_id']}" in listed.text
    slip = b.get(f"/console/me/settlements/{setl['setl_id']}")
    assert slip.status_code == 200 and "医保结算单" in slip.text and str(setl["medfee_sumamt"]) in slip.text
    assert "药品甲" in slip.text or "EX-DRUG-A" in slip.text
    journal = b.get("/console/me/account")
    assert "本人就医支付" in journal.text and setl["setl_id"] in journal.text
    other = signed_in(console, GZ_EMPLOYEE)
    refused = other.get(f"/console/me/settlements/{setl['setl_id']}")
    assert refused.status_code == 404 and "不属于您" in refused.text


def test_binding_shows_the_commitment_and_refuses_without_its_acceptance(console: ConsoleWorld) -> None:
    """合肥 合医管〔2019〕97号: 直系亲属关系通过提供人承诺方式确认 (the commitment is read and accepted)."""
    b = signed_in(console, SZ_EMPLOYEE)
    page = b.get("/console/me/mutual-aid")
    assert "确认承诺书" in page.text and 'name="accepted"' in page.text
    refused = b.post("/console/me/mutual-aid", {"certno": GZ_EMPLOYEE[1], "name": "王五", "relation": "spouse",
                                                "start": "2026-03-16"})
    assert refused.status_code == 422 and "请先阅读并同意承诺书" in refused.text
    assert len(grant_ids(console, SZ_EMPLOYEE[0])) == 1


def test_a_relative_is_bound_changed_used_and_unbound(console: ConsoleWorld) -> None:
    b = signed_in(console, SZ_EMPLOYEE)
    bound = b.post("/console/me/mutual-aid", {"certno": GZ_EMPLOYEE[1], "name": "王五", "relation": "spouse",
                                              "quota": "200.00", "start": "2026-03-16", "end": "2026-12-31",
                                              "accepted": "yes"})
    assert bound.status_code == 303, bound.text
    existing, grant_id = grant_ids(console, SZ_EMPLOYEE[0])
    page = b.get(bound.headers["location"])
    assert "已建立共济授权" in page.text and "王五" in page.text and "200.00" in page.text
    changed = b.post(f"/console/me/mutual-aid/{grant_id}/change", {"quota": "80.00", "start": "2026-03-16",
                                                                   "end": "2026-06-30"})
    assert changed.status_code == 303
    detail = b.get(f"/console/me/mutual-aid/{grant_id}")
    assert "80.00" in detail.text and "2026-06-30" in detail.text and "修改" in detail.text
    backwards = b.post(f"/console/me/mutual-aid/{grant_id}/change", {"quota": "", "start": "2026-07-01",
                                                                     "end": "2026-06-30"})
    assert backwards.status_code == 422 and "结束日期 2026-06-30 早于开始日期 2026-07-01" in backwards.text
    spouse = signed_in(console, GZ_EMPLOYEE)  # the beneficiary sees it, and cannot unbind it
    assert "张三" in spouse.get("/console/me/mutual-aid").text
    assert spouse.post(f"/console/me/mutual-aid/{grant_id}/unbind").status_code == 404
    unbound = b.post(f"/console/me/mutual-aid/{grant_id}/unbind")
    assert unbound.status_code == 303 and grant_ids(console, SZ_EMPLOYEE[0]) == [existing]
    assert "已解除" in b.get("/console/me/mutual-aid").text


def test_who_drew_how_much_and_when(console: ConsoleWorld) -> None:
    """The child's visit paid from her father's account through the authorization (the usage page)."""
    doc = yaml.safe_load(WORLD.read_text(encoding="utf-8"))
    doc["regions"][0]["policies"].append({"insutype": "390", "med_types": ["11"], "bucket": "outpatient",
                                          "deductible": "0.00", "ratio": "0.50", "annual_cap": "1000.00",
                                          "acct_scope": "all"})
    load_document(console.store, doc)
    (grant_id,) = grant_ids(console, SZ_EMPLOYEE[0])
    setl = settle(Platform(console.store).client(), "C2", (("EX-DRUG-A", "50.00", "2"),), psn_no=SZ_CHILD[0],
                  certno=SZ_CHILD[1], insutype="390")
    b = signed_in(console, SZ_EMPLOYEE)
    usage = b.get(f"/console/me/mutual-aid/{grant_id}")
    assert usage.status_code == 200 and setl["setl_id"] in usage.text and "李四" in usage.text
    drawn = re.search(r"使用记录：共 ([0-9.]+) 元", usage.text)
    assert drawn and drawn.group(1) == str(setl["acct_mulaid_pay"]) and drawn.group(1) != "0.00"


def test_the_regions_rules_are_refused_in_plain_words(console: ConsoleWorld) -> None:
    """合肥 合医管〔2019〕97号: 限定父亲1人、母亲1人、配偶1人、子女4人; 太原 并医险中心字〔2022〕126号: the
    authorizer's balance must exceed the region's threshold."""
    sz = signed_in(console, SZ_EMPLOYEE)
    again = sz.post("/console/me/mutual-aid", {"certno": SZ_CHILD[1], "name": "李四", "relation": "child",
                                               "start": "2026-03-16", "accepted": "yes"})
    assert again.status_code == 422 and "您已为这位亲属授权" in again.text
    assert sz.post("/console/me/mutual-aid", {"certno": GZ_EMPLOYEE[1], "name": "王五", "relation": "spouse",
                                              "start": "2026-03-16", "accepted": "yes"}).status_code == 303
    with console.store.unit_of_work() as s:  # a second spouse needs a second person: the child, named so
        s.execute(update(MutualAidAuthorization).where(MutualAidAuthorization.beneficiary == SZ_CHILD[0])
                  .values(status="ended"))
    limit = sz.post("/console/me/mutual-aid", {"certno": SZ_CHILD[1], "name": "李四", "relation": "spouse",
                                               "start": "2026-03-16", "accepted": "yes"})
    assert limit.status_code == 422 and "“配偶”关系最多同时授权 1 人，您已授权 1 人" in limit.text
    with console.store.unit_of_work() as s:
        s.execute(update(Account).where(Account.psn_no == TY_EMPLOYEE[0]).values(balance="800.00"))
    ty = signed_in(console, TY_EMPLOYEE)
    poor = ty.post("/console/me/mutual-aid", {"certno": SZ_CHILD[1], "name": "李四", "relation": "child",
                                              "start": "2026-03-16", "accepted": "yes"})
    assert poor.status_code == 422
    assert "您的个人账户余额 800.00 元，须高于参保地规定的 1000.00 元" in poor.text
    assert "同一省份" in poor.text
    wrong_name = ty.post("/console/me/mutual-aid", {"certno": SZ_CHILD[1], "name": "别人", "relation": "child",
                                                    "start": "2026-03-16", "accepted": "yes"})
    assert "没有找到身份证号码与姓名一致的参保人" in wrong_name.text


def test_another_persons_authorization_is_not_found(console: ConsoleWorld) -> None:
    (grant_id,) = grant_ids(console, SZ_EMPLOYEE[0])
    stranger = signed_in(console, GZ_EMPLOYEE)
    assert stranger.get(f"/console/me/mutual-aid/{grant_id}").status_code == 404
    assert stranger.post(f"/console/me/mutual-aid/{grant_id}/change", {"quota": "1.00", "start": "2026-01-01",
                                                                       "end": ""}).status_code == 404
    assert stranger.post(f"/console/me/mutual-aid/{grant_id}/unbind").status_code == 404
    assert grant_ids(console, SZ_EMPLOYEE[0]) == [grant_id]
    assert stranger.get("/console/me/mutual-aid/99999999999").status_code == 422  # out of range: a page, no 5xx


def test_a_filing_is_filed_changed_and_cancelled(console: ConsoleWorld) -> None:
    """揭阳 揭医保〔2021〕82号 art. 7, 9: the validity by type; a change is a new version of the filing."""
    b = signed_in(console, SZ_EMPLOYEE)
    filed = b.post("/console/me/filings", {"type": "long_term_resident", "place": "440100", "start": "2026-03-16",
                                           "end": "2026-12-31"})
    assert filed.status_code == 303, filed.text
    page = b.get(filed.headers["location"])
    assert "备案已提交" in page.text and "广州市" in page.text and "2026-03-16 至 2026-12-31" in page.text
    first = int(re.search(r"/console/me/filings/(\d+)", page.text).group(1))  # type: ignore[union-attr]
    changed = b.post(f"/console/me/filings/{first}/change", {"place": "140100"})
    assert changed.status_code == 303
    second = b.get(changed.headers["location"])
    assert "第 2 版" in second.text and "140100" in second.text
    second_id = int(changed.headers["location"].split("/")[-1].split("?")[0])
    assert b.post(f"/console/me/filings/{second_id}/cancel").status_code == 303
    with console.store.unit_of_work() as s:
        statuses = dict(s.execute(select(Filing.id, Filing.status).where(Filing.psn_no == SZ_EMPLOYEE[0])).all())
    assert statuses == {first: "superseded", second_id: "cancelled"}


def test_a_filing_out_of_the_rules_is_refused_in_plain_words(console: ConsoleWorld) -> None:
    """揭阳 揭医保〔2021〕82号 art. 7 (四): a referral within the insured region's maximum (90 days here)."""
    b = signed_in(console, SZ_EMPLOYEE)
    long = b.post("/console/me/filings", {"type": "referral", "place": "440100", "start": "2026-03-16",
                                          "end": "2026-12-31"})
    assert long.status_code == 422 and "转诊备案最长 90 天，最晚到 2026-06-13" in long.text
    home = b.post("/console/me/filings", {"type": "long_term_resident", "place": "440300", "start": "2026-03-16",
                                          "end": "2026-12-31"})
    assert "备案的就医地不能是您的参保地" in home.text
    bad_day = b.post("/console/me/filings", {"type": "other", "place": "440100", "start": "16/03/2026"})
    assert bad_day.status_code == 422 and "is not a date" in bad_day.text
    with console.store.unit_of_work() as s:
        assert s.scalars(select(Filing).where(Filing.psn_no == SZ_EMPLOYEE[0])).first() is None


def test_another_persons_filing_is_not_found(console: ConsoleWorld) -> None:
    with console.store.unit_of_work() as s:
        theirs = s.scalars(select(Filing.id).where(Filing.psn_no == "14010000000000000001")).one()
    b = signed_in(console, SZ_EMPLOYEE)
    assert b.get(f"/console/me/filings/{theirs}").status_code == 404
    assert b.post(f"/console/me/filings/{theirs}/cancel").status_code == 404
    with console.store.unit_of_work() as s:
        assert s.get(Filing, theirs).status == "active"  # type: ignore[union-attr]
