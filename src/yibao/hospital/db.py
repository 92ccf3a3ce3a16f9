"""The tables of the hospital's own database (a separate system beside the platform: its own MetaData and its
own Alembic history in migrations/, version table hospital_alembic_version, run by database.py; SQLite by
default). Money columns are integer fen, prices decimal text: exact on any database.

Every settlement the hospital makes is a Payment: outpatient bills (2207), a pharmacy sale (2102), an inpatient
stay (2304); each keeps the platform's settlement output and its cancellation's verbatim (seed 003: settlements
of persons insured in another province cannot be queried later, so slips, invoices and reconciliation are made
from what was kept)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from yibao.sqlkit import ExactDecimal, Money


class Base(DeclarativeBase):
    metadata = MetaData()


class Department(Base):
    __tablename__ = "departments"
    code: Mapped[str] = mapped_column(String(30), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    caty: Mapped[str] = mapped_column(String(6), default="")  # 科别, sent with 2201
    location: Mapped[str] = mapped_column(String(200), default="")
    intro: Mapped[str] = mapped_column(Text, default="")


class Doctor(Base):
    __tablename__ = "doctors"
    code: Mapped[str] = mapped_column(String(30), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    dept_code: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    title: Mapped[str] = mapped_column(String(50), default="")
    intro: Mapped[str] = mapped_column(Text, default="")


class Slot(Base):
    """A doctor's half day: capacity, the registration fee (a catalog item), suspended (停诊) or not."""

    __tablename__ = "slots"
    __table_args__ = (UniqueConstraint("doctor_code", "day", "period"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    doctor_code: Mapped[str] = mapped_column(ForeignKey("doctors.code"), index=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    period: Mapped[str] = mapped_column(String(2))  # am | pm
    capacity: Mapped[int] = mapped_column(Integer)
    taken: Mapped[int] = mapped_column(Integer, default=0)
    fee: Mapped[Decimal] = mapped_column(Money)
    fee_code: Mapped[str] = mapped_column(String(50))  # national catalog code of the registration fee
    fee_name: Mapped[str] = mapped_column(String(100))
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    suspend_reason: Mapped[str] = mapped_column(String(200), default="")


class Patient(Base):
    """The first-visit record (首诊建档). `ecard` (医保电子凭证) and `health_code` (电子健康码) are fused: either
    finds the patient. `psn_no`, `insutype` and `insuplc_admdvs` come from 1101; empty for a self-paying patient."""

    __tablename__ = "patients"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(50))
    certno: Mapped[str] = mapped_column(String(50), unique=True)
    phone: Mapped[str] = mapped_column(String(30), default="")
    gend: Mapped[str] = mapped_column(String(6), default="")
    brdy: Mapped[str] = mapped_column(String(10), default="")
    psn_no: Mapped[str | None] = mapped_column(String(30), index=True)
    insutype: Mapped[str | None] = mapped_column(String(6))
    insuplc_admdvs: Mapped[str | None] = mapped_column(String(6))
    mdtrt_cert_type: Mapped[str | None] = mapped_column(String(3))  # the credential the person was found by
    mdtrt_cert_no: Mapped[str | None] = mapped_column(String(50))
    card_sn: Mapped[str | None] = mapped_column(String(32))
    ecard: Mapped[str | None] = mapped_column(String(100), unique=True)
    health_code: Mapped[str | None] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class Booking(Base):
    __tablename__ = "bookings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("slots.id"), index=True)
    status: Mapped[str] = mapped_column(String(12))  # booked | registered | cancelled | suspended
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class Registration(Base):
    """A same-day registration (当天挂号); `reg_no` is the ipt_otp_no of 2201, `mdtrt_id` its answer."""

    __tablename__ = "registrations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reg_no: Mapped[str] = mapped_column(String(30), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("slots.id"), index=True)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"))
    insured: Mapped[bool] = mapped_column(Boolean)
    mdtrt_id: Mapped[str | None] = mapped_column(String(30))
    visit_info_sent: Mapped[bool] = mapped_column(Boolean, default=False)  # 2203 done
    status: Mapped[str] = mapped_column(String(12))  # registered | refunded | cancelled
    refundable: Mapped[bool] = mapped_column(Boolean, default=True)
    refund_reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Notice(Base):
    """What a patient is told (a doctor's suspension)."""

    __tablename__ = "notices"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    slot_id: Mapped[int | None] = mapped_column(ForeignKey("slots.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Bill(Base):
    """Fees to pay: the registration fee, items ordered in the clinic room (诊间开单), pharmacy."""

    __tablename__ = "bills"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bill_no: Mapped[str] = mapped_column(String(30), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # registration | clinic | pharmacy
    dept_code: Mapped[str] = mapped_column(String(30), default="")
    doctor_code: Mapped[str] = mapped_column(String(30), default="")
    amount: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(10), index=True)  # pending | paying | paid | refunded
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime)


class BillLine(Base):
    __tablename__ = "bill_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("bills.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    med_list_codg: Mapped[str] = mapped_column(String(50))  # national catalog code
    medins_list_codg: Mapped[str] = mapped_column(String(150))  # the hospital's own item code
    name: Mapped[str] = mapped_column(String(200))
    pric: Mapped[Decimal] = mapped_column(ExactDecimal)
    cnt: Mapped[Decimal] = mapped_column(ExactDecimal)
    amount: Mapped[Decimal] = mapped_column(Money)


class Payment(Base):
    """One payment: ONE insurance settlement and the self-pay remainder through a channel. Of several bills of a
    registration (2201 if needed, 2203, 2204, 2206, 2207), or of an inpatient stay (2402 if needed, 2303, 2304)
    or a pharmacy sale (2101, 2102) named by `stay_no`. `idem_key` makes a retried request return this payment."""

    __tablename__ = "payments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    payment_no: Mapped[str] = mapped_column(String(30), unique=True)
    idem_key: Mapped[str] = mapped_column(String(200), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    registration_id: Mapped[int | None] = mapped_column(ForeignKey("registrations.id"))  # bills' registration
    stay_no: Mapped[str | None] = mapped_column(String(30), index=True)  # KindSettlement.no: a stay or a sale
    bill_nos: Mapped[list[str]] = mapped_column(JSON)
    terminal: Mapped[str] = mapped_column(String(12))  # mobile | desk | clinic-room | bedside
    device: Mapped[str | None] = mapped_column(String(32))  # the card terminal's id (CASHIER-01, BED-12A ...)
    kind: Mapped[str] = mapped_column(String(12))  # outpatient | pharmacy | inpatient | retail (slip's title)
    total: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(12), index=True)
    # new | settling | paying | paid | cancelling | failed | refunding | refunded
    # -- insurance leg
    insured: Mapped[bool] = mapped_column(Boolean)
    acct_used_flag: Mapped[str] = mapped_column(String(1), default="1")
    psn_no: Mapped[str | None] = mapped_column(String(30))
    insuplc_admdvs: Mapped[str | None] = mapped_column(String(6))
    mdtrt_id: Mapped[str | None] = mapped_column(String(30))
    chrg_bchno: Mapped[str | None] = mapped_column(String(30))
    insurance_status: Mapped[str] = mapped_column(String(12), default="none")
    # none | settling | settled | unknown | cancelled
    # the mobile-payment centre instead of 2201-2207 (the patient's payAuthNo from his e-credential app): 6201
    # made the pay order, 6202 settles it, 6203 (HI) undoes it; the settlement kept as 6202's extData
    pay_auth_no: Mapped[str | None] = mapped_column(String(64))
    pay_ord_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    pay_token: Mapped[str | None] = mapped_column(String(128))
    # the settling message (2207 / 2304 / 2102) and the cancelling one (2208 / 2305 / 2103) as sent: resent
    # as-is when the answer is lost (the platform answers a committed msgid with its stored answer)
    env_settle: Mapped[str | None] = mapped_column(Text)
    env_cancel: Mapped[str | None] = mapped_column(Text)
    setl_id: Mapped[str | None] = mapped_column(String(30), unique=True)
    out_2204: Mapped[str | None] = mapped_column(Text)  # outpatient fee upload, verbatim
    out_2206: Mapped[str | None] = mapped_column(Text)  # outpatient pre-settlement
    out_settle: Mapped[str | None] = mapped_column(Text)  # 2207 / 2304 / 2102 output, verbatim
    out_cancel: Mapped[str | None] = mapped_column(Text)  # 2208 / 2305 / 2103 output, verbatim
    setl_time: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    # -- cash leg
    channel: Mapped[str] = mapped_column(String(10))
    cash_amount: Mapped[Decimal | None] = mapped_column(Money)
    out_trade_no: Mapped[str | None] = mapped_column(String(32), unique=True)
    cash_status: Mapped[str] = mapped_column(String(20), default="none")
    # none | PENDING | PAID | FAILED | CLOSED | REFUNDED | PARTIALLY_REFUNDED | NOT_FOUND | unknown
    channel_trade_no: Mapped[str | None] = mapped_column(String(64))
    pay_url: Mapped[str | None] = mapped_column(Text)
    payer_ref: Mapped[str | None] = mapped_column(String(64))
    last_sequence: Mapped[int] = mapped_column(Integer, default=0)  # highest callback sequence applied
    paid_at: Mapped[datetime | None] = mapped_column(DateTime)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class Refund(Base):
    """A refund of a payment (a registration fee online; a stay's or a sale's settlement cancelled at the desk):
    the insurance part by 2208 / 2305 / 2103 (its output kept on the payment), the cash part by the channel's
    refund, idempotent per refund_no."""

    __tablename__ = "refunds"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    refund_no: Mapped[str] = mapped_column(String(32), unique=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), unique=True)
    registration_id: Mapped[int | None] = mapped_column(ForeignKey("registrations.id"))
    reason: Mapped[str] = mapped_column(String(200))
    insurance_amount: Mapped[Decimal] = mapped_column(Money)  # fund + account given back by 2208
    cash_amount: Mapped[Decimal] = mapped_column(Money)
    insurance_status: Mapped[str] = mapped_column(String(12))  # none | pending | done
    cash_status: Mapped[str] = mapped_column(String(20))  # none | pending | REFUNDED | ...
    status: Mapped[str] = mapped_column(String(12))  # refunding | refunded
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class CallbackInbox(Base):
    """Every callback taken, once per (channel, event_id): duplicates and stale events are kept, not applied."""

    __tablename__ = "callback_inbox"
    __table_args__ = (UniqueConstraint("channel", "event_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(10))
    event_id: Mapped[str] = mapped_column(String(64))
    out_trade_no: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Money)
    channel_trade_no: Mapped[str | None] = mapped_column(String(64))
    sequence: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(20))  # applied | stale | unknown_order | amount_mismatch
    received_at: Mapped[datetime] = mapped_column(DateTime)
    body: Mapped[str] = mapped_column(Text)


