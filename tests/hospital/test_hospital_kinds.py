"""Inpatient stays (2401, 2301, 2402, 2303, 2304, 2305) and retail pharmacy sales (2101, 2102, 2103) through the
hospital's API, staff only, paid like bills: the cash part through any channel at the desk, the bedside or the
counter (a card at the terminal that read it), a failed cash leg undone by 2305 / 2103, a lost answer resent or
reversed, never guessed. Their slips (住院结算单 / 药店购药结算单) show mutual aid on its own line; the
reconciliation (3201/3202) counts them.

The platform and the hospital run in-process as in test_hospital.py; its dataset (hospital_world.py) is reused
and given inpatient and pharmacy policies and a pharmacy institution here (`KindsWorld`, this module's `WORLD`)."""

from __future__ import annotations

import copy
import json
import threading
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from hospital_world import (
    AUTH_KEY,
    CHILD,
    EMPLOYEE,
    PARENT,
    PERSONS,
    SECRETS,
    SZ_HOSP,
    TODAY,
    TY_HOSP,
    FakeChannel,
    LosingTransport,
    World,
    bearer,
    dataset,
)
from sqlalchemy import select

from yibao.hospital.api import create_hospital_app
from yibao.hospital.channels.base import CashOrder, ChannelRejected, ChannelResult
from yibao.hospital.config import HospitalConfig
from yibao.hospital.db import KindSettlement, Payment, Refund
from yibao.hospital.insurance import loads
from yibao.hospital.service import Hospital
from yibao.store.models import FeeDetail, Visit

D = Decimal
PHARMACY = "P44030000201"
FIGURES = ("medfee_sumamt", "fund_pay_sumamt", "hifp_pay", "acct_pay", "acct_mulaid_pay", "psn_cash_pay")


def kinds_dataset() -> dict[str, Any]:
    doc = copy.deepcopy(dataset())
    sz, _gz, ty = doc["regions"]
    sz["policies"] += [
        {"insutype": "310", "med_types": ["21"], "bucket": "inpatient", "deductible": "300.00", "ratio": "0.90",
         "annual_cap": "200000.00", "acct_scope": "policy"},
        {"insutype": "310", "med_types": ["41"], "bucket": "pharmacy", "deductible": "0.00", "ratio": "0",
         "annual_cap": "0.00", "acct_scope": "all"}]
    ty["policies"] += [
        {"insutype": "390", "med_types": ["21"], "bucket": "inpatient", "deductible": "0.00", "ratio": "0.50",
         "annual_cap": "10000.00", "acct_scope": "all"}]
    doc["institutions"].append({"code": PHARMACY, "name": "深圳示例药店", "admdvs": "440300", "kind": "pharmacy",
                                "xregion": "provincial", "secret": "pharmacy-secret"})
    return doc


class CardAt(FakeChannel):
    """A card acquirer that records the terminal each request comes from (`at` is CardChannel's); with
    `refuse_refunds` it refuses every refund."""

    def __init__(self, mode: str = "paid", refuse_refunds: bool = False):
        super().__init__("card", mode)
        self.terminal: str | None = None
        self.seen: list[tuple[str, str, str | None]] = []
        self.refuse_refunds = refuse_refunds

    def at(self, terminal_id: str) -> CardAt:
        other = copy.copy(self)  # the same orders and records, another terminal
        other.terminal = terminal_id
        return other

    def pay(self, order: CashOrder) -> ChannelResult:
        self.seen.append(("pay", order.out_trade_no, self.terminal))
        return super().pay(order)

    def refund(self, out_trade_no: str, refund_no: str, amount: Decimal) -> ChannelResult:
        self.seen.append(("refund", out_trade_no, self.terminal))
        if self.refuse_refunds:
            raise ChannelRejected("the card's account is closed")
        return super().refund(out_trade_no, refund_no, amount)


