"""The states of the hospital's records and the moves between them.

A payment, a stay, a sale and a deposit top-up each change state only through their `Machine` (below): one
compare-and-set UPDATE, guarded by the states it may leave, which refuses (IllegalTransition, a fault of ours) a
move its table does not hold. tests/hospital/test_hospital_structure.py proves that no other code writes these statuses
and that the payment's table is exactly the moves the code makes.

The payment (docs/hospital.md, "How the hospital is built"):

    new ──insurance──► settling ──cash needed──► paying ──PAID──► paid ──refund──► refunding ──► refunded
     │                   │  └──nothing in cash──────────────────► paid
     │                   └──refused───────────────────────────────► failed (nothing charged)
     └──(self-paying) cash needed ──► paying;  nothing to pay ──► paid
    new / settling / paying ──cash FAILED, CLOSED, refused; given up──► cancelling ──insurance undone──► failed

The other records' states are written as enums too, so that their names are spelled once: bills, bookings,
registrations, refunds and withdrawals change by guarded UPDATEs in the module that owns them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, update
from sqlalchemy.orm import Session

from yibao.hospital.db import DepositTopUp, KindSettlement, Payment


class PaymentStatus(StrEnum):
    NEW = "new"  # claimed: the bills (stay, sale) are this payment's; nothing sent yet
    SETTLING = "settling"  # the insurance leg is under way (2201-2207, 2303/2304, 2101/2102, 6201/6202)
    PAYING = "paying"  # the cash order is at the channel
    PAID = "paid"
    CANCELLING = "cancelling"  # the cash leg failed or was given up: the insurance leg is being undone
    FAILED = "failed"  # nothing stands: the bills are pending again (a stay, a sale payable again)
    REFUNDING = "refunding"  # a refund is under way (refunds)
    REFUNDED = "refunded"


class InsuranceStatus(StrEnum):
    """A payment's insurance leg (`payments.insurance_status`)."""

    NONE = "none"
    SETTLING = "settling"
    SETTLED = "settled"
    UNKNOWN = "unknown"
    CANCELLED = "cancelled"


class StayStatus(StrEnum):
    ADMITTED = "admitted"
    DISCHARGED = "discharged"  # payable (again, after a failed payment or a refund)
    PAYING = "paying"
    SETTLED = "settled"
    REVERSING = "reversing"  # a 2401 whose answer was lost, its 2601 lost too: reversed before the next admission
    REVERSED = "reversed"


class SaleStatus(StrEnum):
    OPEN = "open"  # payable (again, after a failed payment)
    PAYING = "paying"
    SETTLED = "settled"
    CANCELLED = "cancelled"


class TopUpStatus(StrEnum):
    """A deposit top-up: the channel's statuses, and two of its own before the channel has said anything."""

    NEW = "new"  # written; the channel not asked yet (or its request still running)
    UNKNOWN = "unknown"  # the channel has not answered in time, or its answer was lost
    PENDING = "PENDING"
    PAID = "PAID"
    FAILED = "FAILED"
    CLOSED = "CLOSED"


class BillStatus(StrEnum):
    PENDING = "pending"
    PAYING = "paying"
    PAID = "paid"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


class BookingStatus(StrEnum):
    BOOKED = "booked"
    REGISTERED = "registered"
    CANCELLED = "cancelled"
    SUSPENDED = "suspended"


class RegistrationStatus(StrEnum):
    REGISTERED = "registered"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


class RefundStatus(StrEnum):
    REFUNDING = "refunding"
    REFUNDED = "refunded"


class WithdrawalStatus(StrEnum):
    WITHDRAWING = "withdrawing"
    DONE = "done"
    PARTIAL = "partial"  # a leg the channel refused was credited back to the deposit


P, S, T = PaymentStatus, StayStatus, TopUpStatus

