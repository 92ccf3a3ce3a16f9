"""`yibao hospital`: the internet-hospital service beside a HIS, talking to the platform only by the wire protocol.

The platform runs in-process (create_app over the test store, on SQLite and PostgreSQL); the hospital in-process
too, over its own SQLite file, with a small fake payment channel (hospital_world.py; the real adapters are tested in
their own module). A patient is walked through lookup, first visit, booking, registration, bills, a mixed
insurance + self-pay payment, the slip, a doctor's suspension and the refund of the registration fee; then the
rules of paying: a failed cash leg undoes the insurance leg, a duplicate request settles once, the 5-second time
box, an unknown outcome resolved by query; reconciliation, monthly clearing and the command.

The API wants a bearer token (test_hospital_auth.py tests who may do what): the desk here speaks as staff
(`staff_headers`), the phone as the patient (`patient_headers`).
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from hospital_world import (
    CHILD,
    EMPLOYEE,
    GZ_EMPLOYEE,
    PARENT,
    PERSONS,
    SETUP,
    SZ_HOSP,
    TODAY,
    TY_HOSP,
    D,
    FakeChannel,
    LosingTransport,
    World,
    clinic_visit,
    patient_headers,
    same_as_platform,
    sweep_of,
)
from sqlalchemy import select
from typer.testing import CliRunner

from yibao.hospital import cli as hospital_cli
from yibao.hospital.channels.base import Status
from yibao.hospital.config import load_config
from yibao.store.models import MutualAidAuthorization
from yibao.timebox import DrivenClock

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

@pytest.mark.parametrize("mode", ["failed", "rejected"])
def test_a_failed_cash_leg_cancels_the_insurance_leg(world: World, mode: str) -> None:
    card = FakeChannel("card", mode)
    desk = world.hospital(card=card)
    pid, reg, clinic = clinic_visit(desk)
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
    pid, reg, clinic = clinic_visit(desk)
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
    pid, reg, clinic = clinic_visit(desk)
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
    pid, reg, clinic = clinic_visit(desk)
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
    pid, reg, clinic = clinic_visit(desk)
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
    pid, reg, clinic = clinic_visit(desk)
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
    pid, reg, clinic = clinic_visit(desk)
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
    # the adapters are the point here, not the time box (tested with a driven clock above): a loaded machine
    # must not push the answer past it
    desk = world.hospital(answer_within=60.0,  # float-ok: seconds
                          **{mobile: make_channel(mobile, "http://testserver", "wx-key", 3, http=TestClient(wx.app))},
                          card=make_channel("card", "http://testserver", "card-key", 3, http=TestClient(pos.app)))
    for provider in (wx, pos):  # the providers' callbacks go into the hospital's app
        provider.notify.close()
        provider.notify = desk.http
    try:
        pid, reg, clinic = clinic_visit(desk)
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
    pid, reg, clinic = clinic_visit(desk)
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


def test_a_lost_2207_answer_is_resent_as_is_and_settles_once(world: World) -> None:
    desk = world.hospital(platform_http=httpx.Client(transport=LosingTransport(world.platform_http, "2207", 1)))
    pid, reg, clinic = clinic_visit(desk)
    out = desk.pay(pid, [clinic])
    assert out["status"] == "paid", out
    assert world.settlements_of(reg["mdtrt_id"]) == 1
    same_as_platform(world, desk, out)


def test_a_payment_left_settling_is_learned_and_undone(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from yibao.hospital.cashier import later

    losing = LosingTransport(world.platform_http, "2207", 3)  # every try of the request is lost
    desk = world.hospital(platform_http=httpx.Client(transport=losing))
    pid, reg, clinic = clinic_visit(desk)
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
