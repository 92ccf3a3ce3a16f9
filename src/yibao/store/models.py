"""The platform's tables. The schema itself is created only by the Alembic migrations beside this file."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from yibao.store.types import ExactDecimal, Money


class Base(DeclarativeBase):
    pass


def unique_where(name: str, *columns: Any, where: str) -> Index:
    """A unique index over the rows matching `where` (both databases): what keeps a race from a double effect."""
    return Index(name, *columns, unique=True, sqlite_where=text(where), postgresql_where=text(where))


class Setting(Base):
    """Deployment-wide settings, e.g. the simulation clock's `today`."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class CalendarYear(Base):
    """One year of the State Council's working-day calendar from the dataset (`calendar:`): its public holidays
    and adjusted working days, ISO dates. Where a year is here it wins over the `chinesecalendar` package."""

    __tablename__ = "calendar_years"
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    holidays: Mapped[list[str]] = mapped_column(JSON, default=list)
    workdays: Mapped[list[str]] = mapped_column(JSON, default=list)


class ReferenceVersion(Base):
    """One counter, bumped by triggers on every change to the reference data (migration 0014): while it stays,
    a process's cached copy of that data is current (store/reference.py)."""

    __tablename__ = "reference_version"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


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
    #: the e-credential (医保电子凭证) is activated: a filed person pays from his account in another region by
    #: e-credential only then (揭阳 揭医保〔2021〕82号 art. 39)
    ecard_activated: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class PersonDisease(Base):
    """A recognised chronic/special disease of a person (待遇认定)."""

    __tablename__ = "person_diseases"
    psn_no: Mapped[str] = mapped_column(String(30), primary_key=True)
    code: Mapped[str] = mapped_column(String(30), primary_key=True)
    since: Mapped[date | None] = mapped_column(Date, nullable=True)
    until: Mapped[date | None] = mapped_column(Date, nullable=True)
    #: the institution that recognised it (at the treatment place: seed 004 art. 10), recorded for the insured region
    recognized_by: Mapped[str | None] = mapped_column(String(30), nullable=True)
    status: Mapped[str] = mapped_column(String(12), default="active", server_default="active")


class SettlementSuspension(Base):
    """The treatment region's agency suspends a person's direct settlement there (seed 004 art. 29)."""

    __tablename__ = "settlement_suspensions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    psn_no: Mapped[str] = mapped_column(String(30), index=True)
    treatment_admdvs: Mapped[str] = mapped_column(String(6))
    reason: Mapped[str] = mapped_column(String(500))
    since: Mapped[datetime] = mapped_column(DateTime)
    lifted_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    lifted_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)


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
    status: Mapped[str] = mapped_column(String(10), default="open")  # open | closed | withdrawn
    #: the account of an employee insurance now suspended, usable by its owner for his resident insurance
    from_suspended_employment: Mapped[bool] = mapped_column(Boolean, default=False)


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
    authorization_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
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
    __table_args__ = (unique_where("uq_mutual_aid_active_pair", "authorizer", "beneficiary", "start",
                                 where="status = 'active'"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    authorizer: Mapped[str] = mapped_column(String(30), index=True)
    beneficiary: Mapped[str] = mapped_column(String(30), index=True)
    relation: Mapped[str] = mapped_column(String(10))
    quota: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    quota_used: Mapped[Decimal] = mapped_column(Money)
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date | None] = mapped_column(Date, nullable=True)
    priority: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(10), default="active")  # active | ended
    source: Mapped[str] = mapped_column(String(10), default="dataset")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    commitment_version: Mapped[str | None] = mapped_column(String(40), nullable=True)
    committed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)


class MutualAidEvent(Base):
    """What happened to authorizations: bound, changed, unbound, ended by a transfer or a closed account."""

    __tablename__ = "mutual_aid_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    authorization_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    psn_no: Mapped[str] = mapped_column(String(30), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(60))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class InsuranceProduct(Base):
    """An approved commercial health insurance product that personal accounts may buy (Hefei 四, 五)."""

    __tablename__ = "insurance_products"
    admdvs: Mapped[str] = mapped_column(String(6), primary_key=True)
    code: Mapped[str] = mapped_column(String(50), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    insurer: Mapped[str] = mapped_column(String(200))
    premium: Mapped[Decimal] = mapped_column(Money)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class InsurancePurchase(Base):
    __tablename__ = "insurance_purchases"
    purchase_id: Mapped[str] = mapped_column(String(30), primary_key=True)
    psn_no: Mapped[str] = mapped_column(String(30), index=True)
    admdvs: Mapped[str] = mapped_column(String(6))
    product_code: Mapped[str] = mapped_column(String(50))
    insurer: Mapped[str] = mapped_column(String(200))
    premium: Mapped[Decimal] = mapped_column(Money)
    acct_pay: Mapped[Decimal] = mapped_column(Money)
    acct_mulaid_pay: Mapped[Decimal] = mapped_column(Money)
    cash_pay: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(10))  # paid | refunded
    created_at: Mapped[datetime] = mapped_column(DateTime)
    refunded_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    refund_id: Mapped[str | None] = mapped_column(String(30), nullable=True)