class Desk:
    def __init__(self, hospital: Hospital, channels: dict[str, Any]):
        self.hospital, self.channels = hospital, channels
        self.http = TestClient(create_hospital_app(hospital), headers=bearer("staff", "desk01"))

    def get(self, path: str, expect: int = 200, **kw: Any) -> Any:
        reply = self.http.get(path, **kw)
        assert reply.status_code == expect, (path, reply.status_code, reply.text)
        return reply.json()

    def post(self, path: str, body: dict[str, Any] | None = None, expect: int = 200, **kw: Any) -> Any:
        reply = self.http.post(path, json=body or {}, **kw)
        assert reply.status_code == expect, (path, reply.status_code, reply.text)
        return reply.json()

    def patient(self, psn_no: str) -> int:
        p = PERSONS[psn_no]
        body = {"name": p["name"], "certno": p["certno"], "mdtrt_cert_type": "02", "mdtrt_cert_no": p["certno"]}
        return int(self.post("/patients", body, 201)["patient_id"])

    def stay(self, pid: int, lines: list[tuple[str, str, str]]) -> str:
        no = str(self.post("/inpatient/stays", {"patient_id": pid, "begntime": "2026-03-10T08:00:00"}, 201)["no"])
        self.post(f"/inpatient/stays/{no}/fees", {"lines": [
            {"med_list_codg": code, "pric": pric, "cnt": cnt} for code, pric, cnt in lines]})
        return no

    def kept(self, no: str) -> KindSettlement:
        with self.hospital.db.session() as s:
            row = s.scalar(select(KindSettlement).where(KindSettlement.no == no))
            assert row is not None
            return row

    def payment(self, payment_no: str) -> Payment:
        with self.hospital.db.session() as s:
            row = s.scalar(select(Payment).where(Payment.payment_no == payment_no))
            assert row is not None
            return row


class KindsWorld(World):
    """The hospital world over kinds_dataset(); its hospitals are made by `desk` (stays and sales)."""

    def document(self) -> dict[str, Any]:
        return kinds_dataset()

    def desk(self, code: str = SZ_HOSP, platform_http: httpx.Client | None = None, **channels: Any) -> Desk:
        secret, admdvs, name = SECRETS[code] if code in SECRETS else ("pharmacy-secret", "440300", "深圳示例药店")
        config = HospitalConfig(fixmedins_code=code, secret=secret, admdvs=admdvs, fixmedins_name=name,
                                database_url=self.urls.new(f"kinds-{code}"),
                                platform_url="http://testserver", auth_key=AUTH_KEY,
                                card_devices=frozenset({"BED-12A"}))
        chans = channels or {"card": CardAt(), "wechat": FakeChannel("wechat", "pending")}
        hospital = Hospital(config, platform_http=platform_http or self.platform_http, channels=dict(chans))
        self.hospitals.append(hospital)
        return Desk(hospital, chans)


WORLD = KindsWorld  # the `world` fixture (tests/hospital/conftest.py) makes this one


def same_as_platform(world: KindsWorld, desk: Desk, done: dict[str, Any]) -> dict[str, Any]:
    """The answer's figures, the kept settlement output and the platform's settlement agree."""
    paid = done["payment"]
    info = loads(desk.payment(paid["payment_no"]).out_settle)["setlinfo"]
    platform = world.settlement(done["setl_id"])
    for key in FIGURES:
        assert D(paid["insurance"][key]) == info[key] == getattr(platform, key), key
    assert D(done["total"]) == D(paid["total"]) == platform.medfee_sumamt
    if platform.psn_cash_pay:
        assert D(paid["cash"]["amount"]) == platform.psn_cash_pay and paid["cash"]["status"] == "PAID"
    else:
        assert paid["cash"]["out_trade_no"] is None
    return dict(info)


def slip_shows(desk: Desk, setl_id: str, info: dict[str, Any], title: str, **kw: Any) -> str:
    html = desk.http.get(f"/slips/{setl_id}.html", **kw).text
    assert title in html
    for label, key in (("医疗费总额", "medfee_sumamt"), ("基金支付总额", "fund_pay_sumamt"),
                       ("个人账户支付", "acct_pay"), ("其中：个人账户共济支付", "acct_mulaid_pay"),
                       ("个人现金支付", "psn_cash_pay")):
        assert f"<th>{label}</th><td class=\"amount\">{info[key]:.2f}</td>" in html, label
    pdf = desk.http.get(f"/slips/{setl_id}.pdf", **kw)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and b"STSong-Light" in pdf.content
    return html


