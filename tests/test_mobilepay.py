"""The mobile-payment centre (6201-6401) through HTTP only: requests sealed with a registered institution
keypair, answers opened with the platform's public key.

rules.md's worked examples A (own account) and B (mutual aid) to the cent through 6201 + 6202, refunds ALL /
HI / CASH and every refused combination, idempotent 6201 / 6202 / 6203, 6401, the payAuthNo of the simulated
e-credential (also in 1101), and the envelope refusals (bad signature, unknown appId, stale timestamp...)
that write nothing. The dataset is the conformance one of outpatient_world.py.
"""

from __future__ import annotations

import copy
import re
import time
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import count, snapshot
from outpatient_world import (
    CHILD,
    EMPLOYEE,
    EXAMPLE_A,
    EXAMPLE_A_FIGURES,
    EXAMPLE_B,
    PARENT,
    SZ_HOSP,
    TY_HOSP,
    balance,
    base_doc,
    check_amounts,
    instructions,
    person_in,
    quota_used,
    usage,
)
from sqlalchemy import select

from yibao import wire
from yibao.api.tokens import issue, signing_key
from yibao.app import create_app
from yibao.client import PlatformClient, PlatformError
from yibao.dataset.loader import load_document
from yibao.mobilepay import keys
from yibao.mobilepay.envelope import EnvelopeError, generate_keypair, open_sealed, seal
from yibao.store.db import Store
from yibao.store.models import FeeDetail, PayOrder, Settlement, Visit

D = Decimal
BASE = "/org/local/api/hos"
UPLOAD, PAY, REFUND, QUERY, REVOKE = "uldFeeInfo", "pay_order", "refund_Order", "query_order_info", "revoke_order"
#: tables written for every request whatever its outcome (the audit log), and the platform key made on first use
QUIET = {"message_log", "nonces"}


@pytest.fixture(autouse=True)
def _no_env_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The business date is the dataset's (2026-03-16), whatever the shell has set."""
    monkeypatch.delenv("YIBAO_TODAY", raising=False)


class Channel:
    """One institution's mobile-payment channel, as its hospital system would hold it."""

    def __init__(self, world: World, code: str):
        self.world, self.code = world, code
        inst = next(i for i in world.doc["institutions"] if i["code"] == code)
        self.secret, self.admdvs = inst["secret"], inst["admdvs"]
        self.app_id, self.private, self.platform_public = keys.register_app(world.store, code)
        self._n = 0

    def post(self, path: str, data: dict[str, Any], *, private: str | None = None,
             timestamp: str | None = None) -> tuple[int, dict[str, Any]]:
        sealed = seal(data, self.app_id, self.secret, private or self.private, timestamp=timestamp)
        return self.post_raw(path, sealed)

    def post_raw(self, path: str, body: Any) -> tuple[int, dict[str, Any]]:
        raw = body if isinstance(body, bytes) else wire.encode(body)
        reply = self.world.http.post(f"{BASE}/{path}", content=raw, headers={"Content-Type": "application/json"})
        return reply.status_code, wire.decode(reply.content)

    def ok(self, path: str, data: dict[str, Any]) -> dict[str, Any]:
        status, answer = self.post(path, data)
        assert status == 200 and answer.get("code") == 0, answer
        assert answer["message"] == "成功" and answer["appId"] == self.app_id
        return open_sealed(answer, self.secret, self.platform_public)

    def refused(self, path: str, data: dict[str, Any], status: int = 200) -> str:
        """A request that must be refused and write nothing but its audit row; its message."""
        before, logs = snapshot(self.world.store, QUIET), count(self.world.store, "message_log")
        got, answer = self.post(path, data)
        assert got == status and answer["code"] != 0, answer
        assert set(answer) <= {"code", "message", "refStatus"}, answer
        assert snapshot(self.world.store, QUIET) == before, f"the refused {path} wrote business state"
        assert count(self.world.store, "message_log") == logs + 1
        return str(answer["message"])

    # -- the messages -----------------------------------------------------------------------------------
    def order(self, who: dict[str, Any], items: list[tuple[str, str, str]], auth: str, **over: Any) -> dict:
        self._n += 1
        batch = f"MB{who['psn_no'][-4:]}{self._n}"
        lines = []
        for i, (code, pric, cnt) in enumerate(items, 1):
            lines.append({"feedetlSn": f"{batch}-{i:03d}", "feeOcurTime": "2026-03-16 09:30:00", "medListCodg": code,
                          "medinsListCodg": "H-" + code, "detItemFeeSumamt": (D(pric) * D(cnt)).quantize(D("0.01")),
                          "cnt": cnt, "pric": pric, "rxCircFlag": "0", "bilgDeptCodg": "D01", "bilgDeptName": "内科",
                          "bilgDrCodg": "DR01", "bilgDrName": "医生", "hospApprFlag": "0", "sinDosDscr": ""})
        data = {"orgCodg": self.code, "psnNo": who["psn_no"], "insutype": who["insutype"],
                "medOrgOrd": f"ORD-{self.code}-{self._n}", "begntime": "2026-03-16 09:00:00", "idNo": who["certno"],
                "userName": who["name"], "idType": "01", "insuCode": who["admdvs"],
                "iptOtpNo": f"MP-{who['psn_no'][-4:]}-{self._n}", "deptName": "内科", "deptCode": "D01",
                "caty": "A03", "medType": "11", "feeType": "01", "psnSetlway": "01", "chrgBchno": batch,
                "pubHospRfomFlag": "0", "medfeeSumamt": sum((x["detItemFeeSumamt"] for x in lines), D("0.00")),
                "payAuthNo": auth, "atddrNo": "DR01", "drName": "医生", "acctUsedFlag": "1",
                "mainCondDscr": "", "feedetailList": lines}
        data.update(over)
        return data

    def upload(self, who: dict[str, Any], items: list[tuple[str, str, str]], auth: str, **over: Any) -> dict:
        return self.ok(UPLOAD, self.order(who, items, auth, **over))

    def pay(self, order: dict[str, Any], auth: str, **over: Any) -> dict:
        return self.ok(PAY, {"payOrdId": order["payOrdId"], "payToken": order["payToken"], "payAuthNo": auth,
                             "orgCodg": self.code, **over})

    def query(self, order: dict[str, Any]) -> dict:
        return self.ok(QUERY, {"payOrdId": order["payOrdId"], "payToken": order["payToken"], "orgCodg": self.code})

    def refund_data(self, order: dict[str, Any], sn: str, kind: str, cash: str, acct: str, fund: str,
                    total: str | None = None, **over: Any) -> dict:
        total = total if total is not None else str(D(cash) + D(acct) + D(fund))
        return {"payOrdId": order["payOrdId"], "appRefdSn": sn, "appRefdTime": "20260316120000",
                "totlRefdAmt": D(total), "cashRefdAmt": D(cash), "psnAcctRefdAmt": D(acct), "fundRefdAmt": D(fund),
                "refdType": kind, "revsToken": order.get("revsToken", ""), **over}


