"""Paying: bills of a registration, an inpatient stay, a pharmacy sale. The same operation serves every terminal:
the phone, the cashier desk, the doctor's room, the bedside (a card payment names the card terminal it is read
at, `device`).

A payment is claimed first (`new`: a row with the idempotency key and, in the same transaction, its bills moved
pending -> paying, or its stay or sale to paying), then ONE insurance settlement (insurance_leg.py), then the
cash part through a channel (cash_leg.py), answered within `answer_within` seconds (seed 003: 5).
Insurance is never charged twice: one payment per idempotency key (a retried request returns it), and the bills
are claimed in SQL."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from yibao.client import PlatformError
from yibao.hospital import channel_call, kinds
from yibao.hospital.cashier import cash_leg, insurance_leg
from yibao.hospital.cashier.rows import load, note
from yibao.hospital.cashier.views import view
from yibao.hospital.context import new_no
from yibao.hospital.db import Bill, KindSettlement, Patient, Payment, Registration
from yibao.hospital.deposit import ledger as deposit_ledger
from yibao.hospital.errors import HospitalError, conflict, invalid, not_found
from yibao.hospital.insurance import OutcomeUnknown
from yibao.hospital.mobilepay import configured as mobilepay_configured
from yibao.hospital.states import BillStatus, InsuranceStatus, PaymentStatus, RegistrationStatus, StayStatus
from yibao.money import ZERO

if TYPE_CHECKING:
    from yibao.hospital.context import Context

TERMINALS = ("mobile", "desk", "clinic-room", "bedside")


def pay(h: Context, patient_id: int, bill_nos: list[str], channel: str | None = None, terminal: str = "mobile",
        idempotency_key: str | None = None, acct_used_flag: str = "1", payer_ref: str | None = None,
        use_insurance: bool = True, device: str | None = None, pay_auth_no: str | None = None) -> dict[str, Any]:
    """Pay bills of one registration together; the answer within the time box. With the patient's
    `pay_auth_no` the insurance leg goes through the mobile-payment centre (6201, 6202)."""
    deadline = channel_call.box(h)
    channel, device = check(h, channel, terminal, acct_used_flag, device)
    if pay_auth_no:
        if not mobilepay_configured(h):
            raise invalid("pay_auth_no: this hospital has no mobile-payment channel (mobilepay in its "
                          "configuration); pay with the insurance card or code")
        if not use_insurance:
            raise invalid("pay_auth_no: an authorization to pay by insurance, but use_insurance is false")
    bill_nos = sorted(set(bill_nos))
    if not bill_nos:
        raise invalid("bill_nos: at least one bill is needed")
    key, existing = key_of(h, idempotency_key, "bills:" + ",".join(bill_nos))
    if existing is not None:
        return view(h, existing)
    if channel == deposit_ledger.DEPOSIT:  # the deposit must cover the bills before any insurance call
        deposit_ledger.precheck(h, patient_id, bill_nos)
    return _start(h, key, deadline, partial(_claim, h, patient_id, bill_nos, channel, terminal, key,
                                            acct_used_flag, payer_ref, use_insurance, device, pay_auth_no))


def pay_stay(h: Context, stay_no: str, channel: str | None = None, terminal: str = "desk",
             idempotency_key: str | None = None, acct_used_flag: str = "1", payer_ref: str | None = None,
             device: str | None = None) -> dict[str, Any]:
    """Settle an inpatient stay (discharged) or a pharmacy sale and take its cash part, like bills."""
    deadline = channel_call.box(h)
    channel, device = check(h, channel, terminal, acct_used_flag, device)
    key, existing = key_of(h, idempotency_key, f"stay:{stay_no}")
    if existing is not None:
        return view(h, existing)
    return _start(h, key, deadline, partial(_claim_stay, h, stay_no, channel, terminal, key, acct_used_flag,
                                            payer_ref, device))


def check(h: Context, channel: str | None, terminal: str, acct_used_flag: str,
          device: str | None) -> tuple[str, str | None]:
    """The channel and card terminal of a payment, checked: (channel, device)."""
    if terminal not in TERMINALS:
        raise invalid(f"terminal: must be one of {', '.join(TERMINALS)}")
    channel = channel or ("card" if terminal in ("desk", "bedside") else None)
    if not channel:
        raise invalid("channel: is required (wechat, alipay or card)")
    if acct_used_flag not in ("0", "1"):
        raise invalid("acct_used_flag: must be \"0\" or \"1\"")
    h.channel(channel)
    if channel != "card":
        if device:
            raise invalid(f"device: only a card payment is read at a terminal, not {channel}")
        return channel, None
    terminals = h.config.card_terminals
    if device and device not in terminals.values() and device not in h.config.card_devices:
        raise invalid(f"device: {device} is not one of this hospital's card terminals")
    # a place's own terminal unless one is named; a card online (mobile) goes by the channel's default
    return channel, device or terminals.get(terminal)


def _start(h: Context, key: str, deadline: float, claim: Any) -> dict[str, Any]:  # float-ok: monotonic seconds
    try:
        payment_no = claim()
    except (IntegrityError, HospitalError):
        # the same key claimed meanwhile by a concurrent request (its bills are no longer pending, or its
        # key is taken): that payment answers
        with h.db.session() as s:
            again = s.scalar(select(Payment.payment_no).where(Payment.idem_key == key))
        if again is None:
            raise
        return view(h, again)
    _proceed(h, payment_no, deadline)
    return view(h, payment_no)


def payment_of_key(h: Context, given: str) -> Payment | None:
    """The payment a caller's idempotency key named, if any."""
    with h.db.session() as s:
        return s.scalar(select(Payment).where(Payment.idem_key == f"key:{given}"))


