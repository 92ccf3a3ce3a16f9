"""A payment's row as every job of the cashier reads and writes it, and the records that follow it: the kept
settlement, the stay or sale it pays, its refund.

`save` writes anything but the status; a status changes only by `states.PAYMENTS.move` (compare and set, its
table checked)."""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from yibao.hospital import kinds
from yibao.hospital.channels.base import Status
from yibao.hospital.db import Bill, BillLine, KindSettlement, Patient, Payment, Refund, Registration
from yibao.hospital.errors import not_found
from yibao.hospital.insurance import dumps
from yibao.hospital.states import InsuranceStatus

if TYPE_CHECKING:
    from yibao.hospital.context import Context

log = logging.getLogger("yibao.hospital.cashier")
TIME = "%Y-%m-%d %H:%M:%S"
#: the message that settles and the one that undoes a payment's insurance leg, by the payment's kind
SETTLE = {"outpatient": "2207", "pharmacy": "2207", "inpatient": "2304", "retail": "2102"}
CANCEL = {"outpatient": "2208", "pharmacy": "2208", "inpatient": "2305", "retail": "2103"}
REFUNDED = (Status.REFUNDED, Status.PARTIALLY_REFUNDED)
CASH_REFUSED, CASH_AT_DESK = "REFUSED", "GIVEN_AT_DESK"  # a refund's cash: the channel refused; the desk gave it


def load(h: Context, no: str) -> Payment:
    with h.db.session() as s:
        p = s.scalar(select(Payment).where(Payment.payment_no == no))
        if p is None:
            raise not_found(f"payment {no} is not known")
        return p


def save(h: Context, no: str, **values: Any) -> None:
    """Write `values` on the payment (never its status: that is states.PAYMENTS')."""
    if "status" in values:
        raise ValueError("a payment's status changes by states.PAYMENTS.move")
    with h.db.session() as s:
        s.execute(update(Payment).where(Payment.payment_no == no).values(**values, updated_at=h.now()))


def note(h: Context, no: str, error: str) -> None:
    log.warning("payment %s: %s", no, error)
    save(h, no, error=error)


def record_settlement(h: Context, no: str, out_settle: dict[str, Any]) -> None:
    """The settlement output (2207 / 2304 / 2102, or 6202's as 2207 gives it) kept verbatim on the payment."""
    info = out_settle["setlinfo"]
    save(h, no, out_settle=dumps(out_settle), setl_id=str(info["setl_id"]), insurance_status=InsuranceStatus.SETTLED,
         setl_time=datetime.strptime(str(info["setl_time"]), TIME), mdtrt_id=str(info["mdtrt_id"]),
         cash_amount=Decimal(str(info["psn_cash_pay"])))
    p = load(h, no)
    if p.stay_no:
        kinds.record_split(h, p.stay_no, out_settle)


def stay_follows(h: Context, s: Session, p: Payment, to: dict[str, Any], frm: dict[str, Any]) -> None:
    """The stay or sale of a payment follows it (in the caller's transaction): from its state `frm[kind]` to
    `to[kind]` (kinds.PAYABLE_AGAIN, SETTLED, REFUNDED)."""
    if p.stay_no:
        kinds.machine(p.kind).move(s, (KindSettlement.no == p.stay_no) & (KindSettlement.payment_no == p.payment_no),
                                   to[p.kind], (frm[p.kind],), updated_at=h.now())


def visit_of(h: Context, p: Payment) -> tuple[Registration, Patient, list[tuple[BillLine, Bill]]]:
    """The registration, the patient and the bills' lines of a payment of bills, in billing order."""
    with h.db.session() as s:
        reg = s.get_one(Registration, p.registration_id)
        patient = s.get_one(Patient, p.patient_id)
        lines = [(line, bill) for line, bill in s.execute(
            select(BillLine, Bill).join(Bill, Bill.id == BillLine.bill_id).where(Bill.payment_id == p.id)
            .order_by(Bill.id, BillLine.seq))]
    return reg, patient, lines


def refund_of(h: Context, payment_id: int | None, s: Session | None = None) -> Refund | None:
    if payment_id is None:
        return None
    if s is not None:
        return s.scalar(select(Refund).where(Refund.payment_id == payment_id))
    with h.db.session() as s2:
        return s2.scalar(select(Refund).where(Refund.payment_id == payment_id))


def save_refund(h: Context, refund_no: str, **values: Any) -> None:
    with h.db.session() as s:
        s.execute(update(Refund).where(Refund.refund_no == refund_no).values(**values, updated_at=h.now()))
