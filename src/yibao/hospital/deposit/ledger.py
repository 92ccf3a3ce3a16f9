"""The patient's deposit account (预交金 / 充值, seed 003 其他 3): its ledger, and the deposit as a payment channel
of the cashier (bills settled by insurance with the self-pay remainder taken from the deposit).

Rules kept here:
- money is Decimal of two places (Money columns: integer fen); every movement is one `deposit_entries` row with
  a signed amount and a unique `ref`, so the same movement is never written twice;
- the balance is never negative: a debit is a guarded UPDATE (`balance >= amount`) and the database checks it;
- paying bills with `channel: "deposit"` goes through the cashier like any channel (`DepositChannel`): the cash
  remainder after insurance is debited at once (PAID) or refused (then the insurance leg is undone). Before any
  insurance call the cashier asks `precheck`: a deposit below the bills' total is refused, nothing written.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yibao.hospital.channels.base import (
    BadCallback,
    CallbackEvent,
    CashOrder,
    Channel,
    ChannelRejected,
    ChannelResult,
    Status,
)
from yibao.hospital.db import Bill, DepositAccount, DepositEntry, DepositTopUp, Patient, Payment
from yibao.hospital.errors import conflict, not_found
from yibao.money import ZERO, money
from yibao.sqlkit import insert_or_ignore

if TYPE_CHECKING:
    from yibao.hospital.context import Context

DEPOSIT = "deposit"


def _account(s: Session, patient_id: int, now: datetime) -> None:
    """The patient's account row, made at zero when missing (race-free)."""
    insert_or_ignore(s, DepositAccount, patient_id=patient_id, balance=ZERO, updated_at=now)


def move(s: Session, patient_id: int, amount: Decimal, kind: str, ref: str, now: datetime) -> DepositEntry | None:
    """One movement (signed amount) and its entry, in the caller's transaction. A debit the balance does not
    cover returns None, nothing written. The same `ref` twice raises IntegrityError (the caller's rollback)."""
    amount = money(amount)
    _account(s, patient_id, now)
    guard = [DepositAccount.patient_id == patient_id]
    if amount < ZERO:
        guard.append(DepositAccount.balance >= -amount)
    moved = s.execute(update(DepositAccount).where(*guard)
                      .values(balance=DepositAccount.balance + amount, updated_at=now))
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        return None
    balance = s.scalar(select(DepositAccount.balance).where(DepositAccount.patient_id == patient_id))
    assert balance is not None and balance >= ZERO
    entry = DepositEntry(patient_id=patient_id, kind=kind, amount=amount, balance_after=balance, ref=ref,
                         created_at=now)
    s.add(entry)
    s.flush()
    return entry


def lock_account(s: Session, patient_id: int, now: datetime) -> None:
    """The account row, locked until the transaction ends by an UPDATE of it (PostgreSQL: the row's lock;
    SQLite: the database's write lock): a debit by another transaction waits for this one."""
    _account(s, patient_id, now)
    s.execute(update(DepositAccount).where(DepositAccount.patient_id == patient_id)
              .values(updated_at=now))


def balance_of(s: Session, patient_id: int) -> Decimal:
    return s.scalar(select(DepositAccount.balance).where(DepositAccount.patient_id == patient_id)) or ZERO


def patient_by_code(hospital: Context, code: str) -> int:
    """Either linked code (医保电子凭证 or 电子健康码) finds the patient."""
    code = code.strip()
    with hospital.db.session() as s:
        pid = s.scalar(select(Patient.id).where((Patient.ecard == code) | (Patient.health_code == code)))
    if not code or pid is None:
        raise not_found("no patient holds this code")
    return pid


def topup_fields(t: DepositTopUp) -> dict[str, Any]:
    """A top-up as its caller reads it (alone, or in the deposit's view)."""
    return {"topup_no": t.topup_no, "patient_id": t.patient_id, "channel": t.channel, "amount": t.amount,
            "status": t.status, "refunded": t.refunded, "channel_trade_no": t.channel_trade_no, "pay_url": t.pay_url,
            "error": t.error, "created_at": t.created_at}