class Filing(Base):
    """A cross-region filing (异地备案)."""

    __tablename__ = "filings"
    __table_args__ = (unique_where("uq_filings_active_twin", "psn_no", "type", func.coalesce(text("dest_admdvs"), ""),
                                   func.coalesce(text("dest_fixmedins"), ""), "start", where="status = 'active'"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    psn_no: Mapped[str] = mapped_column(String(30), index=True)
    type: Mapped[str] = mapped_column(String(24))
    dest_admdvs: Mapped[str | None] = mapped_column(String(6), nullable=True)
    dest_fixmedins: Mapped[str | None] = mapped_column(String(30), nullable=True)
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date | None] = mapped_column(Date, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(12), default="active")  # active | superseded | cancelled
    source: Mapped[str] = mapped_column(String(10), default="dataset")
    #: the filing this one replaced (a change of place, institution or referral onwards is a new version)
    replaces_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    insu_admdvs: Mapped[str | None] = mapped_column(String(6), nullable=True)
    filed_by: Mapped[str | None] = mapped_column(String(60), nullable=True)
    created_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    memo: Mapped[str | None] = mapped_column(String(500), nullable=True)
    #: the disease the filing is for, when one is named (a dialysis filing names one institution)
    dise_codg: Mapped[str | None] = mapped_column(String(30), nullable=True)


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
    #: on PostgreSQL the table is partitioned by month of received_at (migration 0015; store/partitions.py)
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
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
    #: the whole answer, sealed (store/vault.py): it names the person
    response: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    #: the settlement (setl_id) or visit (mdtrt_id) the message made, for a reversal (2601)
    effect_id: Mapped[str | None] = mapped_column(String(30), nullable=True)


class Visit(Base):
    """A visit (就诊): an outpatient registration, an admission, or a pharmacy purchase; `mdtrt_id`."""

    __tablename__ = "visits"
    __table_args__ = (
        # two registrations or admissions sent at once under one visit number cannot both open a visit
        unique_where("uq_visits_open_ipt_otp_no", "fixmedins_code", "ipt_otp_no",
                     where="status <> 'cancelled' AND ipt_otp_no IS NOT NULL"),
        # a pharmacy sale sent twice (fresh msgids) is settled once until it is cancelled
        unique_where("uq_visits_open_sale_key", "fixmedins_code", "sale_key",
                     where="status <> 'cancelled' AND sale_key IS NOT NULL"),
    )
    mdtrt_id: Mapped[str] = mapped_column(String(30), primary_key=True)
    fixmedins_code: Mapped[str] = mapped_column(String(30), index=True)
    psn_no: Mapped[str] = mapped_column(String(30), index=True)
    insutype: Mapped[str] = mapped_column(String(6))
    kind: Mapped[str] = mapped_column(String(12))  # outpatient | inpatient | pharmacy
    med_type: Mapped[str | None] = mapped_column(String(6), nullable=True)
    insuplc_admdvs: Mapped[str] = mapped_column(String(6))
    mdtrtarea_admvs: Mapped[str] = mapped_column(String(6))
    ipt_otp_no: Mapped[str | None] = mapped_column(String(30), nullable=True)
    begntime: Mapped[datetime] = mapped_column(DateTime)
    endtime: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    dise_codg: Mapped[str | None] = mapped_column(String(30), nullable=True)
    dise_name: Mapped[str | None] = mapped_column(String(500), nullable=True)
    mdtrt_cert_type: Mapped[str | None] = mapped_column(String(3), nullable=True)
    status: Mapped[str] = mapped_column(String(12))  # open | discharged | cancelled
    info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    #: a pharmacy sale's fingerprint (person and lines): the same sale is not settled twice
    sale_key: Mapped[str | None] = mapped_column(String(64), nullable=True)


class FeeDetail(Base):
    """One uploaded fee line with its split (rules.md section 3)."""

    __tablename__ = "fee_details"
    __table_args__ = (UniqueConstraint("mdtrt_id", "feedetl_sn"),
                      # a visit's unsettled lines, read by every settlement, without reading the others'
                      Index("ix_fee_details_unsettled", "mdtrt_id", sqlite_where=text("setl_id IS NULL"),
                            postgresql_where=text("setl_id IS NULL")))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    mdtrt_id: Mapped[str] = mapped_column(String(30), index=True)
    feedetl_sn: Mapped[str] = mapped_column(String(30))
    chrg_bchno: Mapped[str | None] = mapped_column(String(30), nullable=True)
    init_feedetl_sn: Mapped[str | None] = mapped_column(String(30), nullable=True)
    med_list_codg: Mapped[str] = mapped_column(String(50))
    medins_list_codg: Mapped[str | None] = mapped_column(String(150), nullable=True)
    list_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    fee_ocur_time: Mapped[datetime] = mapped_column(DateTime)
    pric: Mapped[Decimal] = mapped_column(ExactDecimal)
    cnt: Mapped[Decimal] = mapped_column(ExactDecimal)
    det_item_fee_sumamt: Mapped[Decimal] = mapped_column(Money)
    fulamt_ownpay_amt: Mapped[Decimal] = mapped_column(Money)
    overlmt_amt: Mapped[Decimal] = mapped_column(Money)
    preselfpay_amt: Mapped[Decimal] = mapped_column(Money)
    inscp_scp_amt: Mapped[Decimal] = mapped_column(Money)
    pric_uplmt_amt: Mapped[Decimal | None] = mapped_column(ExactDecimal, nullable=True)
    selfpay_prop: Mapped[Decimal] = mapped_column(ExactDecimal)
    chrgitm_lv: Mapped[str] = mapped_column(String(3))
    med_chrgitm_type: Mapped[str | None] = mapped_column(String(6), nullable=True)
    catalog_admdvs: Mapped[str] = mapped_column(String(6))
    dise_codg: Mapped[str | None] = mapped_column(String(30), nullable=True)
    setl_id: Mapped[str | None] = mapped_column(String(30), nullable=True, index=True)
    memo: Mapped[str | None] = mapped_column(String(500), nullable=True)
    raw: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


MONTHLY_COLUMNS = ["kind", "insu_admdvs", "insutype", "clr_type", "refd_setl_flag", "psn_no", "mdtrt_id",
                   "medfee_sumamt", "hifp_pay", "fund_pay_sumamt", "acct_pay", "acct_mulaid_pay", "psn_cash_pay"]


class Settlement(Base):
    """A settlement (结算) or the negative record of its cancellation (refd_setl_flag 1)."""

    __tablename__ = "settlements"
    #: the monthly declaration, 2704 and 3260 read one institution's settlements by time; on PostgreSQL the
    #: index carries the columns they sum, so they are read from the index alone (docs/performance.md)
    __table_args__ = (Index("ix_settlements_medins_time", "fixmedins_code", "setl_time", "setl_id",
                            postgresql_include=MONTHLY_COLUMNS),
                      unique_where("uq_settlements_final_stay", "mdtrt_id",
                                   where="status = 'settled' AND kind = 'inpatient' AND mid_setl_flag = '0'"))
    setl_id: Mapped[str] = mapped_column(String(30), primary_key=True)
    mdtrt_id: Mapped[str] = mapped_column(String(30), index=True)
    psn_no: Mapped[str] = mapped_column(String(30), index=True)
    fixmedins_code: Mapped[str] = mapped_column(String(30), index=True)
    insutype: Mapped[str] = mapped_column(String(6))
    med_type: Mapped[str] = mapped_column(String(6))
    kind: Mapped[str] = mapped_column(String(12))
    clr_type: Mapped[str] = mapped_column(String(6))
    setl_time: Mapped[datetime] = mapped_column(DateTime, index=True)
    year: Mapped[int] = mapped_column(Integer)
    bucket: Mapped[str] = mapped_column(String(32))
    refd_setl_flag: Mapped[str] = mapped_column(String(1), default="0")
    init_setl_id: Mapped[str | None] = mapped_column(String(30), nullable=True)
    status: Mapped[str] = mapped_column(String(12))  # settled | cancelled | reversal
    mid_setl_flag: Mapped[str] = mapped_column(String(1), default="0")
    #: 1: supplementary bookkeeping (补记账, seed 004 art. 16): settled later for a visit whose direct
    #: settlement failed, under the rules in force on the visit day
    suppl_flag: Mapped[str] = mapped_column(String(1), default="0", server_default="0")
    chrg_bchno: Mapped[str | None] = mapped_column(String(30), nullable=True)
    medfee_sumamt: Mapped[Decimal] = mapped_column(Money)
    fulamt_ownpay_amt: Mapped[Decimal] = mapped_column(Money)
    overlmt_selfpay: Mapped[Decimal] = mapped_column(Money)
    preselfpay_amt: Mapped[Decimal] = mapped_column(Money)
    inscp_scp_amt: Mapped[Decimal] = mapped_column(Money)
    act_pay_dedc: Mapped[Decimal] = mapped_column(Money)
    hifp_pay: Mapped[Decimal] = mapped_column(Money)
    pool_prop_selfpay: Mapped[Decimal] = mapped_column(ExactDecimal)
    cvlserv_pay: Mapped[Decimal] = mapped_column(Money)
    hifes_pay: Mapped[Decimal] = mapped_column(Money)
    hifmi_pay: Mapped[Decimal] = mapped_column(Money)
    hifob_pay: Mapped[Decimal] = mapped_column(Money)
    maf_pay: Mapped[Decimal] = mapped_column(Money)
    oth_pay: Mapped[Decimal] = mapped_column(Money)
    fund_pay_sumamt: Mapped[Decimal] = mapped_column(Money)
    psn_part_amt: Mapped[Decimal] = mapped_column(Money)
    acct_pay: Mapped[Decimal] = mapped_column(Money)
    acct_mulaid_pay: Mapped[Decimal] = mapped_column(Money)
    psn_cash_pay: Mapped[Decimal] = mapped_column(Money)
    hosp_part_amt: Mapped[Decimal] = mapped_column(Money)
    balc: Mapped[Decimal] = mapped_column(Money)
    catalog_admdvs: Mapped[str] = mapped_column(String(6))
    policy_admdvs: Mapped[str] = mapped_column(String(6))
    policy_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    insu_admdvs: Mapped[str] = mapped_column(String(6))
    acct_admdvs: Mapped[str | None] = mapped_column(String(6), nullable=True)
    acct_mulaid_admdvs: Mapped[str | None] = mapped_column(String(6), nullable=True)
    pay_loc: Mapped[str] = mapped_column(String(3))
    clr_optins: Mapped[str] = mapped_column(String(6))
    clr_way: Mapped[str] = mapped_column(String(6), default="01")
    msgid: Mapped[str | None] = mapped_column(String(30), nullable=True)
    invono: Mapped[str | None] = mapped_column(String(30), nullable=True)
    dise_codg: Mapped[str | None] = mapped_column(String(30), nullable=True)
    dise_name: Mapped[str | None] = mapped_column(String(500), nullable=True)
    opter: Mapped[str | None] = mapped_column(String(30), nullable=True)
    opter_name: Mapped[str | None] = mapped_column(String(50), nullable=True)
    explanation: Mapped[list[Any]] = mapped_column(JSON, default=list)


class SettlementFund(Base):
    """setldetail: one row per fund that paid."""

    __tablename__ = "settlement_funds"
    setl_id: Mapped[str] = mapped_column(String(30), primary_key=True)
    fund_pay_type: Mapped[str] = mapped_column(String(6), primary_key=True)
    fund_pay_type_name: Mapped[str] = mapped_column(String(200))
    inscp_scp_amt: Mapped[Decimal] = mapped_column(Money)
    crt_payb_lmt_amt: Mapped[Decimal] = mapped_column(Money)
    fund_payamt: Mapped[Decimal] = mapped_column(Money)
    setl_proc_info: Mapped[str | None] = mapped_column(String(4000), nullable=True)


class BankInstruction(Base):
    """The outbox of instructions to the banks: personal-account bookkeeping (acct_021 / acct_023) and fund
    transfers of the monthly allocation and clearing (fund_031, docs/bank.md)."""

    __tablename__ = "bank_outbox"
    __table_args__ = (Index("ix_bank_outbox_due", "status", "next_attempt_at"),)
    instruction_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    code: Mapped[str] = mapped_column(String(10))
    psn_no: Mapped[str] = mapped_column(String(30))
    acct_admdvs: Mapped[str] = mapped_column(String(6))
    amount: Mapped[Decimal] = mapped_column(Money)
    setl_id: Mapped[str] = mapped_column(String(30), index=True)
    beneficiary_psn_no: Mapped[str | None] = mapped_column(String(30), nullable=True)
    #: fund_031 (monthly allocation and clearing): who receives the transfer, e.g. an institution
    payee: Mapped[str | None] = mapped_column(String(30), nullable=True)
    journal_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending | delivered
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)


