"""The patient's deposit account (预交金 / 充值, seed 003 其他 3): online top-up by the e-credential or the
electronic health code (两码融合: either finds the patient), bills settled by insurance with the self-pay
remainder taken from the deposit, and withdrawal of what is left through the channel(s) it came from.

Rules kept here:
- money is Decimal of two places (Money columns: integer fen); every movement is one `deposit_entries` row with
  a signed amount and a unique `ref`, so the same movement is never written twice;
- the balance is never negative: a debit is a guarded UPDATE (`balance >= amount`) and the database checks it;
- a top-up is credited on PAID only, exactly once (compare-and-set of its status in the transaction that writes
  the entry); callbacks are taken through the cashier's inbox (`callback_inbox`, once per event id);
- paying bills with `channel: "deposit"` goes through the cashier like any channel (`DepositChannel`): the cash
  remainder after insurance is debited at once (PAID) or refused (then the insurance leg is undone). Before any
  insurance call the cashier asks `precheck`: a deposit below the bills' total is refused, nothing written.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yibao.hospital.channels.base import (
    BadCallback,
    CallbackEvent,
    CashOrder,
    Channel,
    ChannelRejected,
    ChannelResult,
    ChannelTimeout,
    Status,
)
from yibao.hospital.db import (
    Bill,
    DepositAccount,
    DepositEntry,
    DepositTopUp,
    DepositWithdrawal,
    Patient,
    Payment,
)
from yibao.hospital.errors import conflict, invalid, not_found
from yibao.money import ZERO, money

if TYPE_CHECKING:
    from yibao.hospital.service import Hospital

log = logging.getLogger("yibao.hospital.deposit")
DEPOSIT = "deposit"
TOPUP_CHANNELS = ("wechat", "alipay", "card")


def _status(value: Any) -> Status:
    return value if isinstance(value, Status) else Status(str(value))


# == the ledger ===================================================================================================

def _account(s: Session, patient_id: int, now: datetime) -> None:
    """The patient's account row, made at zero when missing (race-free)."""
    insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    s.execute(insert(DepositAccount).values(patient_id=patient_id, balance=ZERO, updated_at=now)
              .on_conflict_do_nothing())


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


def balance_of(s: Session, patient_id: int) -> Decimal:
    return s.scalar(select(DepositAccount.balance).where(DepositAccount.patient_id == patient_id)) or ZERO


def patient_by_code(hospital: Hospital, code: str) -> int:
    """Either linked code (医保电子凭证 or 电子健康码) finds the patient."""
    code = code.strip()
    with hospital.db.session() as s:
        pid = s.scalar(select(Patient.id).where((Patient.ecard == code) | (Patient.health_code == code)))
    if not code or pid is None:
        raise not_found("no patient holds this code")
    return pid


def view(hospital: Hospital, patient_id: int) -> dict[str, Any]:
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
                "topups": [_topup_view(t) for t in topups]}


# == top-up =======================================================================================================

def _topup_view(t: DepositTopUp) -> dict[str, Any]:
    return {"topup_no": t.topup_no, "patient_id": t.patient_id, "channel": t.channel, "amount": t.amount,
            "status": t.status, "refunded": t.refunded, "channel_trade_no": t.channel_trade_no, "pay_url": t.pay_url,
            "error": t.error, "created_at": t.created_at}


def topup_view(hospital: Hospital, topup_no: str) -> dict[str, Any]:
    with hospital.db.session() as s:
        t = s.scalar(select(DepositTopUp).where(DepositTopUp.topup_no == topup_no))
        if t is None:
            raise not_found(f"top-up {topup_no} is not known")
        out = _topup_view(t)
        out["balance"] = balance_of(s, t.patient_id)
        return out


def owner_of_topup(hospital: Hospital, topup_no: str) -> int | None:
    with hospital.db.session() as s:
        return s.scalar(select(DepositTopUp.patient_id).where(DepositTopUp.topup_no == topup_no))


def top_up(hospital: Hospital, code: str, amount: Decimal, channel: str,
           payer_ref: str | None = None) -> dict[str, Any]:
    """A channel order for `amount`; the card answers at once, WeChat / Alipay stay PENDING until the payer
    pays (the callback or a query completes it). Credited on PAID only."""
    from yibao.hospital.service import new_no

    if channel not in TOPUP_CHANNELS:
        raise invalid(f"channel: a top-up is paid by {', '.join(TOPUP_CHANNELS)}")
    if money(amount) != amount or amount <= ZERO:
        raise invalid("amount: a positive amount of two places")
    ch = hospital.channel(channel)
    patient_id = patient_by_code(hospital, code)
    now = hospital.now()
    no = new_no("TU", now)
    with hospital.db.session() as s:
        s.add(DepositTopUp(topup_no=no, patient_id=patient_id, code=code.strip(), channel=channel, amount=amount,
                           status="new", refunded=ZERO, last_sequence=0, error="", created_at=now, updated_at=now))
    order = CashOrder(out_trade_no=no, amount=amount, description=f"预交金充值 patient {patient_id}",
                      payer_ref=payer_ref,
                      notify_url=f"{hospital.config.public_url.rstrip('/')}/callbacks/{channel}")
    try:
        try:
            result = ch.pay(order)
        except ChannelTimeout:
            result = _known(ch, no)
        apply(hospital, no, result)
    except ChannelRejected as exc:
        _set(hospital, no, status="FAILED", error=f"{channel} refused the order: {exc}")
    except ChannelTimeout as exc:
        _set(hospital, no, status="unknown", error=f"{channel}: outcome unknown ({exc}); a refresh resolves it")
    return topup_view(hospital, no)


