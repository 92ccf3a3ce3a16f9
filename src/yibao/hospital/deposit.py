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
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
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
from yibao.hospital.errors import HospitalError, conflict, invalid, not_found
from yibao.money import ZERO, money

if TYPE_CHECKING:
    from yibao.hospital.service import Hospital

log = logging.getLogger("yibao.hospital.deposit")
DEPOSIT = "deposit"
TOPUP_CHANNELS = ("wechat", "alipay", "card")
OPEN_TOPUP = ("new", "PENDING", "unknown")  # a top-up the channel has not settled yet
OPEN_PAYMENT = ("new", "settling", "paying", "cancelling")  # a deposit-paid payment that may still debit
MARGIN = 0.5  # float-ok: seconds kept for writing the answer after the channel's time box
NEW_GRACE = timedelta(seconds=60)  # a top-up "new" for less than this may still have its request running


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


def _lock_account(s: Session, patient_id: int, now: datetime) -> None:
    """The account row, locked until the transaction ends by an UPDATE of it (PostgreSQL: the row's lock;
    SQLite: the database's write lock): a debit by another transaction waits for this one."""
    _account(s, patient_id, now)
    s.execute(update(DepositAccount).where(DepositAccount.patient_id == patient_id)
              .values(updated_at=now))


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


def _box(hospital: Hospital) -> float:  # float-ok: monotonic seconds
    """The deadline of a time box starting now (the hospital's clock: production's monotonic one)."""
    return hospital.clock.deadline(hospital.config.answer_within - MARGIN)


def top_up(hospital: Hospital, code: str, amount: Decimal, channel: str, payer_ref: str | None = None,
           idempotency_key: str | None = None) -> dict[str, Any]:
    """A channel order for `amount`; the card answers at once, WeChat / Alipay stay PENDING until the payer
    pays (the callback or a query completes it). Credited on PAID only. Answered within `answer_within`
    seconds: a channel that has not answered by then leaves the top-up `unknown` and its late answer (or the
    callback, a query, the sweep) completes it. The same `idempotency_key` again returns the same top-up (no
    second channel order); a key already used for another patient's or another amount's top-up is refused
    (409), nothing of that top-up told."""
    from yibao.hospital.service import new_no

    deadline = _box(hospital)
    if channel not in TOPUP_CHANNELS:
        raise invalid(f"channel: a top-up is paid by {', '.join(TOPUP_CHANNELS)}")
    if money(amount) != amount or amount <= ZERO:
        raise invalid("amount: a positive amount of two places")
    if idempotency_key is not None and not idempotency_key.strip():
        raise invalid("idempotency_key: empty")
    ch = hospital.channel(channel)
    patient_id = patient_by_code(hospital, code)
    if idempotency_key:
        same = _by_key(hospital, idempotency_key, patient_id, amount, channel)
        if same is not None:
            return topup_view(hospital, same)
    now = hospital.now()
    no = new_no("TU", now)
    try:
        with hospital.db.session() as s:
            s.add(DepositTopUp(topup_no=no, idem_key=idempotency_key or None, patient_id=patient_id,
                               code=code.strip(), channel=channel, amount=amount, status="new", refunded=ZERO,
                               last_sequence=0, error="", created_at=now, updated_at=now))
    except IntegrityError:  # the same key taken meanwhile by a concurrent request: that top-up answers
        if not idempotency_key:
            raise
        same = _by_key(hospital, idempotency_key, patient_id, amount, channel)
        if same is None:
            raise
        return topup_view(hospital, same)
    order = CashOrder(out_trade_no=no, amount=amount, description=f"预交金充值 patient {patient_id}",
                      payer_ref=payer_ref,
                      notify_url=f"{hospital.config.public_url.rstrip('/')}/callbacks/{channel}")
    future = hospital.executor.submit(_ask_channel, ch, order)
    try:
        apply(hospital, no, hospital.clock.wait(future, deadline))
    except FutureTimeout:
        _set(hospital, no, ("new",), status="unknown",
             error=f"{channel}: no answer within the time box; the late answer, the callback or a query "
                   "completes it")
        hospital.clock.later(future, partial(_late_answer, hospital, no))
    except ChannelRejected as exc:
        _set(hospital, no, ("new", "unknown"), status="FAILED", error=f"{channel} refused the order: {exc}")
    except ChannelTimeout as exc:
        _set(hospital, no, ("new",), status="unknown",
             error=f"{channel}: outcome unknown ({exc}); a refresh resolves it")
    return topup_view(hospital, no)