class StoredFile(Base):
    """Files exchanged through 9101 / 9102 (e.g. the 3202 detail file and its result)."""

    __tablename__ = "stored_files"
    file_qury_no: Mapped[str] = mapped_column(String(40), primary_key=True)
    fixmedins_code: Mapped[str] = mapped_column(String(30), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    dld_endtime: Mapped[datetime] = mapped_column(DateTime)
    #: what a platform file holds (a catalog download: region/infno/version held/newest version), so the same
    #: request again is answered with the same file (migration 0020); None for uploaded files
    reuse_key: Mapped[str | None] = mapped_column(String(80), nullable=True)

    __table_args__ = (Index("ix_stored_files_reuse", "fixmedins_code", "reuse_key"),)


class InstitutionStatusChange(Base):
    """The registry of cross-region agreements (seed 004 art. 21, annex 2): opened, suspended, resumed or
    ended, each effective from a date, reported by the institution's region."""

    __tablename__ = "institution_status_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    fixmedins_code: Mapped[str] = mapped_column(String(30), index=True)
    change: Mapped[str] = mapped_column(String(12))  # opened | suspended | resumed | ended
    effective: Mapped[date] = mapped_column(Date)
    reported_by: Mapped[str] = mapped_column(String(6))
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
    memo: Mapped[str | None] = mapped_column(String(500), nullable=True)


class CoordinationRequest(Base):
    """A sporadic reimbursement coordination request (零星报销协办, seed 004 art. 17-18): the insured region's
    agency files it, the treatment region's agency dispatches it to the institution (3 working days), the
    institution uploads the records (5 working days); the claim is computed as a settlement (`setl_id`)
    and its fund part paid to the person's account or recorded for cash payment."""

    __tablename__ = "coordination_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    psn_no: Mapped[str] = mapped_column(String(30), index=True)
    insu_admdvs: Mapped[str] = mapped_column(String(6), index=True)
    fixmedins_code: Mapped[str] = mapped_column(String(30), index=True)
    treatment_admdvs: Mapped[str] = mapped_column(String(6), index=True)
    begndate: Mapped[date] = mapped_column(Date)
    enddate: Mapped[date] = mapped_column(Date)
    memo: Mapped[str | None] = mapped_column(String(500), nullable=True)
    status: Mapped[str] = mapped_column(String(12))  # requested | dispatched | uploaded | paid
    requested_at: Mapped[datetime] = mapped_column(DateTime)
    dispatch_deadline: Mapped[date] = mapped_column(Date)
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    upload_deadline: Mapped[date | None] = mapped_column(Date, nullable=True)
    uploaded_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    #: the visit made for the claim and its settlement (kind "coordination"; settlements.kind "outpatient")
    mdtrt_id: Mapped[str | None] = mapped_column(String(30), nullable=True)
    setl_id: Mapped[str | None] = mapped_column(String(30), nullable=True, index=True)
    pay_method: Mapped[str | None] = mapped_column(String(8), nullable=True)  # account | cash
    paid_amount: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    #: the account_journal entry of an "account" payment
    journal_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


# -- the monthly cycle: declaration, review, allocation, clearing (rules.md section 7) ---------------------


class Declaration(Base):
    """An institution's monthly declaration (申报) of month `setl_ym`. It covers the institution's settlements
    with `covers_from <= setl_time < covers_to`; the intervals of one institution follow each other without gap
    or overlap, so a settlement is declared once, ever. A month not declared in its window rolls into the next
    declaration (`rolled_months`)."""

    __tablename__ = "declarations"
    __table_args__ = (UniqueConstraint("fixmedins_code", "setl_ym", name="uq_declarations_month"),)
    decl_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    fixmedins_code: Mapped[str] = mapped_column(String(30), index=True)
    #: the treatment region, whose agency reviews it
    admdvs: Mapped[str] = mapped_column(String(6), index=True)
    setl_ym: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    covers_from: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    covers_to: Mapped[datetime] = mapped_column(DateTime)
    rolled_months: Mapped[list[str]] = mapped_column(JSON, default=list)
    declared_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(12))  # declared | reviewed | allocated
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    allocated_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    setl_cnt: Mapped[int] = mapped_column(Integer)
    medfee_sumamt: Mapped[Decimal] = mapped_column(Money)
    fund_pay_sumamt: Mapped[Decimal] = mapped_column(Money)
    acct_pay: Mapped[Decimal] = mapped_column(Money)
    acct_mulaid_pay: Mapped[Decimal] = mapped_column(Money)
    psn_cash_pay: Mapped[Decimal] = mapped_column(Money)
    #: what the platform owes the institution for the settlements: fund_pay_sumamt + acct_pay
    payable: Mapped[Decimal] = mapped_column(Money)
    #: earlier rejections agreed since and declared again with this declaration
    redeclared: Mapped[Decimal] = mapped_column(Money)
    rejected: Mapped[Decimal] = mapped_column(Money)
    deducted: Mapped[Decimal] = mapped_column(Money)
    approved: Mapped[Decimal | None] = mapped_column(Money, nullable=True)