class World:
    """The platform in-process over the conformance dataset, with mobile-payment channels and the JSON API."""

    def __init__(self, store: Store, change: Any = None):
        doc = base_doc()
        if change:
            change(doc)
        load_document(store, doc)
        self.store, self.doc = store, doc
        self.http = TestClient(create_app(store))
        self._channels: dict[str, Channel] = {}
        self._key = signing_key(store)

    def channel(self, code: str = SZ_HOSP) -> Channel:
        if code not in self._channels:
            self._channels[code] = Channel(self, code)
        return self._channels[code]

    def who(self, psn_no: str) -> dict[str, Any]:
        return person_in(self.doc, psn_no)

    def authorize(self, psn_no: str, code: str = SZ_HOSP) -> dict[str, Any]:
        """The patient's e-credential authorization for `code` (POST /api/v1/ecredential/pay-auth)."""
        token = issue(self._key, "person", psn_no)
        reply = self.http.post("/api/v1/ecredential/pay-auth", json={"fixmedins_code": code},
                               headers={"Authorization": f"Bearer {token}"})
        assert reply.status_code == 201, reply.text
        return dict(reply.json())

    def his(self, code: str = SZ_HOSP) -> PlatformClient:
        inst = next(i for i in self.doc["institutions"] if i["code"] == code)
        return PlatformClient("http://testserver", code, inst["secret"], inst["admdvs"], opter="op01", http=self.http)


@pytest.fixture
def world(store: Store) -> World:
    return World(store)


def settlements(store: Store) -> list[Settlement]:
    with store.unit_of_work() as s:
        return list(s.scalars(select(Settlement).order_by(Settlement.setl_time, Settlement.setl_id)))


def check(answer: dict[str, Any], want: dict[str, str]) -> None:
    """Amounts travel as decimal strings with two places."""
    for key, value in want.items():
        assert answer[key] == value, f"{key}: got {answer[key]!r}, want {value!r}"


def amounts(info: dict[str, Any], names: Any) -> dict[str, Decimal]:
    return {k: D(info[k]) for k in names if k in info}


# -- worked examples ---------------------------------------------------------------------------------------