def _known(ch: Any, no: str) -> ChannelResult:
    from yibao.hospital.cashier import Cashier

    return Cashier._known(ch, no)


def refresh(hospital: Hospital, topup_no: str) -> dict[str, Any]:
    """A top-up still open: the channel is queried (an order it does not know is closed), never guessed."""
    t = topup_view(hospital, topup_no)
    if t["status"] in ("new", "PENDING", "unknown"):
        try:
            apply(hospital, topup_no, _known(hospital.channel(t["channel"]), topup_no))
        except ChannelTimeout as exc:
            _set(hospital, topup_no, error=f"query: {exc}")
    return topup_view(hospital, topup_no)


def _set(hospital: Hospital, no: str, **values: Any) -> None:
    with hospital.db.session() as s:
        s.execute(update(DepositTopUp).where(DepositTopUp.topup_no == no)
                  .values(**values, updated_at=hospital.now()))


def apply(hospital: Hospital, no: str, result: Any) -> None:
    """What the channel says about a top-up order (an answer or a query)."""
    with hospital.db.session() as s:
        _apply(s, no, result, hospital.now())


def _apply(s: Session, no: str, result: Any, now: datetime) -> str:
    t = s.scalar(select(DepositTopUp).where(DepositTopUp.topup_no == no))
    if t is None:
        return "unknown_order"
    status = _status(result.status)
    if status == Status.PAID:
        if result.amount != t.amount:
            t.error = f"{t.channel} says PAID {result.amount}, but the order is {t.amount}: not credited"
            return "amount_mismatch"
        moved = s.execute(update(DepositTopUp).where(DepositTopUp.id == t.id, DepositTopUp.status != "PAID")
                          .values(status="PAID", channel_trade_no=result.channel_trade_no, pay_url=None,
                                  updated_at=now))
        if moved.rowcount == 1:  # type: ignore[attr-defined]
            move(s, t.patient_id, t.amount, "topup", f"topup:{no}", now)
    elif status == Status.PENDING:
        s.execute(update(DepositTopUp).where(DepositTopUp.id == t.id, DepositTopUp.status.in_(("new", "unknown")))
                  .values(status="PENDING", pay_url=getattr(result, "pay_url", None), updated_at=now))
    elif status in (Status.FAILED, Status.CLOSED):
        s.execute(update(DepositTopUp).where(DepositTopUp.id == t.id, DepositTopUp.status != "PAID")
                  .values(status=status.value, pay_url=None, updated_at=now))
    return "applied"


def on_callback(s: Session, kind: str, event: CallbackEvent, now: datetime) -> str:
    """A callback for a top-up order (the cashier's inbox took it once): applied in the inbox's transaction;
    the outcome is `topup_applied` (not `applied`, which makes the cashier apply it to a payment).
    Refund notifications of a withdrawal are only recorded (the withdrawal itself follows the refund answers)."""
    t = s.scalar(select(DepositTopUp).where(DepositTopUp.topup_no == event.out_trade_no,
                                            DepositTopUp.channel == kind))
    if t is None:
        return "unknown_order"
    if event.sequence <= t.last_sequence:
        return "stale"
    t.last_sequence = event.sequence
    if _status(event.status) in (Status.REFUNDED, Status.PARTIALLY_REFUNDED):
        return "topup_refund"
    outcome = _apply(s, event.out_trade_no, event, now)
    return "topup_applied" if outcome == "applied" else outcome


# == paying bills from the deposit ================================================================================

def precheck(hospital: Hospital, patient_id: int, bill_nos: list[str]) -> None:
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

    def __init__(self, hospital: Hospital):
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


def install(hospital: Hospital) -> None:
    """The deposit becomes one of the hospital's channels (the cashier pays and refunds through it)."""
    hospital.channels.setdefault(DEPOSIT, DepositChannel(hospital))


# == withdrawal ===================================================================================================

