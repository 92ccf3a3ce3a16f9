"""Withdrawal of the unused deposit through the channel(s) it came from: the newest top-ups first, each refunded
with a fixed refund_no, so a lost answer is safely asked again (by the next request or the sweep)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from yibao.hospital.channel_call import status_of
from yibao.hospital.channels.base import ChannelRejected, ChannelTimeout
from yibao.hospital.context import new_no
from yibao.hospital.db import DepositTopUp, DepositWithdrawal, Patient, Payment
from yibao.hospital.deposit.ledger import DEPOSIT, balance_of, lock_account, move
from yibao.hospital.errors import conflict, invalid, not_found
from yibao.hospital.states import PaymentStatus, TopUpStatus, WithdrawalStatus
from yibao.money import ZERO, money

if TYPE_CHECKING:
    from yibao.hospital.context import Context

#: a deposit-paid payment that may still debit: no withdrawal meanwhile
OPEN_PAYMENT = (PaymentStatus.NEW, PaymentStatus.SETTLING, PaymentStatus.PAYING, PaymentStatus.CANCELLING)


def withdraw(hospital: Context, patient_id: int, amount: Decimal | None = None) -> dict[str, Any]:
    """Give back `amount` (default: the whole balance) through the channel(s) it came from: the newest top-ups
    first, each refunded with a fixed refund_no. The deposit is debited first (one entry); a leg the channel
    refuses is credited back (`withdraw_undo`); a leg whose answer was lost stays pending (asking again, or the
    sweep, continues it). Refused (409) while a payment from the deposit is open (new, settling, paying,
    cancelling): it counted on this money."""
    now = hospital.now()
    no = new_no("WD", now)
    with hospital.db.session() as s:
        if s.get(Patient, patient_id) is None:
            raise not_found(f"patient {patient_id} is not known")
        # the check and the debit in one transaction, the account row locked first: a payment from the deposit
        # still open counted on this money (its debit may not be made yet), so nothing is withdrawn meanwhile
        lock_account(s, patient_id, now)
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
                                                      DepositTopUp.status == TopUpStatus.PAID)
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
        s.add(DepositWithdrawal(withdraw_no=no, patient_id=patient_id, amount=amount,
                                status=WithdrawalStatus.WITHDRAWING, legs=legs, created_at=now, updated_at=now))
    return continue_withdrawal(hospital, no)


def continue_withdrawal(hospital: Context, withdraw_no: str) -> dict[str, Any]:
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
            leg["status"] = status_of(result.status).value
        except ChannelRejected as exc:
            _undo_leg(hospital, w.patient_id, withdraw_no, leg)
            leg["status"], leg["error"] = "rejected", str(exc)
        except ChannelTimeout as exc:
            leg["error"] = f"outcome unknown ({exc}); asking again continues it"
    done = all(x["status"] != "pending" for x in legs)
    status = WithdrawalStatus.WITHDRAWING if not done else (
        WithdrawalStatus.DONE if all(x["status"] != "rejected" for x in legs) else WithdrawalStatus.PARTIAL)
    with hospital.db.session() as s:
        s.execute(update(DepositWithdrawal).where(DepositWithdrawal.withdraw_no == withdraw_no)
                  .values(legs=legs, status=status, updated_at=hospital.now()))
    return withdrawal_view(hospital, withdraw_no)


def _undo_leg(hospital: Context, patient_id: int, withdraw_no: str, leg: dict[str, Any]) -> None:
    now = hospital.now()
    amount = Decimal(leg["amount"])
    try:
        with hospital.db.session() as s:
            move(s, patient_id, amount, "withdraw_undo", f"undo:{withdraw_no}:{leg['refund_no']}", now)
            s.execute(update(DepositTopUp).where(DepositTopUp.topup_no == leg["topup_no"])
                      .values(refunded=DepositTopUp.refunded - amount, updated_at=now))
    except IntegrityError:  # undone already
        pass


def withdrawal_view(hospital: Context, withdraw_no: str) -> dict[str, Any]:
    with hospital.db.session() as s:
        w = s.scalar(select(DepositWithdrawal).where(DepositWithdrawal.withdraw_no == withdraw_no))
        if w is None:
            raise not_found(f"withdrawal {withdraw_no} is not known")
        return {"withdraw_no": w.withdraw_no, "patient_id": w.patient_id, "amount": w.amount, "status": w.status,
                "legs": w.legs, "balance": balance_of(s, w.patient_id), "created_at": w.created_at}


def owner_of_withdrawal(hospital: Context, withdraw_no: str) -> int | None:
    with hospital.db.session() as s:
        return s.scalar(select(DepositWithdrawal.patient_id).where(DepositWithdrawal.withdraw_no == withdraw_no))
