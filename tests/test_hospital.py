"""`yibao hospital`: the internet-hospital service beside a HIS, talking to the platform only by the wire protocol.

The platform runs in-process (create_app over the test store, on SQLite and PostgreSQL); the hospital in-process
too, over its own SQLite file, with a small fake payment channel of this file (the real adapters are tested in
their own module). A patient is walked through lookup, first visit, booking, registration, bills, a mixed
insurance + self-pay payment, the slip, a doctor's suspension and the refund of the registration fee; then the
rules of paying: a failed cash leg undoes the insurance leg, a duplicate request settles once, the 5-second time
box, an unknown outcome resolved by query; reconciliation, monthly clearing and the command.

The API wants a bearer token (test_hospital_auth.py tests who may do what): the desk here speaks as staff
(`staff_headers`), the phone as the patient (`patient_headers`).
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from helpers import HospitalURLs
from sqlalchemy import func, select
from typer.testing import CliRunner

from yibao.app import create_app
from yibao.dataset.loader import load_document
from yibao.hospital import auth
from yibao.hospital import cli as hospital_cli
from yibao.hospital.api import create_hospital_app
from yibao.hospital.channels.base import (
    BadCallback,
    CallbackEvent,
    CashOrder,
    Channel,
    ChannelRejected,
    ChannelResult,
    ChannelTimeout,
    Status,
)
from yibao.hospital.config import HospitalConfig, load_config
from yibao.hospital.service import Hospital
from yibao.store.db import Store
from yibao.store.models import Account, MutualAidAuthorization, Settlement
from yibao.timebox import Clock, DrivenClock

D = Decimal
TODAY = "2026-03-16"

# -- the platform's world: Shenzhen (the hospital), Guangzhou (insured elsewhere in the province), Taiyuan ------

CATALOG = [
    {"code": "001101000020000", "name": "普通门诊挂号费", "chrgitm_lv": "03", "selfpay_prop": "1",
     "pric_uplmt_amt": None, "med_chrgitm_type": "13"},
    {"code": "EX-DRUG-A", "name": "药品甲", "chrgitm_lv": "01", "selfpay_prop": "0", "pric_uplmt_amt": None,
     "med_chrgitm_type": "09"},
    {"code": "EX-DRUG-B", "name": "药品乙", "chrgitm_lv": "02", "selfpay_prop": "0.10", "pric_uplmt_amt": "100.00",
     "med_chrgitm_type": "09"},
    {"code": "EX-ITEM-C", "name": "项目丙", "chrgitm_lv": "03", "selfpay_prop": "1", "pric_uplmt_amt": None,
     "med_chrgitm_type": "14"},
]
MUTUAL_AID = {"enabled": True, "authorizer_min_balance": None,
              "relation_limits": {"spouse": 1, "father": 1, "mother": 1, "child": 4}}
SZ_HOSP, TY_HOSP = "H44030000201", "H14010000201"
SECRETS = {SZ_HOSP: ("hosp-secret-sz", "440300", "示例互联网医院(深圳)"),
           TY_HOSP: ("hosp-secret-ty", "140100", "示例医院(太原)")}
EMPLOYEE = "44030000000000000201"  # Shenzhen employee, own balance 12.00
GZ_EMPLOYEE = "44010000000000000201"  # Guangzhou employee treated in Shenzhen
PARENT = "14010000000000000201"  # worked example B: Taiyuan employee, balance 3000.00
CHILD = "14010000000000000202"  # worked example B: Taiyuan resident child, quota 1000.00 on the parent


def policy(insutype: str, deductible: str, ratio: str, cap: str) -> dict[str, Any]:
    return {"insutype": insutype, "med_types": ["11"], "bucket": "outpatient", "deductible": deductible,
            "ratio": ratio, "annual_cap": cap, "acct_scope": "all"}


def region(admdvs: str, name: str, policies: list[dict[str, Any]]) -> dict[str, Any]:
    return {"admdvs": admdvs, "name": name, "acct_bookkeeping": True, "inprov_outpatient_filing_required": False,
            "referral_filing_max_days": 90, "mutual_aid": copy.deepcopy(MUTUAL_AID), "local_only_diseases": [],
            "diseases": [], "policies": policies, "catalog": copy.deepcopy(CATALOG)}


def person(psn_no: str, name: str, certno: str, insutype: str, admdvs: str, psn_type: str,
           balance: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "psn_no": psn_no, "name": name, "certno": certno, "gend": "1" if int(certno[16]) % 2 else "2",
        "brdy": f"{certno[6:10]}-{certno[10:12]}-{certno[12:14]}", "insutype": insutype, "admdvs": admdvs,
        "psn_type": psn_type, "arrears": False, "suspended": False, "ecard": f"EC-{psn_no}",
        "card_no": f"SC{psn_no[-8:]}"}
    if balance is not None:
        out["account"] = {"balance": balance, "admdvs": admdvs}
    return out


PERSONS = {
    EMPLOYEE: person(EMPLOYEE, "例甲", "440301199001011015", "310", "440300", "1101", "12.00"),
    GZ_EMPLOYEE: person(GZ_EMPLOYEE, "例广", "440106198408211031", "310", "440100", "1101", "500.00"),
    PARENT: person(PARENT, "例父", "140101197001011014", "310", "140100", "1101", "3000.00"),
    CHILD: person(CHILD, "例童", "14010120180101102X", "390", "140100", "1402"),
}


def dataset() -> dict[str, Any]:
    return {
        "today": TODAY,
        "regions": [
            region("440300", "深圳市(示例)", [policy("310", "100.00", "0.60", "5000.00"),
                                              policy("390", "0.00", "0.50", "800.00")]),
            region("440100", "广州市(示例)", [policy("310", "0.00", "0.70", "4000.00")]),
            region("140100", "太原市(示例)", [policy("390", "0.00", "0.50", "800.00"),
                                              policy("310", "100.00", "0.60", "5000.00")]),
        ],
        "institutions": [
            {"code": SZ_HOSP, "name": SECRETS[SZ_HOSP][2], "admdvs": "440300", "kind": "hospital", "level": "3",
             "xregion": "provincial", "internet": True, "secret": SECRETS[SZ_HOSP][0]},
            {"code": TY_HOSP, "name": SECRETS[TY_HOSP][2], "admdvs": "140100", "kind": "hospital", "level": "2",
             "xregion": "none", "internet": False, "secret": SECRETS[TY_HOSP][0]},
        ],
        "persons": list(PERSONS.values()),
        "mutual_aid": [{"authorizer": PARENT, "beneficiary": CHILD, "relation": "child", "quota": "1000.00",
                        "start": "2026-01-01", "end": "2026-12-31", "priority": 1}],
        "filings": [],
    }


SETUP = {
    "departments": [{"code": "D01", "name": "内科", "caty": "A03"}, {"code": "D02", "name": "儿科", "caty": "A07"}],
    "doctors": [{"code": "DR01", "name": "张医生", "dept_code": "D01", "title": "主任医师"},
                {"code": "DR02", "name": "李医生", "dept_code": "D02", "title": "主治医师"}],
    "slots": [{"doctor": "DR01", "days": 2, "periods": ["am", "pm"], "capacity": 5, "fee": "20.00"},
              {"doctor": "DR02", "days": 1, "periods": ["am", "pm"], "capacity": 5, "fee": "10.00"}],
}


# -- tokens: every hospital of this file signs with AUTH_KEY ------------------------------------------------------

AUTH_KEY = "test-hospital-auth-key"


def bearer(kind: str, subject: str | int, key: str = AUTH_KEY, days: float = 1.0) -> dict[str, str]:  # float-ok
    return {"Authorization": f"Bearer {auth.issue(key.encode(), kind, subject, days)}"}


def patient_headers(patient_id: int) -> dict[str, str]:
    """What a patient's phone sends: his own token."""
    return bearer("patient", patient_id)