def withdraw(hospital: Hospital, patient_id: int, amount: Decimal | None = None) -> dict[str, Any]:
    """Give back `amount` (default: the whole balance) through the channel(s) it came from: the newest top-ups
    first, each refunded with a fixed refund_no. The deposit is debited first (one entry); a leg the channel
    refuses is credited back (`withdraw_undo`); a leg whose answer was lost stays pending (asking again
    continues it)."""
    from yibao.hospital.service import new_no

    now = hospital.now()
    no = new_no("WD", now)
    with hospital.db.session() as s:
        if s.get(Patient, patient_id) is None:
            raise not_found(f"patient {patient_id} is not known")
        balance = balance_of(s, patient_id)
        amount = balance if amount is None else amount
        if money(amount) != amount or amount <= ZERO:
            raise invalid("amount: nothing to withdraw" if balance == ZERO else "amount: a positive amount")
        if amount > balance:
            raise conflict(f"deposit: balance {balance} is below {amount}")
        legs: list[dict[str, Any]] = []
        left = amount
        for t in s.scalars(select(DepositTopUp).where(DepositTopUp.patient_id == patient_id,
                                                      DepositTopUp.status == "PAID")
                           .order_by(DepositTopUp.id.desc())):
            take = min(left, t.amount - t.refunded)
            if take <= ZERO:
                continue
            legs.append({"topup_no": t.topup_no, "channel": t.channel, "amount": str(take),
                         "refund_no": f"{no}-{len(legs) + 1}", "status": "pending", "error": ""})
            t.refunded = t.refunded + take
            left -= take
            if left == ZERO:
                break
        if left != ZERO:
            raise conflict(f"deposit: {left} of it was not paid in by a channel; withdraw at the desk")
        if move(s, patient_id, -amount, "withdraw", f"withdraw:{no}", now) is None:
            raise conflict("deposit: the balance changed meanwhile; try again")
        s.add(DepositWithdrawal(withdraw_no=no, patient_id=patient_id, amount=amount, status="withdrawing",
                                legs=legs, created_at=now, updated_at=now))
    return continue_withdrawal(hospital, no)


def continue_withdrawal(hospital: Hospital, withdraw_no: str) -> dict[str, Any]:
    with hospital.db.session() as s:
        w = s.scalar(select(DepositWithdrawal).where(DepositWithdrawal.withdraw_no == withdraw_no))
        if w is None:
            raise not_found(f"withdrawal {withdraw_no} is not known")
        legs = [dict(x) for x in w.legs]
    for leg in legs:
        if leg["status"] != "pending":
            continue
        ch = hospital.channel(leg["channel"])
        amount = Decimal(leg["amount"])
        try:
            try:
                result = ch.refund(leg["topup_no"], leg["refund_no"], amount)
            except ChannelTimeout:
                result = ch.refund(leg["topup_no"], leg["refund_no"], amount)  # the same refund_no: once
            leg["status"] = _status(result.status).value
        except ChannelRejected as exc:
            _undo_leg(hospital, w.patient_id, withdraw_no, leg)
            leg["status"], leg["error"] = "rejected", str(exc)
        except ChannelTimeout as exc:
            leg["error"] = f"outcome unknown ({exc}); asking again continues it"
    done = all(x["status"] != "pending" for x in legs)
    status = "withdrawing" if not done else ("done" if all(x["status"] != "rejected" for x in legs) else "partial")
    with hospital.db.session() as s:
        s.execute(update(DepositWithdrawal).where(DepositWithdrawal.withdraw_no == withdraw_no)
                  .values(legs=legs, status=status, updated_at=hospital.now()))
    return withdrawal_view(hospital, withdraw_no)


def _undo_leg(hospital: Hospital, patient_id: int, withdraw_no: str, leg: dict[str, Any]) -> None:
    now = hospital.now()
    amount = Decimal(leg["amount"])
    try:
        with hospital.db.session() as s:
            move(s, patient_id, amount, "withdraw_undo", f"undo:{withdraw_no}:{leg['refund_no']}", now)
            s.execute(update(DepositTopUp).where(DepositTopUp.topup_no == leg["topup_no"])
                      .values(refunded=DepositTopUp.refunded - amount, updated_at=now))
    except IntegrityError:  # undone already
        pass


def withdrawal_view(hospital: Hospital, withdraw_no: str) -> dict[str, Any]:
    with hospital.db.session() as s:
        w = s.scalar(select(DepositWithdrawal).where(DepositWithdrawal.withdraw_no == withdraw_no))
        if w is None:
            raise not_found(f"withdrawal {withdraw_no} is not known")
        return {"withdraw_no": w.withdraw_no, "patient_id": w.patient_id, "amount": w.amount, "status": w.status,
                "legs": w.legs, "balance": balance_of(s, w.patient_id), "created_at": w.created_at}


def owner_of_withdrawal(hospital: Hospital, withdraw_no: str) -> int | None:
    with hospital.db.session() as s:
        return s.scalar(select(DepositWithdrawal.patient_id).where(DepositWithdrawal.withdraw_no == withdraw_no))