def test_worked_example_a_through_6201_and_6202(world: World) -> None:
    who, mp = world.who(EMPLOYEE), world.channel()
    auth = world.authorize(EMPLOYEE)
    assert auth["pay_auth_no"].startswith("AUTH") and auth["expires_at"].startswith("2026-03-16 ")

    order = mp.upload(who, EXAMPLE_A, auth["pay_auth_no"])
    assert order["ordStas"] == "0" and order["feeSumamt"] == "250.00" and order["payToken"]
    split = {r["feedetlSn"]: r for r in order["extData"]["result"]}
    assert [(r["overlmtAmt"], r["preselfpayAmt"], r["inscpScpAmt"]) for r in split.values()] == [
        ("0.00", "0.00", "100.00"), ("20.00", "10.00", "90.00"), ("0.00", "0.00", "0.00")]
    with world.store.unit_of_work() as s:
        visit = s.get(Visit, order["mdtrtId"])
        assert visit is not None and visit.status == "open" and visit.med_type == "11"
        assert visit.mdtrt_cert_type == "01" and visit.ipt_otp_no.startswith("MP-")

    paid = mp.pay(order, auth["pay_auth_no"])
    check(paid, {"feeSumamt": "250.00", "ownPayAmt": "0.00", "psnAcctPay": "196.00", "fundPay": "54.00",
                 "hospPartAmt": "0.00", "acctMulaidPay": "0.00", "selfAcctPay": "196.00"})
    assert paid["ordStas"] == "6" and paid["payOrdId"] == order["payOrdId"]
    assert D(paid["ownPayAmt"]) + D(paid["psnAcctPay"]) + D(paid["fundPay"]) == D(paid["feeSumamt"])
    info = paid["extData"]["setlinfo"]
    check_amounts(amounts(info, EXAMPLE_A_FIGURES), {k: v for k, v in EXAMPLE_A_FIGURES.items() if k in info})
    assert info["setl_id"] == paid["setlId"] and info["mdtrt_id"] == order["mdtrtId"]
    assert info["medins_setl_id"] == order["payOrdId"]
    assert [(d["fund_pay_type"], d["fund_payamt"]) for d in paid["extData"]["setldetail"]] == [("310100", "54.00")]
    assert balance(world.store, EMPLOYEE) == D("304.00")
    assert usage(world.store, EMPLOYEE) == (D("100.00"), D("54.00"))
    [row] = settlements(world.store)
    assert (row.opter, row.msgid, row.acct_pay, row.status) == ("MOBILEPAY", order["payOrdId"], D("196.00"), "settled")

    state = mp.query(order)
    assert state["ordStas"] == "6" and state["setlType"] == "HI" and state["hiDocSn"] == paid["setlId"]
    assert state["revsToken"] and state["hiRgstSn"] == order["mdtrtId"] and state["medOrgOrd"].startswith("ORD-")
    check(state, {"feeSumamt": "250.00", "ownPayAmt": "0.00", "psnAcctPay": "196.00", "fundPay": "54.00"})

    # HI refunds the whole insurance part: the settlement cancelled through 2208, the account restored
    refund = mp.ok(REFUND, mp.refund_data({**order, **state}, "RF-A-1", "HI", "0.00", "196.00", "54.00"))
    assert refund["refStatus"] == "SUCC" and refund["ordStas"] == "8" and refund["refdSetlId"]
    assert balance(world.store, EMPLOYEE) == D("500.00")
    assert usage(world.store, EMPLOYEE) == (D("0.00"), D("0.00"))
    assert [i[0] for i in instructions(world.store)] == ["acct_021", "acct_023"]


def test_worked_example_b_mutual_aid_then_all_refund_restores_the_quota(world: World) -> None:
    child, mp = world.who(CHILD), world.channel(TY_HOSP)
    auth = world.authorize(CHILD, TY_HOSP)
    order = mp.upload(child, EXAMPLE_B, auth["pay_auth_no"])
    paid = mp.pay(order, auth["pay_auth_no"])
    check(paid, {"feeSumamt": "230.00", "fundPay": "100.00", "psnAcctPay": "130.00", "acctMulaidPay": "130.00",
                 "selfAcctPay": "0.00", "ownPayAmt": "0.00"})
    info = paid["extData"]["setlinfo"]
    want = {"hifp_pay": "100.00", "psn_part_amt": "130.00", "acct_pay": "130.00", "acct_mulaid_pay": "130.00",
            "psn_cash_pay": "0.00"}
    check_amounts(amounts(info, want), want)
    assert info["acct_mulaid_admdvs"] == "140100"
    assert balance(world.store, PARENT) == D("2870.00") and quota_used(world.store, PARENT, CHILD) == D("130.00")

    state = mp.query(order)
    refund = mp.ok(REFUND, mp.refund_data({**order, **state}, "RF-B-1", "ALL", "0.00", "130.00", "100.00"))
    assert refund["refStatus"] == "SUCC" and refund["ordStas"] == "8"
    assert balance(world.store, PARENT) == D("3000.00") and quota_used(world.store, PARENT, CHILD) == D("0.00")
    # a repeated 6202 after the refund: the same figures, the order's state now, never a second settlement
    again = mp.pay(order, auth["pay_auth_no"])
    assert again["ordStas"] == "8" and again["setlId"] == paid["setlId"] and again["psnAcctPay"] == "130.00"
    assert sorted((r.status, r.refd_setl_flag) for r in settlements(world.store)) == [
        ("cancelled", "0"), ("reversal", "1")]
    assert balance(world.store, PARENT) == D("3000.00")


# -- refunds ---------------------------------------------------------------------------------------------------

def _short_balance(doc: dict[str, Any]) -> None:
    """Example A with an own balance of 100.00: fund 54.00, account 100.00, cash 96.00."""
    person_in(doc, EMPLOYEE)["account"]["balance"] = "100.00"


