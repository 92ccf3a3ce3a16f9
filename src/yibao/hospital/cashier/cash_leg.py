"""A payment's cash leg: what the insurance left (`psn_cash_pay`; everything for a self-paying patient) as a
CashOrder through the payment's channel, time-boxed (channel_call.py), and what the channel's answers, queries
and callbacks then say about it.

- insurance is never charged for an unpaid bill: a cash leg that fails or is closed cancels the settlement
  (cancelling -> the insurance leg undone -> failed, the bills pending again);
- a channel that has not answered when the time box ends leaves the payment `paying`: the late answer, a
  callback or a query completes it; an outcome that stays unknown is resolved by a query, never guessed."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from yibao.hospital import channel_call, kinds
from yibao.hospital.cashier import insurance_leg, refunds
from yibao.hospital.cashier.rows import REFUNDED, load, note, save, stay_follows
from yibao.hospital.channel_call import Late, status_of
from yibao.hospital.channels.base import CashOrder, ChannelRejected, ChannelTimeout, Status
from yibao.hospital.db import Bill, Payment
from yibao.hospital.states import PAYMENTS, BillStatus, InsuranceStatus, PaymentStatus

if TYPE_CHECKING:
    from yibao.hospital.context import Context

P = PaymentStatus


def take(h: Context, no: str, deadline: float) -> None:  # float-ok: monotonic seconds
    """settling (or new, self-paying) -> paying: the cash order at the channel, answered within the box."""
    p = load(h, no)
    amount = p.cash_amount if p.insured else p.total
    assert amount is not None
    with h.db.session() as s:
        if not PAYMENTS.move(s, Payment.payment_no == no, P.PAYING, (P.NEW, P.SETTLING), out_trade_no=no,
                             cash_amount=amount, cash_status="unknown", updated_at=h.now()):
            return
    order = CashOrder(out_trade_no=no, amount=amount, description=_description(h, p), payer_ref=p.payer_ref,
                      notify_url=f"{h.config.public_url.rstrip('/')}/callbacks/{p.channel}")
    try:
        result = channel_call.within(h, deadline, channel_call.pay, h.channel(p.channel, p.device), order)
    except Late as late:
        late.hand_over(late_answer(h, no))
        note(h, no, f"{p.channel}: no answer within the time box; the callback or a query completes it")
        return
    except ChannelRejected as exc:
        failed(h, no, "FAILED", f"{p.channel} refused the order: {exc}")
        return
    except ChannelTimeout as exc:
        note(h, no, f"{p.channel}: outcome unknown ({exc}); a query resolves it")
        return
    apply(h, no, result)


def late_answer(h: Context, no: str) -> Any:
    """What to do with the channel's answer to this payment when it comes after the time box."""
    return channel_call.late_answer(
        f"payment {no}", partial(apply, h, no),
        refused=lambda exc: failed(h, no, "FAILED", f"refused the order: {exc}"),
        unknown=lambda exc: note(h, no, f"outcome unknown ({exc}); a query resolves it"))


def _description(h: Context, p: Payment) -> str:
    name = h.config.fixmedins_name or h.config.fixmedins_code
    return f"{name} {p.kind} {', '.join(p.bill_nos) or p.stay_no}"[:120]


def apply(h: Context, no: str, result: Any) -> None:
    """What the channel says about the order (an answer, a query, a callback event) moves the payment."""
    status = status_of(result.status)
    p = load(h, no)
    if status == Status.PAID:
        if result.amount != p.cash_amount:
            note(h, no, f"{p.channel} says PAID {result.amount}, but the order is {p.cash_amount}: "
                        "not applied, to be checked")
            return
        paid(h, no, result.channel_trade_no, getattr(result, "paid_at", None))
    elif status == Status.PENDING:
        with h.db.session() as s:
            s.execute(update(Payment).where(Payment.payment_no == no, Payment.status == P.PAYING).values(
                cash_status="PENDING", pay_url=getattr(result, "pay_url", None) or p.pay_url, updated_at=h.now()))
    elif status in (Status.FAILED, Status.CLOSED):
        failed(h, no, status.value, f"{p.channel} says {status.value}")
    elif status in REFUNDED:
        refunds.confirmed(h, no, result)