def test_a_stay_paid_at_the_bedside_slipped_cancelled_and_paid_again(world: KindsWorld) -> None:
    desk = world.desk()
    card = desk.channels["card"]
    pid = desk.patient(EMPLOYEE)
    stay = desk.post("/inpatient/stays", {"patient_id": pid, "begntime": "2026-03-10T08:00:00",
                                          "adm_dept_codg": "W1"}, 201)
    assert stay["status"] == "admitted" and stay["mdtrt_id"]
    no = stay["no"]
    up = desk.post(f"/inpatient/stays/{no}/fees", {"lines": [
        {"med_list_codg": "EX-DRUG-A", "name": "药品甲", "pric": "10.00", "cnt": "200"},
        {"med_list_codg": "EX-ITEM-C", "name": "项目丙", "pric": "50.00", "cnt": "2"}]})
    first = up["lines"][0]["feedetl_sn"]
    up = desk.post(f"/inpatient/stays/{no}/fees", {"lines": [
        {"med_list_codg": "EX-DRUG-A", "name": "药品甲退", "pric": "10.00", "cnt": "-20", "init_feedetl_sn": first}]})
    assert up["total"] == "1900.00" and len(up["lines"]) == 3
    row = desk.kept(no)
    assert len(row.outs_2301) == 2 and loads(row.outs_2301[0])["result"][1]["fulamt_ownpay_amt"] == D("100.00")
    desk.post(f"/inpatient/stays/{no}/settle", {"device": "NOT-OURS"}, 422)  # an unknown card terminal:
    assert desk.get(f"/inpatient/stays/{no}")["status"] == "admitted"  # refused before the discharge

    done = desk.post(f"/inpatient/stays/{no}/settle", {"endtime": "2026-03-15T10:00:00", "terminal": "bedside",
                                                       "device": "BED-12A"})
    assert done["status"] == "settled" and done["payment"]["status"] == "paid", done
    info = same_as_platform(world, desk, done)
    # deductible 300, ratio 0.90: hifp 1350.00; the account (12.00) within the policy scope, cash the rest by card
    assert (info["hifp_pay"], info["acct_pay"], info["acct_mulaid_pay"], info["psn_cash_pay"]) == (
        D("1350.00"), D("12.00"), D("0.00"), D("538.00"))
    paid = done["payment"]
    assert (paid["kind"], paid["stay_no"], paid["terminal"], paid["device"]) == ("inpatient", no, "bedside", "BED-12A")
    assert card.seen == [("pay", paid["payment_no"], "BED-12A")]
    assert loads(desk.kept(no).out_pre)["setlinfo"]["hifp_pay"] == D("1350.00")  # 2303 kept too
    assert world.balance(EMPLOYEE) == D("0.00")
    html = slip_shows(desk, done["setl_id"], info, "住院结算单")
    assert "药品甲退" in html and "门诊医保结算单" not in html and "银行卡 (BED-12A)" in html and no in html
    # the patient opens his own slip from the phone; another patient cannot see it
    slip_shows(desk, done["setl_id"], info, "住院结算单", headers=bearer("patient", pid))
    other = desk.post("/patients", {"name": "自费者", "certno": "440301199202021012"}, 201)["patient_id"]
    assert desk.http.get(f"/slips/{done['setl_id']}.html", headers=bearer("patient", other)).status_code == 404
    assert desk.post(f"/inpatient/stays/{no}/settle", {}) == done  # asked again: the same payment answers

    back = desk.post(f"/inpatient/stays/{no}/cancel", {"reason": "费用录入有误"})
    assert back["status"] == "discharged" and back["payment"]["status"] == "refunded", back
    assert card.seen[-1] == ("refund", paid["payment_no"], "BED-12A")  # refunded by the terminal that read it
    assert loads(desk.payment(paid["payment_no"]).out_cancel)["setlinfo"]["refd_setl_id"]
    assert world.settlement(done["setl_id"]).status == "cancelled"
    assert world.balance(EMPLOYEE) == D("12.00")
    assert "已撤销" in desk.http.get(f"/slips/{done['setl_id']}.html").text
    desk.post(f"/inpatient/stays/{no}/cancel", {}, 409)

    # the stay is settled again (the platform's lines are unsettled again), this time at the desk's terminal
    again = desk.post(f"/inpatient/stays/{no}/settle", {})
    assert again["status"] == "settled" and again["setl_id"] != done["setl_id"], again
    assert again["payment"]["device"] == "CASHIER-01" and card.seen[-1][2] == "CASHIER-01"
    same_as_platform(world, desk, again)
    assert world.settlements_of(stay["mdtrt_id"]) == 1

    # the reconciliation counts the stay's settlements and its cancellation, from the kept outputs
    rec = desk.post("/reconciliation", {"begin": TODAY, "end": TODAY})
    assert (rec["records"], rec["balanced"]) == (3, True), rec