def test_refunds_all_hi_cash_and_each_refused_combination(store: Store) -> None:
    world = World(store, _short_balance)
    who, mp = world.who(EMPLOYEE), world.channel()
    pay_auth = world.authorize(EMPLOYEE)["pay_auth_no"]
    order = mp.upload(who, EXAMPLE_A, pay_auth)
    paid = mp.pay(order, pay_auth)
    check(paid, {"feeSumamt": "250.00", "fundPay": "54.00", "psnAcctPay": "100.00", "ownPayAmt": "96.00"})
    assert balance(store, EMPLOYEE) == D("0.00")
    order = {**order, "revsToken": mp.query(order)["revsToken"]}
    assert mp.query(order)["setlType"] == "ALL"

    def refused(sn: str, kind: str, cash: str, acct: str, fund: str, total: str | None = None, **over: Any) -> str:
        message = mp.refused(REFUND, mp.refund_data(order, sn, kind, cash, acct, fund, total, **over))
        return message

    assert refused("R0", "ALL", "96.00", "100.00", "50.00", "250.00") == (
        "data.totlRefdAmt: 250.00 sent, but cashRefdAmt 96.00 + psnAcctRefdAmt 100.00 + fundRefdAmt 50.00 = 246.00")
    assert refused("R0", "ALL", "46.00", "100.00", "54.00").startswith(
        "data.cashRefdAmt: an ALL refund returns every part of the order: must be 96.00, not 46.00")
    assert refused("R0", "CASH", "96.00", "100.00", "0.00").startswith(
        "data.psnAcctRefdAmt: a CASH refund returns cash only: must be 0.00")
    assert refused("R0", "CASH", "0.00", "0.00", "54.00").startswith("data.fundRefdAmt: a CASH refund")
    assert refused("R0", "HI", "96.00", "100.00", "54.00").startswith(
        "data.cashRefdAmt: an HI refund returns the insurance part only: must be 0.00")
    assert refused("R0", "HI", "0.00", "50.00", "54.00").startswith(
        "data.psnAcctRefdAmt: an HI refund cancels the insurance settlement whole: the account part must be 100.00")
    assert refused("R0", "CASH", "100.00", "0.00", "0.00").startswith(
        "data.cashRefdAmt: 100.00 exceeds the 96.00 of the cash part not yet refunded")
    assert refused("R0", "CASH", "0.00", "0.00", "0.00") == "data.totlRefdAmt: must be more than 0.00, not 0.00"
    assert refused("R0", "PART", "1.00", "0.00", "0.00").startswith("data.refdType: must be one of")
    assert refused("R0", "CASH", "1.00", "0.00", "0.00", revsToken="").startswith(
        "data.payAuthNo: send exactly one of ecToken, payAuthNo or revsToken")
    assert refused("R0", "CASH", "1.00", "0.00", "0.00", payAuthNo=pay_auth).startswith(
        "data.payAuthNo: send exactly one")
    assert refused("R0", "CASH", "1.00", "0.00", "0.00", revsToken="nope") == (
        f"data.revsToken: is not the revsToken of pay order {order['payOrdId']}")
    assert "refStatus" in mp.post(REFUND, mp.refund_data(order, "R0", "CASH", "0", "0", "0"))[1]

    # CASH 40.00: recorded only (the hospital's channel pays it back); the settlement stands
    cash = mp.refund_data(order, "R1", "CASH", "40.00", "0.00", "0.00")
    first = mp.ok(REFUND, cash)
    assert first["refStatus"] == "SUCC" and first["ordStas"] == "6" and "refdSetlId" not in first  # "" is cleaned
    assert [r.status for r in settlements(store)] == ["settled"] and balance(store, EMPLOYEE) == D("0.00")
    # idempotent by appRefdSn: the same answer, nothing more; other content under it is refused
    before = snapshot(store, QUIET)
    assert mp.ok(REFUND, cash) == first
    assert snapshot(store, QUIET) == before
    assert refused("R1", "CASH", "41.00", "0.00", "0.00").startswith(
        f"data.appRefdSn: R1 already names a refund of pay order {order['payOrdId']} with other content")
    # ALL no longer fits: 56.00 of cash is left
    assert refused("R2", "ALL", "96.00", "100.00", "54.00").startswith(
        "data.cashRefdAmt: 96.00 exceeds the 56.00 of the cash part not yet refunded (96.00 paid, 40.00 refunded)")

    # HI with a live payAuthNo instead of the revsToken: the insurance settlement cancelled
    hi = mp.ok(REFUND, mp.refund_data(order, "R3", "HI", "0.00", "100.00", "54.00", revsToken="",
                                      payAuthNo=pay_auth))
    assert hi["ordStas"] == "9" and hi["refdSetlId"]
    assert balance(store, EMPLOYEE) == D("100.00") and usage(store, EMPLOYEE) == (D("0.00"), D("0.00"))
    assert refused("R4", "HI", "0.00", "100.00", "54.00").startswith(
        "data.psnAcctRefdAmt: 100.00 exceeds the 0.00 of the account part not yet refunded")
    rest = mp.ok(REFUND, mp.refund_data(order, "R5", "CASH", "56.00", "0.00", "0.00"))
    assert rest["ordStas"] == "8"
    state = mp.query(order)
    check(state, {"cashRefdAmt": "96.00", "psnAcctRefdAmt": "100.00", "fundRefdAmt": "54.00"})
    assert [(r["appRefdSn"], r["refdType"]) for r in state["extData"]["refunds"]] == [
        ("R1", "CASH"), ("R3", "HI"), ("R5", "CASH")]
    assert state["refdSetlId"] == hi["refdSetlId"]


