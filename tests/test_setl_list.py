"""4101A settlement lists through the wire, and the monthly declaration's flag for a settlement without one.

Settlements are made the way a HIS makes them (2201, 2203, 2204, 2207; 2208 to cancel) on tests/data/world.yaml:
张三 (psn 44030000000000000001, employee of 440300) has 80.00 of his 100.00 deductible left, ratio 0.60, and
500.00 in his account, so 2 x EX-DRUG-A at 50.00 settle as 100.00: fund 12.00, account 88.00, cash 0.00.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import pytest
from helpers import setl_list_input, snapshot
from sqlalchemy import select

from yibao.api.tokens import issue, signing_key
from yibao.client import PlatformError
from yibao.rules.setl_list import Listed, Settled, fee_line_problem, list_problem, list_state
from yibao.store.models import SetlList

SZ = "44030000000000000001"
SZ_CERTNO = "440301199001011234"
SZ_HOSPITAL, GZ_HOSPITAL = "H44030000001", "H44010000001"
DAY = "2026-03-16"
D = Decimal
_serial = itertools.count(1)


@pytest.fixture(autouse=True)
def _clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YIBAO_TODAY", raising=False)
    monkeypatch.delenv("YIBAO_TOKEN_KEY", raising=False)


def settle(client: Any, cnt: int = 2) -> dict[str, Any]:
    """One outpatient visit of 张三 with `cnt` x EX-DRUG-A at 50.00, settled by 2207: its setlinfo."""
    n = next(_serial)
    cert = {"mdtrt_cert_type": "02", "mdtrt_cert_no": SZ_CERTNO}
    reg = client.ok("2201", {"data": {"psn_no": SZ, "insutype": "310", "begntime": f"{DAY} 09:00:00", **cert,
                                      "ipt_otp_no": f"OTP-L{n:04d}"}}, "440300")
    mdtrt_id = reg["data"]["mdtrt_id"]
    client.ok("2203", {"mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": SZ, "med_type": "11",
                                     "begntime": f"{DAY} 09:00:00"}}, "440300")
    amt = str(D("50.00") * cnt)
    lines = client.ok("2204", {"feedetail": [{
        "feedetl_sn": f"L{n}-1", "mdtrt_id": mdtrt_id, "psn_no": SZ, "chrg_bchno": f"BL{n}",
        "fee_ocur_time": f"{DAY} 09:30:00", "med_list_codg": "EX-DRUG-A", "det_item_fee_sumamt": amt,
        "cnt": str(cnt), "pric": "50.00"}]}, "440300")["result"]

    def total(key: str) -> str:
        return str(sum((r[key] for r in lines), D("0.00")))

    data = {"psn_no": SZ, **cert, "med_type": "11", "medfee_sumamt": total("det_item_fee_sumamt"),
            "psn_setlway": "01", "mdtrt_id": mdtrt_id, "chrg_bchno": f"BL{n}", "acct_used_flag": "1",
            "insutype": "310", "fulamt_ownpay_amt": total("fulamt_ownpay_amt"),
            "overlmt_selfpay": total("overlmt_amt"), "preselfpay_amt": total("preselfpay_amt"),
            "inscp_scp_amt": total("inscp_scp_amt")}
    return client.ok("2207", {"data": data}, "440300")["setlinfo"]


def a_list(setl: dict[str, Any], **setlinfo: Any) -> dict[str, Any]:
    """A whole 4101A input for the first settlement of 100.00 (fund 12.00, account 88.00)."""
    return setl_list_input(SZ, DAY, setl, "12.00", **{"acct_pay": "88.00", "psn_cashpay": "0.00", **setlinfo})


def lists(platform: Any, setl_id: str) -> list[SetlList]:
    with platform.store.unit_of_work() as s:
        return list(s.scalars(select(SetlList).where(SetlList.setl_id == setl_id).order_by(SetlList.version)))


def refused(platform: Any, client: Any, input_: dict[str, Any]) -> str:
    """A refused 4101A writes nothing; its err_msg."""
    client.sign_no()
    before = snapshot(platform.store)
    with pytest.raises(PlatformError) as err:
        client.ok("4101A", input_, "440300")
    assert snapshot(platform.store) == before
    return err.value.err_msg


# -- upload --------------------------------------------------------------------------------------------------

def test_4101A_stores_the_list_and_answers_its_id(platform: Any) -> None:
    h = platform.client()
    setl = settle(h)
    out = h.ok("4101A", a_list(setl), "440300")
    assert len(out["setl_list_id"]) == 30 and out["setl_list_id"].startswith("440300")
    assert out["data"] == {"setl_list_id": out["setl_list_id"]} and out["setl_id"] == setl["setl_id"]
    assert out["vers"] == 1
    [row] = lists(platform, setl["setl_id"])
    assert (row.setl_list_id, row.vali_flag, row.fixmedins_code, row.mdtrt_id) == (
        out["setl_list_id"], "1", SZ_HOSPITAL, setl["mdtrt_id"])
    assert row.content["setlinfo"]["medcasno"] == "MC-1" and row.content["setlinfo"]["ntly"] == "CHN"
    assert row.content["icuinfo"][0]["scs_cutd_sum_dura"] == "0/2/0"
    assert row.content["payinfo"] == [{"fund_pay_type": "310100", "fund_payamt": "12.00"}]


def test_4101A_the_a_form_without_payinfo_and_iteminfo(platform: Any) -> None:
    h = platform.client()
    setl = settle(h)
    doc = a_list(setl)
    del doc["payinfo"], doc["iteminfo"]
    for key in ("acct_pay", "psn_cashpay", "psn_selfpay", "psn_ownpay"):
        del doc["setlinfo"][key]
    assert h.ok("4101A", doc, "440300")["vers"] == 1


def test_4101A_again_replaces_the_list_and_keeps_the_history(platform: Any) -> None:
    h = platform.client()
    setl = settle(h)
    first = h.ok("4101A", a_list(setl), "440300")
    second = h.ok("4101A", a_list(setl, medcasno="MC-2"), "440300")
    assert second["vers"] == 2 and second["setl_list_id"] != first["setl_list_id"]
    old, new = lists(platform, setl["setl_id"])
    assert (old.version, old.vali_flag, old.content["setlinfo"]["medcasno"]) == (1, "0", "MC-1")
    assert (new.version, new.vali_flag, new.content["setlinfo"]["medcasno"]) == (2, "1", "MC-2")


def test_4101A_a_retried_msgid_is_answered_again_without_a_second_version(platform: Any) -> None:
    h = platform.client()
    setl = settle(h)
    env = h.envelope("4101A", a_list(setl), "440300", h.sign_no(), msgid=h.next_msgid())
    first, again = h.send(env), h.send(env)
    assert first["infcode"] == again["infcode"] == 0
    assert again["output"] == first["output"]
    assert len(lists(platform, setl["setl_id"])) == 1


# -- refusals ------------------------------------------------------------------------------------------------

def test_4101A_refuses_a_settlement_that_is_unknown_foreign_or_cancelled(platform: Any) -> None:
    h = platform.client()
    setl = settle(h)
    assert refused(platform, h, a_list(setl, setl_id="440300X")) == \
        "input.setlinfo.setl_id: no settlement 440300X of this institution"
    gz = platform.client(GZ_HOSPITAL)
    assert refused(platform, gz, a_list(setl)) == \
        f"input.setlinfo.setl_id: no settlement {setl['setl_id']} of this institution"
    other = settle(h)
    assert refused(platform, h, a_list(setl, mdtrt_id=other["mdtrt_id"])) == \
        f"input.setlinfo.mdtrt_id: settlement {setl['setl_id']} belongs to visit {setl['mdtrt_id']}"
    cancelled = h.ok("2208", {"data": {"setl_id": setl["setl_id"], "mdtrt_id": setl["mdtrt_id"], "psn_no": SZ}},
                     "440300")["setlinfo"]
    assert refused(platform, h, a_list(setl)) == \
        f"input.setlinfo.setl_id: settlement {setl['setl_id']} was cancelled: it has no settlement list"
    refd = cancelled["refd_setl_id"]
    assert refused(platform, h, a_list(setl, setl_id=refd)).startswith(
        f"input.setlinfo.setl_id: {refd} is the cancellation record of settlement {setl['setl_id']}")


def test_4101A_refuses_a_missing_node_or_field_and_a_bad_code(platform: Any) -> None:
    h = platform.client()
    setl = settle(h)
    doc = a_list(setl)
    del doc["setlinfo"]
    assert refused(platform, h, doc).startswith("input.setlinfo: ")
    doc = a_list(setl)
    del doc["setlinfo"]["medins_fill_psn"]
    assert refused(platform, h, doc).startswith("input.setlinfo.medins_fill_psn: ")
    doc = a_list(setl)
    doc["diseinfo"][0]["adm_cond_type"] = "7"
    assert refused(platform, h, doc).startswith("input.diseinfo[0].adm_cond_type: '7' is not a code of adm_cond_type")
    doc = a_list(setl)
    doc["iteminfo"][0]["med_chrgitm"] = "99"
    assert refused(platform, h, doc).startswith("input.iteminfo[0].med_chrgitm: '99' is not a code of med_chrgitm")
    assert refused(platform, h, a_list(setl, gend="3")).startswith("input.setlinfo.gend: '3' is not a code of gend")
    doc = a_list(setl)
    doc["icuinfo"][0]["scs_cutd_sum_dura"] = "2 hours"
    assert refused(platform, h, doc).startswith("input.icuinfo[0].scs_cutd_sum_dura: ")
    assert refused(platform, h, a_list(setl, acct_pay="88.001")).startswith(
        "input.setlinfo.acct_pay: must be an amount with at most 2 decimal places")


def test_4101A_refuses_amounts_that_disagree_with_the_settlement(platform: Any) -> None:
    h = platform.client()
    setl = settle(h)
    sid = setl["setl_id"]
    doc = a_list(setl)
    doc["iteminfo"][0]["amt"] = "99.00"
    assert refused(platform, h, doc) == \
        f"input.iteminfo[].amt: the items sum to 99.00, but settlement {sid} has medfee_sumamt 100.00"
    doc = a_list(setl)
    doc["payinfo"][0]["fund_payamt"] = "11.00"
    assert refused(platform, h, doc) == (f"input.payinfo[0].fund_payamt: fund 310100 listed with 11.00, but "
                                         f"settlement {sid} has that fund paying 12.00")
    doc = a_list(setl)
    doc["payinfo"].append({"fund_pay_type": "390100", "fund_payamt": "1.00"})
    assert refused(platform, h, doc).startswith("input.payinfo[1].fund_pay_type: fund 390100 did not pay settlement")
    assert refused(platform, h, a_list(setl, acct_pay="80.00")) == \
        f"input.setlinfo.acct_pay: listed 80.00, but settlement {sid} has acct_pay 88.00"
    assert refused(platform, h, a_list(setl, psn_selfpay="80.00")) == (
        f"input.setlinfo.psn_selfpay: psn_selfpay + psn_ownpay = 80.00, but settlement {sid} has psn_part_amt 88.00")
    assert refused(platform, h, a_list(setl, setl_end_date="2026-03-15")) == \
        "input.setlinfo.setl_end_date: 2026-03-15 is before setl_begn_date 2026-03-16"


def test_4101A_needs_a_sign_in(platform: Any) -> None:
    h = platform.client()
    setl = settle(h)
    answer = h.send(h.envelope("4101A", a_list(setl), "440300", ""))
    assert answer["infcode"] == -1 and answer["err_msg"].startswith("sign_no")


# -- the monthly declaration's flag -------------------------------------------------------------------------

def test_the_declaration_flags_each_settlement_without_a_list(platform: Any, monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    h = platform.client()
    listed, unlisted, cancelled = settle(h), settle(h, cnt=1), settle(h, cnt=3)
    h.ok("4101A", a_list(listed), "440300")
    h.ok("2208", {"data": {"setl_id": cancelled["setl_id"], "mdtrt_id": cancelled["mdtrt_id"], "psn_no": SZ}},
         "440300")
    monkeypatch.setenv("YIBAO_TODAY", "2026-04-02")
    token = issue(signing_key(platform.store), "institution", SZ_HOSPITAL)
    auth = {"Authorization": f"Bearer {token}"}
    reply = platform.http.post("/api/v1/institution/declarations", json={"setl_ym": "2026-03"}, headers=auth)
    assert reply.status_code == 201, reply.text
    rows = h.ok("2704", {"data": {"setl_ym": "202603"}})["data"]
    state = {r["setl_id"]: (r["setl_list_stas"], r["setl_list_id"]) for r in rows}
    [the_list] = lists(platform, listed["setl_id"])
    assert state[listed["setl_id"]] == ("uploaded", the_list.setl_list_id)
    assert state[unlisted["setl_id"]] == ("missing", "")
    assert state[cancelled["setl_id"]] == ("not_needed", "")
    assert len(rows) == 4  # the cancellation record too, not needing a list either
    assert sorted(s for s, _ in state.values()) == ["missing", "not_needed", "not_needed", "uploaded"]
    report = platform.http.get("/api/v1/institution/reports/2026-03/declaration-3", headers=auth).json()
    flags = {r["setl_id"]: r["setl_list"] for r in report["rows"]}
    assert flags[listed["setl_id"]] == "已上传" and flags[unlisted["setl_id"]] == "未上传"
    assert flags[cancelled["setl_id"]] == ""
    assert {"key": "setl_list", "title": "结算清单", "kind": "text"} in report["columns"]


# -- the pure rules --------------------------------------------------------------------------------------------

SETTLED = Settled("S1", D("100.00"), D("12.00"), D("88.00"), D("0.00"), D("88.00"), D("0.00"),
                  funds={"310100": D("12.00")})


def test_rule_a_list_that_agrees_has_no_problem() -> None:
    x = Listed(item_amts=[D("60.00"), D("40.00")], item_ownpay=[D("0.00")], payinfo=[("310100", D("12.00"))],
               acct_pay=D("88.00"), psn_cashpay=D("0.00"), psn_selfpay=D("80.00"), psn_ownpay=D("8.00"))
    assert list_problem(SETTLED, x) is None
    assert list_problem(SETTLED, Listed()) is None


def test_rule_problems_name_the_field() -> None:
    assert list_problem(SETTLED, Listed(payinfo=[("310100", D("12.00")), ("310100", D("0.00"))])) == (
        "input.payinfo[1].fund_pay_type", "310100 is listed twice")
    assert list_problem(SETTLED, Listed(payinfo=[("310100", D("12.00")), ("390200", D("0.00"))])) is None
    assert list_problem(SETTLED, Listed(payinfo=[])) == (
        "input.payinfo[].fund_payamt", "the funds sum to 0.00, but settlement S1 has fund_pay_sumamt 12.00")
    assert list_problem(SETTLED, Listed(item_ownpay=[D("1.00")]))[0] == "input.iteminfo[].fulamt_ownpay_amt"
    assert list_problem(SETTLED, Listed(psn_cashpay=D("0.01")))[0] == "input.setlinfo.psn_cashpay"
    inpatient = Settled("S2", D("0"), D("0"), D("0"), D("0"), D("0"), D("0"), kind="inpatient")
    assert list_problem(inpatient, Listed())[0] == "input.diseinfo"
    assert list_problem(inpatient, Listed(diseinfo_count=1)) is None


def test_rule_list_state_and_fee_lines() -> None:
    assert list_state("0", "settled", "L1") == "uploaded"
    assert list_state("0", "settled", None) == "missing"
    assert list_state("0", "cancelled", None) == list_state("1", "reversal", None) == "not_needed"
    assert fee_line_problem(D("3"), D("0.335"), D("1.01")) is None  # 1.005 rounds half up
    assert fee_line_problem(D("3"), D("0.335"), D("1.00")) == "1.00 sent, but pric 0.335 x cnt 3 = 1.01"


def test_4101A_refuses_codes_outside_their_dictionaries(platform: Any) -> None:
    h = platform.client()
    setl = settle(h)
    cases = [(("setlinfo", None, "hi_paymtd"), "8"), (("payinfo", 0, "fund_pay_type"), "999999"),
             (("oprninfo", 0, "oprn_oprt_type"), "3"), (("icuinfo", 0, "scs_cutd_ward_type"), "ICU"),
             (("bldinfo", 0, "bld_cat"), "血")]
    for (node, i, field), bad in cases:
        doc = a_list(setl)
        (doc[node] if i is None else doc[node][i])[field] = bad
        path = f"input.{node}" + ("" if i is None else f"[{i}]") + f".{field}"
        err = refused(platform, h, doc)
        assert err.startswith(f"{path}: {bad!r} is not a code of {field}; one of: "), err
    # a fund that did not pay may be listed at 0.00, but it must be a fund
    doc = a_list(setl)
    doc["payinfo"].append({"fund_pay_type": "390200", "fund_payamt": "0.00"})
    h.ok("4101A", doc, "440300")


def test_rule_an_unknown_fund_is_refused_even_at_zero() -> None:
    assert list_problem(SETTLED, Listed(payinfo=[("310100", D("12.00")), ("ABC", D("0.00"))])) == (
        "input.payinfo[1].fund_pay_type", "ABC is not a code of fund_pay_type")