def key_of(h: Context, given: str | None, base: str) -> tuple[str, str | None]:
    """The idempotency key and the payment it already names. A caller's key is kept as `key:...` (apart from
    the built ones) and names only a payment of the same bills or stay. Without one the key is the bill
    set's (the stay's); after a failed attempt (nothing charged) they may be paid again as a new attempt."""
    if given:
        found = payment_of_key(h, given)
        if found is None:
            return f"key:{given}", None
        if (f"stay:{found.stay_no}" if found.stay_no else "bills:" + ",".join(found.bill_nos)) != base:
            raise conflict(f"idempotency_key: already used for payment {found.payment_no} of other bills")
        return f"key:{given}", found.payment_no
    with h.db.session() as s:
        attempts = list(s.execute(select(Payment.payment_no, Payment.status).where(
            (Payment.idem_key == base) | Payment.idem_key.like(base + "#%")).order_by(Payment.id)))
    if not attempts:
        return base, None
    last_no, last_status = attempts[-1]
    if last_status not in (PaymentStatus.FAILED, PaymentStatus.REFUNDED):  # a refunded stay may be settled again
        return base, last_no
    return f"{base}#{len(attempts) + 1}", None


def _claim(h: Context, patient_id: int, bill_nos: list[str], channel: str, terminal: str, key: str,
           acct_used_flag: str, payer_ref: str | None, use_insurance: bool, device: str | None,
           pay_auth_no: str | None = None) -> str:
    now = h.now()
    with h.db.session() as s:
        bills = list(s.scalars(select(Bill).where(Bill.bill_no.in_(bill_nos))))
        missing = sorted(set(bill_nos) - {b.bill_no for b in bills})
        if missing:
            raise not_found(f"bill {', '.join(missing)} is not known")
        for b in bills:
            if b.patient_id != patient_id:
                raise invalid(f"bill {b.bill_no} is not patient {patient_id}'s")
            if b.status != BillStatus.PENDING:
                other = s.get(Payment, b.payment_id) if b.payment_id else None
                raise conflict(f"bill {b.bill_no} is {b.status}" + (f" (payment {other.payment_no})"
                                                                     if other else ""))
        if len({b.registration_id for b in bills}) != 1:
            raise invalid("bill_nos: bills of one registration are paid together (one settlement is one visit)")
        reg = s.get_one(Registration, bills[0].registration_id)
        if reg.status != RegistrationStatus.REGISTERED:
            raise conflict(f"registration {reg.id} is {reg.status}")
        patient = s.get_one(Patient, patient_id)
        if pay_auth_no and not patient.psn_no:
            raise invalid(f"pay_auth_no: patient {patient_id} is not insured here (no psn_no from 1101)")
        no = new_no("P", now)
        payment = Payment(
            payment_no=no, idem_key=key, patient_id=patient_id, registration_id=reg.id, bill_nos=bill_nos,
            terminal=terminal, device=device,
            kind="pharmacy" if all(b.kind == "pharmacy" for b in bills) else "outpatient",
            total=sum((b.amount for b in bills), ZERO), status=PaymentStatus.NEW,
            insured=use_insurance and patient.psn_no is not None, acct_used_flag=acct_used_flag,
            psn_no=patient.psn_no, insuplc_admdvs=patient.insuplc_admdvs, mdtrt_id=reg.mdtrt_id,
            chrg_bchno=no, insurance_status=InsuranceStatus.NONE, channel=channel, cash_status="none",
            payer_ref=payer_ref, pay_auth_no=pay_auth_no, last_sequence=0, error="", created_at=now,
            updated_at=now)
        s.add(payment)
        s.flush()
        claimed = s.execute(update(Bill).where(Bill.id.in_([b.id for b in bills]), Bill.status == BillStatus.PENDING)
                            .values(status=BillStatus.PAYING, payment_id=payment.id))
        if claimed.rowcount != len(bills):  # type: ignore[attr-defined]
            raise conflict("bill_nos: a bill was claimed by another payment meanwhile")
        return no