def test_an_unsettled_order_cannot_be_refunded(world: World) -> None:
    who, mp = world.who(EMPLOYEE), world.channel()
    pay_auth = world.authorize(EMPLOYEE)["pay_auth_no"]
    order = mp.upload(who, EXAMPLE_A, pay_auth)
    message = mp.refused(REFUND, mp.refund_data(order, "R1", "CASH", "1.00", "0.00", "0.00", payAuthNo=pay_auth))
    assert message.startswith(f"data.payOrdId: pay order {order['payOrdId']} is not settled (ordStas 0")


# -- idempotence, revocation -----------------------------------------------------------------------------------

def test_6201_and_6202_are_idempotent(world: World) -> None:
    who, mp = world.who(EMPLOYEE), world.channel()
    pay_auth = world.authorize(EMPLOYEE)["pay_auth_no"]
    data = mp.order(who, EXAMPLE_A, pay_auth)
    first = mp.ok(UPLOAD, data)
    before = snapshot(world.store, QUIET)
    assert mp.ok(UPLOAD, copy.deepcopy(data)) == first
    assert snapshot(world.store, QUIET) == before
    changed = {**data, "iptOtpNo": "ANOTHER"}
    assert mp.refused(UPLOAD, changed).startswith(
        f"data.medOrgOrd: {data['medOrgOrd']} already names pay order {first['payOrdId']}, uploaded with other content")

    paid = mp.pay(first, pay_auth)
    before = snapshot(world.store, QUIET)
    assert mp.pay(first, pay_auth) == paid
    assert snapshot(world.store, QUIET) == before
    assert len(settlements(world.store)) == 1 and balance(world.store, EMPLOYEE) == D("304.00")
    assert mp.refused(REVOKE, {"payOrdId": first["payOrdId"], "payToken": first["payToken"]}).startswith(
        f"data.payOrdId: pay order {first['payOrdId']} is settled (ordStas 6, settled); a settled order is "
        "refunded with 6203")


def test_6401_revokes_an_unsettled_order_and_6202_is_then_refused(world: World) -> None:
    who, mp = world.who(EMPLOYEE), world.channel()
    pay_auth = world.authorize(EMPLOYEE)["pay_auth_no"]
    order = mp.upload(who, EXAMPLE_A, pay_auth)
    revoke = {"payOrdId": order["payOrdId"], "payToken": order["payToken"], "orgCodg": SZ_HOSP,
              "idNo": who["certno"], "userName": who["name"], "idType": "01"}
    assert mp.refused(REVOKE, {**revoke, "payToken": "wrong"}) == (
        f"data.payToken: is not the payToken of pay order {order['payOrdId']}")
    assert mp.refused(REVOKE, {**revoke, "userName": "别人"}).startswith("data.userName: does not match")
    done = mp.ok(REVOKE, revoke)
    assert done == {"success": True, "message": f"pay order {order['payOrdId']} revoked",
                    "payOrdId": order["payOrdId"], "ordStas": "7"}
    with world.store.unit_of_work() as s:
        visit = s.get(Visit, order["mdtrtId"])
        assert visit is not None and visit.status == "cancelled"
        assert s.scalars(select(FeeDetail).where(FeeDetail.mdtrt_id == order["mdtrtId"])).all() == []
    assert mp.ok(REVOKE, revoke)["message"] == f"pay order {order['payOrdId']} was already revoked"
    assert mp.refused(PAY, {"payOrdId": order["payOrdId"], "payToken": order["payToken"],
                            "payAuthNo": pay_auth}).startswith(
        f"data.payOrdId: pay order {order['payOrdId']} was revoked (6401)")
    assert mp.query(order)["ordStas"] == "7"
    assert balance(world.store, EMPLOYEE) == D("500.00") and settlements(world.store) == []