def test_a_stay_paid_by_family_mutual_aid_takes_no_cash(world: KindsWorld) -> None:
    desk = world.desk(TY_HOSP)
    child = desk.patient(CHILD)
    no = desk.stay(child, [("EX-DRUG-A", "100.00", "2")])
    done = desk.post(f"/inpatient/stays/{no}/settle", {"acct_used_flag": "1"})
    info = same_as_platform(world, desk, done)
    assert (info["medfee_sumamt"], info["hifp_pay"], info["acct_pay"], info["acct_mulaid_pay"],
            info["psn_cash_pay"]) == (D("200.00"), D("100.00"), D("100.00"), D("100.00"), D("0.00"))
    assert world.balance(PARENT) == D("2900.00") and desk.channels["card"].seen == []
    slip_shows(desk, done["setl_id"], info, "住院结算单")
    desk.post(f"/inpatient/stays/{no}/cancel")
    assert world.balance(PARENT) == D("3000.00")


def test_a_pharmacy_sale_paid_slipped_and_cancelled(world: KindsWorld) -> None:
    desk = world.desk(PHARMACY)
    pid = desk.patient(EMPLOYEE)
    sale = desk.post("/pharmacy/sales", {"patient_id": pid, "lines": [
        {"med_list_codg": "EX-DRUG-A", "name": "药品甲", "pric": "20.00", "cnt": "3"},
        {"med_list_codg": "EX-DRUG-B", "name": "药品乙", "pric": "120.00", "cnt": "1"}]}, 201)
    assert sale["status"] == "settled", sale
    info = same_as_platform(world, desk, sale)
    assert (info["medfee_sumamt"], info["fund_pay_sumamt"], info["acct_pay"], info["psn_cash_pay"]) == (
        D("180.00"), D("0.00"), D("12.00"), D("168.00"))
    row = desk.kept(sale["no"])
    assert loads(row.out_pre)["setlinfo"]["mdtrt_id"] == ""
    assert loads(desk.payment(sale["payment"]["payment_no"]).out_settle)["detlcutinfo"]
    assert row.mdtrt_id == sale["payment"]["insurance"]["mdtrt_id"] and row.lines[0]["inscp_scp_amt"]
    html = slip_shows(desk, sale["setl_id"], info, "药店购药结算单")
    assert "药品乙" in html and sale["no"] in html
    back = desk.post(f"/pharmacy/sales/{sale['no']}/cancel")
    assert back["status"] == "cancelled" and back["payment"]["cash"]["status"] == "REFUNDED", back
    assert world.settlement(sale["setl_id"]).status == "cancelled"
    assert world.balance(EMPLOYEE) == D("12.00")
    assert "已撤销" in desk.http.get(f"/slips/{sale['setl_id']}.html").text
    desk.post(f"/pharmacy/sales/{sale['no']}/cancel", {}, 409)
    desk.post(f"/pharmacy/sales/{sale['no']}/pay", {}, 409)  # a cancelled sale is not paid again


