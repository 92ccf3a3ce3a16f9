"""The hospital tests' world: the platform's dataset (Shenzhen, Guangzhou, Taiyuan), the hospitals' timetable,
tokens, a small fake payment channel, the two systems side by side (`World`: the platform in-process over the test
store, hospitals over databases of `hospital_urls`) and the desk that reaches a hospital's API (`Desk`).

The `world` fixture (tests/hospital/conftest.py) makes a World per test; test_hospital_kinds.py brings its own
(`WORLD`), a World with inpatient and pharmacy policies.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from helpers import HospitalURLs
from sqlalchemy import func, select

from yibao.app import create_app
from yibao.dataset.loader import load_document
from yibao.hospital import auth
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
from yibao.hospital.config import HospitalConfig
from yibao.hospital.service import Hospital
from yibao.store.db import Store
from yibao.store.models import Account, Settlement
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
    """The platform over `document()` and the hospitals made by `hospital`; `close` closes every one."""

    def __init__(self, store: Store, tmp: Path, urls: HospitalURLs):
        self.store, self.tmp, self.urls = store, tmp, urls
        load_document(store, self.document())
        self.platform_http = TestClient(create_app(store))
        self.hospitals: list[Hospital] = []

    def document(self) -> dict[str, Any]:
        return dataset()

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


def clinic_visit(desk: Desk, psn_no: str = EMPLOYEE) -> tuple[int, dict[str, Any], str]:
    pid = desk.patient(psn_no)
    reg = desk.register(pid, "DR01", "pm")
    clinic = desk.bill(reg["registration_id"], [("EX-DRUG-A", "50.00", "2"), ("EX-ITEM-C", "30.00", "1")])
    return pid, reg, clinic


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