def test_the_his_own_visit_1101_with_the_pay_auth_no_then_6201_with_mdtrt_id_and_ec_token(world: World) -> None:
    """The WeChat flow: 1101 with the payAuthNo gives psn_no and the ecToken (business_token); the HIS
    registers (2201), 6201 names its mdtrtId; 6401 then deletes the batch and leaves the HIS's visit open."""
    who, mp, his = world.who(EMPLOYEE), world.channel(), world.his()
    auth = world.authorize(EMPLOYEE)
    out = his.ok("1101", {"data": {"mdtrt_cert_type": "01", "mdtrt_cert_no": auth["pay_auth_no"]}})
    assert out["baseinfo"]["psn_no"] == EMPLOYEE
    assert out["baseinfo"]["exp_content"] == {"business_token": auth["ec_token"]}
    assert out["insuinfo"][0]["insuplc_admdvs"] == "440300" and out["insuinfo"][0]["balc"] == D("500.00")  # 1101
    reg = his.ok("2201", {"data": {"psn_no": EMPLOYEE, "insutype": "310", "begntime": "2026-03-16 09:00:00",
                                   "mdtrt_cert_type": "01", "mdtrt_cert_no": auth["pay_auth_no"],
                                   "ipt_otp_no": "HIS-OTP-1", "atddr_no": "DR01", "dr_name": "医生",
                                   "dept_code": "D01", "dept_name": "内科", "caty": "A03"}}, "440300")
    mdtrt_id = reg["data"]["mdtrt_id"]
    data = mp.order(who, EXAMPLE_A, "", ecToken=auth["ec_token"], mdtrtId=mdtrt_id)
    data.pop("payAuthNo")
    order = mp.ok(UPLOAD, data)
    assert order["mdtrtId"] == mdtrt_id
    again = mp.order(who, [("EX-DRUG-A", "1.00", "1")], auth["pay_auth_no"], mdtrtId=mdtrt_id,
                     chrgBchno=data["chrgBchno"])
    assert mp.refused(UPLOAD, again).startswith(
        f"data.chrgBchno: batch {data['chrgBchno']} of visit {mdtrt_id} already has unsettled lines")
    assert mp.ok(REVOKE, {"payOrdId": order["payOrdId"], "payToken": order["payToken"]})["ordStas"] == "7"
    with world.store.unit_of_work() as s:
        visit = s.get(Visit, mdtrt_id)
        assert visit is not None and visit.status == "open"
        assert s.scalars(select(FeeDetail).where(FeeDetail.mdtrt_id == mdtrt_id)).all() == []


# -- 6201 checks, the authorization ------------------------------------------------------------------------

