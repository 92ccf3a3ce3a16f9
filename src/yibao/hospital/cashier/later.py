"""Completing a payment after its request: `refresh` (GET ?refresh=true), the provider's callbacks, the payer
giving up an order (`cancel`) and the sweep of every payment still open (a lost callback, a lost answer, a
process that stopped midway)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from yibao.hospital import channel_call
from yibao.hospital.cashier import cash_leg, insurance_leg, mobile_leg, refunds
from yibao.hospital.cashier.rows import load, log, note, refund_of, save
from yibao.hospital.cashier.views import view
from yibao.hospital.channel_call import Late, status_of
from yibao.hospital.channels.base import BadCallback, ChannelRejected, ChannelTimeout, Status
from yibao.hospital.db import CallbackInbox, Payment
from yibao.hospital.deposit import topup as deposit_topup
from yibao.hospital.errors import HospitalError, conflict, not_found
from yibao.hospital.states import InsuranceStatus, PaymentStatus
from yibao.money import ZERO

if TYPE_CHECKING:
    from yibao.hospital.context import Context

P = PaymentStatus
SETTLING_GRACE = timedelta(seconds=60)  # a payment settling for less than this may still have its request running
OPEN = (P.NEW, P.SETTLING, P.PAYING, P.CANCELLING, P.REFUNDING)


def refresh(h: Context, no: str) -> dict[str, Any]:
    """The payment now: a payment still open is resolved (a query of the channel, a resend of a lost
    2207 / 2208) within the time box."""
    p = load(h, no)
    if p.status == P.PAYING:
        try:
            cash_leg.apply(h, no, channel_call.within(h, channel_call.box(h), channel_call.known,
                                                      h.channel(p.channel, p.device), no))
        except Late as late:
            late.hand_over(cash_leg.late_answer(h, no))
        except ChannelTimeout as exc:
            note(h, no, f"query: {exc}")
    elif p.status == P.CANCELLING:
        cash_leg.finish_cancelling(h, no)
    elif p.status in (P.SETTLING, P.NEW) and h.now() - p.updated_at >= SETTLING_GRACE:
        _give_up(h, no)
    elif p.status == P.REFUNDING:
        refund = refund_of(h, p.id)
        if refund is not None:
            refunds.proceed(h, refund.refund_no)
    return view(h, no)


def sweep(h: Context) -> dict[str, int]:
    """Every payment still open: queried, resumed or undone. An order still unpaid after `pending_expiry`
    seconds is closed at the channel, which undoes its insurance leg. Run every `sweep_every` seconds while
    serving."""
    expiry = timedelta(seconds=h.config.pending_expiry)
    with h.db.session() as s:
        open_ = list(s.execute(select(Payment.payment_no, Payment.status, Payment.created_at).where(
            Payment.status.in_(OPEN)).order_by(Payment.id)))
    seen = {"open": len(open_), "closed": 0}
    for no, status, created_at in open_:
        try:
            if refresh(h, no)["status"] == P.PAYING and h.now() - created_at > expiry:
                cancel(h, no)
                seen["closed"] += 1
        except HospitalError as exc:
            log.warning("sweep: payment %s (%s): %s", no, status, exc.message)
        except Exception:  # noqa: BLE001 - one payment's trouble must not stop the sweep
            log.exception("sweep: payment %s (%s)", no, status)
    return seen


def _give_up(h: Context, no: str) -> None:
    """A payment left settling (its request died): learn the settling message's outcome; nothing left to pay
    makes it paid, otherwise the insurance leg is undone (the patient pays again)."""
    p = load(h, no)
    if p.pay_auth_no and p.insurance_status != InsuranceStatus.SETTLED:
        if mobile_leg.learn(h, no) is None:
            return
        p = load(h, no)
    elif p.env_settle and p.insurance_status != InsuranceStatus.SETTLED:
        settled = insurance_leg.learn(h, no)
        if settled is None:
            return
        if not settled:
            save(h, no, insurance_status=InsuranceStatus.NONE)
        p = load(h, no)
    if p.insurance_status == InsuranceStatus.SETTLED and p.cash_amount == ZERO:
        cash_leg.paid(h, no)
        return
    cash_leg.give_up(h, no, "given up: the request ended before the cash leg")


def cancel(h: Context, no: str) -> dict[str, Any]:
    """The patient gives up an order not paid yet: the channel closes it (so it can no longer be paid), and
    the insurance leg is undone."""
    p = load(h, no)
    if p.status != P.PAYING:
        raise conflict(f"payment {no} is {p.status}")
    ch = h.channel(p.channel, p.device)
    try:
        result = ch.close(no)
    except ChannelRejected:  # paid meanwhile
        result = ch.query(no)
    except ChannelTimeout as exc:
        raise HospitalError(503, f"{p.channel}: {exc}; try again") from None
    cash_leg.apply(h, no, result)
    return view(h, no)


def callback(h: Context, kind: str, headers: dict[str, str], body: bytes) -> tuple[int, str, str]:
    """A provider's notification: verified by the channel, taken once per event id, applied in sequence
    order (a lower sequence than already applied is kept as stale). Returns (HTTP status, body, outcome)."""
    if kind not in h.channels:
        raise not_found(f"no channel {kind!r} here")
    ch = h.channel(kind)
    try:
        event = ch.parse_callback(headers, body)
    except BadCallback as exc:
        raise HospitalError(400, f"{kind}: {exc}") from None
    status, answer = ch.callback_answer()
    now = h.now()
    try:
        with h.db.session() as s:
            row = CallbackInbox(channel=kind, event_id=event.event_id, out_trade_no=event.out_trade_no,
                                status=status_of(event.status).value, amount=event.amount,
                                channel_trade_no=event.channel_trade_no, sequence=event.sequence,
                                outcome="received", received_at=now, body=body.decode("utf-8", "replace"))
            s.add(row)
            s.flush()
            row_id = row.id
    except IntegrityError:
        return status, answer, "duplicate"
    with h.db.session() as s:
        p = s.scalar(select(Payment).where(Payment.out_trade_no == event.out_trade_no, Payment.channel == kind))
        if p is None:  # a deposit top-up order, else unknown
            outcome = deposit_topup.on_callback(s, kind, event, now)
        elif event.sequence <= p.last_sequence:
            outcome = "stale"
        elif status_of(event.status) == Status.PAID and event.amount != p.cash_amount:
            outcome = "amount_mismatch"
        else:
            outcome = "applied"
            p.last_sequence = event.sequence
        s.execute(update(CallbackInbox).where(CallbackInbox.id == row_id).values(outcome=outcome))
    if outcome == "applied":
        cash_leg.apply(h, event.out_trade_no, event)
    elif outcome == "amount_mismatch":
        note(h, event.out_trade_no, f"callback {event.event_id}: PAID {event.amount}, not the order's amount")
    return status, answer, outcome