def paid(h: Context, no: str, channel_trade_no: str | None = None, paid_at: datetime | None = None) -> None:
    """-> paid, with its bills (its stay or sale settled). A PAID for a payment given up meanwhile is refunded."""
    now = h.now()
    with h.db.session() as s:
        p = s.scalar(select(Payment).where(Payment.payment_no == no))
        assert p is not None
        if PAYMENTS.move(s, Payment.id == p.id, P.PAID, (P.NEW, P.SETTLING, P.PAYING),
                         cash_status="PAID" if p.out_trade_no else "none", channel_trade_no=channel_trade_no,
                         paid_at=paid_at or now, updated_at=now):
            s.execute(update(Bill).where(Bill.payment_id == p.id).values(status=BillStatus.PAID, paid_at=now))
            stay_follows(h, s, p, kinds.SETTLED, kinds.PAYING)
            return
        stray = p.status == P.FAILED and p.cash_status != "PAID"
    if stray:  # paid after the payment was given up: give the money back
        _refund_stray(h, no)


def _refund_stray(h: Context, no: str) -> None:
    p = load(h, no)
    try:
        result = h.channel(p.channel, p.device).refund(p.out_trade_no, f"{no}X", p.cash_amount)
        save(h, no, cash_status=status_of(result.status).value,
             error=f"{p.error}; paid after the payment failed: refunded".lstrip("; "))
    except (ChannelTimeout, ChannelRejected) as exc:
        note(h, no, f"paid after the payment failed; the refund {no}X is to be made: {exc}")


def failed(h: Context, no: str, cash_status: str, why: str) -> None:
    """The cash leg failed (refused, FAILED, CLOSED): -> cancelling, and the insurance leg undone."""
    with h.db.session() as s:
        if not PAYMENTS.move(s, Payment.payment_no == no, P.CANCELLING, (P.NEW, P.SETTLING, P.PAYING),
                             cash_status=cash_status, error=why, updated_at=h.now()):
            return
    finish_cancelling(h, no)


def give_up(h: Context, no: str, why: str) -> None:
    """A payment whose request ended before its cash leg: -> cancelling, and the insurance leg undone."""
    with h.db.session() as s:
        PAYMENTS.move(s, Payment.payment_no == no, P.CANCELLING, (P.NEW, P.SETTLING), error=why, updated_at=h.now())
    finish_cancelling(h, no)


def finish_cancelling(h: Context, no: str) -> None:
    """cancelling -> failed once the insurance leg is undone (else it stays cancelling, resumed later)."""
    if insurance_leg.cancel(h, no):
        with h.db.session() as s:
            p = s.scalar(select(Payment).where(Payment.payment_no == no))
            assert p is not None
            if PAYMENTS.move(s, Payment.id == p.id, P.FAILED, (P.CANCELLING,), updated_at=h.now()):
                _payable_again(h, s, p)


def refused(h: Context, no: str, why: str) -> None:
    """The insurance leg was refused: nothing was charged (settling -> failed)."""
    save(h, no, error=why, insurance_status=InsuranceStatus.NONE)
    with h.db.session() as s:
        p = s.scalar(select(Payment).where(Payment.payment_no == no))
        assert p is not None
        if PAYMENTS.move(s, Payment.id == p.id, P.FAILED, (P.SETTLING,), updated_at=h.now()):
            _payable_again(h, s, p)


def _payable_again(h: Context, s: Session, p: Payment) -> None:
    """A payment failed with nothing charged: its bills are pending again (its stay or sale payable)."""
    s.execute(update(Bill).where(Bill.payment_id == p.id, Bill.status == BillStatus.PAYING)
              .values(status=BillStatus.PENDING, payment_id=None))
    stay_follows(h, s, p, kinds.PAYABLE_AGAIN, kinds.PAYING)
