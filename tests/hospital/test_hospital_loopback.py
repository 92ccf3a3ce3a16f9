"""`yibao hospital` end to end over loopback: real processes, real ports, nothing in-process.

The platform (`yibao load examples/demo.yaml` into a tmp SQLite file, then `yibao serve`), the simulated WeChat
and card providers (`python -m yibao.hospital.channels.simulated`) and the hospital (`yibao hospital init` +
`yibao hospital serve`, src/yibao/hospital/demo.yaml with YIBAO_HOSPITAL_* pointing at those ports and a tmp
database) each run as their own process. The test speaks HTTP only (httpx) and reads the platform's SQLite file
read-only to compare its settlements with what the hospital kept and printed.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from loopback_world import (
    AMOXICILLIN,
    CARD_KEY,
    CHILD,
    DEMO,
    HOSPITAL_CONFIG,
    TODAY,
    WECHAT_KEY,
    YANG,
    YIBAO,
    D,
    Stack,
    free_port,
    ok,
)
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from yibao.store.models import Settlement

SLIP_LABELS = {"medfee_sumamt": "医疗费总额", "fund_pay_sumamt": "基金支付总额", "acct_pay": "个人账户支付",
               "acct_mulaid_pay": "其中：个人账户共济支付", "psn_cash_pay": "个人现金支付"}


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("YIBAO_")}
    base["YIBAO_TODAY"] = TODAY  # the demo dataset's business date, for every process alike
    base["YIBAO_DEMO"] = "1"  # the demo's shipped secrets and keys
    s = Stack(tmp_path, base, {name: free_port() for name in ("platform", "wechat", "card", "hospital")})
    try:
        platform_db = tmp_path / "platform.db"
        platform_env = {**base, "YIBAO_DATABASE_URL": f"sqlite:///{platform_db}"}
        s.run([str(YIBAO), "load", str(DEMO)], platform_env)
        s.start("platform", [str(YIBAO), "serve", "--host", "127.0.0.1", "--port", str(s.ports["platform"])],
                platform_env)
        for kind, key in (("wechat", WECHAT_KEY), ("card", CARD_KEY)):
            s.start(kind, [sys.executable, "-m", "yibao.hospital.channels.simulated", "--kind", kind, "--key", key,
                           "--port", str(s.ports[kind]), "--db", str(tmp_path / f"{kind}.db")], base)
        s.env = {**base, "YIBAO_HOSPITAL_CONFIG": str(HOSPITAL_CONFIG),
                 "YIBAO_HOSPITAL_DATABASE_URL": f"sqlite:///{tmp_path / 'hospital.db'}",
                 "YIBAO_HOSPITAL_PLATFORM_URL": s.url("platform"),
                 "YIBAO_HOSPITAL_PUBLIC_URL": f"http://127.0.0.1:{s.ports['hospital']}",
                 "YIBAO_HOSPITAL_WECHAT_URL": s.url("wechat"), "YIBAO_HOSPITAL_WECHAT_KEY": WECHAT_KEY,
                 "YIBAO_HOSPITAL_CARD_URL": s.url("card"), "YIBAO_HOSPITAL_CARD_KEY": CARD_KEY}
        assert "hospital database ready" in s.run([str(YIBAO), "hospital", "init"], s.env)
        s.start("hospital", [str(YIBAO), "hospital", "serve", "--host", "127.0.0.1",
                             "--port", str(s.ports["hospital"])], s.env)
        yield s
    finally:
        s.stop()


def platform_settlement(stack: Stack, setl_id: str) -> Settlement:
    """The platform's own row, read from its SQLite file read-only."""
    engine = create_engine(f"sqlite:///file:{stack.tmp / 'platform.db'}?mode=ro&uri=true")
    try:
        with Session(engine) as s:
            row = s.get(Settlement, setl_id)
            assert row is not None, setl_id
            s.expunge(row)
            return row
    finally:
        engine.dispose()


def slip_figures(html: str) -> dict[str, Decimal]:
    out = {}
    for key, label in SLIP_LABELS.items():
        m = re.search(rf"<th>{label}</th>\s*<td[^>]*>([-0-9.,]+)</td>", html)
        assert m, (label, html)
        out[key] = D(m.group(1).replace(",", ""))
    return out


