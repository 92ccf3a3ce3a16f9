"""The patient's deposit account (预交金 / 充值, seed 003 其他 3): top-up by the e-credential or the electronic
health code (either finds the same deposit), credited on PAID only and once (a duplicate callback credits
nothing more), a mixed bill paid by insurance with the cash remainder from the deposit, an insufficient deposit
refused before any insurance call, and withdrawal through the channel(s) the money came from; a retried top-up
(the same Idempotency-Key) makes no second order, a channel that does not answer leaves the top-up unknown within
the time box, the sweep resolves open top-ups and withdrawals, and no withdrawal while a deposit payment is open."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hospital_world import (
    EMPLOYEE,
    PERSONS,
    Desk,
    FakeChannel,
    LosingTransport,
    World,
    bearer,
    patient_headers,
)
from sqlalchemy import func, select

from yibao.hospital.cashier import later
from yibao.hospital.channels.base import ChannelResult, ChannelTimeout, Status
from yibao.hospital.db import DepositEntry, DepositTopUp, Payment
from yibao.hospital.deposit import topup
from yibao.store.models import Settlement
from yibao.timebox import DrivenClock

D = Decimal
HEALTH_CODE = "EHC-DEP-0001"


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


def _pays(channel: FakeChannel) -> int:
    return sum(1 for call, _ in channel.calls if call == "pay")


def test_a_retried_top_up_with_the_same_key_is_the_same_top_up(world: World) -> None:
    desk = world.hospital()
    card, wechat = desk.channels["card"], desk.channels["wechat"]
    pid, ecard = _patient(desk)
    phone = patient_headers(pid)
    body = {"code": HEALTH_CODE, "amount": "100.00", "channel": "card"}

    first = desk.post("/deposits/top-up", body, 201, headers={**phone, "Idempotency-Key": "tu-1"})
    again = desk.post("/deposits/top-up", body, 201, headers={**phone, "Idempotency-Key": "tu-1"})
    assert first["status"] == again["status"] == "PAID" and again["topup_no"] == first["topup_no"]
    assert _pays(card) == 1 and _deposit(desk, pid)["balance"] == "100.00"  # one order, credited once
    # the same key with the other code of the same patient (by the desk): still the same top-up
    assert desk.post("/deposits/top-up", {**body, "code": ecard}, 201,
                     headers={"Idempotency-Key": "tu-1"})["topup_no"] == first["topup_no"]
    # the same key for another amount is another request: refused, nothing made
    desk.post("/deposits/top-up", {**body, "amount": "5.00"}, 409, headers={**phone, "Idempotency-Key": "tu-1"})

    # a pending WeChat order retried: the same order, its pay_url again
    w1 = desk.post("/deposits/top-up", {**body, "channel": "wechat"}, 201, headers={"Idempotency-Key": "tu-2"})
    w2 = desk.post("/deposits/top-up", {**body, "channel": "wechat"}, 201, headers={"Idempotency-Key": "tu-2"})
    assert (w2["topup_no"], w2["status"], w2["pay_url"]) == (w1["topup_no"], "PENDING", w1["pay_url"])
    assert _pays(wechat) == 1

    # another patient with the same key: refused, nothing of the other's top-up told
    other = desk.patient(None, name="例乙", certno="440301199202021234", health_code="EHC-OTHER")
    for headers in ({**patient_headers(other), "Idempotency-Key": "tu-1"}, {"Idempotency-Key": "tu-1"}):
        refused = desk.post("/deposits/top-up", {**body, "code": "EHC-OTHER"}, 409, headers=headers)
        assert first["topup_no"] not in str(refused) and "100.00" not in str(refused)
    assert _deposit(desk, other)["balance"] == "0.00" and _pays(card) == 1

    # without a key every request is a new top-up, as before
    for _ in range(2):
        desk.post("/deposits/top-up", {**body, "amount": "1.00"}, 201, headers=phone)
    assert _pays(card) == 3 and _deposit(desk, pid)["balance"] == "102.00"


def test_a_top_up_is_answered_within_the_time_box_and_the_late_answer_credits_it(world: World) -> None:
    clock = DrivenClock()
    card = FakeChannel("card", "held", delay=3.0, clock=clock)  # 3 s of the driven clock: past the 1.0 s box
    desk = world.hospital(answer_within=1.5, card=card, wechat=FakeChannel("wechat", "pending"), clock=clock)
    pid, _ = _patient(desk)
    out = desk.post("/deposits/top-up", {"code": HEALTH_CODE, "amount": "80.00", "channel": "card"}, 201)
    assert out["status"] == "unknown" and "time box" in out["error"] and out["balance"] == "0.00"  # no guess
    card.release.set()
    assert clock.settle() == 1  # the late answer, applied
    done = desk.get(f"/deposits/top-ups/{out['topup_no']}")
    assert (done["status"], done["balance"]) == ("PAID", "80.00")
    assert _pays(card) == 1 and [e["kind"] for e in _deposit(desk, pid)["entries"]] == ["topup"]


def test_a_top_up_whose_order_never_arrived_is_closed_never_guessed(world: World) -> None:
    card = FakeChannel("card", "lost")
    desk = world.hospital(card=card, wechat=FakeChannel("wechat", "pending"))
    pid, _ = _patient(desk)
    out = desk.post("/deposits/top-up", {"code": HEALTH_CODE, "amount": "20.00", "channel": "card"}, 201)
    no = out["topup_no"]
    assert (out["status"], out["balance"]) == ("CLOSED", "0.00")
    assert ("query", no) in card.calls and ("close", no) in card.calls and card.orders[no]["status"] == Status.CLOSED


class SlowRefunds(FakeChannel):
    """Refund answers lost (ChannelTimeout, the refund not made) the first `lost` times."""

    def __init__(self, name: str, lost: int):
        super().__init__(name)
        self.lost = lost

    def refund(self, out_trade_no: str, refund_no: str, amount: Decimal) -> ChannelResult:
        if self.lost > 0:
            self.lost -= 1
            raise ChannelTimeout("no answer")
        return super().refund(out_trade_no, refund_no, amount)


def test_the_sweep_resolves_open_top_ups_and_finishes_open_withdrawals(world: World) -> None:
    card, wechat = SlowRefunds("card", lost=2), FakeChannel("wechat", "pending")
    desk = world.hospital(card=card, wechat=wechat)
    pid, ecard = _patient(desk)
    body = {"code": ecard, "amount": "30.00", "channel": "wechat"}
    desk.post("/deposits/sweep", expect=403, headers=patient_headers(pid))  # the staff's
    assert desk.post("/deposits/sweep") == {"topups": 0, "topups_paid": 0, "topups_closed": 0, "withdrawals": 0,
                                            "withdrawals_finished": 0}

    # paid in the app, the callback lost: the sweep's query credits it
    lost_callback = desk.post("/deposits/top-up", body, 201)["topup_no"]
    wechat.event(lost_callback, Status.PAID)
    # never paid: waits until pending_expiry, then closed at the channel
    unpaid = desk.post("/deposits/top-up", body, 201)["topup_no"]
    assert desk.post("/deposits/sweep") == {"topups": 2, "topups_paid": 1, "topups_closed": 0, "withdrawals": 0,
                                            "withdrawals_finished": 0}
    assert _deposit(desk, pid)["balance"] == "30.00"
    assert desk.get(f"/deposits/top-ups/{unpaid}")["status"] == "PENDING"  # not expired yet: still waiting
    with desk.hospital.db.session() as s:  # an hour later
        row = s.scalars(select(DepositTopUp).where(DepositTopUp.topup_no == unpaid)).one()
        row.created_at -= timedelta(hours=1)
    assert desk.post("/deposits/sweep")["topups_closed"] == 1
    assert desk.get(f"/deposits/top-ups/{unpaid}")["status"] == "CLOSED"
    assert ("close", unpaid) in wechat.calls and wechat.orders[unpaid]["status"] == Status.CLOSED

    # a top-up left "new" by a process that stopped before the channel was asked: the channel does not know it,
    # so it is closed there (it can never be paid later); one "new" for under a minute is left to its request
    now = desk.hospital.now()
    with desk.hospital.db.session() as s:
        for no, age in (("TU-STOPPED", timedelta(minutes=5)), ("TU-RUNNING", timedelta(0))):
            s.add(DepositTopUp(topup_no=no, patient_id=pid, code=ecard, channel="wechat", amount=D("9.00"),
                               status="new", refunded=D("0.00"), last_sequence=0, error="", created_at=now - age,
                               updated_at=now - age))
    swept = desk.post("/deposits/sweep")
    assert (swept["topups"], swept["topups_closed"]) == (2, 1)
    assert desk.get("/deposits/top-ups/TU-STOPPED")["status"] == "CLOSED" and ("close", "TU-STOPPED") in wechat.calls
    assert desk.get("/deposits/top-ups/TU-RUNNING")["status"] == "new" and ("query", "TU-RUNNING") not in wechat.calls

    # a withdrawal whose refund answers were lost stays withdrawing; the sweep finishes it (the same refund_no)
    desk.post("/deposits/top-up", {**body, "channel": "card", "amount": "10.00"}, 201)
    out = desk.post("/deposits/withdraw", {"patient_id": pid, "amount": "10.00"})
    assert out["status"] == "withdrawing" and out["legs"][0]["status"] == "pending"
    swept = desk.post("/deposits/sweep")
    assert (swept["withdrawals"], swept["withdrawals_finished"]) == (1, 1)
    assert desk.post(f"/deposits/withdrawals/{out['withdraw_no']}")["status"] == "done"
    assert list(card.refunds.values()) == [D("10.00")] and _deposit(desk, pid)["balance"] == "30.00"


def test_no_withdrawal_while_a_payment_from_the_deposit_is_open(world: World,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    losing = LosingTransport(world.platform_http, "2207", 3)  # every try of the request is lost
    desk = world.hospital(platform_http=httpx.Client(transport=losing))
    pid, _ = _patient(desk)
    desk.post("/deposits/top-up", {"code": HEALTH_CODE, "amount": "200.00", "channel": "card"}, 201)
    reg = desk.register(pid, "DR01", "pm")
    clinic = desk.bill(reg["registration_id"], [("EX-DRUG-A", "50.00", "2"), ("EX-ITEM-C", "30.00", "1")])
    paying = desk.pay(pid, [clinic], "deposit", "mobile")
    assert paying["status"] == "settling", paying  # the 2207 outcome unknown: it may still debit the deposit

    for headers in (patient_headers(pid), bearer("staff", "desk01")):
        refused = desk.post("/deposits/withdraw", {"patient_id": pid}, 409, headers=headers)
        assert paying["payment_no"] in refused["detail"]
    dep = _deposit(desk, pid)
    assert dep["balance"] == "200.00" and [e["kind"] for e in dep["entries"]] == ["topup"]
    assert desk.channels["card"].refunds == {}

    monkeypatch.setattr(later, "SETTLING_GRACE", timedelta(0))
    ended = desk.get(f"/payments/{paying['payment_no']}", refresh="true")
    assert ended["status"] == "failed", ended  # the insurance leg undone, nothing taken from the deposit
    out = desk.post("/deposits/withdraw", {"patient_id": pid})
    assert (out["status"], out["amount"], out["balance"]) == ("done", "200.00", "0.00")


def test_the_same_key_sent_twice_at_once_makes_one_order(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    desk = world.hospital()
    card = desk.channels["card"]
    pid, _ = _patient(desk)
    body = {"code": HEALTH_CODE, "amount": "40.00", "channel": "card"}
    first = desk.post("/deposits/top-up", body, 201, headers={"Idempotency-Key": "at-once"})
    # the second request looked before the first had written its top-up: the unique key stops its insert, and
    # the first's top-up answers
    looked, asked = topup._by_key, []

    def late_look(*args: Any) -> str | None:
        asked.append(args[1])
        return None if len(asked) == 1 else looked(*args)

    monkeypatch.setattr(topup, "_by_key", late_look)
    second = desk.post("/deposits/top-up", body, 201, headers={"Idempotency-Key": "at-once"})
    assert second["topup_no"] == first["topup_no"]
    assert asked == ["at-once", "at-once"]
    assert _pays(card) == 1 and _deposit(desk, pid)["balance"] == "40.00"