class Setting(Base):
    """The hospital's own settings kept in its database (`auth_key`: the token signing key made on first use)."""

    __tablename__ = "hospital_settings"
    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class KindSettlement(Base):
    """An inpatient stay (2401, 2301 ..., 2402) or a retail pharmacy sale (inpatient.py, pharmacy.py), paid by a
    Payment (`payment_no`, the latest attempt) like outpatient bills: the settlement (2304 / 2102) and its
    cancellation are kept on the payment, every 2301 upload and the pre-settlement (2303 / 2101) here."""

    __tablename__ = "kind_settlements"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    no: Mapped[str] = mapped_column(String(30), unique=True)  # ipt_no of a stay, the sale number of a sale
    kind: Mapped[str] = mapped_column(String(12))  # inpatient | retail
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    psn_no: Mapped[str | None] = mapped_column(String(30))
    insutype: Mapped[str | None] = mapped_column(String(6))
    insuplc_admdvs: Mapped[str | None] = mapped_column(String(6))
    mdtrt_id: Mapped[str | None] = mapped_column(String(30), index=True)
    status: Mapped[str] = mapped_column(String(12), index=True)
    # inpatient: admitted | discharged | paying | settled | cancelled, or reversing | reversed (a 2401 whose
    # answer was lost, reversed by 2601); retail: open | paying | settled | cancelled
    acct_used_flag: Mapped[str] = mapped_column(String(1), default="1")
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # the fee lines sent
    outs_2301: Mapped[list[str]] = mapped_column(JSON, default=list)  # each 2301 output, verbatim text
    out_pre: Mapped[str | None] = mapped_column(Text)  # 2303 / 2101, verbatim
    total: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    payment_no: Mapped[str | None] = mapped_column(String(30))  # the payment settling it (the latest attempt)
    # a 2301 / 2402 whose answer was lost, {"infno", "envelope", "lines"}: sent again as-is before anything else
    pending: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