def _by_key(hospital: Hospital, key: str, patient_id: int, amount: Decimal, channel: str) -> str | None:
    """The top-up this key already names (None: the key is new); the key of another request is refused."""
    with hospital.db.session() as s:
        t = s.scalar(select(DepositTopUp).where(DepositTopUp.idem_key == key))
        if t is None:
            return None
        if (t.patient_id, t.amount, t.channel) != (patient_id, amount, channel):
            raise conflict("idempotency_key: already used for another top-up")
        return t.topup_no


def owner_of_topup_key(hospital: Hospital, key: str) -> int | None:
    with hospital.db.session() as s:
        return s.scalar(select(DepositTopUp.patient_id).where(DepositTopUp.idem_key == key))


def _ask_channel(ch: Any, order: CashOrder) -> ChannelResult:
    """pay(); when its answer is lost, the order's state by query (an order the channel does not know is
    closed, so it can never be paid later). Runs in the hospital's executor."""
    try:
        return ch.pay(order)
    except ChannelTimeout:
        return _known(ch, order.out_trade_no)


def _late_answer(hospital: Hospital, no: str, future: Future[ChannelResult]) -> None:
    """The channel answered after the time box: its answer is applied (a background thread)."""
    try:
        result = future.result()
    except ChannelRejected as exc:
        _set(hospital, no, ("new", "unknown"), status="FAILED", error=f"refused the order: {exc}")
        return
    except ChannelTimeout as exc:
        _set(hospital, no, (), error=f"outcome unknown ({exc}); a refresh resolves it")
        return
    except Exception:  # noqa: BLE001 - a background thread: log it, the top-up stays to be resolved
        log.exception("top-up %s: the channel's late answer could not be read", no)
        return
    try:
        apply(hospital, no, result)
    except Exception:  # noqa: BLE001
        log.exception("top-up %s: the channel's late answer could not be applied", no)


def _known(ch: Any, no: str) -> ChannelResult:
    from yibao.hospital.cashier import Cashier

    return Cashier._known(ch, no)


def refresh(hospital: Hospital, topup_no: str) -> dict[str, Any]:
    """A top-up still open: the channel is queried (an order it does not know is closed), never guessed;
    within the time box (a query that has not answered by then is applied when it does)."""
    t = topup_view(hospital, topup_no)
    if t["status"] in OPEN_TOPUP:
        future = hospital.executor.submit(_known, hospital.channel(t["channel"]), topup_no)
        try:
            apply(hospital, topup_no, hospital.clock.wait(future, _box(hospital)))
        except FutureTimeout:
            hospital.clock.later(future, partial(_late_answer, hospital, topup_no))
        except (ChannelRejected, ChannelTimeout) as exc:
            _set(hospital, topup_no, (), error=f"query: {exc}")
    return topup_view(hospital, topup_no)


def _close(hospital: Hospital, topup_no: str) -> dict[str, Any]:
    """An order still unpaid after `pending_expiry`: closed at the channel, so it can no longer be paid (one
    paid meanwhile cannot be closed: its state is applied instead)."""
    t = topup_view(hospital, topup_no)
    ch = hospital.channel(t["channel"])

    def close() -> ChannelResult:
        try:
            return ch.close(topup_no)
        except ChannelRejected:  # paid meanwhile
            return ch.query(topup_no)

    future = hospital.executor.submit(close)
    try:
        apply(hospital, topup_no, hospital.clock.wait(future, _box(hospital)))
    except FutureTimeout:
        hospital.clock.later(future, partial(_late_answer, hospital, topup_no))
    except (ChannelRejected, ChannelTimeout) as exc:
        _set(hospital, topup_no, (), error=f"close: {exc}")
    return topup_view(hospital, topup_no)


