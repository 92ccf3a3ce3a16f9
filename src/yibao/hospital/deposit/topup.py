"""Online top-up of the deposit by the e-credential or the electronic health code (两码融合: either finds the
patient): a channel order, credited on PAID only, exactly once (compare and set of its status, states.TOPUPS,
in the transaction that writes the entry). The channel is asked within the time box (channel_call.py, as the
cashier's cash leg); callbacks come through the cashier's inbox (`callback_inbox`, once per event id). The sweep
resolves every top-up still open and continues every withdrawal."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yibao.hospital import channel_call
from yibao.hospital.channel_call import Late, status_of
from yibao.hospital.channels.base import (
    CallbackEvent,
    CashOrder,
    ChannelRejected,
    ChannelResult,
    ChannelTimeout,
    Status,
)
from yibao.hospital.context import new_no
from yibao.hospital.db import DepositTopUp, DepositWithdrawal
from yibao.hospital.deposit import withdrawal
from yibao.hospital.deposit.ledger import balance_of, move, patient_by_code, topup_fields
from yibao.hospital.errors import HospitalError, conflict, invalid, not_found
from yibao.hospital.states import TOPUPS, TopUpStatus, WithdrawalStatus
from yibao.money import ZERO, money

if TYPE_CHECKING:
    from yibao.hospital.context import Context

log = logging.getLogger("yibao.hospital.deposit")
T = TopUpStatus
TOPUP_CHANNELS = ("wechat", "alipay", "card")
OPEN_TOPUP = (T.NEW, T.PENDING, T.UNKNOWN)  # a top-up the channel has not settled yet
NEW_GRACE = timedelta(seconds=60)  # a top-up "new" for less than this may still have its request running


def topup_view(hospital: Context, topup_no: str) -> dict[str, Any]:
    with hospital.db.session() as s:
        t = s.scalar(select(DepositTopUp).where(DepositTopUp.topup_no == topup_no))
        if t is None:
            raise not_found(f"top-up {topup_no} is not known")
        out = topup_fields(t)
        out["balance"] = balance_of(s, t.patient_id)
        return out


def owner_of_topup(hospital: Context, topup_no: str) -> int | None:
    with hospital.db.session() as s:
        return s.scalar(select(DepositTopUp.patient_id).where(DepositTopUp.topup_no == topup_no))


def top_up(hospital: Context, code: str, amount: Decimal, channel: str, payer_ref: str | None = None,
           idempotency_key: str | None = None) -> dict[str, Any]:
    """A channel order for `amount`; the card answers at once, WeChat / Alipay stay PENDING until the payer
    pays (the callback or a query completes it). Credited on PAID only. Answered within `answer_within`
    seconds: a channel that has not answered by then leaves the top-up `unknown` and its late answer (or the
    callback, a query, the sweep) completes it. The same `idempotency_key` again returns the same top-up (no
    second channel order); a key already used for another patient's or another amount's top-up is refused
    (409), nothing of that top-up told."""
    deadline = channel_call.box(hospital)
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
                               code=code.strip(), channel=channel, amount=amount, status=T.NEW, refunded=ZERO,
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
    try:
        apply(hospital, no, channel_call.within(hospital, deadline, channel_call.pay, ch, order))
    except Late as late:
        _move(hospital, no, T.UNKNOWN, (T.NEW,),
              error=f"{channel}: no answer within the time box; the late answer, the callback or a query "
                    "completes it")
        late.hand_over(_late_answer(hospital, no))
    except ChannelRejected as exc:
        _move(hospital, no, T.FAILED, (T.NEW, T.UNKNOWN), error=f"{channel} refused the order: {exc}")
    except ChannelTimeout as exc:
        _move(hospital, no, T.UNKNOWN, (T.NEW,), error=f"{channel}: outcome unknown ({exc}); a refresh resolves it")
    return topup_view(hospital, no)


def _by_key(hospital: Context, key: str, patient_id: int, amount: Decimal, channel: str) -> str | None:
    """The top-up this key already names (None: the key is new); the key of another request is refused."""
    with hospital.db.session() as s:
        t = s.scalar(select(DepositTopUp).where(DepositTopUp.idem_key == key))
        if t is None:
            return None
        if (t.patient_id, t.amount, t.channel) != (patient_id, amount, channel):
            raise conflict("idempotency_key: already used for another top-up")
        return t.topup_no


def owner_of_topup_key(hospital: Context, key: str) -> int | None:
    with hospital.db.session() as s:
        return s.scalar(select(DepositTopUp.patient_id).where(DepositTopUp.idem_key == key))


def _late_answer(hospital: Context, no: str) -> Any:
    """The channel answered after the time box: its answer is applied (a background thread)."""
    return channel_call.late_answer(
        f"top-up {no}", lambda result: apply(hospital, no, result),
        refused=lambda exc: _move(hospital, no, T.FAILED, (T.NEW, T.UNKNOWN), error=f"refused the order: {exc}"),
        unknown=lambda exc: _note(hospital, no, f"outcome unknown ({exc}); a refresh resolves it"))


def refresh(hospital: Context, topup_no: str) -> dict[str, Any]:
    """A top-up still open: the channel is queried (an order it does not know is closed), never guessed;
    within the time box (a query that has not answered by then is applied when it does)."""
    t = topup_view(hospital, topup_no)
    if t["status"] in OPEN_TOPUP:
        _ask(hospital, topup_no, channel_call.known, hospital.channel(t["channel"]), "query")
    return topup_view(hospital, topup_no)


def _close(hospital: Context, topup_no: str) -> dict[str, Any]:
    """An order still unpaid after `pending_expiry`: closed at the channel, so it can no longer be paid (one
    paid meanwhile cannot be closed: its state is applied instead)."""
    t = topup_view(hospital, topup_no)
    _ask(hospital, topup_no, channel_call.close, hospital.channel(t["channel"]), "close")
    return topup_view(hospital, topup_no)


def _ask(hospital: Context, topup_no: str, call: Any, ch: Any, what: str) -> None:
    """`call(ch, topup_no)` within the time box, its answer applied (now, or when it comes)."""
    try:
        apply(hospital, topup_no, channel_call.within(hospital, channel_call.box(hospital), call, ch, topup_no))
    except Late as late:
        late.hand_over(_late_answer(hospital, topup_no))
    except (ChannelRejected, ChannelTimeout) as exc:
        _note(hospital, topup_no, f"{what}: {exc}")


def sweep(hospital: Context) -> dict[str, int]:
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
                                     .where(DepositWithdrawal.status == WithdrawalStatus.WITHDRAWING)
                                     .order_by(DepositWithdrawal.id)))
    seen = {"topups": len(topups), "topups_paid": 0, "topups_closed": 0, "withdrawals": len(withdrawals),
            "withdrawals_finished": 0}
    for no, status, created_at, updated_at in topups:
        try:
            if status == T.NEW and now - updated_at < NEW_GRACE:
                continue
            after = refresh(hospital, no)["status"]
            if after in (T.PENDING, T.UNKNOWN) and now - created_at > expiry:
                after = _close(hospital, no)["status"]
            if after == T.PAID:
                seen["topups_paid"] += 1
            elif after in (T.CLOSED, T.FAILED):
                seen["topups_closed"] += 1
        except HospitalError as exc:
            log.warning("sweep: top-up %s (%s): %s", no, status, exc.message)
        except Exception:  # noqa: BLE001 - one top-up's trouble must not stop the sweep
            log.exception("sweep: top-up %s (%s)", no, status)
    for no in withdrawals:
        try:
            if withdrawal.continue_withdrawal(hospital, no)["status"] != WithdrawalStatus.WITHDRAWING:
                seen["withdrawals_finished"] += 1
        except HospitalError as exc:
            log.warning("sweep: withdrawal %s: %s", no, exc.message)
        except Exception:  # noqa: BLE001
            log.exception("sweep: withdrawal %s", no)
    return seen


def _note(hospital: Context, no: str, error: str) -> None:
    with hospital.db.session() as s:
        s.execute(update(DepositTopUp).where(DepositTopUp.topup_no == no)
                  .values(error=error, updated_at=hospital.now()))


def _move(hospital: Context, no: str, to: TopUpStatus, frm: tuple[TopUpStatus, ...], **values: Any) -> None:
    """A top-up to `to` if it is still in one of `frm` (a late answer written meanwhile is never overwritten)."""
    with hospital.db.session() as s:
        TOPUPS.move(s, DepositTopUp.topup_no == no, to, frm, **values, updated_at=hospital.now())


def apply(hospital: Context, no: str, result: Any) -> None:
    """What the channel says about a top-up order (an answer or a query)."""
    with hospital.db.session() as s:
        _apply(s, no, result, hospital.now())


def _apply(s: Session, no: str, result: ChannelResult | CallbackEvent, now: datetime) -> str:
    t = s.scalar(select(DepositTopUp).where(DepositTopUp.topup_no == no))
    if t is None:
        return "unknown_order"
    status = status_of(result.status)
    if status == Status.PAID:
        if result.amount != t.amount:
            t.error = f"{t.channel} says PAID {result.amount}, but the order is {t.amount}: not credited"
            return "amount_mismatch"
        if TOPUPS.move(s, DepositTopUp.id == t.id, T.PAID, (T.NEW, T.UNKNOWN, T.PENDING, T.FAILED, T.CLOSED),
                       channel_trade_no=result.channel_trade_no, pay_url=None, updated_at=now):
            move(s, t.patient_id, t.amount, "topup", f"topup:{no}", now)
    elif status == Status.PENDING:
        TOPUPS.move(s, DepositTopUp.id == t.id, T.PENDING, (T.NEW, T.UNKNOWN),
                    pay_url=getattr(result, "pay_url", None), updated_at=now)
    elif status in (Status.FAILED, Status.CLOSED):
        to = T(status.value)
        TOPUPS.move(s, DepositTopUp.id == t.id, to,
                    tuple(x for x in (T.NEW, T.UNKNOWN, T.PENDING, T.FAILED, T.CLOSED) if x != to),
                    pay_url=None, updated_at=now)
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
    if status_of(event.status) in (Status.REFUNDED, Status.PARTIALLY_REFUNDED):
        return "topup_refund"
    outcome = _apply(s, event.out_trade_no, event, now)
    return "topup_applied" if outcome == "applied" else outcome