def test_6201_checks_the_fields_the_sum_and_the_authorization(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    who, mp = world.who(EMPLOYEE), world.channel()
    pay_auth = world.authorize(EMPLOYEE)["pay_auth_no"]
    data = mp.order(who, EXAMPLE_A, pay_auth)
    missing = {k: v for k, v in data.items() if k not in ("idNo", "medOrgOrd")}
    assert mp.refused(UPLOAD, missing) == "data.medOrgOrd: is required; data.idNo: is required"
    assert mp.refused(UPLOAD, {**data, "feedetailList": []}) == "data.feedetailList: is required"
    assert mp.refused(UPLOAD, {**data, "medfeeSumamt": D("251.00")}) == (
        "data.medfeeSumamt: 251.00 sent, but the feedetailList lines sum to 250.00")
    assert mp.refused(UPLOAD, {**data, "fulamtOwnpayAmt": D("30.00"), "overlmtSelfpay": D("20.00"),
                               "preselfpayAmt": D("10.00"), "inscpScpAmt": D("180.00")}) == (
        "data.medfeeSumamt: 250.00 sent, but fulamtOwnpayAmt + overlmtSelfpay + preselfpayAmt + inscpScpAmt = 240.00")
    assert mp.refused(UPLOAD, {**data, "fulamtOwnpayAmt": D("50.00"), "preselfpayAmt": D("10.00"),
                               "inscpScpAmt": D("190.00")}) == (
        "data.fulamtOwnpayAmt: 50.00 sent, but the platform's split of the lines gives 30.00")
    bad_line = copy.deepcopy(data)
    bad_line["feedetailList"][1]["detItemFeeSumamt"] = D("100.00")
    bad_line["medfeeSumamt"] = D("230.00")
    assert mp.refused(UPLOAD, bad_line) == (
        "data.feedetailList[1].detItemFeeSumamt: 100.00 sent, but pric 120.00 x cnt 1 = 120.00")
    assert mp.refused(UPLOAD, {**data, "payAuthNo": ""}).startswith("data.payAuthNo: is required (or ecToken)")
    assert mp.refused(UPLOAD, {**data, "payAuthNo": "AUTH0000"}) == (
        "data.payAuthNo: is not an e-credential authorization of this platform")
    assert mp.refused(UPLOAD, {**data, "psnNo": PARENT}).startswith("data.psnNo: 14010000000000000101 is not the")
    assert mp.refused(UPLOAD, {**data, "userName": "别人"}).startswith("data.userName: does not match")
    assert mp.refused(UPLOAD, {**data, "insuCode": "140100"}) == "data.insuCode: the person is insured in 440300, " \
                                                                  "not 140100"
    assert mp.refused(UPLOAD, {**data, "medType": "21"}).startswith("data.medType: 21 is not an outpatient category")
    assert mp.refused(UPLOAD, {**data, "orgCodg": TY_HOSP}) == (
        f"data.orgCodg: must be this institution's code (the appId's) {SZ_HOSP}, not {TY_HOSP}")
    # an authorization given for another institution is usable by that one only
    other = world.authorize(EMPLOYEE, TY_HOSP)["pay_auth_no"]
    assert mp.refused(UPLOAD, {**data, "payAuthNo": other}).startswith(
        "data.payAuthNo: this authorization was given for another institution")
    # 30 minutes of the business clock: the next business day it has expired
    monkeypatch.setenv("YIBAO_TODAY", "2026-03-17")
    assert mp.refused(UPLOAD, data).startswith("data.payAuthNo: this authorization expired at 2026-03-16 ")


def test_the_pay_auth_api_and_1101_refusals(world: World) -> None:
    reply = world.http.post("/api/v1/ecredential/pay-auth", json={"fixmedins_code": SZ_HOSP})
    assert reply.status_code == 401
    token = issue(signing_key(world.store), "person", EMPLOYEE)
    reply = world.http.post("/api/v1/ecredential/pay-auth", json={"fixmedins_code": "H00000000000"},
                            headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 422 and reply.json()["detail"] == "fixmedins_code: no institution H00000000000"
    other = world.authorize(EMPLOYEE, TY_HOSP)["pay_auth_no"]
    with pytest.raises(PlatformError) as err:
        world.his().ok("1101", {"data": {"mdtrt_cert_type": "01", "mdtrt_cert_no": other}})
    assert err.value.err_msg.startswith("input.data.mdtrt_cert_no: this authorization was given for another")
    mine = world.authorize(EMPLOYEE)["pay_auth_no"]
    with pytest.raises(PlatformError) as err:
        world.his().ok("1101", {"data": {"mdtrt_cert_type": "01", "mdtrt_cert_no": mine}}, "140100")
    assert err.value.err_msg == "insuplc_admdvs: the holder of this authorization is insured in 440300, not 140100"


# -- the envelope ------------------------------------------------------------------------------------------------

def test_envelope_refusals_write_nothing(world: World) -> None:
    who, mp = world.who(EMPLOYEE), world.channel()
    pay_auth = world.authorize(EMPLOYEE)["pay_auth_no"]
    data = mp.order(who, EXAMPLE_A, pay_auth)
    # (set_app_enabled below touches the channel's updated_at: mobilepay_apps is compared apart)
    before, logs = snapshot(world.store, QUIET | {"mobilepay_apps"}), count(world.store, "message_log")

    other_private, _public = generate_keypair()
    status, answer = mp.post(UPLOAD, data, private=other_private)
    assert status == 401 and answer == {"code": 401, "message": "signData: the SM2 signature does not verify: the "
                                        "data, the envelope fields or the keys are not those that were signed"}
    sealed = seal(data, mp.app_id, mp.secret, mp.private)
    status, answer = mp.post_raw(UPLOAD, {**sealed, "encData": seal({"x": 1}, mp.app_id, mp.secret,
                                                                    mp.private)["encData"]})
    assert status == 401 and answer["message"].startswith("signData:")
    status, answer = mp.post_raw(UPLOAD, {**sealed, "appId": "H99999999999ABCDEF"})
    assert (status, answer["message"]) == (401, "appId: 'H99999999999ABCDEF' is not a mobile-payment app of this "
                                                "platform")
    status, answer = mp.post_raw(UPLOAD, {k: v for k, v in sealed.items() if k != "signData"})
    assert (status, answer["message"]) == (401, "signData: is missing")
    status, answer = mp.post(UPLOAD, data, timestamp=str(int((time.time() - 3600) * 1000)))
    # an hour old when made; a loaded machine may take seconds more before the platform reads it
    assert status == 401 and re.match(r"timestamp: is 36\d\d s old; at most 300 s", answer["message"])
    status, answer = mp.post_raw(UPLOAD, b"not json")
    assert status == 401 and answer["message"].startswith("body: is not UTF-8 JSON")
    keys.set_app_enabled(world.store, SZ_HOSP, False)
    status, answer = mp.post(UPLOAD, data)
    assert (status, answer["message"]) == (401, f"appId: the mobile-payment channel of {SZ_HOSP} is suspended")
    keys.set_app_enabled(world.store, SZ_HOSP, True)

    assert snapshot(world.store, QUIET | {"mobilepay_apps"}) == before
    assert count(world.store, "message_log") == logs + 7
    # re-registering replaces the key: the old private key no longer works
    _app_id, new_private, _platform = keys.register_app(world.store, SZ_HOSP)
    status, _answer = mp.post(UPLOAD, data)
    assert status == 401
    assert mp.post(UPLOAD, data, private=new_private)[1]["code"] == 0


def test_another_institutions_order_is_unknown(world: World) -> None:
    who, sz, ty = world.who(EMPLOYEE), world.channel(SZ_HOSP), world.channel(TY_HOSP)
    pay_auth = world.authorize(EMPLOYEE)["pay_auth_no"]
    order = sz.upload(who, EXAMPLE_A, pay_auth)
    unknown = f"data.payOrdId: no pay order {order['payOrdId']} of this institution"
    ref = {"payOrdId": order["payOrdId"], "payToken": order["payToken"]}
    assert ty.refused(QUERY, ref) == unknown
    assert ty.refused(PAY, {**ref, "payAuthNo": pay_auth}) == unknown
    assert ty.refused(REVOKE, ref) == unknown
    assert ty.refused(REFUND, sz.refund_data(order, "X1", "CASH", "1.00", "0.00", "0.00", revsToken="x")) == unknown
    assert sz.query(order)["ordStas"] == "0"


def test_the_platform_key_and_app_registration(world: World) -> None:
    public = keys.platform_public_key(world.store)
    assert keys.platform_public_key(world.store) == public
    app_id, private, platform_public = keys.register_app(world.store, SZ_HOSP)
    assert platform_public == public and app_id.startswith(SZ_HOSP) and len(app_id) == 32
    info = keys.app_info(world.store, SZ_HOSP)
    assert info is not None and info["app_id"] == app_id and info["enabled"] is True
    again, _private, _public = keys.register_app(world.store, SZ_HOSP)
    assert again == app_id
    _own_private, own_public = generate_keypair()
    assert keys.register_public_key(world.store, TY_HOSP, own_public, app_id="TY-HOSPITAL-APP-0001") == (
        "TY-HOSPITAL-APP-0001", public)
    from yibao.errors import Refusal

    with pytest.raises(Refusal, match="app_id: TY-HOSPITAL-APP-0001 is already the appId of institution"):
        keys.register_app(world.store, SZ_HOSP, app_id="TY-HOSPITAL-APP-0001")
    with pytest.raises(Refusal, match="fixmedins_code: no institution"):
        keys.register_app(world.store, "H00000000000")
    with pytest.raises(Refusal, match="public_key:"):
        keys.register_public_key(world.store, SZ_HOSP, "AAAA")
    with pytest.raises(EnvelopeError):
        open_sealed(seal({"a": 1}, app_id, "x", private), "x", keys.platform_public_key(world.store))
    with world.store.unit_of_work() as s:
        assert s.scalars(select(PayOrder)).all() == []


# -- concurrency -------------------------------------------------------------------------------------------------

def _fire(store: Store, path: str, bodies: list[bytes]) -> list[tuple[int, dict[str, Any]]]:
    """The same pipeline the routes run, from several threads released at once (own transactions each)."""
    import threading

    from yibao.mobilepay import routes

    infno, fn = next((i, f) for p, i, _n, f in routes.ROUTES if p == path)
    service = routes.MobilePay(store)
    start = threading.Barrier(len(bodies))
    answers: list[Any] = [None] * len(bodies)

    def send(i: int) -> None:
        start.wait()
        answers[i] = service.handle(infno, fn, bodies[i])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def test_concurrent_uploads_payments_and_refunds_happen_once(world: World) -> None:
    who, mp = world.who(EMPLOYEE), world.channel()
    pay_auth = world.authorize(EMPLOYEE)["pay_auth_no"]
    data = mp.order(who, EXAMPLE_A, pay_auth)
    uploads = _fire(world.store, UPLOAD, [wire.encode(seal(data, mp.app_id, mp.secret, mp.private))
                                          for _ in range(4)])
    opened = [open_sealed(a, mp.secret, mp.platform_public) for status, a in uploads if status == 200]
    assert len(opened) == 4 and len({o["payOrdId"] for o in opened}) == 1
    order = opened[0]
    with world.store.unit_of_work() as s:
        assert len(s.scalars(select(Visit).where(Visit.psn_no == EMPLOYEE)).all()) == 1

    pay = {"payOrdId": order["payOrdId"], "payToken": order["payToken"], "payAuthNo": pay_auth}
    paid = _fire(world.store, PAY, [wire.encode(seal(pay, mp.app_id, mp.secret, mp.private)) for _ in range(4)])
    setl_ids = {open_sealed(a, mp.secret, mp.platform_public)["setlId"] for _status, a in paid}
    assert len(setl_ids) == 1 and len(settlements(world.store)) == 1
    assert balance(world.store, EMPLOYEE) == D("304.00")

    revs = mp.query(order)["revsToken"]
    bodies = [wire.encode(seal(mp.refund_data({**order, "revsToken": revs}, f"C{i}", "ALL", "0.00", "196.00",
                                              "54.00"), mp.app_id, mp.secret, mp.private)) for i in range(4)]
    answers = [a for _status, a in _fire(world.store, REFUND, bodies)]
    assert sorted(a["code"] for a in answers) == [-1, -1, -1, 0]
    assert all(a["refStatus"] == "FAIL" and "exceeds" in a["message"] for a in answers if a["code"] != 0)
    assert balance(world.store, EMPLOYEE) == D("500.00") and usage(world.store, EMPLOYEE) == (D("0.00"), D("0.00"))
    assert sorted(r.status for r in settlements(world.store)) == ["cancelled", "reversal"]