def _claim_stay(h: Context, stay_no: str, channel: str, terminal: str, key: str, acct_used_flag: str,
                payer_ref: str | None, device: str | None) -> str:
    now = h.now()
    with h.db.session() as s:
        stay = s.scalar(select(KindSettlement).where(KindSettlement.no == stay_no))
        if stay is None:
            raise not_found(f"stay or sale {stay_no} is not known")
        if stay.status != kinds.PAYABLE_AGAIN[stay.kind]:
            raise conflict(f"{stay.kind} {stay_no} is {stay.status}" + (
                ": discharge it first (2402)" if stay.status == StayStatus.ADMITTED else
                f" (payment {stay.payment_no})" if stay.payment_no else ""))
        no = new_no("P", now)
        if not kinds.machine(stay.kind).move(s, KindSettlement.id == stay.id, kinds.PAYING[stay.kind],
                                             (kinds.PAYABLE_AGAIN[stay.kind],), payment_no=no,
                                             acct_used_flag=acct_used_flag, updated_at=now):
            raise conflict(f"{stay.kind} {stay_no}: being paid by another request meanwhile")
        s.add(Payment(
            payment_no=no, idem_key=key, patient_id=stay.patient_id, registration_id=None, stay_no=stay_no,
            bill_nos=[], terminal=terminal, device=device, kind=stay.kind, total=stay.total,
            status=PaymentStatus.NEW, insured=True, acct_used_flag=acct_used_flag, psn_no=stay.psn_no,
            insuplc_admdvs=stay.insuplc_admdvs, mdtrt_id=stay.mdtrt_id, chrg_bchno=None,
            insurance_status=InsuranceStatus.NONE, channel=channel, cash_status="none", payer_ref=payer_ref,
            last_sequence=0, error="", created_at=now, updated_at=now))
        return no


def _proceed(h: Context, no: str, deadline: float) -> None:  # float-ok: monotonic seconds
    p = load(h, no)
    if p.insured:
        try:
            insurance_leg.settle(h, no)
        except PlatformError as exc:
            cash_leg.refused(h, no, f"{exc.infno}: {exc.err_msg}")
            return
        except HospitalError as exc:  # refused before any message left (a patient no longer insured)
            cash_leg.refused(h, no, exc.message)
            return
        except OutcomeUnknown as exc:
            note(h, no, f"insurance outcome unknown: {exc}")
            return
        p = load(h, no)
    if (p.cash_amount if p.insured else p.total) == ZERO:
        cash_leg.paid(h, no)
        return
    cash_leg.take(h, no, deadline)