@pytest.mark.parametrize("mode", ["failed", "rejected"])
def test_a_failed_cash_leg_undoes_the_stay_and_the_sale(world: KindsWorld, mode: str) -> None:
    desk = world.desk(card=CardAt(mode), alipay=FakeChannel("alipay"))
    pid = desk.patient(EMPLOYEE)
    no = desk.stay(pid, [("EX-DRUG-A", "10.00", "50")])
    mdtrt_id = desk.kept(no).mdtrt_id
    out = desk.post(f"/inpatient/stays/{no}/settle", {})
    assert out["status"] == "discharged" and out["payment"]["status"] == "failed", out  # payable again
    assert out["payment"]["insurance"]["status"] == "cancelled"
    assert world.settlements_of(mdtrt_id) == 0 and world.settlements_of(mdtrt_id, "cancelled") == 1
    assert world.balance(EMPLOYEE) == D("12.00")
    paid = desk.post(f"/inpatient/stays/{no}/settle", {"channel": "alipay"})
    assert paid["status"] == "settled" and world.settlements_of(mdtrt_id) == 1

    shop = world.desk(PHARMACY, card=CardAt(mode), alipay=FakeChannel("alipay"))
    pid = shop.patient(EMPLOYEE)
    sale = shop.post("/pharmacy/sales", {"patient_id": pid, "lines": [
        {"med_list_codg": "EX-DRUG-B", "pric": "120.00", "cnt": "1"}]}, 201)
    assert sale["status"] == "open" and sale["payment"]["status"] == "failed", sale
    assert world.settlement(sale["payment"]["insurance"]["setl_id"]).status == "cancelled"  # 2103
    again = shop.post(f"/pharmacy/sales/{sale['no']}/pay", {"channel": "alipay"})
    assert again["status"] == "settled" and again["payment"]["cash"]["status"] == "PAID", again


def test_a_stay_is_paid_from_the_inpatient_deposit_by_the_health_code(world: KindsWorld) -> None:
    desk = world.desk()
    pid = desk.patient(EMPLOYEE)
    desk.post(f"/patients/{pid}/codes", {"health_code": "EHC-WARD-7"})
    desk.post("/deposits/top-up", {"code": "EHC-WARD-7", "amount": "300.00", "channel": "card"}, 201)
    no = desk.stay(pid, [("EX-DRUG-A", "10.00", "50")])
    short = desk.post(f"/inpatient/stays/{no}/settle", {"channel": "deposit", "terminal": "bedside"})
    # the cash part (deductible 300 + 10% of 200 - the account 12) is 308.00: the deposit refuses, 2305 undoes
    assert (short["status"], short["payment"]["status"]) == ("discharged", "failed"), short["payment"]
    assert "below 308.00" in short["payment"]["error"] and world.settlements_of(short["mdtrt_id"]) == 0
    assert D(desk.get(f"/patients/{pid}/deposit")["balance"]) == D("300.00")
    desk.post("/deposits/top-up", {"code": "EHC-WARD-7", "amount": "200.00", "channel": "card"}, 201)
    done = desk.post(f"/inpatient/stays/{no}/settle", {"channel": "deposit", "terminal": "bedside"})
    assert done["status"] == "settled", done["payment"]
    assert D(same_as_platform(world, desk, done)["psn_cash_pay"]) == D("308.00")
    assert D(desk.get(f"/patients/{pid}/deposit")["balance"]) == D("192.00")
    desk.post(f"/inpatient/stays/{no}/cancel")  # the cash part goes back to the deposit
    assert D(desk.get(f"/patients/{pid}/deposit")["balance"]) == D("500.00")


def test_a_stay_payment_retried_with_its_key_settles_once(world: KindsWorld) -> None:
    desk = world.desk()
    pid = desk.patient(EMPLOYEE)
    no = desk.stay(pid, [("EX-DRUG-A", "10.00", "50")])
    key = {"Idempotency-Key": "bed-7-settle"}
    first = desk.post(f"/inpatient/stays/{no}/settle", {}, headers=key)
    again = desk.post(f"/inpatient/stays/{no}/settle", {}, headers=key)
    assert first == again and first["status"] == "settled"
    assert [op for op, *_ in desk.channels["card"].seen] == ["pay"]
    assert world.settlements_of(first["mdtrt_id"]) == 1


