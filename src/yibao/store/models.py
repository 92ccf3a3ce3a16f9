"""The platform's tables. The schema itself is created only by the Alembic migrations beside this file."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from yibao.store.types import ExactDecimal, Money


class Base(DeclarativeBase):
    pass


class Setting(Base):
    """Deployment-wide settings, e.g. the simulation clock's `today`."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Region(Base):
    __tablename__ = "regions"
    admdvs: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    acct_bookkeeping: Mapped[bool] = mapped_column(Boolean, default=True)
    inprov_outpatient_filing_required: Mapped[bool] = mapped_column(Boolean, default=False)
    referral_filing_max_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    mutual_aid_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    authorizer_min_balance: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    relation_limits: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    local_only_diseases: Mapped[list[str]] = mapped_column(JSON, default=list)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class RegionSwitch(Base):
    """A named benefit switch of a region (e.g. a preset epidemic outpatient benefit), on from a date."""

    __tablename__ = "region_switches"
    admdvs: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    on: Mapped[bool] = mapped_column(Boolean)
    since: Mapped[date | None] = mapped_column(Date, nullable=True)


class Disease(Base):
    """Chronic/special disease codes usable in a region."""

    __tablename__ = "diseases"
    admdvs: Mapped[str] = mapped_column(String(6), primary_key=True)
    code: Mapped[str] = mapped_column(String(30), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


class Policy(Base):
    """One cost-sharing row of a region's policy (dataset.md `policies`)."""

    __tablename__ = "policies"
    __table_args__ = (UniqueConstraint("admdvs", "fingerprint"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    admdvs: Mapped[str] = mapped_column(String(6), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    insutype: Mapped[str] = mapped_column(String(6))
    med_types: Mapped[list[str]] = mapped_column(JSON)
    hosp_lv: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    bucket: Mapped[str] = mapped_column(String(32))
    deductible: Mapped[Decimal] = mapped_column(Money)
    ratio: Mapped[Decimal] = mapped_column(ExactDecimal)
    annual_cap: Mapped[Decimal] = mapped_column(Money)
    acct_scope: Mapped[str] = mapped_column(String(10))
    valid_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    valid_to: Mapped[date | None] = mapped_column(Date, nullable=True)
    switch: Mapped[str | None] = mapped_column(String(64), nullable=True)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CatalogItem(Base):
    __tablename__ = "catalog_items"
    admdvs: Mapped[str] = mapped_column(String(6), primary_key=True)
    code: Mapped[str] = mapped_column(String(50), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    chrgitm_lv: Mapped[str] = mapped_column(String(3))
    #: self-pay proportion by insutype; key "*" is the default for every insutype
    selfpay_prop: Mapped[dict[str, str]] = mapped_column(JSON)
    pric_uplmt_amt: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    med_chrgitm_type: Mapped[str] = mapped_column(String(6))
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Institution(Base):
    __tablename__ = "institutions"
    code: Mapped[str] = mapped_column(String(30), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    admdvs: Mapped[str] = mapped_column(String(6), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    level: Mapped[str | None] = mapped_column(String(3), nullable=True)
    xregion: Mapped[str] = mapped_column(String(12))
    internet: Mapped[bool] = mapped_column(Boolean, default=False)
    secret: Mapped[str] = mapped_column(String(200))


class Person(Base):
    __tablename__ = "persons"
    psn_no: Mapped[str] = mapped_column(String(30), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    certno: Mapped[str] = mapped_column(String(50), unique=True)
    psn_cert_type: Mapped[str] = mapped_column(String(6), default="01")
    gend: Mapped[str] = mapped_column(String(6))
    naty: Mapped[str] = mapped_column(String(3), default="01")
    brdy: Mapped[date] = mapped_column(Date)
    insutype: Mapped[str] = mapped_column(String(6))
    admdvs: Mapped[str] = mapped_column(String(6), index=True)
    psn_type: Mapped[str] = mapped_column(String(6))
    arrears: Mapped[bool] = mapped_column(Boolean, default=False)
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    ecard: Mapped[str | None] = mapped_column(String(100), nullable=True, unique=True)
    card_no: Mapped[str | None] = mapped_column(String(50), nullable=True, index=True)
    card_sn: Mapped[str | None] = mapped_column(String(32), nullable=True)
    emp_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    insu_date: Mapped[date | None] = mapped_column(Date, nullable=True)


class PersonDisease(Base):
    """A recognised chronic/special disease of a person (待遇认定)."""

    __tablename__ = "person_diseases"
    psn_no: Mapped[str] = mapped_column(String(30), primary_key=True)
    code: Mapped[str] = mapped_column(String(30), primary_key=True)
    since: Mapped[date | None] = mapped_column(Date, nullable=True)


class Contribution(Base):
    """A month of insurance contributions (缴费), served by 90100."""

    __tablename__ = "contributions"
    psn_no: Mapped[str] = mapped_column(String(30), primary_key=True)
    ym: Mapped[str] = mapped_column(String(7), primary_key=True)
    insutype: Mapped[str] = mapped_column(String(6), primary_key=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    paid: Mapped[bool] = mapped_column(Boolean)


class Account(Base):
    """A personal account (个人账户). Its balance moves only with a journal entry."""

    __tablename__ = "accounts"
    psn_no: Mapped[str] = mapped_column(String(30), primary_key=True)
    admdvs: Mapped[str] = mapped_column(String(6))
    balance: Mapped[Decimal] = mapped_column(Money)
    #: the balance the dataset last stated; a reload shifts the balance by the change of this figure
    loaded_balance: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    status: Mapped[str] = mapped_column(String(10), default="open")


class AccountEntry(Base):
    __tablename__ = "account_journal"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    psn_no: Mapped[str] = mapped_column(String(30), index=True)
    entry_time: Mapped[datetime] = mapped_column(DateTime)
    kind: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Money)
    balance_after: Mapped[Decimal] = mapped_column(Money)
    setl_id: Mapped[str | None] = mapped_column(String(30), nullable=True, index=True)
    beneficiary_psn_no: Mapped[str | None] = mapped_column(String(30), nullable=True)
    memo: Mapped[str | None] = mapped_column(String(200), nullable=True)


class Accumulator(Base):
    """Year-to-date usage of one person in one benefit bucket."""

    __tablename__ = "accumulators"
    psn_no: Mapped[str] = mapped_column(String(30), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket: Mapped[str] = mapped_column(String(32), primary_key=True)
    deductible_used: Mapped[Decimal] = mapped_column(Money)
    fund_paid: Mapped[Decimal] = mapped_column(Money)
    loaded_deductible: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    loaded_fund: Mapped[Decimal | None] = mapped_column(Money, nullable=True)


class MutualAidAuthorization(Base):
    __tablename__ = "mutual_aid_authorizations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    authorizer: Mapped[str] = mapped_column(String(30), index=True)
    beneficiary: Mapped[str] = mapped_column(String(30), index=True)
    relation: Mapped[str] = mapped_column(String(10))
    quota: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    quota_used: Mapped[Decimal] = mapped_column(Money)
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date | None] = mapped_column(Date, nullable=True)
    priority: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(10), default="active")
    source: Mapped[str] = mapped_column(String(10), default="dataset")
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Filing(Base):
    """A cross-region filing (异地备案)."""

    __tablename__ = "filings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    psn_no: Mapped[str] = mapped_column(String(30), index=True)
    type: Mapped[str] = mapped_column(String(24))
    dest_admdvs: Mapped[str | None] = mapped_column(String(6), nullable=True)
    dest_fixmedins: Mapped[str | None] = mapped_column(String(30), nullable=True)
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date | None] = mapped_column(Date, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(10), default="active")
    source: Mapped[str] = mapped_column(String(10), default="dataset")


class SignIn(Base):
    """An operator's sign-in (9001): valid for that operator on that business day until 9002."""

    __tablename__ = "sign_ins"
    sign_no: Mapped[str] = mapped_column(String(30), primary_key=True)
    fixmedins_code: Mapped[str] = mapped_column(String(30))
    opter_no: Mapped[str] = mapped_column(String(30))
    biz_date: Mapped[date] = mapped_column(Date)
    mac: Mapped[str | None] = mapped_column(String(20), nullable=True)
    ip: Mapped[str | None] = mapped_column(String(20), nullable=True)
    signed_in_at: Mapped[datetime] = mapped_column(DateTime)
    signed_out_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class Nonce(Base):
    """x-tif nonces seen recently, to refuse a replayed request."""

    __tablename__ = "nonces"
    fixmedins_code: Mapped[str] = mapped_column(String(30), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[int] = mapped_column(Integer, index=True)


class MessageLog(Base):
    """The audit log: one row per message received, ID numbers masked."""

    __tablename__ = "message_log"
    __table_args__ = (Index("ix_message_log_inst_msgid", "fixmedins_code", "msgid"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(DateTime)
    responded_at: Mapped[datetime] = mapped_column(DateTime)
    duration_ms: Mapped[int] = mapped_column(Integer)
    fixmedins_code: Mapped[str | None] = mapped_column(String(30), nullable=True)
    infno: Mapped[str | None] = mapped_column(String(10), nullable=True)
    msgid: Mapped[str | None] = mapped_column(String(30), nullable=True)
    body_sha256: Mapped[str] = mapped_column(String(64))
    infcode: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))
    err_msg: Mapped[str | None] = mapped_column(Text, nullable=True)
    request: Mapped[str] = mapped_column(Text)
    response: Mapped[str] = mapped_column(Text)


class MessageReplay(Base):
    """The answer to each message that succeeded, so that a retried msgid is answered, not run again."""

    __tablename__ = "message_replay"
    fixmedins_code: Mapped[str] = mapped_column(String(30), primary_key=True)
    msgid: Mapped[str] = mapped_column(String(30), primary_key=True)
    infno: Mapped[str] = mapped_column(String(10))
    body_sha256: Mapped[str] = mapped_column(String(64))
    response: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
