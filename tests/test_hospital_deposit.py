"""The patient's deposit account (预交金 / 充值, seed 003 其他 3): top-up by the e-credential or the electronic
health code (either finds the same deposit), credited on PAID only and once (a duplicate callback credits
nothing more), a mixed bill paid by insurance with the cash remainder from the deposit, an insufficient deposit
refused before any insurance call, and withdrawal through the channel(s) the money came from."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from test_hospital import EMPLOYEE, PERSONS, TODAY, Desk, FakeChannel, World, patient_headers

from yibao.hospital.channels.base import Status
from yibao.hospital.db import DepositEntry, Payment
from yibao.store.db import Store
from yibao.store.models import Settlement

D = Decimal
HEALTH_CODE = "EHC-DEP-0001"


@pytest.fixture
def world(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("YIBAO_TODAY", TODAY)
    w = World(store, tmp_path)
    yield w
    w.close()


def _patient(desk: Desk) -> tuple[int, str]:
    ecard = PERSONS[EMPLOYEE]["ecard"]
    return desk.patient(EMPLOYEE, ecard=ecard, health_code=HEALTH_CODE), ecard


def _deposit(desk: Desk, pid: int, **kw: Any) -> dict[str, Any]:
    return dict(desk.get(f"/patients/{pid}/deposit", **kw))


def _settlements(world: World) -> int:
    with world.store.unit_of_work() as s:
        return int(s.scalar(select(func.count()).select_from(Settlement)) or 0)


def test_top_up_by_either_code_reaches_one_deposit_and_a_duplicate_callback_credits_once(world: World) -> None:
    desk = world.hospital()
    wechat = desk.channels["wechat"]
    pid, ecard = _patient(desk)
    phone = patient_headers(pid)

    # by the health code, by card: paid at once, credited
    card = desk.post("/deposits/top-up", {"code": HEALTH_CODE, "amount": "100.00", "channel": "card"}, 201,
                     headers=phone)
    assert (card["status"], card["patient_id"], card["balance"]) == ("PAID", pid, "100.00")

    # by the e-credential, by WeChat: pending, nothing credited until the payer pays
    pending = desk.post("/deposits/top-up", {"code": ecard, "amount": "50.50", "channel": "wechat"}, 201)
    assert pending["status"] == "PENDING" and pending["patient_id"] == pid and pending["pay_url"]
    assert _deposit(desk, pid)["balance"] == "100.00"

    # the callback, its duplicate and a re-notification under a new id: credited once
    no = pending["topup_no"]
    event = wechat.event(no, Status.PAID)
    for _ in range(2):
        assert desk.callback("wechat", event).status_code == 200
    assert desk.callback("wechat", {**event, "event_id": "another-id", "sequence": 3}).status_code == 200
    assert desk.callback("wechat", event, sig="forged").status_code == 400
    # a query afterwards changes nothing either
    assert desk.get(f"/deposits/top-ups/{no}", refresh="true")["status"] == "PAID"
    dep = _deposit(desk, pid, headers=phone)
    assert dep["balance"] == "150.50"
    assert [(e["kind"], e["amount"], e["balance_after"]) for e in dep["entries"]] == [
        ("topup", "100.00", "100.00"), ("topup", "50.50", "150.50")]

    # floats and bad amounts refused; an unknown code 404; another patient's deposit looks unknown
    desk.post("/deposits/top-up", {"code": HEALTH_CODE, "amount": 10.5, "channel": "card"}, 422)
    desk.post("/deposits/top-up", {"code": HEALTH_CODE, "amount": "0.00", "channel": "card"}, 422)
    desk.post("/deposits/top-up", {"code": "EHC-NOBODY", "amount": "1.00", "channel": "card"}, 404)
    other = desk.patient(None, name="例乙", certno="440301199202021234", health_code="EHC-OTHER")
    desk.get(f"/patients/{other}/deposit", 404, headers=phone)
    desk.post("/deposits/top-up", {"code": "EHC-OTHER", "amount": "1.00", "channel": "card"}, 404, headers=phone)
    assert _deposit(desk, other)["balance"] == "0.00"


def test_a_mixed_bill_is_paid_from_the_deposit(world: World) -> None:
    desk = world.hospital()
    pid, _ = _patient(desk)
    desk.post("/deposits/top-up", {"code": HEALTH_CODE, "amount": "200.00", "channel": "card"}, 201)
    reg = desk.register(pid, "DR01", "pm")
    clinic = desk.bill(reg["registration_id"], [("EX-DRUG-A", "50.00", "2"), ("EX-ITEM-C", "30.00", "1")])

    paid = desk.pay(pid, [clinic], "deposit", "mobile", headers=patient_headers(pid))
    assert paid["status"] == "paid", paid
    setl = world.settlement(paid["insurance"]["setl_id"])
    assert setl.status == "settled" and setl.medfee_sumamt == D("130.00")
    assert setl.acct_pay == D("12.00") and setl.psn_cash_pay > 0  # insurance figures are the platform's
    for key in ("medfee_sumamt", "fund_pay_sumamt", "acct_pay", "psn_cash_pay"):
        assert D(paid["insurance"][key]) == getattr(setl, key), key
    assert paid["cash"]["channel"] == "deposit" and D(paid["cash"]["amount"]) == setl.psn_cash_pay
    dep = _deposit(desk, pid)
    assert D(dep["balance"]) == D("200.00") - setl.psn_cash_pay  # exactly the cash remainder
    assert dep["entries"][-1]["kind"] == "payment" and D(dep["entries"][-1]["amount"]) == -setl.psn_cash_pay
    assert world.balance(EMPLOYEE) == D("0.00")
    assert desk.get(f"/bills/{clinic}")["status"] == "paid"
    # the same request again: the same payment, debited once
    assert desk.pay(pid, [clinic], "deposit", "mobile")["payment_no"] == paid["payment_no"]
    with desk.hospital.db.session() as s:
        assert s.scalar(select(func.count()).select_from(DepositEntry).where(DepositEntry.kind == "payment")) == 1


def test_an_insufficient_deposit_is_refused_with_nothing_written(world: World) -> None:
    desk = world.hospital()
    pid, _ = _patient(desk)
    desk.post("/deposits/top-up", {"code": HEALTH_CODE, "amount": "10.00", "channel": "card"}, 201)
    reg = desk.register(pid, "DR01", "pm")
    clinic = desk.bill(reg["registration_id"], [("EX-DRUG-A", "50.00", "2"), ("EX-ITEM-C", "30.00", "1")])
    before = _settlements(world)
    refused = desk.post("/payments", {"patient_id": pid, "bill_nos": [clinic], "channel": "deposit"}, 409)
    assert refused["detail"].startswith("deposit:")
    assert _settlements(world) == before and world.settlements_of(reg["mdtrt_id"]) == 0
    assert world.balance(EMPLOYEE) == D("12.00")  # the platform's account untouched
    with desk.hospital.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Payment)) == 0
    assert desk.get(f"/bills/{clinic}")["status"] == "pending"
    dep = _deposit(desk, pid)
    assert dep["balance"] == "10.00" and len(dep["entries"]) == 1


def test_withdraw_refunds_the_balance_through_the_channels_it_came_from(world: World) -> None:
    card, wechat = FakeChannel("card"), FakeChannel("wechat", "pending")
    desk = world.hospital(card=card, wechat=wechat)
    pid, ecard = _patient(desk)
    desk.post("/deposits/top-up", {"code": HEALTH_CODE, "amount": "150.00", "channel": "card"}, 201)
    w = desk.post("/deposits/top-up", {"code": ecard, "amount": "20.00", "channel": "wechat"}, 201)
    desk.callback("wechat", wechat.event(w["topup_no"], Status.PAID))
    reg = desk.register(pid, "DR01", "pm")
    clinic = desk.bill(reg["registration_id"], [("EX-DRUG-A", "50.00", "2"), ("EX-ITEM-C", "30.00", "1")])
    paid = desk.pay(pid, [clinic], "deposit", "desk")
    assert paid["status"] == "paid", paid
    spent = D(paid["cash"]["amount"])
    assert spent > 0 and D(_deposit(desk, pid)["balance"]) == D("170.00") - spent

    out = desk.post("/deposits/withdraw", {"patient_id": pid}, headers=patient_headers(pid))
    assert out["status"] == "done" and D(out["amount"]) == D("170.00") - spent and out["balance"] == "0.00"
    # the newest top-up (WeChat 20.00) first, the rest from the card
    assert [(x["channel"], x["amount"], x["status"]) for x in out["legs"]] == [
        ("wechat", "20.00", "REFUNDED"), ("card", str(D("150.00") - spent), "PARTIALLY_REFUNDED")]
    assert sum(wechat.refunds.values()) == D("20.00") and sum(card.refunds.values()) == D("150.00") - spent
    dep = _deposit(desk, pid)
    assert dep["entries"][-1]["kind"] == "withdraw" and dep["entries"][-1]["balance_after"] == "0.00"
    desk.post("/deposits/withdraw", {"patient_id": pid}, 422)  # nothing left


def test_a_refused_withdrawal_leg_gives_the_money_back_to_the_deposit(world: World) -> None:
    card = FakeChannel("card")
    desk = world.hospital(card=card, wechat=FakeChannel("wechat", "pending"))
    pid, _ = _patient(desk)
    desk.post("/deposits/top-up", {"code": HEALTH_CODE, "amount": "30.00", "channel": "card"}, 201)
    card.orders[next(iter(card.orders))]["refunded"] = D("30.00")  # the provider refuses: "more than was paid"
    out = desk.post("/deposits/withdraw", {"patient_id": pid})
    assert out["status"] == "partial" and out["legs"][0]["status"] == "rejected"
    dep = _deposit(desk, pid)
    assert dep["balance"] == "30.00"
    assert [e["kind"] for e in dep["entries"]] == ["topup", "withdraw", "withdraw_undo"]
