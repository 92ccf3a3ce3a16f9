"""Refunding a paid payment: a registration fee paid on its own (online), a stay or a sale (at the desk).

The insurance part by 2208 / 2305 / 2103 / 6203 first, the cash part by the channel's refund with a fixed
refund_no after: no cash goes back while the settlement stands. Both are recorded in `refunds`; asking again
(or the sweep) continues an unfinished refund. A channel that refuses the refund is not asked again: the desk
gives the cash back itself and says so (`give_cash_back`)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from yibao.client import PlatformError
from yibao.hospital import kinds
from yibao.hospital.cashier import insurance_leg, mobile_leg
from yibao.hospital.cashier.rows import (
    CASH_AT_DESK,
    CASH_REFUSED,
    REFUNDED,
    load,
    log,
    refund_of,
    save_refund,
    stay_follows,
)
from yibao.hospital.channel_call import status_of
from yibao.hospital.channels.base import ChannelRejected, ChannelTimeout
from yibao.hospital.context import new_no
from yibao.hospital.db import Bill, Patient, Payment, Refund, Registration, Slot
from yibao.hospital.errors import conflict, not_found
from yibao.hospital.insurance import loads
from yibao.hospital.states import (
    PAYMENTS,
    BillStatus,
    InsuranceStatus,
    PaymentStatus,
    RefundStatus,
    RegistrationStatus,
)
from yibao.money import ZERO

if TYPE_CHECKING:
    from yibao.hospital.context import Context


def refund_registration(h: Context, reg_id: int, reason: str) -> dict[str, Any]:
    """Online refund of a registration fee paid on its own: the insurance part by 2208, the cash part by
    the channel; both recorded. A fee not paid yet just cancels the registration. Again: continues it."""
    unpaid: Registration | None = None
    with h.db.session() as s:
        reg = s.get(Registration, reg_id)
        if reg is None:
            raise not_found(f"registration {reg_id} is not known")
        fee = s.scalar(select(Bill).where(Bill.registration_id == reg.id, Bill.kind == "registration"))
        assert fee is not None
        existing = refund_of(h, fee.payment_id, s) if fee.payment_id else None
        if existing is not None:
            refund_no = existing.refund_no
        else:
            if reg.status != RegistrationStatus.REGISTERED:
                raise conflict(f"registration {reg_id} is {reg.status}")
            if not reg.refundable:
                raise conflict(f"registration {reg_id}: the doctor has seen the patient; refund at the desk")
            others = s.scalar(select(func.count()).select_from(Bill).where(
                Bill.registration_id == reg.id, Bill.id != fee.id,
                Bill.status.in_((BillStatus.PAYING, BillStatus.PAID))))
            if others:
                raise conflict(f"registration {reg_id} has other bills paid or being paid; refund at the desk")
            if fee.status == BillStatus.PENDING:  # nothing paid: the registration is simply cancelled
                s.execute(update(Bill).where(Bill.id == fee.id).values(status=BillStatus.CANCELLED))
                s.execute(update(Registration).where(Registration.id == reg.id)
                          .values(status=RegistrationStatus.CANCELLED))
                s.execute(update(Slot).where(Slot.id == reg.slot_id, Slot.taken > 0).values(taken=Slot.taken - 1))
                unpaid = reg
            elif fee.status != BillStatus.PAID:
                raise conflict(f"the registration fee {fee.bill_no} is {fee.status}")
        if unpaid is None and existing is None:
            p = s.get_one(Payment, fee.payment_id)
            if p.bill_nos != [fee.bill_no]:
                raise conflict(f"the registration fee was paid together with other bills in payment "
                               f"{p.payment_no}; refund at the desk")
            refund_no = _open(h, s, p, reason)
    if unpaid is not None:
        if unpaid.mdtrt_id:
            _cancel_visit(h, unpaid)
        return {"registration_id": unpaid.id, "status": RegistrationStatus.CANCELLED.value, "refund": None}
    return proceed(h, refund_no)


def refund_payment(h: Context, no: str, reason: str) -> dict[str, Any]:
    """Undo a paid stay or sale at the desk: the settlement by 2305 / 2103, the cash back through the channel
    it came by (the card at the terminal that read it). Again: continues it."""
    with h.db.session() as s:
        p = s.scalar(select(Payment).where(Payment.payment_no == no))
        if p is None:
            raise not_found(f"payment {no} is not known")
        existing = refund_of(h, p.id, s)
        if existing is not None:
            refund_no = existing.refund_no
        else:
            if not p.stay_no:
                raise conflict(f"payment {no} pays bills: a registration fee is refunded with its registration")
            if p.status != PaymentStatus.PAID:
                raise conflict(f"payment {no} is {p.status}: only a paid payment is refunded")
            refund_no = _open(h, s, p, reason)
    return proceed(h, refund_no)


def _open(h: Context, s: Session, p: Payment, reason: str) -> str:
    """The refund row of a paid payment (in the caller's transaction), which moves paid -> refunding."""
    now = h.now()
    insured = p.insurance_status == InsuranceStatus.SETTLED
    info = (loads(p.out_settle) or {}).get("setlinfo", {}) if insured else {}
    cash = p.cash_amount if p.out_trade_no and p.cash_status == "PAID" else ZERO
    refund_no = new_no("F", now)
    s.add(Refund(refund_no=refund_no, payment_id=p.id, registration_id=p.registration_id, reason=reason,
                 insurance_amount=(Decimal(str(info["medfee_sumamt"])) -
                                   Decimal(str(info["psn_cash_pay"]))) if insured else ZERO,
                 cash_amount=cash or ZERO, insurance_status="pending" if insured else "none",
                 cash_status="pending" if cash else "none", status=RefundStatus.REFUNDING, error="",
                 created_at=now, updated_at=now))
    if not PAYMENTS.move(s, Payment.id == p.id, PaymentStatus.REFUNDING, (PaymentStatus.PAID,), updated_at=now):
        raise conflict(f"payment {p.payment_no} is being refunded by another request")
    return refund_no


def _cancel_visit(h: Context, reg: Registration) -> None:
    """2202: the platform's visit of a registration refunded or cancelled (best effort)."""
    with h.db.session() as s:
        patient = s.get_one(Patient, reg.patient_id)
    try:
        h.insurance.ok("2202", {"data": {"psn_no": patient.psn_no, "mdtrt_id": reg.mdtrt_id,
                                         "ipt_otp_no": reg.reg_no}}, patient.insuplc_admdvs or "")
    except PlatformError as exc:
        log.warning("registration %s: 2202 refused: %s", reg.reg_no, exc.err_msg)


def proceed(h: Context, refund_no: str) -> dict[str, Any]:
    """A refund taken as far as it goes now: the insurance part undone, then the cash asked back."""
    with h.db.session() as s:
        refund = s.scalar(select(Refund).where(Refund.refund_no == refund_no))
        assert refund is not None
        p = s.get_one(Payment, refund.payment_id)
    if refund.insurance_status == "pending":
        if not insurance_leg.cancel(h, p.payment_no):
            # the settlement still stands: no cash goes back for it until it is undone (asked again later)
            save_refund(h, refund_no, error=load(h, p.payment_no).error)
            return view(h, refund_no)
        save_refund(h, refund_no, insurance_status="done")
    if refund.cash_status not in ("none", CASH_REFUSED, CASH_AT_DESK, *REFUNDED):
        ch = h.channel(p.channel, p.device)
        try:
            try:
                result = ch.refund(p.out_trade_no, refund_no, refund.cash_amount)
            except ChannelTimeout:
                result = ch.query(p.out_trade_no)
            confirmed(h, p.payment_no, result)
        except ChannelTimeout as exc:  # asked again by the next request or the sweep
            save_refund(h, refund_no, error=f"{p.channel} refund: {exc}")
        except ChannelRejected as exc:  # not asked again: the desk gives the cash back (give_cash_back)
            save_refund(h, refund_no, cash_status=CASH_REFUSED,
                        error=f"{p.channel} refused the refund: {exc}; give the cash back at the desk")
    _finish(h, refund_no)
    return view(h, refund_no)


def confirmed(h: Context, no: str, result: Any) -> None:
    """The channel says the order is refunded (an answer, a query or a callback)."""
    p = load(h, no)
    refund = refund_of(h, p.id)
    if refund is None:
        return
    refunded = getattr(result, "refunded", None)
    if refunded is None:
        refunded = result.amount  # a callback event's amount is the total refunded so far
    status = status_of(result.status)
    if status in REFUNDED and refunded >= refund.cash_amount:
        save_refund(h, refund.refund_no, cash_status=status.value)
        _finish(h, refund.refund_no)


def _finish(h: Context, refund_no: str) -> None:
    """Both parts done: refund, payment, bills and registration refunded, the slot's place released, the stay
    payable again (a sale cancelled); then 2202 of the visit, and 6203 CASH of a mobile payment's cash."""
    now = h.now()
    with h.db.session() as s:
        refund = s.scalar(select(Refund).where(Refund.refund_no == refund_no))
        assert refund is not None
        if refund.status == RefundStatus.REFUNDED or refund.insurance_status == "pending" or \
                refund.cash_status not in ("none", CASH_AT_DESK, *REFUNDED):
            return
        s.execute(update(Refund).where(Refund.id == refund.id)
                  .values(status=RefundStatus.REFUNDED, updated_at=now))
        p = s.get_one(Payment, refund.payment_id)
        PAYMENTS.move(s, Payment.id == p.id, PaymentStatus.REFUNDED, (PaymentStatus.REFUNDING,), updated_at=now,
                      **({"cash_status": refund.cash_status} if refund.cash_status != "none" else {}))
        s.execute(update(Bill).where(Bill.payment_id == p.id).values(status=BillStatus.REFUNDED))
        stay_follows(h, s, p, kinds.REFUNDED, kinds.SETTLED)
        reg = s.get(Registration, refund.registration_id) if refund.registration_id else None
        if reg is not None:
            s.execute(update(Registration).where(Registration.id == reg.id)
                      .values(status=RegistrationStatus.REFUNDED))
            s.execute(update(Slot).where(Slot.id == reg.slot_id, Slot.taken > 0).values(taken=Slot.taken - 1))
    if reg is not None and reg.mdtrt_id:
        _cancel_visit(h, reg)
    if p.pay_ord_id and refund.cash_amount > ZERO:
        mobile_leg.tell_cash_refund(h, p.payment_no, refund.cash_amount)


def give_cash_back(h: Context, refund_no: str, operator: str, note: str) -> dict[str, Any]:
    """The desk gives a refund's cash back itself (cash, a transfer) when the channel refused the refund:
    recorded with who did it, and the refund finishes."""
    with h.db.session() as s:
        refund = s.scalar(select(Refund).where(Refund.refund_no == refund_no))
        if refund is None:
            raise not_found(f"refund {refund_no} is not known")
        if refund.cash_status != CASH_REFUSED:
            raise conflict(f"refund {refund_no}: its cash is {refund.cash_status}; only a refund the channel "
                           "refused is given back at the desk")
        refund.cash_status = CASH_AT_DESK
        refund.error = f"{refund.error}; given back at the desk by {operator}: {note}".lstrip("; ")
        refund.updated_at = h.now()
    _finish(h, refund_no)
    return view(h, refund_no)


def view(h: Context, refund_no: str) -> dict[str, Any]:
    with h.db.session() as s:
        r = s.scalar(select(Refund).where(Refund.refund_no == refund_no))
        if r is None:
            raise not_found(f"refund {refund_no} is not known")
        p = s.get_one(Payment, r.payment_id)
        return {"registration_id": r.registration_id, "stay_no": p.stay_no, "status": r.status, "refund": {
            "refund_no": r.refund_no, "payment_no": p.payment_no, "setl_id": p.setl_id, "reason": r.reason,
            "insurance_amount": r.insurance_amount, "insurance_status": r.insurance_status,
            "cash_amount": r.cash_amount, "cash_status": r.cash_status, "status": r.status, "error": r.error,
            "out_cancel": loads(p.out_cancel)}}