def test_lost_answers_are_resent_or_reversed_never_guessed(world: KindsWorld,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from yibao.hospital.cashier import later

    # 2401 never answered (three tries): reversed by 2601, nothing stands
    losing = LosingTransport(world.platform_http, "2401", 3)
    desk = world.desk(platform_http=httpx.Client(transport=losing))
    pid = desk.patient(EMPLOYEE)
    assert "reversed by 2601" in desk.post("/inpatient/stays", {"patient_id": pid}, 503)["detail"]
    with world.store.unit_of_work() as s:
        visits = list(s.scalars(select(Visit.status).where(Visit.psn_no == EMPLOYEE)))
    assert visits == ["cancelled"]

    # 2301 never answered: kept, and sent again (the same msgid) before the next upload; no line twice
    no = str(desk.post("/inpatient/stays", {"patient_id": pid}, 201)["no"])
    losing.infno, losing.times = "2301", 3
    lines = {"lines": [{"med_list_codg": "EX-DRUG-A", "pric": "10.00", "cnt": "50"}]}
    assert "sent again" in desk.post(f"/inpatient/stays/{no}/fees", lines, 504)["detail"]
    assert desk.get(f"/inpatient/stays/{no}")["pending"] == "2301"
    up = desk.post(f"/inpatient/stays/{no}/fees", {"lines": [{"med_list_codg": "EX-ITEM-C", "pric": "50.00",
                                                              "cnt": "1"}]})
    assert (up["pending"], len(up["lines"]), up["total"]) == (None, 2, "550.00")
    mdtrt_id = up["mdtrt_id"]
    with world.store.unit_of_work() as s:
        assert len(list(s.scalars(select(FeeDetail.feedetl_sn).where(FeeDetail.mdtrt_id == mdtrt_id)))) == 2

    # 2304 answered only on the second try: the same message again, one settlement
    losing.infno, losing.times = "2304", 1
    done = desk.post(f"/inpatient/stays/{no}/settle", {})
    assert done["status"] == "settled" and world.settlements_of(mdtrt_id) == 1
    desk.post(f"/inpatient/stays/{no}/cancel")

    # 2304 never answered: the payment stays settling; later it is learned (it did commit) and undone
    losing.times = 3
    out = desk.post(f"/inpatient/stays/{no}/settle", {})
    assert out["status"] == "paying" and out["payment"]["status"] == "settling", out
    assert "outcome unknown" in out["payment"]["error"] and world.settlements_of(mdtrt_id) == 1
    monkeypatch.setattr(later, "SETTLING_GRACE", timedelta(0))
    left = desk.get(f"/payments/{out['payment']['payment_no']}", params={"refresh": "true"})
    assert (left["status"], left["insurance"]["status"]) == ("failed", "cancelled"), left
    assert world.settlements_of(mdtrt_id) == 0 and desk.get(f"/inpatient/stays/{no}")["status"] == "discharged"


def test_the_new_kinds_are_for_staff_only(world: KindsWorld) -> None:
    desk = world.desk()
    pid = desk.patient(EMPLOYEE)
    phone = bearer("patient", pid)
    assert desk.http.post("/inpatient/stays", json={"patient_id": pid}, headers=phone).status_code == 403
    assert desk.http.post("/pharmacy/sales", json={"patient_id": pid, "lines": [
        {"med_list_codg": "EX-DRUG-A", "pric": "1", "cnt": "1"}]}, headers=phone).status_code == 403
    desk.post("/inpatient/stays/NOSUCH/settle", {}, 404)


class Losing(LosingTransport):
    """LosingTransport for several messages at once: {infno: how many answers to lose}."""

    def __init__(self, platform: TestClient, losses: dict[str, int]):
        super().__init__(platform, "", 0)
        self.losses = losses

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        reply = self.platform.post(str(request.url), content=body, headers=dict(request.headers))
        infno = json.loads(body).get("infno")
        if self.losses.get(infno, 0) > 0:
            self.losses[infno] -= 1
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return httpx.Response(reply.status_code, content=reply.content, headers=reply.headers)


def test_no_cash_goes_back_before_the_settlement_is_undone(world: KindsWorld) -> None:
    losing = Losing(world.platform_http, {})
    desk = world.desk(platform_http=httpx.Client(transport=losing), card=CardAt(refuse_refunds=True))
    pid = desk.patient(EMPLOYEE)
    no = desk.stay(pid, [("EX-DRUG-A", "10.00", "50")])
    done = desk.post(f"/inpatient/stays/{no}/settle", {})
    assert done["status"] == "settled"
    # 2305 unanswered: the refund waits, the card is not refunded while the settlement stands
    losing.losses["2305"] = 3
    waiting = desk.post(f"/inpatient/stays/{no}/cancel", {"reason": "出院带药退回"})
    assert waiting["payment"]["status"] == "refunding" and desk.channels["card"].seen[-1][0] == "pay", waiting
    assert "2305 outcome unknown" in waiting["payment"]["error"]  # (the platform did it; the answer was lost)
    # asked again: 2305 done; the card refuses the refund: not asked again, the desk gives the cash back
    again = desk.post(f"/inpatient/stays/{no}/cancel", {})
    assert world.settlement(done["setl_id"]).status == "cancelled"
    assert again["payment"]["status"] == "refunding" and desk.channels["card"].seen[-1][0] == "refund"
    refund = desk.get(f"/payments/{done['payment']['payment_no']}", params={"refresh": "true"})
    assert refund["status"] == "refunding" and [op for op, *_ in desk.channels["card"].seen].count("refund") == 1
    with desk.hospital.db.session() as s:
        refund_no = s.scalar(select(Refund.refund_no))
    given = desk.post(f"/refunds/{refund_no}/cash-given", {"reason": "现金退还 538.00, 收据 0012"})
    assert (given["status"], given["refund"]["cash_status"]) == ("refunded", "GIVEN_AT_DESK"), given
    assert "desk01" in given["refund"]["error"]
    assert desk.get(f"/inpatient/stays/{no}")["status"] == "discharged"
    assert desk.http.post(f"/refunds/{refund_no}/cash-given", json={"reason": "x"},
                          headers=bearer("patient", pid)).status_code == 403


def test_an_admission_whose_answer_and_reversal_were_lost_is_reversed_before_the_next(world: KindsWorld) -> None:
    losing = Losing(world.platform_http, {"2401": 3, "2601": 1})
    desk = world.desk(platform_http=httpx.Client(transport=losing))
    pid = desk.patient(EMPLOYEE)
    assert "reversed before the next admission" in desk.post("/inpatient/stays", {"patient_id": pid}, 504)["detail"]
    stay = desk.post("/inpatient/stays", {"patient_id": pid}, 201)  # 2601 first (answered now), then 2401
    with world.store.unit_of_work() as s:
        visits = sorted(s.scalars(select(Visit.status).where(Visit.psn_no == EMPLOYEE)))
    assert visits == ["cancelled", "open"] and stay["status"] == "admitted", visits
    with desk.hospital.db.session() as s:
        kept = {row.status: row.pending for row in s.scalars(select(KindSettlement))}
    assert kept == {"reversed": None, "admitted": None}


def test_idempotency_keys_name_one_payment_of_one_thing(world: KindsWorld) -> None:
    desk = world.desk()
    pid = desk.patient(EMPLOYEE)
    first = desk.stay(pid, [("EX-DRUG-A", "10.00", "5")])
    paid = desk.post(f"/inpatient/stays/{first}/settle", {}, headers={"Idempotency-Key": "K-1"})
    second = desk.stay(pid, [("EX-DRUG-A", "10.00", "6")])
    assert "other bills" in desk.post(f"/inpatient/stays/{second}/settle", {}, 409,
                                      headers={"Idempotency-Key": "K-1"})["detail"]
    assert desk.get(f"/inpatient/stays/{second}")["status"] == "admitted"  # refused before the discharge
    assert desk.post(f"/inpatient/stays/{first}/settle", {}, headers={"Idempotency-Key": "K-1"}) == paid

    shop = world.desk(PHARMACY)
    pid = shop.patient(EMPLOYEE)
    body = {"patient_id": pid, "lines": [{"med_list_codg": "EX-DRUG-B", "pric": "120.00", "cnt": "1"}]}
    sale = shop.post("/pharmacy/sales", body, 201, headers={"Idempotency-Key": "counter-3-0042"})
    again = shop.post("/pharmacy/sales", body, 201, headers={"Idempotency-Key": "counter-3-0042"})
    assert again["no"] == sale["no"] and again["status"] == "settled"
    with shop.hospital.db.session() as s:
        assert len(list(s.scalars(select(KindSettlement.no)))) == 1
    shop.post("/pharmacy/sales", {**body, "device": "NOT-OURS"}, 422)
    with shop.hospital.db.session() as s:
        assert len(list(s.scalars(select(KindSettlement.no)))) == 1  # nothing written for a refused sale


class Unsent(httpx.BaseTransport):
    """The first `times` messages of `infno` never reach the platform (the connection fails before it)."""

    def __init__(self, platform: TestClient, infno: str, times: int):
        self.platform, self.infno, self.times = platform, infno, times

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        if json.loads(body).get("infno") == self.infno and self.times > 0:
            self.times -= 1
            raise httpx.ConnectError("connection reset", request=request)
        reply = self.platform.post(str(request.url), content=body, headers=dict(request.headers))
        return httpx.Response(reply.status_code, content=reply.content, headers=reply.headers)


def test_a_kept_upload_whose_sign_in_went_stale_is_signed_in_again(world: KindsWorld) -> None:
    unsent = Unsent(world.platform_http, "2301", 3)
    desk = world.desk(platform_http=httpx.Client(transport=unsent))
    pid = desk.patient(EMPLOYEE)
    no = str(desk.post("/inpatient/stays", {"patient_id": pid}, 201)["no"])
    lines = {"lines": [{"med_list_codg": "EX-DRUG-A", "pric": "10.00", "cnt": "50"}]}
    desk.post(f"/inpatient/stays/{no}/fees", lines, 504)
    desk.hospital.insurance.client.sign_out()  # the kept message's sign_no is no longer valid (9002)
    up = desk.post(f"/inpatient/stays/{no}/fees", {"lines": [{"med_list_codg": "EX-ITEM-C", "pric": "50.00",
                                                              "cnt": "1"}]})
    assert (up["pending"], len(up["lines"]), up["total"]) == (None, 2, "550.00"), up
    with world.store.unit_of_work() as s:
        assert len(list(s.scalars(select(FeeDetail.feedetl_sn).where(FeeDetail.mdtrt_id == up["mdtrt_id"])))) == 2


def test_concurrent_uploads_to_one_stay_keep_every_line(world: KindsWorld) -> None:
    desk = world.desk()
    pid = desk.patient(EMPLOYEE)
    no = str(desk.post("/inpatient/stays", {"patient_id": pid}, 201)["no"])
    answers: list[int] = []

    def upload(i: int) -> None:
        reply = desk.http.post(f"/inpatient/stays/{no}/fees", json={"lines": [
            {"med_list_codg": "EX-DRUG-A", "pric": "1.00", "cnt": str(i)}]})
        answers.append(reply.status_code)

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(1, 7)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stay = desk.get(f"/inpatient/stays/{no}")
    assert answers == [200] * 6 and len(stay["lines"]) == 6 and stay["total"] == "21.00", (answers, stay)
    assert len({x["feedetl_sn"] for x in stay["lines"]}) == 6
    with world.store.unit_of_work() as s:
        assert len(list(s.scalars(select(FeeDetail.feedetl_sn).where(FeeDetail.mdtrt_id == stay["mdtrt_id"])))) == 6