@pytest.fixture
def staff_headers() -> dict[str, str]:
    """What the HIS, the cashier desk and the terminals send."""
    return bearer("staff", "desk01")


# -- a small payment channel of this file ------------------------------------------------------------------------

class FakeChannel(Channel):
    """Modes: paid (answers PAID at once, a card), pending (PENDING with a pay_url, WeChat/Alipay), failed,
    rejected (ChannelRejected), lost (pay times out and the order never arrived), applied (pay times out but
    the order was paid), slow (PAID after `delay` seconds), held (takes `delay` seconds of the driven `clock`,
    then answers PAID once the test sets `release`). Callbacks are JSON signed by the header x-fake-sig."""

    def __init__(self, name: str, mode: str = "paid", delay: float = 0.0,  # float-ok: seconds
                 clock: DrivenClock | None = None):
        self.name, self.mode, self.delay, self.clock = name, mode, delay, clock
        self.release = threading.Event()
        self.orders: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, Decimal] = {}
        self.calls: list[tuple[str, str]] = []
        self._sequence: dict[str, int] = {}
        self._lock = threading.Lock()

    def _result(self, no: str) -> ChannelResult:
        o = self.orders.get(no)
        if o is None:
            return ChannelResult.not_found(no)
        return ChannelResult(no, o["status"], o["amount"], o.get("trade_no"), o.get("paid_at"), o["refunded"],
                             pay_url=o.get("pay_url"))

    def _new(self, order: CashOrder, status: Status) -> None:
        self.orders[order.out_trade_no] = {"status": status, "amount": order.amount, "refunded": D("0.00"),
                                           "trade_no": f"T{order.out_trade_no}" if status == Status.PAID else None,
                                           "paid_at": datetime.now() if status == Status.PAID else None,
                                           "pay_url": f"weixin://pay/{order.out_trade_no}"
                                           if status == Status.PENDING else None}

    def pay(self, order: CashOrder) -> ChannelResult:
        self.calls.append(("pay", order.out_trade_no))
        if order.out_trade_no in self.orders:  # the same order again: its state
            return self._result(order.out_trade_no)
        if self.mode == "rejected":
            raise ChannelRejected("card declined by the issuer")
        if self.mode == "lost":
            raise ChannelTimeout("no answer")
        if self.mode == "slow":
            time.sleep(self.delay)
        if self.mode == "held":
            assert self.clock is not None, "a held channel takes the driven clock's time"
            self.clock.advance(self.delay)
            assert self.release.wait(30), "the test never released the channel"
        status = {"paid": Status.PAID, "slow": Status.PAID, "held": Status.PAID, "applied": Status.PAID,
                  "pending": Status.PENDING, "failed": Status.FAILED}[self.mode]
        self._new(order, status)
        if self.mode == "applied":
            raise ChannelTimeout("the answer was lost")
        return self._result(order.out_trade_no)

    def query(self, out_trade_no: str) -> ChannelResult:
        self.calls.append(("query", out_trade_no))
        return self._result(out_trade_no)

    def refund(self, out_trade_no: str, refund_no: str, amount: Decimal) -> ChannelResult:
        self.calls.append(("refund", out_trade_no))
        o = self.orders[out_trade_no]
        if refund_no not in self.refunds:
            if o["refunded"] + amount > o["amount"]:
                raise ChannelRejected("more than was paid")
            self.refunds[refund_no] = amount
            o["refunded"] += amount
            o["status"] = Status.REFUNDED if o["refunded"] == o["amount"] else Status.PARTIALLY_REFUNDED
        return self._result(out_trade_no)

    def close(self, out_trade_no: str) -> ChannelResult:
        self.calls.append(("close", out_trade_no))
        o = self.orders.get(out_trade_no)
        if o is None:
            self.orders[out_trade_no] = {"status": Status.CLOSED, "amount": D("0.00"), "refunded": D("0.00")}
        elif o["status"] == Status.PAID:
            raise ChannelRejected("a paid order cannot be closed")
        else:
            o["status"] = Status.CLOSED
        return self._result(out_trade_no)

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> CallbackEvent:
        if headers.get("x-fake-sig") != "ok":
            raise BadCallback("signature does not check")
        e = json.loads(body)
        return CallbackEvent(e["event_id"], e["out_trade_no"], Status(e["status"]), D(e["amount"]),
                             e.get("channel_trade_no"), int(e["sequence"]))

    # -- the provider's side, for the tests -------------------------------------------------------------------
    def event(self, out_trade_no: str, status: Status, sequence: int | None = None) -> dict[str, Any]:
        """The payer acts in his app: the order changes and a callback body is made."""
        with self._lock:
            o = self.orders[out_trade_no]
            o["status"] = status
            if status == Status.PAID:
                o["trade_no"], o["paid_at"] = f"T{out_trade_no}", datetime.now()
            seq = sequence or self._sequence.get(out_trade_no, 0) + 1
            self._sequence[out_trade_no] = max(seq, self._sequence.get(out_trade_no, 0))
            return {"event_id": f"E{out_trade_no}-{seq}", "out_trade_no": out_trade_no, "status": status.value,
                    "amount": str(o["amount"]), "channel_trade_no": o.get("trade_no"), "sequence": seq}


# -- the two systems side by side --------------------------------------------------------------------------------