# -- the patient's deposit account (预交金 / 充值, seed 003 其他 3): deposit/ ----------------------------------------

class DepositAccount(Base):
    """A patient's deposit balance (never negative: debited by a guarded UPDATE, checked by the database)."""

    __tablename__ = "deposit_accounts"
    __table_args__ = (CheckConstraint("balance >= 0", name="deposit_balance_not_negative"),)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), primary_key=True)
    balance: Mapped[Decimal] = mapped_column(Money)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class DepositEntry(Base):
    """Every movement of a deposit, one row, signed: top-up +, payment -, refund back +, withdrawal -.
    `ref` is unique: the same movement can never be written twice."""

    __tablename__ = "deposit_entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # topup | payment | refund | withdraw | withdraw_undo
    amount: Mapped[Decimal] = mapped_column(Money)
    balance_after: Mapped[Decimal] = mapped_column(Money)
    ref: Mapped[str] = mapped_column(String(80), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class DepositTopUp(Base):
    """An online top-up: a channel order; credited to the deposit on PAID only, once. `idem_key` makes a retried
    request return this top-up."""

    __tablename__ = "deposit_topups"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    topup_no: Mapped[str] = mapped_column(String(32), unique=True)  # the channel's out_trade_no
    idem_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    code: Mapped[str] = mapped_column(String(100))  # the e-credential or health code it was asked with
    channel: Mapped[str] = mapped_column(String(10))
    amount: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(20), index=True)  # new | PENDING | PAID | FAILED | CLOSED | unknown
    refunded: Mapped[Decimal] = mapped_column(Money)  # given back by withdrawals so far
    channel_trade_no: Mapped[str | None] = mapped_column(String(64))
    pay_url: Mapped[str | None] = mapped_column(Text)
    last_sequence: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class DepositWithdrawal(Base):
    """Giving the unused deposit back through the channel(s) it came from: `legs` (one per top-up refunded)."""

    __tablename__ = "deposit_withdrawals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    withdraw_no: Mapped[str] = mapped_column(String(32), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(12))  # withdrawing | done | partial
    legs: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