#: every move a payment makes (tests/hospital/test_hospital_structure.py: exactly the moves the code makes)
PAYMENT_MOVES: Mapping[PaymentStatus, frozenset[PaymentStatus]] = {
    P.NEW: frozenset({P.SETTLING, P.PAYING, P.PAID, P.CANCELLING}),
    P.SETTLING: frozenset({P.PAYING, P.PAID, P.CANCELLING, P.FAILED}),
    P.PAYING: frozenset({P.PAID, P.CANCELLING}),
    P.CANCELLING: frozenset({P.FAILED}),
    P.PAID: frozenset({P.REFUNDING}),
    P.REFUNDING: frozenset({P.REFUNDED}),
}
STAY_MOVES: Mapping[StayStatus, frozenset[StayStatus]] = {
    S.ADMITTED: frozenset({S.DISCHARGED}),
    S.DISCHARGED: frozenset({S.PAYING}),
    S.PAYING: frozenset({S.SETTLED, S.DISCHARGED}),
    S.SETTLED: frozenset({S.DISCHARGED}),  # refunded: it may be settled again
    S.REVERSING: frozenset({S.REVERSED}),
}
SALE_MOVES: Mapping[SaleStatus, frozenset[SaleStatus]] = {
    SaleStatus.OPEN: frozenset({SaleStatus.PAYING}),
    SaleStatus.PAYING: frozenset({SaleStatus.SETTLED, SaleStatus.OPEN}),
    SaleStatus.SETTLED: frozenset({SaleStatus.CANCELLED}),
}
#: what the channel says moves a top-up; PAID is final (credited once), FAILED and CLOSED may still learn PAID
TOPUP_MOVES: Mapping[TopUpStatus, frozenset[TopUpStatus]] = {
    T.NEW: frozenset({T.UNKNOWN, T.PENDING, T.PAID, T.FAILED, T.CLOSED}),
    T.UNKNOWN: frozenset({T.PENDING, T.PAID, T.FAILED, T.CLOSED}),
    T.PENDING: frozenset({T.PAID, T.FAILED, T.CLOSED}),
    T.FAILED: frozenset({T.PAID, T.CLOSED}),
    T.CLOSED: frozenset({T.PAID, T.FAILED}),
}

E = TypeVar("E", bound=StrEnum)


class IllegalTransition(RuntimeError):
    """A move the record's table does not hold: a fault of ours, never a caller's."""


class Machine(Generic[E]):
    """The states of one kind of record and the only way its `status` column changes."""

    def __init__(self, name: str, model: Any, moves: Mapping[E, frozenset[E]]):
        self.name, self.model, self.moves = name, model, moves

    def allowed(self, frm: E, to: E) -> bool:
        return to in self.moves.get(frm, frozenset())

    def move(self, s: Session, where: ColumnElement[bool], to: E, frm: Iterable[E], **values: Any) -> bool:
        """Move the record `where` names to `to`, with `values`, if it is in one of the states `frm` (compare and
        set, in the caller's transaction): True if it moved. A move not in the table raises IllegalTransition
        before anything is written; staying in `to` is not a move, so `to` must not be one of `frm`."""
        frm = tuple(frm)
        illegal = [str(f) for f in frm if not self.allowed(f, to)]
        if illegal or not frm:
            raise IllegalTransition(f"{self.name}: no move from {', '.join(illegal) or 'nowhere'} to {to}")
        moved = s.execute(update(self.model).where(where, self.model.status.in_([str(f) for f in frm]))
                          .values(status=str(to), **values))
        return moved.rowcount == 1  # type: ignore[attr-defined, no-any-return]


PAYMENTS: Machine[PaymentStatus] = Machine("payment", Payment, PAYMENT_MOVES)
STAYS: Machine[StayStatus] = Machine("stay", KindSettlement, STAY_MOVES)
SALES: Machine[SaleStatus] = Machine("sale", KindSettlement, SALE_MOVES)
TOPUPS: Machine[TopUpStatus] = Machine("top-up", DepositTopUp, TOPUP_MOVES)