class World:
    def __init__(self, store: Store, tmp: Path, urls: HospitalURLs):
        self.store, self.tmp, self.urls = store, tmp, urls
        load_document(store, dataset())
        self.platform_http = TestClient(create_app(store))
        self.hospitals: list[Hospital] = []

    def hospital(self, code: str = SZ_HOSP, answer_within: float = 5.0,  # float-ok: seconds
                 platform_http: httpx.Client | None = None, clock: Clock | None = None, **channels: Any) -> Desk:
        secret, admdvs, name = SECRETS[code]
        config = HospitalConfig(fixmedins_code=code, secret=secret, admdvs=admdvs, fixmedins_name=name,
                                database_url=self.urls.new(f"hospital-{code}"),
                                platform_url="http://testserver", answer_within=answer_within, auth_key=AUTH_KEY)
        chans = channels or {"card": FakeChannel("card"), "wechat": FakeChannel("wechat", "pending")}
        hospital = Hospital(config, platform_http=platform_http or self.platform_http, channels=dict(chans),
                            clock=clock)
        hospital.load_setup(SETUP)
        self.hospitals.append(hospital)
        return Desk(hospital, chans)

    # -- the platform's books ------------------------------------------------------------------------------
    def settlement(self, setl_id: str) -> Settlement:
        with self.store.unit_of_work() as s:
            row = s.get(Settlement, setl_id)
            assert row is not None
            return row

    def settlements_of(self, mdtrt_id: str, status: str = "settled") -> int:
        with self.store.unit_of_work() as s:
            return int(s.scalar(select(func.count()).select_from(Settlement).where(
                Settlement.mdtrt_id == mdtrt_id, Settlement.status == status)) or 0)

    def balance(self, psn_no: str) -> Decimal:
        with self.store.unit_of_work() as s:
            acct = s.get(Account, psn_no)
            assert acct is not None
            return acct.balance

    def close(self) -> None:
        for h in self.hospitals:
            h.close()


def refusal_checked(reply: httpx.Response) -> Any:
    """The reply's JSON; a refusal is a problem (RFC 9457: type, title, status, detail naming what is wrong)."""
    body = reply.json()
    if reply.status_code >= 400:
        assert reply.headers["content-type"] == "application/problem+json", reply.headers
        assert body["status"] == reply.status_code and body["type"].startswith("urn:yibao:problem:"), body
        assert body["detail"], body
    return body