def view(hospital: Context, patient_id: int) -> dict[str, Any]:
    with hospital.db.session() as s:
        if s.get(Patient, patient_id) is None:
            raise not_found(f"patient {patient_id} is not known")
        entries = list(s.scalars(select(DepositEntry).where(DepositEntry.patient_id == patient_id)
                                 .order_by(DepositEntry.id)))
        topups = list(s.scalars(select(DepositTopUp).where(DepositTopUp.patient_id == patient_id)
                                .order_by(DepositTopUp.id)))
        return {"patient_id": patient_id, "balance": balance_of(s, patient_id),
                "entries": [{"entry_id": e.id, "kind": e.kind, "amount": e.amount, "balance_after": e.balance_after,
                             "ref": e.ref, "created_at": e.created_at} for e in entries],
                "topups": [topup_fields(t) for t in topups]}


def precheck(hospital: Context, patient_id: int, bill_nos: list[str]) -> None:
    """Before any insurance call: the deposit must cover the bills' total (the most the cash remainder can be);
    else 409, nothing written."""
    with hospital.db.session() as s:
        total = sum(s.scalars(select(Bill.amount).where(Bill.bill_no.in_(bill_nos),
                                                        Bill.patient_id == patient_id)), ZERO)
        balance = balance_of(s, patient_id)
    if balance < total:
        raise conflict(f"deposit: balance {balance} does not cover the bills' total {total}; top up first")


class DepositChannel(Channel):
    """The deposit as a payment channel of the cashier: pay debits it at once (PAID) or refuses
    (ChannelRejected, nothing written); refund credits it back; no callbacks."""

    name = DEPOSIT

    def __init__(self, hospital: Context):
        self.h = hospital

    def _payment(self, s: Session, out_trade_no: str) -> Payment:
        p = s.scalar(select(Payment).where(Payment.payment_no == out_trade_no))
        if p is None:
            raise ChannelRejected(f"deposit: no payment {out_trade_no}")
        return p

    def _result(self, s: Session, out_trade_no: str) -> ChannelResult:
        paid = s.scalar(select(DepositEntry).where(DepositEntry.ref == f"pay:{out_trade_no}"))
        if paid is None:
            return ChannelResult.not_found(out_trade_no)
        back = sum(s.scalars(select(DepositEntry.amount).where(DepositEntry.ref.like(f"back:{out_trade_no}:%"))),
                   ZERO)
        amount = -paid.amount
        status = Status.PAID if back == ZERO else (
            Status.REFUNDED if back >= amount else Status.PARTIALLY_REFUNDED)
        return ChannelResult(out_trade_no, status, amount, f"DEP{paid.id}", paid.created_at, back)

    def pay(self, order: CashOrder) -> ChannelResult:
        now = self.h.now()
        try:
            with self.h.db.session() as s:
                p = self._payment(s, order.out_trade_no)
                if s.scalar(select(DepositEntry.id).where(DepositEntry.ref == f"pay:{order.out_trade_no}")) is None:
                    if move(s, p.patient_id, -order.amount, "payment", f"pay:{order.out_trade_no}", now) is None:
                        raise ChannelRejected(f"deposit: balance {balance_of(s, p.patient_id)} below "
                                              f"{order.amount}")
        except IntegrityError:  # the same order paid concurrently: its state
            pass
        with self.h.db.session() as s:
            return self._result(s, order.out_trade_no)

    def query(self, out_trade_no: str) -> ChannelResult:
        with self.h.db.session() as s:
            return self._result(s, out_trade_no)

    def refund(self, out_trade_no: str, refund_no: str, amount: Decimal) -> ChannelResult:
        now = self.h.now()
        try:
            with self.h.db.session() as s:
                p = self._payment(s, out_trade_no)
                current = self._result(s, out_trade_no)
                ref = f"back:{out_trade_no}:{refund_no}"
                if s.scalar(select(DepositEntry.id).where(DepositEntry.ref == ref)) is None:
                    if current.status == Status.NOT_FOUND or current.refunded + amount > current.amount:
                        raise ChannelRejected("deposit: refund above what was paid")
                    move(s, p.patient_id, amount, "refund", ref, now)
        except IntegrityError:
            pass
        with self.h.db.session() as s:
            return self._result(s, out_trade_no)

    def close(self, out_trade_no: str) -> ChannelResult:
        with self.h.db.session() as s:
            current = self._result(s, out_trade_no)
        if current.status != Status.NOT_FOUND:
            raise ChannelRejected("deposit: a paid order cannot be closed")
        return ChannelResult(out_trade_no, Status.CLOSED, ZERO, None, None, ZERO)

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> CallbackEvent:
        raise BadCallback("the deposit sends no callbacks")


def install(hospital: Context) -> None:
    """The deposit becomes one of the hospital's channels (the cashier pays and refunds through it)."""
    hospital.channels.setdefault(DEPOSIT, DepositChannel(hospital))