def agrees(stack: Stack, http: httpx.Client, paid: dict[str, Any]) -> dict[str, Decimal]:
    """The hospital's kept 2207 figures are the platform's settlement; the slip shows the same."""
    ins = paid["insurance"]
    row = platform_settlement(stack, ins["setl_id"])
    assert row.status == "settled"
    for key in ("medfee_sumamt", "fund_pay_sumamt", "hifp_pay", "acct_pay", "acct_mulaid_pay", "psn_cash_pay"):
        assert D(ins[key]) == getattr(row, key), key
    assert D(paid["total"]) == row.medfee_sumamt
    slip = http.get(paid["slip"]["html"])
    assert slip.status_code == 200, slip.text
    figures = slip_figures(slip.text)
    assert figures == {k: getattr(row, k) for k in SLIP_LABELS}, figures
    return figures


def test_a_patient_pays_and_is_refunded_across_real_processes(stack: Stack) -> None:
    token = stack.run([str(YIBAO), "hospital", "token-staff", "desk01"], stack.env).strip()
    assert token.startswith("yh1.")
    with httpx.Client(base_url=stack.url("hospital"), timeout=30,
                      headers={"Authorization": f"Bearer {token}"}) as desk, \
            httpx.Client(base_url=stack.url("wechat"), timeout=10) as wechat_app:
        assert ok(desk.get("/hospital"))["fixmedins_code"] == "H44030000001"
        assert desk.get("/patients/1", headers={"Authorization": "Bearer nope"}).status_code == 401

        # 1101 through the platform, the first visit, the phone's sign-in
        found = ok(desk.post("/patients/lookup", json={"mdtrt_cert_type": "02", "mdtrt_cert_no": YANG["certno"]}))
        assert (found["psn_no"], found["balc"], found["patient_id"]) == (YANG["psn_no"], "150.00", None)
        pid = ok(desk.post("/patients", json={"name": YANG["name"], "certno": YANG["certno"],
                                              "mdtrt_cert_type": "02", "mdtrt_cert_no": YANG["certno"],
                                              "ecard": f"ECARD-{YANG['psn_no']}", "health_code": "EHC-LOOP-1"}),
                 201)["patient_id"]
        login = ok(desk.post("/auth/patient", json={"code": "EHC-LOOP-1", "certno_tail": YANG["certno"][-6:]},
                             headers={"Authorization": ""}))
        phone = {"Authorization": f"Bearer {login['token']}"}

        # the timetable; a booking for this morning, registered the same day (2201)
        [doctor] = [d for d in ok(desk.get("/doctors")) if d["code"] == "DR0301002"]  # 陈丽, fee 20.00
        slots = {s["period"]: s for s in doctor["slots"] if s["day"] == TODAY}
        booking = ok(desk.post("/bookings", json={"patient_id": pid, "slot_id": slots["am"]["slot_id"]},
                               headers=phone), 201)
        reg_a = ok(desk.post("/registrations", json={"patient_id": pid, "booking_id": booking["booking_id"]}), 201)
        assert reg_a["mdtrt_id"] and reg_a["fee_bill"]["status"] == "pending"
        fee_a = reg_a["fee_bill"]["bill_no"]
        assert [b["bill_no"] for b in ok(desk.get(f"/patients/{pid}/bills", params={"status": "pending"}))] == [
            fee_a]

        # the registration fee alone at the desk, by card, without the account: 20.00 cash
        paid_a = ok(desk.post("/payments", json={"patient_id": pid, "bill_nos": [fee_a], "channel": "card",
                                                 "terminal": "desk", "acct_used_flag": "0"}))
        assert paid_a["status"] == "paid", paid_a
        assert (paid_a["cash"]["channel"], paid_a["cash"]["status"], paid_a["cash"]["amount"]) == (
            "card", "PAID", "20.00")
        agrees(stack, desk, paid_a)

        # a walk-in in the afternoon, a clinic bill; fee + drugs from the phone: insurance + WeChat
        reg_b = ok(desk.post("/registrations", json={"patient_id": pid, "slot_id": slots["pm"]["slot_id"]}), 201)
        clinic = ok(desk.post("/bills", json={"registration_id": reg_b["registration_id"], "kind": "clinic",
                                              "lines": [{"med_list_codg": AMOXICILLIN, "pric": "50.00",
                                                         "cnt": "4"}]}), 201)["bill_no"]
        bills = sorted([reg_b["fee_bill"]["bill_no"], clinic])
        pending = ok(desk.get(f"/patients/{pid}/bills", params={"status": "pending"}, headers=phone))
        assert sorted(b["bill_no"] for b in pending) == bills
        paying = ok(desk.post("/payments", json={"patient_id": pid, "bill_nos": bills, "channel": "wechat",
                                                 "terminal": "mobile", "payer_ref": "openid-loop"}, headers=phone))
        assert paying["status"] == "paying" and paying["cash"]["pay_url"], paying
        ins = paying["insurance"]
        # 220.00: fee 20.00 own pay, 200.00 in scope: deductible 100.00, 60 % of the rest 60.00 fund;
        # the account's 150.00; 10.00 in cash
        assert (ins["medfee_sumamt"], ins["fund_pay_sumamt"], ins["acct_pay"], ins["psn_cash_pay"]) == (
            "220.00", "60.00", "150.00", "10.00")
        assert paying["cash"]["amount"] == "10.00"
        no = paying["payment_no"]
        assert ok(desk.get(f"/payments/{no}"))["status"] == "paying"

        # the payer pays in the app; the provider's signed callback completes it (else the refresh does)
        ok(wechat_app.post(f"/payer/{no}", json={"outcome": "paid"}))
        deadline = time.monotonic() + 10
        status = ok(desk.get(f"/payments/{no}"))["status"]
        while status != "paid" and time.monotonic() < deadline:
            time.sleep(0.1)
            status = ok(desk.get(f"/payments/{no}"))["status"]
        if status != "paid":
            status = ok(desk.get(f"/payments/{no}", params={"refresh": "true"}))["status"]
        assert status == "paid"
        events = ok(wechat_app.get("/admin/callbacks"))
        assert any(e.get("state") == "sent" for e in events.get("events", [])), events
        paid_b = ok(desk.get(f"/payments/{no}"))
        assert paid_b["cash"]["status"] == "PAID" and paid_b["cash"]["channel_trade_no"]
        figures = agrees(stack, desk, paid_b)
        assert figures == {"medfee_sumamt": D("220.00"), "fund_pay_sumamt": D("60.00"), "acct_pay": D("150.00"),
                           "acct_mulaid_pay": D("0.00"), "psn_cash_pay": D("10.00")}
        assert sorted(b["bill_no"] for b in ok(desk.get(f"/patients/{pid}/bills", params={"status": "paid"}))) == \
            sorted([fee_a, *bills])

        # family mutual aid: 陈子涵 (resident, no account) paid for by her father's account
        cid = ok(desk.post("/patients", json={"name": CHILD["name"], "certno": CHILD["certno"],
                                              "mdtrt_cert_type": "02", "mdtrt_cert_no": CHILD["certno"]}),
                 201)["patient_id"]
        [paed] = [d for d in ok(desk.get("/doctors")) if d["code"] == "DR0701001"]  # 儿科, fee 30.00
        slot = next(s for s in paed["slots"] if s["day"] == TODAY)
        reg_c = ok(desk.post("/registrations", json={"patient_id": cid, "slot_id": slot["slot_id"]}), 201)
        bill_c = ok(desk.post("/bills", json={"registration_id": reg_c["registration_id"], "kind": "clinic",
                                              "lines": [{"med_list_codg": AMOXICILLIN, "pric": "50.00",
                                                         "cnt": "2"}]}), 201)["bill_no"]
        paid_c = ok(desk.post("/payments", json={"patient_id": cid, "bill_nos": [reg_c["fee_bill"]["bill_no"], bill_c],
                                                 "channel": "card", "terminal": "clinic-room"}))
        assert paid_c["status"] == "paid", paid_c
        mutual = agrees(stack, desk, paid_c)
        assert mutual["acct_mulaid_pay"] > 0 and mutual["acct_mulaid_pay"] == mutual["acct_pay"]

        # the morning's registration fee refunded online: 2208 cancels the platform's settlement; card refund
        refund = ok(desk.post(f"/registrations/{reg_a['registration_id']}/refund", json={"reason": "不看了"}))
        assert refund["status"] == "refunded", refund
        assert (refund["refund"]["cash_amount"], refund["refund"]["cash_status"]) == ("20.00", "REFUNDED")
        assert platform_settlement(stack, paid_a["insurance"]["setl_id"]).status == "cancelled"
        assert ok(desk.get(f"/payments/{paid_a['payment_no']}"))["status"] == "refunded"
        assert "已撤销" in desk.get(paid_a["slip"]["html"]).text
        assert platform_settlement(stack, paid_b["insurance"]["setl_id"]).status == "settled"