class DeclarationLine(Base):
    """Level 2 of a declaration (seed 004 annexes 4 and 7): its settlements summed by insured region,
    insurance type and clearing category."""

    __tablename__ = "declaration_lines"
    decl_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    insu_admdvs: Mapped[str] = mapped_column(String(6), primary_key=True)
    insutype: Mapped[str] = mapped_column(String(6), primary_key=True)
    clr_type: Mapped[str] = mapped_column(String(6), primary_key=True)
    setl_cnt: Mapped[int] = mapped_column(Integer)
    refd_cnt: Mapped[int] = mapped_column(Integer)
    medfee_sumamt: Mapped[Decimal] = mapped_column(Money)
    hifp_pay: Mapped[Decimal] = mapped_column(Money)
    fund_pay_sumamt: Mapped[Decimal] = mapped_column(Money)
    acct_pay: Mapped[Decimal] = mapped_column(Money)
    acct_mulaid_pay: Mapped[Decimal] = mapped_column(Money)
    psn_cash_pay: Mapped[Decimal] = mapped_column(Money)
    payable: Mapped[Decimal] = mapped_column(Money)


class DeclarationMutualAid(Base):
    """The mutual-aid money of a declaration by the region of the account debited (seed 000 cases (1)-(3),
    seed 001 四(二)(三)), from the account journal, so a settlement drawing on several regions splits exactly."""

    __tablename__ = "declaration_mutual_aid"
    decl_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    insu_admdvs: Mapped[str] = mapped_column(String(6), primary_key=True)
    insutype: Mapped[str] = mapped_column(String(6), primary_key=True)
    acct_admdvs: Mapped[str] = mapped_column(String(6), primary_key=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    #: the fund that pays the institution this amount (rules/payment_funds.py: employee_accounts, xregion_fund,
    #: with_fund, centre); null on rows declared before it was recorded
    pay_fund: Mapped[str | None] = mapped_column(String(20), nullable=True)


class ReviewRejection(Base):
    """A declared settlement the reviewing agency refused to pay, with its reason. After agreement with the
    institution it is declared again in a later cycle (status agreed, then redeclared) or stays refused."""

    __tablename__ = "review_rejections"
    __table_args__ = (UniqueConstraint("decl_id", "setl_id", name="uq_review_rejections_setl"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    decl_id: Mapped[str] = mapped_column(String(40), index=True)
    fixmedins_code: Mapped[str] = mapped_column(String(30), index=True)
    setl_id: Mapped[str] = mapped_column(String(30), index=True)
    insu_admdvs: Mapped[str] = mapped_column(String(6))
    insutype: Mapped[str] = mapped_column(String(6))
    fund_pay: Mapped[Decimal] = mapped_column(Money)
    acct_pay: Mapped[Decimal] = mapped_column(Money)
    #: fund_pay + acct_pay: what the institution is not paid
    amount: Mapped[Decimal] = mapped_column(Money)
    #: the part of acct_pay drawn on other people's accounts, by the account's region: {"140100": "12.00"}
    mulaid: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(12))  # rejected | agreed | redeclared
    rejected_at: Mapped[datetime] = mapped_column(DateTime)
    agreed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    redeclared_in: Mapped[str | None] = mapped_column(String(40), nullable=True)


class ReviewDeduction(Base):
    """An amount withheld from a declaration for a violation (seed 004 art. 30): it reduces what the insured
    region is charged."""

    __tablename__ = "review_deductions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    decl_id: Mapped[str] = mapped_column(String(40), index=True)
    setl_id: Mapped[str | None] = mapped_column(String(30), nullable=True)
    insu_admdvs: Mapped[str] = mapped_column(String(6))
    insutype: Mapped[str] = mapped_column(String(6))
    amount: Mapped[Decimal] = mapped_column(Money)
    reason: Mapped[str] = mapped_column(String(500))
    deducted_at: Mapped[datetime] = mapped_column(DateTime)


class AllocationItem(Base):
    """One line of the allocation plan (拨付计划): what a payer owes an institution for a declaration, and
    which region's money it is. payer: the treatment region's agency for its own insured (`agency`), the
    provincial centre for everyone else (`centre`)."""

    __tablename__ = "allocation_items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    decl_id: Mapped[str] = mapped_column(String(40), index=True)
    fixmedins_code: Mapped[str] = mapped_column(String(30), index=True)
    setl_ym: Mapped[str] = mapped_column(String(7), index=True)
    payer: Mapped[str] = mapped_column(String(8))  # agency | centre
    #: the region whose fund or accounts the money is (the insured region; the account's region for mutual aid)
    charged_admdvs: Mapped[str] = mapped_column(String(6))
    insu_admdvs: Mapped[str] = mapped_column(String(6))
    insutype: Mapped[str] = mapped_column(String(6))
    part: Mapped[str] = mapped_column(String(8))  # fund | acct | mulaid
    amount: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(10))  # planned | paid
    instruction_id: Mapped[str | None] = mapped_column(String(40), nullable=True)


class FundPosting(Base):
    """The provincial centre's cross-region account, double entry: every transaction's postings sum to zero.
    Accounts: `bank` (the centre's cross-region account, debit positive) and `advance:<admdvs>` (a region's
    prepayment held by the centre, a temporary receipt; credit negative)."""

    __tablename__ = "fund_postings"
    __table_args__ = (Index("ix_fund_postings_account", "province", "account"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    txn_id: Mapped[str] = mapped_column(String(40), index=True)
    province: Mapped[str] = mapped_column(String(6))
    kind: Mapped[str] = mapped_column(String(12))  # prepayment | allocation | mutual_aid | clearing
    setl_ym: Mapped[str] = mapped_column(String(7))
    account: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Money)
    memo: Mapped[str | None] = mapped_column(String(200), nullable=True)
    posted_at: Mapped[datetime] = mapped_column(DateTime)


class FundJournalLine(Base):
    """The pooled funds' double-entry journal (docs/ledger.md): one row per line of an entry; debit positive,
    credit negative. `book` is the region whose fund it is; every entry sums to zero in each book (checked
    before it is written, rules/fund_ledger.py). `period` is the month the entry was posted in."""

    __tablename__ = "fund_journal"
    __table_args__ = (Index("ix_fund_journal_book", "book", "period", "account"),)
    entry_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    line: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    book: Mapped[str] = mapped_column(String(6))
    account: Mapped[str] = mapped_column(String(24))
    party: Mapped[str | None] = mapped_column(String(30), nullable=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    #: settlement | reversal | allocation | advance | mutual_aid | review | damages | claim_paid | clearing
    kind: Mapped[str] = mapped_column(String(12))
    #: the settlement, declaration or centre transaction that moved the money
    reference: Mapped[str] = mapped_column(String(40), index=True)
    period: Mapped[str] = mapped_column(String(7))
    posted_at: Mapped[datetime] = mapped_column(DateTime)


class MutualAidClearing(Base):
    """Mutual-aid money between regions for a month (seed 000 case (1)): the beneficiary's insured region paid
    the institution and declares it; the centre pays that region and charges the account's region."""

    __tablename__ = "mutual_aid_clearing"
    setl_ym: Mapped[str] = mapped_column(String(7), primary_key=True)
    acct_admdvs: Mapped[str] = mapped_column(String(6), primary_key=True)
    insu_admdvs: Mapped[str] = mapped_column(String(6), primary_key=True)
    drawn: Mapped[Decimal] = mapped_column(Money)
    cleared: Mapped[Decimal] = mapped_column(Money)
    txn_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    cleared_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class ClearingConfirmation(Base):
    """An institution's 3261 confirmation of the month's cross-region clearing details; 3262 rolls it back."""

    __tablename__ = "clearing_confirmations"
    otransid: Mapped[str] = mapped_column(String(40), primary_key=True)
    fixmedins_code: Mapped[str] = mapped_column(String(30), index=True)
    trt_ym: Mapped[str] = mapped_column(String(7))
    totalrow: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12))  # confirmed | rolled_back
    confirmed_at: Mapped[datetime] = mapped_column(DateTime)
    rolled_back_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class ClearingConfirmItem(Base):
    __tablename__ = "clearing_confirm_items"
    otransid: Mapped[str] = mapped_column(String(40), primary_key=True)
    setl_id: Mapped[str] = mapped_column(String(30), primary_key=True)
    cnfm_flag: Mapped[str] = mapped_column(String(1))


# -- the mobile-payment centre (医保移动支付, 6201-6401; docs/mobilepay.md) ----------------------------------

class MobilePayApp(Base):
    """An institution's mobile-payment channel: the appId it seals with and its SM2 public key. Its appSecret
    is the institution's `secret`."""

    __tablename__ = "mobilepay_apps"
    fixmedins_code: Mapped[str] = mapped_column(String(30), primary_key=True)
    app_id: Mapped[str] = mapped_column(String(64), unique=True)
    public_key: Mapped[str] = mapped_column(String(200))  # base64 of 04||x||y
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class PayAuth(Base):
    """A simulated e-credential authorization (payAuthNo, with its ecToken): one person, one institution,
    valid until `expires_at` on the business clock."""

    __tablename__ = "pay_auths"
    pay_auth_no: Mapped[str] = mapped_column(String(40), primary_key=True)
    ec_token: Mapped[str] = mapped_column(String(64), unique=True)
    psn_no: Mapped[str] = mapped_column(String(30), index=True)
    fixmedins_code: Mapped[str] = mapped_column(String(30))
    issued_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class PayOrder(Base):
    """A mobile-payment order: made by 6201 (visit and fee lines), settled by 6202, refunded by 6203,
    revoked by 6401. `ord_stas`: 0 uploaded, 6 settled, 7 revoked, 8 refunded in full, 9 insurance refunded."""

    __tablename__ = "pay_orders"
    __table_args__ = (UniqueConstraint("fixmedins_code", "med_org_ord"),)
    pay_ord_id: Mapped[str] = mapped_column(String(30), primary_key=True)
    pay_token: Mapped[str] = mapped_column(String(64))
    fixmedins_code: Mapped[str] = mapped_column(String(30), index=True)
    med_org_ord: Mapped[str] = mapped_column(String(64))
    psn_no: Mapped[str] = mapped_column(String(30), index=True)
    pay_auth_no: Mapped[str] = mapped_column(String(40))
    mdtrt_id: Mapped[str] = mapped_column(String(30), index=True)
    #: 1: the visit was registered by 6201 (6401 cancels it); 0: the HIS's own (6401 deletes the lines only)
    registered: Mapped[bool] = mapped_column(Boolean)
    chrg_bchno: Mapped[str] = mapped_column(String(30))
    med_type: Mapped[str] = mapped_column(String(6))
    acct_used_flag: Mapped[str | None] = mapped_column(String(1), nullable=True)
    ord_stas: Mapped[str] = mapped_column(String(2))
    fee_sumamt: Mapped[Decimal] = mapped_column(Money)
    upload_sha256: Mapped[str] = mapped_column(String(64))
    upload_answer: Mapped[str] = mapped_column(Text)
    setl_id: Mapped[str | None] = mapped_column(String(30), nullable=True)
    own_pay_amt: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    psn_acct_pay: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    fund_pay: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    hosp_part_amt: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    acct_mulaid_pay: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    settle_answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    revs_token: Mapped[str | None] = mapped_column(String(64), nullable=True)
    cash_refd_amt: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    acct_refd_amt: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    fund_refd_amt: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    refd_setl_id: Mapped[str | None] = mapped_column(String(30), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    settled_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class PayRefund(Base):
    """One 6203 refund of a pay order, kept under the app's refund serial (appRefdSn) for idempotence."""

    __tablename__ = "pay_refunds"
    fixmedins_code: Mapped[str] = mapped_column(String(30), primary_key=True)
    app_refd_sn: Mapped[str] = mapped_column(String(64), primary_key=True)
    pay_ord_id: Mapped[str] = mapped_column(String(30), index=True)
    refd_type: Mapped[str] = mapped_column(String(4))  # ALL | CASH | HI
    app_refd_time: Mapped[str] = mapped_column(String(14))
    totl_refd_amt: Mapped[Decimal] = mapped_column(Money)
    cash_refd_amt: Mapped[Decimal] = mapped_column(Money)
    psn_acct_refd_amt: Mapped[Decimal] = mapped_column(Money)
    fund_refd_amt: Mapped[Decimal] = mapped_column(Money)
    #: the cancellation record (refd_setl_flag 1) of an HI or ALL refund
    refd_setl_id: Mapped[str | None] = mapped_column(String(30), nullable=True)
    request_sha256: Mapped[str] = mapped_column(String(64))
    answer: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)


# -- catalog downloads 1301-1319 (docs/catalogs.md) ----------------------------------------------------------

class CatalogRow(Base):
    """One published row of a catalog a HIS downloads (1301-1315) or pages through (1312, 1318, 1319), with the
    version stamp of its last change: a load that changes a row's content gives it a newer `ver`, a row the
    dataset no longer lists stays with vali_flag 0 (so a HIS that downloads only what changed learns of it)."""

    __tablename__ = "catalog_rows"
    admdvs: Mapped[str] = mapped_column(String(6), primary_key=True)
    infno: Mapped[str] = mapped_column(String(4), primary_key=True)
    code: Mapped[str] = mapped_column(String(80), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    #: the content the dataset decides, by column name (the file's Chinese header, or the query's field name)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    fingerprint: Mapped[str] = mapped_column(String(64))
    vali_flag: Mapped[str] = mapped_column(String(1))
    rid: Mapped[str] = mapped_column(String(40))
    ver: Mapped[int] = mapped_column(BigInteger)
    ver_name: Mapped[str] = mapped_column(String(100))
    crte_time: Mapped[datetime] = mapped_column(DateTime)
    updt_time: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (Index("ix_catalog_rows_ver", "admdvs", "infno", "ver"),)

# -- pre- and mid-event analysis: rules, 3101 results and their 3103 feedback, review suggestions (docs/analysis.md) --


class AnalysisRule(Base):
    """A region's analysis rule (rules/analysis/spec.py): from the dataset (`analysis_rules`, a catalog row's
    `lmt_cond`: source dataset / catalog) or made by the region's agency (source api). Disabled, never deleted, so
    the results and suggestions naming it keep their meaning."""

    __tablename__ = "analysis_rules"
    admdvs: Mapped[str] = mapped_column(String(6), primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(50), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    severity: Mapped[str] = mapped_column(String(3))
    vola_bhvr_type: Mapped[str | None] = mapped_column(String(3), nullable=True)
    message: Mapped[str] = mapped_column(String(500))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(10))  # dataset | catalog | api
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class AnalysisResult(Base):
    """One violation answered by 3101/3102 (`jr_id`), and the HIS's feedback on it by 3103."""

    __tablename__ = "analysis_results"
    jr_id: Mapped[str] = mapped_column(String(50), primary_key=True)
    fixmedins_code: Mapped[str] = mapped_column(String(30), index=True)
    infno: Mapped[str] = mapped_column(String(10))
    trig_scen: Mapped[str] = mapped_column(String(3))
    task_id: Mapped[str] = mapped_column(String(50))
    patn_id: Mapped[str] = mapped_column(String(50))
    mdtrt_id: Mapped[str] = mapped_column(String(50))
    admdvs: Mapped[str] = mapped_column(String(6))
    rule_id: Mapped[str] = mapped_column(String(50))
    sev_deg: Mapped[str] = mapped_column(String(3))
    vola_amt: Mapped[Decimal] = mapped_column(Money)
    items: Mapped[list[str]] = mapped_column(JSON)  # rx_id of the violating orders
    created_at: Mapped[datetime] = mapped_column(DateTime)
    warn_type: Mapped[str | None] = mapped_column(String(3), nullable=True)
    dspo_way: Mapped[str | None] = mapped_column(String(3), nullable=True)
    dspo_way_rea: Mapped[str | None] = mapped_column(String(500), nullable=True)
    fed_back_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    fed_back_by: Mapped[str | None] = mapped_column(String(50), nullable=True)


class ReviewSuggestion(Base):
    """A fee line of a declared settlement that a rule flags for the reviewing clerk: open until the clerk accepts
    it (a rejection or a deduction of the review) or dismisses it. The engine never rejects by itself."""

    __tablename__ = "review_suggestions"
    __table_args__ = (UniqueConstraint("decl_id", "fee_id", "rule_id", name="uq_review_suggestions_line_rule"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    decl_id: Mapped[str] = mapped_column(String(40), index=True)
    setl_id: Mapped[str] = mapped_column(String(30))
    mdtrt_id: Mapped[str] = mapped_column(String(30))
    fee_id: Mapped[int] = mapped_column(Integer)
    feedetl_sn: Mapped[str] = mapped_column(String(30))
    med_list_codg: Mapped[str] = mapped_column(String(50))
    rule_id: Mapped[str] = mapped_column(String(50))
    sev_deg: Mapped[str] = mapped_column(String(3))
    message: Mapped[str] = mapped_column(String(500))
    vola_amt: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(12))  # open | accepted | dismissed
    action: Mapped[str | None] = mapped_column(String(10), nullable=True)  # reject | deduct
    decided_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    note: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)

# -- catalog mapping 目录对照 (3301/3302, 1316/1317; docs/mapping.md) ------------------------------------------

class CatalogMapping(Base):
    """One mapping an institution uploaded (3301) of its own item code (medins_list_codg, the spec's
    fixmedins_hilist_id) to a code of its region's catalog (med_list_codg). status: active, closed (a later
    upload of the same code replaced it) or cancelled (3302). Rows are never deleted: they are the history."""

    __tablename__ = "catalog_mappings"
    __table_args__ = (
        # two uploads of one code racing each other cannot leave two mappings in force
        unique_where("uq_catalog_mappings_active", "fixmedins_code", "medins_list_codg", where="status = 'active'"),
        Index("ix_catalog_mappings_inst_updated", "fixmedins_code", "updated_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rid: Mapped[str] = mapped_column(String(30), unique=True)
    fixmedins_code: Mapped[str] = mapped_column(String(30))
    medins_list_codg: Mapped[str] = mapped_column(String(30))
    medins_list_name: Mapped[str] = mapped_column(String(200))
    list_type: Mapped[str] = mapped_column(String(3))
    med_list_codg: Mapped[str] = mapped_column(String(50))
    catalog_admdvs: Mapped[str] = mapped_column(String(6))
    begndate: Mapped[date] = mapped_column(Date)
    enddate: Mapped[date | None] = mapped_column(Date, nullable=True)  # None: open-ended
    status: Mapped[str] = mapped_column(String(10))
    #: the optional 3301 fields as sent (aprvno, dosform, exct_cont, item_cont, prcunt, spec, pacspec, memo, ...)
    info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    opter: Mapped[str] = mapped_column(String(30))
    opter_name: Mapped[str] = mapped_column(String(50))
    msgid: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    #: who ended it, when, by which message (3301 of a newer mapping, or 3302)
    ended_by: Mapped[str | None] = mapped_column(String(30), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    ended_msgid: Mapped[str | None] = mapped_column(String(30), nullable=True)

# -- settlement lists (4101A) and self-pay patients' records (4201A-4209): docs/setl_list.md ----------------


class SetlList(Base):
    """A settlement list (医疗保障基金结算清单, 4101A) as uploaded for one settlement: every upload is a version
    kept; the latest (vali_flag "1") is the settlement's list, the earlier ones stay as history ("0")."""

    __tablename__ = "setl_lists"
    __table_args__ = (UniqueConstraint("setl_id", "version", name="uq_setl_lists_version"),
                      # two uploads racing for one settlement cannot both become its current list
                      unique_where("uq_setl_lists_current", "setl_id", where="vali_flag = '1'"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: the list's id, the same for every version of one settlement's list
    setl_list_id: Mapped[str] = mapped_column(String(30), index=True)
    setl_id: Mapped[str] = mapped_column(String(30))
    version: Mapped[int] = mapped_column(Integer)
    vali_flag: Mapped[str] = mapped_column(String(1))
    fixmedins_code: Mapped[str] = mapped_column(String(30), index=True)
    mdtrt_id: Mapped[str] = mapped_column(String(30))
    psn_no: Mapped[str] = mapped_column(String(30))
    msgid: Mapped[str | None] = mapped_column(String(30), nullable=True)
    opter: Mapped[str | None] = mapped_column(String(30), nullable=True)
    uploaded_at: Mapped[datetime] = mapped_column(DateTime)
    #: the nodes as uploaded (setlinfo, payinfo, opspdiseinfo, diseinfo, iteminfo, oprninfo, icuinfo, bldinfo)
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class SelfpayVisit(Base):
    """A self-pay patient's visit reported by its institution (4202 inpatient, 4205 outpatient), keyed by the
    institution's own visit number; its diagnoses ride along as uploaded."""

    __tablename__ = "selfpay_visits"
    __table_args__ = (UniqueConstraint("fixmedins_code", "fixmedins_mdtrt_id", name="uq_selfpay_visits_visit"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    fixmedins_code: Mapped[str] = mapped_column(String(30))
    fixmedins_mdtrt_id: Mapped[str] = mapped_column(String(30))
    kind: Mapped[str] = mapped_column(String(12))  # inpatient | outpatient
    psn_cert_type: Mapped[str | None] = mapped_column(String(6), nullable=True)
    certno: Mapped[str | None] = mapped_column(String(50), nullable=True)
    psn_name: Mapped[str | None] = mapped_column(String(50), nullable=True)
    med_type: Mapped[str | None] = mapped_column(String(6), nullable=True)
    begntime: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    medfee_sumamt: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    vali_flag: Mapped[str] = mapped_column(String(1))  # "0" once deleted (4206)
    cplt_flag: Mapped[str] = mapped_column(String(1))  # "1" once the upload is complete (4203)
    info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    diagnoses: Mapped[list[Any]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class SelfpayFee(Base):
    """One fee line of a self-pay visit (4201A / 4205 feedetail), by the institution's bookkeeping number."""

    __tablename__ = "selfpay_fees"
    __table_args__ = (UniqueConstraint("fixmedins_code", "fixmedins_mdtrt_id", "bkkp_sn", name="uq_selfpay_fees_sn"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    fixmedins_code: Mapped[str] = mapped_column(String(30))
    fixmedins_mdtrt_id: Mapped[str] = mapped_column(String(30))
    bkkp_sn: Mapped[str] = mapped_column(String(30))
    fee_ocur_time: Mapped[datetime] = mapped_column(DateTime)
    med_list_codg: Mapped[str | None] = mapped_column(String(50), nullable=True)
    medins_list_codg: Mapped[str | None] = mapped_column(String(150), nullable=True)
    med_chrgitm_type: Mapped[str | None] = mapped_column(String(6), nullable=True)
    cnt: Mapped[Decimal] = mapped_column(ExactDecimal)
    pric: Mapped[Decimal] = mapped_column(ExactDecimal)
    det_item_fee_sumamt: Mapped[Decimal] = mapped_column(Money)
    raw: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    uploaded_at: Mapped[datetime] = mapped_column(DateTime)


class SwitchChange(Base):
    """A region switch (e.g. the preset epidemic outpatient benefit, seed 004 art. 38) turned on or off by the
    region's agency from a date, with who and why: the history that overrides the dataset's `switches` from
    each change's effective day."""

    __tablename__ = "switch_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    admdvs: Mapped[str] = mapped_column(String(6), index=True)
    name: Mapped[str] = mapped_column(String(64))
    on: Mapped[bool] = mapped_column(Boolean)
    effective: Mapped[date] = mapped_column(Date)
    changed_by: Mapped[str] = mapped_column(String(40))
    why: Mapped[str] = mapped_column(String(500))
    recorded_at: Mapped[datetime] = mapped_column(DateTime)


class LiquidatedDamages(Base):
    """违约金 imposed on an institution in the review of a declaration (seed 004 art. 30): it reduces what the
    institution is paid and stays with the treatment region's fund (a negative `damages` line of the plan)."""

    __tablename__ = "liquidated_damages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    decl_id: Mapped[str] = mapped_column(String(40), index=True)
    fixmedins_code: Mapped[str] = mapped_column(String(30))
    admdvs: Mapped[str] = mapped_column(String(6))  # the treatment region, whose agency imposes and keeps it
    insutype: Mapped[str] = mapped_column(String(6))  # the table (employee/resident) it is shown in
    amount: Mapped[Decimal] = mapped_column(Money)
    reason: Mapped[str] = mapped_column(String(500))
    imposed_at: Mapped[datetime] = mapped_column(DateTime)


class Complaint(Base):
    """A cross-region patient's complaint (seed 004 art. 28) about an institution, or one of its settlements,
    handled by the treatment region's agency: filed → accepted → answered; a confirmed serious violation is
    reported up to the provincial centre."""

    __tablename__ = "complaints"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    psn_no: Mapped[str] = mapped_column(String(30), index=True)
    fixmedins_code: Mapped[str] = mapped_column(String(30))
    treatment_admdvs: Mapped[str] = mapped_column(String(6), index=True)
    setl_id: Mapped[str | None] = mapped_column(String(30), nullable=True)
    content: Mapped[str] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(10))  # filed | accepted | answered
    filed_at: Mapped[datetime] = mapped_column(DateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    answer: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    #: found true and a serious violation: reported up to the provincial centre when answered
    serious_violation: Mapped[bool] = mapped_column(Boolean, default=False)
    reported_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class ConsoleStaff(Base):
    """A staff account of the web console (网上服务大厅): its role and the scope it acts for (docs/console.md).
    role: agency_clerk / agency_admin (scope: a region's admdvs), institution (its fixmedins_code), centre (a
    province, e.g. 440000). The password is kept only as an argon2 hash."""

    __tablename__ = "console_staff"
    username: Mapped[str] = mapped_column(String(40), primary_key=True)
    role: Mapped[str] = mapped_column(String(20))
    scope: Mapped[str] = mapped_column(String(30))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(DateTime)


class ConsoleCode(Base):
    """A one-time sign-in code sent to an insured person: only its salted hash, its expiry (seconds since the
    epoch) and how many wrong entries it has taken. `id` is the random challenge the code form carries."""

    __tablename__ = "console_codes"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    psn_no: Mapped[str] = mapped_column(String(30), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    salt: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[int] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class ConsoleSession(Base):
    """A signed-in browser: the cookie carries a random token, the row only its hash. kind person (subject: the
    psn_no) or staff (the username); `csrf` is the token every form of the session must carry. Times in seconds
    since the epoch; a session idle past its limit is ended when next seen."""

    __tablename__ = "console_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(String(40), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[int] = mapped_column(BigInteger)
    last_seen: Mapped[int] = mapped_column(BigInteger)


class FederationInbox(Base):
    """A message from another node of the federation, applied once (docs/federation.md): its id, taken in the same
    transaction as its effect, and the answer it got, sent again for a duplicate. `state` of a settlement asked
    by a treatment node: applied, refused, fenced (its cancellation came first: it will never apply), cancelled."""

    __tablename__ = "federation_inbox"
    __table_args__ = (Index("ix_federation_inbox_state", "kind", "state", "created_at"),)
    msg_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    sender: Mapped[str] = mapped_column(String(6))
    state: Mapped[str] = mapped_column(String(12))
    psn_no: Mapped[str | None] = mapped_column(String(30), nullable=True)
    answer: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class FederationOutbox(Base):
    """A message this node sent to another node and what became of it: `asked` (no answer yet), `answered`
    (committed with the settlement), `refused`, `compensate` (not answered in time: its cancellation is owed),
    `compensated`."""

    __tablename__ = "federation_outbox"
    __table_args__ = (Index("ix_federation_outbox_state", "state", "asked_at"),)
    msg_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    peer: Mapped[str] = mapped_column(String(6))
    state: Mapped[str] = mapped_column(String(12))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    answer: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    asked_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class FederationVoucher(Base):
    """One end of a month's clearing between two provinces' nodes (docs/federation.md): the treatment province's
    (side `payee`: receivable from the insured province) or the insured province's (side `payer`: payable to the
    treatment province), with the same id on both ends. `entries`: [account, debit, credit] lines that balance."""

    __tablename__ = "federation_vouchers"
    voucher_id: Mapped[str] = mapped_column(String(60), primary_key=True)
    side: Mapped[str] = mapped_column(String(6), primary_key=True)
    month: Mapped[str] = mapped_column(String(7))
    payer: Mapped[str] = mapped_column(String(6))
    payee: Mapped[str] = mapped_column(String(6))
    lines: Mapped[int] = mapped_column(Integer)
    fund: Mapped[Decimal] = mapped_column(Money)
    acct: Mapped[Decimal] = mapped_column(Money)
    total: Mapped[Decimal] = mapped_column(Money)
    entries: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class FederationSnapshot(Base):
    """A province's reference data of one kind as a versioned snapshot (docs/federation.md): on the node owning
    the province, the last version it published; on another node, the last version it applied. An older or
    equal version is never applied again."""

    __tablename__ = "federation_snapshots"
    province: Mapped[str] = mapped_column(String(2), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))
    applied_at: Mapped[datetime] = mapped_column(DateTime)


class FederationVisitor(Base):
    """A person insured on another node, known here only from that node's answer to a `person` query (1101, a
    settlement at one of this node's institutions): the person row is the insured node's, kept as a visitor."""

    __tablename__ = "federation_visitors"
    psn_no: Mapped[str] = mapped_column(String(30), primary_key=True)
    province: Mapped[str] = mapped_column(String(2))
    #: his own account's balance as the insured node answered (1101 shows it; the account stays there)
    balc: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    fetched_at: Mapped[datetime] = mapped_column(DateTime)