def sweep(hospital: Hospital) -> dict[str, int]:
    """Every top-up still open is resolved by the channel (a lost callback, a lost answer, a process that stopped
    midway): queried, an order the channel does not know closed; one still unpaid after `pending_expiry` seconds
    is closed at the channel, so it can never be paid later. A top-up `new` for less than a minute is left alone
    (its request may still be running). Every withdrawal still `withdrawing` is continued (the same refund_no:
    once). For the hospital's periodic sweep and the staff's sweep route."""
    now = hospital.now()
    expiry = timedelta(seconds=hospital.config.pending_expiry)
    with hospital.db.session() as s:
        topups = list(s.execute(select(DepositTopUp.topup_no, DepositTopUp.status, DepositTopUp.created_at,
                                       DepositTopUp.updated_at)
                                .where(DepositTopUp.status.in_(OPEN_TOPUP)).order_by(DepositTopUp.id)))
        withdrawals = list(s.scalars(select(DepositWithdrawal.withdraw_no)
                                     .where(DepositWithdrawal.status == "withdrawing").order_by(DepositWithdrawal.id)))
    seen = {"topups": len(topups), "topups_paid": 0, "topups_closed": 0, "withdrawals": len(withdrawals),
            "withdrawals_finished": 0}
    for no, status, created_at, updated_at in topups:
        try:
            if status == "new" and now - updated_at < NEW_GRACE:
                continue
            after = refresh(hospital, no)["status"]
            if after in ("PENDING", "unknown") and now - created_at > expiry:
                after = _close(hospital, no)["status"]
            if after == "PAID":
                seen["topups_paid"] += 1
            elif after in ("CLOSED", "FAILED"):
                seen["topups_closed"] += 1
        except HospitalError as exc:
            log.warning("sweep: top-up %s (%s): %s", no, status, exc.message)
        except Exception:  # noqa: BLE001 - one top-up's trouble must not stop the sweep
            log.exception("sweep: top-up %s (%s)", no, status)
    for no in withdrawals:
        try:
            if continue_withdrawal(hospital, no)["status"] != "withdrawing":
                seen["withdrawals_finished"] += 1
        except HospitalError as exc:
            log.warning("sweep: withdrawal %s: %s", no, exc.message)
        except Exception:  # noqa: BLE001
            log.exception("sweep: withdrawal %s", no)
    return seen


def _set(hospital: Hospital, no: str, when: tuple[str, ...], **values: Any) -> None:
    """Write `values` on a top-up; `when` (if any) the statuses it may be in (a late answer written meanwhile
    is never overwritten)."""
    guard = [DepositTopUp.topup_no == no]
    if when:
        guard.append(DepositTopUp.status.in_(when))
    with hospital.db.session() as s:
        s.execute(update(DepositTopUp).where(*guard).values(**values, updated_at=hospital.now()))


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
    refuses is credited back (`withdraw_undo`); a leg whose answer was lost stays pending (asking again, or the
    sweep, continues it). Refused (409) while a payment from the deposit is open (new, settling, paying,
    cancelling): it counted on this money."""
    from yibao.hospital.service import new_no

    now = hospital.now()
    no = new_no("WD", now)
    with hospital.db.session() as s:
        if s.get(Patient, patient_id) is None:
            raise not_found(f"patient {patient_id} is not known")
        # the check and the debit in one transaction, the account row locked first: a payment from the deposit
        # still open counted on this money (its debit may not be made yet), so nothing is withdrawn meanwhile
        _lock_account(s, patient_id, now)
        open_payment = s.scalar(select(Payment.payment_no).where(
            Payment.patient_id == patient_id, Payment.channel == DEPOSIT, Payment.status.in_(OPEN_PAYMENT))
            .order_by(Payment.id))
        if open_payment is not None:
            raise conflict(f"deposit: payment {open_payment} from the deposit is still open; withdraw when it "
                           "has ended")
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