class Desk:
    """A hospital and its API, as the cashier and the HIS reach it (a staff token on every request)."""

    def __init__(self, hospital: Hospital, channels: dict[str, FakeChannel]):
        self.hospital, self.channels = hospital, channels
        self.http = TestClient(create_hospital_app(hospital), headers=bearer("staff", "desk01"))

    def get(self, path: str, expect: int = 200, headers: dict[str, str] | None = None, **params: Any) -> Any:
        reply = self.http.get(path, params=params, headers=headers)
        assert reply.status_code == expect, (path, reply.status_code, reply.text)
        return refusal_checked(reply)

    def post(self, path: str, body: dict[str, Any] | None = None, expect: int = 200, **kw: Any) -> Any:
        reply = self.http.post(path, json=body or {}, **kw)
        assert reply.status_code == expect, (path, reply.status_code, reply.text)
        return refusal_checked(reply)

    def callback(self, kind: str, event: dict[str, Any], sig: str = "ok") -> Any:
        return self.http.post(f"/callbacks/{kind}", content=json.dumps(event), headers={"x-fake-sig": sig})

    # -- a patient's way in -------------------------------------------------------------------------------
    def patient(self, psn_no: str | None, name: str = "", certno: str = "", **extra: Any) -> int:
        if psn_no is not None:
            p = PERSONS[psn_no]
            body = {"name": p["name"], "certno": p["certno"], "mdtrt_cert_type": "02", "mdtrt_cert_no": p["certno"],
                    "insuplc_admdvs": p["admdvs"] if p["admdvs"] != self.hospital.config.admdvs else "", **extra}
        else:
            body = {"name": name, "certno": certno, **extra}
        return int(self.post("/patients", body, 201)["patient_id"])

    def slot(self, doctor: str = "DR01", period: str = "am") -> dict[str, Any]:
        [doc] = [d for d in self.get("/doctors") if d["code"] == doctor]
        return next(s for s in doc["slots"] if s["day"] == TODAY and s["period"] == period)

    def register(self, patient_id: int, doctor: str = "DR01", period: str = "am") -> dict[str, Any]:
        return self.post("/registrations", {"patient_id": patient_id, "slot_id": self.slot(doctor, period)["slot_id"]},
                         201)

    def bill(self, registration_id: int, lines: list[tuple[str, str, str]], kind: str = "clinic") -> str:
        body = {"registration_id": registration_id, "kind": kind,
                "lines": [{"med_list_codg": c, "pric": p, "cnt": n} for c, p, n in lines]}
        return str(self.post("/bills", body, 201)["bill_no"])

    def pay(self, patient_id: int, bill_nos: list[str], channel: str = "card", terminal: str = "desk",
            headers: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
        return self.post("/payments", {"patient_id": patient_id, "bill_nos": bill_nos, "channel": channel,
                                       "terminal": terminal, **extra}, headers=headers)


@pytest.fixture
def world(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
          hospital_urls: HospitalURLs) -> Iterator[World]:
    """This module's world (overriding conftest's tests/data/world.yaml): the dataset above, and hospitals."""
    monkeypatch.setenv("YIBAO_TODAY", TODAY)
    w = World(store, tmp_path, hospital_urls)
    yield w
    w.close()


def kept(desk: Desk, payment_no: str) -> dict[str, Any]:
    """The 2207 output the hospital kept for a payment (verbatim: decimals as the platform wrote them)."""
    from yibao.hospital.db import Payment
    from yibao.hospital.insurance import loads

    with desk.hospital.db.session() as s:
        p = s.scalar(select(Payment).where(Payment.payment_no == payment_no))
        assert p is not None and p.out_settle and p.out_2204
        assert loads(p.out_2204)["result"], "the 2204 split is kept too"
        return dict(loads(p.out_settle)["setlinfo"])


def same_as_platform(world: World, desk: Desk, paid: dict[str, Any]) -> dict[str, Any]:
    """The payment's figures are the platform's settlement, and the kept 2207 output says so too."""
    info = kept(desk, paid["payment_no"])
    row = world.settlement(paid["insurance"]["setl_id"])
    for key in ("medfee_sumamt", "fund_pay_sumamt", "hifp_pay", "acct_pay", "acct_mulaid_pay", "psn_cash_pay"):
        assert D(paid["insurance"][key]) == info[key] == getattr(row, key), key
    assert D(paid["total"]) == row.medfee_sumamt
    if paid["cash"]["out_trade_no"]:
        assert D(paid["cash"]["amount"]) == row.psn_cash_pay
    return info


# == the walk ====================================================================================================

def test_a_patient_from_lookup_to_refund(world: World) -> None:
    desk = world.hospital()
    card, wechat = desk.channels["card"], desk.channels["wechat"]
    who = PERSONS[EMPLOYEE]
    assert desk.get("/hospital")["fixmedins_code"] == SZ_HOSP

    # 患者信息查询: 1101 through the platform
    found = desk.post("/patients/lookup", {"mdtrt_cert_type": "02", "mdtrt_cert_no": who["certno"]})
    assert (found["psn_no"], found["psn_name"], found["insutype"], found["balc"], found["patient_id"]) == (
        EMPLOYEE, "例甲", "310", "12.00", None)

    # 首诊建档 with the credential; two-code fusion: the e-credential or the health code finds the record
    pid = desk.patient(EMPLOYEE, ecard=who["ecard"], health_code="EHC-0001", phone="13800000000")
    assert desk.get(f"/patients/{pid}")["psn_no"] == EMPLOYEE
    assert desk.get(f"/patients/by-code/{who['ecard']}")["patient_id"] == pid
    assert desk.get("/patients/by-code/EHC-0001")["patient_id"] == pid
    desk.get("/patients/by-code/EHC-9999", 404)
    assert desk.patient(EMPLOYEE) == pid  # the record again: the same patient

    # the phone signs in: a linked code + the ID number's last 6 characters give the patient's token
    login = desk.post("/auth/patient", {"code": "EHC-0001", "certno_tail": who["certno"][-6:]})
    assert login["patient_id"] == pid and login["token_type"] == "bearer"
    phone = {"Authorization": f"Bearer {login['token']}"}
    assert desk.get(f"/patients/{pid}", headers=phone)["name"] == "例甲"

    # departments, doctors and their slots; booking; same-day registration from the booking (2201)
    assert [d["code"] for d in desk.get("/departments")] == ["D01", "D02"]
    [dr01] = desk.get("/departments/D01/doctors")
    assert len(dr01["slots"]) == 4 and dr01["slots"][0]["fee"] == "20.00"
    am = desk.slot("DR01", "am")
    booking = desk.post("/bookings", {"patient_id": pid, "slot_id": am["slot_id"]}, 201, headers=phone)
    assert booking["status"] == "booked" and booking["slot"]["left"] == 4
    desk.post("/bookings", {"patient_id": pid, "slot_id": am["slot_id"]}, 409)  # the same slot twice
    reg_a = desk.post("/registrations", {"patient_id": pid, "booking_id": booking["booking_id"]}, 201)
    assert reg_a["mdtrt_id"] and reg_a["insured"] and reg_a["fee_bill"]["status"] == "pending"
    assert desk.get(f"/patients/{pid}/bookings", headers=patient_headers(pid))[0]["status"] == "registered"

    # the registration fee alone at the desk by card: account 12.00 + cash 8.00
    fee_a = reg_a["fee_bill"]["bill_no"]
    paid_a = desk.pay(pid, [fee_a])
    assert paid_a["status"] == "paid", paid_a
    assert (paid_a["insurance"]["acct_pay"], paid_a["insurance"]["psn_cash_pay"]) == ("12.00", "8.00")
    assert paid_a["cash"] | {"channel_trade_no": None} == {
        "channel": "card", "amount": "8.00", "status": "PAID", "out_trade_no": paid_a["payment_no"],
        "channel_trade_no": None, "pay_url": None}
    same_as_platform(world, desk, paid_a)
    assert world.balance(EMPLOYEE) == D("0.00")

    # walk-in for the afternoon; the doctor orders items; the pharmacy bills a drug
    reg_b = desk.register(pid, "DR01", "pm")
    clinic = desk.bill(reg_b["registration_id"], [("EX-DRUG-A", "50.00", "2"), ("EX-ITEM-C", "30.00", "1")])
    pharmacy = desk.bill(reg_b["registration_id"], [("EX-DRUG-B", "120.00", "1")], kind="pharmacy")
    pending = desk.get(f"/patients/{pid}/bills", status="pending", headers=phone)
    assert sorted(b["bill_no"] for b in pending) == sorted([reg_b["fee_bill"]["bill_no"], clinic, pharmacy])
    assert [(x["med_list_codg"], x["amount"]) for x in desk.get(f"/bills/{clinic}")["lines"]] == [
        ("EX-DRUG-A", "100.00"), ("EX-ITEM-C", "30.00")]

    # pay all three from the phone: ONE settlement, the rest by WeChat (pending until the payer pays)
    bills_b = [reg_b["fee_bill"]["bill_no"], clinic, pharmacy]
    paying = desk.pay(pid, bills_b, "wechat", "mobile", payer_ref="openid-1", headers=phone)
    assert paying["status"] == "paying", paying
    assert paying["cash"]["pay_url"] == f"weixin://pay/{paying['payment_no']}"
    assert {b["status"] for b in desk.get(f"/patients/{pid}/bills", status="paying")} == {"paying"}
    info = same_as_platform(world, desk, paying)
    # 270.00: fee 20 + C 30 fully self-paid, B 20 over its cap and 10 first self-paid, deductible 100 of the
    # 190.00 in scope, 54.00 pooled fund; no balance left: 216.00 cash
    assert (info["medfee_sumamt"], info["fulamt_ownpay_amt"], info["inscp_scp_amt"], info["act_pay_dedc"],
            info["hifp_pay"], info["acct_pay"], info["psn_cash_pay"]) == (
        D("270.00"), D("50.00"), D("190.00"), D("100.00"), D("54.00"), D("0.00"), D("216.00"))
    assert world.settlements_of(reg_b["mdtrt_id"]) == 1

    # the payer pays; the callback (then its duplicate, then an older event) completes it once
    no = paying["payment_no"]
    paid_event = wechat.event(no, Status.PAID, sequence=2)
    assert desk.callback("wechat", paid_event).status_code == 200
    assert desk.callback("wechat", paid_event).status_code == 200  # duplicate
    older = {**paid_event, "event_id": f"E{no}-1", "status": "PENDING", "sequence": 1}
    assert desk.callback("wechat", older).status_code == 200  # out of order: stale
    assert desk.callback("wechat", paid_event, sig="forged").status_code == 400
    paid_b = desk.get(f"/payments/{no}")
    assert paid_b["status"] == "paid" and paid_b["cash"]["status"] == "PAID"
    assert paid_b["cash"]["channel_trade_no"] == f"T{no}"
    with desk.hospital.db.session() as s:
        from yibao.hospital.db import CallbackInbox

        assert [r.outcome for r in s.scalars(select(CallbackInbox).order_by(CallbackInbox.id))] == [
            "applied", "stale"]
    assert sorted(b["bill_no"] for b in desk.get(f"/patients/{pid}/bills", status="paid")) == sorted(
        [fee_a, *bills_b])
    assert desk.get(f"/bills/{pharmacy}")["setl_id"] == paid_b["insurance"]["setl_id"]

    # the slip: figures of the kept 2207 output; mutual aid on a line of its own; PDF with the CID font
    html = desk.http.get(paid_b["slip"]["html"]).text
    for label, value in (("医疗费总额", "270.00"), ("基金支付总额", "54.00"), ("个人现金支付", "216.00"),
                         ("个人账户共济支付", "0.00"), ("门诊医保结算单", "")):
        assert label in html and value in html
    pdf = desk.http.get(paid_b["slip"]["pdf"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and b"STSong-Light" in pdf.content

    # the doctor suspends the morning: the registration becomes refundable and the patient is told
    out = desk.post(f"/slots/{am['slot_id']}/suspend", {"reason": "外出会诊"})
    assert out["registrations_refundable"] == 1
    assert "停诊" in desk.get(f"/patients/{pid}/notices")[0]["text"]
    assert desk.get("/suspensions")[0]["slot_id"] == am["slot_id"]
    desk.post("/bookings", {"patient_id": pid, "slot_id": am["slot_id"]}, 409)

    # online refund of the registration fee: 2208 gives the account back 12.00, the card gets 8.00 back
    refund = desk.post(f"/registrations/{reg_a['registration_id']}/refund", {"reason": "停诊"})
    assert refund["status"] == "refunded", refund
    r = refund["refund"]
    assert (r["insurance_amount"], r["insurance_status"], r["cash_amount"], r["cash_status"]) == (
        "12.00", "done", "8.00", "REFUNDED")
    assert r["out_cancel"]["setlinfo"]["setl_id"] == paid_a["insurance"]["setl_id"]
    assert world.settlement(paid_a["insurance"]["setl_id"]).status == "cancelled"
    assert world.balance(EMPLOYEE) == D("12.00")
    assert card.refunds and sum(card.refunds.values()) == D("8.00")
    assert desk.get(f"/registrations/{reg_a['registration_id']}")["status"] == "refunded"
    assert desk.get(f"/bills/{fee_a}")["status"] == "refunded"
    assert desk.get(f"/payments/{paid_a['payment_no']}")["status"] == "refunded"
    again = desk.post(f"/registrations/{reg_a['registration_id']}/refund", {"reason": "停诊"})
    assert again["refund"]["refund_no"] == r["refund_no"]  # again: the same refund, nothing more
    assert len(card.refunds) == 1
    # the slip of the cancelled settlement says so
    assert "已撤销" in desk.http.get(f"/slips/{paid_a['insurance']['setl_id']}.html").text

    # reconciliation from the kept outputs: A, its cancellation, B: balanced on the platform's side
    rec = desk.post("/reconciliation", {"begin": TODAY, "end": TODAY})
    assert rec["records"] == 3 and rec["balanced"], rec
    assert all(d["differences"] == [] for d in rec["details"])


def test_the_slip_shows_family_mutual_aid_worked_example_b(world: World) -> None:
    desk = world.hospital(TY_HOSP)
    child = desk.patient(CHILD)
    reg = desk.register(child, "DR02", "am")
    clinic = desk.bill(reg["registration_id"], [("EX-DRUG-A", "100.00", "2"), ("EX-ITEM-C", "30.00", "1")])
    paid = desk.pay(child, [clinic], "wechat", "clinic-room")
    assert paid["status"] == "paid", paid  # nothing left in cash: no channel order at all
    assert paid["cash"]["out_trade_no"] is None and desk.channels["wechat"].calls == []
    info = same_as_platform(world, desk, paid)
    assert (info["medfee_sumamt"], info["hifp_pay"], info["acct_pay"], info["acct_mulaid_pay"],
            info["psn_cash_pay"]) == (D("230.00"), D("100.00"), D("130.00"), D("130.00"), D("0.00"))
    assert world.balance(PARENT) == D("2870.00")
    html = desk.http.get(f"/slips/{paid['insurance']['setl_id']}.html").text
    assert "<th>其中：个人账户共济支付</th><td class=\"amount\">130.00</td>" in html
    assert "<th>个人账户支付</th><td class=\"amount\">130.00</td>" in html
    assert desk.http.get(f"/slips/{paid['insurance']['setl_id']}.pdf").content.startswith(b"%PDF")
    desk.get("/slips/NOSUCH.html", 404)


# == the rules of paying ========================================================================================

def _visit(desk: Desk, psn_no: str = EMPLOYEE) -> tuple[int, dict[str, Any], str]:
    pid = desk.patient(psn_no)
    reg = desk.register(pid, "DR01", "pm")
    clinic = desk.bill(reg["registration_id"], [("EX-DRUG-A", "50.00", "2"), ("EX-ITEM-C", "30.00", "1")])
    return pid, reg, clinic


@pytest.mark.parametrize("mode", ["failed", "rejected"])
def test_a_failed_cash_leg_cancels_the_insurance_leg(world: World, mode: str) -> None:
    card = FakeChannel("card", mode)
    desk = world.hospital(card=card)
    pid, reg, clinic = _visit(desk)
    out = desk.pay(pid, [clinic])
    assert out["status"] == "failed", out
    assert out["insurance"]["status"] == "cancelled" and out["insurance"]["setl_id"]
    setl = world.settlement(out["insurance"]["setl_id"])
    assert setl.status == "cancelled"  # insurance is never charged for an unpaid bill
    assert world.balance(EMPLOYEE) == D("12.00")  # the account debit was given back
    assert world.settlements_of(reg["mdtrt_id"]) == 0
    assert desk.get(f"/bills/{clinic}")["status"] == "pending"
    # the same request again returns the same outcome with a key of the caller's ...
    key = {"idempotency_key": f"retry-{mode}"}
    first = desk.pay(pid, [clinic], **key)
    assert desk.pay(pid, [clinic], **key)["payment_no"] == first["payment_no"]
    # ... and once the channel works, the bills are paid by a new attempt
    card.mode = "paid"
    ok = desk.pay(pid, [clinic])
    assert ok["status"] == "paid" and ok["payment_no"] != out["payment_no"]
    assert world.settlements_of(reg["mdtrt_id"]) == 1
    assert world.balance(EMPLOYEE) == D("0.00")


def test_an_order_closed_before_it_is_paid_cancels_the_insurance_leg(world: World) -> None:
    desk = world.hospital()
    wechat = desk.channels["wechat"]
    pid, reg, clinic = _visit(desk)
    paying = desk.pay(pid, [clinic], "wechat", "bedside")
    assert paying["status"] == "paying" and world.settlements_of(reg["mdtrt_id"]) == 1
    desk.callback("wechat", wechat.event(paying["payment_no"], Status.CLOSED))
    out = desk.get(f"/payments/{paying['payment_no']}")
    assert (out["status"], out["cash"]["status"], out["insurance"]["status"]) == ("failed", "CLOSED", "cancelled")
    assert world.settlements_of(reg["mdtrt_id"]) == 0 and world.balance(EMPLOYEE) == D("12.00")
    # the patient gives up another order himself: closed at the channel, the insurance undone
    second = desk.pay(pid, [clinic], "wechat", "mobile")
    assert desk.post(f"/payments/{second['payment_no']}/cancel")["status"] == "failed"
    assert ("close", second["payment_no"]) in wechat.calls
    assert world.settlements_of(reg["mdtrt_id"]) == 0 and desk.get(f"/bills/{clinic}")["status"] == "pending"


def test_a_duplicate_pay_request_settles_once(world: World) -> None:
    desk = world.hospital()
    pid, reg, clinic = _visit(desk)
    fee = reg["fee_bill"]["bill_no"]
    first = desk.pay(pid, [clinic, fee])
    again = desk.pay(pid, [fee, clinic])  # the same bill set: the same payment, the same outcome
    assert again == first and first["status"] == "paid"
    assert desk.channels["card"].calls.count(("pay", first["payment_no"])) == 1
    assert world.settlements_of(reg["mdtrt_id"]) == 1
    # a bill already paid cannot be paid in another set
    assert "is paid" in desk.post("/payments", {"patient_id": pid, "bill_nos": [clinic], "channel": "card"},
                                  409)["detail"]


def test_concurrent_duplicate_requests_settle_once(world: World) -> None:
    # the card's 0.3 s keeps the four requests overlapping; the driven clock never ends the time box, so the
    # request that pays answers with the card's answer however loaded the machine is
    desk = world.hospital(card=FakeChannel("card", "slow", delay=0.3), clock=DrivenClock())
    pid, reg, clinic = _visit(desk)
    answers: list[dict[str, Any]] = []

    def pay() -> None:
        reply = desk.http.post("/payments", json={"patient_id": pid, "bill_nos": [clinic], "channel": "card",
                                                  "terminal": "desk"}, headers={"Idempotency-Key": "same-key"})
        answers.append(reply.json())

    threads = [threading.Thread(target=pay) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all("payment_no" in a for a in answers), answers
    assert len({a["payment_no"] for a in answers}) == 1, answers
    assert "paid" in {a["status"] for a in answers}, answers
    assert desk.get(f"/payments/{answers[0]['payment_no']}")["status"] == "paid"
    assert world.settlements_of(reg["mdtrt_id"]) == 1
    assert desk.channels["card"].calls.count(("pay", answers[0]["payment_no"])) == 1


@pytest.mark.parametrize("takes, status", [(3.0, "paying"), (1.0, "paying"), (0.9, "paid")])
def test_the_answer_comes_within_the_time_box_and_the_late_answer_completes_it(world: World, takes: float,
                                                                                status: str) -> None:
    """The box is answer_within less the 0.5 s kept for writing the answer: 1.0 s of 1.5. A card that takes
    longer (by the driven clock) leaves the answer `paying`, and its late answer completes the payment."""
    clock = DrivenClock()
    card = FakeChannel("card", "held", delay=takes, clock=clock)
    desk = world.hospital(answer_within=1.5, card=card, clock=clock)
    pid, reg, clinic = _visit(desk)
    if status == "paid":
        card.release.set()  # the card answers within the box
    out = desk.pay(pid, [clinic])
    assert out["status"] == status and out["insurance"]["status"] == "settled"
    assert card.calls == [("pay", out["payment_no"])]
    card.release.set()
    assert clock.settle() == (1 if status == "paying" else 0)  # the late answer, applied
    assert desk.get(f"/payments/{out['payment_no']}")["status"] == "paid"
    assert desk.get(f"/bills/{clinic}")["status"] == "paid"


@pytest.mark.parametrize("mode, status, settled", [("lost", "failed", 0), ("applied", "paid", 1)])
def test_an_unknown_outcome_is_resolved_by_query_never_guessed(world: World, mode: str, status: str,
                                                                settled: int) -> None:
    card = FakeChannel("card", mode)
    desk = world.hospital(card=card)
    pid, reg, clinic = _visit(desk)
    out = desk.pay(pid, [clinic])
    assert out["status"] == status, out
    no = out["payment_no"]
    assert ("query", no) in card.calls
    if mode == "lost":  # the channel does not know it: closed so that it can never be paid, insurance undone
        assert ("close", no) in card.calls and card.orders[no]["status"] == Status.CLOSED
    assert world.settlements_of(reg["mdtrt_id"]) == settled


def test_a_self_paying_patient_pays_everything_through_the_channel(world: World,
                                                                   staff_headers: dict[str, str]) -> None:
    desk = world.hospital()
    pid = desk.patient(None, name="自费者", certno="440301199202021012")
    assert desk.get(f"/patients/{pid}", headers=staff_headers)["insured"] is False
    reg = desk.register(pid, "DR02", "pm")
    assert reg["mdtrt_id"] is None
    out = desk.pay(pid, [reg["fee_bill"]["bill_no"]], headers=staff_headers)
    assert (out["status"], out["insurance"], out["cash"]["amount"], out["slip"]) == ("paid", None, "10.00", None)
    refund = desk.post(f"/registrations/{reg['registration_id']}/refund", {"reason": "不看了"})
    assert (refund["status"], refund["refund"]["insurance_status"], refund["refund"]["cash_status"]) == (
        "refunded", "none", "REFUNDED")


def test_refusals_name_the_rule(world: World) -> None:
    desk = world.hospital()
    pid, reg, clinic = _visit(desk)
    other = desk.patient(None, name="别人", certno="440301199202021020")
    assert "not patient" in desk.post("/payments", {"patient_id": other, "bill_nos": [clinic], "channel": "card"},
                                      422)["detail"]
    assert "not configured" in desk.post("/payments", {"patient_id": pid, "bill_nos": [clinic],
                                                       "channel": "alipay"}, 422)["detail"]
    assert desk.post("/payments", {"patient_id": pid, "bill_nos": ["NOSUCH"], "channel": "card"}, 404)
    # an amount as a JSON float is refused at the door
    desk.post("/bills", {"registration_id": reg["registration_id"],
                         "lines": [{"med_list_codg": "EX-DRUG-A", "pric": 1.5, "cnt": "1"}]}, 422)
    # the platform's refusal is passed on: a person insured elsewhere needs his insured region
    gz = PERSONS[GZ_EMPLOYEE]
    err = desk.post("/patients/lookup", {"mdtrt_cert_type": "02", "mdtrt_cert_no": gz["certno"]}, 422)["detail"]
    assert err.startswith("1101: insuplc_admdvs:"), err
    found = desk.post("/patients/lookup", {"mdtrt_cert_type": "02", "mdtrt_cert_no": gz["certno"],
                                           "insuplc_admdvs": "440100"})
    assert (found["psn_no"], found["insuplc_admdvs"]) == (GZ_EMPLOYEE, "440100")
    # a registration seen by the doctor is refunded at the desk, not online
    paid = desk.pay(pid, [reg["fee_bill"]["bill_no"]])
    assert paid["status"] == "paid"
    desk.post(f"/registrations/{reg['registration_id']}/seen")
    assert "seen" in desk.post(f"/registrations/{reg['registration_id']}/refund", {"reason": "x"}, 409)["detail"]


# == monthly clearing and the command ============================================================================

def test_monthly_clearing_confirm_and_roll_back(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    desk = world.hospital()
    pid = desk.patient(GZ_EMPLOYEE)
    assert desk.get(f"/patients/{pid}")["insuplc_admdvs"] == "440100"
    reg = desk.register(pid)
    paid = desk.pay(pid, [reg["fee_bill"]["bill_no"]])
    assert paid["status"] == "paid" and paid["insurance"]["acct_pay"] == "20.00"

    monkeypatch.setenv("YIBAO_TODAY", "2026-04-03")
    rows = desk.get("/clearing/2026-03")
    assert (rows["totalrow"], rows["cnfm_stas"]) == (1, "0")
    assert rows["rows"][0]["setl_sn"] == paid["insurance"]["setl_id"]

    monkeypatch.setattr(hospital_cli, "_hospital", lambda _config: desk.hospital)
    monkeypatch.setattr(desk.hospital, "close", lambda: None)
    runner = CliRunner()
    done = runner.invoke(hospital_cli.hospital_app, ["confirm-clearing", "2026-03"])
    assert done.exit_code == 0, done.output
    confirmed = json.loads(done.stdout)
    assert (confirmed["rows"], confirmed["cnfm_cnt"]) == (1, 1) and confirmed["otransid"]
    assert desk.get("/clearing/2026-03")["otransid"] == confirmed["otransid"]
    back = runner.invoke(hospital_cli.hospital_app, ["rollback-clearing", "2026-03", confirmed["otransid"]])
    assert back.exit_code == 0, back.output
    assert json.loads(back.stdout)["stas"] == "rolled_back"
    again = runner.invoke(hospital_cli.hospital_app, ["rollback-clearing", "2026-03", confirmed["otransid"]])
    assert again.exit_code == 1 and "already rolled back" in again.stderr
    # through the API, leaving the row out this time
    out = desk.post("/clearing/2026-03/confirm", {"exclude": [paid["insurance"]["setl_id"]]})
    assert (out["cnfm_cnt"], out["uncnfm_cnt"]) == (0, 1)
    assert desk.post("/clearing/2026-03/rollback", {"otransid": out["otransid"]})["stas"] == "rolled_back"


def test_init_creates_the_database_from_a_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    db = tmp_path / "var" / "hospital.db"
    file = tmp_path / "hospital.yaml"
    file.write_text(yaml.safe_dump({"database_url": f"sqlite:///{db}", "institution": {
        "fixmedins_code": SZ_HOSP, "secret": "s", "admdvs": "440300", "fixmedins_name": "示例"},
        "channels": {"card": {"base_url": "http://127.0.0.1:8023", "key": "k"}}, "setup": SETUP},
        allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("YIBAO_HOSPITAL_CONFIG", str(file))
    monkeypatch.setenv("YIBAO_HOSPITAL_SECRET", "from-env")
    monkeypatch.setenv("YIBAO_TODAY", TODAY)
    config = load_config()
    assert (config.secret, config.fixmedins_name, sorted(config.channels)) == ("from-env", "示例", ["card"])
    runner = CliRunner()
    first = runner.invoke(hospital_cli.hospital_app, ["init"])
    assert first.exit_code == 0, first.output
    assert db.exists() and "departments: 2, doctors: 2, slots: 6" in first.stdout
    second = runner.invoke(hospital_cli.hospital_app, ["init"])
    assert second.exit_code == 0 and "departments: 0, doctors: 0, slots: 0" in second.stdout
    monkeypatch.delenv("YIBAO_HOSPITAL_SECRET")
    monkeypatch.setenv("YIBAO_HOSPITAL_CONFIG", str(tmp_path / "none.yaml"))
    bad = runner.invoke(hospital_cli.hospital_app, ["init"])
    assert bad.exit_code == 2 and "cannot be read" in bad.stderr


def test_mutual_aid_quota_is_given_back_by_a_refund(world: World) -> None:
    """Refunding a registration fee paid by mutual aid gives the parent's balance and quota back."""
    desk = world.hospital(TY_HOSP)
    child = desk.patient(CHILD)
    reg = desk.register(child, "DR01", "am")
    paid = desk.pay(child, [reg["fee_bill"]["bill_no"]], "wechat", "mobile")
    assert paid["status"] == "paid" and paid["insurance"]["acct_mulaid_pay"] == "20.00"
    with world.store.unit_of_work() as s:
        grant = s.scalar(select(MutualAidAuthorization).where(MutualAidAuthorization.beneficiary == CHILD))
        assert grant is not None and grant.quota_used == D("20.00")
    refund = desk.post(f"/registrations/{reg['registration_id']}/refund", {"reason": "不去了"})
    assert refund["status"] == "refunded" and refund["refund"]["cash_status"] == "none"
    assert world.balance(PARENT) == D("3000.00")
    with world.store.unit_of_work() as s:
        grant = s.scalar(select(MutualAidAuthorization).where(MutualAidAuthorization.beneficiary == CHILD))
        assert grant is not None and grant.quota_used == D("0.00")


@pytest.mark.parametrize("mobile", ["wechat", "alipay"])
def test_with_the_simulated_providers(world: World, tmp_path: Path, mobile: str) -> None:
    """The real adapters against the simulated providers: signed requests, signed callbacks."""
    from yibao.hospital.channels import make_channel
    from yibao.hospital.channels.simulated import SimulatedProvider

    wx = SimulatedProvider(mobile, "wx-key", str(tmp_path / f"{mobile}.db"))
    pos = SimulatedProvider("card", "card-key", str(tmp_path / "card.db"))
    desk = world.hospital(**{mobile: make_channel(mobile, "http://testserver", "wx-key", 3, http=TestClient(wx.app))},
                          card=make_channel("card", "http://testserver", "card-key", 3, http=TestClient(pos.app)))
    for provider in (wx, pos):  # the providers' callbacks go into the hospital's app
        provider.notify.close()
        provider.notify = desk.http
    try:
        pid, reg, clinic = _visit(desk)
        paying = desk.pay(pid, [clinic], mobile, "mobile")
        no = paying["payment_no"]
        assert paying["status"] == "paying" and paying["cash"]["pay_url"], paying
        assert TestClient(wx.app).post(f"/payer/{no}", json={"outcome": "paid"}).status_code == 200
        paid = desk.get(f"/payments/{no}")
        assert paid["status"] == "paid" and paid["cash"]["channel_trade_no"], paid
        same_as_platform(world, desk, paid)

        fee = reg["fee_bill"]["bill_no"]
        at_desk = desk.pay(pid, [fee])  # the card terminal answers at once
        assert at_desk["status"] == "paid" and at_desk["cash"]["status"] == "PAID", at_desk

        other = desk.register(pid, "DR02", "am")  # a registration fee alone, paid by card, refunded online
        paid = desk.pay(pid, [other["fee_bill"]["bill_no"]])
        refund = desk.post(f"/registrations/{other['registration_id']}/refund", {"reason": "改天再来"})
        assert (refund["status"], refund["refund"]["cash_status"]) == ("refunded", "REFUNDED"), refund
        assert world.settlement(paid["insurance"]["setl_id"]).status == "cancelled"
    finally:
        for provider in (wx, pos):
            provider.engine.dispose()


def test_the_sweep_completes_a_lost_callback_and_closes_an_expired_order(world: World) -> None:
    desk = world.hospital()
    wechat = desk.channels["wechat"]
    pid, reg, clinic = _visit(desk)
    paying = desk.pay(pid, [clinic], "wechat", "mobile")
    wechat.event(paying["payment_no"], Status.PAID)  # paid in the app; the callback never arrives
    assert sweep_of(desk.post("/payments/sweep")) == {"open": 1, "closed": 0}
    assert desk.get(f"/payments/{paying['payment_no']}")["status"] == "paid"

    other = desk.register(pid, "DR02", "pm")
    waiting = desk.pay(pid, [other["fee_bill"]["bill_no"]], "wechat", "mobile")
    assert sweep_of(desk.post("/payments/sweep")) == {"open": 1, "closed": 0}  # not expired yet
    from yibao.hospital.db import Payment

    with desk.hospital.db.session() as s:  # an hour later
        row = s.scalars(select(Payment).where(Payment.payment_no == waiting["payment_no"])).one()
        row.created_at -= timedelta(hours=1)
    assert sweep_of(desk.post("/payments/sweep")) == {"open": 1, "closed": 1}
    out = desk.get(f"/payments/{waiting['payment_no']}")
    assert (out["status"], out["cash"]["status"], out["insurance"]["status"]) == ("failed", "CLOSED", "cancelled")
    assert world.settlement(out["insurance"]["setl_id"]).status == "cancelled"


def sweep_of(answer: dict[str, int]) -> dict[str, int]:
    """The payments' part of a sweep's answer (deposit orders are counted beside them)."""
    return {k: answer[k] for k in ("open", "closed")}


class LosingTransport(httpx.BaseTransport):
    """The platform gets every message, but the answers to the first `times` messages of `infno` are lost."""

    def __init__(self, platform: TestClient, infno: str, times: int):
        self.platform, self.infno, self.times = platform, infno, times

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        reply = self.platform.post(str(request.url), content=body, headers=dict(request.headers))
        if json.loads(body).get("infno") == self.infno and self.times > 0:
            self.times -= 1
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return httpx.Response(reply.status_code, content=reply.content, headers=reply.headers)


def test_a_lost_2207_answer_is_resent_as_is_and_settles_once(world: World) -> None:
    desk = world.hospital(platform_http=httpx.Client(transport=LosingTransport(world.platform_http, "2207", 1)))
    pid, reg, clinic = _visit(desk)
    out = desk.pay(pid, [clinic])
    assert out["status"] == "paid", out
    assert world.settlements_of(reg["mdtrt_id"]) == 1
    same_as_platform(world, desk, out)


def test_a_payment_left_settling_is_learned_and_undone(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from yibao.hospital.cashier import later

    losing = LosingTransport(world.platform_http, "2207", 3)  # every try of the request is lost
    desk = world.hospital(platform_http=httpx.Client(transport=losing))
    pid, reg, clinic = _visit(desk)
    out = desk.pay(pid, [clinic])
    assert (out["status"], out["insurance"]["status"]) == ("settling", "settling"), out
    assert "outcome unknown" in out["error"]
    assert world.settlements_of(reg["mdtrt_id"]) == 1  # it did commit on the platform
    monkeypatch.setattr(later, "SETTLING_GRACE", timedelta(0))
    done = desk.get(f"/payments/{out['payment_no']}", refresh="true")
    assert (done["status"], done["insurance"]["status"]) == ("failed", "cancelled"), done
    assert world.settlements_of(reg["mdtrt_id"]) == 0 and world.balance(EMPLOYEE) == D("12.00")
    assert desk.channels["card"].calls == []  # no cash order was ever made
    assert desk.get(f"/bills/{clinic}")["status"] == "pending"


def test_insurance_added_at_payment_time_registers_the_visit_first(world: World) -> None:
    desk = world.hospital()
    pid = desk.patient(EMPLOYEE)
    reg = desk.post("/registrations", {"patient_id": pid, "slot_id": desk.slot("DR02", "am")["slot_id"],
                                       "use_insurance": False}, 201)
    assert reg["mdtrt_id"] is None
    out = desk.pay(pid, [reg["fee_bill"]["bill_no"]])
    assert out["status"] == "paid" and out["insurance"]["mdtrt_id"], out
    assert desk.get(f"/registrations/{reg['registration_id']}")["mdtrt_id"] == out["insurance"]["mdtrt_id"]
    assert world.settlements_of(out["insurance"]["mdtrt_id"]) == 1
